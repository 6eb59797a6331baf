package dev.parley.bench;

import java.util.SplittableRandom;

/**
 * Chat-like text: user turns short, assistant turns longer, both with a long tail. Words follow
 * Zipf's law over a 20,000-word vocabulary, as in real text: the commonest words are in every
 * message, a word of rank 150 (star, coffee) is in about one message in fifty, one of rank 3,000
 * in about one in a thousand. The first ranks are English; the rest are made of syllables.
 */
final class TextGenerator {
    static final int VOCABULARY = 20_000;
    private static final String[] SYLLABLES = {"ka", "lo", "mi", "ne", "su", "ri", "to", "va", "de", "po",
            "shi", "an", "el", "or", "un", "ba", "ge", "fu", "ha", "ju"};
    private static final String[] WORDS = ("""
            the be to of and a in that have i it for not on with he as you do at this but his by from they we say
            her she or an will my one all would there their what so up out if about who get which go me when make
            can like time no just him know take people into year your good some could them see other than then now
            look only come its over think also back after use two how our work first well way even new want because
            any these give day most us star moon night sky dream tea coffee music song movie book story game love
            feel happy sad tired excited today tomorrow yesterday morning evening weekend travel city ocean forest
            mountain rain sun snow wind cat dog friend family work school lesson question answer idea plan hope
            remember forget laugh smile talk listen read write play sing dance cook eat drink walk run sleep wake
            really maybe always never sometimes often quite very little much more less fine great nice lovely
            strange funny curious calm quiet loud bright dark warm cold soft gentle brave honest kind clever
            tell me more about your favourite thing what do you think of why does it matter how did that happen
            """).strip().split("\\s+");
    private static final String[] RANKED = ranked();
    private static final Zipf FREQUENCY = new Zipf(VOCABULARY, 1.0);

    private TextGenerator() {
    }

    /** A message of the given role: lengths follow a log-normal, around 12 words for users and 60 for assistants. */
    static String message(SplittableRandom random, String role) {
        double median = switch (role) {
            case "assistant" -> 60;
            case "system" -> 25;
            default -> 12;
        };
        int words = (int) Math.max(1, Math.min(2000, Math.round(median * Math.exp(0.6 * Topics.gaussian(random)))));
        StringBuilder text = new StringBuilder(words * 6);
        for (int i = 0; i < words; i++) {
            String word = RANKED[FREQUENCY.next(random)];
            if (i == 0) {
                text.append(Character.toUpperCase(word.charAt(0))).append(word, 1, word.length());
            } else {
                text.append(' ').append(word);
            }
            if (i + 1 < words && random.nextInt(12) == 0) {
                text.append(random.nextInt(3) == 0 ? '?' : '.');
            }
        }
        return text.append(role.equals("user") && random.nextInt(3) == 0 ? '?' : '.').toString();
    }

    /** A common English word, any of them equally likely: names and interests. */
    static String word(SplittableRandom random) {
        return WORDS[random.nextInt(WORDS.length)];
    }

    /** The word of frequency rank {@code rank}, 0 being the commonest. */
    static String wordOfRank(int rank) {
        return RANKED[rank];
    }

    private static String[] ranked() {
        String[] ranked = new String[VOCABULARY];
        System.arraycopy(WORDS, 0, ranked, 0, WORDS.length);
        for (int rank = WORDS.length; rank < VOCABULARY; rank++) {
            StringBuilder word = new StringBuilder();
            int n = rank - WORDS.length + SYLLABLES.length * SYLLABLES.length; // two syllables at least
            for (; n > 0; n /= SYLLABLES.length) {
                word.append(SYLLABLES[n % SYLLABLES.length]);
            }
            ranked[rank] = word.toString();
        }
        return ranked;
    }

}
