package dev.parley.search;

import dev.parley.db.Handle;
import dev.parley.db.Query;
import dev.parley.input.Graphemes;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import org.tartarus.snowball.SnowballStemmer;
import org.tartarus.snowball.ext.ArabicStemmer;
import org.tartarus.snowball.ext.ArmenianStemmer;
import org.tartarus.snowball.ext.BasqueStemmer;
import org.tartarus.snowball.ext.CatalanStemmer;
import org.tartarus.snowball.ext.DanishStemmer;
import org.tartarus.snowball.ext.DutchStemmer;
import org.tartarus.snowball.ext.EnglishStemmer;
import org.tartarus.snowball.ext.FinnishStemmer;
import org.tartarus.snowball.ext.FrenchStemmer;
import org.tartarus.snowball.ext.GreekStemmer;
import org.tartarus.snowball.ext.HindiStemmer;
import org.tartarus.snowball.ext.HungarianStemmer;
import org.tartarus.snowball.ext.IndonesianStemmer;
import org.tartarus.snowball.ext.IrishStemmer;
import org.tartarus.snowball.ext.ItalianStemmer;
import org.tartarus.snowball.ext.LithuanianStemmer;
import org.tartarus.snowball.ext.NepaliStemmer;
import org.tartarus.snowball.ext.NorwegianStemmer;
import org.tartarus.snowball.ext.PortugueseStemmer;
import org.tartarus.snowball.ext.RussianStemmer;
import org.tartarus.snowball.ext.SerbianStemmer;
import org.tartarus.snowball.ext.SpanishStemmer;
import org.tartarus.snowball.ext.SwedishStemmer;
import org.tartarus.snowball.ext.TamilStemmer;
import org.tartarus.snowball.ext.TurkishStemmer;
import org.tartarus.snowball.ext.YiddishStemmer;

/**
 * A search hit's snippet: the text around its matches, each matched word wrapped in {@code <mark></mark>}
 * (not HTML-escaped). Made here rather than by {@code ts_headline}, which parsed and stemmed every
 * returned text again inside PostgreSQL, about 80 µs a message: half of a heavy user's search
 * (docs/benchmarks.md, "Search: snippets made in Parley"). A word is matched when its lexeme is one
 * of the query's (not negated) lexemes; lexemes come from the Snowball stemmers PostgreSQL's own
 * configurations use (SnippetsTest checks them against {@code ts_lexize} and the marks against
 * {@code ts_headline}), chosen per token type by the configuration's mappings, read from the
 * database on first use. A configuration whose mappings Parley cannot follow (german, whose Snowball
 * stemmer Lucene's differs from; a dictionary of its own, unaccent, a thesaurus) has its words' lexemes
 * looked up in PostgreSQL instead ({@link LookedUp}): one statement a page for the words not seen before,
 * {@code to_tsvector} of each. Either way a snippet is the text itself, verbatim, with {@code <mark>}s and
 * {@code …} at its cuts; {@code ts_headline} was not: it dropped HTML tags, runs of symbols (emoji) and
 * words too long to index, joining what lay around them, and it ignored {@link #MAX_CHARS}.
 *
 * <p>A text of up to {@link #MAX_WORDS} words is its snippet whole (up to {@link #MAX_CHARS}); a longer one gives up to
 * {@link #MAX_FRAGMENTS} fragments of up to {@link #MAX_WORDS} words, each from a few words before
 * a match not yet shown, joined by {@code " ... "}; a long text without a match (the word was only
 * in a compound the tokenizer split differently) gives its first words.
 */
public final class Snippets {
    static final int MAX_WORDS = 24;
    static final int MAX_FRAGMENTS = 2;
    /** How many words a fragment shows before its first match. */
    static final int LEAD_WORDS = 4;
    static final String DELIMITER = " ... ";
    /**
     * How many characters a fragment shows at most, past its marks: a few words can be a huge token (a pasted
     * base64 blob), cut with an ellipsis. A match is never longer than 2,047 characters (PostgreSQL indexes no
     * longer word), so a fragment stays under about 3,000.
     */
    static final int MAX_CHARS = 1_000;
    /** The longest word PostgreSQL indexes: a longer one is in no index, so never a match, and is not looked up. */
    static final int MAX_WORD = 2_047;

