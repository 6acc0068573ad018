-- Tickets opened by an e-mail (package mailin).
ALTER TABLE tickets DROP CONSTRAINT tickets_source_check,
    ADD CONSTRAINT tickets_source_check CHECK (source IN ('phone', 'after_hours', 'panel', 'mail'));
