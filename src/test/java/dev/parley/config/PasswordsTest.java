package dev.parley.config;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** What Parley prints of a URL never holds its password, in any of the forms PostgreSQL and Redis URLs carry one. */
class PasswordsTest {
    @Test
    void a_password_in_a_url_is_hidden_and_the_user_kept() {
        assertThat(Passwords.hiddenIn("postgres://parley:s3cret@db:5432/parley")).isEqualTo("postgres://parley:***@db:5432/parley");
        assertThat(Passwords.hiddenIn("redis://:s3cret@cache:6380/2")).isEqualTo("redis://:***@cache:6380/2");
        assertThat(Passwords.hiddenIn("postgres://parley@db/parley")).as("a user is no secret").isEqualTo("postgres://parley@db/parley");
    }

    @Test
    void a_lone_user_info_in_a_redis_url_is_hidden_as_lettuce_reads_it_as_the_password() {
        assertThat(Passwords.hiddenIn("redis://s3cret@cache")).isEqualTo("redis://***@cache");
        assertThat(Passwords.hiddenIn("rediss://s3cret@cache:6380")).isEqualTo("rediss://***@cache:6380");
    }

    @Test
    void a_password_parameter_and_every_url_of_a_message_are_hidden() {
        assertThat(Passwords.hiddenIn("jdbc:postgresql://db/parley?user=parley&password=s3cret&ssl=true"))
                .isEqualTo("jdbc:postgresql://db/parley?user=parley&password=***&ssl=true");
        assertThat(Passwords.hiddenIn("neither postgres://a:s3cret@one/db nor redis://s3cret@two answered"))
                .isEqualTo("neither postgres://a:***@one/db nor redis://***@two answered");
    }
}
