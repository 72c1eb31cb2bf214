-- Accounts for the caseworkers' dashboard: users, sessions, login rate
-- limiting and an append-only audit log.

CREATE TABLE users (
    id            uuid PRIMARY KEY,
    email         text NOT NULL UNIQUE CHECK (email = lower(email) AND email <> ''),
    name          text NOT NULL DEFAULT '',
    role          text NOT NULL CHECK (role IN ('admin','coordinator','caseworker')),
    -- Argon2id PHC string; NULL until a password is set (no login).
    password_hash text,
    -- A caseworker's volunteer record: their cases and countries.
    volunteer_id  uuid REFERENCES volunteers(id),
    disabled_at   timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CHECK (role <> 'caseworker' OR volunteer_id IS NOT NULL)
);
-- One login per volunteer.
CREATE UNIQUE INDEX users_volunteer_idx ON users (volunteer_id) WHERE volunteer_id IS NOT NULL;

-- The id is the SHA-256 (hex) of the random 256-bit token in the cookie:
-- a copy of this table does not let anyone sign in.
CREATE TABLE sessions (
    id           text PRIMARY KEY CHECK (id ~ '^[0-9a-f]{64}$'),
    user_id      uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token   text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    -- Absolute end, whatever the activity.
    expires_at   timestamptz NOT NULL,
    user_agent   text
);
CREATE INDEX sessions_user_idx ON sessions (user_id);
CREATE INDEX sessions_expires_idx ON sessions (expires_at);

-- Failed logins, counted per key = (address, client network) so nobody can
-- lock someone else out from elsewhere (see concierge_access::login_key).
CREATE TABLE login_attempts (
    key text NOT NULL,
    at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_attempts_key_at_idx ON login_attempts (key, at);
CREATE INDEX login_attempts_at_idx ON login_attempts (at);

-- Who did what, append-only: rows can be added, never changed or removed.
CREATE TABLE audit_log (
    id            bigserial PRIMARY KEY,
    at            timestamptz NOT NULL DEFAULT now(),
    -- NULL for the system (CLI, workers). Users are disabled, never deleted.
    actor_user_id uuid REFERENCES users(id),
    action        text NOT NULL,
    -- No foreign key: the record outlives what it talks about.
    ticket_id     uuid,
    detail        jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_ticket_idx ON audit_log (ticket_id, at) WHERE ticket_id IS NOT NULL;
CREATE INDEX audit_log_actor_idx ON audit_log (actor_user_id, at);

CREATE FUNCTION audit_log_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER audit_log_no_update_delete
    BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate
    BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
