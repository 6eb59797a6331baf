package dev.parley.search;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.db.Database;
import dev.parley.db.Query;
import dev.parley.support.TestDatabase;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Snippets made in Parley mark what PostgreSQL's own ts_headline marks, over plain and awkward texts. */
class SnippetsTest {
    private static final String DB = "parley_snippets";

    private static Database database;
    private static Connection connection;

    // Words of many scripts and endings; every stemmer is run on all of them, each language's and the others':
    // whatever the word, the Java stemmer must give what PostgreSQL's dictionary gives.
    private static final List<String> WORDS = List.of(
            "walked", "walking", "walks", "stars", "generously", "dying", "skies", "news", "cycling", "proceed", "exceed",
            "succeeded", "communism", "universe", "gently", "ugly", "early", "only", "singly", "bias", "atlas", "cosmos",
            "andes", "inning", "outing", "canning", "herring", "earring", "happiness", "flies", "agreed", "consolidate",
            "relational", "conditional", "rational", "valency", "hesitancy", "digitizer", "conformability", "radically",
            "differently", "vilely", "analogously", "vietnamization", "predication", "operator", "feudalism", "decisiveness",
            "hopefulness", "callousness", "formality", "sensitivity", "sensibility", "triplicate", "formative", "formalize",
            "electricity", "electrical", "hopeful", "goodness", "revival", "allowance", "inference", "airliner", "gyroscopic",
            "adjustable", "defensible", "irritant", "replacement", "adjustment", "dependent", "adoption", "homologou",
            "communism", "activate", "angularity", "homologous", "effective", "bowdlerize", "probate", "rate", "cease",
            "controll", "roll", "dont", "ok", "x", "i", "cat's", "naïve", "café", "résumé", "Zürich", "Straße",
            "chanteuses", "mangeons", "continuellement", "häuser", "laufen", "aufeinanderfolgenden", "corriendo",
            "canciones", "rapidamente", "bellissimi", "parlavano", "ações", "coração", "lopen", "gelukkig", "springande",
            "flickorna", "книги", "читающий", "разговаривали", "καλημέρα", "ανθρώπους", "kitaplarımızdan", "gelmeyecekler",
            "kirjoissa", "taloissamme", "könyveinkben", "كتابات", "المعلمون", "पुस्तकें", "लड़कियों", "புத்தகங்கள்",
            "գրքերը", "etxeetan", "llibres", "knjigama", "kitaplar", "buku-buku", "bøkene", "bøgerne", "cărțile",
            "leabhair", "knygose", "raamatutele", "ביכער", "किताबहरू", "2026", "abc123", "x86", "ŞİŞLİ", "ǅemal");

    @BeforeAll
    static void open() throws SQLException {
        TestDatabase.get().migrated(DB);
        database = TestDatabase.pool(TestDatabase.get().target(DB), 2);
        connection = TestDatabase.get().connect(DB);
        try (var s = connection.createStatement()) {
            // A configuration Parley cannot follow: its words go through a dictionary of its own.
            s.execute("DROP TEXT SEARCH CONFIGURATION IF EXISTS own_words");
            s.execute("DROP TEXT SEARCH DICTIONARY IF EXISTS own_simple");
            s.execute("CREATE TEXT SEARCH DICTIONARY own_simple (TEMPLATE = pg_catalog.simple)");
            s.execute("CREATE TEXT SEARCH CONFIGURATION own_words (COPY = simple)");
            s.execute("ALTER TEXT SEARCH CONFIGURATION own_words ALTER MAPPING FOR asciiword, word WITH own_simple");
            // One Parley could follow, but in a schema off the search path: as text its regconfig reads "elsewhere.hidden_english".
            s.execute("DROP SCHEMA IF EXISTS elsewhere CASCADE");
            s.execute("CREATE SCHEMA elsewhere");
            s.execute("CREATE TEXT SEARCH CONFIGURATION elsewhere.hidden_english (COPY = english)");
        }
    }

    @AfterAll
    static void close() throws SQLException {
        connection.close();
        database.close();
    }

