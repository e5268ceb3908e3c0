package io.avance.xen;

import com.sun.jna.Library;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.PointerByReference;
import io.avance.api.hypervisor.HypervisorException;
import io.avance.api.hypervisor.VmSpec;
import io.avance.xen.libxl.LibXenLight;
import io.avance.xen.libxl.LibXenToolLog;
import io.avance.xen.libxl.XenLibraries;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

/**
 * Run in a JVM of its own by {@link LibxlConfigTest}: loads the shim globally ahead of
 * libxenctrl, opens a libxl context, and passes configurations through the real libxl parser.
 * Prints one line per case: {@code OK name} or {@code REFUSED name: message}.
 */
public final class LibxlShimMain {

    private LibxlShimMain() {
    }

    public static void main(String[] arguments) {
        // RTLD_NOW | RTLD_GLOBAL: the shim's symbols win over libxenctrl's and libxenstore's.
        NativeLibrary.getInstance(arguments[0], Map.of(Library.OPTION_OPEN_FLAGS, 0x102));
        XenLibraries libraries = XenLibraries.load();
        Pointer file = libraries.c().fopen(arguments[1], "a");
        Pointer logger = libraries.log().xtl_createlogger_stdiostream(file, LibXenToolLog.XTL_DETAIL, 0);
        PointerByReference context = new PointerByReference();
        int rc = libraries.light().libxl_ctx_alloc(context, LibXenLight.LIBXL_VERSION, 0, logger);
        System.out.println("ctx_alloc " + rc);
        if (rc != 0) {
            System.exit(2);
        }
        UUID uuid = UUID.fromString("6f1c4bd4-3d0e-4c52-9bb8-1b6a2a0c8e11");
        VmSpec pvh = new VmSpec("pvh1", 2, 128L << 20, List.of(), List.of(),
                Map.of("xen.kernel", "/boot/vmlinuz", "xen.ramdisk", "/boot/initrd", "xen.cmdline", "console=hvc0"));
        VmSpec full = new VmSpec("hvm1", 4, 1L << 30,
                List.of(new VmSpec.Disk("root", 1L << 30, 2), new VmSpec.Disk("data", 1L << 20, 1)),
                List.of(new VmSpec.Network("lan", Optional.of("52:54:00:12:34:56")), new VmSpec.Network("dmz",
                        Optional.empty())),
                Map.of("xen.type", "hvm"));
        check(libraries, context.getValue(), "pvh", DomainConfigJson.build(pvh, "pvh1", uuid, List.of()));
        check(libraries, context.getValue(), "pvh-incoming", DomainConfigJson.build(pvh, "pvh1--incoming", uuid,
                List.of()));
        check(libraries, context.getValue(), "hvm-disks-nics", DomainConfigJson.build(full, "hvm1", uuid,
                List.of(java.net.URI.create("nbd://127.0.0.1:10809/root"),
                        java.net.URI.create("nbd://127.0.0.1:10809/data"))));
        // A PVH guest booting from its disk through pvgrub2, with a NIC on a bridge.
        VmSpec fromDisk = new VmSpec("web1", 1, 256L << 20, List.of(new VmSpec.Disk("web-disk", 1L << 30, 1)),
                List.of(new VmSpec.Network("lan", java.util.Optional.empty())), Map.of());
        check(libraries, context.getValue(), "pvh-boot-from-disk", DomainConfigJson.build(fromDisk, "web1", uuid,
                List.of(java.net.URI.create("nbd://127.0.0.1:10809/web-disk"))));
        // Two vCPUs kept on the host's CPUs 2 and 3, off dom0's.
        VmSpec pinned = new VmSpec("pinned1", 2, 128L << 20, List.of(), List.of(), Map.of("xen.kernel",
                "/boot/vmlinuz", "xen.cpus", "2-3"));
        check(libraries, context.getValue(), "pvh-pinned", DomainConfigJson.build(pinned, "pinned1", uuid, List.of()));
        // What libxl alone would accept silently: a misspelt key, and a string for a number.
        Map<String, Object> typo = DomainConfigJson.build(pvh, "pvh1", uuid, List.of());
        @SuppressWarnings("unchecked")
        Map<String, Object> buildInfo = new LinkedHashMap<>((Map<String, Object>) typo.get("b_info"));
        buildInfo.put("kernal", "/boot/vmlinuz");
        typo.put("b_info", buildInfo);
        check(libraries, context.getValue(), "misspelt-key", typo);
        Map<String, Object> wrongType = DomainConfigJson.build(pvh, "pvh1", uuid, List.of());
        @SuppressWarnings("unchecked")
        Map<String, Object> buildInfo2 = new LinkedHashMap<>((Map<String, Object>) wrongType.get("b_info"));
        buildInfo2.put("max_vcpus", "two");
        wrongType.put("b_info", buildInfo2);
        check(libraries, context.getValue(), "string-for-number", wrongType);
        Map<String, Object> badEnum = DomainConfigJson.build(pvh, "pvh1", uuid, List.of());
        @SuppressWarnings("unchecked")
        Map<String, Object> createInfo = new LinkedHashMap<>((Map<String, Object>) badEnum.get("c_info"));
        createInfo.put("type", "nosuchtype");
        badEnum.put("c_info", createInfo);
        check(libraries, context.getValue(), "unknown-enum", badEnum);
        System.out.println("done");
    }

    private static void check(XenLibraries libraries, Pointer context, String name, Map<String, Object> config) {
        try {
            LibxlConfigParser.parse(libraries.light(), libraries.c(), context, name, config, parsed -> 0);
            System.out.println("OK " + name);
        } catch (HypervisorException e) {
            System.out.println("REFUSED " + name + ": " + e.getMessage());
        }
    }
}
