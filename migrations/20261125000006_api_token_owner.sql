-- API tokens act as a user: the policy of that user's role applies to every
-- request made with the token. Tokens created before this have no user and
-- are refused (create a new one with `concierge token create --user EMAIL`).
ALTER TABLE api_tokens ADD COLUMN user_id uuid REFERENCES users(id);
CREATE INDEX api_tokens_user_idx ON api_tokens (user_id) WHERE user_id IS NOT NULL;
