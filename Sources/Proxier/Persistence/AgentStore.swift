import Logging
internal import SQLiteNIO

/// The durable state of every CWMP agent the proxier hosts (the gateway and each virtual device of TR-069 Annex J.2),
/// in one SQLite database file per process.
///
/// ## Guarantees
///
/// * Every method that returns has committed its transaction; a `kill -9` at any later moment loses none of it
///   (see `Durability` for what an OS crash needs).
/// * A list of `AgentChange`s given to `apply(_:to:)` is one transaction: all of it survives a crash, or none.
/// * Event delivery: the store gives **at-least-once** delivery — an event stays until the session layer deletes it
///   with `acknowledgeEvents(of:upTo:)`, which it calls only after the InformResponse. A crash in the window between
///   the InformResponse and the commit of that delete sends those events again in the next session's Inform. This
///   is what TR-069 asks for (an Inform without an InformResponse is not a delivery) and the window is one local
///   commit long; there is no window in which an event is lost. See `acknowledgeEvents(of:upTo:)` for the one rule
///   the caller must follow.
///
/// ## Why an actor
///
/// `SQLiteConnection` is `Sendable` and runs each statement on the NIO thread pool, but a transaction is several
/// statements with an `await` between each, and all callers share the one connection. Another caller's statement
/// must not land inside our BEGIN…COMMIT. An actor alone does not prevent that (it is re-entrant at every `await`),
/// so the actor holds a FIFO gate: each public operation runs alone from its first statement to its COMMIT. The
/// actor is the natural owner of that gate's state and of the "closed" flag; a `final class` would need a lock plus
/// the same async waiting. One connection is also what SQLite serialises writers to anyway, and the state of
/// thousands of agents is small.
///
/// SQLiteNIO prepares each statement anew (it has no public prepared-statement API); values are always bound,
/// never spliced into SQL. The cost is a few microseconds of parsing per statement, small next to the thread hop.
///
/// Call `close()` before dropping the store: SQLiteNIO asserts that its connection was closed.
///
/// ## Topics
/// - ``open(directory:durability:logger:)``
/// - ``loadAll()``
/// - ``appendEvent(_:commandKey:to:)``
/// - ``acknowledgeEvents(of:upTo:)``
/// - ``apply(_:to:)``
public actor AgentStore {
    /// How much of a crash a commit survives.
    public enum Durability: Hashable, Sendable {
        /// `synchronous=NORMAL` in WAL mode: a commit is a write(2) of its WAL frames, fsync only at checkpoints.
        /// Once write(2) returns the frames are in the kernel's page cache, which a dying process cannot take with
        /// it, so a `kill -9`, a crash or the OOM killer loses nothing committed. A kernel panic or power cut before
        /// the kernel writes the pages back can lose the last commits (the database stays consistent: WAL frames
        /// are checksummed and an incomplete tail is ignored), so an acknowledged event may come back (harmless)
        /// and a just appended one may be gone.
        case processCrash
        /// `synchronous=FULL`: the WAL is also fsync'ed at every commit, so commits survive an OS crash or power
        /// loss — provided the storage honours flushes (no volatile write cache, no `nobarrier` mount). It costs
        /// one fsync per transaction: batch an RPC's changes with `apply(_:to:)`.
        case powerLoss
    }

    /// The database file name inside the state directory.
    public static let fileName = "agents.sqlite"

    /// The schema version this build writes.
    public static var schemaVersion: Int { AgentStoreSchema.migrations.last?.version ?? 0 }

    /// The database file.
    public nonisolated let path: String

    private let connection: SQLiteConnection
    private let logger: Logger
    var isClosed = false
    private var gateIsHeld = false
    private var gateWaiters: [CheckedContinuation<Void, Never>] = []
    /// The group commit's queue and whether a task is draining it (AgentStore+GroupCommit.swift).
    var groupQueue: [GroupWaiter] = []
    var isDrainingGroup = false
    /// Test hooks: queued calls are not drained while held; batches run so far.
    var groupCommitHeld = false
    var groupCommitBatches = 0

    /// Agents this store has seen exist (created, loaded or checked) and not removed since: the group commit checks
    /// only the others with a SELECT. A row deleted behind the store's back (an operator's sqlite3 shell) is still
    /// caught by the foreign keys of every INSERT; an UPDATE or DELETE for it then changes nothing.
    var knownAgents: Set<String> = []

    private init(path: String, connection: SQLiteConnection, logger: Logger) {
        self.path = path
        self.connection = connection
        self.logger = logger
    }

    /// Opens (creating it if needed) the store in `directory`, an absolute path, and brings its schema up to date.
    ///
    /// The directory is created 0700 and the database 0600: it holds the devices' passwords.
    public static func open(
        directory: String,
        durability: Durability = .processCrash,
        logger: Logger = Logger(label: "cwmp-proxy.agent-store")
    ) async throws(ProxierError) -> AgentStore {
        try await open(directory: directory, durability: durability, logger: logger,
                       migrations: AgentStoreSchema.migrations)
    }

    /// `open` with a chosen migration list: the tests make databases of older versions with a prefix of the list.
    static func open(directory: String, durability: Durability, logger: Logger,
                     migrations: [SchemaMigration]) async throws(ProxierError) -> AgentStore {
        let trimmed = directory.hasSuffix("/") && directory.count > 1 ? String(directory.dropLast()) : directory
        let path = trimmed + "/" + fileName
        try StateFile.prepare(directory: trimmed, databasePath: path)
        let connection: SQLiteConnection
        do {
            connection = try await SQLiteConnection.open(storage: .file(path: path), logger: logger)
        } catch {
            throw storeError(error, "opening \(path)")
        }
        let store = AgentStore(path: path, connection: connection, logger: logger)
        do {
            try await store.configure(durability: durability)
            try await store.migrate(to: migrations)
        } catch {
            try? await store.close()
            throw error
        }
        logger.debug("agent store opened", metadata: ["store.path": .string(path)])
        return store
    }

    /// Closes the database. Operations waiting for their turn, and any later one, fail with `.storeFailure`.
    public func close() async throws(ProxierError) {
        await acquireGate()
        defer { releaseGate() }
        guard !isClosed else { return }
        isClosed = true
        do {
            try await connection.close()
        } catch {
            throw Self.storeError(error, "closing")
        }
    }

    // MARK: Agents

    /// Creates the agent if it does not exist yet; its state starts empty. Every other write requires the agent to
    /// exist and fails with `.unknownAgent` otherwise, so a late write for a removed virtual device cannot bring
    /// it back.
    public func createAgent(_ agentID: String) async throws(ProxierError) {
        try Self.validateAgentID(agentID)
        try await exclusively { () async throws(ProxierError) -> Void in
            try await query("INSERT INTO agents (agent_id) VALUES (?) ON CONFLICT (agent_id) DO NOTHING",
                            [.text(agentID)])
            knownAgents.insert(agentID)
        }
    }

    /// Removes the agent and all its state (its virtual device was deleted). Returns whether it existed.
    @discardableResult
    public func removeAgent(_ agentID: String) async throws(ProxierError) -> Bool {
        try await exclusively { () async throws(ProxierError) -> Bool in
            // ON DELETE CASCADE removes the rows of every per-agent table in the same statement.
            knownAgents.remove(agentID)
            let rows = try await query("DELETE FROM agents WHERE agent_id = ? RETURNING agent_id", [.text(agentID)])
            return !rows.isEmpty
        }
    }

    /// The ids of all stored agents, sorted.
    public func agentIDs() async throws(ProxierError) -> [String] {
        try await exclusively { () async throws(ProxierError) -> [String] in
            try await query("SELECT agent_id FROM agents ORDER BY agent_id").map { row throws(ProxierError) in
                try row.text("agent_id")
            }
        }
    }

    /// Loads every agent, for startup: one query per table, not per agent.
    public func loadAll() async throws(ProxierError) -> [String: AgentSnapshot] {
        try await exclusively { () async throws(ProxierError) -> [String: AgentSnapshot] in
            let snapshots = try await loadSnapshots(of: nil)
            knownAgents.formUnion(snapshots.keys)
            return snapshots
        }
    }

    /// Loads one agent, or `nil` if it does not exist.
    public func load(_ agentID: String) async throws(ProxierError) -> AgentSnapshot? {
        try await exclusively { () async throws(ProxierError) -> AgentSnapshot? in
            try await loadSnapshots(of: agentID)[agentID]
        }
    }

    // MARK: Events (the hot path)

    /// Appends one pending event and returns it with its sequence number.
    @discardableResult
    public func appendEvent(_ code: String, commandKey: String = "", to agentID: String) async throws(ProxierError)
        -> PendingEvent {
        let applied = try await apply([.appendEvent(code: code, commandKey: commandKey)], to: agentID)
        return PendingEvent(sequence: applied.eventSequences[0], code: code, commandKey: commandKey)
    }

    /// The agent's undelivered events, oldest first: what its next Inform must carry.
    ///
    /// Served by the group commit: the reads of many agents queued together are one SELECT.
    public func pendingEvents(of agentID: String) async throws(ProxierError) -> [PendingEvent] {
        guard case .events(let events) = try await submitToGroup(.pendingEvents(agentID: agentID)) else {
            throw ProxierError(.storeFailure, "the group commit answered a read with a write's result")
        }
        return events
    }

    /// Deletes the agent's pending events with a sequence number `<= sequence`; call it when the InformResponse
    /// arrives, with the highest sequence number the Inform carried. Returns how many events were deleted.
    ///
    /// The rule: build the Inform from one `pendingEvents(of:)` (or a snapshot) read, which always returns every
    /// pending event up to its highest sequence number. An Inform assembled from events whose appends returned in
    /// another order could skip a lower sequence number, and acknowledging "up to" would then delete that event
    /// undelivered. Events appended after the Inform was built have higher numbers and stay pending.
    @discardableResult
    public func acknowledgeEvents(of agentID: String, upTo sequence: Int64) async throws(ProxierError) -> Int {
        try await exclusively { () async throws(ProxierError) -> Int in
            try await query("DELETE FROM pending_events WHERE agent_id = ? AND seq <= ? RETURNING seq",
                            [.text(agentID), .integer(SQLiteInt64(sequence))]).count
        }
    }

    // MARK: Batched changes

    /// Applies `changes` to the agent in order, in one transaction, and returns what the store assigned.
    /// If any change fails (an invalid value, an unknown transfer id, a storage error) nothing is applied.
    ///
    /// Group commit: the calls of many agents that arrive while the store is busy share one transaction (each
    /// caller still returns only after that transaction's COMMIT; see AgentStore+GroupCommit.swift). A failure of
    /// one caller's changes does not fail the others': the batch is then re-run one caller at a time.
    @discardableResult
    public func apply(_ changes: [AgentChange], to agentID: String) async throws(ProxierError) -> AppliedChanges {
        for change in changes { try Self.validate(change) }
        guard case .applied(let applied) = try await submitToGroup(.apply(agentID: agentID, changes: changes)) else {
            throw ProxierError(.storeFailure, "the group commit answered a write with a read's result")
        }
        return applied
    }

    /// `apply` alone in its own transaction, on a connection the caller already holds (the gate).
    func applyAlone(_ changes: [AgentChange], to agentID: String) async throws(ProxierError) -> AppliedChanges {
        try await inTransaction { () async throws(ProxierError) -> AppliedChanges in
            // Checked first so that UPDATEs and DELETEs, which no foreign key guards, fail for an unknown agent too.
            guard try await !query("SELECT 1 FROM agents WHERE agent_id = ?", [.text(agentID)]).isEmpty else {
                throw ProxierError(.unknownAgent, "no agent \(agentID) in the store")
            }
            var applied = AppliedChanges()
            for change in changes {
                try await execute(change, agentID: agentID, into: &applied)
            }
            return applied
        }
    }

    func execute(_ change: AgentChange, agentID: String, into applied: inout AppliedChanges)
        async throws(ProxierError) {
        let agent = SQLiteData.text(agentID)
        switch change {
        case .appendEvent(let code, let commandKey):
            let rows = try await query(
                "INSERT INTO pending_events (agent_id, code, command_key) VALUES (?, ?, ?) RETURNING seq",
                [agent, .text(code), .text(commandKey)])
            applied.eventSequences.append(try rows.single().int64("seq"))

        case .acknowledgeEvents(let sequence):
            try await query("DELETE FROM pending_events WHERE agent_id = ? AND seq <= ?",
                            [agent, .integer(SQLiteInt64(sequence))])

        case .discardEvents(let codes):
            guard !codes.isEmpty else { return }
            // Only placeholders are generated; the codes themselves are bound.
            let placeholders = Array(repeating: "?", count: codes.count).joined(separator: ", ")
            try await query("DELETE FROM pending_events WHERE agent_id = ? AND code IN (\(placeholders))",
                            [agent] + codes.sorted().map { .text($0) })

        case .setParameterKey(let key):
            try await query("UPDATE agents SET parameter_key = ? WHERE agent_id = ?", [.text(key), agent])

        case .setBootstrappedACSURL(let url):
            try await query("UPDATE agents SET bootstrapped_acs_url = ? WHERE agent_id = ?",
                            [url.map { .text($0) } ?? .null, agent])

        case .setRetryCount(let count):
            try await query("UPDATE agents SET retry_count = ? WHERE agent_id = ?",
                            [.integer(SQLiteInt64(count)), agent])

        case .setAttribute(let path, let attribute):
            try await query("""
                INSERT INTO parameter_attributes (agent_id, path, notification, access_list) VALUES (?, ?, ?, ?)
                ON CONFLICT (agent_id, path) DO UPDATE
                SET notification = excluded.notification, access_list = excluded.access_list
                """,
                [agent, .text(path), .integer(SQLiteInt64(attribute.notification)),
                 .text(AccessListCoding.encode(attribute.accessList))])

        case .removeAttribute(let path):
            try await query("DELETE FROM parameter_attributes WHERE agent_id = ? AND path = ?", [agent, .text(path)])

        case .setValue(let path, let value):
            try await query("""
                INSERT INTO parameter_values (agent_id, path, value, type) VALUES (?, ?, ?, ?)
                ON CONFLICT (agent_id, path) DO UPDATE SET value = excluded.value, type = excluded.type
                """,
                [agent, .text(path), .text(value.value), .text(value.type)])

        case .removeValue(let path):
            try await query("DELETE FROM parameter_values WHERE agent_id = ? AND path = ?", [agent, .text(path)])

        case .removeSubtree(let objectPath):
            // Everything below "A.B.3." sorts in ["A.B.3.", "A.B.3/"): '/' is the character after '.', so this
            // half-open range is the prefix, and unlike LIKE it uses the primary key and has no wildcards to escape
            // ('_' is common in vendor names: X_ACME_…).
            let range: [SQLiteData] = [agent, .text(objectPath), .text(String(objectPath.dropLast()) + "/")]
            try await query("DELETE FROM parameter_attributes WHERE agent_id = ? AND path >= ? AND path < ?", range)
            try await query("DELETE FROM parameter_values WHERE agent_id = ? AND path >= ? AND path < ?", range)
            try await query("DELETE FROM instance_aliases WHERE agent_id = ? AND table_path >= ? AND table_path < ?",
                            range)
            // The deleted instance's number is never reused, so the counters of tables below it are dead.
            try await query("DELETE FROM instance_counters WHERE agent_id = ? AND table_path >= ? AND table_path < ?",
                            range)
            try await query("DELETE FROM instance_keys WHERE agent_id = ? AND table_path >= ? AND table_path < ?",
                            range)

        case .allocateInstance(let table):
            // A table without a counter starts at 1, so the first number handed out is 1 and the counter becomes 2.
            let rows = try await query("""
                INSERT INTO instance_counters (agent_id, table_path, next_instance) VALUES (?, ?, 2)
                ON CONFLICT (agent_id, table_path) DO UPDATE SET next_instance = next_instance + 1
                RETURNING next_instance - 1 AS instance
                """, [agent, .text(table)])
            applied.instanceNumbers.append(try rows.single().uint32("instance"))

        case .raiseInstanceCounter(let table, let next):
            try await query("""
                INSERT INTO instance_counters (agent_id, table_path, next_instance) VALUES (?, ?, ?)
                ON CONFLICT (agent_id, table_path) DO UPDATE
                SET next_instance = MAX(next_instance, excluded.next_instance)
                """, [agent, .text(table), .integer(SQLiteInt64(next))])

        case .setAlias(let alias):
            try await query("""
                INSERT INTO instance_aliases (agent_id, table_path, instance, alias) VALUES (?, ?, ?, ?)
                ON CONFLICT (agent_id, table_path, instance) DO UPDATE SET alias = excluded.alias
                """, [agent, .text(alias.table), .integer(SQLiteInt64(alias.instance)), .text(alias.alias)])

        case .removeAlias(let table, let instance):
            try await query("DELETE FROM instance_aliases WHERE agent_id = ? AND table_path = ? AND instance = ?",
                            [agent, .text(table), .integer(SQLiteInt64(instance))])

        case .addTransfer(let transfer):
            let rows = try await query("""
                INSERT INTO pending_transfers (agent_id, command_key, kind, state, file_type, url, target_file_name,
                    fault_code, fault_string, start_time, complete_time)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id
                """, [agent] + transfer.columnValues)
            applied.transferIDs.append(try rows.single().int64("id"))

        case .updateTransfer(let id, let transfer):
            let rows = try await query("""
                UPDATE pending_transfers SET command_key = ?, kind = ?, state = ?, file_type = ?, url = ?,
                    target_file_name = ?, fault_code = ?, fault_string = ?, start_time = ?, complete_time = ?
                WHERE id = ? AND agent_id = ? RETURNING id
                """, transfer.columnValues + [.integer(SQLiteInt64(id)), agent])
            guard !rows.isEmpty else {
                throw ProxierError(.invalidValue, "agent \(agentID) has no pending transfer \(id)")
            }

        case .removeTransfer(let id):
            try await query("DELETE FROM pending_transfers WHERE id = ? AND agent_id = ?",
                            [.integer(SQLiteInt64(id)), agent])

        case .setInstanceKey, .removeInstance, .addRequest, .removeRequest:
            // AgentStore+InstanceKeys.swift.
            try await executeInstanceOrRequestChange(change, agent: agent, into: &applied)

        case .setValueChange, .removeValueChange, .addScheduledInform, .removeScheduledInform:
            // AgentStore+ValueChanges.swift.
            try await executeValueChange(change, agent: agent)
        }
    }

    // MARK: Loading

    private func loadSnapshots(of agentID: String?) async throws(ProxierError) -> [String: AgentSnapshot] {
        // The filter is one of two constant fragments; the agent id itself is bound.
        let filter = agentID == nil ? "" : "WHERE agent_id = ?"
        let binds: [SQLiteData] = agentID.map { [.text($0)] } ?? []
        var snapshots: [String: AgentSnapshot] = [:]

        for row in try await query(
            "SELECT agent_id, parameter_key, bootstrapped_acs_url, retry_count FROM agents \(filter)", binds) {
            let id = try row.text("agent_id")
            snapshots[id] = AgentSnapshot(agentID: id, parameterKey: try row.text("parameter_key"),
                                          bootstrappedACSURL: try row.optionalText("bootstrapped_acs_url"),
                                          retryCount: Int(try row.int64("retry_count")))
        }
        guard !snapshots.isEmpty else { return [:] }

        // Rows of agents missing from `snapshots` cannot exist (foreign keys), so `snapshots[id]?` never drops one.
        for row in try await query(
            "SELECT agent_id, seq, code, command_key FROM pending_events \(filter) ORDER BY agent_id, seq", binds) {
            snapshots[try row.text("agent_id")]?.pendingEvents.append(try row.pendingEvent())
        }
        for row in try await query(
            "SELECT agent_id, path, notification, access_list FROM parameter_attributes \(filter)", binds) {
            snapshots[try row.text("agent_id")]?.attributes[try row.text("path")] = ParameterAttribute(
                notification: Int(try row.int64("notification")),
                accessList: AccessListCoding.decode(try row.text("access_list")))
        }
        for row in try await query(
            "SELECT agent_id, table_path, next_instance FROM instance_counters \(filter)", binds) {
            snapshots[try row.text("agent_id")]?.instanceCounters[try row.text("table_path")] =
                try row.uint32("next_instance")
        }
        for row in try await query("""
            SELECT agent_id, table_path, instance, alias FROM instance_aliases \(filter)
            ORDER BY agent_id, table_path, instance
            """, binds) {
            snapshots[try row.text("agent_id")]?.aliases.append(InstanceAlias(
                table: try row.text("table_path"), instance: try row.uint32("instance"),
                alias: try row.text("alias")))
        }
        for row in try await query("SELECT * FROM pending_transfers \(filter) ORDER BY agent_id, id", binds) {
            snapshots[try row.text("agent_id")]?.transfers.append(try row.storedTransfer())
        }
        for row in try await query("SELECT agent_id, path, value, type FROM parameter_values \(filter)", binds) {
            snapshots[try row.text("agent_id")]?.parameterValues[try row.text("path")] =
                StoredParameterValue(value: try row.text("value"), type: try row.text("type"))
        }
        try await loadInstanceKeysAndRequests(into: &snapshots, filter: filter, binds: binds)
        try await loadValueChanges(into: &snapshots, filter: filter, binds: binds)
        return snapshots
    }

    // MARK: Connection setup and migrations

    private func configure(durability: Durability) async throws(ProxierError) {
        // PRAGMA arguments cannot be bound; these are constants of this file, never caller input.
        let mode = try await query("PRAGMA journal_mode = WAL").first?.column("journal_mode")?.string
        guard mode == "wal" else {
            throw ProxierError(.storeFailure, "\(path) cannot use write-ahead logging (journal mode \(mode ?? "?"))")
        }
        switch durability {
        case .processCrash: try await query("PRAGMA synchronous = NORMAL")
        case .powerLoss: try await query("PRAGMA synchronous = FULL")
        }
        // Foreign keys are off by default, per connection, and the pragma is ignored inside a transaction:
        // set it here, before the migrations, and check that it took.
        try await query("PRAGMA foreign_keys = ON")
        guard try await query("PRAGMA foreign_keys").first?.column("foreign_keys")?.integer == 1 else {
            throw ProxierError(.storeFailure, "\(path): SQLite refused to enforce foreign keys")
        }
        // After a checkpoint the WAL is truncated back to this size instead of keeping its largest size forever.
        try await query("PRAGMA journal_size_limit = 4194304")
    }

    func migrate(to migrations: [SchemaMigration]) async throws(ProxierError) {
        precondition(migrations.enumerated().allSatisfy { $0.offset + 1 == $0.element.version },
                     "migrations must be numbered 1, 2, 3… in order")
        try await exclusively { () async throws(ProxierError) in
            try await query(AgentStoreSchema.createMigrationsTable)
            // Never write to a database a newer build has migrated: its tables may mean something else now.
            if let newest = try await appliedMigrations().last, newest.version > migrations.count {
                throw ProxierError(.storeFailure, """
                    \(path) has schema version \(newest.version), newer than this build's \(migrations.count); \
                    refusing to open it
                    """)
            }
        }
        var appliedNow: [Int] = []
        for migration in migrations {
            let applied = try await transaction { () async throws(ProxierError) -> Bool in
                // Read inside the (IMMEDIATE, so write-locked) transaction: whoever migrates first wins and the
                // other sees its row and skips, so each migration runs exactly once.
                if let existing = try await appliedMigrations().first(where: { $0.version == migration.version }) {
                    guard existing.name == migration.name else {
                        throw ProxierError(.storeFailure, """
                            \(path) recorded migration \(migration.version) as "\(existing.name)", this build \
                            knows it as "\(migration.name)"
                            """)
                    }
                    return false
                }
                for statement in migration.statements { try await query(statement) }
                try await query("""
                    INSERT INTO schema_migrations (version, name, applied_at)
                    VALUES (?, ?, CAST(strftime('%s', 'now') AS INTEGER))
                    """, [.integer(SQLiteInt64(migration.version)), .text(migration.name)])
                return true
            }
            if applied { appliedNow.append(migration.version) }
        }
        if let first = appliedNow.first, let last = appliedNow.last {
            logger.info("agent store schema migrated", metadata: [
                "store.path": .string(path), "store.schema.from": .stringConvertible(first - 1),
                "store.schema.to": .stringConvertible(last),
            ])
        }
    }

    private func appliedMigrations() async throws(ProxierError) -> [(version: Int, name: String)] {
        try await query("SELECT version, name FROM schema_migrations ORDER BY version").map {
            row throws(ProxierError) in (Int(try row.int64("version")), try row.text("name"))
        }
    }

    // MARK: Test hooks (internal: plain types, so the tests need not import SQLiteNIO)

    /// The recorded schema versions, in order.
    func recordedSchemaVersions() async throws(ProxierError) -> [Int] {
        try await exclusively { () async throws(ProxierError) -> [Int] in
            try await appliedMigrations().map(\.version)
        }
    }

    /// Runs one statement with text binds and returns every column of every row as text (`nil` for NULL).
    @discardableResult
    func rawQuery(_ sql: String, _ binds: [String] = []) async throws(ProxierError) -> [[String: String?]] {
        try await exclusively { () async throws(ProxierError) -> [[String: String?]] in
            // Any statement may have removed agents.
            knownAgents = []
            return try await query(sql, binds.map { .text($0) }).map { row in
                Dictionary(uniqueKeysWithValues: row.columns.map { ($0.name, $0.data.isNull ? nil : $0.data.string) })
            }
        }
    }

    // MARK: Serialisation

    /// Runs `body` alone on the connection: no other operation's statements interleave with it.
    private func exclusively<T>(_ body: () async throws(ProxierError) -> T) async throws(ProxierError) -> T {
        await acquireGate()
        defer { releaseGate() }
        guard !isClosed else { throw ProxierError(.storeFailure, "the agent store \(path) is closed") }
        return try await body()
    }

    /// `exclusively` inside BEGIN IMMEDIATE…COMMIT, rolled back if `body` or the COMMIT fails.
    private func transaction<T>(_ body: () async throws(ProxierError) -> T) async throws(ProxierError) -> T {
        try await exclusively { () async throws(ProxierError) -> T in
            try await inTransaction(body)
        }
    }

    /// BEGIN IMMEDIATE…COMMIT around `body`, rolled back if `body` or the COMMIT fails. The caller holds the gate.
    func inTransaction<T>(_ body: () async throws(ProxierError) -> T) async throws(ProxierError) -> T {
        // IMMEDIATE takes the write lock now rather than at the first write, so a transaction never has to be
        // retried half-way because another connection (say, an operator's sqlite3 shell) wrote in between.
        try await query("BEGIN IMMEDIATE")
        do throws(ProxierError) {
            let result = try await body()
            try await query("COMMIT")
            return result
        } catch {
            await rollback()
            throw error
        }
    }

    /// Fails harmlessly if SQLite already rolled back by itself (some I/O errors do that).
    func rollback() async {
        _ = try? await connection.query("ROLLBACK")
    }

    func acquireGate() async {
        if gateIsHeld {
            // Not cancellable on purpose: an operation that was asked for is either done whole or fails whole.
            await withCheckedContinuation { gateWaiters.append($0) }
        } else {
            gateIsHeld = true
        }
    }

    /// Hands the gate to the oldest waiter (it stays held) or frees it.
    func releaseGate() {
        if gateWaiters.isEmpty {
            gateIsHeld = false
        } else {
            gateWaiters.removeFirst().resume()
        }
    }

    /// Internal (not private) for the extensions in AgentStore+*.swift.
    @discardableResult
    func query(_ sql: String, _ binds: [SQLiteData] = []) async throws(ProxierError) -> [SQLiteRow] {
        do {
            return try await connection.query(sql, binds)
        } catch {
            throw Self.storeError(error, "\(path)")
        }
    }

    // MARK: Validation and errors

    private static func validateAgentID(_ agentID: String) throws(ProxierError) {
        guard !agentID.isEmpty else { throw ProxierError(.invalidValue, "an agent id must not be empty") }
    }

    /// Caller mistakes are reported as `.invalidValue` with a message naming the field; the schema's CHECK
    /// constraints back these up, but their messages are less helpful.
    private static func validate(_ change: AgentChange) throws(ProxierError) {
        switch change {
        case .appendEvent(let code, _):
            guard (1...64).contains(code.count) else {
                throw ProxierError(.invalidValue, "an event code has 1 to 64 characters: \(code)")
            }
        case .acknowledgeEvents, .discardEvents, .setParameterKey, .setBootstrappedACSURL, .removeAttribute,
             .setValue, .removeValue, .removeAlias, .updateTransfer, .removeTransfer, .addTransfer:
            break
        case .setRetryCount(let count):
            guard count >= 0 else { throw ProxierError(.invalidValue, "RetryCount cannot be negative: \(count)") }
        case .setAttribute(let path, let attribute):
            guard (0...6).contains(attribute.notification) else {
                throw ProxierError(.invalidValue, "Notification of \(path) must be 0…6: \(attribute.notification)")
            }
            guard attribute.accessList.allSatisfy({ !$0.unicodeScalars.contains(AccessListCoding.terminator) }) else {
                throw ProxierError(.invalidValue, "an AccessList entry of \(path) contains U+001F")
            }
        case .removeSubtree(let path):
            guard path.hasSuffix("."), path.count > 1 else {
                throw ProxierError(.invalidPath, "an object path ends with a dot: \(path)")
            }
        case .allocateInstance(let table):
            guard table.hasSuffix(".") else { throw ProxierError(.invalidPath, "a table path ends with a dot: \(table)") }
        case .raiseInstanceCounter(let table, let next):
            guard table.hasSuffix(".") else { throw ProxierError(.invalidPath, "a table path ends with a dot: \(table)") }
            guard next >= 1 else { throw ProxierError(.invalidValue, "instance numbers start at 1") }
        case .setAlias(let alias):
            guard alias.table.hasSuffix("."), alias.instance >= 1, (1...64).contains(alias.alias.count) else {
                throw ProxierError(.invalidValue, "invalid alias \(alias.alias) for \(alias.table)\(alias.instance)")
            }
        case .setInstanceKey, .removeInstance, .addRequest, .removeRequest:
            try validateInstanceOrRequestChange(change)
        case .setValueChange(let path, let notification):
            guard (1...6).contains(notification) else {
                throw ProxierError(.invalidValue, "a pending value change of \(path) has Notification 1…6: \(notification)")
            }
        case .removeValueChange, .addScheduledInform, .removeScheduledInform:
            break
        }
    }

    /// Maps SQLiteNIO's errors onto the module's. SQLite's messages name tables and constraints, never bound
    /// values, so they are safe to carry even when a value was a password.
    static func storeError(_ error: any Error, _ context: String) -> ProxierError {
        if let error = error as? ProxierError { return error }
        guard let sqliteError = error as? SQLiteError else {
            return ProxierError(.storeFailure, context, underlying: error)
        }
        switch sqliteError.reason {
        case .constraintForeignKeyFailed:
            return ProxierError(.unknownAgent, "\(context): the agent does not exist", underlying: sqliteError)
        case .constraint, .constraintCheckFailed, .constraintNotNullFailed, .constraintPrimaryKeyFailed,
             .constraintTriggerFailed, .constraintUniqueFailed, .constraintStrictDataTypeFailed:
            return ProxierError(.invalidValue, "\(context): \(sqliteError.message)", underlying: sqliteError)
        default:
            return ProxierError(.storeFailure, "\(context): \(sqliteError.message)", underlying: sqliteError)
        }
    }
}

