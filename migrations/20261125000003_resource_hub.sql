-- Resource hub: crisis lines and support organisations, imported from
-- config/resource-hub/hub.toml (`concierge hub import`). Entries that leave
-- the file are marked inactive, never deleted.

CREATE TABLE resources (
    -- The entry's slug in hub.toml, e.g. 'br-cvv'.
    id            text PRIMARY KEY CHECK (id ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    name          text NOT NULL,
    kind          text NOT NULL
        CHECK (kind IN ('crisis_line','peer_support','advocacy','financial_aid','therapy_fund')),
    -- ISO 3166-1 alpha-2 codes, or {'*'} for a global entry.
    countries     text[] NOT NULL CHECK (cardinality(countries) > 0),
    -- ISO 639 codes.
    languages     text[] NOT NULL DEFAULT '{}',
    -- As dialled locally.
    phone         text[] NOT NULL DEFAULT '{}',
    sms           text[] NOT NULL DEFAULT '{}',
    chat          text,
    web           text,
    email         text,
    -- Language-neutral: '24/7', '10:00–24:00'.
    hours         text,
    cost          text NOT NULL DEFAULT 'unknown',
    verification  text NOT NULL
        CHECK (verification IN ('sourced','unverified','conflicting')),
    source        text NOT NULL CHECK (btrim(source) <> ''),
    last_verified date NOT NULL,
    notes         text,
    -- ISO 639 code → short description; always has 'en'.
    descriptions  jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(descriptions) = 'object'),
    -- Position in hub.toml: the display order within a group.
    position      integer NOT NULL DEFAULT 0,
    active        boolean NOT NULL DEFAULT true,
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX resources_countries_idx ON resources USING gin (countries);