    @Test
    void every_stemmer_gives_what_postgresqls_dictionary_gives() throws SQLException {
        List<String> differences = new ArrayList<>();
        int compared = 0;
        for (String dictionary : Snippets.STEMMERS.keySet()) {
            var stemming = new Snippets.Dictionary(dictionary);
            for (String word : WORDS) {
                String expected = lexize(dictionary, word);
                if (expected == null) {
                    continue; // a stop word of that language: never in a query
                }
                compared++;
                String made = stemming.lexeme(word);
                if (!expected.equals(made)) {
                    differences.add(dictionary + ": " + word + " -> " + made + ", PostgreSQL " + expected);
                }
            }
        }
        assertThat(compared).isGreaterThan(3_000);
        assertThat(differences).isEmpty();
    }

    @Test
    void english_and_simple_lexemes_begin_with_their_words_first_letter_lower_cased() throws SQLException {
        // What lets a word whose first letter no asked lexeme has go unstemmed (Snippets.Dictionary.mayGiveOneOf).
        // Each token as Parley's parser reads it from the words, capitalised and not, and from a few more: an
        // apostrophe in front ('tis) is no part of the token, which the stemmer would drop it from.
        List<String> texts = new ArrayList<>(WORDS);
        WORDS.forEach(word -> texts.add(word.toUpperCase(java.util.Locale.ROOT)));
        texts.addAll(List.of("yelling", "Yes", "yyyy", "ies", "sses", "'tis", "''twas", "rock'n'roll", "ÉCOLE", "İstanbul", "Ωmega"));
        List<String> words = new ArrayList<>();
        for (String text : texts) {
            var reader = new Words.Reader(text);
            for (int w = 0; reader.has(w); w++) {
                reader.get(w).parts().forEach(part -> words.add(text.substring(part.start(), part.end())));
            }
        }
        assertThat(words).contains("tis", "twas").noneMatch(word -> word.startsWith("'"));
        for (String dictionary : List.of("english_stem", "simple")) {
            var parleys = new Snippets.Dictionary(dictionary);
            for (String word : words) {
                int first = Character.toLowerCase(word.codePointAt(0));
                assertThat(parleys.mayGiveOneOf(word.codePointAt(0), QueryLexemes.of(Set.of(parleys.lexeme(word))))).as("%s: %s", dictionary, word).isTrue();
                String postgresql = lexize(dictionary, word);
                if (postgresql != null && Character.isLetter(first)) { // null: a stop word, never in a query
                    assertThat(postgresql.codePointAt(0)).as("%s: %s gives %s", dictionary, word, postgresql).isEqualTo(first);
                }
            }
        }
        assertThat(new Snippets.Dictionary("french_stem").mayGiveOneOf('z', QueryLexemes.of(Set.of("abc")))).as("not assumed of others").isTrue();
    }

    @Test
    void a_word_whose_first_letter_no_asked_lexeme_has_is_not_stemmed() {
        var english = new Snippets.Dictionary("english_stem");
        var configuration = new Snippets.Configuration(Map.of(Words.Type.ASCIIWORD, english));

        String snippet = Snippets.snippet("We walked home under the stars tonight", configuration, QueryLexemes.of(Set.of("star")));

        assertThat(snippet).isEqualTo("We walked home under the <mark>stars</mark> tonight");
        assertThat(english.kept()).as("only the words that begin with s were stemmed").isEqualTo(1);
    }

