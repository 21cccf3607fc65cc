-- API tokens expire. Tokens made before expiries existed get 90 days from the upgrade, so
-- automation keeps working long enough to be given a new token, and none lives forever.
-- The text has the application's timestamp form (nanoseconds, Z) so comparisons hold.
ALTER TABLE api_tokens ADD COLUMN expires_at TEXT;
UPDATE api_tokens SET expires_at = strftime('%Y-%m-%dT%H:%M:%S.000000000Z', 'now', '+90 days')
WHERE expires_at IS NULL;
