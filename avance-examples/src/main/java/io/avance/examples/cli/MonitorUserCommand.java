package io.avance.examples.cli;

import io.avance.core.monitor.MonitorUsers;
import io.avance.core.monitor.Role;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code avance monitor-user add|remove NAME}: manages the monitor's users file. The password
 * comes from a file or standard input, never from the command line (where {@code ps} shows it).
 * A running monitor reads the file again when it changes.
 */
@Command(name = "monitor-user", mixinStandardHelpOptions = true,
        description = "Add, change or remove a monitor user (roles: viewer, operator, administrator).")
final class MonitorUserCommand implements Callable<Integer> {

    @Parameters(index = "0", description = "add or remove")
    private String action;

    @Parameters(index = "1", description = "the user name")
    private String name;

    @Option(names = "--users-file", required = true, description = "the users file (monitor.users-file, or "
            + "DATA-DIR/monitor-users)")
    private Path usersFile;

    @Option(names = "--role", defaultValue = "viewer", description = "viewer, operator or administrator")
    private String role;

    @Option(names = "--password-file", description = "a file whose first line is the password (default: read "
            + "one line from standard input)")
    private Path passwordFile;

    @Override
    public Integer call() throws IOException {
        switch (action) {
            case "add" -> {
                String password = passwordFile != null
                        ? Files.readAllLines(passwordFile, StandardCharsets.UTF_8).get(0)
                        : new String(System.in.readAllBytes(), StandardCharsets.UTF_8).lines().findFirst().orElse("");
                try {
                    MonitorUsers.put(usersFile, name, Role.parse(role), password.toCharArray());
                } catch (IllegalArgumentException e) {
                    System.err.println("avance: " + e.getMessage());
                    return 2;
                }
                System.out.println("avance: user " + name + " (" + role + ") written to " + usersFile);
                return 0;
            }
            case "remove" -> {
                boolean removed = MonitorUsers.remove(usersFile, name);
                System.out.println("avance: user " + name + (removed ? " removed" : " was not there"));
                return removed ? 0 : 1;
            }
            default -> {
                System.err.println("avance: monitor-user takes add or remove, not " + action);
                return 2;
            }
        }
    }
}
