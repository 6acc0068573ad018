-- The configuration versions moved to config_versions (package
-- internal/configstore, migrated before this one), where the panel's
-- drafts live too: the versions published so far are copied there, in
-- their order, keeping their ids.
INSERT INTO config_versions (id, state, sha256, source, note, created_by, created_at, updated_at,
                             published_by, published_at, token_id, publication)
SELECT id, 'published', sha256, source, note, published_by, published_at, published_at,
       published_by, published_at, token_id, nextval('config_publications')
FROM (SELECT * FROM api_config_versions ORDER BY id) AS old;

SELECT setval(pg_get_serial_sequence('config_versions', 'id'), (SELECT coalesce(max(id), 0) + 1 FROM config_versions), false);

DROP TABLE api_config_versions;
