-- Single-use, expiring links for dashboard accounts: invitations (choose a
-- first password) and password resets. The link carries a random 256-bit
-- token; only its SHA-256 is kept, so a copy of this table opens nothing.
-- Using a link marks it used, in the same transaction that sets the
-- password, marks the user's other open links of that purpose used and
-- ends all the user's sessions.

CREATE TABLE account_links (
    id           uuid PRIMARY KEY,
    token_sha256 text NOT NULL UNIQUE CHECK (token_sha256 ~ '^[0-9a-f]{64}$'),
    user_id      uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    purpose      text NOT NULL CHECK (purpose IN ('invite','reset')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    used_at      timestamptz
);
CREATE INDEX account_links_user_idx ON account_links (user_id, purpose, created_at);

-- Resource hub entries changed in the dashboard (edited, added, disabled):
-- `concierge hub import` leaves such rows alone (neither updates nor
-- deactivates them) until an admin hands the entry back to the file
-- ("Return to the file" on /admin/hub clears the mark).
ALTER TABLE resources
    ADD COLUMN edited_at timestamptz,
    ADD COLUMN edited_by uuid REFERENCES users(id);
