package dev.parley.ops.doctor;

import dev.parley.db.Query;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/**
 * config.text_encoding: a database whose encoding is not UTF8 (text outside its alphabet is refused, or, in
 * SQL_ASCII, stored unchecked and searched wrongly), or whose character classes are C or POSIX, where PostgreSQL folds
 * no letter outside ASCII: full-text search and lower() miss "École" for "école". Neither changes in place: the cure is
 * a new database, and the data moved into it.
 */
final class TextEncoding implements Check {
    private static final Query DATABASE = new Query("doctor.text_encoding", """
            SELECT current_database(), pg_encoding_to_char(encoding), datctype FROM pg_database
             WHERE datname = current_database()""");

    @Override
    public String id() {
        return "config.text_encoding";
    }

    @Override
    public List<Finding> run(Inspection inspection) throws SQLException {
        return inspection.one(DATABASE, row -> {
            String database = row.getString(1);
            String encoding = row.getString(2);
            String ctype = row.getString(3);
            List<Finding> found = new ArrayList<>();
            var evidence = new Evidence().with("database", database).with("encoding", encoding).with("lc_ctype", ctype);
            var fix = Fix.manual("-- a database's encoding and character classes are set when it is made: make another and move the data",
                    "-- createdb -E UTF8 --locale=C.UTF-8 -T template0 " + database + "_utf8",
                    "-- pg_dump -Fc " + database + " | pg_restore -d " + database + "_utf8");
            if (!encoding.equals("UTF8")) {
                found.add(new Finding(id(), Severity.WARNING, database, "database " + database + " is in " + encoding
                        + ": text outside its alphabet is " + (encoding.equals("SQL_ASCII") ? "stored unchecked and searched wrongly"
                        : "refused"), evidence, fix));
            } else if (ctype.equals("C") || ctype.equals("POSIX")) {
                found.add(new Finding(id(), Severity.WARNING, database, "database " + database + " has LC_CTYPE " + ctype
                        + ": PostgreSQL folds no letter outside ASCII, so full-text search and lower() miss 'École' for 'école'",
                        evidence, fix));
            }
            return found;
        });
    }
}
