-- Characters (AI personas, influencers, bots) and the app's end users.

-- btree_gin lets one GIN index lead with app_id and then serve JSONB containment,
-- so a trait filter never reads another app's index entries.
CREATE EXTENSION IF NOT EXISTS btree_gin;

CREATE TABLE characters (
    app_id              bigint      NOT NULL REFERENCES apps ON DELETE CASCADE,
    character_id        bigint GENERATED ALWAYS AS IDENTITY,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    name                text        NOT NULL,
    system_prompt       text        NOT NULL DEFAULT '',
    traits              jsonb       NOT NULL DEFAULT '{}',
    metadata            jsonb       NOT NULL DEFAULT '{}',
    suggested_messages  text[]      NOT NULL DEFAULT '{}',
    PRIMARY KEY (app_id, character_id)
);

-- query character.list_by_traits: "characters whose traits contain {"energy":"calm"}"
CREATE INDEX characters_traits_idx ON characters USING gin (app_id, traits jsonb_path_ops);
-- query character.list_by_metadata
CREATE INDEX characters_metadata_idx ON characters USING gin (app_id, metadata jsonb_path_ops);

CREATE TABLE users (
    app_id       bigint      NOT NULL REFERENCES apps ON DELETE CASCADE,
    user_id      bigint GENERATED ALWAYS AS IDENTITY,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    external_id  text        NOT NULL,
    profile      jsonb       NOT NULL DEFAULT '{}',
    PRIMARY KEY (app_id, user_id),
    -- query user.upsert and user.find_by_external_id
    CONSTRAINT users_external_id_key UNIQUE (app_id, external_id)
);
