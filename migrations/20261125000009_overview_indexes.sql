-- The overview page and the audit-log page at a million tickets and
-- millions of audit records (EXPLAIN ANALYZE on a seeded database: the
-- figures are in the pull request note).

-- Open cases by country and status, and a caseworker's share of them
-- (assignee_id for their scope): an index-only scan over the open cases
-- instead of visiting every open ticket's row.
CREATE INDEX tickets_open_country_status_idx ON tickets (country, status, assignee_id)
    WHERE status NOT IN ('resolved','closed');

-- First-response times per week of creation: an index-only range scan
-- carrying what the percentiles and the scope filter need.
CREATE INDEX tickets_created_response_idx ON tickets (created_at)
    INCLUDE (first_responded_at, assignee_id, country);

-- The audit log filtered by action or by actor, newest first, keyset by id.
CREATE INDEX audit_log_action_idx ON audit_log (action, id);
CREATE INDEX audit_log_actor_id_idx ON audit_log (actor_user_id, id);
