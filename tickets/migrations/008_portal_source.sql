-- Tickets opened by an Administration's user in the panel's portal.
ALTER TABLE tickets DROP CONSTRAINT tickets_source_check,
    ADD CONSTRAINT tickets_source_check CHECK (source IN ('phone', 'after_hours', 'panel', 'mail', 'portal'));
