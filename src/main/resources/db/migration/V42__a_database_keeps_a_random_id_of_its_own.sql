-- A random id made once, when the database is migrated: where a managed server denies pg_control_system(), Redis keys
-- name the database by it (db/DatabaseIdentity.java), not by its name and OID alone, which two servers set up the same
-- way share ("parley" and 16385 on both): their deployments met in one Redis, each serving the other's cached rows.
CREATE TABLE parley_deployment (
    only_row  boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    random_id uuid NOT NULL DEFAULT gen_random_uuid()
);
INSERT INTO parley_deployment DEFAULT VALUES;
