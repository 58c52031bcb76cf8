import CWMPTestSupport
import Foundation
import Testing
@testable import Proxier

/// The group commit of `AgentStore` (AgentStore+GroupCommit.swift): calls of many agents share one transaction,
/// and the result is what running them one after another would give. `holdGroupCommit()` lets a test queue exactly
/// the calls it wants and release them as one batch, so the merged statements are exercised deterministically.
@Suite struct PersistenceGroupCommitTests {
    /// Queues `count` calls made by `call(i)` while the group commit is held, then releases them as one batch.
    private func inOneBatch<T: Sendable>(_ store: AgentStore, count: Int,
                                         _ call: @escaping @Sendable (Int) async throws -> T) async throws
        -> [Int: Result<T, any Error>] {
        await store.holdGroupCommit()
        let batchesBefore = await store.groupCommitBatches
        return try await withThrowingTaskGroup(of: (Int, Result<T, any Error>).self) { group in
            for index in 0..<count {
                group.addTask {
                    do { return (index, .success(try await call(index))) } catch { return (index, .failure(error)) }
                }
            }
            #expect(await eventually(30) { await store.queuedGroupCalls == count })
            await store.releaseGroupCommit()
            var results: [Int: Result<T, any Error>] = [:]
            for try await (index, result) in group { results[index] = result }
            // One batch, or one batch and its one-call-at-a-time re-run: never one transaction per call.
            #expect(await store.groupCommitBatches == batchesBefore + 1)
            return results
        }
    }

