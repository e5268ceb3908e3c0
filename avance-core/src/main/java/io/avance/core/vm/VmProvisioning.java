package io.avance.core.vm;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.avance.api.hypervisor.VmSpec;
import io.avance.api.hypervisor.VmState;
import io.avance.api.vm.ManagedVm;
import io.avance.api.vm.VmException;
import io.avance.api.vm.VmManager;
import java.io.IOException;
import java.io.InputStream;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Creates and deletes VMs with their disks, as an operator asks for them ({@code avance vm create},
 * the monitor): a VM with one replicated disk named after it, optionally filled from an image (any
 * format {@code qemu-img} reads) through the node's own NBD export, so that the image reaches both
 * copies as every other write does.
 *
 * <p>Everything that can be checked is checked before anything changes: the name is free, the
 * image is readable and fits the disk, the backup (if any) is up to date, and the smaller node can
 * host the VM (admission control, with the numbers). A failure after that (the image copy fails)
 * removes what was made. Runs on the caller's thread; blocking.
 */
public final class VmProvisioning {

    private static final Logger LOG = System.getLogger(VmProvisioning.class.getName());
    private static final Pattern PROGRESS = Pattern.compile("\\((\\d+(?:\\.\\d+)?)/100%\\)");
    private static final long DELETE_TIMEOUT_SECONDS = 60;

    /** What provisioning needs from the node. */
    public interface Host {
        /** @return the pair's VMs */
        VmManager vms();

        /** @return where this node serves its volumes over NBD, if it does */
        Optional<InetSocketAddress> nbdAddress();

        /** @return why the backup's copies are not up to date, or empty if they are (or there is no peer) */
        Optional<String> backupNotUpToDate();

        /**
         * Refuses a VM that admission control would refuse to start.
         *
         * @param spec the VM
         * @throws VmException with the numbers
         */
        void checkAdmission(VmSpec spec);

        /** @param volume the volume @return true if a volume of that name exists on this node */
        boolean volumeExists(String volume);

        /**
         * Deletes a volume on both nodes.
         *
         * @param volume the volume
         * @return completes when both copies are gone
         */
        CompletableFuture<Void> deleteVolume(String volume);

        /**
         * Records an action in the audit journal.
         *
         * @param action  what
         * @param detail  about what
         * @param outcome how it ended
         */
        void audit(String action, String detail, String outcome);
    }

    /**
     * A VM to create.
     *
     * @param name        the VM's name; its disk is the volume {@code NAME-disk}
     * @param cores       virtual CPUs
     * @param memoryBytes memory
     * @param diskBytes   the disk's size, a multiple of 4096
     * @param image       an image to write into the disk first
     * @param networks    the public networks its NICs join
     * @param options     hypervisor options
     */
    public record Request(String name, int cores, long memoryBytes, long diskBytes, Optional<Path> image,
                          List<VmSpec.Network> networks, Map<String, String> options) {

        /**
         * Validates the fields that need no node to check.
         */
        public Request {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(image, "image");
            networks = List.copyOf(networks);
            options = Map.copyOf(options);
        }

        /** @return the name of the VM's disk volume */
        public String diskVolume() {
            return name + "-disk";
        }
    }

    private final Host host;
    private final Consumer<String> progress;

    /**
     * Creates the provisioner.
     *
     * @param host     the node
     * @param progress where progress lines go (the log; the caller's output)
     */
    public VmProvisioning(Host host, Consumer<String> progress) {
        this.host = Objects.requireNonNull(host, "host");
        this.progress = Objects.requireNonNull(progress, "progress");
    }

