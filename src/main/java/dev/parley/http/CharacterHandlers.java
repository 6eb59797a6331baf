package dev.parley.http;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.chat.CharacterMessages;
import dev.parley.chat.CharacterProfile;
import dev.parley.chat.Characters;
import dev.parley.chat.InvalidInput;
import dev.parley.chat.Limits;
import dev.parley.chat.Message;
import dev.parley.chat.WindowCounts;
import dev.parley.input.Check;
import io.javalin.http.Context;
import java.time.Duration;
import java.util.List;

/** /v1/characters: profiles, what a character said lately, and how much in a window. */
final class CharacterHandlers {
    static final Duration DEFAULT_WINDOW = Duration.ofHours(1);

    private final Characters characters;
    private final CharacterMessages messages;
    private final WindowCounts counts;
    private final Limits limits;

    CharacterHandlers(Characters characters, CharacterMessages messages, WindowCounts counts, Limits limits) {
        this.characters = characters;
        this.messages = messages;
        this.counts = counts;
        this.limits = limits;
    }

    /** The character's messages across its conversations, newest first; next_cursor pages further back. */
    void messages(Context ctx) {
        long characterId = Params.id(ctx, "character_id");
        int limit = Params.limit(ctx, "limit", Limits.DEFAULT_HISTORY_PAGE, Limits.MAX_HISTORY_PAGE);
        long beforeId = cursorMessage(ctx, characterId);
        CharacterMessages.Page page = messages.recent(Auth.app(ctx), characterId, beforeId, limit);
        List<Message> rows = page.messages();
        Responses.json(ctx, new Pages.MessagePage(rows,
                page.hasOlder() ? Cursor.encode(Cursor.Kind.CHARACTER_MESSAGE, rows.getLast().id(), characterId) : null));
    }

    /**
     * The message id in a character's messages cursor, the top of the id range on a first page. A cursor carries its
     * character: message ids are ordered across characters, so another character's cursor would page from an arbitrary
     * point. The cursor comes as {@code cursor}, as on every route that answers a {@code next_cursor}, or as
     * {@code before}, the name this route took first.
     */
    private static long cursorMessage(Context ctx, long characterId) {
        String cursor = ctx.queryParam("cursor");
        String before = ctx.queryParam("before");
        if (cursor != null && before != null) {
            throw new InvalidInput("before", "is the earlier name of cursor; give one of them, not both");
        }
        String name = cursor != null ? "cursor" : "before";
        String given = cursor != null ? cursor : before;
        if (given == null) {
            return Long.MAX_VALUE;
        }
        long[] positions = Cursor.decode(Cursor.Kind.CHARACTER_MESSAGE, 2, name, given);
        if (positions[1] != characterId) {
            throw new InvalidInput(name, "is a cursor of another character's messages; page with the cursors of "
                    + "character " + characterId + "'s own pages");
        }
        return positions[0];
    }

    void stats(Context ctx) {
        long characterId = Params.id(ctx, "character_id");
        Duration window = Params.window(ctx, "window", DEFAULT_WINDOW, WindowCounts.MAX_WINDOW);
        Responses.json(ctx, counts.character(Auth.app(ctx), characterId, window));
    }

    void create(Context ctx) {
        var input = Requests.body(ctx, Bodies.CharacterInput.class);
        Check.requiredNonBlank("name", input.name(), Limits.MAX_NAME_BYTES);
        Responses.json(ctx, 201, characters.create(Auth.app(ctx), draft(input)));
    }

    void get(Context ctx) {
        Conditional.send(ctx, characters.rendered(Auth.app(ctx), Params.id(ctx, "character_id")));
    }

    void update(Context ctx) {
        long characterId = Params.id(ctx, "character_id");
        var input = Requests.patch(ctx, Bodies.CharacterPatch.class).asInput();
        if (input.name() != null) {
            Check.requiredNonBlank("name", input.name(), Limits.MAX_NAME_BYTES);
        }
        Responses.json(ctx, characters.update(Auth.app(ctx), characterId, draft(input),
                Conditional.requiredVersion(ctx, CharacterProfile.class, characterId), limits.maxMetadataBytes()));
    }

    void list(Context ctx) {
        if (ctx.queryParam("ids") != null) {
            listByIds(ctx);
            return;
        }
        if (ctx.queryParam("external_id") != null) {
            listByExternalId(ctx);
            return;
        }
        JsonNode traits = Params.jsonObject(ctx, "traits", limits.maxMetadataBytes());
        JsonNode metadata = Params.jsonObject(ctx, "metadata", limits.maxMetadataBytes());
        int limit = Params.limit(ctx, "limit", Limits.DEFAULT_LIST_PAGE, Limits.MAX_LIST_PAGE);
        long after = Cursor.position(ctx, Cursor.Kind.CHARACTER, 0);
        var listed = Cursor.paged(Cursor.Kind.CHARACTER, characters.list(Auth.app(ctx), after, traits, metadata, Cursor.probe(limit)),
                limit, c -> new long[] {c.id()});
        Responses.json(ctx, new Pages.CharacterPage(listed.page(), listed.next()));
    }

    /** The character an import gave this external id: a page of it, or an empty one. */
    private void listByExternalId(Context ctx) {
        for (String other : List.of("traits", "metadata", "limit", "cursor")) {
            if (ctx.queryParam(other) != null) {
                throw new InvalidInput(other, "cannot be combined with external_id, which names one character");
            }
        }
        String externalId = Check.requiredNonBlank("external_id", ctx.queryParam("external_id"), Limits.MAX_EXTERNAL_ID_BYTES);
        Responses.json(ctx, new Pages.CharacterPage(characters.byExternalId(Auth.app(ctx), externalId).stream().toList(), null));
    }

    /** A batch fetch: the characters of {@code ids} in one request, the unknown ones simply absent. */
    private void listByIds(Context ctx) {
        for (String other : List.of("external_id", "traits", "metadata", "limit", "cursor")) {
            if (ctx.queryParam(other) != null) {
                throw new InvalidInput(other, "cannot be combined with ids, which names every character it wants");
            }
        }
        List<Long> ids = Params.ids(ctx, "ids", Limits.MAX_LIST_PAGE);
        Responses.json(ctx, new Pages.CharacterPage(characters.byIds(Auth.app(ctx), ids), null));
    }

    private CharacterProfile.Draft draft(Bodies.CharacterInput input) {
        List<String> suggested = CharacterProfile.suggestedMessages(input.suggestedMessages(), limits.maxContentBytes());
        return new CharacterProfile.Draft(input.name(),
                Check.text("system_prompt", input.systemPrompt(), Limits.MAX_PROMPT_BYTES),
                Check.object("traits", input.traits(), limits.maxMetadataBytes()),
                Check.object("metadata", input.metadata(), limits.maxMetadataBytes()),
                suggested);
    }
}
