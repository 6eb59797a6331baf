package dev.parley.config;

import java.time.Period;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Ages as operators write them: {@code 30d}, {@code 8w}, {@code 6mo}, {@code 1y}. */
public final class Ages {
    private static final Pattern AGE = Pattern.compile("(\\d+)(d|w|mo|y)");
    private static final int MOST_DIGITS = 5; // 36524d; more is past 100 years whatever the unit
    private static final int MOST_MONTHS = 1200;
    private static final int MOST_DAYS = 36524;

    private Ages() {
    }

    /** The age {@code text} says; IllegalArgumentException naming the forms it takes otherwise. */
    public static Period parse(String text) {
        Matcher m = AGE.matcher(text.strip());
        String digits = m.matches() ? m.group(1).replaceFirst("^0+", "") : "";
        if (digits.isEmpty()) { // no number and unit, or 0
            throw new IllegalArgumentException("an age is a whole number above 0 and d, w, mo or y, such as 30d or 6mo; got '"
                    + text + "'");
        }
        if (digits.length() > MOST_DIGITS) {
            throw tooOld(text);
        }
        int n = Integer.parseInt(digits);
        Period age = switch (m.group(2)) {
            case "d" -> Period.ofDays(n);
            case "w" -> Period.ofWeeks(n);
            case "mo" -> Period.ofMonths(n);
            default -> Period.ofYears(n);
        };
        if (age.getDays() > MOST_DAYS || age.toTotalMonths() > MOST_MONTHS) { // a typo, not an age: nothing is that old
            throw tooOld(text);
        }
        return age;
    }

    private static IllegalArgumentException tooOld(String text) {
        return new IllegalArgumentException("an age is at most 100 years (100y, 1200mo, 5217w or 36524d); got '" + text + "'");
    }
}