    @Test
    void marks_are_the_words_ts_headline_marks() throws SQLException {
        List<String[]> cases = List.of(
                new String[] {"english", "walk star", "Which stars did you see while walking the dogs? I walked home."},
                new String[] {"english", "dog cat", "The dog chased the cat; dogs and cats, cat-dog."},
                new String[] {"english", "\"under the stars\"", "We slept under the stars, stars everywhere"},
                new String[] {"english", "don't", "I don't know, don't ask. Do not."},
                new String[] {"english", "well-known", "a well-known fact, well known, well-known-ish"},
                new String[] {"english", "happy or sad", "Happiness, HAPPY, happily; sadness, SAD!"},
                new String[] {"english", "naive cafe", "naïve café and naive cafe"},
                new String[] {"english", "abc123 2026", "abc123 in 2026, ABC123 and 2026-12-01"},
                new String[] {"english", "stars", "<b>stars</b> & <script>stars</script> \"stars\" 'stars' <a href=\"stars.html\">x</a>"},
                new String[] {"english", "stars b", "a < b > stars <b stars <STYLE>stars</style> b<i>stars</i>"},
                new String[] {"english", "stars", "İİİ <script>x</script>stars <style>stars</STYLE> stars </script"},
                new String[] {"english", "moon", "🌙 moon🌙moon 🌕 moonlight moons"},
                new String[] {"english", "tokyo", "東京 tokyo 東京タワー Tokyo's"},
                new String[] {"french", "chanteuse", "Les chanteuses chantent; une chanteuse."},
                new String[] {"spanish", "canción", "Las canciones, una canción y cantar."},
                new String[] {"russian", "книга", "Книги на столе, книга и книгой; books"},
                new String[] {"simple", "the", "The the THE there"},
                new String[] {"english", "o'clock", "at five o'clock, o clock"});
        for (String[] c : cases) {
            String language = c[0];
            String query = websearch(language, c[1]);
            String content = c[2];
            Snippets.Configuration configuration = configuration(language);
            List<Words.Span> marks = new ArrayList<>();
            Words.of(content).forEach(word -> configuration.mark(content, word, QueryLexemes.parse(query), marks));
            String made = Snippets.marked(content, 0, content.length(), marks);
            assertThat(markedWords(made)).as("%s %s in %s", language, c[1], content)
                    .isEqualTo(markedWords(highlightAll(language, content, query)));
        }
    }

    @Test
    void a_short_text_is_its_snippet_whole_with_its_punctuation() throws SQLException {
        assertThat(snippet("english", "star", "Where do stars form?")).isEqualTo("Where do <mark>stars</mark> form?");
        assertThat(snippet("english", "dog", "Has two dogs, Rex and Nova")).isEqualTo("Has two <mark>dogs</mark>, Rex and Nova");
    }

    @Test
    void a_long_text_gives_two_fragments_around_its_first_matches() throws SQLException {
        StringBuilder text = new StringBuilder();
        for (int i = 1; i <= 100; i++) {
            text.append(i == 10 || i == 15 || i == 60 || i == 90 ? "star" : "w" + i).append(i % 7 == 0 ? ". " : " ");
        }
        String snippet = snippet("english", "star", text.toString().strip());
        String[] fragments = snippet.split(Pattern.quote(Snippets.DELIMITER));
        assertThat(fragments).hasSize(2);
        assertThat(fragments[0]).startsWith("w6 w7. w8 w9 <mark>star</mark>").contains("w11 w12 w13 w14. <mark>star</mark>");
        assertThat(fragments[0].split(" ")).hasSize(Snippets.MAX_WORDS);
        assertThat(fragments[1]).startsWith("w56. w57 w58 w59 <mark>star</mark> w61");
        assertThat(snippet).doesNotContain("w90").doesNotContain("w5 ");
    }

    @Test
    void a_long_texts_words_are_read_only_as_far_as_its_fragments() throws SQLException {
        StringBuilder text = new StringBuilder("An early star, then another star later on.");
        for (int i = 0; i < 100_000; i++) {
            text.append(i == 40 ? " star" : " w" + i); // the second fragment's match, then words no fragment shows
        }
        String content = text.toString();
        var words = new Words.Reader(content);

        String snippet = Snippets.snippet(words, content, configuration("english"), QueryLexemes.parse(websearch("english", "star")));

        assertThat(snippet).isEqualTo(snippet("english", "star", content)).startsWith("An early <mark>star</mark>, then another")
                .contains("w39 <mark>star</mark> w41");
        assertThat(words.wordsRead()).as("words read of 100,008").isLessThan(100);
        assertThat(Words.of(content)).hasSize(100_008);
    }

    @Test
    void a_long_text_without_a_marked_word_gives_its_first_words() throws SQLException {
        String text = "x-star-y ".repeat(5) + "word ".repeat(40);
        assertThat(snippet("english", "nothing", text)).isEqualTo(text.substring(0, text.indexOf("word ") + "word ".repeat(19).length() - 1));
    }

