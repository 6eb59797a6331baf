package dev.parley.http;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.Test;

class GzipTest {
    private final Gzip gzip = new Gzip();

    @Test
    void what_it_compresses_any_gzip_reader_restores_with_reused_deflaters() throws Exception {
        var random = new SplittableRandom(5);
        byte[] text = "{\"content\":\"the stars tonight, and the moon\"},".repeat(2_000).getBytes(StandardCharsets.UTF_8);
        byte[] noise = new byte[300_000]; // incompressible: the output outgrows its first buffer
        random.nextBytes(noise);

        for (int round = 0; round < 3; round++) {
            assertThat(gunzip(gzip.compress(text))).isEqualTo(text);
            assertThat(gunzip(gzip.compress(noise))).isEqualTo(noise);
            assertThat(gunzip(gzip.compress(new byte[0]))).isEmpty();
        }
        assertThat(gzip.compress(text).length).isLessThan(text.length / 10);
    }

    @Test
    void many_requests_at_once_each_get_their_own_deflater() throws Exception {
        List<Future<Boolean>> done = new ArrayList<>();
        try (var threads = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < 200; i++) {
                byte[] body = ("{\"n\":" + i + ",\"text\":\"" + "abc".repeat(i * 50) + "\"}").getBytes(StandardCharsets.UTF_8);
                done.add(threads.submit(() -> java.util.Arrays.equals(gunzip(gzip.compress(body)), body)));
            }
            for (Future<Boolean> each : done) {
                assertThat(each.get()).isTrue();
            }
        }
    }

    private static byte[] gunzip(byte[] gzipped) throws IOException {
        try (var in = new GZIPInputStream(new ByteArrayInputStream(gzipped))) {
            return in.readAllBytes();
        }
    }
}