// MARK: - Row decoding

/// AccessList ⇄ one TEXT column: each entry followed by U+001F (see the schema comment).
enum AccessListCoding {
    static let terminator: Unicode.Scalar = "\u{1F}"

    static func encode(_ entries: [String]) -> String {
        entries.map { $0 + String(terminator) }.joined()
    }

    static func decode(_ text: String) -> [String] {
        var entries = text.split(separator: Character(terminator), omittingEmptySubsequences: false).map(String.init)
        // "a␟b␟" splits into ["a", "b", ""]: the last element is what follows the final terminator.
        entries.removeLast()
        return entries
    }
}

extension PendingTransfer {
    /// The columns from command_key to complete_time, in table order.
    fileprivate var columnValues: [SQLiteData] {
        [.text(commandKey), .text(kind.rawValue), .text(state.rawValue), .text(fileType), .text(url),
         .text(targetFileName), .integer(SQLiteInt64(faultCode)), .text(faultString),
         startTime.map { .text($0) } ?? .null, completeTime.map { .text($0) } ?? .null]
    }
}

extension Array where Element == SQLiteRow {
    func single() throws(ProxierError) -> SQLiteRow {
        guard count == 1, let row = first else {
            throw ProxierError(.storeFailure, "expected one row, got \(count)")
        }
        return row
    }
}

