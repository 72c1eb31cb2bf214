-- Outbound mail: one outbox, written in the same transaction as the event
-- that causes the mail, sent by a job, never twice.

CREATE TABLE outbox (
    id              uuid PRIMARY KEY,
    ticket_id       uuid REFERENCES tickets(id),
    -- ack, reply, notify_assigned, invite, reset
    kind            text NOT NULL,
    -- our Message-ID (without brackets); bounces find the row by it
    message_id      text NOT NULL UNIQUE,
    -- what caused the mail (ack:<ticket>, assigned:<assignment>,
    -- reply:<message>): composing twice never makes two mails
    cause           text NOT NULL UNIQUE,
    envelope_from   text NOT NULL,
    recipients      text[] NOT NULL,
    -- the requester an acknowledgement went to (rate limits)
    requester_email text,
    subject         text NOT NULL,
    raw             bytea NOT NULL,
    -- pending → sent | failed (permanent) ; sent → bounced
    status          text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending','sending','sent','failed','bounced')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz
);
CREATE INDEX outbox_ticket_idx ON outbox (ticket_id, created_at);
CREATE INDEX outbox_pending_idx ON outbox (next_attempt_at) WHERE status IN ('pending','sending');
CREATE INDEX outbox_requester_ack_idx ON outbox (requester_email, created_at) WHERE kind = 'ack';

-- Links an outbound message shown on the ticket to its delivery.
ALTER TABLE messages ADD COLUMN outbox_id uuid REFERENCES outbox(id);
