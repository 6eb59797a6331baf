-- Short-lived user tokens (POST /v1/users/{id}/tokens) are signed with HMAC-SHA256 under a secret of their
-- app's, so any instance can check a token without a lookup per request and without storing tokens. The
-- secret is made by the first token the app issues (256 random bits from the JVM's SecureRandom).
ALTER TABLE apps ADD COLUMN token_secret bytea CHECK (length(token_secret) = 32);