    // Which dictionary each token type of each configuration goes through, for the configurations on
    // PostgreSQL's default parser: what to_tsvector does to a word, so that the same can be done here.
    // Only those visible by their bare name, which is how a regconfig reads as text.
    static final Query MAPPINGS = new Query("search.configuration_mappings", """
            SELECT c.cfgname, t.alias, d.dictname, d.dictnamespace = 'pg_catalog'::regnamespace AS built_in
              FROM pg_ts_config c
              JOIN pg_ts_config_map m ON m.mapcfg = c.oid
              JOIN LATERAL ts_token_type(c.cfgparser) t ON t.tokid = m.maptokentype
              JOIN pg_ts_dict d ON d.oid = m.mapdict
             WHERE c.cfgparser = (SELECT oid FROM pg_ts_parser WHERE prsname = 'default' AND prsnamespace = 'pg_catalog'::regnamespace)
               AND pg_ts_config_is_visible(c.oid)
             ORDER BY c.cfgname, t.alias, m.mapseqno""");

    /**
     * The lexemes of words, each read alone by its configuration: for the configurations Parley cannot follow. A
     * word alone is parsed as it is in its text (Words reads the runs PostgreSQL's parser does), save that a part
     * of a hyphenated word is typed as a word of its own: the same dictionaries in every built-in configuration.
     */
    static final Query LEXEMES = new Query("search.snippet_lexemes", """
            SELECT tsvector_to_array(to_tsvector(word.language::regconfig, word.token))
              FROM unnest(?::text[], ?::text[]) WITH ORDINALITY AS word(language, token, n)
             ORDER BY word.n""");

    /**
     * PostgreSQL's built-in Snowball dictionaries ({@code english_stem} ...) and the same stemmers in Java. Not
     * german_stem nor romanian_stem: Lucene's newer Snowball reads "ue" as "ü" (continuellement) and ş as ș,
     * PostgreSQL 17's does not (SnippetsTest).
     */
    static final Map<String, Supplier<SnowballStemmer>> STEMMERS = Map.ofEntries(
            Map.entry("arabic_stem", ArabicStemmer::new), Map.entry("armenian_stem", ArmenianStemmer::new),
            Map.entry("basque_stem", BasqueStemmer::new), Map.entry("catalan_stem", CatalanStemmer::new),
            Map.entry("danish_stem", DanishStemmer::new), Map.entry("dutch_stem", DutchStemmer::new),
            Map.entry("english_stem", EnglishStemmer::new), Map.entry("finnish_stem", FinnishStemmer::new),
            Map.entry("french_stem", FrenchStemmer::new),
            Map.entry("greek_stem", GreekStemmer::new),
            Map.entry("hindi_stem", HindiStemmer::new), Map.entry("hungarian_stem", HungarianStemmer::new),
            Map.entry("indonesian_stem", IndonesianStemmer::new), Map.entry("irish_stem", IrishStemmer::new),
            Map.entry("italian_stem", ItalianStemmer::new), Map.entry("lithuanian_stem", LithuanianStemmer::new),
            Map.entry("nepali_stem", NepaliStemmer::new), Map.entry("norwegian_stem", NorwegianStemmer::new),
            Map.entry("portuguese_stem", PortugueseStemmer::new),
            Map.entry("russian_stem", RussianStemmer::new), Map.entry("serbian_stem", SerbianStemmer::new),
            Map.entry("spanish_stem", SpanishStemmer::new), Map.entry("swedish_stem", SwedishStemmer::new),
            Map.entry("tamil_stem", TamilStemmer::new), Map.entry("turkish_stem", TurkishStemmer::new),
            Map.entry("yiddish_stem", YiddishStemmer::new));

    /** A text to highlight: the text-search configuration it was indexed with, and the text. */
    public record Text(String language, String content) {
    }

    /** The configurations Parley follows, by name; read on first use (a configuration made later is looked up). */
    private volatile Map<String, Configuration> configurations;
    /** The lexemes looked up so far for each configuration Parley does not follow, by its name. */
    private final Map<String, Map<String, String[]>> lookedUp = new ConcurrentHashMap<>();

    /** The snippets of {@code texts} for the matches of {@code query}, a tsquery as text; in order, one each. */
    public List<String> of(Handle handle, String query, List<Text> texts) throws SQLException {
        Map<String, Configuration> followed = configurations(handle);
        QueryLexemes lexemes = QueryLexemes.parse(query);
        Marker[] markers = new Marker[texts.size()];
        Map<String, LookedUp> lookUps = new HashMap<>();
        for (int i = 0; i < texts.size(); i++) {
            Text text = texts.get(i);
            markers[i] = followed.get(text.language());
            if (markers[i] == null) {
                LookedUp lookUp = lookUps.computeIfAbsent(text.language(),
                        language -> new LookedUp(lookedUp.computeIfAbsent(language, l -> new ConcurrentHashMap<>())));
                if (!lexemes.lexemes().isEmpty()) { // nothing to mark: no word to look up
                    lookUp.want(text.content());
                }
                markers[i] = lookUp;
            }
        }
        lookUp(handle, lookUps);
        List<String> snippets = new ArrayList<>(texts.size());
        for (int i = 0; i < texts.size(); i++) {
            snippets.add(snippet(texts.get(i).content(), markers[i], lexemes));
        }
        return snippets;
    }

