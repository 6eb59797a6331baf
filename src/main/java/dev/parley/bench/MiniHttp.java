package dev.parley.bench;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.zip.DataFormatException;
import java.util.zip.GZIPInputStream;
import java.util.zip.Inflater;

/**
 * A minimal HTTP/1.1 keep-alive client over one socket. The load generator runs on the same two
 * cores as the server and the database, so it must cost as little as possible per request: it
 * writes each request with one write from a reused buffer, and reads the answer into reused
 * buffers, parsing the status line and headers as bytes. It read byte by byte through a
 * synchronised stream before, and copied chunked bodies twice: 12 % of the bench's JVM's CPU
 * during a history run (JFR).
 */
final class MiniHttp implements AutoCloseable {
    private static final byte[] CONTENT_LENGTH = bytes("content-length:");
    private static final byte[] TRANSFER_ENCODING = bytes("transfer-encoding:");
    private static final byte[] CONNECTION = bytes("connection:");
    private static final byte[] CONTENT_ENCODING = bytes("content-encoding:");
    private static final byte[] JSON_BODY = bytes("Content-Type: application/json\r\nContent-Length: ");

    private final String host;
    private final int port;
    private final byte[] fixedHeaders;
    private Socket socket;
    private InputStream in;
    private OutputStream out;
    private byte[] request = new byte[1 << 14];
    private final byte[] buffer = new byte[1 << 16];
    private int start;
    private int end;
    private byte[] body = new byte[1 << 16];
    private byte[] unzipped = new byte[1 << 16];
    private Inflater inflater;

    /**
     * An answer; {@code body} is this client's buffer, valid until its next request, and still gzipped when
     * {@code gzipped} ({@link #unzipped} reads it).
     */
    record Response(int status, byte[] body, int length, boolean gzipped) {
        /** The body as text, for an error's message ({@link #unzipped} first, when it came gzipped). */
        String text() {
            return new String(body, 0, length, StandardCharsets.UTF_8);
        }
    }

    /** {@code apiKey} null: no Authorization header (an admin port without an admin key). */
    MiniHttp(String host, int port, String apiKey, String... headers) {
        this.host = host;
        this.port = port;
        StringBuilder fixed = new StringBuilder(" HTTP/1.1\r\nHost: ").append(host).append("\r\n");
        if (apiKey != null) {
            fixed.append("Authorization: Bearer ").append(apiKey).append("\r\n");
        }
        for (int i = 0; i + 1 < headers.length; i += 2) {
            fixed.append(headers[i]).append(": ").append(headers[i + 1]).append("\r\n");
        }
        this.fixedHeaders = bytes(fixed.toString());
    }

    Response get(String path) throws IOException {
        return send("GET ", path, null);
    }

    /** A POST of a JSON body given in parts (a cached embedding between two small strings, say). */
    Response post(String path, byte[]... json) throws IOException {
        return send("POST ", path, json);
    }

    private Response send(String method, String path, byte[][] json) throws IOException {
        int length = request(method, path, json);
        boolean reused = socket != null;
        try {
            sendAndAwait(length);
        } catch (IOException e) {
            close();
            if (!reused) {
                throw e;
            }
            // The server closed the kept-alive connection before this request reached it (Jetty closes one idle for
            // 30 s, which a worker at a low --rate is): sent again on a new one, as HTTP clients do, not an error.
            try {
                sendAndAwait(length);
            } catch (IOException again) {
                close();
                throw again;
            }
        }
        try {
            return read();
        } catch (IOException e) {
            close(); // what is left of this answer would be read as the next one's
            throw e;
        }
    }

    /** Writes the request laid out in {@link #request}, connecting first if need be, and waits for the answer's first bytes. */
    private void sendAndAwait(int length) throws IOException {
        if (socket == null) {
            socket = new Socket(host, port);
            socket.setTcpNoDelay(true);
            in = socket.getInputStream();
            out = socket.getOutputStream();
            start = end = 0;
        }
        out.write(request, 0, length);
        out.flush();
        if (start == end) {
            start = end = 0;
            int n = in.read(buffer, 0, buffer.length);
            if (n < 0) {
                throw new IOException("the server closed the connection");
            }
            end = n;
        }
    }

    /** Lays the request out in {@link #request} and returns its length. */
    private int request(String method, String path, byte[][] json) {
        int length = 0;
        if (json != null) {
            for (byte[] part : json) {
                length += part.length;
            }
        }
        int at = ascii(method, 0);
        at = ascii(path, at);
        at = put(fixedHeaders, at);
        if (json == null) {
            return ascii("\r\n", at);
        }
        at = put(JSON_BODY, at);
        at = ascii(Integer.toString(length), at);
        at = ascii("\r\n\r\n", at);
        for (byte[] part : json) {
            at = put(part, at);
        }
        return at;
    }

    private int ascii(String text, int at) {
        ensure(at + text.length());
        for (int i = 0; i < text.length(); i++) {
            request[at + i] = (byte) text.charAt(i);
        }
        return at + text.length();
    }

    private int put(byte[] bytes, int at) {
        ensure(at + bytes.length);
        System.arraycopy(bytes, 0, request, at, bytes.length);
        return at + bytes.length;
    }

    private void ensure(int capacity) {
        if (capacity > request.length) {
            request = Arrays.copyOf(request, Math.max(capacity, request.length * 2));
        }
    }

