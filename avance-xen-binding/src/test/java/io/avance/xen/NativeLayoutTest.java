package io.avance.xen;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.jna.Structure;
import io.avance.xen.libxl.DomInfo;
import io.avance.xen.libxl.EventHooks;
import io.avance.xen.libxl.LibxlEvent;
import io.avance.xen.libxl.NativeLayout;
import io.avance.xen.libxl.ShadowOpStats;
import io.avance.xen.libxl.Timeval;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.IntSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every JNA structure, and every size and offset the binding uses on opaque memory, against
 * the C layout of Xen 4.17 on x86_64.
 *
 * <p>Two references: the committed table {@code layout-4.17-x86_64.txt} (always), and, where
 * gcc and the libxen-dev headers are installed, a C program compiled from those headers that
 * prints {@code sizeof} and {@code offsetof} of the same items (then the table must also agree
 * with the headers, so it cannot go stale).
 */
class NativeLayoutTest {

    /** One checked item: its key, the C expression that computes it, and what the binding uses. */
    private record Item(String key, String expression, IntSupplier binding) {
    }

    private static List<Item> items() {
        List<Item> items = new ArrayList<>();
        DomInfo info = new DomInfo();
        items.add(new Item("sizeof libxl_dominfo", "sizeof(libxl_dominfo)", info::size));
        for (String field : List.of("uuid", "domid", "ssidref", "ssid_label", "running", "blocked", "paused",
                "shutdown", "dying", "never_stop", "shutdown_reason", "outstanding_memkb", "current_memkb",
                "shared_memkb", "paged_memkb", "max_memkb", "cpu_time", "vcpu_max_id", "vcpu_online", "cpupool",
                "gpaddr_bits", "domain_type")) {
            items.add(new Item("offsetof libxl_dominfo " + field, "offsetof(libxl_dominfo, " + field + ")",
                    () -> info.offsetOf(field)));
        }
        LibxlEvent event = new LibxlEvent();
        items.add(new Item("sizeof libxl_event", "sizeof(libxl_event)", event::size));
        items.add(new Item("offsetof libxl_event link.tqe_next", "offsetof(libxl_event, link.tqe_next)",
                () -> event.offsetOf("link_next")));
        items.add(new Item("offsetof libxl_event link.tqe_prev", "offsetof(libxl_event, link.tqe_prev)",
                () -> event.offsetOf("link_prev")));
        for (String field : List.of("domid", "domuuid", "for_user", "type", "u")) {
            items.add(new Item("offsetof libxl_event " + field, "offsetof(libxl_event, " + field + ")",
                    () -> event.offsetOf(field)));
        }
        items.add(new Item("offsetof libxl_event u.domain_shutdown.shutdown_reason",
                "offsetof(libxl_event, u.domain_shutdown.shutdown_reason)", () -> event.offsetOf("u")));
        items.add(new Item("sizeof libxl_event.u.domain_shutdown.shutdown_reason",
                "sizeof(((libxl_event *)0)->u.domain_shutdown.shutdown_reason)", () -> 1));
        EventHooks hooks = new EventHooks();
        items.add(new Item("sizeof libxl_event_hooks", "sizeof(libxl_event_hooks)", hooks::size));
        for (String field : List.of("event_occurs_mask", "event_occurs", "disaster")) {
            items.add(new Item("offsetof libxl_event_hooks " + field, "offsetof(libxl_event_hooks, " + field + ")",
                    () -> hooks.offsetOf(field)));
        }
        Timeval time = new Timeval();
        items.add(new Item("sizeof struct timeval", "sizeof(struct timeval)", time::size));
        items.add(new Item("offsetof struct timeval tv_sec", "offsetof(struct timeval, tv_sec)",
                () -> time.offsetOf("tv_sec")));
        items.add(new Item("offsetof struct timeval tv_usec", "offsetof(struct timeval, tv_usec)",
                () -> time.offsetOf("tv_usec")));
        ShadowOpStats stats = new ShadowOpStats();
        items.add(new Item("sizeof xc_shadow_op_stats_t", "sizeof(xc_shadow_op_stats_t)", stats::size));
        items.add(new Item("offsetof xc_shadow_op_stats_t fault_count", "offsetof(xc_shadow_op_stats_t, fault_count)",
                () -> stats.offsetOf("fault_count")));
        items.add(new Item("offsetof xc_shadow_op_stats_t dirty_count", "offsetof(xc_shadow_op_stats_t, dirty_count)",
                () -> stats.offsetOf("dirty_count")));
        // Opaque memory the binding sizes and pokes itself.
        items.add(new Item("sizeof libxl_domain_config", "sizeof(libxl_domain_config)",
                () -> NativeLayout.DOMAIN_CONFIG_SIZE));
        items.add(new Item("sizeof libxl_domain_restore_params", "sizeof(libxl_domain_restore_params)",
                () -> NativeLayout.RESTORE_PARAMS_SIZE));
        items.add(new Item("offsetof libxl_domain_restore_params stream_version",
                "offsetof(libxl_domain_restore_params, stream_version)",
                () -> NativeLayout.RESTORE_PARAMS_STREAM_VERSION));
        items.add(new Item("sizeof libxl_childproc_hooks", "sizeof(libxl_childproc_hooks)",
                () -> NativeLayout.CHILDPROC_HOOKS_SIZE));
        items.add(new Item("offsetof libxl_childproc_hooks chldowner", "offsetof(libxl_childproc_hooks, chldowner)",
                () -> NativeLayout.CHILDPROC_HOOKS_CHLDOWNER));
        items.add(new Item("sizeof libxl_sigchld_owner", "sizeof(libxl_sigchld_owner)", () -> 4));
        items.add(new Item("sizeof xc_hypercall_buffer_t", "sizeof(xc_hypercall_buffer_t)",
                () -> NativeLayout.HYPERCALL_BUFFER_SIZE));
        items.add(new Item("offsetof xc_hypercall_buffer_t ubuf", "offsetof(xc_hypercall_buffer_t, ubuf)",
                () -> NativeLayout.HYPERCALL_BUFFER_UBUF));
        items.add(new Item("sizeof struct pollfd", "sizeof(struct pollfd)", () -> NativeLayout.POLLFD_SIZE));
        items.add(new Item("offsetof struct pollfd events", "offsetof(struct pollfd, events)",
                () -> NativeLayout.POLLFD_EVENTS));
        items.add(new Item("offsetof struct pollfd revents", "offsetof(struct pollfd, revents)",
                () -> NativeLayout.POLLFD_REVENTS));
        items.add(new Item("offsetof libxl_version_info xen_version_major",
                "offsetof(libxl_version_info, xen_version_major)", () -> NativeLayout.VERSION_INFO_MAJOR));
        items.add(new Item("offsetof libxl_version_info xen_version_minor",
                "offsetof(libxl_version_info, xen_version_minor)", () -> NativeLayout.VERSION_INFO_MINOR));
        items.add(new Item("sizeof xen_pfn_t", "sizeof(xen_pfn_t)", () -> NativeLayout.PFN_SIZE));
        items.add(new Item("sizeof bool", "sizeof(bool)", () -> 1));
        return items;
    }

