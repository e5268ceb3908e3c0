package io.avance.core.node;

import io.avance.api.PairRole;
import io.avance.api.event.MigrationEnded;
import io.avance.api.event.PairListener;
import io.avance.api.event.RoleChanged;
import io.avance.api.failover.NodeView;
import io.avance.api.failover.PathStatus;
import io.avance.api.health.Fault;
import io.avance.api.migration.MigrationReport;
import io.avance.api.replication.VolumeStatus;
import io.avance.api.vm.ManagedVm;
import io.avance.core.admin.AdminServer;
import io.avance.core.pair.PairStatus;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * The requests a running node answers on its administration socket, for the {@code avance}
 * command line:
 *
 * <pre>
 * status                      the pair as this node sees it
 * switchover                  ask for a planned switchover; returns at once
 * migrate                     a switchover that waits for the VMs' live migrations and reports them
 * maintenance on|off          take this node out of (or back into) service
 * vm start|stop|restart NAME  change a VM (on the primary)
 * </pre>
 *
 * Thread-safe.
 */
final class NodeAdministration implements AdminServer.Handler {

    /** How long {@code migrate} waits for the VMs to move. */
    private static final long MIGRATE_WAIT_SECONDS = 120;

    private final AvanceNode node;

    NodeAdministration(AvanceNode node) {
        this.node = node;
    }

    @Override
    public String apply(String request) {
        String[] words = request.split("\\s+");
        return switch (words[0]) {
            case "status" -> status();
            case "switchover" -> node.switchover("requested with avance switchover") + "\n";
            case "migrate" -> migrate();
            case "maintenance" -> {
                if (words.length != 2 || !(words[1].equals("on") || words[1].equals("off"))) {
                    throw new IllegalArgumentException("usage: maintenance on|off");
                }
                node.setMaintenance(words[1].equals("on"));
                yield "maintenance " + words[1] + " on node " + node.id() + "\n";
            }
            case "vm" -> vm(words);
            default -> throw new IllegalArgumentException("unknown request '" + words[0]
                    + "' (status, switchover, migrate, maintenance on|off, vm start|stop|restart|create|delete NAME)");
        };
    }

    private String vm(String[] words) {
        if (words.length >= 3 && words[1].equals("create")) {
            return create(words);
        }
        if (words.length >= 3 && words[1].equals("delete")) {
            boolean keep = words.length == 4 && words[3].equals("keep-disks");
            if (words.length > 4 || (words.length == 4 && !keep)) {
                throw new IllegalArgumentException("usage: vm delete NAME [keep-disks]");
            }
            node.provisioning("operator", line -> { }).delete(words[2], keep);
            return "VM " + words[2] + " deleted" + (keep ? "; its disks are kept" : " with its disks") + "\n";
        }
        if (words.length != 3) {
            throw new IllegalArgumentException("usage: vm start|stop|restart NAME");
        }
        ManagedVm vm = switch (words[1]) {
            case "start" -> node.vms().start(words[2]);
            case "stop" -> node.vms().stop(words[2]);
            case "restart" -> node.vms().restart(words[2]);
            default -> throw new IllegalArgumentException("usage: vm start|stop|restart NAME");
        };
        return describe(vm) + "\n";
    }