    /** Asks PostgreSQL, in one statement, for the lexemes of the words each look-up wants and has not seen. */
    private static void lookUp(Handle handle, Map<String, LookedUp> lookUps) throws SQLException {
        List<String> languages = new ArrayList<>();
        List<String> tokens = new ArrayList<>();
        lookUps.forEach((language, lookUp) -> lookUp.missing.forEach(token -> {
            languages.add(language);
            tokens.add(token);
        }));
        if (tokens.isEmpty()) {
            return;
        }
        List<String[]> found = handle.list(LEXEMES, row -> (String[]) row.getArray(1).getArray(),
                handle.array("text", languages.toArray()), handle.array("text", tokens.toArray()));
        for (int i = 0; i < tokens.size(); i++) {
            lookUps.get(languages.get(i)).learn(tokens.get(i), found.get(i));
        }
    }

    /** What marks a text's matched words: a configuration Parley follows, or the lexemes looked up for one it does not. */
    interface Marker {
        /** Adds to {@code marks} each part of {@code word} whose lexeme is asked for; returns whether it added any. */
        boolean mark(String content, Words.Word word, QueryLexemes lexemes, List<Words.Span> marks);
    }

    /**
     * The lexemes of the words of one search's texts in a configuration Parley cannot follow, as PostgreSQL makes
     * them ({@link #LEXEMES}). Kept per configuration ({@link Dictionary#KEPT_STEMS} at most, then forgotten all at
     * once) so that a chat's repeated words are asked for once: a search then costs a statement only for the words
     * it has not met yet. A text's words are all read (its matches decide which of them its fragments show), as
     * {@code ts_headline} read them.
     */
    static final class LookedUp implements Marker {
        /** The longest word kept: a chat's words are short, and a pasted blob's few long ones would hold megabytes. */
        static final int KEPT_LENGTH = 64;

        private final Map<String, String[]> kept; // shared by every search in that configuration
        private final Map<String, String[]> known = new HashMap<>(); // this search's: kept may be forgotten meanwhile
        private final Set<String> missing = new LinkedHashSet<>();

        LookedUp(Map<String, String[]> kept) {
            this.kept = kept;
        }

        /** Notes the words of {@code content} whose lexemes are not known yet. */
        void want(String content) {
            for (Words.Word word : Words.of(content)) {
                for (Words.Part part : word.parts()) {
                    if (part.end() - part.start() > MAX_WORD) {
                        continue;
                    }
                    String token = content.substring(part.start(), part.end());
                    if (!known.containsKey(token) && !missing.contains(token)) {
                        String[] lexemes = kept.get(token);
                        if (lexemes == null) {
                            missing.add(token);
                        } else {
                            known.put(token, lexemes);
                        }
                    }
                }
            }
        }

        void learn(String token, String[] lexemes) {
            known.put(token, lexemes);
            if (token.length() > KEPT_LENGTH) {
                return;
            }
            if (kept.size() >= Dictionary.KEPT_STEMS) {
                kept.clear();
            }
            kept.put(token, lexemes);
        }

        @Override
        public boolean mark(String content, Words.Word word, QueryLexemes lexemes, List<Words.Span> marks) {
            boolean marked = false;
            for (Words.Part part : word.parts()) {
                String[] made = part.end() - part.start() > MAX_WORD ? null : known.get(content.substring(part.start(), part.end()));
                if (made != null && anyOf(made, lexemes)) {
                    marks.add(new Words.Span(part.start(), part.end()));
                    marked = true;
                }
            }
            return marked;
        }

        private static boolean anyOf(String[] made, QueryLexemes lexemes) {
            for (String lexeme : made) {
                if (lexemes.contains(lexeme)) {
                    return true;
                }
            }
            return false;
        }
    }

    /**
     * The snippet of one text, its words marked by {@code configuration}. A long text's words are read and looked up only
     * until its fragments are settled: what lies past them is never shown.
     */
    static String snippet(String content, Marker configuration, QueryLexemes lexemes) {
        return snippet(new Words.Reader(content), content, configuration, lexemes);
    }