    @Test func appendsAcknowledgmentsAndReadsOfManyAgentsInOneBatchGiveTheSerialResult() async throws {
        try await withTemporaryStateDirectory { directory in
            try await withStore(in: directory) { store throws in
                let agents = (0..<40).map { "vd-\($0)" }
                for agent in agents { try await store.createAgent(agent) }
                // Two events each, appended one agent after the other: sequences interleave across agents.
                var appended: [String: [PendingEvent]] = [:]
                for agent in agents {
                    appended[agent] = [try await store.appendEvent("1 BOOT", to: agent),
                                       try await store.appendEvent("M Reboot", commandKey: "rk-\(agent)", to: agent)]
                }
                let initial = appended

                // One batch: every agent acknowledges its first event and appends two more in one call, and reads.
                let writes = try await inOneBatch(store, count: agents.count) { index in
                    try await store.apply([
                        .acknowledgeEvents(upTo: initial[agents[index]]![0].sequence),
                        .appendEvent(code: "6 CONNECTION REQUEST", commandKey: ""),
                        .setRetryCount(index),
                        .appendEvent(code: "M Download", commandKey: "dl-\(index)"),
                    ], to: agents[index])
                }
                for (index, agent) in agents.enumerated() {
                    let applied = try #require(try writes[index]?.get())
                    #expect(applied.eventSequences.count == 2)
                    // The call's own events in its order, after everything committed before it.
                    #expect(applied.eventSequences[0] < applied.eventSequences[1])
                    #expect(applied.eventSequences[0] > initial.values.flatMap { $0 }.map(\.sequence).max()!)
                    let snapshot = try #require(try await store.load(agent))
                    #expect(snapshot.retryCount == index)
                    #expect(snapshot.pendingEvents == [
                        initial[agent]![1],
                        PendingEvent(sequence: applied.eventSequences[0], code: "6 CONNECTION REQUEST"),
                        PendingEvent(sequence: applied.eventSequences[1], code: "M Download", commandKey: "dl-\(index)"),
                    ])
                }
                let sequences = try writes.values.flatMap { try $0.get().eventSequences }
                #expect(Set(sequences).count == sequences.count)

                // One batch of reads only (no transaction), every agent's own events.
                let reads = try await inOneBatch(store, count: agents.count) { index in
                    try await store.pendingEvents(of: agents[index])
                }
                for (index, agent) in agents.enumerated() {
                    let stored = try await store.load(agent)?.pendingEvents
                    #expect(try reads[index]?.get() == stored)
                }
                #expect(try await store.rawQuery("PRAGMA integrity_check").first?["integrity_check"] == "ok")
            }
        }
    }

    @Test func aReadInTheSameBatchAsWritesSeesThemAndAnUnknownAgentReadsEmpty() async throws {
        try await withTemporaryStateDirectory { directory in
            try await withStore(in: directory) { store throws in
                try await store.createAgent("gateway")
                try await store.createAgent("vd-1")
                let results = try await inOneBatch(store, count: 3) { index -> [PendingEvent] in
                    switch index {
                    case 0: try await store.pendingEvents(of: "gateway")
                    case 1:
                        try await store.apply([.appendEvent(code: "1 BOOT", commandKey: "")], to: "gateway")
                            .eventSequences.map { PendingEvent(sequence: $0, code: "1 BOOT") }
                    default: try await store.pendingEvents(of: "nobody")
                    }
                }
                // The read was queued first but runs after the batch's writes, inside the same transaction.
                #expect(try results[0]?.get() == results[1]?.get())
                #expect(try results[2]?.get() == [])
            }
        }
    }

    @Test func aFailingCallFailsAloneAndTheRestOfItsBatchCommits() async throws {
        try await withTemporaryStateDirectory { directory in
            try await withStore(in: directory) { store throws in
                let agents = (0..<12).map { "vd-\($0)" }
                for agent in agents { try await store.createAgent(agent) }
                // Calls 3 and 7 fail in SQL half-way (no such transfer) after writing; call 5 names an unknown agent.
                let results = try await inOneBatch(store, count: agents.count) { index in
                    var changes: [AgentChange] = [
                        .setParameterKey("pk-\(index)"),
                        .appendEvent(code: "4 VALUE CHANGE", commandKey: ""),
                    ]
                    if index == 3 || index == 7 {
                        changes.append(.updateTransfer(id: 999, PendingTransfer(commandKey: "", kind: .download,
                                                                                fileType: "1", url: "u")))
                    }
                    return try await store.apply(changes, to: index == 5 ? "nobody" : agents[index])
                }
                for (index, agent) in agents.enumerated() {
                    let snapshot = try #require(try await store.load(agent))
                    switch index {
                    case 3, 7:
                        #expect(throws: ProxierError.self) { try results[index]?.get() }
                        #expect((try? results[index]?.get()) == nil)
                        #expect(snapshot == AgentSnapshot(agentID: agent), "nothing of a failed call is kept")
                    case 5:
                        let code = (results[index].flatMap { result -> ProxierError? in
                            if case .failure(let error) = result { return error as? ProxierError }
                            return nil
                        })?.code
                        #expect(code == .unknownAgent)
                        #expect(snapshot == AgentSnapshot(agentID: agent))
                    default:
                        let applied = try #require(try results[index]?.get())
                        #expect(snapshot.parameterKey == "pk-\(index)")
                        #expect(snapshot.pendingEvents.map(\.sequence) == applied.eventSequences)
                    }
                }
                #expect(try await store.load("nobody") == nil)
            }
        }
    }

    @Test func twoCallsOfOneAgentQueuedTogetherRunInCallOrder() async throws {
        try await withTemporaryStateDirectory { directory in
            try await withStore(in: directory) { store throws in
                try await store.createAgent("gateway")
                await store.holdGroupCommit()
                let first = Task { try await store.apply([.setParameterKey("first"), .appendEvent(code: "X A", commandKey: "1")],
                                                          to: "gateway") }
                #expect(await eventually(30) { await store.queuedGroupCalls == 1 })
                let second = Task { try await store.apply([.setParameterKey("second"), .appendEvent(code: "X A", commandKey: "2")],
                                                           to: "gateway") }
                #expect(await eventually(30) { await store.queuedGroupCalls == 2 })
                await store.releaseGroupCommit()
                let one = try await first.value, two = try await second.value
                #expect(one.eventSequences[0] < two.eventSequences[0])
                let snapshot = try #require(try await store.load("gateway"))
                #expect(snapshot.parameterKey == "second")
                #expect(snapshot.pendingEvents.map(\.commandKey) == ["1", "2"])
            }
        }
    }

    @Test func callsQueuedWhenTheStoreClosesFailCleanly() async throws {
        try await withTemporaryStateDirectory { directory in
            let store = try await AgentStore.open(directory: directory)
            try await store.createAgent("gateway")
            await store.holdGroupCommit()
            let pending = Task { try await store.apply([.setParameterKey("late")], to: "gateway") }
            #expect(await eventually(30) { await store.queuedGroupCalls == 1 })
            try await store.close()
            await store.releaseGroupCommit()
            await expectProxierError(.storeFailure) { _ = try await pending.value }
        }
    }
}
