package dev.parley.memory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.parley.chat.InvalidInput;
import org.junit.jupiter.api.Test;

class EmbeddingTest {
    /** Base64 whose characters are all of its alphabet but whose end is wrong is told what is wrong with the end. */
    @Test
    void base64_with_a_wrong_end_is_told_about_its_padding_or_its_length() {
        assertThat(refusal("AACAPwAAAAAAAAAAAAAAAA=")).contains("ends in 1 '=' where 2 belong (or none: padding is optional)");
        assertThat(refusal("AAAAAA===")).contains("ends in 3 '=' where 2 belong");
        assertThat(refusal("AAAAAAAA=")).contains("ends in 1 '=' where none belongs");
        assertThat(refusal("AAAA=AAA")).contains("'=' at character 4 is padding, which comes only at the end");
        assertThat(refusal("AAAAA")).contains("5 characters before any padding leave one over");
        assertThat(Embedding.fromBase64("embedding", "AACAPw")).containsExactly(1.0f); // unpadded is fine
    }

    private static String refusal(String base64) {
        return assertThatThrownBy(() -> Embedding.fromBase64("embedding", base64)).isInstanceOf(InvalidInput.class)
                .actual().getMessage();
    }
}
