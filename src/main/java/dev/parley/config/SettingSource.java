package dev.parley.config;

import io.lettuce.core.RedisURI;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/** Reads one setting from its flag or environment variable and parses it, naming both in any error. */
final class SettingSource {
    private static final Pattern SIZE = Pattern.compile("(\\d+)\\s*(b|kib|kb|k|mib|mb|m|gib|gb|g|tib|tb|t)?");

    private final Map<String, String> env;

    SettingSource(Map<String, String> env) {
        this.env = env;
    }

    /**
     * An address of this machine to listen on, as given ({@code byDefault} when absent): a name must resolve, and the
     * address be one of this machine's or the wildcard, so that a mistyped host stops the program naming it instead
     * of failing the bind later with a message about the port.
     */
    String listenAddress(String flagValue, String flag, String envName, String byDefault) {
        String host = text(flagValue, flag, envName).orElse(byDefault);
        InetAddress address;
        try {
            address = InetAddress.getByName(host);
        } catch (UnknownHostException e) {
            throw new InvalidSetting(flag, envName, "is '" + host + "', which does not resolve to an address");
        }
        try {
            if (address.isAnyLocalAddress() || address.isLoopbackAddress() || NetworkInterface.getByInetAddress(address) != null) {
                return host;
            }
        } catch (SocketException e) {
            throw new InvalidSetting(flag, envName, "is '" + host + "', and this machine's addresses could not be read: " + e.getMessage());
        }
        throw new InvalidSetting(flag, envName, "is '" + host + "' (" + address.getHostAddress() + "), not an address of this "
                + "machine: give one of its own, 127.0.0.1 for this machine alone, or 0.0.0.0 for all of them");
    }

    Optional<String> text(String flagValue, String flag, String envName) {
        String raw = flagValue != null ? flagValue : env.get(envName);
        if (raw == null) {
            return Optional.empty();
        }
        if (raw.isBlank()) {
            throw new InvalidSetting(flag, envName, "must not be empty");
        }
        return Optional.of(raw.strip());
    }

    int integer(String flagValue, String flag, String envName, int fallback, int min, int max) {
        return text(flagValue, flag, envName).map(raw -> {
            try {
                return checkRange(Integer.parseInt(raw), flag, envName, min, max);
            } catch (NumberFormatException e) {
                throw new InvalidSetting(flag, envName, "must be a whole number, got '" + raw + "'");
            }
        }).orElse(fallback);
    }

    /** Sizes accept a plain byte count or a unit: 32KiB, 8MiB, 1GiB, 1TiB (k/m/g/t and KB/MB/GB/TB are binary units). */
    long bytes(String flagValue, String flag, String envName, long fallback, long min, long max) {
        return text(flagValue, flag, envName).map(raw -> {
            var m = SIZE.matcher(raw.toLowerCase(Locale.ROOT));
            if (!m.matches()) {
                throw new InvalidSetting(flag, envName, "must be a size such as 32768, 32KiB or 8MiB, got '" + raw + "'");
            }
            long unit = switch (m.group(2) == null ? "b" : m.group(2)) {
                case "kib", "kb", "k" -> 1L << 10;
                case "mib", "mb", "m" -> 1L << 20;
                case "gib", "gb", "g" -> 1L << 30;
                case "tib", "tb", "t" -> 1L << 40;
                default -> 1L;
            };
            long value;
            try {
                value = Math.multiplyExact(Long.parseLong(m.group(1)), unit);
            } catch (ArithmeticException | NumberFormatException e) {
                throw new InvalidSetting(flag, envName, "is too large: '" + raw + "'");
            }
            return checkRange(value, flag, envName, min, max);
        }).orElse(fallback);
    }

    /** An age from the environment only ({@link Ages}: 30d, 6mo, 1y), or none when unset or "off". */
    Optional<java.time.Period> age(String envName) {
        return text(null, null, envName).filter(raw -> !raw.equals("off")).map(raw -> {
            try {
                return Ages.parse(raw);
            } catch (IllegalArgumentException e) {
                throw new InvalidSetting(null, envName, e.getMessage());
            }
        });
    }

