package dev.parley.db;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Whether a statement keeps to one app, read from its text: a heuristic, not a parser, strict in the
 * direction that matters. The statement is cut into query blocks (the statement, each subquery, each
 * CTE, each UNION branch in parentheses); in each block, every read or write of a distributed table
 * needs an app_id condition of that block's own: {@code app_id = ?}, {@code app_id = ANY(?)},
 * {@code app_id IN (…)}, an equality of two app_ids ({@code m.app_id = c.app_id}), {@code USING
 * (app_id, …)}, a row comparison holding app_id, or app_id in an INSERT's or COPY's column list.
 * A join of two distributed tables on anything but app_id then has one condition too few, and fails;
 * so does a scan of every app, and a subquery that leaves app_id to the query around it (on Citus
 * it would run on every shard). It cannot tell which table of a block a condition belongs to, so a
 * block that names app_id twice for one table and not at all for another passes: a reviewer still
 * reads the SQL.
 *
 * <p>Only statements that touch rows are judged (SELECT, WITH, INSERT, UPDATE, DELETE, MERGE, COPY,
 * TRUNCATE, EXPLAIN of one of those): DDL and session statements act on a table as a whole, which
 * Citus propagates to every shard.
 */
final class CrossTenantCheck {
    private static final Set<String> JUDGED = Set.of(
            "select", "with", "insert", "update", "delete", "merge", "copy", "truncate", "table", "values");
    private static final Set<String> STARTS_A_BLOCK = Set.of("select", "with", "insert", "update", "delete", "values");
    // Keywords after which a table name follows; "from" and "using" also open a list of tables.
    private static final Set<String> BEFORE_TABLE = Set.of("from", "join", "update", "into", "using", "copy", "truncate");
    private static final Set<String> SKIPPED_BEFORE_TABLE = Set.of("only", "lateral", "table");
    // Keywords that end a FROM list (its commas no longer separate tables).
    private static final Set<String> END_OF_FROM = Set.of("where", "group", "having", "order", "limit", "offset",
            "window", "returning", "union", "except", "intersect", "for", "on", "set", "values", "select", "join");
    private static final String SUBQUERY = "…";

    private static final Pattern TOKEN = Pattern.compile(
            "\"[^\"]*\"|[a-z_][a-z0-9_$]*(?:\\.[a-z_][a-z0-9_$]*)?|\\d+(?:\\.\\d+)?|<=|>=|<>|!=|::|@@|@>|<@|\\|\\||->>|->|#>>|#>|\\S");
    private static final Pattern APP_ID_CONDITION = Pattern.compile(
            "(?:[a-z0-9_.]*\\bapp_id (?:=|in\\b))|(?:(?<![<>!=])= (?:[a-z_][a-z0-9_]*\\.)?app_id\\b)");
    private static final Pattern USING_COLUMNS = Pattern.compile("\\busing \\(([^()]*)\\)");
    private static final Pattern ROW_COMPARISON = Pattern.compile("\\(([^()]*)\\) (?:=|in\\b)");
    private static final Pattern INSERTED_COLUMNS = Pattern.compile(
            "\\b(?:insert into|copy) [a-z0-9_.]+(?: (?:as )?[a-z_][a-z0-9_]*)? \\(([^()]*)\\)");
    private static final Pattern APP_ID = Pattern.compile("\\bapp_id\\b");

    private CrossTenantCheck() {
    }

    /** Why {@code sql} may reach more than one app through {@code distributed} tables, or empty when it keeps to one. */
    static Optional<String> problem(String sql, Set<String> distributed) {
        String text = normalised(sql);
        String verb = firstWord(text.startsWith("explain") ? text.replaceFirst("^explain\\s*(\\([^)]*\\))?", "") : text);
        if (!JUDGED.contains(verb)) {
            return Optional.empty();
        }
        List<String> problems = new ArrayList<>();
        for (List<String> block : blocks(tokens(text))) {
            List<String> tables = distributedTablesNamed(block, distributed);
            String own = String.join(" ", block);
            int conditions = appIdConditions(own);
            if (conditions < tables.size()) {
                problems.add("%s reads %s with %d app_id condition(s) of its own".formatted(
                        abbreviated(own), tables, conditions));
            }
        }
        return problems.isEmpty() ? Optional.empty() : Optional.of(String.join("; ", problems)
                + ": a join that does not equate app_id, a scan of every app, or a subquery that leaves app_id to another");
    }

