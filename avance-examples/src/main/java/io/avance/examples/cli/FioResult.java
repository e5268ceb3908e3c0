package io.avance.examples.cli;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The figures a benchmark reports from one fio job's JSON output ({@code --output-format=json}):
 * write IOPS, write bandwidth and completion-latency percentiles. Read with patterns rather than
 * a JSON library, because only these few numbers of fio's stable output are needed.
 *
 * @param iops         write operations per second
 * @param bytesPerSecond write bandwidth
 * @param p50Micros    median completion latency
 * @param p99Micros    99th percentile completion latency
 */
record FioResult(double iops, double bytesPerSecond, double p50Micros, double p99Micros) {

    private static final Pattern NUMBER = Pattern.compile("\"%s\"\\s*:\\s*([0-9.eE+-]+)");

    /**
     * Reads the first job's write figures.
     *
     * @param json what fio printed
     * @return the figures
     * @throws IllegalArgumentException if the output has no write section or the job failed
     */
    static FioResult parse(String json) {
        int start = json.indexOf('{');
        if (start < 0) {
            throw new IllegalArgumentException("fio printed no JSON:\n" + json);
        }
        Matcher error = Pattern.compile("\"error\"\\s*:\\s*(\\d+)").matcher(json);
        if (error.find() && !error.group(1).equals("0")) {
            throw new IllegalArgumentException("fio reported error " + error.group(1) + ":\n" + json);
        }
        // The section, not the "rw" : "write" option that comes before it.
        Matcher write = Pattern.compile("\"write\"\\s*:\\s*\\{").matcher(json);
        if (!write.find(start)) {
            throw new IllegalArgumentException("fio printed no write section:\n" + json);
        }
        String section = json.substring(write.start());
        int clat = section.indexOf("\"clat_ns\"");
        if (clat < 0) {
            throw new IllegalArgumentException("fio printed no completion latencies:\n" + json);
        }
        String latencies = section.substring(clat);
        return new FioResult(number(section, "iops"), number(section, "bw_bytes"),
                number(latencies, "50.000000") / 1000, number(latencies, "99.000000") / 1000);
    }

    private static double number(String text, String key) {
        Matcher matcher = Pattern.compile(String.format(NUMBER.pattern(), Pattern.quote(key))).matcher(text);
        if (!matcher.find()) {
            throw new IllegalArgumentException("no \"" + key + "\" in fio's output");
        }
        return Double.parseDouble(matcher.group(1));
    }
}
