package dev.parley.db;

import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;

/**
 * One connection attempt before an operator command builds its pool, so a mistake in DATABASE_URL (or a replica's URL) is
 * told in its own words (refused, no answer, unknown host, wrong password, no such database) within
 * seconds, rather than as the pool's timeout ten seconds later.
 */
public final class ConnectionCheck {
    /** A server that answered and refused the URL's password (28P01), role (28000) or database (3D000). */
    private static final Set<String> REFUSALS = Set.of("28P01", "28000", "3D000");
    /** How long an address that does not answer is waited for. */
    static final int CONNECT_TIMEOUT_SECONDS = 5;

    private ConnectionCheck() {
    }

    /** Returns when {@code target} accepts a connection; throws {@link DatabaseUnavailable} saying why it did not. */
    public static void require(ConnectionTarget target) {
        try (Connection ignored = connect(target)) {
            return;
        } catch (SQLException e) {
            throw new DatabaseUnavailable(explain(e, target.where(), target.user(), "DATABASE_URL"), e);
        }
    }

    /**
     * Why the server at {@code target}, which {@code setting} names, answered and refused what its URL gives (the
     * password, the role, the database): a setting to mend. Empty when it connects, or does not answer, which is an
     * outage to wait out.
     */
    public static Optional<String> refusal(ConnectionTarget target, String setting) {
        try (Connection ignored = connect(target)) {
            return Optional.empty();
        } catch (SQLException e) {
            return REFUSALS.contains(e.getSQLState()) ? Optional.of(explain(e, target.where(), target.user(), setting))
                    : Optional.empty();
        }
    }

    private static Connection connect(ConnectionTarget target) throws SQLException {
        var properties = new Properties();
        if (target.user() != null) {
            properties.setProperty("user", target.user());
        }
        if (target.password() != null) {
            properties.setProperty("password", target.password());
        }
        properties.setProperty("connectTimeout", String.valueOf(CONNECT_TIMEOUT_SECONDS));
        properties.setProperty("loginTimeout", String.valueOf(CONNECT_TIMEOUT_SECONDS * 2));
        return DriverManager.getConnection(target.jdbcUrl(), properties);
    }

    /** Why a connection failed, in its own words; {@code setting} is what gave the URL. */
    static String explain(SQLException e, String where, String user, String setting) {
        String state = e.getSQLState() == null ? "" : e.getSQLState();
        Throwable cause = rootCause(e);
        return switch (state) {
            case "28P01" -> "PostgreSQL at " + where + " refused the password of user '" + user + "' (28P01): check " + setting;
            case "28000" -> "PostgreSQL at " + where + " does not let user '" + user + "' in (28000: pg_hba.conf or the role): "
                    + e.getMessage() + "; check " + setting;
            case "3D000" -> "PostgreSQL at " + where + " has no such database (3D000): create it (createdb) or fix " + setting;
            default -> switch (cause) {
                case ConnectException c -> "nothing accepts connections at " + where + " (connection refused): is PostgreSQL "
                        + "running there and listening on TCP?";
                case SocketTimeoutException t -> "no answer from " + where + " within " + CONNECT_TIMEOUT_SECONDS
                        + " s: a firewall, or the wrong host";
                case NoRouteToHostException n -> "no route to " + where + ": the wrong host, or the network is down";
                case UnknownHostException u -> "the host of " + where + " is unknown: check " + setting;
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
