package io.avance.examples.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code avance} command.
 */
@Command(name = "avance", mixinStandardHelpOptions = true, version = "avance 0.1.0",
        description = "Two ordinary servers, one highly available server for virtual machines.",
        subcommands = {DemoCommand.class, InitCommand.class, NodeCommand.class, NodeRequest.Status.class,
                NodeRequest.Switchover.class, NodeRequest.Migrate.class, NodeRequest.Maintenance.class,
                NodeRequest.Vm.class, WitnessCommand.class, BenchCommand.class, BundleCommand.class,
                MonitorUserCommand.class, SimCommand.class})
public final class Avance implements Runnable {

    @CommandLine.Spec
    private CommandLine.Model.CommandSpec spec;

    /**
     * Runs the command line.
     *
     * @param args the arguments
     */
    public static void main(String[] args) {
        System.exit(new CommandLine(new Avance()).execute(args));
    }

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }
}
