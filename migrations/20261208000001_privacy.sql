-- Privacy operations (issue 14): legal hold on a case, and the indexes the
-- retention job's batches walk.

-- A case under legal hold is never erased nor purged: erasure of its
-- requester stops with a clear message; retention skips it.
ALTER TABLE tickets
    ADD COLUMN legal_hold_at timestamptz,
    ADD COLUMN legal_hold_by uuid REFERENCES users (id),
    ADD COLUMN legal_hold_reason text,
    ADD CONSTRAINT tickets_legal_hold_reason
        CHECK ((legal_hold_at IS NULL) = (legal_hold_reason IS NULL)),
    ADD CONSTRAINT tickets_legal_hold_reason_len
        CHECK (legal_hold_reason IS NULL OR length(legal_hold_reason) BETWEEN 1 AND 500);

-- Closed cases by the time they were closed (retention's first step).
CREATE INDEX tickets_retention_idx
    ON tickets ((coalesce(resolved_at, updated_at)))
    WHERE status IN ('resolved', 'closed') AND legal_hold_at IS NULL;

-- Raw MIME by age (retention drops it after `[privacy] raw_mime_months`).
CREATE INDEX raw_messages_received_idx ON raw_messages (received_at);

-- Erasure finds a person by address, case-insensitively.
CREATE INDEX requesters_email_lower_idx ON requesters (lower(email));
CREATE INDEX outbox_requester_email_idx ON outbox (lower(requester_email))
    WHERE requester_email IS NOT NULL;

-- The audit log stays append-only, with one exception: inside a privacy
-- operation's own transaction (`SET LOCAL concierge.redact = 'on'`, set only
-- by the store's erasure and retention), an entry's detail may be replaced
-- by a redaction marker. Who did what and when, to which (now erased) case
-- id, stays; nothing the detail said about the person does. Deleting and
-- truncating stay refused.
CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF current_setting('concierge.redact', true) = 'on'
           AND NEW.id = OLD.id AND NEW.at = OLD.at AND NEW.action = OLD.action
           AND NEW.actor_user_id IS NOT DISTINCT FROM OLD.actor_user_id
           AND NEW.ticket_id IS NOT DISTINCT FROM OLD.ticket_id
           AND NEW.detail = jsonb_build_object('redacted', true) THEN
            RETURN NEW;
        END IF;
    END IF;
    RAISE EXCEPTION 'audit_log is append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

-- Deleting a case, a message, raw MIME or an outbox row checks the rows
-- that point at it; without these, each erased row of a retention batch
-- would scan a whole table.
CREATE INDEX IF NOT EXISTS messages_raw_idx ON messages (raw_id) WHERE raw_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS messages_outbox_idx ON messages (outbox_id) WHERE outbox_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS notifications_ticket_idx ON notifications (ticket_id);
CREATE INDEX IF NOT EXISTS inbound_dedup_ticket_idx ON inbound_dedup (ticket_id);
CREATE INDEX IF NOT EXISTS inbound_dedup_message_idx ON inbound_dedup (message_id);
