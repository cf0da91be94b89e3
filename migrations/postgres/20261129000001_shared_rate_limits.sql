-- Per-IP rate limits counted in the database, so that several instances of the
-- server share one count (a fixed window per endpoint and client address).
CREATE TABLE rate_limit_windows (
    endpoint     text   NOT NULL,
    client       text   NOT NULL,
    window_start bigint NOT NULL,
    hits         bigint NOT NULL,
    PRIMARY KEY (endpoint, client, window_start)
);

GRANT SELECT, INSERT, UPDATE, DELETE ON rate_limit_windows TO medisync_app;
