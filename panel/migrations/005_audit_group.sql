-- The group an audited action concerns (a supervisor's action on a live
-- call, an operator's forced state): supervisors read the audit log of the
-- groups they watch. '' for actions of no group.
ALTER TABLE audit_log ADD COLUMN grp text NOT NULL DEFAULT '';
CREATE INDEX audit_log_grp_idx ON audit_log (grp, at DESC) WHERE grp <> '';
