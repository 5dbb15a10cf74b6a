-- A practice log as the first version of its schema wrote it (frozen: the migration test
-- opens a file made from this). Two sessions: one completed, one left playing by a player
-- that is long gone.
PRAGMA application_id = 1447513159;
PRAGMA user_version = 1;
CREATE TABLE sessions (
    id INTEGER PRIMARY KEY,
    routine TEXT NOT NULL,
    started_utc REAL NOT NULL,
    ended_utc REAL,
    status TEXT NOT NULL,
    completed INTEGER NOT NULL DEFAULT 0,
    position_ms INTEGER NOT NULL DEFAULT 0,
    planned_ms INTEGER NOT NULL DEFAULT 0,
    settings TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE session_exercises (
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    exercise TEXT NOT NULL,
    state TEXT NOT NULL,
    PRIMARY KEY (session_id, position)
);
-- 2026-03-01 07:00:00 UTC to 07:14:00
INSERT INTO sessions VALUES (1, 'outer-hip', 1772348400.0, 1772349240.0, 'done', 1, 840000, 840000,
    '{"overrides": ["--hold 40"], "voice": "gmw/en-us", "rate_wpm": 160}');
INSERT INTO session_exercises VALUES (1, 0, 'supine-hip-stretch', 'completed');
INSERT INTO session_exercises VALUES (1, 1, 'seated-twist-hip-release', 'completed');
INSERT INTO session_exercises VALUES (1, 2, 'adductor-ball-squeeze', 'completed');
-- 2026-03-02 18:00:00 UTC, never finished
INSERT INTO sessions VALUES (2, 'outer-hip', 1772474400.0, NULL, 'playing', 0, 300000, 840000, '{}');
INSERT INTO session_exercises VALUES (2, 0, 'supine-hip-stretch', 'completed');
INSERT INTO session_exercises VALUES (2, 1, 'seated-twist-hip-release', 'playing');
INSERT INTO session_exercises VALUES (2, 2, 'adductor-ball-squeeze', 'pending');
