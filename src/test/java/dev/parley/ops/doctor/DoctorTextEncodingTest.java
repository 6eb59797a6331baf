package dev.parley.ops.doctor;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.db.Database;
import dev.parley.support.TestDatabase;
import java.sql.Connection;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

/** A database whose text search cannot fold every alphabet is a finding, since serve only warns of it at each start. */
class DoctorTextEncodingTest {
    private static final Doctor.Options OPTIONS = new Doctor.Options(SessionLimits.DEFAULTS, OptionalLong.empty(), Optional.empty());

    @Test
    void a_database_not_in_utf8_or_in_the_c_locale_is_a_warning_and_one_in_c_utf8_is_not() throws Exception {
        try (Connection admin = TestDatabase.get().connect("postgres")) {
            PlantedDatabase.run(admin, "DROP DATABASE IF EXISTS doctor_latin1 WITH (FORCE)",
                    "CREATE DATABASE doctor_latin1 ENCODING 'LATIN1' TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C'",
                    "DROP DATABASE IF EXISTS doctor_ctype_c WITH (FORCE)",
                    "CREATE DATABASE doctor_ctype_c ENCODING 'UTF8' TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C'");
        }
        TestDatabase.get().fresh("doctor_c_utf8"); // the server's own locale: C.UTF-8, as Parley's embedded one is made

        assertThat(findings("doctor_latin1")).singleElement().satisfies(found -> {
            assertThat(found.severity()).isEqualTo(Severity.WARNING);
            assertThat(found.summary()).contains("is in LATIN1").contains("refused");
            assertThat(found.fix().statements()).anyMatch(line -> line.contains("createdb -E UTF8 --locale=C.UTF-8"));
        });
        assertThat(findings("doctor_ctype_c")).singleElement()
                .satisfies(found -> assertThat(found.summary()).contains("LC_CTYPE C").contains("École"));
        assertThat(findings("doctor_c_utf8")).isEmpty();
    }

    private static List<Finding> findings(String database) {
        try (Database pool = TestDatabase.pool(TestDatabase.get().target(database), 1)) {
            return new Doctor(pool, OPTIONS).audit(List.of("config.text_encoding")).findings();
        }
    }
}