    /**
     * {@code vm create NAME cores=N memory=BYTES disk=BYTES [image=PATH] [network=NAME]...
     * [option=KEY=VALUE]...}, values URL-encoded: creates, fills and starts a VM.
     */
    private String create(String[] words) {
        String name = words[2];
        int cores = 1;
        long memory = -1;
        long disk = -1;
        java.util.Optional<java.nio.file.Path> image = java.util.Optional.empty();
        List<io.avance.api.hypervisor.VmSpec.Network> networks = new ArrayList<>();
        java.util.Map<String, String> options = new java.util.LinkedHashMap<>();
        for (int i = 3; i < words.length; i++) {
            int equals = words[i].indexOf('=');
            if (equals < 1) {
                throw new IllegalArgumentException("vm create: '" + words[i] + "' is not KEY=VALUE");
            }
            String key = words[i].substring(0, equals);
            String value = java.net.URLDecoder.decode(words[i].substring(equals + 1),
                    java.nio.charset.StandardCharsets.UTF_8);
            switch (key) {
                case "cores" -> cores = Integer.parseInt(value);
                case "memory" -> memory = Long.parseLong(value);
                case "disk" -> disk = Long.parseLong(value);
                case "image" -> image = java.util.Optional.of(java.nio.file.Path.of(value));
                case "network" -> networks.add(new io.avance.api.hypervisor.VmSpec.Network(value,
                        java.util.Optional.empty()));
                case "option" -> {
                    int inner = value.indexOf('=');
                    if (inner < 1) {
                        throw new IllegalArgumentException("vm create: option '" + value + "' is not KEY=VALUE");
                    }
                    options.put(value.substring(0, inner), value.substring(inner + 1));
                }
                default -> throw new IllegalArgumentException("vm create: unknown field '" + key + "'");
            }
        }
        if (memory <= 0 || disk <= 0) {
            throw new IllegalArgumentException("vm create: memory and disk are needed");
        }
        List<String> lines = new ArrayList<>();
        ManagedVm vm = node.provisioning("operator", lines::add).create(new io.avance.core.vm.VmProvisioning.Request(
                name, cores, memory, disk, image, networks, options));
        return String.join("\n", lines) + (lines.isEmpty() ? "" : "\n") + describe(vm) + "\n";
    }

