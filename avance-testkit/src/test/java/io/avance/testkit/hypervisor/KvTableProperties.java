package io.avance.testkit.hypervisor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * The kv table in guest memory behaves as a map: checked against a {@link HashMap} under random
 * PUT sequences that overwrite keys, collide in the hash and fill the table to its limit; and the
 * table survives a page-by-page copy of the memory, as a migration makes.
 */
class KvTableProperties {

    /** 1 MiB of memory: 1024 slots, 768 keys, so that generated runs reach "full". */
    private static final long MEMORY = 1L << 20;

    record Put(String key, String value) {
    }

    @Provide
    Arbitrary<List<Put>> puts() {
        // A small key alphabet makes overwrites common; lengths span 1 to the maximum.
        Arbitrary<String> keys = Arbitraries.oneOf(
                Arbitraries.strings().withChars("abc").ofMinLength(1).ofMaxLength(7),
                Arbitraries.strings().withCharRange('!', '~').ofMinLength(1).ofMaxLength(KvTable.MAX_KEY));
        Arbitrary<String> values = Arbitraries.strings().withCharRange('!', '~').ofMinLength(1)
                .ofMaxLength(KvTable.MAX_VALUE);
        return Combinators.combine(keys, values).as(Put::new).list().ofMaxSize(1200);
    }

    private static byte[] ascii(String text) {
        return text.getBytes(StandardCharsets.US_ASCII);
    }

    @Property(tries = 200)
    void theTableAgreesWithAMap(@ForAll("puts") List<Put> puts) {
        GuestLayout layout = GuestLayout.of(GuestOptions.Program.KV, MEMORY);
        KvTable table = KvTable.format(new GuestRam("prop", MEMORY), layout);
        Map<String, String> model = new HashMap<>();
        for (Put put : puts) {
            boolean fits = model.containsKey(put.key()) || model.size() < table.maxKeys();
            assertEquals(fits, table.fits(ascii(put.key())), "fits " + put.key());
            if (fits) {
                assertEquals(!model.containsKey(put.key()), table.put(ascii(put.key()), ascii(put.value())));
                model.put(put.key(), put.value());
            } else {
                assertThrows(IllegalStateException.class, () -> table.put(ascii(put.key()), ascii(put.value())));
            }
            assertEquals(model.size(), table.size());
        }
        for (Map.Entry<String, String> entry : model.entrySet()) {
            assertEquals(Optional.of(entry.getValue()), table.get(entry.getKey()), entry.getKey());
        }
        assertEquals(Optional.empty(), table.get("~~not-a-key-the-generator-makes~~".repeat(1)));
    }

    @Property(tries = 50)
    void theTableMovesWithItsPages(@ForAll("puts") List<Put> puts) {
        GuestLayout layout = GuestLayout.of(GuestOptions.Program.KV, MEMORY);
        GuestRam source = new GuestRam("source", MEMORY);
        KvTable table = KvTable.format(source, layout);
        Map<String, String> model = new HashMap<>();
        for (Put put : puts) {
            if (table.fits(ascii(put.key()))) {
                table.put(ascii(put.key()), ascii(put.value()));
                model.put(put.key(), put.value());
            }
        }
        GuestRam target = new GuestRam("target", MEMORY);
        source.startDirtyLogging();
        long[] bitmap = new long[(int) (source.pageCount() / 64)];
        source.fetchAndClearDirtyPages(bitmap);
        HypervisorContractSupport.copyPages(source, target, bitmap);
        KvTable moved = KvTable.attach(target, layout);
        assertEquals(model.size(), moved.size());
        for (Map.Entry<String, String> entry : model.entrySet()) {
            assertEquals(Optional.of(entry.getValue()), moved.get(entry.getKey()), entry.getKey());
        }
    }
}
