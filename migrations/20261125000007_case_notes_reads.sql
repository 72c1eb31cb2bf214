-- Case page: internal notes and per-user read markers.
--
-- Internal notes are rows of `messages` with direction 'note' (allowed by
-- the table's CHECK since the first migration): they sit in the thread in
-- order, carry no Message-ID (so no mail can thread onto them), and every
-- mail path reads only 'inbound' or 'outbound' rows. The author is in
-- from_address / from_name; the audit log records the user.
CREATE INDEX messages_notes_idx ON messages (ticket_id, created_at) WHERE direction = 'note';

-- When each user last opened each case: the queue shows a case as unread
-- (never opened) or updated (changed since it was last opened).
CREATE TABLE case_reads (
    user_id   uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    ticket_id uuid NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    seen_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, ticket_id)
);
-- "Who has read this case" (and ON DELETE of a ticket).
CREATE INDEX case_reads_ticket_idx ON case_reads (ticket_id);
