package dev.parley.chat;

/** Size limits on what clients store, in UTF-8 bytes. */
public record Limits(int maxContentBytes, int maxMetadataBytes) {
    public static final int MAX_BATCH = 1000;
    public static final int MAX_HISTORY_PAGE = 200;
    public static final int DEFAULT_HISTORY_PAGE = 50;
    public static final int MAX_LIST_PAGE = 100;
    public static final int DEFAULT_LIST_PAGE = 20;
    public static final int MAX_NAME_BYTES = 200;
    /** An app's own id for a user, conversation, character, memory or (in an import) message. */
    public static final int MAX_EXTERNAL_ID_BYTES = 255;
    public static final int MAX_TITLE_BYTES = 500;
    public static final int MAX_PROMPT_BYTES = 64 << 10;
    public static final int MAX_SUGGESTED_MESSAGES = 20;
    public static final int MAX_GROUP_CHARACTERS = 50;
    /** People in one conversation, its own user included: every message drops each one's cached inbox. */
    public static final int MAX_GROUP_USERS = 100;
    /** Named counters one conversation or user keeps. */
    public static final int MAX_COUNTERS = 100;
    public static final int MAX_IDEMPOTENCY_KEY_BYTES = 200;
    public static final int PREVIEW_CHARS = 200;
}
