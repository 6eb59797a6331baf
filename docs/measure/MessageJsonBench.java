import com.fasterxml.jackson.databind.JsonSerializer;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.annotation.JsonSerialize;
import dev.parley.chat.Message;
import dev.parley.json.Json;
import dev.parley.json.JsonText;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * CPU time to write a history page of 50 messages (41 KB of text) as JSON: with the
 * serializer Parley uses (MessageJson, written by hand) and with Jackson's own serializer for the record
 * (its annotation taken away by a mix-in, as MessageJsonTest does). One thread, five rounds of 20,000 pages.
 *
 *   java -cp target/parley.jar docs/measure/MessageJsonBench.java
 */
public class MessageJsonBench {
    @JsonSerialize(using = JsonSerializer.None.class)
    interface BeanWritten {
    }

    public static void main(String[] args) throws Exception {
        ObjectMapper bean = Json.MAPPER.copy().addMixIn(Message.class, BeanWritten.class);
        var random = new Random(1);
        List<Message> messages = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            var text = new StringBuilder();
            for (int w = 0; w < 70; w++) {
                text.append("word").append(random.nextInt(1000)).append(' ');
            }
            boolean user = i % 2 == 0;
            messages.add(new Message(3563528180662808576L + i, 3563528180662800000L, i + 1, user ? "user" : "assistant",
                    user ? 12345678L : null, user ? null : 987654321L, text.toString(), new JsonText("{}"),
                    new JsonText("[]"), null, Instant.ofEpochMilli(1_700_000_000_000L + i * 1000L), null, null));
        }
        Map<String, Object> page = Map.of("messages", messages, "has_older", true);
        int pages = 20_000;
        for (int round = 1; round <= 5; round++) {
            long bytes = 0;
            long began = System.nanoTime();
            for (int i = 0; i < pages; i++) {
                bytes += Json.MAPPER.writeValueAsBytes(page).length;
            }
            long between = System.nanoTime();
            for (int i = 0; i < pages; i++) {
                bytes += bean.writeValueAsBytes(page).length;
            }
            long ended = System.nanoTime();
            System.out.printf("round %d: MessageJson %.1f µs a page, Jackson's serializer %.1f µs (%,d bytes a page)%n",
                    round, (between - began) / 1e3 / pages, (ended - between) / 1e3 / pages, bytes / pages / 2);
        }
    }
}
