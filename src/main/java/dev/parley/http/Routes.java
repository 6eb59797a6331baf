package dev.parley.http;

import com.fasterxml.jackson.databind.JsonNode;

import static io.javalin.http.HandlerType.DELETE;
import static io.javalin.http.HandlerType.GET;
import static io.javalin.http.HandlerType.PATCH;
import static io.javalin.http.HandlerType.POST;
import static io.javalin.http.HandlerType.PUT;

import dev.parley.analytics.Analytics;
import dev.parley.analytics.AnalyticsRefresh;
import dev.parley.apps.UserTokens;
import dev.parley.chat.CharacterProfile;
import dev.parley.chat.Conversation;
import dev.parley.chat.Leaderboards;
import dev.parley.chat.Limits;
import dev.parley.chat.Members;
import dev.parley.chat.Message;
import dev.parley.chat.ReadMarkers;
import dev.parley.chat.Stats;
import dev.parley.chat.User;
import dev.parley.context.ChatContext;
import dev.parley.input.Check;
import dev.parley.context.ContextRequest;
import dev.parley.chat.WindowCounts;
import dev.parley.config.Durations;
import dev.parley.lifecycle.Erasure;
import dev.parley.lifecycle.Import;
import dev.parley.lifecycle.UserExport;
import dev.parley.live.Presence;
import dev.parley.memory.Memory;
import dev.parley.memory.Recall;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

/** Every route Parley answers, on one screen. Tests and the OpenAPI document use this same table. */
final class Routes {
    private static final String CONVERSATION = "/v1/conversations/{conversation_id}";
    private static final String MESSAGE = CONVERSATION + "/messages/{message_id}";
    private static final String USER_MEMORIES = "/v1/users/{user_id}/memories";
    private static final String MEMORY = "/v1/memories/{memory_id}";
    private static final String ANALYTICS = "/v1/analytics";
    private static final String DURABLE = "write before answering, with this instance's increments not yet written "
            + "(default false: written within PARLEY_COUNTER_FLUSH_AFTER)";

    private static final String COUNTER = "the counter's name, as incremented (POST /v1/users/{user_id}/counters)";

    private static final String WINDOW = "time window ending now: 30s, 1m, 15m, 1h ... up to "
            + Durations.format(WindowCounts.MAX_WINDOW);

    private Routes() {
    }

