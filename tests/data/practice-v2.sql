-- A practice log as schema version 2 wrote it (the log of the day the pain check-in came;
-- frozen: the migration test opens a file made from this). Two finished sessions: one
-- played, one logged by hand.
PRAGMA application_id = 1447513159;
PRAGMA user_version = 2;
CREATE TABLE session_exercises (
            session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            exercise TEXT NOT NULL,
            state TEXT NOT NULL, title TEXT NOT NULL DEFAULT '', heard_ms INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (session_id, position)
        );
INSERT INTO "session_exercises" VALUES(1,0,'a','completed','A',400000);
INSERT INTO "session_exercises" VALUES(1,1,'b','completed','B',439000);
INSERT INTO "session_exercises" VALUES(2,0,'c','completed','C',0);
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
        , utc_offset_s INTEGER NOT NULL DEFAULT 0, source TEXT NOT NULL DEFAULT 'play', title TEXT NOT NULL DEFAULT '', routine_path TEXT, start_exercise TEXT, heard_ms INTEGER NOT NULL DEFAULT 0, updated_utc REAL, pid INTEGER, boot_id TEXT);
INSERT INTO "sessions" VALUES(1,'outer-hip',1772348400.0,1772349240.0,'done',1,840000,840000,'{"voice": "gmw/en-us"}',3600,'play','Outer hip',NULL,NULL,839000,1772349240.0,0,'0a1b2c3d-0000-4000-8000-000000000000');
INSERT INTO "sessions" VALUES(2,'desk-break',1772434800.0,1772435100.0,'done',1,300000,300000,'{}',3600,'log','Desk break',NULL,NULL,300000,1772435100.0,0,'0a1b2c3d-0000-4000-8000-000000000000');
CREATE INDEX sessions_by_start ON sessions (started_utc);
