package dev.parley.config;

import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A PostgreSQL location given as {@code postgres://user:password@host:port/db?options}
 * (the form most platforms hand out) or as a {@code jdbc:postgresql://} URL.
 */
public record DatabaseUrl(String jdbcUrl, String user, String password) {

    public static DatabaseUrl parse(String raw) {
        return parse(raw, "--database-url", "DATABASE_URL");
    }

    /** As {@link #parse(String)}, for a URL another setting carries (a replica's, the direct one), naming it in any error. */
    public static DatabaseUrl parse(String raw, String flag, String envName) {
        if (raw.startsWith("jdbc:postgresql:")) {
            requirePorts(raw.substring("jdbc:postgresql:".length()), flag, envName);
            return new DatabaseUrl(raw, null, null);
        }
        if (!raw.startsWith("postgres://") && !raw.startsWith("postgresql://")) {
            throw new InvalidSetting(flag, envName,
                    "must start with postgres://, postgresql:// or jdbc:postgresql://");
        }
        try {
            URI uri = new URI(raw);
            if (uri.getHost() == null) {
                throw new InvalidSetting(flag, envName, "has no host");
            }
            String user = null;
            String password = null;
            if (uri.getRawUserInfo() != null) {
                String[] parts = uri.getRawUserInfo().split(":", 2);
                user = decode(parts[0]);
                password = parts.length > 1 ? decode(parts[1]) : null;
            }
            requirePorts(raw.substring(raw.indexOf(':') + 1), flag, envName);
            String port = uri.getPort() > 0 ? ":" + uri.getPort() : "";
            String path = uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/postgres" : uri.getRawPath();
            String query = uri.getRawQuery() == null ? "" : "?" + uri.getRawQuery();
            return new DatabaseUrl("jdbc:postgresql://" + uri.getHost() + port + path + query, user, password);
        } catch (URISyntaxException e) {
            throw new InvalidSetting(flag, envName, "is not a valid URL: " + e.getReason());
        }
    }

    /**
     * Refuses a port out of range in {@code rest} ("//host:port,host:port/db?options"), which pgjdbc would refuse as no
     * URL of its own ("Failed to get driver instance") without naming the setting.
     */
    private static void requirePorts(String rest, String flag, String envName) {
        if (!rest.startsWith("//")) {
            return;
        }
        String hosts = rest.substring(2).split("[/?]", 2)[0];
        for (String host : hosts.substring(hosts.lastIndexOf('@') + 1).split(",")) {
            int colon = host.lastIndexOf(':');
            if (colon < 0 || host.lastIndexOf(']') > colon || colon == host.length() - 1) {
                continue; // no port: PostgreSQL's 5432
            }
            String port = host.substring(colon + 1);
            if (!port.chars().allMatch(Character::isDigit) || port.length() > 5 || Integer.parseInt(port) < 1
                    || Integer.parseInt(port) > 65535) {
                throw new InvalidSetting(flag, envName, "has port " + port + " for " + host.substring(0, colon)
                        + ": a port is 1 to 65535");
            }
        }
    }

    private static String decode(String s) {
        return URLDecoder.decode(s, StandardCharsets.UTF_8);
    }

    /**
     * Which database of which server the URL names: "host:port/database", hosts in lower case, each with its port
     * (5432 when left out), without user or options; a database left out is the empty name.
     */
    public String place() {
        String rest = jdbcUrl.substring("jdbc:postgresql:".length()).split("\\?", 2)[0];
        if (!rest.startsWith("//")) {
            return "localhost:5432/" + rest;
        }
        String[] hostsAndDatabase = rest.substring(2).split("/", 2);
        List<String> hosts = new ArrayList<>();
        for (String host : hostsAndDatabase[0].toLowerCase(Locale.ROOT).split(",")) {
            boolean ported = host.lastIndexOf(':') > host.lastIndexOf(']') && !host.endsWith(":");
            hosts.add(ported ? host : host.replaceFirst(":$", "") + ":5432");
        }
        return String.join(",", hosts) + "/" + (hostsAndDatabase.length > 1 ? hostsAndDatabase[1] : "");
    }

    /** The URL with any password replaced, for logs and banners. */
    public String masked() {
        String shown = Passwords.hiddenIn(jdbcUrl);
        return user == null ? shown : shown + " (user " + user + (password == null ? "" : ", password ***") + ")";
    }

    @Override
    public String toString() {
        return masked();
    }
}
