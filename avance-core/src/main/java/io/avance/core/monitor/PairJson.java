package io.avance.core.monitor;

import io.avance.api.NodeId;
import io.avance.api.failover.NodeView;
import io.avance.api.failover.PathStatus;
import io.avance.api.health.Fault;
import io.avance.api.migration.MigrationProgress;
import io.avance.api.replication.ReplicationState;
import io.avance.api.replication.ResyncProgress;
import io.avance.api.replication.VerifyReport;
import io.avance.api.replication.VolumeStatus;
import io.avance.api.vm.ManagedVm;
import io.avance.core.availability.AvailabilityRecorder;
import io.avance.core.health.FaultRegistry;
import io.avance.core.json.JsonWriter;
import io.avance.core.node.AvanceNode;
import io.avance.core.pair.PairStatus;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * The pair as one JSON document: what the monitor's page renders, what {@code /api/pair}
 * returns, and what the diagnostic bundle keeps as the health snapshot. Stateless and thread-safe.
 */
public final class PairJson {

    private PairJson() {
    }

    /**
     * The pair snapshot as JSON.
     *
     * @param context what to describe
     * @param now     the time to stamp it with
     * @return one JSON object
     */
    public static String snapshot(MonitorContext context, Instant now) {
        AvanceNode node = context.node();
        Optional<PairStatus> status = node.status();
        JsonWriter json = new JsonWriter().beginObject();
        json.name("node").value(node.id().value());
        json.name("time").value(now.toString());
        json.name("pair").beginObject();
        status.ifPresent(s -> {
            json.name("epoch").value(s.epoch());
            json.name("primary").value(s.epochPrimary().map(NodeId::value).orElse(null));
            json.name("leaseMillis").value(s.servingLeaseNanos() / 1_000_000);
            json.name("lastDecision").value(s.lastDecision().action().name().toLowerCase(Locale.ROOT) + ": "
                    + s.lastDecision().reason());
        });
        json.name("serving").value(node.mayServe());
        json.name("inOutage").value(context.availability().inOutage());
        json.endObject();

        json.name("nodes").beginArray();
        selfNode(json, node, status);
        status.flatMap(PairStatus::peer).ifPresentOrElse(peer -> peerNode(json, peer, status.get()),
                () -> node.config().peer().ifPresent(peer -> {
                    json.beginObject().name("id").value(peer.id().value()).name("self").value(false)
                            .name("role").value("unknown").name("reachable").value(false)
                            .name("faults").beginArray().endArray().endObject();
                }));
        json.endArray();

        json.name("paths").beginArray();
        status.ifPresent(s -> {
            for (PathStatus path : s.paths()) {
                json.beginObject().name("name").value(path.name()).name("kind").value(lower(path.kind()))
                        .name("localUp").value(path.localUp()).name("peerLocalUp").value(path.peerLocalUp())
                        .name("peerAlive").value(path.peerAlive())
                        .name("silenceMillis").value(path.silenceNanos() == Long.MAX_VALUE ? -1
                                : path.silenceNanos() / 1_000_000).endObject();
            }
        });
        json.endArray();

        json.name("vms").beginArray();
        // VMs run on the primary. A backup knows the catalog (replicated) but not the VMs' live
        // state; it says so instead of showing its own idle copy as "stopped".
        Optional<NodeId> servingPeer = status.flatMap(PairStatus::peer)
                .filter(peer -> peer.role() == io.avance.api.PairRole.PRIMARY && peer.primaryOfItsEpoch())
                .filter(peer -> status.get().paths().stream().anyMatch(PathStatus::peerAlive))
                .map(NodeView::id);
        boolean backupView = !node.mayServe() && servingPeer.isPresent();
        for (ManagedVm vm : vms(node)) {
            boolean elsewhere = backupView && vm.wanted() && !vm.state().active();
            json.beginObject().name("name").value(vm.name())
                    .name("state").value(elsewhere ? "on the primary" : lower(vm.state()))
                    .name("node").value(elsewhere ? servingPeer.get().value() : vm.node().map(NodeId::value).orElse(null))
                    .name("reportedBy").value(elsewhere ? "the catalog (this node is the backup)" : "this node")
                    .name("wanted").value(vm.wanted()).name("cores").value(vm.spec().cores())
                    .name("memoryBytes").value(vm.spec().memoryBytes()).name("restarts").value(vm.restarts())
                    .name("detail").value(vm.detail());
            json.name("disks").beginArray();
            vm.spec().disks().forEach(disk -> json.value(disk.volume()));
            json.endArray();
            json.name("migration");
            if (vm.migration().isPresent()) {
                MigrationProgress progress = vm.migration().get();
                long pagesTotal = Math.max(1, progress.memoryBytes() / 4096);
                double percent = Math.min(100.0, 100.0 * (pagesTotal - Math.min(pagesTotal, progress.dirtyPagesLeft()))
                        / pagesTotal);
                json.beginObject().name("phase").value(lower(progress.phase())).name("round").value(progress.round())
                        .name("bytesSent").value(progress.bytesSent()).name("memoryBytes").value(progress.memoryBytes())
                        .name("dirtyPagesLeft").value(progress.dirtyPagesLeft()).name("percent").value(percent)
                        .endObject();
            } else {
                json.nullValue();
            }
            json.endObject();
        }
        json.endArray();

        json.name("volumes").beginArray();
        for (VolumeStatus volume : node.volumes().volumes()) {
            json.beginObject().name("name").value(volume.name()).name("sizeBytes").value(volume.sizeBytes())
                    .name("state").value(lower(volume.state()))
                    .name("splitBrain").value(volume.state() == ReplicationState.SPLIT_BRAIN)
                    .name("localData").value(lower(volume.localData())).name("peerData").value(lower(volume.peerData()))
                    .name("dirtyBytes").value(volume.dirtyBytes());
            json.name("resync");
            if (volume.resync().isPresent()) {
                ResyncProgress resync = volume.resync().get();
                json.beginObject().name("percent").value(resync.percentDone()).name("bytesDone").value(resync.bytesDone())
                        .name("bytesTotal").value(resync.bytesTotal()).name("rateBytesPerSecond")
                        .value(resync.rateBytesPerSecond()).name("etaSeconds")
                        .value(resync.etaNanos() < 0 ? -1 : resync.etaNanos() / 1_000_000_000L).endObject();
            } else {
                json.nullValue();
            }
            json.name("verify");
            if (volume.lastVerify().isPresent()) {
                VerifyReport verify = volume.lastVerify().get();
                json.beginObject().name("blocksCompared").value(verify.blocksCompared())
                        .name("mismatches").value(verify.mismatchCount())
                        .name("markedForResync").value(verify.markedForResync())
                        .name("durationMillis").value(verify.durationNanos() / 1_000_000).endObject();
            } else {
                json.nullValue();
            }
            json.endObject();
        }
        json.endArray();

        AvailabilityRecorder availability = context.availability();
        json.name("availability").beginObject()
                .name("since").value(availability.since().toString())
                .name("last30Days").value(availability.availability(Duration.ofDays(30)))
                .name("last365Days").value(availability.availability(Duration.ofDays(365)))
                .name("downtime30DaysSeconds").value(availability.downtime(Duration.ofDays(30)).toMillis() / 1000.0)
                .name("downtime365DaysSeconds").value(availability.downtime(Duration.ofDays(365)).toMillis() / 1000.0);
        json.name("outages").beginArray();
        List<AvailabilityRecorder.Outage> outages = availability.outages();
        for (int i = outages.size() - 1; i >= Math.max(0, outages.size() - 20); i--) {
            AvailabilityRecorder.Outage outage = outages.get(i);
            json.beginObject().name("start").value(outage.start().toString()).name("end").value(outage.end().toString())
                    .name("seconds").value(outage.duration().toMillis() / 1000.0).name("cause").value(outage.cause())
                    .endObject();
        }
        json.endArray().endObject();

        json.name("events").beginArray();
        List<RecentEvents.Item> items = context.events().items();
        for (int i = 0; i < Math.min(50, items.size()); i++) {
            RecentEvents.Item item = items.get(i);
            json.beginObject().name("time").value(item.time().toString()).name("node").value(item.node())
                    .name("kind").value(item.described().kind()).name("level").value(lower(item.described().level()))
                    .name("text").value(item.described().text()).endObject();
        }
        json.endArray();
        return json.endObject().toString();
    }

