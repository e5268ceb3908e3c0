package io.avance.examples.cli;

import io.avance.api.PairRole;
import io.avance.testkit.process.LoopbackPair;
import io.avance.testkit.process.NodeEvent;
import io.avance.testkit.process.NodeProcess;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A pair of node processes on loopback in a scratch directory, for the demo and the benches.
 */
final class Workspace implements AutoCloseable {

    final Path directory;
    final LoopbackPair pair;
    final List<String> jvmArgs;
    final long startNanos = System.nanoTime();
    NodeProcess alpha;
    NodeProcess beta;

    Workspace(Path directory, List<String> jvmArgs, String... settings) {
        this(directory, jvmArgs, pair -> {
            for (int i = 0; i + 1 < settings.length; i += 2) {
                pair.with(settings[i], settings[i + 1]);
            }
        });
    }

    Workspace(Path directory, List<String> jvmArgs, java.util.function.Consumer<LoopbackPair> configure) {
        this(jvmArgs, configured(directory, configure));
    }

    /** A workspace for a pair configured by the caller (its ports chosen already); writes its files. */
    Workspace(List<String> jvmArgs, LoopbackPair configured) {
        this.directory = configured.directory();
        this.jvmArgs = jvmArgs;
        this.pair = configured.write();
    }

    private static LoopbackPair configured(Path directory, java.util.function.Consumer<LoopbackPair> configure) {
        LoopbackPair configured = LoopbackPair.in(directory);
        configure.accept(configured);
        return configured;
    }

    static Path scratch(String prefix) {
        try {
            return Files.createTempDirectory(prefix);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    NodeProcess start(String node) {
        NodeProcess process = NodeProcess.start(node, pair.configOf(node), directory.resolve(node + ".log"), jvmArgs);
        if (node.equals(LoopbackPair.ALPHA)) {
            alpha = process;
        } else {
            beta = process;
        }
        return process;
    }

    NodeProcess other(NodeProcess node) {
        return node == alpha ? beta : alpha;
    }

    /** Waits until one node is primary and the other backup; returns the primary. */
    NodeProcess awaitPair(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (alpha.role() == PairRole.PRIMARY && beta.role() == PairRole.BACKUP) {
                return alpha;
            }
            if (beta.role() == PairRole.PRIMARY && alpha.role() == PairRole.BACKUP) {
                return beta;
            }
            alpha.await(event -> true, Duration.ofMillis(1));
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        throw new IllegalStateException("the nodes did not pair within " + timeout.toSeconds() + " s; logs in "
                + directory);
    }

    static boolean isRole(NodeEvent event, PairRole role) {
        return event.type().equals("role") && event.get("to").orElse("").equals(role.name());
    }

    String clock() {
        return String.format("[%6.2f s]", (System.nanoTime() - startNanos) / 1e9);
    }

    List<NodeProcess> running() {
        List<NodeProcess> list = new ArrayList<>();
        if (alpha != null) {
            list.add(alpha);
        }
        if (beta != null) {
            list.add(beta);
        }
        return list;
    }

    @Override
    public void close() {
        for (NodeProcess node : running()) {
            node.stop();
        }
    }
}
