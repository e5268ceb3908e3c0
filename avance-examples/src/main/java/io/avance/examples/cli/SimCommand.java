package io.avance.examples.cli;

import io.avance.testkit.sim.SimulationCampaign;
import io.avance.testkit.sim.SimulationFailure;
import io.avance.testkit.sim.SimulationProperty;
import io.avance.testkit.sim.SimulationResult;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code avance sim}: seeded whole-pair simulations, either a campaign over fresh seeds or the
 * replay of one seed.
 */
@Command(name = "sim", mixinStandardHelpOptions = true,
        description = "Check the pair's properties in seeded simulations: a campaign over fresh seeds, or (with "
                + "--seed) the replay of one seed with its whole trace. Properties: node-faults, witness, "
                + "takeover-bound, isolated-primary-stops, no-false-takeover, replayed-datagrams, no-ping-pong (default: "
                + "all).")
final class SimCommand implements Callable<Integer> {

    @Option(names = "--property", split = ",", description = "the properties to check (default: all)")
    private List<String> propertyNames;

    @Option(names = "--seeds", defaultValue = "1000", description = "seeds per property")
    private long seeds;

    @Option(names = "--first-seed", description = "the campaign's first seed (default: a random one, printed)")
    private Long firstSeed;

    @Option(names = "--seed", description = "replay this one seed and print its trace")
    private Long replay;

    @Option(names = "--jobs", description = "simulations run at once (default: one per processor)")
    private Integer jobs;

    @Override
    public Integer call() throws Exception {
        List<SimulationProperty> properties = new ArrayList<>();
        if (propertyNames == null || propertyNames.isEmpty()) {
            properties.addAll(List.of(SimulationProperty.values()));
        } else {
            for (String name : propertyNames) {
                Optional<SimulationProperty> property = SimulationProperty.byCliName(name.trim());
                if (property.isEmpty()) {
                    System.err.println("avance sim: unknown property '" + name + "' (" + String.join(", ",
                            Arrays.stream(SimulationProperty.values()).map(SimulationProperty::cliName).toList()) + ")");
                    return 2;
                }
                properties.add(property.get());
            }
        }
        if (replay != null) {
            return replay(properties, replay);
        }
        int threads = jobs != null ? jobs : Runtime.getRuntime().availableProcessors();
        if (seeds < 1 || threads < 1) {
            System.err.println("avance sim: --seeds and --jobs must be at least 1");
            return 2;
        }
        long first = firstSeed != null ? firstSeed : new SecureRandom().nextLong() & Long.MAX_VALUE;
        System.out.printf("avance sim: %,d seeds from %d for each of %s, %d at a time%n", seeds, first,
                names(properties), threads);
        SimulationCampaign.Report report = new SimulationCampaign(properties, first, seeds, threads,
                System.out::println).run();
        System.out.printf("%,d simulations in %.1f s: %.1f per second, %.0f simulated seconds per wall second;"
                        + " %d failing%n", report.seeds(), report.wallNanos() / 1e9, report.seedsPerSecond(),
                report.simulatedSecondsPerWallSecond(), report.failures().size());
        for (SimulationCampaign.Failure failure : report.failures()) {
            System.out.println("  " + failure.property().replayCommand(failure.seed()).substring("replay: ".length())
                    + (failure.liveness() ? "   (liveness)" : "   (SAFETY)"));
        }
        return report.failures().isEmpty() ? 0 : 1;
    }

    private static int replay(List<SimulationProperty> properties, long seed) {
        int failed = 0;
        for (SimulationProperty property : properties) {
            try {
                SimulationResult result = property.check(seed);
                System.out.println(property.cliName() + " seed " + seed + ": passed (" + property.description() + ")");
                for (String line : result.trace()) {
                    System.out.println("    " + line);
                }
            } catch (SimulationFailure failure) {
                failed++;
                System.out.println(property.cliName() + " seed " + seed + ": FAILED\n" + failure.getMessage());
            }
        }
        return failed == 0 ? 0 : 1;
    }

    private static String names(List<SimulationProperty> properties) {
        List<String> names = new ArrayList<>();
        for (SimulationProperty property : properties) {
            names.add(property.cliName());
        }
        return String.join(", ", names);
    }
}
