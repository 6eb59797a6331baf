package dev.parley.db;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class NamedQueryTest {
    private static final NamedQuery SPAN = NamedQuery.of("test.span", """
            SELECT websearch_to_tsquery(:language::regconfig, :text)::text, set_config('a:b', ':not_a_name', true)
              FROM conversations WHERE app_id = :app_id AND (user_id = :user_id OR member_id = :user_id)""");

    @Test
    void each_name_becomes_a_placeholder_and_casts_and_quoted_text_stay_as_written() {
        assertThat(SPAN.query().sql()).isEqualTo("/* test.span */ " + """
                SELECT websearch_to_tsquery(?::regconfig, ?)::text, set_config('a:b', ':not_a_name', true)
                  FROM conversations WHERE app_id = ? AND (user_id = ? OR member_id = ?)""");
        assertThat(SPAN.names()).containsExactly("language", "text", "app_id", "user_id");
    }

    @Test
    void a_value_bound_once_is_given_at_each_of_its_uses_in_order() {
        Object[] arguments = SPAN.bind("user_id", 7L).bind("text", "dog").bind("language", null).bind("app_id", 1L).arguments();

        assertThat(arguments).containsExactly(null, "dog", 1L, 7L, 7L);
    }

    @Test
    void a_name_the_statement_does_not_take_a_name_bound_twice_and_one_left_out_are_refused() {
        assertThatThrownBy(() -> SPAN.bind("userid", 7L)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("test.span takes no :userid");
        assertThatThrownBy(() -> SPAN.bind("user_id", 7L).bind("user_id", 8L)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("test.span's :user_id is bound twice");
        assertThatThrownBy(() -> SPAN.bind("user_id", 7L).bind("text", "dog").bind("app_id", 1L).arguments())
                .isInstanceOf(IllegalStateException.class).hasMessage("test.span's :language is not bound");
    }
}