    /**
     * Creates a VM with its disk, writes the image into the disk if one is given, and starts it.
     *
     * @param request the VM
     * @return the VM, running
     * @throws VmException naming what was refused, with nothing changed
     */
    public ManagedVm create(Request request) {
        VmSpec spec;
        try {
            // The VM's own fields first, so that a bad name is reported as such, not as its disk's.
            new VmSpec(request.name(), request.cores(), request.memoryBytes(), List.of(), request.networks(),
                    request.options());
            spec = new VmSpec(request.name(), request.cores(), request.memoryBytes(),
                    List.of(new VmSpec.Disk(request.diskVolume(), request.diskBytes(), 1)), request.networks(),
                    request.options());
        } catch (IllegalArgumentException e) {
            throw new VmException(VmException.Reason.INVALID, e.getMessage());
        }
        if (host.vms().get(spec.name()).isPresent()) {
            throw new VmException(VmException.Reason.INVALID, "a VM named '" + spec.name() + "' exists already");
        }
        if (host.volumeExists(request.diskVolume())) {
            throw new VmException(VmException.Reason.INVALID, "a volume named '" + request.diskVolume()
                    + "' exists already (left by a VM deleted with its disks kept?)");
        }
        Optional<String> backup = host.backupNotUpToDate();
        if (backup.isPresent()) {
            throw new VmException(VmException.Reason.WRONG_STATE, "the backup is not up to date (" + backup.get()
                    + "): a new VM's disk would not be safe on it yet; try again once it is");
        }
        if (request.image().isPresent()) {
            checkImage(request.image().get(), request.diskBytes());
            if (host.nbdAddress().isEmpty()) {
                throw new VmException(VmException.Reason.INVALID, "an image is written through the node's NBD export,"
                        + " and this node has none (set nbd.listen)");
            }
        }
        host.checkAdmission(spec);

        host.vms().define(spec, false);
        try {
            if (request.image().isPresent()) {
                writeImage(request.image().get(), request.diskVolume());
            }
            ManagedVm started = host.vms().start(spec.name());
            host.audit("vm-create", spec.name() + " (" + spec.cores() + " cores, " + spec.memoryMib() + " MiB, disk "
                    + request.diskBytes() + " bytes" + request.image().map(i -> ", image " + i).orElse("") + ")",
                    "created and started");
            return started;
        } catch (RuntimeException e) {
            progress.accept("creating VM " + spec.name() + " failed (" + e.getMessage() + "); removing what was made");
            removeQuietly(spec.name(), request.diskVolume());
            throw e instanceof VmException vm ? vm : new VmException(VmException.Reason.HYPERVISOR, e.getMessage(), e);
        }
    }

    /**
     * Deletes a stopped VM and, unless kept, its disks on both nodes.
     *
     * @param name      the VM
     * @param keepDisks whether its disks stay
     * @throws VmException if there is no such VM, it runs, or a disk could not be deleted
     */
    public void delete(String name, boolean keepDisks) {
        ManagedVm vm = host.vms().get(name).orElseThrow(() -> new VmException(VmException.Reason.NO_SUCH_VM,
                "no VM named '" + name + "'"));
        if (vm.state().active() || vm.state() == VmState.CRASHED) {
            throw new VmException(VmException.Reason.WRONG_STATE, "VM '" + name + "' is " + vm.state()
                    + "; stop it first (avance vm stop " + name + ")");
        }
        host.vms().undefine(name);
        List<String> failures = new ArrayList<>();
        if (!keepDisks) {
            for (VmSpec.Disk disk : vm.spec().disks()) {
                try {
                    host.deleteVolume(disk.volume()).get(DELETE_TIMEOUT_SECONDS, TimeUnit.SECONDS);
                } catch (ExecutionException e) {
                    failures.add(disk.volume() + ": " + e.getCause().getMessage());
                } catch (TimeoutException e) {
                    failures.add(disk.volume() + ": the backup did not answer within " + DELETE_TIMEOUT_SECONDS + " s");
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    failures.add(disk.volume() + ": interrupted");
                }
            }
        }
        host.audit("vm-delete", name + (keepDisks ? ", disks kept" : ""), failures.isEmpty() ? "deleted"
                : "deleted, but not every disk: " + String.join("; ", failures));
        if (!failures.isEmpty()) {
            throw new VmException(VmException.Reason.HYPERVISOR, "VM '" + name + "' is deleted, but not every disk: "
                    + String.join("; ", failures));
        }
    }

