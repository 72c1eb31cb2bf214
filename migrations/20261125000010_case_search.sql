-- The queue at a million cases: full-text search over what people wrote and
-- keyset-friendly indexes for each way the queue is read.

-- Full-text search over subjects and bodies. The `simple` configuration
-- (lower-casing, no stemming, no stop words) because one mailbox mixes
-- dozens of languages, often within one thread, and a stemmer for the wrong
-- language loses more than it finds. Bodies are cut at 100,000 characters so
-- a hostile message can never exceed the 1 MB tsvector limit (the raw bytes
-- are kept whole in raw_messages).
ALTER TABLE messages ADD COLUMN search tsvector GENERATED ALWAYS AS (
    to_tsvector('simple'::regconfig, left(subject, 1000) || ' ' || left(text_body, 100000))
) STORED;
CREATE INDEX messages_search_idx ON messages USING gin (search);

-- A caseworker's queue: their own cases, and the unassigned cases of the
-- countries they cover, each newest first.
CREATE INDEX tickets_assignee_updated_idx ON tickets (assignee_id, updated_at DESC, id)
    WHERE assignee_id IS NOT NULL;
CREATE INDEX tickets_unassigned_country_idx ON tickets (country, updated_at DESC, id)
    WHERE assignee_id IS NULL;
-- Other orders and the breached filter.
CREATE INDEX tickets_created_idx ON tickets (created_at DESC, id);
CREATE INDEX tickets_due_idx ON tickets (first_response_due_at, id);
-- Open cases are a few per cent of a mature mailbox: the queue's "open"
-- view in the orders that start among old, long-resolved cases.
CREATE INDEX tickets_open_due_idx ON tickets (first_response_due_at, id)
    WHERE status NOT IN ('resolved','closed');
CREATE INDEX tickets_open_updated_idx ON tickets (updated_at, id)
    WHERE status NOT IN ('resolved','closed');
CREATE INDEX tickets_breached_idx ON tickets (updated_at DESC, id)
    WHERE sla_breached_at IS NOT NULL;
