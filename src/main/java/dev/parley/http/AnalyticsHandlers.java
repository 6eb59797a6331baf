package dev.parley.http;

import dev.parley.analytics.Analytics;
import dev.parley.analytics.AnalyticsRefresh;
import dev.parley.chat.InvalidInput;
import dev.parley.input.Check;
import io.javalin.http.Context;
import java.time.Clock;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoUnit;

/** /v1/analytics: the caller's app's figures from the analytics views, over a range of UTC days. */
final class AnalyticsHandlers {
    /** The longest range one request may cover, in days (from and to included). */
    static final int MAX_RANGE_DAYS = 366;
    /** The range when none is given: the last 30 days, today included. */
    static final int DEFAULT_RANGE_DAYS = 30;
    static final String FROM = "first UTC day, YYYY-MM-DD (default: " + (DEFAULT_RANGE_DAYS - 1) + " days before to)";
    static final String TO = "last UTC day, YYYY-MM-DD, included (default: today); from and to make at most " + MAX_RANGE_DAYS
            + " days, both counted";

    private record Range(LocalDate from, LocalDate to) {
    }

    private final Analytics analytics;
    private final AnalyticsRefresh refresh;
    private final Clock clock;

    AnalyticsHandlers(Analytics analytics, AnalyticsRefresh refresh, Clock clock) {
        this.analytics = analytics;
        this.refresh = refresh;
        this.clock = clock;
    }

    void characterMessages(Context ctx) {
        Range range = range(ctx);
        Long characterId = Params.optionalId(ctx, "character_id");
        Responses.json(ctx, analytics.characterDays(Auth.app(ctx), range.from(), range.to(), characterId));
    }

    void dailyActiveUsers(Context ctx) {
        Range range = range(ctx);
        Responses.json(ctx, analytics.activeDays(Auth.app(ctx), range.from(), range.to()));
    }

    void monthlyActiveUsers(Context ctx) {
        Range range = range(ctx);
        Responses.json(ctx, analytics.activeMonths(Auth.app(ctx), range.from(), range.to()));
    }

    void conversationsStarted(Context ctx) {
        Range range = range(ctx);
        Responses.json(ctx, analytics.conversationsStarted(Auth.app(ctx), range.from(), range.to()));
    }

    void conversationRoles(Context ctx) {
        Responses.json(ctx, analytics.conversationRoles(Auth.app(ctx), Params.id(ctx, "conversation_id")));
    }

    void refresh(Context ctx) {
        Responses.json(ctx, refresh.refresh());
    }

    /**
     * from and to as given, or the defaults; 400 naming the parameter when reversed, too long or not a date. A range
     * that is wrong because of a default is blamed on the parameter the client sent: {@code ?from=2025-01-01} alone
     * names from, and says that to is today, which the client never wrote.
     */
    private Range range(Context ctx) {
        LocalDate to = date(ctx, "to");
        boolean toGiven = to != null;
        if (to == null) {
            to = LocalDate.ofInstant(clock.instant(), ZoneOffset.UTC);
        }
        LocalDate from = date(ctx, "from");
        if (from == null) {
            from = to.minusDays(DEFAULT_RANGE_DAYS - 1);
        }
        if (to.isBefore(from)) {
            throw toGiven
                    ? new InvalidInput("to", "(" + to + ") is before from (" + from + "); the range runs from the first day to the last")
                    : new InvalidInput("from", "(" + from + ") is after to, which is today (" + to + ") when not given; "
                    + "the range runs from the first day to the last");
        }
        long days = ChronoUnit.DAYS.between(from, to) + 1;
        if (days > MAX_RANGE_DAYS) {
            String range = "from " + from + " to " + to + (toGiven ? "" : " (today: to's default)");
            throw new InvalidInput(toGiven ? "to" : "from", "makes a range of " + days + " days, " + range
                    + "; the limit is " + MAX_RANGE_DAYS + ": ask for the rest in another request");
        }
        return new Range(from, to);
    }

    private static LocalDate date(Context ctx, String name) {
        String raw = ctx.queryParam(name);
        if (raw == null) {
            return null;
        }
        LocalDate date;
        try {
            date = LocalDate.parse(raw);
        } catch (DateTimeParseException e) {
            date = null;
        }
        if (date == null || !Params.inFourDigitYears(date.getYear())) {
            throw new InvalidInput(name, "must be a date, YYYY-MM-DD (years 0001 to 9999), got '" + Check.printable(raw) + "'");
        }
        return date;
    }
}
