-- Failed logins by the client address they came from: many user names tried from one address
-- (password spraying) are throttled though no one account reaches its own lockout. Kept apart
-- from login_failures, whose key is whatever name was typed.
CREATE TABLE login_failures_by_address (
    id      INTEGER PRIMARY KEY,
    address TEXT NOT NULL,
    at      INTEGER NOT NULL
);
CREATE INDEX login_failures_by_address_at ON login_failures_by_address (address, at);