    /** Lower case, one space between words, with comments and string literals taken out (they name no table). */
    static String normalised(String sql) {
        String text = sql.replaceAll("(?s)/\\*.*?\\*/", " ")
                .replaceAll("--[^\\n]*", " ")
                .replaceAll("'(?:[^']|'')*'", "''");
        return text.toLowerCase(Locale.ROOT).replaceAll("\\s+", " ").strip();
    }

    private static String firstWord(String text) {
        Matcher word = Pattern.compile("^\\(*\\s*([a-z]+)").matcher(text.strip());
        return word.find() ? word.group(1) : "";
    }

    private static List<String> tokens(String text) {
        List<String> tokens = new ArrayList<>();
        Matcher token = TOKEN.matcher(text);
        while (token.find()) {
            tokens.add(token.group());
        }
        return tokens;
    }

    /**
     * The statement's query blocks, each as its own tokens: a parenthesis that opens a SELECT, WITH, VALUES
     * or data-modifying statement starts a block of its own, and stands as "( … )" in the one around it.
     */
    static List<List<String>> blocks(List<String> tokens) {
        List<List<String>> blocks = new ArrayList<>();
        block(tokens, 0, blocks);
        return blocks;
    }

    /** Reads one block from {@code start}; returns the index of the parenthesis that closes it (or the end). */
    private static int block(List<String> tokens, int start, List<List<String>> blocks) {
        List<String> own = new ArrayList<>();
        blocks.add(own);
        int depth = 0;
        int i = start;
        for (; i < tokens.size(); i++) {
            String t = tokens.get(i);
            if (t.equals("(") && i + 1 < tokens.size() && STARTS_A_BLOCK.contains(tokens.get(i + 1))) {
                i = block(tokens, i + 1, blocks);
                own.addAll(List.of("(", SUBQUERY, ")"));
                continue;
            }
            if (t.equals(")") && depth == 0) {
                break;
            }
            depth += t.equals("(") ? 1 : t.equals(")") ? -1 : 0;
            own.add(t);
        }
        return i;
    }

    /** Each place a block reads or writes a table of {@code distributed}, in order; a name qualified by a schema counts by its table name. */
    static List<String> distributedTablesNamed(List<String> tokens, Set<String> distributed) {
        List<String> named = new ArrayList<>();
        int depth = 0;
        int fromListDepth = -1; // the depth of the FROM (or DELETE … USING) list we are in, or -1
        for (int i = 0; i < tokens.size(); i++) {
            String t = tokens.get(i);
            if (t.equals("(")) {
                depth++;
            } else if (t.equals(")")) {
                depth--;
                if (fromListDepth > depth) {
                    fromListDepth = -1;
                }
            } else if (END_OF_FROM.contains(t) && fromListDepth == depth) {
                fromListDepth = -1;
            }
            boolean tableFollows = BEFORE_TABLE.contains(t) || (t.equals(",") && fromListDepth == depth);
            if (!tableFollows) {
                continue;
            }
            if (t.equals("from") || t.equals("using")) {
                fromListDepth = depth;
            }
            int j = i + 1;
            while (j < tokens.size() && SKIPPED_BEFORE_TABLE.contains(tokens.get(j))) {
                j++;
            }
            if (j >= tokens.size()) {
                continue;
            }
            String name = tokens.get(j);
            boolean call = j + 1 < tokens.size() && tokens.get(j + 1).equals("(") && !t.equals("into") && !t.equals("copy");
            if (!call && distributed.contains(name.substring(name.indexOf('.') + 1))) {
                named.add(name);
            }
        }
        return named;
    }

    static int appIdConditions(String block) {
        return matches(APP_ID_CONDITION, block, null)
                + matches(USING_COLUMNS, block, APP_ID)
                + matches(ROW_COMPARISON, block, APP_ID)
                + matches(INSERTED_COLUMNS, block, APP_ID);
    }

    private static int matches(Pattern pattern, String text, Pattern inGroup) {
        int count = 0;
        Matcher m = pattern.matcher(text);
        while (m.find()) {
            if (inGroup == null || inGroup.matcher(m.group(1)).find()) {
                count++;
            }
        }
        return count;
    }

    private static String abbreviated(String block) {
        return "\"" + (block.length() > 120 ? block.substring(0, 117) + "..." : block) + "\"";
    }
}