    /** The image is readable and its virtual size fits the disk. */
    private static void checkImage(Path image, long diskBytes) {
        if (!Files.isRegularFile(image) || !Files.isReadable(image)) {
            throw new VmException(VmException.Reason.INVALID, "the image " + image + " is not a readable file");
        }
        Run info = run(List.of("qemu-img", "info", "--output=json", image.toString()), line -> { });
        if (info.exit() != 0) {
            throw new VmException(VmException.Reason.INVALID, "qemu-img cannot read the image " + image + ": "
                    + lastLine(info.output()));
        }
        long virtualSize = virtualSize(info.output());
        if (virtualSize < 0) {
            throw new VmException(VmException.Reason.INVALID, "qemu-img gave no virtual size for " + image);
        }
        if (virtualSize > diskBytes) {
            throw new VmException(VmException.Reason.INVALID, "the image " + image + " holds " + virtualSize
                    + " bytes (its virtual size), more than the disk's " + diskBytes + "; give a larger --disk");
        }
    }

    /**
     * The top-level {@code virtual-size} in {@code qemu-img info --output=json}.
     *
     * @param json what qemu-img printed
     * @return the size in bytes, or -1 if there is none
     */
    static long virtualSize(String json) {
        try (JsonParser parser = new JsonFactory().createParser(json)) {
            if (parser.nextToken() != JsonToken.START_OBJECT) {
                return -1;
            }
            while (parser.nextToken() == JsonToken.FIELD_NAME) {
                String field = parser.currentName();
                JsonToken value = parser.nextToken();
                if (field.equals("virtual-size") && value == JsonToken.VALUE_NUMBER_INT) {
                    return parser.getLongValue();
                }
                parser.skipChildren();
            }
            return -1;
        } catch (IOException e) {
            return -1;
        }
    }

    private void writeImage(Path image, String volume) {
        InetSocketAddress nbd = host.nbdAddress().orElseThrow();
        String target = "nbd://" + nbd.getHostString() + ":" + nbd.getPort() + "/" + volume;
        progress.accept("writing " + image + " into " + volume + " (" + target + ")");
        int[] lastTenth = {-1};
        Run convert = run(List.of("qemu-img", "convert", "-p", "-n", "-O", "raw", image.toString(), target), line -> {
            Matcher matcher = PROGRESS.matcher(line);
            while (matcher.find()) {
                int tenth = (int) (Double.parseDouble(matcher.group(1)) / 10);
                if (tenth > lastTenth[0]) {
                    lastTenth[0] = tenth;
                    progress.accept("writing the image into " + volume + ": " + tenth * 10 + " %");
                }
            }
        });
        if (convert.exit() != 0) {
            throw new VmException(VmException.Reason.HYPERVISOR, "writing the image into " + volume + " failed: "
                    + lastLine(convert.output()));
        }
        progress.accept("the image is in " + volume);
    }

    private void removeQuietly(String vm, String volume) {
        try {
            host.vms().undefine(vm);
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "removing VM {0} after a failed create: {1}", vm, e.getMessage());
        }
        try {
            host.deleteVolume(volume).get(DELETE_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (ExecutionException | TimeoutException e) {
            LOG.log(Level.WARNING, "removing volume {0} after a failed create: {1}", volume, e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private record Run(int exit, String output) {
    }

    /** Runs a program to its end, passing each chunk of its output on as it comes. */
    private static Run run(List<String> command, Consumer<String> chunks) {
        Process process;
        try {
            process = new ProcessBuilder(command).redirectErrorStream(true).start();
            process.getOutputStream().close();
        } catch (IOException e) {
            throw new VmException(VmException.Reason.INVALID, command.get(0) + " cannot be run (" + e.getMessage()
                    + "): install qemu-utils");
        }
        StringBuilder output = new StringBuilder();
        byte[] buffer = new byte[4096];
        try (InputStream in = process.getInputStream()) {
            for (int read; (read = in.read(buffer)) >= 0; ) {
                String chunk = new String(buffer, 0, read, StandardCharsets.UTF_8);
                output.append(chunk);
                chunks.accept(chunk);
            }
            return new Run(process.waitFor(), output.toString());
        } catch (IOException e) {
            process.destroyForcibly();
            throw new VmException(VmException.Reason.HYPERVISOR, command.get(0) + " failed: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new VmException(VmException.Reason.HYPERVISOR, command.get(0) + " was interrupted", e);
        }
    }

    private static String lastLine(String output) {
        String trimmed = output.strip();
        int newline = trimmed.lastIndexOf('\n');
        return newline < 0 ? trimmed : trimmed.substring(newline + 1);
    }
}
