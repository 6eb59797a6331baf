-- Long-term memories: facts a character keeps about one user ("has a dog named Rex"), each with
-- an optional embedding from the app's own model, recalled by similarity and found by words.

CREATE TABLE memories (
    app_id        bigint      NOT NULL,
    memory_id     bigint      GENERATED ALWAYS AS IDENTITY,
    user_id       bigint      NOT NULL,
    -- Checked against characters when written; no foreign key, which would want its own index.
    character_id  bigint      NOT NULL,
    importance    real        NOT NULL DEFAULT 0.5 CHECK (importance BETWEEN 0 AND 1),
    language      regconfig   NOT NULL DEFAULT 'english',
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    content       text        NOT NULL,
    metadata      jsonb,
    -- float32 little-endian, scaled to unit length when written, so similarity is a dot product;
    -- null for a memory that is found by its words only.
    embedding     bytea,
    PRIMARY KEY (app_id, memory_id),
    FOREIGN KEY (app_id, user_id) REFERENCES users ON DELETE CASCADE
);

-- Floats do not compress: store embeddings out of line as they are, without trying.
ALTER TABLE memories ALTER COLUMN embedding SET STORAGE EXTERNAL;

-- query memory.load_scope, memory.list: one user's memories of one character, newest first;
-- also serves the foreign key to users
CREATE INDEX memories_scope_idx ON memories (app_id, user_id, character_id, memory_id);

-- What a memory can be found by: its words, and its user and character as tokens no text produces
-- (see parley_message_words in V6).
CREATE FUNCTION parley_memory_words(language regconfig, content text, user_id bigint, character_id bigint)
    RETURNS tsvector
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN to_tsvector(language, content) || array_to_tsvector(ARRAY['~u:' || user_id::text, '~h:' || character_id::text]);

-- query search.memories, search.memories_of_character: words in one user's memories
CREATE INDEX memories_search_idx ON memories USING gin (parley_memory_words(language, content, user_id, character_id));

-- One row per (user, character) that has memories. Its version moves on every write to them, so
-- any instance can tell with one index lookup whether the vectors it holds in memory are current;
-- dims is the embedding length all of the scope's memories share.
CREATE TABLE memory_scopes (
    app_id        bigint  NOT NULL,
    user_id       bigint  NOT NULL,
    character_id  bigint  NOT NULL,
    version       bigint  NOT NULL DEFAULT 1,
    dims          integer,
    PRIMARY KEY (app_id, user_id, character_id),
    FOREIGN KEY (app_id, user_id) REFERENCES users ON DELETE CASCADE
);
