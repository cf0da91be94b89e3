-- Per-IP rate limits counted in the database, so that several instances of the
-- server share one count (a fixed window per endpoint and client address).
CREATE TABLE rate_limit_windows (
    endpoint     TEXT    NOT NULL,
    client       TEXT    NOT NULL,
    window_start INTEGER NOT NULL,
    hits         INTEGER NOT NULL,
    PRIMARY KEY (endpoint, client, window_start)
);