    @Test
    void a_huge_token_is_cut_around_the_match() throws SQLException {
        String blob = "𝐀b".repeat(10_000); // one word of 30,000 characters (𝐀 is a letter outside the BMP: a surrogate pair)
        String after = snippet("english", "star", "star " + blob + " end");
        String before = snippet("english", "star", blob + " star end");

        assertThat(after).startsWith("<mark>star</mark> ").endsWith("…").hasSizeLessThan(Snippets.MAX_CHARS + 20);
        assertThat(before).startsWith("…").contains("<mark>star</mark> end").hasSizeLessThan(Snippets.MAX_CHARS + 20);
        assertThat(after + before).doesNotContain("\uFFFD");
        assertThat(Character.isLowSurrogate(before.charAt(1))).as("a cut between the halves of a pair").isFalse();
        assertThat(Character.isHighSurrogate(after.charAt(after.length() - 2))).as("a cut between the halves of a pair").isFalse();
    }

    @Test
    void texts_without_words_and_empty_queries_come_back_unmarked() throws SQLException {
        assertThat(snippet("english", "star", "🌟🌟🌟 !!! ...")).isEqualTo("🌟🌟🌟 !!! ...");
        assertThat(snippet("english", "the", "the stars")).isEqualTo("the stars");
        assertThat(snippet("english", "star", "")).isEmpty();
    }

    @Test
    void a_configuration_parley_cannot_follow_has_its_words_lexemes_looked_up_in_postgresql() throws SQLException {
        assertThat(configurations()).containsKeys("english", "french", "simple")
                .doesNotContainKeys("own_words", "german", "romanian", "hidden_english");
        List<String> snippets = database.read(handle -> new Snippets().of(handle, websearch("own_words", "stars"), List.of(
                new Snippets.Text("own_words", "stars and stars"), new Snippets.Text("simple", "the stars"))));
        assertThat(snippets).containsExactly("<mark>stars</mark> and <mark>stars</mark>", "the <mark>stars</mark>");
        assertThat(snippet("elsewhere.hidden_english", "walk", "She walked home, walking")).isEqualTo("She <mark>walked</mark> home, <mark>walking</mark>");
    }

    @Test
    void looked_up_marks_are_the_words_ts_headline_marks() throws SQLException {
        List<String[]> cases = List.of(
                new String[] {"german", "Stern", "Die Sterne leuchten, ein Stern und STERNEN; sternklar"},
                new String[] {"german", "Haus laufen", "Häuser, Hauses, dem Hause; er läuft, wir laufen, Lauf-Haus"},
                new String[] {"german", "Straßenbahn", "Straßenbahnen, die Strassenbahn und STRASSENBAHN"},
                new String[] {"german", "kontinuierlich", "kontinuierliche Kontinuität, continuellement"},
                new String[] {"romanian", "carte", "cărțile, cartea, cărţi și carte"},
                new String[] {"german", "und", "und und"},
                new String[] {"own_words", "Stars", "stars STARS, Stars-and-stripes <b>stars</b>"});
        for (String[] c : cases) {
            String query = websearch(c[0], c[1]);
            String made = database.read(handle -> new Snippets().of(handle, query, List.of(new Snippets.Text(c[0], c[2])))).getFirst();
            assertThat(made.replaceAll("</?mark>", "")).as("%s: verbatim", c[2]).isEqualTo(c[2]);
            assertThat(markedWords(made)).as("%s %s in %s", c[0], c[1], c[2]).isEqualTo(markedWords(highlightAll(c[0], c[2], query)));
        }
    }

    @Test
    void looked_up_lexemes_are_kept_for_the_next_search() throws SQLException {
        var snippets = new Snippets();
        String query = websearch("german", "Stern");
        database.read(handle -> snippets.of(handle, query, List.of(new Snippets.Text("german", "Die Sterne leuchten"))));
        List<List<String>> again = new ArrayList<>();
        try {
            database.inTransaction(handle -> {
                try { // from here the transaction refuses every statement: the snippets must need none
                    handle.execute(new Query("test.abort", "SELECT 1 / 0"));
                } catch (SQLException expected) {
                    again.add(snippets.of(handle, query, List.of(new Snippets.Text("german", "Sterne leuchten, Die Sterne"))));
                }
                throw new IllegalStateException("rolled back");
            });
        } catch (IllegalStateException rolledBack) {
            assertThat(rolledBack).hasMessage("rolled back");
        }
        assertThat(again).containsExactly(List.of("<mark>Sterne</mark> leuchten, Die <mark>Sterne</mark>"));
    }

