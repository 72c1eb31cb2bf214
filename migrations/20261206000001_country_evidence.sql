-- Issue #11: every case keeps the evidence its country was inferred from,
-- and a low-confidence guess is a plain ISO code with its confidence.

-- The inference's evidence list, as shown to caseworkers: an array of
-- {kind, country, text, weight, note?} (concierge_core::country::EvidenceItem).
ALTER TABLE tickets
    ADD COLUMN country_evidence jsonb NOT NULL DEFAULT '[]'::jsonb,
    ADD COLUMN country_suggestion_confidence real;

-- Old suggestions read "BR (stated, 0.42)": keep the code and the confidence.
UPDATE tickets
   SET country_suggestion_confidence =
           CASE WHEN country_suggestion ~ ', [0-9]+(\.[0-9]+)?\)$'
                THEN substring(country_suggestion from ', ([0-9]+(?:\.[0-9]+)?)\)$')::real
           END,
       country_suggestion = left(country_suggestion, 2)
 WHERE country_suggestion ~ '^[A-Z]{2} ';

-- Anything else is not a country code: drop it rather than show it as one.
UPDATE tickets SET country_suggestion = NULL
 WHERE country_suggestion IS NOT NULL AND country_suggestion !~ '^[A-Z]{2}$';

ALTER TABLE tickets
    ADD CONSTRAINT tickets_country_suggestion_code
        CHECK (country_suggestion ~ '^[A-Z]{2}$'),
    ADD CONSTRAINT tickets_country_suggestion_confidence_range
        CHECK (country_suggestion_confidence BETWEEN 0 AND 1),
    ADD CONSTRAINT tickets_country_evidence_array
        CHECK (jsonb_typeof(country_evidence) = 'array');
