package dev.parley.db;

import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Properties;

/**
 * One connection attempt before an operator command builds its pool, so a mistake in DATABASE_URL is
 * told in its own words (refused, no answer, unknown host, wrong password, no such database) within
 * seconds, rather than as the pool's timeout ten seconds later.
 */
public final class ConnectionCheck {
    /** How long an address that does not answer is waited for. */
    static final int CONNECT_TIMEOUT_SECONDS = 5;

    private ConnectionCheck() {
    }

    /** Returns when {@code target} accepts a connection; throws {@link DatabaseUnavailable} saying why it did not. */
    public static void require(ConnectionTarget target) {
        var properties = new Properties();
        if (target.user() != null) {
            properties.setProperty("user", target.user());
        }
        if (target.password() != null) {
            properties.setProperty("password", target.password());
        }
        properties.setProperty("connectTimeout", String.valueOf(CONNECT_TIMEOUT_SECONDS));
        properties.setProperty("loginTimeout", String.valueOf(CONNECT_TIMEOUT_SECONDS * 2));
        try (Connection ignored = DriverManager.getConnection(target.jdbcUrl(), properties)) {
            return;
        } catch (SQLException e) {
            throw new DatabaseUnavailable(explain(e, target.where(), target.user()), e);
        }
    }

    static String explain(SQLException e, String where, String user) {
        String state = e.getSQLState() == null ? "" : e.getSQLState();
        Throwable cause = rootCause(e);
        return switch (state) {
            case "28P01" -> "PostgreSQL at " + where + " refused the password of user '" + user + "' (28P01): check DATABASE_URL";
            case "28000" -> "PostgreSQL at " + where + " does not let user '" + user + "' in (28000: pg_hba.conf or the role): "
                    + e.getMessage();
            case "3D000" -> "PostgreSQL at " + where + " has no such database (3D000): create it (createdb) or fix DATABASE_URL";
            default -> switch (cause) {
                case ConnectException c -> "nothing accepts connections at " + where + " (connection refused): is PostgreSQL "
                        + "running there and listening on TCP?";
                case SocketTimeoutException t -> "no answer from " + where + " within " + CONNECT_TIMEOUT_SECONDS
                        + " s: a firewall, or the wrong host";
                case NoRouteToHostException n -> "no route to " + where + ": the wrong host, or the network is down";
                case UnknownHostException u -> "the host of " + where + " is unknown: check DATABASE_URL";
                default -> "could not connect to PostgreSQL at " + where + ": " + e.getMessage();
            };
        };
    }

    private static Throwable rootCause(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return root;
    }

}