    @Test
    void a_german_snippet_keeps_a_long_run_of_symbols_verbatim() throws SQLException {
        String content = "anfang600 " + "🌟".repeat(600) + " ende";
        String made = snippet("german", "ende", content);
        assertThat(made).startsWith("…🌟").endsWith("🌟 <mark>ende</mark>");
        assertVerbatimExcerpt(made, content);
    }

    @Test
    void a_german_snippet_keeps_a_word_too_long_to_index() throws SQLException {
        String content = "anfang " + "x".repeat(12_000) + " ende";
        String made = snippet("german", "ende", content);
        assertThat(made).startsWith("…xxx").endsWith("x <mark>ende</mark>");
        assertVerbatimExcerpt(made, content);
        assertThat(snippet("german", "anfang", content)).startsWith("<mark>anfang</mark> xxx").endsWith("x…");
    }

    @Test
    void a_german_snippet_keeps_what_looks_like_an_html_tag() throws SQLException {
        assertThat(snippet("german", "ende", "mitte <b>x</b> ende")).isEqualTo("mitte <b>x</b> <mark>ende</mark>");
        assertThat(snippet("german", "ende", "a<Straßenbahn>b ende")).isEqualTo("a<Straßenbahn>b <mark>ende</mark>");
        assertThat(snippet("german", "ende", "a‹Straßenbahn›b ende")).isEqualTo("a‹Straßenbahn›b <mark>ende</mark>");
        assertThat(snippet("german", "Straßenbahn", "a‹Straßenbahn›b ende")).isEqualTo("a‹<mark>Straßenbahn</mark>›b ende");
    }

    @Test
    void a_german_fragment_is_cut_at_the_documented_length() throws SQLException {
        String content = "ende " + ("w".repeat(45) + " ").repeat(22).strip(); // 23 words, 1,016 characters
        assertThat(content).hasSizeGreaterThan(Snippets.MAX_CHARS);
        String made = snippet("german", "ende", content);
        assertThat(made).startsWith("<mark>ende</mark> www").endsWith("w…")
                .hasSize(Snippets.MAX_CHARS + "<mark></mark>…".length());
        assertVerbatimExcerpt(made, content);
    }

    @Test
    void a_cut_never_parts_a_letter_from_its_accent_nor_an_emoji_sequence() throws SQLException {
        String accents = "ende " + "e\u0301".repeat(600); // one word: e and a combining acute accent, 600 times
        String made = snippet("english", "ende", accents);
        assertThat(made).startsWith("<mark>ende</mark> e\u0301").endsWith("e\u0301…");
        assertVerbatimExcerpt(made, accents);
        String before = snippet("english", "ende", "e\u0301".repeat(600) + " ende");
        assertThat(before).startsWith("…e\u0301").endsWith("<mark>ende</mark>");

        String family = "👩\u200D👩\u200D👧"; // one grapheme of five code points, eight characters
        String families = "ende " + family.repeat(200);
        made = snippet("english", "ende", families);
        assertThat(made.substring(0, made.length() - 1)).endsWith(family);
        assertVerbatimExcerpt(made, families);
        String flags = "ende " + "🇩🇪🇫🇷".repeat(300) + " x" ; // regional indicators read in pairs, a flag each
        made = snippet("german", "ende", flags);
        assertThat(made.substring(0, made.length() - 1)).endsWith("🇩🇪🇫🇷");
        String late = "🇩🇪🇫🇷".repeat(300) + "🇩🇪 ende";
        made = snippet("german", "ende", late);
        assertThat(made).startsWith("…🇩🇪🇫🇷").endsWith("🇩🇪 <mark>ende</mark>");
        assertVerbatimExcerpt(made, late);
    }

    @Test
    void a_fragment_begins_and_ends_on_a_whole_emoji_sequence_though_a_word_begins_inside_one() throws SQLException {
        // A flag's variation selector (U+FE0F) reads as the letter of a word: the fragment began there, without the 🏳.
        String rainbow = "🏳️\u200D🌈";
        String content = "Biscuit, I wanted to tell you something important that happened this weekend while you were napping in "
                + "the sun on the porch, so listen carefully okay? Happy pride" + rainbow + " love you" + rainbow
                + " walrus balloon was huge";
        String made = snippet("english", "walrus", content);
        assertThat(made).as(made).endsWith("<mark>walrus</mark> balloon was huge").doesNotStartWith("\uFE0F")
                .doesNotStartWith("\u200D").contains(rainbow + " <mark>walrus</mark>");
        assertThat(content).contains(made.replaceAll("</?mark>", ""));
        String ending = "walrus " + rainbow.repeat(100); // each selector a word: the fragment ended after one
        made = snippet("english", "walrus", ending);
        assertThat(made).as(made).startsWith("<mark>walrus</mark>").doesNotEndWith("\uFE0F").doesNotEndWith("🏳")
                .doesNotEndWith("\u200D");
        assertThat(ending).contains(made.replaceAll("</?mark>", "").replace("…", ""));
    }