    static List<Route> table(Limits limits, CharacterHandlers characters, UserHandlers users, ConversationHandlers conversations,
                             MessageHandlers messages, MemoryHandlers memories, SearchHandlers search, LiveHandlers live,
                             MetaHandlers meta, Warmup warmup, AnalyticsHandlers analytics, LifecycleHandlers lifecycle,
                             TokenHandlers tokens) {
        var document = new AtomicReference<byte[]>();
        List<Route> routes = reachableByUserTokens(List.of(
                Route.of(POST, "/v1/characters", "createCharacter", "Create a character", characters::create)
                        .body(Bodies.CharacterInput.class).returns(201, CharacterProfile.class),
                Route.of(GET, "/v1/characters", "listCharacters", "List characters, optionally by JSON containment, or fetch a batch by id", characters::list)
                        .query("ids", "string", "comma-separated character ids, up to " + Limits.MAX_LIST_PAGE
                                + ": those the app has, by id (alone: no other parameter)")
                        .text("external_id", false, Limits.MAX_EXTERNAL_ID_BYTES, "the character an import gave this external "
                                + "id: a page of it, or an empty one (alone: no other parameter)")
                        .query("traits", "string", "JSON object the traits must contain, e.g. {\"energy\":\"calm\"}")
                        .query("metadata", "string", "JSON object the metadata must contain")
                        .count("limit", Limits.DEFAULT_LIST_PAGE, Limits.MAX_LIST_PAGE, "page size")
                        .query("cursor", "string", "next_cursor of the previous page")
                        .returns(200, Pages.CharacterPage.class),
                Route.of(GET, "/v1/characters/{character_id}", "getCharacter", "Get a character", characters::get)
                        .returns(200, CharacterProfile.class),
                Route.of(GET, "/v1/characters/{character_id}/messages", "getCharacterMessages",
                        "What the character wrote lately, across all its conversations, newest first", characters::messages)
                        .count("limit", Limits.DEFAULT_HISTORY_PAGE, Limits.MAX_HISTORY_PAGE, "page size")
                        .query("cursor", "string", "next_cursor of the previous page of this character's messages: the "
                                + "messages before it (400 for a cursor of another character's messages)")
                        .query("before", "string", "the earlier name of cursor, still taken (400 if both are given)")
                        .returns(200, Pages.MessagePage.class),
                Route.of(GET, "/v1/characters/{character_id}/stats", "getCharacterStats",
                        "How many messages the character wrote in the window that ends now", characters::stats)
                        .query("window", "string", WINDOW + " (default 1h)")
                        .returns(200, WindowCounts.Count.class),
                Route.of(PATCH, "/v1/characters/{character_id}", "updateCharacter",
                                "Update a character's given fields; traits and metadata are JSON merge patches (If-Match: 412 when stale)", characters::update)
                        .body(Bodies.CharacterPatch.class).returns(200, CharacterProfile.class),
                Route.of(DELETE, "/v1/characters/{character_id}", "deleteCharacter",
                                "Delete a character: the conversations it started with all their messages, its memories of every user, "
                                + "its place in others' groups (its messages there stay); answers with the rows erased", lifecycle::deleteCharacter)
                        .returns(200, Erasure.Erased.class),

                Route.of(POST, "/v1/users", "upsertUser", "Create or update a user by external id (201 created, 200 updated)", users::upsert)
                        .body(Bodies.UserInput.class).returns(201, User.class).alsoAnswers(200),
                Route.of(GET, "/v1/users", "findUser", "Find a user by external id", users::findByExternalId)
                        .text("external_id", true, Limits.MAX_EXTERNAL_ID_BYTES, "the app's own id for the user")
                        .returns(200, User.class),
                Route.of(GET, "/v1/users/{user_id}", "getUser", "Get a user", users::get)
                        .returns(200, User.class),
                Route.of(PATCH, "/v1/users/{user_id}", "patchUser", "Merge-patch the profile (If-Match: 412 when stale)", users::patch)
                        .body(Bodies.UserPatch.class).returns(200, User.class),
                Route.of(DELETE, "/v1/users/{user_id}", "eraseUser",
                                "Erase a user and everything held about them: conversations, messages (theirs in others' groups too), "
                                + "memberships, memories, embeddings, idempotency keys, cached views, presence; answers with the rows erased",
                                lifecycle::eraseUser)
                        .returns(200, Erasure.Erased.class),
                Route.of(GET, "/v1/users/{user_id}/export", "exportUser",
                                "Everything held about a user as one JSON document, streamed (for access requests)", lifecycle::exportUser)
                        .returns(200, UserExport.Document.class).streamedAnswer(),
                Route.of(GET, "/v1/users/{user_id}/inbox", "getInbox", "A user's conversations by last activity", users::inbox)
                        .count("limit", Limits.DEFAULT_LIST_PAGE, Limits.MAX_LIST_PAGE, "page size")
                        .query("cursor", "string", "next_cursor of the previous page")
                        .returns(200, Pages.InboxPage.class),
                Route.of(GET, "/v1/users/{user_id}/stats", "getUserStats", "Exact counts for a user, over their conversations and the groups they joined", users::stats)
                        .returns(200, Stats.UserStats.class),
                Route.of(POST, "/v1/users/{user_id}/counters", "incrementUserCounters", "Add to a user's named counters (XP, level)", users::incrementCounters)
                        .query("durable", "boolean", DURABLE)
                        .body(Bodies.CounterIncrements.class).returns(200, Pages.Counters.class),
                Route.of(GET, "/v1/leaderboard", "getLeaderboard",
                                "The app's users ranked by one counter as last written, highest first, ties by user id", users::leaderboard)
                        .text("counter", true, Check.MAX_COUNTER_NAME_BYTES, COUNTER)
                        .count("limit", Limits.DEFAULT_LIST_PAGE, Limits.MAX_LIST_PAGE, "page size")
                        .query("cursor", "string", "next_cursor of the previous page of this counter's leaderboard")
                        .returns(200, Pages.Leaderboard.class),
                Route.of(GET, "/v1/users/{user_id}/rank", "getUserRank",
                                "A user's value of one counter as last written and their rank on its leaderboard (null: none written)", users::rank)
                        .text("counter", true, Check.MAX_COUNTER_NAME_BYTES, COUNTER)
                        .returns(200, Leaderboards.Standing.class),
                Route.of(POST, "/v1/users/{user_id}/warm", "warmUser", "Load what login shows into the cache: inbox, histories, characters", warmup::warm)
                        .count("limit", Limits.DEFAULT_LIST_PAGE, Limits.MAX_LIST_PAGE, "inbox page size to warm (also how many conversations)")
                        .count("messages", Limits.DEFAULT_HISTORY_PAGE, Limits.MAX_HISTORY_PAGE, "history page size to warm")
                        .returns(200, Warmup.Warmed.class),
                Route.of(PUT, "/v1/users/{user_id}/presence", "setPresence", "The user is online (a heartbeat, within the presence lifetime) or has left", live::setPresence)
                        .body(Bodies.PresenceInput.class).returns(200, Presence.Seen.class),
                Route.of(GET, "/v1/users/{user_id}/presence", "getPresence", "Whether the user is online, and when last seen", live::presence)
                        .returns(200, Presence.Seen.class),
                Route.of(POST, "/v1/users/{user_id}/tokens", "createUserToken",
                                "Mint a short-lived token for the user's browser or phone: it reaches only this user's conversations, "
                                        + "messages, inbox, memories and search", tokens::issue)
                        .body(Bodies.TokenInput.class).returns(201, UserTokens.Issued.class),

                Route.of(POST, "/v1/conversations", "createConversation", "Start a conversation (group chat: character_ids)", conversations::create)
                        .body(Bodies.ConversationInput.class).returns(201, Conversation.class),
                Route.of(GET, "/v1/conversations", "listConversations", "The app's conversations by last activity, newest first, filtered", conversations::list)
                        .query("character_id", "string", "only conversations this character takes part in (leading or not)")
                        .query("user_id", "string", "only this user's conversations and the groups they joined as a guest")
                        .query("state", "string", "JSON object the state must contain, e.g. {\"status\":\"open\"}")
                        .text("state_has", false, ConversationHandlers.MAX_STATE_KEY_BYTES,
                                "only conversations whose state has this top-level key")
                        .text("external_id", false, Limits.MAX_EXTERNAL_ID_BYTES,
                                "the conversation the app knows by this id of its own")
                        .count("limit", Limits.DEFAULT_LIST_PAGE, Limits.MAX_LIST_PAGE, "page size")
                        .query("cursor", "string", "next_cursor of the previous page")
                        .returns(200, Pages.ConversationPage.class),
                Route.of(GET, CONVERSATION, "getConversation", "Get a conversation", conversations::get)
                        .returns(200, Conversation.class),
                Route.of(PATCH, CONVERSATION, "patchConversation", "Merge-patch the state, set the title (If-Match: 412 when stale)", conversations::patch)
                        .body(Bodies.ConversationPatch.class).returns(200, Conversation.class),
                Route.of(DELETE, CONVERSATION, "deleteConversation",
                                "Delete a conversation with its messages, members, read markers and idempotency keys; answers with the rows erased",
                                lifecycle::deleteConversation)
                        .oneOf("memories", List.of("keep", "delete"), "keep (default: the user's memories from it stay, unlinked from it) or delete")
                        .returns(200, Erasure.Erased.class),
                Route.of(POST, CONVERSATION + "/counters", "incrementCounters", "Add to named counters (affection, XP)", conversations::incrementCounters)
                        .query("durable", "boolean", DURABLE)
                        .body(Bodies.CounterIncrements.class).returns(200, Pages.Counters.class),
                Route.of(GET, CONVERSATION + "/members", "listMembers", "The conversation's users and characters, each with its read marker and unread count", conversations::members)
                        .returns(200, Pages.Members.class),
                Route.of(POST, CONVERSATION + "/members", "addMember", "Add a user (a guest, up to " + Limits.MAX_GROUP_USERS
                        + " people) or a character (up to " + Limits.MAX_GROUP_CHARACTERS + "): 201, or 200 if already a member", conversations::addMember)
                        .body(Bodies.MemberInput.class).returns(201, Members.Member.class).alsoAnswers(200),
                Route.of(DELETE, CONVERSATION + "/members/users/{user_id}", "removeUserMember", "Remove a guest (204); the conversation's own user stays", conversations::removeUser)
                        .returns(204, null),
                Route.of(DELETE, CONVERSATION + "/members/characters/{character_id}", "removeCharacterMember", "Remove a character (204); the conversation's first character stays", conversations::removeCharacter)
                        .returns(204, null),
                Route.of(POST, CONVERSATION + "/read", "markRead", "Mark read up to a message, for the user, a member user or a character", conversations::markRead)
                        .body(Bodies.ReadInput.class).returns(200, ReadMarkers.ReadState.class),
                Route.of(GET, CONVERSATION + "/context", "getContext", "Character, user, state, last N messages and relevant memories for the next LLM call", conversations::context)
                        .count("messages", ContextRequest.DEFAULT_MESSAGES, ContextRequest.MAX_MESSAGES, "how many recent messages")
                        .query("character_id", "string", "in a group chat, the character about to speak")
                        .query("user_id", "string", "in a group chat, the person it answers, whose profile and memories the context "
                                + "carries (default: the conversation's user)")
                        .text("memory_query", false, ContextRequest.MAX_MEMORY_QUERY_BYTES,
                                "words to find the user's memories by (none when absent)")
                        .count("memories", ContextRequest.DEFAULT_MEMORIES, ContextRequest.MAX_MEMORIES, "how many memories (of each person)")
                        .oneOf("memories_of", List.of(ContextRequest.MEMORIES_OF_USER, ContextRequest.MEMORIES_OF_EVERYONE),
                                "whose memories: user (default), the person answered; "
                                + "everyone, also each other person who wrote one of the messages, the latest first, "
                                + ContextRequest.MAX_PEOPLE + " people at most")
                        .returns(200, ChatContext.Context.class),
                Route.of(POST, CONVERSATION + "/context", "buildContext", "As getContext, with memories recalled by similarity to an embedding", conversations::buildContext)
                        .body(Bodies.ContextInput.class).returns(200, ChatContext.Context.class).onlyReads(),
                Route.of(GET, CONVERSATION + "/stats", "getConversationStats",
                        "Exact counts for a conversation, with its messages by role and by metadata type", conversations::stats)
                        .query("window", "string", WINDOW + " for by_role and by_type (default: all the conversation's messages)")
                        .returns(200, WindowCounts.ConversationCounts.class),
                Route.of(PUT, CONVERSATION + "/typing", "setTyping", "The user or a character types (for the typing lifetime), or stopped", live::setTyping)
                        .body(Bodies.TypingInput.class).returns(200, Pages.Typists.class),
                Route.of(GET, CONVERSATION + "/typing", "getTyping", "Who types in the conversation now", live::typing)
                        .returns(200, Pages.Typists.class),

                Route.of(POST, CONVERSATION + "/messages", "appendMessage", "Append a message (Idempotency-Key makes retries safe)", messages::append)
                        .body(Bodies.MessageInput.class).returns(201, Message.class).alsoAnswers(200), // 200: a retry's stored message
                Route.of(POST, CONVERSATION + "/messages/batch", "appendMessages", "Append up to 1000 messages in one transaction", messages::appendBatch)
                        .body(Bodies.MessageBatch.class).returns(201, Pages.AppendedMessages.class).alsoAnswers(200), // 200: a retry's stored batch
                Route.of(GET, CONVERSATION + "/messages", "getHistory", "Latest messages, or a page before/after a cursor", messages::history)
                        .count("limit", Limits.DEFAULT_HISTORY_PAGE, Limits.MAX_HISTORY_PAGE, "page size")
                        .query("before", "string", "older_cursor of a page of this conversation: the messages before it "
                                + "(400 for a cursor of another conversation)")
                        .query("after", "string", "newer_cursor of a page of this conversation: the messages after it "
                                + "(400 for a cursor of another conversation)")
                        .oneOf("role", List.of("user", "assistant", "system", "tool"), "only messages of this role")
                        .query("author_character_id", "string", "only messages this character wrote")
                        .query("author_user_id", "string", "only messages this user wrote")
                        .query("metadata", "string", "JSON object the metadata must contain, e.g. {\"type\":\"image\"}")
                        .query("has_attachments", "boolean", "only messages with (true) or without (false) attachments")
                        .query("created_after", "string", "RFC 3339 instant: only messages made after it")
                        .query("created_before", "string", "RFC 3339 instant: only messages made before it")
                        .returns(200, Pages.HistoryPage.class),
                Route.of(GET, MESSAGE, "getMessage", "Get a message", messages::get)
                        .returns(200, Message.class),
                Route.of(PATCH, MESSAGE, "editMessage", "Edit a message's content, metadata or attachments (If-Match: 412 when stale)", messages::edit)
                        .body(Bodies.MessageEdit.class).returns(200, Message.class),
                Route.of(DELETE, MESSAGE, "deleteMessage", "Soft-delete a message (hard=true removes it: 204)", messages::delete)
                        .query("hard", "boolean", "remove the row instead of marking it deleted")
                        .returns(200, Message.class).alsoAnswers(204),
                Route.of(GET, MESSAGE + "/replies", "getReplies", "Replies to a message, oldest first", messages::replies)
                        .count("limit", Limits.DEFAULT_HISTORY_PAGE, Limits.MAX_HISTORY_PAGE, "page size")
                        .query("cursor", "string", "next_cursor of the previous page of this message's replies "
                                + "(400 for a cursor of another message's replies)")
                        .returns(200, Pages.MessagePage.class),

                Route.of(POST, USER_MEMORIES, "createMemory", "Store a fact a character keeps about the user, with its embedding", memories::create)
                        .body(Bodies.MemoryInput.class).returns(201, Memory.class),
                Route.of(POST, USER_MEMORIES + "/batch", "createMemories", "Store up to 1000 memories in one transaction: all, or none (an error names memories[i].field)", memories::createBatch)
                        .body(Bodies.MemoryBatch.class).returns(201, Pages.StoredMemories.class),
                Route.of(GET, USER_MEMORIES, "listMemories", "A user's memories of one character: filtered, by newest, importance, recency or relevance", memories::list)
                        .requiredQuery("character_id", "string", "the character")
                        .query("metadata", "string", "JSON object the metadata must contain, e.g. {\"type\":\"preference\"}")
                        .fraction("min_importance", "only memories at least this important, 0-1")
                        .fraction("max_importance", "only memories at most this important, 0-1")
                        .oneOf("order", List.of("newest", "importance", "recent", "relevance"), "newest (default: last stored first), importance, recent (original created_at, "
                                + "latest first) or relevance (to q; the default when q is given; one page, no cursor)")
                        .text("q", false, SearchHandlers.MAX_QUERY_BYTES,
                                "words the memories must match, web-search syntax; ranks them by relevance, unless another order is asked")
                        .query("language", "string", "text-search language of q (default english)")
                        .count("limit", Limits.DEFAULT_LIST_PAGE, Limits.MAX_LIST_PAGE, "page size")
                        .query("cursor", "string", "next_cursor of the previous page (of the same order)")
                        .returns(200, Pages.MemoryPage.class),
                Route.of(POST, USER_MEMORIES + "/recall", "recallMemories", "The memories most similar to an embedding, scored by relevance, recency, importance and conversation", memories::recall)
                        .body(Bodies.RecallInput.class).returns(200, Recall.Result.class).onlyReads(),
                Route.of(GET, MEMORY, "getMemory", "Get a memory", memories::get)
                        .returns(200, Memory.class),
                Route.of(PATCH, MEMORY, "updateMemory", "Change a memory's content, importance, metadata or embedding (If-Match: 412 when stale)", memories::update)
                        .body(Bodies.MemoryPatch.class).returns(200, Memory.class),
                Route.of(DELETE, MEMORY, "deleteMemory", "Forget a memory (204)", memories::delete).returns(204, null),

                Route.of(GET, "/v1/search/messages", "searchMessages", "Full-text search over messages of a conversation, a user or the app", search::messages)
                        .text("q", true, SearchHandlers.MAX_QUERY_BYTES, "what to find, web-search syntax: words, \"a phrase\", "
                                + "or, -word")
                        .query("user_id", "string", "only this user's conversations and the groups they joined as a guest")
                        .query("conversation_id", "string", "only this conversation")
                        .query("language", "string", "text-search language of the query (default: the conversation's, else english)")
                        .oneOf("order", List.of("relevance", "recent"), "relevance (default) or recent")
                        .query("include_archived", "boolean", "search the archived months too (slower: their words are computed as they are read)")
                        .count("limit", Limits.DEFAULT_LIST_PAGE, Limits.MAX_LIST_PAGE, "page size")
                        .query("cursor", "string", "next_cursor of the previous page")
                        .returns(200, Pages.MessageHits.class),
                Route.of(GET, "/v1/search/memories", "searchMemories", "Full-text search over a user's memories", search::memories)
                        .text("q", true, SearchHandlers.MAX_QUERY_BYTES, "what to find, web-search syntax")
                        .requiredQuery("user_id", "string", "the user")
                        .query("character_id", "string", "only memories this character keeps")
                        .query("language", "string", "text-search language of the query (default english)")
                        .oneOf("order", List.of("relevance", "recent"), "relevance (default) or recent (latest created_at first)")
                        .count("limit", Limits.DEFAULT_LIST_PAGE, Limits.MAX_LIST_PAGE, "page size")
                        .query("cursor", "string", "next_cursor of the previous page (400 for one of another search: q, language, "
                                + "order, user_id or character_id)")
                        .returns(200, Pages.MemoryHits.class),

                Route.of(GET, "/v1/stats/messages", "getAppMessageStats", "How many messages the app stored in the window that ends now",
                        meta::messagesInWindow)
                        .query("window", "string", WINDOW + " (default 1m)")
                        .returns(200, WindowCounts.Count.class),
                Route.of(GET, ANALYTICS + "/characters/messages", "getCharacterMessagesPerDay", "Messages each character wrote per UTC day, as of the last analytics refresh", analytics::characterMessages)
                        .query("from", "string", AnalyticsHandlers.FROM)
                        .query("to", "string", AnalyticsHandlers.TO)
                        .query("character_id", "string", "only this character")
                        .returns(200, Analytics.CharacterMessages.class),
                Route.of(GET, ANALYTICS + "/users/daily-active", "getDailyActiveUsers", "Users who sent a message, per UTC day, as of the last analytics refresh", analytics::dailyActiveUsers)
                        .query("from", "string", AnalyticsHandlers.FROM)
                        .query("to", "string", AnalyticsHandlers.TO)
                        .returns(200, Analytics.ActiveUserCounts.class),
                Route.of(GET, ANALYTICS + "/users/monthly-active", "getMonthlyActiveUsers", "Users who sent a message, per month the range touches, as of the last analytics refresh", analytics::monthlyActiveUsers)
                        .query("from", "string", AnalyticsHandlers.FROM)
                        .query("to", "string", AnalyticsHandlers.TO)
                        .returns(200, Analytics.ActiveUserCounts.class),
                Route.of(GET, ANALYTICS + "/conversations/started", "getConversationsStarted", "Conversations started per UTC day, as of the last analytics refresh", analytics::conversationsStarted)
                        .query("from", "string", AnalyticsHandlers.FROM)
                        .query("to", "string", AnalyticsHandlers.TO)
                        .returns(200, Analytics.ConversationStarts.class),
                Route.of(GET, ANALYTICS + "/conversations/{conversation_id}/roles", "getConversationRoleCounts", "A conversation's messages by role, as of the last analytics refresh", analytics::conversationRoles)
                        .returns(200, Analytics.ConversationRoles.class),
                Route.of(POST, ANALYTICS + "/refresh", "refreshAnalytics", "Refresh every analytics view now (readers are not blocked); waits for one already running", analytics::refresh)
                        .returns(200, AnalyticsRefresh.Refreshed.class),

                Route.of(POST, "/v1/import", "importLines",
                                "Import characters, users, conversations, messages with their original times, and memories, as NDJSON "
                                + "(Content-Type: application/x-ndjson); idempotent by external ids; answers with counts and the first rejected lines",
                                lifecycle::importLines)
                        .linesOfJson().returns(200, Import.Report.class),
                Route.of(GET, "/v1/retention", "getRetention", "How long the app keeps its messages (null: for ever)", lifecycle::getRetention)
                        .returns(200, LifecycleHandlers.Kept.class),
                Route.of(PUT, "/v1/retention", "setRetention",
                                "Keep the app's messages N days: older ones are deleted at the next retention round (daily)", lifecycle::setRetention)
                        .body(Bodies.RetentionInput.class).returns(200, LifecycleHandlers.Kept.class),
                Route.of(GET, "/v1/stats", "getAppStats", "Rows per table for the app: estimated when large, exact when small", meta::appStats)
                        .returns(200, Stats.AppCounts.class),
                Route.of(GET, "/health/live", "getLiveness", "The process answers (for restarts: checks nothing else)", meta::live)
                        .returns(200, MetaHandlers.Liveness.class).open(),
                Route.of(GET, "/health/ready", "getReadiness", "The database answers and the schema is current (503 otherwise)", meta::ready)
                        .returns(200, MetaHandlers.Health.class).alsoAnswers(503).open(),
                Route.of(GET, "/health", "getHealth", "The same as /health/ready", meta::ready)
                        .returns(200, MetaHandlers.Health.class).alsoAnswers(503).open(),
                Route.of(GET, "/openapi.json", "getOpenApi", "This API's OpenAPI 3.1 document",
                        ctx -> Responses.write(ctx.contentType("application/json"), document.get())) // gzipped with its Vary
                        .returns(200, JsonNode.class).open()));
        document.set(OpenApi.document(routes, limits));
        return routes;
    }

    /**
     * The routes a user token reaches, for its own user's data only ({@link UserTokenAccess}): what a chat
     * screen in a browser or phone needs. Everything else (characters, other users, deletions, analytics,
     * the app's settings) takes the app's key.
     */
    static final java.util.Set<String> FOR_USER_TOKENS = java.util.Set.of(
            "getUser", "getInbox", "getPresence", "setPresence",
            "listConversations", "getConversation", "listMembers", "markRead", "getTyping", "setTyping",
            "appendMessage", "appendMessages", "getHistory", "getMessage", "editMessage", "deleteMessage", "getReplies",
            "createMemory", "createMemories", "listMemories", "recallMemories", "getMemory", "updateMemory", "deleteMemory",
            "searchMessages", "searchMemories");

    private static List<Route> reachableByUserTokens(List<Route> routes) {
        return routes.stream().map(route -> FOR_USER_TOKENS.contains(route.operationId()) ? route.forUserTokens() : route).toList();
    }
}
