package dev.parley.http;

import dev.parley.chat.InvalidInput;
import dev.parley.chat.Limits;
import dev.parley.input.Check;
import dev.parley.memory.Memories;
import dev.parley.search.Languages;
import dev.parley.search.MessageSearch;
import io.javalin.http.Context;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.UUID;

/** /v1/search: words in messages (of a conversation, a user or the app) and in a user's memories. */
final class SearchHandlers {
    static final int MAX_QUERY_BYTES = 1000;

    private final MessageSearch messages;
    private final Memories memories;
    private final Languages languages;

    SearchHandlers(MessageSearch messages, Memories memories, Languages languages) {
        this.messages = messages;
        this.memories = memories;
        this.languages = languages;
    }

    void messages(Context ctx) {
        String text = query(ctx);
        Long userId = Params.optionalId(ctx, "user_id");
        Long conversationId = Params.optionalId(ctx, "conversation_id");
        String language = ctx.queryParam("language") == null ? null : languages.require("language", ctx.queryParam("language"));
        MessageSearch.Order order = order(ctx.queryParam("order"));
        int limit = Params.limit(ctx, "limit", Limits.DEFAULT_LIST_PAGE, Limits.MAX_LIST_PAGE);
        MessageSearch.Scope scope = conversationId != null ? new MessageSearch.Scope.Conversation(conversationId)
                : userId != null ? new MessageSearch.Scope.User(userId) : new MessageSearch.Scope.App();
        if (conversationId != null && userId != null) {
            throw new InvalidInput("user_id", "cannot be given together with conversation_id: give one scope, the conversation (whoever "
                    + "wrote in it) or the user's conversations");
        }
        boolean archived = Params.flag(ctx, "include_archived");
        long search = fingerprint(scope, text, language, order, archived);
        long[] position = Cursor.positions(ctx, Cursor.Kind.SEARCH, 3);
        if (position != null && position[2] != search) {
            throw new InvalidInput("cursor", "continues another search: q, language, order, user_id or conversation_id, and "
                    + "include_archived must be those of the page that gave it (and one an earlier version of Parley issued "
                    + "cannot be checked): start again from the first page");
        }
        MessageSearch.After after = position == null ? MessageSearch.After.START
                : new MessageSearch.After(Float.intBitsToFloat((int) position[0]), position[1]);
        List<MessageSearch.Hit> hits = messages.search(Auth.app(ctx), scope, text, language, order, after, Cursor.probe(limit), archived);
        var listed = Cursor.paged(Cursor.Kind.SEARCH, hits, limit, hit -> new long[] {Float.floatToIntBits(hit.rank()), hit.messageId(), search});
        Responses.json(ctx, new Pages.MessageHits(listed.page(), listed.next()));
    }

    /**
     * What a search cursor is bound to: its position (a rank, a message id) means something only in the search
     * that made it, so a cursor given to another one is refused rather than read as a place in it.
     */
    private static long fingerprint(MessageSearch.Scope scope, String text, String language, MessageSearch.Order order,
                                    boolean archived) {
        return fingerprint(String.join("\n", scope.toString(), text, String.valueOf(MessageSearch.language(scope, language)),
                order.name(), String.valueOf(archived)));
    }

    private static long fingerprint(String search) {
        return UUID.nameUUIDFromBytes(search.getBytes(StandardCharsets.UTF_8)).getMostSignificantBits();
    }

    /**
     * A page of a user's memories matching q, by relevance (default) or recent (latest created_at first), with a
     * cursor as message search has: the last hit's rank or created_at, its memory id, and the search it belongs to.
     */
    void memories(Context ctx) {
        String text = query(ctx);
        long userId = Params.requiredId(ctx, "user_id");
        Long characterId = Params.optionalId(ctx, "character_id");
        String language = languages.require("language", ctx.queryParam("language"));
        MessageSearch.Order order = order(ctx.queryParam("order"));
        int limit = Params.limit(ctx, "limit", Limits.DEFAULT_LIST_PAGE, Limits.MAX_LIST_PAGE);
        long search = fingerprint(String.join("\n", "memories", String.valueOf(userId), String.valueOf(characterId), text,
                language, order.name()));
        long[] position = Cursor.positions(ctx, Cursor.Kind.MEMORY_SEARCH, 3);
        if (position != null && position[2] != search) {
            throw new InvalidInput("cursor", "continues another search: q, language, order, user_id and character_id must be "
                    + "those of the page that gave it");
        }
        boolean recent = order == MessageSearch.Order.RECENT;
        Memories.SearchAfter after = position == null ? Memories.SearchAfter.START
                : recent ? Memories.SearchAfter.created(Instant.EPOCH.plus(position[0], ChronoUnit.MICROS), position[1])
                : Memories.SearchAfter.ranked(Float.intBitsToFloat((int) position[0]), position[1]);
        List<Memories.Found> hits = memories.search(Auth.app(ctx), userId, characterId, text, language, order, after,
                Cursor.probe(limit));
        var listed = Cursor.paged(Cursor.Kind.MEMORY_SEARCH, hits, limit, hit -> new long[] {
                recent ? ChronoUnit.MICROS.between(Instant.EPOCH, hit.memory().createdAt()) : Float.floatToIntBits(hit.rank()),
                hit.memory().id(), search});
        Responses.json(ctx, new Pages.MemoryHits(listed.page(), listed.next()));
    }

    private static String query(Context ctx) {
        return Check.requiredNonBlank("q", ctx.queryParam("q"), MAX_QUERY_BYTES);
    }

    private static MessageSearch.Order order(String raw) {
        if (raw == null) {
            return MessageSearch.Order.RELEVANCE;
        }
        return switch (raw) {
            case "relevance" -> MessageSearch.Order.RELEVANCE;
            case "recent" -> MessageSearch.Order.RECENT;
            default -> throw new InvalidInput("order", "must be relevance or recent, got '" + Check.printable(raw) + "'");
        };
    }
}