    /** {@code snippet} with its marks and the ellipses at its cuts taken out is a piece of {@code content} as it is. */
    private static void assertVerbatimExcerpt(String snippet, String content) {
        String unmarked = snippet.replaceAll("</?mark>", "");
        String inner = unmarked.substring(unmarked.startsWith("…") ? 1 : 0, unmarked.length() - (unmarked.endsWith("…") ? 1 : 0));
        assertThat(content).as("verbatim").contains(inner);
        assertThat(unmarked.startsWith("…")).as("… at a cut in front").isEqualTo(!content.startsWith(inner));
        assertThat(unmarked.endsWith("…")).as("… at a cut at the end").isEqualTo(!content.endsWith(inner));
        assertThat(inner.length()).isLessThanOrEqualTo(Snippets.MAX_CHARS);
    }

    @Test
    void negated_words_are_not_marked() throws SQLException {
        // ts_headline marks them too ("dog -cat" marks cat); a snippet shows what was asked for.
        assertThat(snippet("english", "dog -cat", "The dog chased the cat")).isEqualTo("The <mark>dog</mark> chased the cat");
    }

    @Test
    void query_lexemes_leave_out_negated_words_and_groups() {
        assertThat(QueryLexemes.parse("'star' & !'cat' & !( 'big' <-> 'dog' ) & ( 'a' | 'b' )").lexemes()).isEqualTo(Set.of("star", "a", "b"));
        assertThat(QueryLexemes.parse("'don''t' & 'back\\\\slash' & 'pre':*").lexemes()).isEqualTo(Set.of("don't", "back\\slash", "pre"));
        assertThat(QueryLexemes.parse("").lexemes()).isEmpty();
    }

    private static String snippet(String language, String words, String content) throws SQLException {
        String query = websearch(language, words);
        return database.read(handle -> new Snippets().of(handle, query, List.of(new Snippets.Text(language, content)))).getFirst();
    }

    private static Map<String, Snippets.Configuration> configurations() {
        return database.read(handle -> new Snippets().configurations(handle));
    }

    private static Snippets.Configuration configuration(String language) {
        Snippets.Configuration configuration = configurations().get(language);
        assertThat(configuration).as(language).isNotNull();
        return configuration;
    }

    /** The marked words in order, lower-cased: ts_headline and Parley may differ in what surrounds them, never in these. */
    private static List<String> markedWords(String highlighted) {
        List<String> words = new ArrayList<>();
        Matcher m = Pattern.compile("<mark>(.*?)</mark>").matcher(highlighted);
        while (m.find()) {
            words.add(m.group(1));
        }
        return words;
    }

    private static String lexize(String dictionary, String word) throws SQLException {
        try (PreparedStatement s = connection.prepareStatement("SELECT (ts_lexize(?::regdictionary, ?))[1]")) {
            s.setString(1, dictionary);
            s.setString(2, word);
            try (ResultSet r = s.executeQuery()) {
                r.next();
                return r.getString(1);
            }
        }
    }

    private static String websearch(String language, String words) throws SQLException {
        return one("SELECT websearch_to_tsquery(?::regconfig, ?)::text", language, words);
    }

    private static String highlightAll(String language, String content, String query) throws SQLException {
        return one("SELECT ts_headline(?::regconfig, ?, ?::tsquery, 'HighlightAll=true, StartSel=<mark>, StopSel=</mark>')",
                language, content, query);
    }

    private static String one(String sql, String... args) throws SQLException {
        try (PreparedStatement s = connection.prepareStatement(sql)) {
            for (int i = 0; i < args.length; i++) {
                s.setString(i + 1, args[i]);
            }
            try (ResultSet r = s.executeQuery()) {
                r.next();
                return r.getString(1);
            }
        }
    }
}
