package dev.parley.http;

import dev.parley.apps.ApiKeys;
import dev.parley.apps.Apps;
import io.javalin.http.Context;
import java.util.List;

/**
 * The admin port's {@code /admin/apps} routes: apps, their keys and their browser origins, by the app's
 * name, as {@code parley apps} manages them (both call {@link Apps}). Not in the API document, which
 * describes the API port alone.
 */
final class AppAdminHandlers {
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
        Responses.json(ctx, 201, apps.create(Requests.body(ctx, NewApp.class).name()));
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
        Responses.json(ctx, 201, apps.issueKey(ctx.pathParam("name")));
    }

    /** The key named by its id (or prefix), revoked: refused on every instance within a second. */
    void revokeKey(Context ctx) {
        Responses.json(ctx, apps.revokeKey(ctx.pathParam("name"), ctx.pathParam("key_id")));
    }

    /** Replaces the browser origins the app allows; answers them as stored. */
    void setOrigins(Context ctx) {
        var allowed = Requests.body(ctx, AllowedOrigins.class);
        Responses.json(ctx, new AllowedOrigins(apps.setOrigins(ctx.pathParam("name"), allowed.origins())));
    }
}
