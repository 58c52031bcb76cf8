// The schema of the agent state store, as an ordered list of migrations.
//
// Rules, so that any database ever written can be opened by any later build:
// * a migration, once committed to the main branch, is never edited or removed; changes are new migrations appended
//   at the end with the next version number;
// * each migration runs in its own transaction together with the row that records it in `schema_migrations`, so a
//   crash leaves the database either before or after the migration, never in between;
// * the runner re-reads the applied versions inside that transaction, so opening twice (or two processes racing)
//   applies each migration exactly once.
//
// Every table uses STRICT (SQLite ≥ 3.37, the vendored one is 3.54) so a wrongly typed bind fails loudly instead
// of being stored with another affinity. The per-agent tables are WITHOUT ROWID with a primary key that starts with
// `agent_id`: that key is the index that loading or deleting one agent's rows uses, so no extra index is needed.
// Every per-agent table references `agents` with ON DELETE CASCADE: removing a virtual device is one DELETE.

struct SchemaMigration: Sendable {
    let version: Int
    let name: String
    /// One statement per element: SQLiteNIO prepares only the first statement of a string.
    let statements: [String]
}

enum AgentStoreSchema {
    /// The migrations of this build, in order; `migrations.last.version` is the schema version it writes.
    static let migrations: [SchemaMigration] = [
        SchemaMigration(version: 1, name: "agents and pending events", statements: [
            """
            CREATE TABLE agents (
                agent_id TEXT NOT NULL PRIMARY KEY,
                parameter_key TEXT NOT NULL DEFAULT '',
                bootstrapped_acs_url TEXT,
                retry_count INTEGER NOT NULL DEFAULT 0 CHECK (retry_count >= 0)
            ) STRICT, WITHOUT ROWID
            """,
            // AUTOINCREMENT (not a plain rowid) is what makes sequence numbers never reused: without it SQLite
            // may hand out max(rowid)+1 again after the newest events were acknowledged and deleted, and an
            // "acknowledged up to N" from before a restart would then cover a new, undelivered event.
            """
            CREATE TABLE pending_events (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                agent_id TEXT NOT NULL REFERENCES agents (agent_id) ON DELETE CASCADE,
                code TEXT NOT NULL CHECK (length(code) BETWEEN 1 AND 64),
                command_key TEXT NOT NULL DEFAULT ''
            ) STRICT
            """,
            "CREATE INDEX pending_events_by_agent ON pending_events (agent_id, seq)",
        ]),
        SchemaMigration(version: 2, name: "parameter attributes, instance counters and aliases", statements: [
            // access_list: the entries, each terminated by U+001F. XML 1.0 cannot carry that character, so no
            // AccessList entry received over SOAP contains it; the encoding tells [] from [""].
            """
            CREATE TABLE parameter_attributes (
                agent_id TEXT NOT NULL REFERENCES agents (agent_id) ON DELETE CASCADE,
                path TEXT NOT NULL,
                notification INTEGER NOT NULL CHECK (notification BETWEEN 0 AND 6),
                access_list TEXT NOT NULL DEFAULT '',
                PRIMARY KEY (agent_id, path)
            ) STRICT, WITHOUT ROWID
            """,
            """
            CREATE TABLE instance_counters (
                agent_id TEXT NOT NULL REFERENCES agents (agent_id) ON DELETE CASCADE,
                table_path TEXT NOT NULL,
                next_instance INTEGER NOT NULL CHECK (next_instance BETWEEN 1 AND 4294967295),
                PRIMARY KEY (agent_id, table_path)
            ) STRICT, WITHOUT ROWID
            """,
            // The writers already use MAX(old, new); the trigger makes "never decreases" a property of the
            // database, whatever statement a later change adds (instance numbers are never reused, cwmp.md §8).
            """
            CREATE TRIGGER instance_counters_never_decrease
            BEFORE UPDATE OF next_instance ON instance_counters
            WHEN NEW.next_instance < OLD.next_instance
            BEGIN SELECT RAISE(ABORT, 'instance counters never decrease'); END
            """,
            """
            CREATE TABLE instance_aliases (
                agent_id TEXT NOT NULL REFERENCES agents (agent_id) ON DELETE CASCADE,
                table_path TEXT NOT NULL,
                instance INTEGER NOT NULL CHECK (instance BETWEEN 1 AND 4294967295),
                alias TEXT NOT NULL CHECK (length(alias) BETWEEN 1 AND 64),
                PRIMARY KEY (agent_id, table_path, instance),
                UNIQUE (agent_id, table_path, alias)
            ) STRICT, WITHOUT ROWID
            """,
        ]),
        SchemaMigration(version: 3, name: "pending transfers", statements: [
            """
            CREATE TABLE pending_transfers (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                agent_id TEXT NOT NULL REFERENCES agents (agent_id) ON DELETE CASCADE,
                command_key TEXT NOT NULL,
                kind TEXT NOT NULL CHECK (kind IN ('download', 'upload')),
                state TEXT NOT NULL CHECK (state IN ('queued', 'inProgress', 'completed')),
                file_type TEXT NOT NULL,
                url TEXT NOT NULL,
                target_file_name TEXT NOT NULL DEFAULT '',
                fault_code INTEGER NOT NULL DEFAULT 0 CHECK (fault_code BETWEEN 0 AND 4294967295),
                fault_string TEXT NOT NULL DEFAULT '',
                start_time TEXT,
                complete_time TEXT
            ) STRICT
            """,
            "CREATE INDEX pending_transfers_by_agent ON pending_transfers (agent_id, id)",
        ]),
        SchemaMigration(version: 4, name: "stored parameter values", statements: [
            """
            CREATE TABLE parameter_values (
                agent_id TEXT NOT NULL REFERENCES agents (agent_id) ON DELETE CASCADE,
                path TEXT NOT NULL,
                value TEXT NOT NULL,
                type TEXT NOT NULL,
                PRIMARY KEY (agent_id, path)
            ) STRICT, WITHOUT ROWID
            """,
        ]),
        // Version 5: what an agent needs so that its instance numbers survive a restart (the counters and aliases
        // of version 2 alone cannot tell which provider row an instance number belonged to), and the CPE requests
        // (TransferComplete and friends) it owes the ACS.
        SchemaMigration(version: 5, name: "instance keys and pending CPE requests", statements: [
            // provider_key: the provider's native key of the row (an SNMP ifIndex, a UPnP DM instance number, a
            // dictionary key). UNIQUE: one provider row has one CWMP instance number per table.
            """
            CREATE TABLE instance_keys (
                agent_id TEXT NOT NULL REFERENCES agents (agent_id) ON DELETE CASCADE,
                table_path TEXT NOT NULL,
                instance INTEGER NOT NULL CHECK (instance BETWEEN 1 AND 4294967295),
                provider_key TEXT NOT NULL,
                PRIMARY KEY (agent_id, table_path, instance),
                UNIQUE (agent_id, table_path, provider_key)
            ) STRICT, WITHOUT ROWID
            """,
            // envelope: the request as the SOAP envelope the CPE sends (written and read by the libxml2 codec), so
            // the stored form is exactly the wire form. AUTOINCREMENT keeps the acceptance order and never reuses
            // an id, as for pending_events.
            """
            CREATE TABLE pending_requests (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                agent_id TEXT NOT NULL REFERENCES agents (agent_id) ON DELETE CASCADE,
                method TEXT NOT NULL CHECK (length(method) BETWEEN 1 AND 64),
                envelope TEXT NOT NULL,
                transfer_id INTEGER
            ) STRICT
            """,
            "CREATE INDEX pending_requests_by_agent ON pending_requests (agent_id, id)",
        ]),
        // Version 6: the value changes (parameters with Notification 1 or 2 whose change no acknowledged Inform has
        // reported yet) and the ScheduleInform requests not yet due. Kept so that a kill -9 loses neither: the next
        // Inform carries `4 VALUE CHANGE` with their current values, and `3 SCHEDULED` + `M ScheduleInform` come when
        // due (AgentStore+ValueChanges.swift).
        SchemaMigration(version: 6, name: "pending value changes and scheduled informs", statements: [
            // notification: the attribute when the change was recorded (1…6; 0 is never recorded).
            """
            CREATE TABLE pending_value_changes (
                agent_id TEXT NOT NULL REFERENCES agents (agent_id) ON DELETE CASCADE,
                path TEXT NOT NULL,
                notification INTEGER NOT NULL CHECK (notification BETWEEN 1 AND 6),
                PRIMARY KEY (agent_id, path)
            ) STRICT, WITHOUT ROWID
            """,
            // due_ms: the instant the Inform is due, milliseconds since the Unix epoch (the agent clock's timeline).
            """
            CREATE TABLE scheduled_informs (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                agent_id TEXT NOT NULL REFERENCES agents (agent_id) ON DELETE CASCADE,
                due_ms INTEGER NOT NULL,
                command_key TEXT NOT NULL
            ) STRICT
            """,
            "CREATE INDEX scheduled_informs_by_agent ON scheduled_informs (agent_id, id)",
        ]),
    ]

    /// The bookkeeping table itself is created outside the list: it must exist before the runner can ask it anything.
    static let createMigrationsTable = """
        CREATE TABLE IF NOT EXISTS schema_migrations (
            version INTEGER NOT NULL PRIMARY KEY,
            name TEXT NOT NULL,
            applied_at INTEGER NOT NULL
        ) STRICT
        """
}
