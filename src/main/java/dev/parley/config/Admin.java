package dev.parley.config;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.Optional;

/**
 * Where the admin port listens (/metrics, /admin, /dashboard) and what guards it: bound to loopback
 * by default; any other address needs an admin key, so the numbers are never open to the network.
 */
public record Admin(String host, int port, Optional<String> key, Duration sampleEvery) {
    public static final int DEFAULT_PORT = 8081;
    private static final Duration DEFAULT_SAMPLE_EVERY = Duration.ofSeconds(5);
    /** As long as an API key's secret part: shorter keys can be guessed. */
    static final int MIN_KEY_LENGTH = 24;

    static Admin resolve(SettingSource source, String hostFlag, String portFlag) {
        String host = source.listenAddress(hostFlag, "--admin-host", "PARLEY_ADMIN_HOST", "127.0.0.1");
        int port = source.integer(portFlag, "--admin-port", "PARLEY_ADMIN_PORT", DEFAULT_PORT, 0, 65535);
        Optional<String> key = source.text(null, null, "PARLEY_ADMIN_KEY");
        if (key.isPresent() && key.get().length() < MIN_KEY_LENGTH) {
            throw new InvalidSetting(null, "PARLEY_ADMIN_KEY", "must be at least " + MIN_KEY_LENGTH
                    + " characters (for example: openssl rand -hex 16)");
        }
        if (key.isEmpty() && !loopback(host)) {
            throw new InvalidSetting("--admin-host", "PARLEY_ADMIN_HOST", "is '" + host + "', not a loopback address: set "
                    + "PARLEY_ADMIN_KEY too, or metrics and the dashboard would be open to anyone who reaches it");
        }
        Duration sampleEvery = source.duration(null, null, "PARLEY_ADMIN_SAMPLE", DEFAULT_SAMPLE_EVERY,
                Duration.ofMillis(100), Duration.ofMinutes(5));
        return new Admin(host, port, key, sampleEvery);
    }

    private static boolean loopback(String host) {
        try {
            return InetAddress.getByName(host).isLoopbackAddress();
        } catch (UnknownHostException e) {
            return false;
        }
    }

    @Override
    public String toString() {
        return host + ":" + port + (key.isPresent() ? " (admin key set)" : " (no admin key)") + ", sampled every "
                + Durations.format(sampleEvery);
    }
}
