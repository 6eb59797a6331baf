package dev.parley.config;

/** Passwords in URLs, hidden before a URL, or a message that may quote one, is printed or logged. */
public final class Passwords {
    private Passwords() {
    }

    /**
     * {@code text} with the password of every URL in it shown as ***: postgres://user:***@host keeps the user, a lone
     * user-info is hidden in Redis URLs (redis://***@host), which Lettuce reads as the password, and a JDBC URL's
     * {@code password=} parameter is hidden too.
     */
    public static String hiddenIn(String text) {
        return text.replaceAll("(\\w+://[^\\s/:@]*:)[^\\s/@]+@", "$1***@")
                .replaceAll("(rediss?://)[^\\s/:@]+@", "$1***@")
                .replaceAll("(?i)(password=)[^&\\s]*", "$1***");
    }
}
