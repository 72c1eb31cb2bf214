-- Inbound foundation: requesters, tickets, messages, raw mail, attachments,
-- deduplication, API tokens and instance settings.

CREATE TABLE settings (
    key        text PRIMARY KEY,
    value      text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Everyone who has written to us, by address (lower-cased).
CREATE TABLE requesters (
    id         uuid PRIMARY KEY,
    email      text NOT NULL UNIQUE,
    name       text,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE tickets (
    id                 uuid PRIMARY KEY,
    reference          text NOT NULL UNIQUE,
    subject            text NOT NULL,
    status             text NOT NULL DEFAULT 'new'
        CHECK (status IN ('new','assigned','in_progress','waiting_on_requester','resolved','closed')),
    priority           text NOT NULL DEFAULT 'normal'
        CHECK (priority IN ('low','normal','high','urgent')),
    requester_id       uuid REFERENCES requesters(id),
    country            text CHECK (country ~ '^[A-Z]{2}$'),
    country_source     text,
    country_confidence real,
    language           text,
    message_count      integer NOT NULL DEFAULT 0,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    last_inbound_at    timestamptz,
    resolved_at        timestamptz
);
CREATE INDEX tickets_requester_idx ON tickets (requester_id, created_at DESC);
CREATE INDEX tickets_updated_idx ON tickets (updated_at DESC, id);
CREATE INDEX tickets_status_idx ON tickets (status, updated_at DESC);
CREATE INDEX tickets_country_idx ON tickets (country, updated_at DESC);

-- The raw bytes of every message received, whatever became of it.
CREATE TABLE raw_messages (
    id            uuid PRIMARY KEY,
    sha256        text NOT NULL,
    size          integer NOT NULL,
    data          bytea NOT NULL,
    source        text NOT NULL CHECK (source IN ('smtp','pipe','http')),
    envelope_from text,
    envelope_to   text[] NOT NULL DEFAULT '{}',
    received_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE messages (
    id             uuid PRIMARY KEY,
    ticket_id      uuid NOT NULL REFERENCES tickets(id),
    direction      text NOT NULL CHECK (direction IN ('inbound','outbound','note')),
    class          text NOT NULL CHECK (class IN ('human','auto_reply','bounce','loop')),
    message_id     text,
    in_reply_to    text[] NOT NULL DEFAULT '{}',
    "references"   text[] NOT NULL DEFAULT '{}',
    from_address   text,
    from_name      text,
    reply_to       text,
    to_addresses   text[] NOT NULL DEFAULT '{}',
    cc_addresses   text[] NOT NULL DEFAULT '{}',
    subject        text NOT NULL DEFAULT '',
    text_body      text NOT NULL DEFAULT '',
    html_body      text,
    headers        jsonb NOT NULL DEFAULT '[]',
    sent_at        timestamptz,
    raw_id         uuid REFERENCES raw_messages(id),
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX messages_ticket_idx ON messages (ticket_id, created_at, id);
CREATE INDEX messages_message_id_idx ON messages (message_id) WHERE message_id IS NOT NULL;

CREATE TABLE attachments (
    id           uuid PRIMARY KEY,
    message_id   uuid NOT NULL REFERENCES messages(id),
    position     integer NOT NULL,
    filename     text NOT NULL,
    content_type text NOT NULL,
    content_id   text,
    inline       boolean NOT NULL DEFAULT false,
    size         integer NOT NULL,
    sha256       text NOT NULL,
    data         bytea NOT NULL
);
CREATE INDEX attachments_message_idx ON attachments (message_id, position);

-- One row per distinct inbound message: the second delivery of the same
-- message finds its key here and is absorbed.
CREATE TABLE inbound_dedup (
    key         text PRIMARY KEY,
    message_id  uuid NOT NULL REFERENCES messages(id),
    ticket_id   uuid NOT NULL REFERENCES tickets(id),
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_tokens (
    id           uuid PRIMARY KEY,
    name         text NOT NULL,
    token_sha256 text NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz
);
