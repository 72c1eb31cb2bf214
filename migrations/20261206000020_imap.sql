-- Mail from where the concierge address lives: IMAP mailboxes (one poller
-- per mailbox at a time, by lease) and imports of mailbox exports.

ALTER TABLE raw_messages DROP CONSTRAINT raw_messages_source_check;
ALTER TABLE raw_messages ADD CONSTRAINT raw_messages_source_check
    CHECK (source IN ('smtp','pipe','http','imap','import'));

-- A message the parser could not read is kept raw, as a case of its own.
ALTER TABLE messages DROP CONSTRAINT messages_class_check;
ALTER TABLE messages ADD CONSTRAINT messages_class_check
    CHECK (class IN ('human','auto_reply','bounce','loop','unparseable'));

-- Cases opened by `concierge import`: history, never acknowledged, no
-- first-response target.
ALTER TABLE tickets ADD COLUMN imported boolean NOT NULL DEFAULT false;

-- One row per configured IMAP mailbox (by its configured name).
CREATE TABLE imap_mailboxes (
    name             text PRIMARY KEY,
    -- The folder's UIDVALIDITY when `last_uid` was committed.
    uid_validity     bigint,
    -- Every message with a UID up to this one is stored (or was kept raw).
    last_uid         bigint NOT NULL DEFAULT 0,
    status           text NOT NULL DEFAULT 'starting'
        CHECK (status IN ('starting','connecting','polling','idle','auth_failed',
                          'unreachable','error')),
    detail           text,
    status_at        timestamptz NOT NULL DEFAULT now(),
    last_success_at  timestamptz,
    imported         bigint NOT NULL DEFAULT 0,
    -- The one process polling it, until the lease expires unrenewed.
    lease_holder     text,
    lease_expires_at timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now()
);

-- Progress of `concierge import`, per file (mbox: bytes done) or per
-- Maildir message file (done set).
CREATE TABLE import_files (
    path        text PRIMARY KEY,
    kind        text NOT NULL CHECK (kind IN ('mbox','maildir')),
    byte_offset bigint NOT NULL DEFAULT 0,
    done        boolean NOT NULL DEFAULT false,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
