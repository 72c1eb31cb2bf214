-- Routing: volunteers (caseworkers), assignments and response-time promises.

CREATE TABLE volunteers (
    id               uuid PRIMARY KEY,
    email            text NOT NULL UNIQUE,
    name             text NOT NULL,
    -- ISO 3166 alpha-2 codes; '*' puts the volunteer in the global pool.
    countries        text[] NOT NULL DEFAULT '{}',
    -- ISO 639-1 codes.
    languages        text[] NOT NULL DEFAULT '{}',
    capacity         integer NOT NULL CHECK (capacity >= 0),
    active           boolean NOT NULL DEFAULT true,
    paused_until     timestamptz,
    last_assigned_at timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE tickets
    ADD COLUMN assignee_id          uuid REFERENCES volunteers(id),
    ADD COLUMN assignment_reason    text,
    -- waiting: nobody with capacity yet; triage: needs a person to decide.
    ADD COLUMN routing_state        text NOT NULL DEFAULT 'pending'
        CHECK (routing_state IN ('pending','assigned','waiting','triage')),
    ADD COLUMN country_suggestion   text,
    ADD COLUMN first_response_due_at timestamptz,
    ADD COLUMN first_responded_at   timestamptz,
    ADD COLUMN sla_breached_at      timestamptz;

CREATE INDEX tickets_assignee_open_idx ON tickets (assignee_id)
    WHERE status NOT IN ('resolved','closed');
CREATE INDEX tickets_routing_idx ON tickets (routing_state, created_at)
    WHERE assignee_id IS NULL AND status NOT IN ('resolved','closed');
CREATE INDEX tickets_sla_idx ON tickets (first_response_due_at)
    WHERE first_responded_at IS NULL AND sla_breached_at IS NULL;

-- Every assignment and unassignment, with why.
CREATE TABLE assignments (
    id            uuid PRIMARY KEY,
    ticket_id     uuid NOT NULL REFERENCES tickets(id),
    volunteer_id  uuid NOT NULL REFERENCES volunteers(id),
    reason        text NOT NULL,
    assigned_by   text NOT NULL,
    assigned_at   timestamptz NOT NULL DEFAULT now(),
    ended_at      timestamptz,
    ended_reason  text
);
CREATE INDEX assignments_ticket_idx ON assignments (ticket_id, assigned_at);
-- At most one live assignment per ticket, whatever the workers do.
CREATE UNIQUE INDEX assignments_one_live_idx ON assignments (ticket_id) WHERE ended_at IS NULL;

-- Things coordinators must see (SLA breaches, triage).
CREATE TABLE notifications (
    id          uuid PRIMARY KEY,
    kind        text NOT NULL,
    ticket_id   uuid REFERENCES tickets(id),
    detail      text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    read_at     timestamptz
);