    /** A switchover that waits until the VMs' migrations have ended (or the role moved without VMs). */
    private String migrate() {
        List<MigrationReport> reports = new ArrayList<>();
        CountDownLatch moved = new CountDownLatch(1);
        int running = 0;
        try {
            running = (int) node.vms().list().stream().filter(vm -> vm.node().isPresent()).count();
        } catch (IllegalStateException e) {
            // No hypervisor: a plain switchover.
        }
        int expected = running;
        PairListener listener = event -> {
            synchronized (reports) {
                if (event instanceof MigrationEnded ended) {
                    reports.add(ended.report());
                    if (reports.size() >= expected) {
                        moved.countDown();
                    }
                } else if (event instanceof RoleChanged changed && changed.node().equals(node.id())
                        && changed.from() == PairRole.PRIMARY && expected == 0) {
                    moved.countDown();
                }
            }
        };
        node.addListener(listener);
        try {
            String outcome = node.switchover("requested with avance migrate");
            if (!outcome.equals("started")) {
                return outcome + "\n";
            }
            if (!moved.await(MIGRATE_WAIT_SECONDS, TimeUnit.SECONDS)) {
                return "started, but the VMs had not moved after " + MIGRATE_WAIT_SECONDS + " s\n";
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted\n";
        } finally {
            node.removeListener(listener);
        }
        StringBuilder text = new StringBuilder();
        synchronized (reports) {
            for (MigrationReport report : reports) {
                text.append(String.format(Locale.ROOT, "%s: %s, %d rounds, %.1f MiB sent for %d MiB of memory, "
                                + "%d ms in all, paused %.1f ms%s%n", report.vm(), report.outcome(), report.rounds(),
                        report.bytesSent() / 1048576.0, report.memoryBytes() >> 20, report.totalNanos() / 1_000_000,
                        report.pauseNanos() / 1e6, report.failure().map(f -> " (" + f + ")").orElse("")));
            }
        }
        if (text.length() == 0) {
            text.append("the primary role moved to the peer (no VMs were running)\n");
        }
        return text.toString();
    }

    private String status() {
        Optional<PairStatus> maybe = node.status();
        if (maybe.isEmpty()) {
            return "node " + node.id() + ": starting\n";
        }
        PairStatus status = maybe.get();
        StringBuilder text = new StringBuilder();
        text.append(String.format(Locale.ROOT, "node %s: %s in epoch %d%s, health %d%s%n", status.node(),
                status.role(), status.epoch(), !node.mayServe() ? ""
                        : status.servingLeaseNanos() == Long.MAX_VALUE ? " (serving, no lease needed without a peer)"
                        : String.format(Locale.ROOT, " (serving, lease %.2f s)", status.servingLeaseNanos() / 1e9), status.health().value(), faults(status.health().faults())));
        Optional<NodeView> peer = status.peer();
        if (peer.isPresent()) {
            NodeView view = peer.get();
            text.append(String.format(Locale.ROOT, "peer %s: %s in epoch %d, health %d, data %s%s%s, heard %s%n",
                    view.id(), view.role(), view.epoch(), view.health().value(), view.data(),
                    view.maintenance() ? ", in maintenance" : "", faults(view.health().faults()),
                    status.peerSilenceNanos() == Long.MAX_VALUE ? "never"
                            : status.peerSilenceNanos() / 1_000_000 + " ms ago"));
        } else if (node.config().peer().isPresent()) {
            text.append("peer ").append(node.config().peer().get().id()).append(": never heard\n");
        } else {
            text.append("standalone: no peer is configured\n");
        }
        if (status.peerDeclaredDown()) {
            text.append("the peer is DECLARED DOWN: an operator must repair it\n");
        }
        if (!status.paths().isEmpty()) {
            text.append("paths:");
            for (PathStatus path : status.paths()) {
                text.append(' ').append(path.name()).append(path.peerAlive() ? " up" : " DOWN")
                        .append(path.localUp() ? "" : " (this node's side is down)").append(',');
            }
            text.setLength(text.length() - 1);
            text.append('\n');
        }
        List<VolumeStatus> volumes = node.volumes().volumes();
        if (!volumes.isEmpty()) {
            text.append("volumes:\n");
            for (VolumeStatus volume : volumes) {
                text.append(String.format(Locale.ROOT, "  %-16s %6d MiB  %-11s this copy %-12s peer %-12s dirty %d KiB%s%n",
                        volume.name(), volume.sizeBytes() >> 20, volume.state(), volume.localData(), volume.peerData(),
                        volume.dirtyBytes() >> 10, volume.resync().map(r -> String.format(Locale.ROOT,
                                "  resync %.1f%%, ETA %s", r.percentDone(), r.etaNanos() < 0 ? "?"
                                        : r.etaNanos() / 1_000_000_000 + " s")).orElse("")));
            }
        }
        try {
            List<ManagedVm> vms = node.vms().list();
            if (!vms.isEmpty()) {
                text.append("vms:\n");
                for (ManagedVm vm : vms) {
                    text.append("  ").append(describe(vm)).append('\n');
                }
            }
        } catch (IllegalStateException e) {
            // No hypervisor on this node.
        }
        text.append("last decision: ").append(status.lastDecision()).append('\n');
        return text.toString();
    }

    private static String describe(ManagedVm vm) {
        return String.format(Locale.ROOT, "%-12s %-9s %s  %d cores, %d MiB%s  (%s)%s", vm.name(), vm.state(),
                vm.node().map(id -> "on " + id).orElse(vm.wanted() ? "wanted" : "stopped"), vm.spec().cores(),
                vm.spec().memoryMib(), vm.restarts() > 0 ? ", " + vm.restarts() + " restarts" : "", vm.detail(),
                vm.migration().map(m -> String.format(Locale.ROOT, "  migrating: %s round %d, %d MiB sent",
                        m.phase(), m.round(), m.bytesSent() >> 20)).orElse(""));
    }

    private static String faults(List<Fault> faults) {
        if (faults.isEmpty()) {
            return "";
        }
        StringBuilder text = new StringBuilder(" (");
        for (Fault fault : faults) {
            text.append(fault.component().name().toLowerCase(Locale.ROOT)).append(' ').append(fault.location())
                    .append(' ').append(fault.severity()).append(fault.predicted() ? " predicted" : "").append(": ")
                    .append(fault.description()).append("; ");
        }
        text.setLength(text.length() - 2);
        return text.append(')').toString();
    }
}
