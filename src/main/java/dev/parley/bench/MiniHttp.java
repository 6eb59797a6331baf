package dev.parley.bench;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * A minimal HTTP/1.1 keep-alive client over one socket. The load generator runs on the same two
 * cores as the server and the database, so it must cost as little as possible per request: this
 * one writes the request bytes and reads the status line, headers and body, nothing more.
 */
final class MiniHttp implements AutoCloseable {
    private final String host;
    private final int port;
    private final String authorization;
    private Socket socket;
    private InputStream in;
    private OutputStream out;

    record Response(int status, byte[] body) {
        String text() {
            return new String(body, StandardCharsets.UTF_8);
        }
    }

    MiniHttp(String host, int port, String apiKey) {
        this.host = host;
        this.port = port;
        this.authorization = "Authorization: Bearer " + apiKey + "\r\n";
    }

    Response get(String path) throws IOException {
        return send("GET", path, null);
    }

    Response post(String path, String json) throws IOException {
        return send("POST", path, json.getBytes(StandardCharsets.UTF_8));
    }

    private Response send(String method, String path, byte[] body) throws IOException {
        if (socket == null) {
            socket = new Socket(host, port);
            socket.setTcpNoDelay(true);
            in = new BufferedInputStream(socket.getInputStream(), 1 << 16);
            out = socket.getOutputStream();
        }
        StringBuilder head = new StringBuilder(256).append(method).append(' ').append(path).append(" HTTP/1.1\r\nHost: ")
                .append(host).append("\r\n").append(authorization);
        if (body != null) {
            head.append("Content-Type: application/json\r\nContent-Length: ").append(body.length).append("\r\n");
        }
        head.append("\r\n");
        byte[] headBytes = head.toString().getBytes(StandardCharsets.US_ASCII);
        if (body == null) {
            out.write(headBytes);
        } else {
            byte[] all = new byte[headBytes.length + body.length];
            System.arraycopy(headBytes, 0, all, 0, headBytes.length);
            System.arraycopy(body, 0, all, headBytes.length, body.length);
            out.write(all);
        }
        out.flush();
        return read();
    }

    private Response read() throws IOException {
        String status = line();
        int code = Integer.parseInt(status.substring(9, 12));
        long length = -1;
        boolean chunked = false;
        boolean close = false;
        for (String header = line(); !header.isEmpty(); header = line()) {
            String lower = header.toLowerCase(Locale.ROOT);
            if (lower.startsWith("content-length:")) {
                length = Long.parseLong(header.substring(15).strip());
            } else if (lower.startsWith("transfer-encoding:") && lower.contains("chunked")) {
                chunked = true;
            } else if (lower.startsWith("connection:") && lower.contains("close")) {
                close = true;
            }
        }
        byte[] body = chunked ? chunked() : in.readNBytes((int) Math.max(0, length));
        if (close) {
            close();
        }
        return new Response(code, body);
    }

    private byte[] chunked() throws IOException {
        var body = new ByteArrayOutputStream();
        for (int size = Integer.parseInt(line().split(";")[0].strip(), 16); size > 0;
             size = Integer.parseInt(line().split(";")[0].strip(), 16)) {
            body.write(in.readNBytes(size));
            line();
        }
        line();
        return body.toByteArray();
    }

    private String line() throws IOException {
        var line = new StringBuilder(64);
        for (int c = in.read(); c != '\n'; c = in.read()) {
            if (c < 0) {
                throw new IOException("the server closed the connection");
            }
            if (c != '\r') {
                line.append((char) c);
            }
        }
        return line.toString();
    }

    @Override
    public void close() throws IOException {
        if (socket != null) {
            socket.close();
            socket = null;
        }
    }
}
