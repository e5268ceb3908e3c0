package io.avance.core.monitor;

import io.avance.api.event.DecisionTaken;
import io.avance.api.event.FaultCleared;
import io.avance.api.event.FaultRaised;
import io.avance.api.event.MigrationEnded;
import io.avance.api.event.MigrationProgressed;
import io.avance.api.event.PairEvent;
import io.avance.api.event.PathChanged;
import io.avance.api.event.PeerChanged;
import io.avance.api.event.ResyncProgressed;
import io.avance.api.event.RoleChanged;
import io.avance.api.event.VmStateChanged;
import io.avance.api.event.VolumeStateChanged;
import io.avance.api.health.Fault;
import io.avance.api.health.Severity;
import io.avance.api.replication.ReplicationState;
import java.util.Locale;

/**
 * Turns pair events into what an operator reads: a kind, a level and one sentence. Shared by
 * the monitor's event list, e-mail alerts and call home. Stateless.
 */
public final class EventText {

    /** How much an event matters to a person. */
    public enum Level {
        /** Routine. */
        INFO,
        /** Something degraded, or a recovery action. */
        WARNING,
        /** Something a person must look at. */
        CRITICAL
    }

    /**
     * One event, described.
     *
     * @param kind  the event's kind ("role", "fault", "volume", ...)
     * @param level how much it matters
     * @param text  one sentence
     */
    public record Described(String kind, Level level, String text) {
    }

    private EventText() {
    }

    /**
     * Describes an event.
     *
     * @param event the event
     * @return its description
     */
    public static Described describe(PairEvent event) {
        String node = event.node().value();
        if (event instanceof RoleChanged changed) {
            Level level = changed.to().name().equals("PRIMARY") && changed.from().name().equals("BACKUP")
                    ? Level.WARNING : Level.INFO;
            return new Described("role", level, "node " + node + " is now " + lower(changed.to()) + " (was "
                    + lower(changed.from()) + ", epoch " + changed.epoch() + "): " + changed.reason());
        }
        if (event instanceof FaultRaised raised) {
            Fault fault = raised.fault();
            Level level = fault.severity() == Severity.MINOR ? Level.WARNING
                    : fault.predicted() ? Level.WARNING : Level.CRITICAL;
            return new Described("fault", level, "node " + node + ": " + describe(fault) + " (score "
                    + raised.score() + ")");
        }
        if (event instanceof FaultCleared cleared) {
            return new Described("fault", Level.INFO, "node " + node + ": cleared " + lower(cleared.fault().component())
                    + " " + cleared.fault().location() + " (score " + cleared.score() + ")");
        }
        if (event instanceof PeerChanged peer) {
            Level level = peer.declaredDown() ? Level.CRITICAL : peer.reachable() ? Level.INFO : Level.WARNING;
            return new Described("peer", level, "node " + node + " sees node " + peer.peer() + " "
                    + (peer.declaredDown() ? "declared down" : peer.reachable() ? "reachable as " + lower(peer.role())
                    : "silent") + ": " + peer.detail());
        }
        if (event instanceof PathChanged path) {
            return new Described("path", path.path().peerAlive() ? Level.INFO : Level.WARNING, "node " + node
                    + ": path " + path.path().name() + " " + (path.path().peerAlive() ? "up" : "down")
                    + (path.path().localUp() ? "" : " (local side down)"));
        }
        if (event instanceof DecisionTaken decision) {
            return new Described("decision", Level.WARNING, "node " + node + " decided "
                    + lower(decision.decision().action()) + decision.decision().vm().map(vm -> " for " + vm).orElse("")
                    + ": " + decision.decision().reason() + " (" + decision.outcome() + ")");
        }
        if (event instanceof VolumeStateChanged volume) {
            Level level = volume.to() == ReplicationState.SPLIT_BRAIN ? Level.CRITICAL
                    : volume.to() == ReplicationState.DEGRADED ? Level.WARNING : Level.INFO;
            return new Described("volume", level, "node " + node + ": volume " + volume.volume() + " "
                    + lower(volume.from()) + " -> " + lower(volume.to()) + ": " + volume.reason());
        }
        if (event instanceof ResyncProgressed resync) {
            return new Described("resync", Level.INFO, "node " + node + ": resync of " + resync.volume() + " "
                    + String.format(Locale.ROOT, "%.1f%%", resync.progress().percentDone()));
        }
        if (event instanceof VmStateChanged vm) {
            Level level = vm.to().name().equals("CRASHED") || vm.to().name().equals("FAILED") ? Level.CRITICAL
                    : Level.INFO;
            return new Described("vm", level, "node " + node + ": VM " + vm.vm() + " " + lower(vm.from()) + " -> "
                    + lower(vm.to()) + ": " + vm.reason());
        }
        if (event instanceof MigrationProgressed migration) {
            return new Described("migration", Level.INFO, "node " + node + ": migrating " + migration.progress().vm()
                    + ", " + lower(migration.progress().phase()) + " round " + migration.progress().round());
        }
        if (event instanceof MigrationEnded ended) {
            Level level = ended.report().failure().isPresent() ? Level.WARNING : Level.INFO;
            return new Described("migration", level, "node " + node + ": migration of " + ended.report().vm() + " to "
                    + ended.report().target() + " " + lower(ended.report().outcome()) + " (pause "
                    + ended.report().pauseNanos() / 1_000_000 + " ms)" + ended.report().failure().map(f -> ": " + f)
                    .orElse(""));
        }
        return new Described("other", Level.INFO, "node " + node + ": " + event);
    }

    /**
     * Describes a fault for a person.
     *
     * @param fault the fault
     * @return such as "critical fan fault at fan2: stopped"
     */
    public static String describe(Fault fault) {
        return (fault.predicted() ? "predicted " : "") + lower(fault.severity()) + " " + lower(fault.component())
                + " fault at " + fault.location() + ": " + fault.description();
    }

    static String lower(Enum<?> value) {
        return value.name().toLowerCase(Locale.ROOT).replace('_', ' ');
    }
}