    /** As above, from {@code words}, a reader of {@code content}. */
    static String snippet(Words.Reader words, String content, Marker configuration, QueryLexemes lexemes) {
        List<Words.Span> marks = new ArrayList<>();
        if (!words.has(MAX_WORDS)) {
            int count = words.countUpTo(MAX_WORDS);
            for (int w = 0; w < count; w++) {
                configuration.mark(content, words.get(w), lexemes, marks);
            }
            return fragment(content, words, 0, count, marks);
        }
        List<Fragment> fragments = new ArrayList<>();
        int shownTo = 0; // words before this index are in a fragment already
        for (int w = 0; words.has(w) && (fragments.size() < MAX_FRAGMENTS || w < shownTo); w++) {
            boolean matched = configuration.mark(content, words.get(w), lexemes, marks);
            if (matched && w >= shownTo && fragments.size() < MAX_FRAGMENTS) {
                int first = Math.max(shownTo, w - LEAD_WORDS);
                shownTo = words.countUpTo(first + MAX_WORDS);
                fragments.add(new Fragment(first, shownTo));
            }
        }
        if (fragments.isEmpty()) {
            fragments.add(new Fragment(0, MAX_WORDS));
        }
        List<String> shown = new ArrayList<>(fragments.size());
        for (Fragment fragment : fragments) {
            shown.add(fragment(content, words, fragment.first(), fragment.end(), marks));
        }
        return String.join(DELIMITER, shown);
    }

    /** Words [first, end) of a text, shown. */
    private record Fragment(int first, int end) {
    }

    /**
     * Words [first, end) with what lies between them; from the text's start or to its end when they are its first or
     * last; no more than {@link #MAX_CHARS} from a little before its first mark (a longer mark is shown whole), cut
     * between graphemes: never between a letter and its accent, nor inside an emoji sequence or a surrogate pair.
     */
    private static String fragment(String content, Words.Reader words, int first, int end, List<Words.Span> marks) {
        // A word may begin or end inside a grapheme (a flag's variation selector reads as a word's letter): its edges
        // are moved out to the grapheme's, so no emoji sequence loses a part.
        int from = first == 0 ? 0 : Graphemes.start(content, 0, words.get(first).start());
        int to = !words.has(end) ? content.length() : Graphemes.end(content, words.get(end - 1).end());
        if (to - from <= MAX_CHARS) {
            return marked(content, from, to, marks);
        }
        Words.Span anchor = marks.stream().filter(mark -> mark.start() >= from && mark.end() <= to).findFirst()
                .orElse(new Words.Span(from, from));
        int start = Graphemes.start(content, from, Math.max(from, anchor.start() - MAX_CHARS / 4));
        int stop = Graphemes.start(content, from, Math.min(to, start + MAX_CHARS));
        stop = Math.max(stop, anchor.end()); // a mark longer than the cut is shown whole
        return (start > from ? "…" : "") + marked(content, start, stop, marks) + (stop < to ? "…" : "");
    }

    /** content[from, to) with each mark inside it wrapped. */
    static String marked(String content, int from, int to, List<Words.Span> marks) {
        StringBuilder out = new StringBuilder(to - from + 32);
        int at = from;
        for (Words.Span mark : marks) {
            if (mark.start() >= from && mark.end() <= to) {
                out.append(content, at, mark.start()).append("<mark>").append(content, mark.start(), mark.end()).append("</mark>");
                at = mark.end();
            }
        }
        return out.append(content, at, to).toString();
    }

    /** The configurations Parley follows, read from the database once. */
    Map<String, Configuration> configurations(Handle handle) throws SQLException {
        Map<String, Configuration> known = configurations;
        if (known == null) {
            Map<String, Map<String, List<String>>> mappings = new HashMap<>();
            handle.list(MAPPINGS, row -> {
                String dictionary = row.getBoolean("built_in") ? row.getString("dictname") : "(own) " + row.getString("dictname");
                return mappings.computeIfAbsent(row.getString("cfgname"), name -> new HashMap<>())
                        .computeIfAbsent(row.getString("alias"), alias -> new ArrayList<>()).add(dictionary);
            });
            known = Configuration.followable(mappings);
            configurations = known;
        }
        return known;
    }

    /**
     * What one configuration does to each token type Parley tells apart: the one built-in dictionary it goes
     * through ({@code simple}, or a Snowball {@code X_stem}), or none when the type is not indexed.
     */
    static final class Configuration implements Marker {
        private final Dictionary[] byType = new Dictionary[Words.Type.values().length]; // looked up for every word

        /** From each token type's dictionary; a type not among them is not indexed. */
        Configuration(Map<Words.Type, Dictionary> dictionaries) {
            dictionaries.forEach((type, dictionary) -> byType[type.ordinal()] = dictionary);
        }

