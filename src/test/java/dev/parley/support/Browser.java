package dev.parley.support;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.json.Json;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;

/**
 * A headless Chromium driven through chromedriver's W3C WebDriver protocol (plain HTTP and JSON, so no
 * client library): open a page, run a script in it, take a screenshot.
 */
public final class Browser implements AutoCloseable {
    private final Process driver;
    private final URI base;
    private final HttpClient http = HttpClient.newHttpClient();
    private final String session;

    private Browser(Process driver, URI base) throws IOException, InterruptedException {
        this.driver = driver;
        this.base = base;
        this.session = start();
    }

    /** Starts chromedriver on a free port and a headless Chromium session in it. */
    public static Browser open(Path chromedriver) throws IOException, InterruptedException {
        int port = Ports.free();
        Process driver = new ProcessBuilder(chromedriver.toString(), "--port=" + port)
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        URI base = URI.create("http://127.0.0.1:" + port);
        Wait.until("chromedriver to answer", Duration.ofSeconds(20), () -> {
            try {
                var status = HttpClient.newHttpClient().send(HttpRequest.newBuilder(base.resolve("/status")).build(),
                        HttpResponse.BodyHandlers.ofString());
                return Json.parse(status.body()).path("value").path("ready").asBoolean();
            } catch (IOException e) {
                return false;
            }
        });
        return new Browser(driver, base);
    }

    private String start() throws IOException, InterruptedException {
        var options = Map.of("binary", chromium(), "args", List.of("--headless=new", "--no-sandbox", "--disable-gpu",
                "--disable-dev-shm-usage", "--window-size=1400,1900"));
        JsonNode created = call("POST", "/session", Map.of("capabilities",
                Map.of("alwaysMatch", Map.of("browserName", "chrome", "goog:chromeOptions", options))));
        return created.path("value").path("sessionId").asText();
    }

    private static String chromium() {
        return Files.isExecutable(Path.of("/usr/bin/chromium")) ? "/usr/bin/chromium" : "/usr/bin/chromium-browser";
    }

    public void go(String url) throws IOException, InterruptedException {
        call("POST", "/session/" + session + "/url", Map.of("url", url));
    }

    /** Runs {@code script} (a function body that may {@code return} a value) in the page; its value as JSON. */
    public JsonNode script(String script) throws IOException, InterruptedException {
        return call("POST", "/session/" + session + "/execute/sync", Map.of("script", script, "args", List.of())).path("value");
    }

    public void screenshot(Path file) throws IOException, InterruptedException {
        String png = call("GET", "/session/" + session + "/screenshot", null).path("value").asText();
        Files.createDirectories(file.getParent());
        Files.write(file, Base64.getDecoder().decode(png));
    }

    private JsonNode call(String method, String path, Object body) throws IOException, InterruptedException {
        var request = HttpRequest.newBuilder(base.resolve(path)).timeout(Duration.ofSeconds(60))
                .header("Content-Type", "application/json")
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(Json.write(body)));
        var response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() != 200) {
            throw new IOException("chromedriver " + method + " " + path + " answered " + response.statusCode() + ": " + response.body());
        }
        return Json.parse(response.body());
    }

    @Override
    public void close() {
        try {
            call("DELETE", "/session/" + session, null);
        } catch (IOException | InterruptedException e) {
            // the driver goes below either way
        } finally {
            driver.destroy();
        }
    }
}