    private Response read() throws IOException {
        int lineEnd = line();
        int status = (buffer[start + 9] - '0') * 100 + (buffer[start + 10] - '0') * 10 + (buffer[start + 11] - '0');
        start = lineEnd;
        long length = -1;
        boolean chunked = false;
        boolean close = false;
        boolean gzipped = false;
        for (lineEnd = line(); lineEnd - start > 2; lineEnd = line()) {
            if (startsWith(CONTENT_LENGTH)) {
                length = Long.parseLong(text(start + CONTENT_LENGTH.length, lineEnd).strip());
            } else if (startsWith(TRANSFER_ENCODING)) {
                chunked = text(start, lineEnd).contains("chunked");
            } else if (startsWith(CONNECTION)) {
                close = text(start, lineEnd).contains("close");
            } else if (startsWith(CONTENT_ENCODING)) {
                gzipped = text(start, lineEnd).contains("gzip");
            }
            start = lineEnd;
        }
        start = lineEnd;
        int read = chunked ? chunked() : body(0, (int) Math.max(0, length));
        if (close) {
            close();
        }
        return new Response(status, body, read, gzipped);
    }

    /**
     * {@code response}, this client's last, with its body as the server wrote it before compressing: the same
     * answer when it came plain, else unzipped into a second reused buffer (valid until the next call). The bench
     * unzips only what it reads (a page the staleness checker holds to an append, an error's text), as a client
     * that asks for gzip pays to unzip every body.
     */
    Response unzipped(Response response) throws IOException {
        if (!response.gzipped()) {
            return response;
        }
        byte[] gzipped = response.body();
        int length = response.length();
        if (length < 18 || (gzipped[0] & 0xff) != 0x1f || (gzipped[1] & 0xff) != 0x8b || gzipped[2] != 8) {
            throw new IOException("a body sent as gzip that is not gzip");
        }
        if (gzipped[3] != 0) { // optional header fields, which Parley's Gzip never writes: the JDK reads them
            try (var in = new GZIPInputStream(new ByteArrayInputStream(gzipped, 0, length))) {
                byte[] all = in.readAllBytes();
                return new Response(response.status(), all, all.length, false);
            }
        }
        if (inflater == null) {
            inflater = new Inflater(true); // raw deflate, after the fixed 10-byte header; the trailer is not read
        }
        inflater.reset();
        inflater.setInput(gzipped, 10, length - 10);
        try {
            int at = 0;
            while (!inflater.finished()) {
                if (at == unzipped.length) {
                    unzipped = Arrays.copyOf(unzipped, unzipped.length * 2);
                }
                int n = inflater.inflate(unzipped, at, unzipped.length - at);
                if (n == 0 && (inflater.needsInput() || inflater.needsDictionary())) {
                    throw new IOException("a gzipped body ends before its data does");
                }
                at += n;
            }
            return new Response(response.status(), unzipped, at, false);
        } catch (DataFormatException e) {
            throw new IOException("a gzipped body that does not unzip: " + e.getMessage(), e);
        }
    }

    /** Reads {@code length} body bytes into {@link #body} from {@code at}; returns where they end. */
    private int body(int at, int length) throws IOException {
        if (at + length > body.length) {
            body = Arrays.copyOf(body, Math.max(at + length, body.length * 2));
        }
        int buffered = Math.min(length, end - start);
        System.arraycopy(buffer, start, body, at, buffered);
        start += buffered;
        for (int done = buffered; done < length; ) {
            int n = in.read(body, at + done, length - done);
            if (n < 0) {
                throw new IOException("the server closed the connection within a body");
            }
            done += n;
        }
        return at + length;
    }

    private int chunked() throws IOException {
        int at = 0;
        while (true) {
            int lineEnd = line();
            String size = text(start, lineEnd).split(";")[0].strip();
            start = lineEnd;
            int chunk = Integer.parseInt(size, 16);
            if (chunk == 0) {
                start = line(); // the empty line after the last chunk (no trailers are sent)
                return at;
            }
            at = body(at, chunk);
            start = line(); // the CRLF that ends the chunk
        }
    }

    /** Makes sure a whole line starting at {@link #start} is buffered; returns the index just past its LF. */
    private int line() throws IOException {
        int scanned = start;
        while (true) {
            for (; scanned < end; scanned++) {
                if (buffer[scanned] == '\n') {
                    return scanned + 1;
                }
            }
            if (start > 0) { // move what is left to the front, to make room
                System.arraycopy(buffer, start, buffer, 0, end - start);
                scanned -= start;
                end -= start;
                start = 0;
            }
            if (end == buffer.length) {
                throw new IOException("a response line longer than " + buffer.length + " bytes");
            }
            int n = in.read(buffer, end, buffer.length - end);
            if (n < 0) {
                throw new IOException("the server closed the connection");
            }
            end += n;
        }
    }

    private boolean startsWith(byte[] lowerCaseName) {
        if (end - start < lowerCaseName.length) {
            return false;
        }
        for (int i = 0; i < lowerCaseName.length; i++) {
            if (Character.toLowerCase(buffer[start + i]) != lowerCaseName[i]) {
                return false;
            }
        }
        return true;
    }

    private String text(int from, int to) {
        return new String(buffer, from, to - from, StandardCharsets.US_ASCII);
    }

    static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public void close() throws IOException {
        if (inflater != null) {
            inflater.end();
            inflater = null;
        }
        if (socket != null) {
            socket.close();
            socket = null;
        }
    }
}
