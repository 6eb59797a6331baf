package dev.parley.bench;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import org.postgresql.PGConnection;
import org.postgresql.copy.PGCopyOutputStream;

/** Rows streamed into {@code COPY table (columns) FROM STDIN} in PostgreSQL's text format. */
final class CopyRows implements AutoCloseable {
    private final OutputStream out;
    private boolean firstField = true;
    private long rows;

    CopyRows(Connection connection, String tableAndColumns) throws SQLException {
        PGConnection pg = connection.unwrap(PGConnection.class);
        this.out = new PGCopyOutputStream(pg, "COPY " + tableAndColumns + " FROM STDIN", 1 << 16);
    }

    CopyRows add(long value) {
        return raw(Long.toString(value));
    }

    CopyRows add(boolean value) {
        return raw(value ? "t" : "f");
    }

    /** Text, escaped for the text format; null writes SQL NULL. */
    CopyRows add(String value) {
        if (value == null) {
            return raw("\\N");
        }
        StringBuilder escaped = null;
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            String replacement = switch (c) {
                case '\\' -> "\\\\";
                case '\t' -> "\\t";
                case '\n' -> "\\n";
                case '\r' -> "\\r";
                default -> null;
            };
            if (replacement != null && escaped == null) {
                escaped = new StringBuilder(value.length() + 8).append(value, 0, i);
            }
            if (escaped != null) {
                if (replacement != null) {
                    escaped.append(replacement);
                } else {
                    escaped.append(c);
                }
            }
        }
        return raw(escaped == null ? value : escaped.toString());
    }

    /** A bytea value, in its hex form ({@code \\x...} once escaped for the text format). */
    CopyRows add(byte[] value) {
        StringBuilder hex = new StringBuilder(3 + value.length * 2).append("\\\\x");
        for (byte b : value) {
            hex.append(Character.forDigit((b >> 4) & 0xF, 16)).append(Character.forDigit(b & 0xF, 16));
        }
        return raw(hex.toString());
    }

    CopyRows addNull() {
        return raw("\\N");
    }

    void endRow() {
        write("\n");
        firstField = true;
        rows++;
    }

    long rows() {
        return rows;
    }

    private CopyRows raw(String text) {
        if (!firstField) {
            write("\t");
        }
        firstField = false;
        write(text);
        return this;
    }

    private void write(String text) {
        try {
            out.write(text.getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException("COPY failed", e);
        }
    }

    @Override
    public void close() {
        try {
            out.close();
        } catch (IOException e) {
            throw new UncheckedIOException("COPY failed to finish", e);
        }
    }
}
