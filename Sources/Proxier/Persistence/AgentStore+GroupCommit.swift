// Group commit for the store's hot path: `apply(_:to:)` and `pendingEvents(of:)` of many agents share one
// transaction, and their statements are merged where the SQL allows it.
//
// Why: SQLiteNIO runs every statement as its own job on NIO's thread pool and hands the result back through an
// event loop, so one statement costs three thread wake-ups, and a transaction is serialised through the store's
// one connection. One agent session used to run about ten statements (BEGIN, the agent check, the write, COMMIT,
// twice, plus the Inform's read), so the connection, not the CPU, capped the sessions per second. Here whatever
// arrives while a batch runs becomes the next batch: BEGIN, one agent check, one INSERT for all the batch's new
// events, one DELETE for all its acknowledgments, one SELECT for all its reads, COMMIT. Nothing waits for a timer:
// under light load a batch is one call, and it costs what a lone transaction cost before.
//
// The guarantees of `AgentStore` are unchanged: a call returns only after the COMMIT of the transaction that holds
// its changes, a call's changes are all in one transaction, and a call whose changes fail (unknown agent, invalid
// value, no such transfer) fails alone: the batch is rolled back and re-run one call at a time, each in its own
// transaction, so the others still commit.
internal import SQLiteNIO

extension AgentStore {
    /// One queued call.
    enum GroupRequest: Sendable {
        case apply(agentID: String, changes: [AgentChange])
        case pendingEvents(agentID: String)

        var agentID: String {
            switch self {
            case .apply(let agentID, _), .pendingEvents(let agentID): agentID
            }
        }
    }

    enum GroupResponse: Sendable {
        case applied(AppliedChanges)
        case events([PendingEvent])
    }

    struct GroupWaiter {
        let request: GroupRequest
        let continuation: CheckedContinuation<Result<GroupResponse, ProxierError>, Never>
    }

    /// Calls per batch at most: bounds the statements' size (three binds per new event) and a batch's latency.
    static let maximumGroupSize = 256

