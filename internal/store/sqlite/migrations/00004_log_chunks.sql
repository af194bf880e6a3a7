-- +goose Up
-- Log lines are stored many to a row: a chunk holds the consecutive lines
-- first_seq..last_seq of one stream, as a JSONB array with one
-- [time offset, message] array per line, the offset in nanoseconds from
-- time_ns (the first line's time). One row per line cannot keep up with a
-- process writing at disk speed. `SELECT json(lines) FROM log_chunks` shows
-- a chunk as JSON text. Chunks of one stream never overlap, so ordering
-- them by last_seq orders their lines.
CREATE TABLE log_chunks (
    id        INTEGER NOT NULL PRIMARY KEY,
    event_id  TEXT    NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    job       TEXT    NOT NULL,
    container TEXT    NOT NULL,
    first_seq INTEGER NOT NULL,
    last_seq  INTEGER NOT NULL,
    time_ns   INTEGER NOT NULL,
    lines     BLOB    NOT NULL
);
CREATE UNIQUE INDEX log_chunks_by_stream ON log_chunks (event_id, job, container, last_seq);

INSERT INTO log_chunks (event_id, job, container, first_seq, last_seq, time_ns, lines)
SELECT event_id, job, container, seq, seq, time_ns, jsonb_array(jsonb_array(0, message))
FROM logs ORDER BY event_id, job, container, seq;

DROP TABLE logs;

-- +goose Down
CREATE TABLE logs (
    event_id  TEXT    NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    job       TEXT    NOT NULL,
    container TEXT    NOT NULL,
    seq       INTEGER NOT NULL,
    time_ns   INTEGER NOT NULL,
    message   TEXT    NOT NULL,
    PRIMARY KEY (event_id, job, container, seq)
) WITHOUT ROWID;

INSERT INTO logs (event_id, job, container, seq, time_ns, message)
SELECT c.event_id, c.job, c.container, c.first_seq + l.key, c.time_ns + (l.value ->> 0), l.value ->> 1
FROM log_chunks c, json_each(c.lines) l;

DROP TABLE log_chunks;
