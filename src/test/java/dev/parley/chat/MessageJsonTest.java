package dev.parley.chat;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonSerializer;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.annotation.JsonSerialize;
import dev.parley.json.Json;
import dev.parley.json.JsonText;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class MessageJsonTest {
    /** What Jackson's own serializer for the record writes: the annotation that picks MessageJson, taken away. */
    @JsonSerialize(using = JsonSerializer.None.class)
    private interface BeanWritten {
    }

    private static final ObjectMapper BEAN = Json.MAPPER.copy().addMixIn(Message.class, BeanWritten.class);

    private static final Instant AT = Instant.parse("2026-12-31T23:59:59.5Z");

    @Test
    void a_message_is_written_byte_for_byte_as_jacksons_serializer_for_the_record_writes_it() throws Exception {
        List<Message> awkward = List.of(
                new Message(Long.MAX_VALUE, 1, 1, "user", 7L, null, "hello", new JsonText("{}"), new JsonText("[]"),
                        null, AT, null, null),
                new Message(3563528180662808576L, 3563528180662808000L, Long.MAX_VALUE, "assistant", null, 42L,
                        "quotes \" and \\ backslashes, a tab\t, a newline\n, a NUL \u0000, é, 日本語, 🙂 and </script>",
                        new JsonText("{\"model\":\"m\",\"n\":1e400,\"deep\":[[[{\"x\":null}]]]}"),
                        new JsonText("[{\"url\":\"https://example.test/a?b=c&d\"}]"), 5L,
                        Instant.parse("1970-01-01T00:00:00Z"), Instant.parse("2026-03-01T00:00:00.000001Z"),
                        Instant.parse("2027-01-01T00:00:00.123456789Z")),
                new Message(9, 9, 0, "tool", null, null, null, new JsonText("null"), new JsonText("[]"), null,
                        Instant.parse("+10000-01-01T00:00:00Z"), null, AT),
                new Message(10, 10, 2, "system", 1L, 2L, "", new JsonText("{\"a\": [1, 2]}"), new JsonText("[ ]"), 9L,
                        AT, AT, null));

        assertThat(Json.MAPPER.getSerializerProviderInstance().findValueSerializer(Message.class)).isInstanceOf(MessageJson.class);
        for (Message message : awkward) {
            assertThat(Json.writeBytes(message)).as(message.toString())
                    .isEqualTo(BEAN.writeValueAsBytes(message));
        }
        Object page = Map.of("messages", awkward, "has_older", true);
        assertThat(new String(Json.writeBytes(page), StandardCharsets.UTF_8))
                .isEqualTo(new String(BEAN.writeValueAsBytes(page), StandardCharsets.UTF_8));
        assertThat(Json.write(page)).isEqualTo(BEAN.writeValueAsString(page)); // a String's generator writes 🙂 as it is
    }
}
