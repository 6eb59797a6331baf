import java.security.MessageDigest;
import java.util.Random;

/**
 * CPU time of the digests an ETag could be made of, over a body the size of a history page (28 KB by default):
 * the best of 20 rounds of 2,000 digests each, one thread.
 *
 *   java docs/measure/EtagHashes.java [bytes]
 */
public class EtagHashes {
    public static void main(String[] args) throws Exception {
        byte[] body = new byte[args.length > 0 ? Integer.parseInt(args[0]) : 28_000];
        new Random(1).nextBytes(body);
        for (String algorithm : new String[] {"SHA-256", "SHA-1", "MD5", "SHA-512", "SHA3-256"}) {
            long best = Long.MAX_VALUE;
            for (int round = 0; round < 20; round++) {
                long began = System.nanoTime();
                for (int i = 0; i < 2_000; i++) {
                    MessageDigest.getInstance(algorithm).digest(body);
                }
                best = Math.min(best, (System.nanoTime() - began) / 2_000);
            }
            System.out.printf("%-8s %6.1f µs for %,d bytes%n", algorithm, best / 1e3, body.length);
        }
    }
}
