package io.avance.xen;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.avance.api.hypervisor.HypervisorException;
import io.avance.api.hypervisor.VmSpec;
import java.net.URI;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.junit.jupiter.api.Test;

class DomainConfigJsonTest {

    private static final UUID ID = UUID.fromString("6f1c4bd4-3d0e-4c52-9bb8-1b6a2a0c8e11");

    static VmSpec pvh(String name, Map<String, String> extra) {
        Map<String, String> options = new LinkedHashMap<>(Map.of("xen.kernel", "/boot/vmlinuz"));
        options.putAll(extra);
        return new VmSpec(name, 2, 256L << 20, List.of(), List.of(), options);
    }

    @Test
    void translatesAPvhGuest() {
        VmSpec spec = pvh("web1", Map.of("xen.ramdisk", "/boot/initrd.img", "xen.cmdline", "console=hvc0 quiet"));
        String json = Json.write(DomainConfigJson.build(spec, "web1", ID, List.of()));
        assertEquals("{\"c_info\":{\"type\":\"pvh\",\"name\":\"web1\",\"uuid\":\"" + ID + "\"},"
                + "\"b_info\":{\"max_vcpus\":2,\"max_memkb\":262144,\"target_memkb\":262144,"
                + "\"kernel\":\"/boot/vmlinuz\",\"ramdisk\":\"/boot/initrd.img\",\"cmdline\":\"console=hvc0 quiet\","
                + "\"type.pvh\":{}}}", json);
    }

    @Test
    void translatesDisksAndNetworks() {
        VmSpec spec = new VmSpec("db", 1, 1L << 30,
                List.of(new VmSpec.Disk("db-root", 1L << 30, 2), new VmSpec.Disk("db-data", 4096, 1)),
                List.of(new VmSpec.Network("lan", Optional.of("52:54:00:AB:CD:EF")), new VmSpec.Network("dmz",
                        Optional.empty())),
                Map.of("xen.type", "hvm"));
        Map<String, Object> config = DomainConfigJson.build(spec, "db--incoming", ID,
                List.of(URI.create("nbd://10.0.0.1:10809/db-root"), URI.create("nbd://10.0.0.1:10809/db-data")));
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> disks = (List<Map<String, Object>>) config.get("disks");
        assertEquals(Map.of("pdev_path", "nbd://10.0.0.1:10809/db-root", "vdev", "xvda", "backend", "phy",
                "format", "raw", "script", "block-avance-nbd", "readwrite", 1L), disks.get(0));
        assertEquals("xvdb", disks.get(1).get("vdev"));
        assertEquals(List.of(Map.of("bridge", "lan", "mac", "52:54:00:ab:cd:ef"),
                Map.of("bridge", "dmz", "mac", DomainConfigJson.derivedMac("db", 1))), config.get("nics"));
        // The derived address is the same wherever it is computed, in Xen's range, unicast and local to the VM.
        assertEquals(DomainConfigJson.derivedMac("db", 1), DomainConfigJson.derivedMac("db", 1));
        assertTrue(DomainConfigJson.derivedMac("db", 1).matches("00:16:3e:[0-7][0-9a-f]:[0-9a-f]{2}:[0-9a-f]{2}"));
        assertTrue(!DomainConfigJson.derivedMac("db", 1).equals(DomainConfigJson.derivedMac("db", 0)));
        @SuppressWarnings("unchecked")
        Map<String, Object> createInfo = (Map<String, Object>) config.get("c_info");
        assertEquals("hvm", createInfo.get("type"));
        assertEquals("db--incoming", createInfo.get("name"));
        @SuppressWarnings("unchecked")
        Map<String, Object> buildInfo = (Map<String, Object>) config.get("b_info");
        assertTrue(buildInfo.containsKey("type.hvm"));
        assertEquals(1048576L, buildInfo.get("max_memkb"));
    }

    @Test
    void aPvhGuestWithoutAKernelBootsFromItsDiskThroughPvgrub() {
        VmSpec spec = new VmSpec("web", 1, 256L << 20, List.of(new VmSpec.Disk("web-disk", 1L << 30, 1)), List.of(),
                Map.of());
        Map<String, Object> config = DomainConfigJson.build(spec, "web", ID,
                List.of(URI.create("nbd://127.0.0.1:10809/web-disk")));
        @SuppressWarnings("unchecked")
        Map<String, Object> buildInfo = (Map<String, Object>) config.get("b_info");
        assertEquals("/usr/lib/grub-xen/grub-i386-xen_pvh.bin", buildInfo.get("kernel"));
        assertTrue(!buildInfo.containsKey("ramdisk") && !buildInfo.containsKey("cmdline"), buildInfo.toString());
        VmSpec other = new VmSpec("web", 1, 256L << 20, spec.disks(), List.of(), Map.of("xen.pvgrub", "/opt/pvh.bin"));
        @SuppressWarnings("unchecked")
        Map<String, Object> otherBuild = (Map<String, Object>) DomainConfigJson.build(other, "web", ID,
                List.of(URI.create("nbd://127.0.0.1:10809/web-disk"))).get("b_info");
        assertEquals("/opt/pvh.bin", otherBuild.get("kernel"));
    }

