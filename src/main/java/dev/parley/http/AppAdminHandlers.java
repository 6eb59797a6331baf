package dev.parley.http;

import dev.parley.apps.ApiKeys;
import dev.parley.apps.Apps;
import io.javalin.http.Context;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The admin port's {@code /admin/apps} routes: apps, their keys and their browser origins, by the app's
 * name, as {@code parley apps} manages them (both call {@link Apps}). Not in the API document, which
 * describes the API port alone. Each change gets a log line naming it and where it came from (never a key itself):
 * the admin port has no access log, and a key issued or an origin allowed must leave a trace.
 */
final class AppAdminHandlers {
    private static final Logger LOG = LoggerFactory.getLogger(AppAdminHandlers.class);

    record NewApp(String name) {
    }

    record AllowedOrigins(List<String> origins) {
    }

    record AppList(List<Apps.App> apps) {
    }

    record KeyList(List<ApiKeys.Key> keys) {
    }

    private final Apps apps;

    AppAdminHandlers(Apps apps) {
        this.apps = apps;
    }

    void list(Context ctx) {
        Responses.json(ctx, new AppList(apps.list()));
    }

    /** 201 with the app and its first key, shown this once. */
    void create(Context ctx) {
        Apps.Created created = apps.create(Requests.body(ctx, NewApp.class).name());
        LOG.info("admin port, from {}: created app '{}' (id {}) with key {} ({}…)", ctx.ip(), created.name(), created.appId(),
                created.key().id(), created.key().prefix());
        Responses.json(ctx, 201, created);
    }

    /** Deletes the app and everything it holds (its keys revoked first); answers what went, by kind. */
    void delete(Context ctx) {
        Responses.json(ctx, apps.delete(ctx.pathParam("name")));
    }

    void keys(Context ctx) {
        Responses.json(ctx, new KeyList(apps.keys(ctx.pathParam("name"))));
    }

    /** 201 with the new key, shown this once; the app's other keys keep working (rotation: issue, move, revoke). */
    void issueKey(Context ctx) {
        ApiKeys.Issued issued = apps.issueKey(ctx.pathParam("name"));
        LOG.info("admin port, from {}: issued key {} ({}…) to app '{}'", ctx.ip(), issued.id(), issued.prefix(),
                ctx.pathParam("name"));
        Responses.json(ctx, 201, issued);
    }

    /** The key named by its id (or prefix), revoked: refused on every instance within a second. */
    void revokeKey(Context ctx) {
        ApiKeys.Key revoked = apps.revokeKey(ctx.pathParam("name"), ctx.pathParam("key_id"));
        LOG.info("admin port, from {}: revoked key {} ({}…) of app '{}'", ctx.ip(), revoked.id(), revoked.prefix(),
                ctx.pathParam("name"));
        Responses.json(ctx, revoked);
    }

    /** Replaces the browser origins the app allows; answers them as stored. */
    void setOrigins(Context ctx) {
        var allowed = Requests.body(ctx, AllowedOrigins.class);
        List<String> stored = apps.setOrigins(ctx.pathParam("name"), allowed.origins());
        LOG.info("admin port, from {}: app '{}' now allows the browser origins {}", ctx.ip(), ctx.pathParam("name"), stored);
        Responses.json(ctx, new AllowedOrigins(stored));
    }
}
