-- API tokens expire. Tokens made before expiries existed get 90 days from the upgrade, so
-- automation keeps working long enough to be given a new token, and none lives forever.
-- The text has the application's timestamp form (nanoseconds, Z) so comparisons hold.
ALTER TABLE api_tokens ADD COLUMN expires_at TEXT;
UPDATE api_tokens
SET expires_at = to_char((now() AT TIME ZONE 'UTC') + interval '90 days',
                         'YYYY-MM-DD"T"HH24:MI:SS".000000000Z"')
WHERE expires_at IS NULL;
ALTER TABLE api_tokens ALTER COLUMN expires_at SET NOT NULL;
