package dev.parley.chat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.db.Ids;
import dev.parley.json.Json;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;

/**
 * What a page of a conversation's history is narrowed to; null fields do not narrow it. Each field
 * adds one condition, and each condition names the index that serves it (V13): metadata through
 * messages_metadata_idx, attachments through messages_attachments_idx, a character author through
 * messages_character_idx; role, a user author and has_attachments=false ride on the primary key's
 * newest-first walk of the conversation. The time range is no condition at all: it narrows the id
 * bounds, which prunes partitions. Metadata and attachments filters leave soft-deleted messages out,
 * which are read without them; role, author and time still find them, as history shows them.
 */
public record MessageFilter(String role, Long authorCharacterId, Long authorUserId, JsonNode metadata,
                            Boolean hasAttachments, Instant createdAfter, Instant createdBefore) {

    /** The conditions (each starting with AND) and their values, in the order they bind. */
    record Conditions(String sql, List<Object> values) {
    }

    public static final MessageFilter NONE = new MessageFilter(null, null, null, null, null, null, null);

    public boolean isEmpty() {
        return equals(NONE);
    }

    Conditions conditions(long conversationId) {
        StringBuilder sql = new StringBuilder();
        List<Object> values = new ArrayList<>();
        if (role != null) {
            sql.append(" AND role = ?");
            values.add(role);
        }
        if (authorCharacterId != null) {
            sql.append(" AND author_character_id = ?");
            values.add(authorCharacterId);
        }
        if (authorUserId != null) {
            sql.append(" AND author_user_id = ?");
            values.add(authorUserId);
        }
        if (metadata != null) {
            // The same expression and predicate as messages_metadata_idx, so the planner can use it.
            sql.append(" AND metadata IS NOT NULL AND parley_message_facets(conversation_id, metadata) @> ?::jsonb");
            values.add(facets(conversationId, metadata));
        }
        if (hasAttachments != null) {
            sql.append(hasAttachments ? " AND " + WITH_ATTACHMENTS : " AND NOT coalesce(" + WITH_ATTACHMENTS + ", false)");
        }
        if (metadata != null || hasAttachments != null) {
            // A soft-deleted message keeps them in its row but shows neither: a filter must not match what a reader cannot see.
            sql.append(" AND deleted_at IS NULL");
        }
        return new Conditions(sql.toString(), values);
    }

    /** messages_attachments_idx's predicate, word for word. */
    static final String WITH_ATTACHMENTS = "(attachments IS NOT NULL AND attachments <> '[]'::jsonb)";

    /** What parley_message_facets holds for a message of the conversation that matches {@code metadata}. */
    static String facets(long conversationId, JsonNode metadata) {
        ObjectNode facets = Json.MAPPER.createObjectNode();
        facets.put("c", conversationId);
        facets.set("m", metadata);
        return facets.toString();
    }

    /** The smallest id a message made after {@code createdAfter} can have, less one: ids are kept above it. */
    long lowerBound(long floor) {
        if (createdAfter == null) {
            return floor;
        }
        Instant firstMillisAfter = createdAfter.truncatedTo(ChronoUnit.MILLIS).plusMillis(1);
        return Math.max(floor, Ids.floorOf(firstMillisAfter) - 1);
    }

    /** The largest id a message made before {@code createdBefore} can have. */
    long upperBound(long ceiling) {
        if (createdBefore == null) {
            return ceiling;
        }
        Instant truncated = createdBefore.truncatedTo(ChronoUnit.MILLIS);
        Instant firstMillisNotBefore = truncated.equals(createdBefore) ? truncated : truncated.plusMillis(1);
        return Math.min(ceiling, Ids.floorOf(firstMillisNotBefore) - 1);
    }
}