        /** The configurations among {@code mappings} (name to token type to dictionaries) that Parley can follow. */
        static Map<String, Configuration> followable(Map<String, Map<String, List<String>>> mappings) {
            Map<String, Dictionary> shared = new HashMap<>(); // one of each, so each keeps one cache of stems
            Map<String, Configuration> followed = new HashMap<>();
            mappings.forEach((name, byType) -> {
                Map<Words.Type, Dictionary> dictionaries = new EnumMap<>(Words.Type.class);
                boolean followable = true;
                for (Words.Type type : Words.Type.values()) {
                    List<String> chain = byType.getOrDefault(type.alias(), List.of());
                    if (chain.size() > 1 || chain.size() == 1 && !Dictionary.known(chain.getFirst())) {
                        followable = false;
                    } else if (chain.size() == 1) {
                        dictionaries.put(type, shared.computeIfAbsent(chain.getFirst(), Dictionary::new));
                    }
                }
                if (followable) {
                    followed.put(name, new Configuration(dictionaries));
                }
            });
            return Map.copyOf(followed);
        }

        @Override
        public boolean mark(String content, Words.Word word, QueryLexemes lexemes, List<Words.Span> marks) {
            boolean marked = false;
            for (Words.Part part : word.parts()) {
                Dictionary dictionary = byType[part.type().ordinal()];
                if (dictionary != null && dictionary.mayGiveOneOf(content.codePointAt(part.start()), lexemes)
                        && lexemes.contains(dictionary.lexeme(content.substring(part.start(), part.end())))) {
                    marks.add(new Words.Span(part.start(), part.end()));
                    marked = true;
                }
            }
            return marked;
        }
    }

    /**
     * One of PostgreSQL's built-in dictionaries, done here: {@code simple} lower-cases; a Snowball one
     * lower-cases and stems. Stems are kept (a chat's words repeat: stemming was most of a snippet's cost),
     * up to {@link #KEPT_STEMS}, then forgotten all at once.
     */
    static final class Dictionary {
        static final int KEPT_STEMS = 100_000;

        private final Supplier<SnowballStemmer> stemmer;
        private final Map<String, String> stems = new ConcurrentHashMap<>();
        /**
         * Whether each lexeme it makes begins with its token's first letter, lower-cased: {@code simple} only lower-cases;
         * English's Snowball stemmer (Porter2) changes a word's end alone, and its exceptions (dying: die, skies: sky)
         * keep the first letter too; the one rule that does not, an apostrophe dropped from the front, never applies, as
         * PostgreSQL's parser starts no word with one. SnippetsTest holds it against PostgreSQL's dictionaries.
         */
        private final boolean keepsFirstLetter;

        Dictionary(String name) {
            this.stemmer = name.equals("simple") ? null : STEMMERS.get(name);
            this.keepsFirstLetter = name.equals("simple") || name.equals("english_stem");
        }

        /**
         * Whether a token that begins with {@code firstLetter} may become one of {@code lexemes}; false only when it
         * cannot, known without stemming it. Most of a text's words begin otherwise than the few words asked for:
         * looking each up among the kept stems was most of a search's CPU in Parley (docs/benchmarks.md).
         */
        boolean mayGiveOneOf(int firstLetter, QueryLexemes lexemes) {
            return !keepsFirstLetter || lexemes.anyBeginsWith(Character.toLowerCase(firstLetter));
        }

        /** How many stems it keeps. */
        int kept() {
            return stems.size();
        }

        static boolean known(String name) {
            return name.equals("simple") || STEMMERS.containsKey(name);
        }

        String lexeme(String token) {
            String lower = lowerCase(token);
            if (stemmer == null) {
                return lower;
            }
            String stem = stems.get(lower);
            if (stem == null) {
                SnowballStemmer snowball = stemmer.get();
                snowball.setCurrent(lower);
                snowball.stem();
                stem = snowball.getCurrent();
                if (stems.size() >= KEPT_STEMS) {
                    stems.clear();
                }
                stems.put(lower, stem);
            }
            return stem;
        }

        /** Character by character, as PostgreSQL's dictionaries lower-case (İ is i, not i and a combining dot). */
        private static String lowerCase(String token) {
            int i = 0;
            for (char c; i < token.length() && ((c = token.charAt(i)) < 128 ? c < 'A' || c > 'Z' : c == Character.toLowerCase(c) && !Character.isSurrogate(c)); ) {
                i++;
            }
            if (i == token.length()) {
                return token;
            }
            StringBuilder lower = new StringBuilder(token.length()).append(token, 0, i);
            token.codePoints().skip(token.codePointCount(0, i)).forEach(c -> lower.appendCodePoint(Character.toLowerCase(c)));
            return lower.toString();
        }
    }
}