    /// Queues `request` and waits for the COMMIT of the batch that carries it.
    func submitToGroup(_ request: GroupRequest) async throws(ProxierError) -> GroupResponse {
        // Not cancellable, like the gate: an operation that was asked for is either done whole or fails whole.
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<GroupResponse, ProxierError>, Never>) in
            groupQueue.append(GroupWaiter(request: request, continuation: continuation))
            startDrainingIfIdle()
        }
        return try result.get()
    }

    private func startDrainingIfIdle() {
        guard !isDrainingGroup, !groupCommitHeld, !groupQueue.isEmpty else { return }
        isDrainingGroup = true
        Task { await self.drainGroup() }
    }

    /// Runs batches until the queue is empty. Each batch takes the gate, so the other operations (load, close,
    /// migrations…) still run alone between two batches, in their FIFO turn.
    private func drainGroup() async {
        while !groupQueue.isEmpty {
            await acquireGate()
            let batch = takeGroupBatch()
            groupCommitBatches += 1
            await runGroupBatch(batch)
            releaseGate()
        }
        // No await since the loop's last check: nothing can have been queued in between.
        isDrainingGroup = false
    }

    /// The next batch, oldest first: at most one write per agent (two writes of one agent interleaved statement
    /// by statement would not be serialisable), and nothing of an agent after one of its calls that must wait,
    /// so each agent's calls stay in the order they were made.
    private func takeGroupBatch() -> [GroupWaiter] {
        var batch: [GroupWaiter] = []
        var later: [GroupWaiter] = []
        var writers: Set<String> = []
        var held: Set<String> = []
        for waiter in groupQueue {
            let agentID = waiter.request.agentID
            let isWrite = if case .apply = waiter.request { true } else { false }
            if batch.count >= Self.maximumGroupSize || held.contains(agentID) || (isWrite && writers.contains(agentID)) {
                held.insert(agentID)
                later.append(waiter)
                continue
            }
            if isWrite { writers.insert(agentID) }
            batch.append(waiter)
        }
        groupQueue = later
        return batch
    }

    private func runGroupBatch(_ batch: [GroupWaiter]) async {
        guard !isClosed else {
            let error = ProxierError(.storeFailure, "the agent store \(path) is closed")
            for waiter in batch { waiter.continuation.resume(returning: .failure(error)) }
            return
        }
        let results: [Result<GroupResponse, ProxierError>]
        do throws(ProxierError) {
            results = try await runMerged(batch)
        } catch {
            if batch.count == 1 {
                results = [.failure(error)]
            } else {
                // Someone's changes failed (or the COMMIT did) and the whole batch was rolled back: run each call
                // alone, so that each gets its own outcome and one bad call cannot fail the others.
                var alone: [Result<GroupResponse, ProxierError>] = []
                for waiter in batch { alone.append(await runAlone(waiter.request)) }
                results = alone
            }
        }
        for (waiter, result) in zip(batch, results) { waiter.continuation.resume(returning: result) }
    }

    /// One call in its own transaction: the path of a lone call before group commit, and the fallback.
    private func runAlone(_ request: GroupRequest) async -> Result<GroupResponse, ProxierError> {
        do throws(ProxierError) {
            switch request {
            case .apply(let agentID, let changes):
                return .success(.applied(try await applyAlone(changes, to: agentID)))
            case .pendingEvents(let agentID):
                return .success(.events(try await readPendingEvents(of: [agentID])[agentID] ?? []))
            }
        } catch {
            return .failure(error)
        }
    }

    /// The whole batch in one transaction (none for a batch of reads only). Throws, after rolling back, if any
    /// statement or the COMMIT fails; a call for an unknown agent fails on its own without failing the batch.
    private func runMerged(_ batch: [GroupWaiter]) async throws(ProxierError) -> [Result<GroupResponse, ProxierError>] {
        var results = [Result<GroupResponse, ProxierError>?](repeating: nil, count: batch.count)
        var writes: [(index: Int, agentID: String, changes: [AgentChange])] = []
        var readers: [String] = []
        for (index, waiter) in batch.enumerated() {
            switch waiter.request {
            case .apply(let agentID, let changes): writes.append((index, agentID, changes))
            case .pendingEvents(let agentID): readers.append(agentID)
            }
        }

        if writes.isEmpty {
            let events = try await readPendingEvents(of: readers)
            return batch.map { .success(.events(events[$0.request.agentID] ?? [])) }
        }

        let events = try await inTransaction { () async throws(ProxierError) -> [String: [PendingEvent]] in
            // Checked first so that UPDATEs and DELETEs, which no foreign key guards, fail for an unknown agent too.
            let known = try await existingAgents(Set(writes.map(\.agentID)))
            var live: [(index: Int, agentID: String, changes: [AgentChange])] = []
            for write in writes {
                if known.contains(write.agentID) {
                    live.append(write)
                } else {
                    results[write.index] = .failure(ProxierError(.unknownAgent, "no agent \(write.agentID) in the store"))
                }
            }
            var applied = [AppliedChanges](repeating: AppliedChanges(), count: live.count)
            // Round r runs the r-th change of every call. Each agent has at most one call in the batch and calls on
            // different agents touch disjoint rows, so any interleaving that keeps each call's own order is
            // equivalent to running the calls one after another; within a round the new events and the
            // acknowledgments of all agents are one statement each.
            let rounds = live.map(\.changes.count).max() ?? 0
            for round in 0..<rounds {
                var appends: [(live: Int, code: String, commandKey: String)] = []
                var acknowledgments: [(agentID: String, upTo: Int64)] = []
                for (position, call) in live.enumerated() where round < call.changes.count {
                    switch call.changes[round] {
                    case .appendEvent(let code, let commandKey):
                        appends.append((position, code, commandKey))
                    case .acknowledgeEvents(let sequence):
                        acknowledgments.append((call.agentID, sequence))
                    case let change:
                        try await execute(change, agentID: call.agentID, into: &applied[position])
                    }
                }
                try await acknowledge(acknowledgments)
                let sequences = try await append(appends.map { (live[$0.live].agentID, $0.code, $0.commandKey) })
                for (entry, sequence) in zip(appends, sequences) { applied[entry.live].eventSequences.append(sequence) }
            }
            for (position, call) in live.enumerated() { results[call.index] = .success(.applied(applied[position])) }
            // After the writes, inside the transaction: a read sees every write of its batch.
            return readers.isEmpty ? [:] : try await readPendingEvents(of: readers)
        }
        return batch.enumerated().map { index, waiter in
            results[index] ?? .success(.events(events[waiter.request.agentID] ?? []))
        }
    }

    /// Which of `agentIDs` exist: those in `knownAgents`, and the others as one SELECT finds them.
    private func existingAgents(_ agentIDs: Set<String>) async throws(ProxierError) -> Set<String> {
        let ids = agentIDs.subtracting(knownAgents).sorted()
        guard !ids.isEmpty else { return agentIDs }
        // Only placeholders are generated; the ids themselves are bound.
        let rows = try await query("SELECT agent_id FROM agents WHERE agent_id IN (\(Self.placeholders(ids.count)))",
                                   ids.map { .text($0) })
        var found: Set<String> = []
        for row in rows { found.insert(try row.text("agent_id")) }
        knownAgents.formUnion(found)
        return agentIDs.intersection(knownAgents)
    }

    /// The pending events of each agent, oldest first; agents without any are absent.
    private func readPendingEvents(of agentIDs: [String]) async throws(ProxierError) -> [String: [PendingEvent]] {
        let ids = Set(agentIDs).sorted()
        var events: [String: [PendingEvent]] = [:]
        guard !ids.isEmpty else { return events }
        let rows = try await query("""
            SELECT agent_id, seq, code, command_key FROM pending_events
            WHERE agent_id IN (\(Self.placeholders(ids.count))) ORDER BY agent_id, seq
            """, ids.map { .text($0) })
        for row in rows { events[try row.text("agent_id"), default: []].append(try row.pendingEvent()) }
        return events
    }

    /// `acknowledgeEvents(upTo:)` of several agents (at most one entry per agent) as one DELETE.
    private func acknowledge(_ entries: [(agentID: String, upTo: Int64)]) async throws(ProxierError) {
        guard !entries.isEmpty else { return }
        if entries.count == 1 {
            try await query("DELETE FROM pending_events WHERE agent_id = ? AND seq <= ?",
                            [.text(entries[0].agentID), .integer(SQLiteInt64(entries[0].upTo))])
            return
        }
        // A join against a VALUES list instead of a chain of ORs: flat however many agents (an OR chain nests one
        // level per term, and SQLite caps expression depth), and each row is found through pending_events_by_agent.
        let values = Array(repeating: "(?, ?)", count: entries.count).joined(separator: ", ")
        var binds: [SQLiteData] = []
        binds.reserveCapacity(2 * entries.count)
        for entry in entries { binds += [.text(entry.agentID), .integer(SQLiteInt64(entry.upTo))] }
        try await query("""
            DELETE FROM pending_events WHERE seq IN (
                SELECT event.seq FROM (VALUES \(values)) AS acknowledged
                JOIN pending_events AS event
                ON event.agent_id = acknowledged.column1 AND event.seq <= acknowledged.column2)
            """, binds)
    }

    /// Appends one event for each entry (at most one entry per agent) as one INSERT; returns their sequence
    /// numbers in the order of `entries`.
    private func append(_ entries: [(agentID: String, code: String, commandKey: String)]) async throws(ProxierError)
        -> [Int64] {
        guard !entries.isEmpty else { return [] }
        let values = Array(repeating: "(?, ?, ?)", count: entries.count).joined(separator: ", ")
        var binds: [SQLiteData] = []
        binds.reserveCapacity(3 * entries.count)
        for entry in entries { binds += [.text(entry.agentID), .text(entry.code), .text(entry.commandKey)] }
        let rows = try await query(
            "INSERT INTO pending_events (agent_id, code, command_key) VALUES \(values) RETURNING seq, agent_id", binds)
        // SQLite does not promise RETURNING's row order, so rows are matched by agent, which is unique here.
        var byAgent: [String: Int64] = [:]
        for row in rows { byAgent[try row.text("agent_id")] = try row.int64("seq") }
        var sequences: [Int64] = []
        sequences.reserveCapacity(entries.count)
        for entry in entries {
            guard let sequence = byAgent[entry.agentID], rows.count == entries.count else {
                throw ProxierError(.storeFailure, "\(path): the merged INSERT returned \(rows.count) rows for \(entries.count)")
            }
            sequences.append(sequence)
        }
        return sequences
    }

    private static func placeholders(_ count: Int) -> String {
        Array(repeating: "?", count: count).joined(separator: ", ")
    }

    // MARK: Test hooks

    /// Holds queued calls back (nothing is drained) until `releaseGroupCommit()`: lets a test build one batch of
    /// exactly the calls it wants.
    func holdGroupCommit() { groupCommitHeld = true }

    func releaseGroupCommit() {
        groupCommitHeld = false
        startDrainingIfIdle()
    }

    /// Calls waiting for a batch.
    var queuedGroupCalls: Int { groupQueue.count }
}
