package io.avance.xen;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class JsonTest {

    @Test
    void writesAndParsesBack() {
        Map<String, Object> inner = new LinkedHashMap<>();
        inner.put("s", "quote \" backslash \\ newline \n tab \t bell \u0007");
        inner.put("n", -42L);
        inner.put("t", true);
        inner.put("z", null);
        Map<String, Object> value = new LinkedHashMap<>();
        value.put("inner", inner);
        value.put("list", Arrays.asList(1L, "two", List.of(), Map.of()));
        String text = Json.write(value);
        assertEquals(value, Json.parse(text));
        assertEquals("{\"a\":[1,2]}", Json.write(Map.of("a", List.of(1L, 2L))));
    }

    @Test
    void parsesWhatLibxlWrites() {
        Object parsed = Json.parse("{\n    \"c_info\": {\n        \"name\": \"vm\", \"ssidref\": 0\n    },\n"
                + "    \"b_info\": { \"max_memkb\": 131072, \"avail_vcpus\": [ 0 ] }\n}\n");
        assertEquals(Map.of("c_info", Map.of("name", "vm", "ssidref", 0L),
                "b_info", Map.of("max_memkb", 131072L, "avail_vcpus", List.of(0L))), parsed);
        assertEquals("é", Json.parse("\"\\u00e9\""));
    }

    @Test
    void rejectsWhatIsNotOneValue() {
        for (String bad : List.of("", "{", "{\"a\":1,}", "[1 2]", "{\"a\" 1}", "1.5", "tru", "\"\\x\"", "{} {}",
                "{\"a\":1,\"a\":2}", "\"unterminated", "[\"\u0001\"]")) {
            assertThrows(IllegalArgumentException.class, () -> Json.parse(bad), bad);
        }
        String deep = "[".repeat(100) + "]".repeat(100);
        assertThrows(IllegalArgumentException.class, () -> Json.parse(deep));
        assertThrows(IllegalArgumentException.class, () -> Json.write(new Object()));
    }
}
