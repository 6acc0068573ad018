-- The language the caller was served in (one of the configuration's
-- service.languages; '' for tickets from before it was kept, or opened
-- without a caller): the console shows it, notices to the caller use it.
ALTER TABLE tickets ADD COLUMN language text NOT NULL DEFAULT '';