extension SQLiteRow {
    // A STRICT schema makes a mistyped column a sign of corruption or of a bug here, not of user input.
    func text(_ name: String) throws(ProxierError) -> String {
        guard case .text(let value)? = column(name) else { throw Self.unexpected(name) }
        return value
    }

    fileprivate func optionalText(_ name: String) throws(ProxierError) -> String? {
        switch column(name) {
        case .text(let value)?: return value
        case .null?: return nil
        default: throw Self.unexpected(name)
        }
    }

    func int64(_ name: String) throws(ProxierError) -> Int64 {
        guard case .integer(let value)? = column(name) else { throw Self.unexpected(name) }
        return Int64(value)
    }

    fileprivate func uint32(_ name: String) throws(ProxierError) -> UInt32 {
        guard let value = UInt32(exactly: try int64(name)) else { throw Self.unexpected(name) }
        return value
    }

    func pendingEvent() throws(ProxierError) -> PendingEvent {
        PendingEvent(sequence: try int64("seq"), code: try text("code"), commandKey: try text("command_key"))
    }

    fileprivate func storedTransfer() throws(ProxierError) -> StoredTransfer {
        let kindText = try text("kind"), stateText = try text("state")
        guard let kind = PendingTransfer.Kind(rawValue: kindText),
              let state = PendingTransfer.State(rawValue: stateText) else {
            throw ProxierError(.storeFailure, "unknown transfer kind or state: \(kindText), \(stateText)")
        }
        return StoredTransfer(id: try int64("id"), transfer: PendingTransfer(
            commandKey: try text("command_key"), kind: kind, state: state, fileType: try text("file_type"),
            url: try text("url"), targetFileName: try text("target_file_name"),
            faultCode: try uint32("fault_code"), faultString: try text("fault_string"),
            startTime: try optionalText("start_time"), completeTime: try optionalText("complete_time")))
    }

    private static func unexpected(_ name: String) -> ProxierError {
        ProxierError(.storeFailure, "column \(name) is missing or has an unexpected type")
    }
}
