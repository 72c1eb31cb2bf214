-- The crisis lane (issue 13): risk per message and per case, the
-- acknowledgement of a case's risk by a person, its escalation clock, and
-- the on-call rota.

-- Order of risk levels, for "never lowered by the system".
CREATE FUNCTION risk_rank(text) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE $1 WHEN 'imminent' THEN 2 WHEN 'concern' THEN 1 ELSE 0 END
$$;

ALTER TABLE messages
    ADD COLUMN risk text NOT NULL DEFAULT 'none'
        CHECK (risk IN ('none','concern','imminent')),
    -- concierge_core::risk::RiskEvidence list: rule ids and matched phrases.
    ADD COLUMN risk_evidence jsonb NOT NULL DEFAULT '[]';

ALTER TABLE tickets
    -- The case's assessed risk: the highest of its messages, unless a person
    -- set it (then what they set, until a later message raises it).
    ADD COLUMN risk text NOT NULL DEFAULT 'none'
        CHECK (risk IN ('none','concern','imminent')),
    -- A person has read the imminent-risk assessment and acted (audited).
    ADD COLUMN risk_acknowledged_at timestamptz,
    ADD COLUMN risk_acknowledged_by uuid REFERENCES users(id),
    -- Imminent and not acknowledged: when coordinators are mailed next,
    -- and how many times they have been.
    ADD COLUMN risk_escalate_at timestamptz,
    ADD COLUMN risk_escalations integer NOT NULL DEFAULT 0;

-- The sweep's look-up of unacknowledged urgent cases, and the queues' pin.
CREATE INDEX tickets_risk_escalate_idx ON tickets (risk_escalate_at)
    WHERE risk_escalate_at IS NOT NULL;
CREATE INDEX tickets_risk_pinned_idx ON tickets (created_at)
    WHERE risk = 'imminent' AND risk_acknowledged_at IS NULL;

-- Who is on call when, for which region: an ISO country code, a UN M49
-- sub-region name as routing uses them ("South America") or '*' for
-- everywhere; validated by concierge_core::routing::OnCallRegion.
CREATE TABLE on_call (
    id          uuid PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES users(id),
    region      text NOT NULL CHECK (region <> ''),
    starts_at   timestamptz NOT NULL,
    ends_at     timestamptz NOT NULL CHECK (ends_at > starts_at),
    created_by  uuid REFERENCES users(id),
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX on_call_now_idx ON on_call (ends_at, starts_at);
