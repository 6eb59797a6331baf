-- Characters (AI personas, influencers, bots) and the app's end users.

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

-- query character.list_by_traits: "characters whose traits contain {"energy":"calm"}".
-- The GIN indexes hold the JSON only; app_id is checked on the few rows they return. Led by app_id
-- (btree_gin), PostgreSQL 17 read the app's whole posting list for every filter (1.8 ms for 10 rows
-- of 20,000 characters, so the planner preferred a sequential scan); see QueryPlanTest.
CREATE INDEX characters_traits_idx ON characters USING gin (traits jsonb_path_ops);
-- query character.list_by_metadata
CREATE INDEX characters_metadata_idx ON characters USING gin (metadata jsonb_path_ops);

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
