package dev.parley.logging;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.util.LogbackMDCAdapter;
import dev.parley.support.Wait;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** Lines go to standard error in blocks: info lines within a tenth of a second, a warning at once with those before it. */
class BufferedConsoleTest {
    /** Standard error as the appender sees it: the bytes, and how many writes brought them. */
    private static final class Sink extends OutputStream {
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        final AtomicInteger writes = new AtomicInteger();

        @Override
        public synchronized void write(int b) {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public synchronized void write(byte[] b, int offset, int length) {
            writes.incrementAndGet();
            bytes.write(b, offset, length);
        }

        synchronized List<String> lines() {
            return bytes.toString(StandardCharsets.UTF_8).lines().toList();
        }
    }

    private final Sink sink = new Sink();
    private final Logger log = logger(sink);

    @Test
    void info_lines_go_out_together_within_a_tenth_of_a_second() {
        for (int i = 0; i < 50; i++) {
            log.info("request {}", i);
        }

        Wait.until("the fifty lines written", Duration.ofSeconds(5), () -> sink.lines().size() == 50);
        assertThat(sink.lines().getFirst()).contains("request 0");
        assertThat(sink.writes).as("fifty lines, one write").hasValue(1);
    }

    @Test
    void a_warning_goes_out_at_once_with_the_lines_before_it() {
        log.info("first");
        log.info("second");
        log.warn("something is wrong");

        assertThat(sink.lines()).as("written before warn() returned").hasSize(3).last().asString().contains("something is wrong");
        assertThat(sink.writes).hasValue(1);
    }

    @Test
    void lines_that_would_overflow_the_block_send_it_first_and_a_stopped_appender_leaves_nothing_behind() {
        String tenThousand = "x".repeat(10_000);
        for (int i = 0; i < 10; i++) {
            log.info(tenThousand);
        }
        log.getLoggerContext().stop();

        assertThat(sink.lines()).hasSize(10).allSatisfy(written -> assertThat(written).contains(tenThousand));
        assertThat(sink.writes.get()).as("64 KB blocks: six lines, then four").isEqualTo(2);
    }

    @Test
    void once_shutdown_begins_every_line_goes_out_as_it_comes() {
        log.info("waiting");
        var console = (BufferedConsole) log.getLoggerContext().getLogger(Logger.ROOT_LOGGER_NAME).getAppender("console");
        ((BufferedConsole.Gathered) console.getOutputStream()).goDirect();
        assertThat(sink.lines()).as("what waited went out first").singleElement().asString().contains("waiting");

        log.info("while stopping");

        assertThat(sink.lines()).as("written before info() returned").hasSize(2).last().asString().contains("while stopping");
    }

    private static Logger logger(OutputStream out) {
        var context = new LoggerContext();
        context.setMDCAdapter(new LogbackMDCAdapter());
        var lines = new TextLogLines();
        lines.setContext(context);
        lines.start();
        var console = new BufferedConsole(out);
        console.setName("console");
        console.setContext(context);
        console.setEncoder(lines);
        console.start();
        Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
        root.setLevel(Level.INFO);
        root.addAppender(console);
        return context.getLogger("test");
    }
}
