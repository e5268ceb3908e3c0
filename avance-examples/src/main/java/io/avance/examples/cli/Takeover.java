package io.avance.examples.cli;

import io.avance.api.PairRole;
import io.avance.testkit.process.NodeEvent;
import io.avance.testkit.process.NodeProcess;
import java.time.Duration;

/**
 * One SIGKILL of the primary, measured: when the backup saw the primary silent on every path, and
 * when it became primary, both from the moment the signal was sent.
 *
 * @param killed         the node killed
 * @param survivor       the node that took over
 * @param detectionNanos from the kill to "silent on every path"
 * @param takeoverNanos  from the kill to the survivor becoming primary
 * @param epoch          the survivor's new epoch
 */
record Takeover(String killed, String survivor, long detectionNanos, long takeoverNanos, String epoch) {

    static Takeover of(NodeProcess primary, NodeProcess backup) {
        long killedAt = primary.kill();
        NodeEvent silent = backup.awaitAfter(killedAt, event -> event.type().equals("peer")
                && event.get("reachable").orElse("").equals("false"), Duration.ofSeconds(15));
        NodeEvent promoted = backup.awaitAfter(killedAt, event -> Workspace.isRole(event, PairRole.PRIMARY),
                Duration.ofSeconds(15));
        return new Takeover(primary.name(), backup.name(), silent.atNanos() - killedAt,
                promoted.atNanos() - killedAt, promoted.get("epoch").orElse("?"));
    }
}
