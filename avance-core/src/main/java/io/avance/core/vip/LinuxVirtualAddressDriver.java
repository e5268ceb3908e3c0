package io.avance.core.vip;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;

/**
 * Virtual addresses on Linux: {@code ip -4 addr add|del ADDRESS dev IFACE} (iproute2) and
 * gratuitous ARP with {@code arping} (either Debian's {@code arping} by Thomas Habets or
 * {@code iputils-arping}; the flags differ and are chosen by asking the program). Needs
 * {@code CAP_NET_ADMIN} and {@code CAP_NET_RAW} (root). A command prefix runs every command
 * elsewhere, such as {@code ip netns exec NAME} in tests. Thread-safe.
 */
public final class LinuxVirtualAddressDriver implements VirtualAddressDriver {

    private final List<String> prefix;
    private volatile Boolean habets;

    /** A driver for this network namespace. */
    public LinuxVirtualAddressDriver() {
        this(List.of());
    }

    /**
     * A driver whose commands run behind a prefix.
     *
     * @param prefix such as {@code ip netns exec node-a}
     */
    public LinuxVirtualAddressDriver(List<String> prefix) {
        this.prefix = List.copyOf(prefix);
    }

    @Override
    public void add(String interfaceName, String address) throws IOException {
        if (holds(interfaceName, address)) {
            return;
        }
        Result result = run("ip", "-4", "addr", "add", address, "dev", interfaceName);
        if (result.exit != 0 && !result.output.contains("File exists")) {
            throw new IOException("ip addr add " + address + " dev " + interfaceName + " failed: " + result.output);
        }
    }

    @Override
    public void remove(String interfaceName, String address) throws IOException {
        if (!holds(interfaceName, address)) {
            return;
        }
        Result result = run("ip", "-4", "addr", "del", address, "dev", interfaceName);
        if (result.exit != 0 && !result.output.contains("Cannot assign")) {
            throw new IOException("ip addr del " + address + " dev " + interfaceName + " failed: " + result.output);
        }
    }

    @Override
    public boolean holds(String interfaceName, String address) throws IOException {
        Result result = run("ip", "-4", "-o", "addr", "show", "dev", interfaceName);
        if (result.exit != 0) {
            throw new IOException("ip addr show dev " + interfaceName + " failed: " + result.output);
        }
        for (String line : result.output.split("\n")) {
            String[] words = line.trim().split("\\s+");
            for (int i = 0; i + 1 < words.length; i++) {
                if (words[i].equals("inet") && words[i + 1].equals(address)) {
                    return true;
                }
            }
        }
        return false;
    }

    @Override
    public void announce(String interfaceName, String ip) throws IOException {
        List<String> command = new ArrayList<>(List.of("arping", "-q", "-U", "-c", "2"));
        if (isHabets()) {
            // Habets' arping: -i selects the interface, -S the source address, -P sends replies.
            command.addAll(List.of("-P", "-w", "2", "-i", interfaceName, "-S", ip, ip));
        } else {
            // iputils: -I selects the interface; -U is unsolicited ARP from the target address.
            command.addAll(List.of("-w", "2", "-I", interfaceName, ip));
        }
        Result result = run(command.toArray(String[]::new));
        // Gratuitous ARP gets no answers, which both programs report with a non-zero exit;
        // only a failure to send (reported on the output) is an error.
        if (result.exit != 0 && (result.output.contains("rror") || result.output.contains("ermission")
                || result.output.contains("not found") || result.output.contains("No such"))) {
            throw new IOException("arping for " + ip + " on " + interfaceName + " failed: " + result.output);
        }
    }

    @Override
    public void forward(String interfaceName, String ip, String via) throws IOException {
        // Forwarding must be on for the kernel to answer ARP for an address routed elsewhere.
        must("sysctl", "-q", "-w", "net.ipv4.ip_forward=1");
        must("sysctl", "-q", "-w", "net.ipv4.neigh." + interfaceName + ".proxy_delay=0");
        must("ip", "-4", "route", "replace", ip + "/32", "via", via);
        must("ip", "-4", "neigh", "replace", "proxy", ip, "dev", interfaceName);
        announce(interfaceName, ip);
    }

    @Override
    public void stopForwarding(String interfaceName, String ip, String via) throws IOException {
        run("ip", "-4", "neigh", "del", "proxy", ip, "dev", interfaceName);
        run("ip", "-4", "route", "del", ip + "/32", "via", via);
    }

    @Override
    public void returnThrough(String ip, List<String> halves, String via) throws IOException {
        Result held = run("ip", "-4", "-o", "addr", "show", "dev", "lo");
        if (!held.output.contains(" " + ip + "/32")) {
            must("ip", "-4", "addr", "add", ip + "/32", "dev", "lo");
        }
        for (String half : halves) {
            must("ip", "-4", "route", "replace", half, "via", via);
        }
    }

    @Override
    public void stopReturning(String ip, List<String> halves, String via) throws IOException {
        for (String half : halves) {
            run("ip", "-4", "route", "del", half, "via", via);
        }
        run("ip", "-4", "addr", "del", ip + "/32", "dev", "lo");
    }

    private void must(String... command) throws IOException {
        Result result = run(command);
        if (result.exit != 0) {
            throw new IOException(String.join(" ", command) + " failed: " + result.output);
        }
    }

    private boolean isHabets() throws IOException {
        Boolean known = habets;
        if (known == null) {
            Result help = run("arping", "--help");
            known = help.output.contains("Habets");
            habets = known;
        }
        return known;
    }

    private record Result(int exit, String output) {
    }

    private Result run(String... command) throws IOException {
        List<String> full = new ArrayList<>(prefix);
        full.addAll(List.of(command));
        Process process = new ProcessBuilder(full).redirectErrorStream(true).start();
        try {
            process.getOutputStream().close();
            byte[] output = process.getInputStream().readAllBytes();
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new IOException("timed out: " + String.join(" ", full));
            }
            return new Result(process.exitValue(), new String(output, StandardCharsets.UTF_8).trim());
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted: " + String.join(" ", full), e);
        }
    }

    @Override
    public String toString() {
        return "LinuxVirtualAddressDriver" + (prefix.isEmpty() ? "" : Objects.toString(prefix));
    }
}