    @Test
    void refusesWhatLibxlWouldSilentlyIgnoreOrMisread() {
        assertRefused(pvh("a", Map.of("xen.kernal", "/boot/x")), "unknown option 'xen.kernal'");
        assertRefused(pvh("a", Map.of("sim.program", "x")), "unknown option 'sim.program'");
        assertRefused(pvh("a", Map.of("xen.type", "pv")), "PV guest can neither log dirty pages");
        assertRefused(pvh("a", Map.of("xen.type", "PVH")), "xen.type must be pvh or hvm");
        assertRefused(new VmSpec("a", 1, 1L << 27, List.of(), List.of(), Map.of()), "needs xen.kernel");
        assertRefused(pvh("a", Map.of("xen.pvgrub", "/g")), "xen.pvgrub boots a PVH guest from its disk");
        assertRefused(new VmSpec("a", 1, 1L << 27, List.of(), List.of(), Map.of("xen.type", "hvm",
                "xen.ramdisk", "/r")), "xen.ramdisk needs xen.kernel");
        assertRefused(pvh("a", Map.of("xen.kernel", "boot/vmlinuz")), "absolute path");
        assertRefused(pvh("a", Map.of("xen.cmdline", "a\nb")), "one line");
        assertRefused(pvh("a", Map.of("xen.cmdline", "x".repeat(2049))), "longer than 2048");
        assertRefused(new VmSpec("a", 129, 1L << 27, List.of(), List.of(), Map.of("xen.kernel", "/k")),
                "at most 128");
        assertRefused(pvh("a", Map.of("xen.cpus", "all")), "xen.cpus must list CPU numbers and ranges");
        assertRefused(pvh("a", Map.of("xen.cpus", "2,")), "was '2,'");
        assertRefused(pvh("a", Map.of("xen.cpus", "^1")), "was '^1'");
        assertRefused(pvh("a", Map.of("xen.cpus", "3-2")), "the range '3-2'");
        assertRefused(pvh("a", Map.of("xen.cpus", "0-4096")), "from 0 to 4095");
    }

    @Test
    void pinsEveryVcpuToTheListedCpus() {
        Map<String, Object> config = DomainConfigJson.build(pvh("web1", Map.of("xen.cpus", "5,2-3,3")), "web1", ID,
                List.of());
        @SuppressWarnings("unchecked")
        Map<String, Object> buildInfo = (Map<String, Object>) config.get("b_info");
        // Two vCPUs, each with the set of CPUs in ascending order, once each.
        assertEquals(List.of(List.of(2L, 3L, 5L), List.of(2L, 3L, 5L)), buildInfo.get("vcpu_hard_affinity"));
        Map<String, Object> unpinned = DomainConfigJson.build(pvh("web1", Map.of()), "web1", ID, List.of());
        @SuppressWarnings("unchecked")
        Map<String, Object> unpinnedInfo = (Map<String, Object>) unpinned.get("b_info");
        assertTrue(!unpinnedInfo.containsKey("vcpu_hard_affinity"), unpinnedInfo.toString());
    }

    private static void assertRefused(VmSpec spec, String why) {
        HypervisorException e = assertThrows(HypervisorException.class, () -> DomainConfigJson.validate(spec));
        assertTrue(e.getMessage().contains(why), e.getMessage());
        assertTrue(e.getMessage().startsWith("VM 'a' refused"), e.getMessage());
    }

    @Test
    void roundTripAcceptsLibxlDefaultsAndCatchesDroppedOrChangedValues() {
        Map<String, Object> sent = DomainConfigJson.build(pvh("vm", Map.of()), "vm", ID, List.of());
        String rendered = "{\"c_info\":{\"type\":\"pvh\",\"name\":\"vm\",\"uuid\":\"" + ID + "\",\"ssidref\":0},"
                + "\"b_info\":{\"max_vcpus\":2,\"avail_vcpus\":[0,1],\"max_memkb\":262144,\"target_memkb\":262144,"
                + "\"kernel\":\"/boot/vmlinuz\",\"type.pvh\":{\"pvshim\":\"False\"}},"
                + "\"on_poweroff\":\"destroy\"}";
        DomainConfigJson.checkRoundTrip("vm", sent, rendered);

        HypervisorException dropped = assertThrows(HypervisorException.class, () ->
                DomainConfigJson.checkRoundTrip("vm", sent, rendered.replace("\"kernel\":\"/boot/vmlinuz\",", "")));
        assertTrue(dropped.getMessage().contains("b_info.kernel is missing"), dropped.getMessage());
        HypervisorException changed = assertThrows(HypervisorException.class, () ->
                DomainConfigJson.checkRoundTrip("vm", sent, rendered.replace("\"max_vcpus\":2", "\"max_vcpus\":1")));
        assertTrue(changed.getMessage().contains("b_info.max_vcpus is 1, sent 2"), changed.getMessage());
        assertThrows(HypervisorException.class, () -> DomainConfigJson.checkRoundTrip("vm", sent, "not json"));
    }

    @Test
    void roundTripComparesListsEntryByEntry() {
        Map<String, Object> sent = Map.of("disks", List.of(Map.of("vdev", "xvda")));
        DomainConfigJson.checkRoundTrip("vm", sent, "{\"disks\":[{\"vdev\":\"xvda\",\"backend\":\"qdisk\"}]}");
        HypervisorException e = assertThrows(HypervisorException.class,
                () -> DomainConfigJson.checkRoundTrip("vm", sent, "{\"disks\":[]}"));
        assertTrue(e.getMessage().contains("disks has 0 entries, sent 1"), e.getMessage());
    }
}