    private static Map<String, Integer> binding() {
        Map<String, Integer> values = new LinkedHashMap<>();
        for (Item item : items()) {
            values.put(item.key(), item.binding().getAsInt());
        }
        return values;
    }

    private static Map<String, Integer> committedTable() throws IOException {
        Map<String, Integer> table = new TreeMap<>();
        try (InputStream in = NativeLayoutTest.class.getResourceAsStream("layout-4.17-x86_64.txt")) {
            String text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            for (String line : text.split("\n")) {
                if (line.isBlank() || line.startsWith("#")) {
                    continue;
                }
                int space = line.lastIndexOf(' ');
                table.put(line.substring(0, space), Integer.parseInt(line.substring(space + 1)));
            }
        }
        return table;
    }

    @Test
    void everyStructureMatchesTheCommittedTable() throws IOException {
        Map<String, Integer> table = committedTable();
        Map<String, Integer> binding = binding();
        assertEquals(new TreeMap<>(table).keySet(), new TreeMap<>(binding).keySet(),
                "the committed table and the binding check different items");
        for (Map.Entry<String, Integer> entry : binding.entrySet()) {
            assertEquals(table.get(entry.getKey()), entry.getValue(), entry.getKey());
        }
    }

    /** Where gcc and the headers are present, the headers are the truth for both. */
    @Test
    void everyStructureMatchesTheInstalledHeaders(@TempDir Path directory) throws Exception {
        if (!Files.exists(Paths.get("/usr/include/libxl.h")) || !onPath("gcc")) {
            System.out.println("NativeLayoutTest: libxen-dev headers or gcc absent; checked against the committed"
                    + " table only");
            return;
        }
        Map<String, Integer> headers = fromHeaders(directory);
        Map<String, Integer> binding = binding();
        Map<String, Integer> table = committedTable();
        for (Map.Entry<String, Integer> entry : binding.entrySet()) {
            assertEquals(headers.get(entry.getKey()), entry.getValue(), "binding vs headers: " + entry.getKey());
            assertEquals(headers.get(entry.getKey()), table.get(entry.getKey()),
                    "committed table vs headers: " + entry.getKey());
        }
    }

