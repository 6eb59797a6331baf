package dev.parley.cache;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.api.Test;

/** How an If-Match or If-None-Match tag is read against what Parley renders: weak or strong, the same content. */
class RenderedTest {
    @Test
    void a_weak_tag_names_the_same_content_as_its_strong_one() {
        String etag = Rendered.of(Map.of("content", "hello")).etag();

        assertThat(Rendered.strong("W/" + etag)).isEqualTo(etag);
        assertThat(Rendered.strong(etag)).isEqualTo(etag);
    }

    @Test
    void a_stored_model_matches_only_the_tag_it_renders_with() {
        String etag = Rendered.of(Map.of("content", "hello")).etag();

        assertThat(Rendered.matches(Map.of("content", "hello"), etag)).isTrue();
        assertThat(Rendered.matches(Map.of("content", "hello, edited"), etag)).isFalse();
    }
}