    /** Durations accept milliseconds or a unit: 250ms, 2s, 5m, 1h. */
    Duration duration(String flagValue, String flag, String envName, Duration fallback, Duration min, Duration max) {
        return text(flagValue, flag, envName).map(raw -> {
            Duration value;
            try {
                value = Durations.parse(raw);
            } catch (IllegalArgumentException e) {
                throw new InvalidSetting(flag, envName, "must be a duration such as 250ms, 2s or 5m, got '" + raw + "'");
            }
            if (value.compareTo(min) < 0 || value.compareTo(max) > 0) {
                throw new InvalidSetting(flag, envName, "must be between " + min.toMillis() + "ms and "
                        + max.toMillis() + "ms, got '" + raw + "'");
            }
            return value;
        }).orElse(fallback);
    }

    CacheTtls cacheTtls(String flagValue, String flag, String envName) {
        return text(flagValue, flag, envName).map(raw -> {
            try {
                return CacheTtls.parse(raw);
            } catch (IllegalArgumentException e) {
                throw new InvalidSetting(flag, envName, e.getMessage());
            }
        }).orElse(CacheTtls.DEFAULTS);
    }

    /** A Redis URL as Lettuce reads it: redis://[:password@]host[:port][/database], or rediss:// for TLS. */
    Optional<String> redisUrl(String flagValue, String flag, String envName) {
        return text(flagValue, flag, envName).map(raw -> {
            if (!raw.startsWith("redis://") && !raw.startsWith("rediss://")) {
                throw new InvalidSetting(flag, envName, "must be a URL such as redis://127.0.0.1:6379 (rediss:// for TLS), got '"
                        + Passwords.hiddenIn(raw) + "'");
            }
            // Lettuce reads more than a URL: "host:port" with a word for the port, or a password with a raw @ in it, became
            // a host that never answers, an outage forever rather than a setting to mend. Neither message quotes the URL:
            // a password with a space in it would be shown.
            // The template is written so that no masking of passwords takes it for a URL with one.
            String expected = "; expected redis://host[:port][/database], a password before the host as :PASSWORD@ with "
                    + "every character but letters, digits and -._~ percent-encoded";
            try {
                java.net.URI uri = new java.net.URI(raw);
                if (uri.getHost() == null) {
                    throw new InvalidSetting(flag, envName, "is not a Redis URL Parley can read (no host and port it can tell "
                            + "apart: a port that is not a number, a host name with _ in it, or a character of the password "
                            + "not percent-encoded)" + expected);
                }
                RedisURI.create(raw);
            } catch (java.net.URISyntaxException e) {
                throw new InvalidSetting(flag, envName, "is not a Redis URL Parley can read (" + e.getReason() + " at index "
                        + e.getIndex() + ")" + expected);
            } catch (IllegalArgumentException e) {
                throw new InvalidSetting(flag, envName, "is not a Redis URL Parley can read ("
                        + String.valueOf(e.getMessage()).replace(raw, "the URL") + ")" + expected);
            }
            return raw;
        });
    }

    boolean bool(String envName) {
        String raw = env.get(envName);
        if (raw == null) {
            return false;
        }
        return switch (raw.strip().toLowerCase(Locale.ROOT)) {
            case "1", "true", "yes", "on" -> true;
            case "0", "false", "no", "off", "" -> false;
            default -> throw new InvalidSetting(null, envName, "must be true or false, got '" + raw + "'");
        };
    }

    private static <N extends Number & Comparable<N>> N checkRange(N value, String flag, String envName, long min, long max) {
        if (value.longValue() < min || value.longValue() > max) {
            throw new InvalidSetting(flag, envName, "must be between " + min + " and " + max + ", got " + value);
        }
        return value;
    }
}