    private static List<ManagedVm> vms(AvanceNode node) {
        try {
            return node.vms().list();
        } catch (IllegalStateException e) {
            return List.of();
        }
    }

    private static void selfNode(JsonWriter json, AvanceNode node, Optional<PairStatus> status) {
        json.beginObject().name("id").value(node.id().value()).name("self").value(true)
                .name("role").value(lower(node.role()))
                .name("score").value(status.map(s -> s.health().value()).orElse(node.faults().score().value()))
                .name("maintenance").value(node.maintenance())
                .name("data").value(lower(node.volumes().dataState()))
                .name("reachable").value(true);
        json.name("faults").beginArray();
        FaultRegistry registry = node.faults();
        for (FaultRegistry.ActiveFault active : registry.activeFaults()) {
            fault(json, active.fault(), active.since().toString(), registry.acknowledgement(active.fault().component(),
                    active.fault().location()).map(FaultRegistry.Acknowledgement::by).orElse(null), active.derived());
        }
        json.endArray().endObject();
    }

    private static void peerNode(JsonWriter json, NodeView peer, PairStatus status) {
        boolean reachable = status.paths().stream().anyMatch(PathStatus::peerAlive);
        json.beginObject().name("id").value(peer.id().value()).name("self").value(false)
                .name("role").value(reachable ? lower(peer.role()) : "unreachable (last heard " + lower(peer.role()) + ")")
                .name("score").value(peer.health().value()).name("maintenance").value(peer.maintenance())
                .name("data").value(lower(peer.data())).name("reachable").value(reachable)
                .name("declaredDown").value(status.peerDeclaredDown())
                .name("silenceMillis").value(status.peerSilenceNanos() == Long.MAX_VALUE ? -1
                        : status.peerSilenceNanos() / 1_000_000);
        json.name("faults").beginArray();
        for (Fault fault : peer.health().faults()) {
            fault(json, fault, null, null, false);
        }
        json.endArray().endObject();
    }

    private static void fault(JsonWriter json, Fault fault, String since, String acknowledgedBy, boolean derived) {
        json.beginObject().name("component").value(fault.component().name()).name("componentLabel")
                .value(lower(fault.component())).name("location").value(fault.location())
                .name("severity").value(lower(fault.severity())).name("predicted").value(fault.predicted())
                .name("description").value(fault.description()).name("weight").value(fault.weight())
                .name("since").value(since).name("acknowledgedBy").value(acknowledgedBy)
                .name("derived").value(derived).endObject();
    }

    static String lower(Enum<?> value) {
        return value.name().toLowerCase(Locale.ROOT).replace('_', ' ');
    }
}
