package io.avance.core.config;

import java.net.InetSocketAddress;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Parsers for configuration values, each failing with a {@link ConfigException} that names the key.
 */
public final class ConfigValues {

    private static final Pattern DURATION = Pattern.compile("(\\d+)\\s*(ns|us|ms|s|m|h)");
    private static final Pattern SIZE = Pattern.compile("(\\d+)\\s*(B|KiB|MiB|GiB|TiB)?");

    private ConfigValues() {
    }

    /**
     * Parses {@code 250ms}, {@code 2s}, {@code 1m}, {@code 1h} (also {@code ns}, {@code us}).
     */
    static long durationNanos(String key, String text) {
        Matcher matcher = DURATION.matcher(text.trim());
        if (!matcher.matches()) {
            throw new ConfigException(key, text, "not a duration (use a whole number and a unit: 100ms, 2s, 1m)");
        }
        long amount;
        try {
            amount = Long.parseLong(matcher.group(1));
        } catch (NumberFormatException e) {
            throw new ConfigException(key, text, "number too large");
        }
        long unitNanos = switch (matcher.group(2)) {
            case "ns" -> 1L;
            case "us" -> 1_000L;
            case "ms" -> 1_000_000L;
            case "s" -> 1_000_000_000L;
            case "m" -> 60_000_000_000L;
            case "h" -> 3_600_000_000_000L;
            default -> throw new AssertionError(matcher.group(2));
        };
        if (amount > Long.MAX_VALUE / unitNanos) {
            throw new ConfigException(key, text, "duration too long");
        }
        return amount * unitNanos;
    }

    /**
     * Parses {@code 4096}, {@code 64KiB}, {@code 8MiB}, {@code 1GiB}.
     *
     * @param key  the key or option it was given for, named in the error
     * @param text the size
     * @return bytes
     * @throws ConfigException naming the key if the text is not a size
     */
    public static long sizeBytes(String key, String text) {
        Matcher matcher = SIZE.matcher(text.trim());
        if (!matcher.matches()) {
            throw new ConfigException(key, text, "not a size (use bytes or a binary unit: 4096, 64KiB, 8MiB, 1GiB)");
        }
        long amount;
        try {
            amount = Long.parseLong(matcher.group(1));
        } catch (NumberFormatException e) {
            throw new ConfigException(key, text, "number too large");
        }
        String unit = matcher.group(2) == null ? "B" : matcher.group(2);
        int shift = switch (unit) {
            case "B" -> 0;
            case "KiB" -> 10;
            case "MiB" -> 20;
            case "GiB" -> 30;
            case "TiB" -> 40;
            default -> throw new AssertionError(unit);
        };
        if (amount > (Long.MAX_VALUE >> shift)) {
            throw new ConfigException(key, text, "size too large");
        }
        return amount << shift;
    }

    /**
     * Parses {@code host:port} or {@code [v6-address]:port}; the host is not resolved here.
     */
    static InetSocketAddress address(String key, String text) {
        String trimmed = text.trim();
        int colon = trimmed.lastIndexOf(':');
        if (colon <= 0 || colon == trimmed.length() - 1) {
            throw new ConfigException(key, text, "not an address (use host:port, such as 10.0.0.2:7400)");
        }
        String host = trimmed.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        int port;
        try {
            port = Integer.parseInt(trimmed.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new ConfigException(key, text, "port is not a number");
        }
        if (port < 0 || port > 65535) {
            throw new ConfigException(key, text, "port must be 0-65535");
        }
        return InetSocketAddress.createUnresolved(host, port);
    }

    static double positiveNumber(String key, String text) {
        try {
            double value = Double.parseDouble(text.trim());
            if (!(value > 0) || Double.isInfinite(value)) {
                throw new ConfigException(key, text, "must be a positive number");
            }
            return value;
        } catch (NumberFormatException e) {
            throw new ConfigException(key, text, "not a number");
        }
    }

    static boolean bool(String key, String text) {
        return switch (text.trim().toLowerCase(Locale.ROOT)) {
            case "true", "yes", "on" -> true;
            case "false", "no", "off" -> false;
            default -> throw new ConfigException(key, text, "must be true or false");
        };
    }

    static String formatNanos(long nanos) {
        if (nanos % 1_000_000_000L == 0) {
            return nanos / 1_000_000_000L + "s";
        }
        if (nanos % 1_000_000L == 0) {
            return nanos / 1_000_000L + "ms";
        }
        return nanos + "ns";
    }
}