    /** The JNA default alignment is what makes the structures above come out right. */
    @Test
    void structuresUseTheDefaultAlignment() {
        for (Structure structure : List.of(new DomInfo(), new LibxlEvent(), new EventHooks(), new ShadowOpStats())) {
            assertTrue(structure.size() > 0);
        }
    }

    private static Map<String, Integer> fromHeaders(Path directory) throws Exception {
        StringBuilder c = new StringBuilder();
        c.append("#include <stddef.h>\n#include <stdio.h>\n#include <stdbool.h>\n#include <poll.h>\n")
                .append("#include <sys/time.h>\n#include <libxl.h>\n#include <libxl_event.h>\n")
                .append("#include <xenctrl.h>\n\nint main(void) {\n");
        for (Item item : items()) {
            c.append("    printf(\"%s %zu\\n\", \"").append(item.key()).append("\", (size_t)(")
                    .append(item.expression()).append("));\n");
        }
        c.append("    return 0;\n}\n");
        Path source = directory.resolve("layout.c");
        Path program = directory.resolve("layout");
        Files.writeString(source, c.toString());
        String compiled = run(List.of("gcc", "-O0", "-o", program.toString(), source.toString()));
        assertTrue(Files.isExecutable(program), "gcc failed: " + compiled);
        Map<String, Integer> values = new LinkedHashMap<>();
        for (String line : run(List.of(program.toString())).split("\n")) {
            if (!line.isBlank()) {
                int space = line.lastIndexOf(' ');
                values.put(line.substring(0, space), Integer.parseInt(line.substring(space + 1).strip()));
            }
        }
        assertEquals(items().size(), values.size(), "the C program printed " + values);
        // Kept as a build artifact: the table to commit when the headers change.
        StringBuilder table = new StringBuilder("# sizeof/offsetof on x86_64 from the Xen 4.17 headers (libxen-dev)\n");
        values.forEach((key, value) -> table.append(key).append(' ').append(value).append('\n'));
        Files.createDirectories(Paths.get("target"));
        Files.writeString(Paths.get("target", "layout-from-headers.txt"), table.toString());
        return values;
    }

    private static boolean onPath(String command) {
        for (String directory : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (Files.isExecutable(Paths.get(directory, command))) {
                return true;
            }
        }
        return false;
    }

    static String run(List<String> command) throws IOException, InterruptedException {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        byte[] output = process.getInputStream().readAllBytes();
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            process.destroyForcibly();
        }
        return new String(output, StandardCharsets.UTF_8);
    }
}
