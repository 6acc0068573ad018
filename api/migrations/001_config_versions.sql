-- The help desk's configurations published through the API, newest last:
-- who, when, with which token, and the file itself (PINs are in it only
-- as keyed hashes, as in the file).
CREATE TABLE api_config_versions (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sha256       text NOT NULL,
    source       bytea NOT NULL,
    note         text NOT NULL DEFAULT '',
    published_by text NOT NULL,
    token_id     bigint,
    published_at timestamptz NOT NULL
);
