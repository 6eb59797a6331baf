-- Tenancy. Every row Parley stores belongs to one app, and every query names its app:
-- an API key resolves to exactly one app_id and nothing crosses that line.

CREATE TABLE apps (
    app_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    created_at  timestamptz NOT NULL DEFAULT now(),
    name        text        NOT NULL CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$'),
    CONSTRAINT apps_name_key UNIQUE (name)
);

-- Keys are 256 random bits, so a plain SHA-256 is enough to make the stored value useless to a
-- thief; a slow password hash would only slow down every request.
CREATE TABLE api_keys (
    app_id      bigint      NOT NULL REFERENCES apps ON DELETE CASCADE,
    key_id      bigint GENERATED ALWAYS AS IDENTITY,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz,
    key_hash    bytea       NOT NULL CHECK (length(key_hash) = 32),
    key_prefix  text        NOT NULL,
    PRIMARY KEY (app_id, key_id),
    -- query api_key.resolve: the app behind a presented key
    CONSTRAINT api_keys_key_hash_key UNIQUE (key_hash)
);
