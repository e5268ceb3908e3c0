package io.avance.core.json;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Map;
import org.junit.jupiter.api.Test;

/** The writer's output reads back through the flat reader, escapes included. */
class JsonTest {

    @Test
    void writtenObjectsReadBack() {
        String json = new JsonWriter().beginObject().name("text").value("a \"quoted\" <b>\n\\ line")
                .name("n").value(42).name("ok").value(true).name("none").nullValue().endObject().toString();
        assertEquals("{\"text\":\"a \\\"quoted\\\" \\u003cb>\\n\\\\ line\",\"n\":42,\"ok\":true,\"none\":null}", json);
        Map<String, String> read = FlatJson.parse(json);
        assertEquals("a \"quoted\" <b>\n\\ line", read.get("text"));
        assertEquals("42", read.get("n"));
        assertEquals(null, read.get("none"));
        assertEquals("[1,[],{\"a\":[2]}]", new JsonWriter().beginArray().value(1).beginArray().endArray().beginObject()
                .name("a").beginArray().value(2).endArray().endObject().endArray().toString());
        assertThrows(IllegalArgumentException.class, () -> FlatJson.parse("{\"a\":{\"b\":1}}"));
        assertThrows(IllegalStateException.class, () -> new JsonWriter().beginObject().toString());
    }
}
