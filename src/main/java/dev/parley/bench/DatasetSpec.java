package dev.parley.bench;

import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.Locale;

/**
 * The shape of a generated dataset. Anything not given is derived from the message count the way
 * AI-companion apps look: about 40 messages per conversation, 5 conversations per user, a character
 * for every 100 users, a memory for every 50 messages with a 768-dimension embedding. {@code now} is
 * the day the history ends, so a seed always gives the same data.
 */
public record DatasetSpec(long messages, int conversations, int users, int characters, long memories, int dims,
                          int months, long seed, Instant now) {
    /** The first instant a message can have: Parley's ids begin there (and the API refuses an earlier created_at). */
    private static final Instant EARLIEST = Instant.ofEpochMilli(dev.parley.db.Ids.EPOCH_MILLIS);
    private static final Duration HISTORY_MONTH = Duration.ofDays(30);

    public static DatasetSpec of(long messages, Integer conversations, Integer users, Integer characters, Long memories,
                                 int dims, int months, long seed, Instant now) {
        int c = conversations != null ? conversations : (int) Math.max(10, Math.min(Integer.MAX_VALUE, messages / 40));
        int u = users != null ? users : Math.max(2, c / 5);
        int ch = characters != null ? characters : Math.max(20, u / 100);
        if (messages < c) {
            throw new IllegalArgumentException("--messages (" + messages + ") must be at least the number of conversations (" + c + ")");
        }
        long m = memories != null ? memories : messages / 50;
        if (dims < 1 || dims > dev.parley.memory.Embedding.MAX_DIMS) {
            throw new IllegalArgumentException("--dims must be between 1 and " + dev.parley.memory.Embedding.MAX_DIMS + ", got " + dims);
        }
        if (months < 1 || months > 120) {
            throw new IllegalArgumentException("--months must be between 1 and 120, got " + months);
        }
        var spec = new DatasetSpec(messages, c, u, ch, m, dims, months, seed, now.truncatedTo(ChronoUnit.DAYS));
        if (spec.oldest().isBefore(EARLIEST)) {
            // Parley's ids count from 2000: an earlier message would get a negative id, outside every month's
            // partition bounds, and the API refuses such a created_at too.
            LocalDate earliestEnd = LocalDate.ofInstant(EARLIEST.plus(HISTORY_MONTH.multipliedBy(months)), ZoneOffset.UTC);
            throw new IllegalArgumentException("--ends " + LocalDate.ofInstant(spec.now(), ZoneOffset.UTC) + " with --months "
                    + months + " would date messages before 2000-01-01, where Parley's ids begin: the earliest --ends for "
                    + months + " month(s) is " + earliestEnd);
        }
        return spec;
    }

    /** When the history begins: {@code months} of 30 days before it ends. The loader dates nothing earlier. */
    public Instant oldest() {
        return now.minus(HISTORY_MONTH.multipliedBy(months));
    }

    /** Parses counts such as 20000, 250k, 10M, 1.5M given to {@code option}, which a refusal names. */
    public static long count(String option, String text) {
        String t = text.strip().toLowerCase(Locale.ROOT).replace("_", "");
        double multiplier = 1;
        if (t.endsWith("k")) {
            multiplier = 1e3;
        } else if (t.endsWith("m")) {
            multiplier = 1e6;
        } else if (t.endsWith("g") || t.endsWith("b")) {
            multiplier = 1e9;
        }
        String number = multiplier == 1 ? t : t.substring(0, t.length() - 1);
        try {
            double value = Double.parseDouble(number) * multiplier;
            if (value < 1 || value > 1e10) {
                throw new IllegalArgumentException(option + " must be between 1 and 10G, got " + text);
            }
            return Math.round(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(option + " takes a count such as 20000, 250k or 10M, not '" + text + "'");
        }
    }

    /** 10000000 as "10M", 118155 as "118.2k": how sizes are written in reports. */
    public static String human(long count) {
        if (count >= 1_000_000) {
            return trimmed(count / 1e6) + "M";
        }
        if (count >= 1_000) {
            return trimmed(count / 1e3) + "k";
        }
        return String.valueOf(count);
    }

    private static String trimmed(double value) {
        String text = String.format(Locale.ROOT, "%.1f", value);
        return text.endsWith(".0") ? text.substring(0, text.length() - 2) : text;
    }
}
