import CWMPClient
import Foundation
import Testing
@testable import Proxier

@Suite struct PersistenceStoreTests {
    // MARK: Events

    @Test func acknowledgedEventsAreDeletedUpToTheSequenceAndNeverComeBack() async throws {
        try await withTemporaryStateDirectory { directory in
            let (first, second, third) = try await withStore(in: directory) { store throws in
                try await store.createAgent("gateway")
                let first = try await store.appendEvent("0 BOOTSTRAP", to: "gateway")
                let second = try await store.appendEvent("M Download", commandKey: "dl-1", to: "gateway")
                let third = try await store.appendEvent("7 TRANSFER COMPLETE", to: "gateway")
                #expect(first.sequence < second.sequence && second.sequence < third.sequence)
                #expect(try await store.pendingEvents(of: "gateway") == [first, second, third])

                // The Inform carried the first two; the third arrived after it was built.
                #expect(try await store.acknowledgeEvents(of: "gateway", upTo: second.sequence) == 2)
                #expect(try await store.pendingEvents(of: "gateway") == [third])
                // A repeated acknowledgment (a retransmitted InformResponse) deletes nothing more.
                #expect(try await store.acknowledgeEvents(of: "gateway", upTo: second.sequence) == 0)
                return (first, second, third)
            }
            try await withStore(in: directory) { store throws in
                let pending = try await store.pendingEvents(of: "gateway")
                #expect(pending == [third])
                #expect(!pending.contains(first) && !pending.contains(second))
                #expect(try await store.acknowledgeEvents(of: "gateway", upTo: third.sequence) == 1)
            }
            try await withStore(in: directory) { store throws in
                #expect(try await store.pendingEvents(of: "gateway").isEmpty)
                // Sequence numbers are never reused, even after every event was deleted and the file reopened:
                // an old "acknowledged up to" can never cover a new event.
                let next = try await store.appendEvent("2 PERIODIC", to: "gateway")
                #expect(next.sequence > third.sequence)
                #expect(try await store.acknowledgeEvents(of: "gateway", upTo: third.sequence) == 0)
                #expect(try await store.pendingEvents(of: "gateway") == [next])
            }
        }
    }

    @Test func acknowledgingOneAgentLeavesTheOthersAlone() async throws {
        try await withTemporaryStateDirectory { directory in
            try await withStore(in: directory) { store throws in
                try await store.createAgent("gateway")
                try await store.createAgent("vd-1")
                let gatewayEvent = try await store.appendEvent("1 BOOT", to: "gateway")
                let deviceEvent = try await store.appendEvent("1 BOOT", to: "vd-1")
                try await store.acknowledgeEvents(of: "vd-1", upTo: max(gatewayEvent.sequence, deviceEvent.sequence))
                #expect(try await store.pendingEvents(of: "gateway") == [gatewayEvent])
                #expect(try await store.pendingEvents(of: "vd-1").isEmpty)
            }
        }
    }

    /// The crash window of the delivery guarantee, without a real crash: the InformResponse has arrived but the
    /// process dies before `acknowledgeEvents` commits. Nothing is written between reading the events for the
    /// Inform and acknowledging them, so what a crash leaves on disk is exactly what `close()` leaves.
    /// (PersistenceCrashTests repeats this with a real SIGKILL.)
    @Test func aCrashBeforeTheAcknowledgmentRedeliversAndTheAcknowledgmentDeletesForGood() async throws {
        try await withTemporaryStateDirectory { directory in
            let inform = try await withStore(in: directory) { store throws in
                try await store.createAgent("vd-7")
                try await store.appendEvent("M Reboot", commandKey: "rb-1", to: "vd-7")
                try await store.appendEvent("1 BOOT", to: "vd-7")
                let inform = try await store.pendingEvents(of: "vd-7")
                // InformResponse received here; the process dies before acknowledging.
                return inform
            }
            let informAfterRestart = try await withStore(in: directory) { store throws in
                let events = try await store.pendingEvents(of: "vd-7")
                // This time the session completes: a new event arrives while the Inform is in flight.
                let late = try await store.appendEvent("6 CONNECTION REQUEST", to: "vd-7")
                try await store.acknowledgeEvents(of: "vd-7", upTo: events.map(\.sequence).max() ?? 0)
                #expect(try await store.pendingEvents(of: "vd-7") == [late])
                return events
            }
            #expect(informAfterRestart == inform, "the same events, with the same sequence numbers, are sent again")
            try await withStore(in: directory) { store throws in
                #expect(try await store.pendingEvents(of: "vd-7").map(\.code) == ["6 CONNECTION REQUEST"])
            }
        }
    }

    @Test func bootDiscardsOnlyTheEventsThatDoNotSurviveAReboot() async throws {
        try await withTemporaryStateDirectory { directory in
            try await withStore(in: directory) { store throws in
                try await store.createAgent("gateway")
                for code in ["0 BOOTSTRAP", "1 BOOT", "4 VALUE CHANGE", "6 CONNECTION REQUEST", "7 TRANSFER COMPLETE",
                             "8 DIAGNOSTICS COMPLETE"] {
                    try await store.appendEvent(code, to: "gateway")
                }
                try await store.appendEvent("M Download", commandKey: "fw-2", to: "gateway")
                // What the engine does at start, in one transaction.
                let applied = try await store.apply(
                    [.discardEvents(codes: PendingEvent.droppedAtBoot), .appendEvent(code: "1 BOOT", commandKey: "")],
                    to: "gateway")
                let pending = try await store.pendingEvents(of: "gateway")
                #expect(pending.map(\.code) == ["0 BOOTSTRAP", "7 TRANSFER COMPLETE", "M Download", "1 BOOT"])
                #expect(pending.last?.sequence == applied.eventSequences.first)
                #expect(pending.first { $0.code == "M Download" }?.commandKey == "fw-2")
            }
        }
    }

    // MARK: Every kind of state

    @Test func everyKindOfStateRoundTripsThroughTheFile() async throws {
        let download = PendingTransfer(commandKey: "fw-2026", kind: .download, state: .completed,
                                       fileType: "1 Firmware Upgrade Image", url: "https://files.example/fw.bin",
                                       targetFileName: "fw.bin", faultCode: 9010, faultString: "checksum mismatch",
                                       startTime: "2026-01-02T03:04:05Z", completeTime: "2026-01-02T03:09:00Z")
        let upload = PendingTransfer(commandKey: "", kind: .upload, fileType: "4 Vendor Log File",
                                     url: "https://files.example/up")
        try await withTemporaryStateDirectory { directory in
            let (applied, events) = try await withStore(in: directory) { store throws in
                try await store.createAgent("gateway")
                let applied = try await store.apply([
                    .setParameterKey("pk-42"),
                    .setBootstrappedACSURL("https://acs.example/cwmp"),
                    .setRetryCount(3),
                    .setAttribute(path: "Device.DeviceInfo.SoftwareVersion", ParameterAttribute(notification: 2)),
                    .setAttribute(path: "Device.WiFi.SSID.1.SSID",
                                  ParameterAttribute(notification: 1, accessList: ["Subscriber"])),
                    .setAttribute(path: "Device.X_ACME_Odd", ParameterAttribute(notification: 0, accessList: ["", "a,b"])),
                    .raiseInstanceCounter(table: "Device.IP.Interface.", next: 7),
                    .allocateInstance(table: "Device.IP.Interface.3.IPv4Address."),
                    .setAlias(InstanceAlias(table: "Device.IP.Interface.", instance: 3, alias: "wan")),
                    .setAlias(InstanceAlias(table: "Device.IP.Interface.", instance: 1, alias: "cpe-lan")),
                    .addTransfer(download),
                    .addTransfer(upload),
                    .setValue(path: "Device.ManagementServer.PeriodicInformInterval",
                              StoredParameterValue(value: "300", type: "unsignedInt")),
                    .setValue(path: "Device.ManagementServer.ConnectionRequestPassword",
                              StoredParameterValue(value: "s3cret ☃", type: "string")),
                    .appendEvent(code: "M Download", commandKey: "fw-2026"),
                    .appendEvent(code: "7 TRANSFER COMPLETE", commandKey: ""),
                ], to: "gateway")
                return (applied, try await store.pendingEvents(of: "gateway"))
            }
            #expect(applied.instanceNumbers == [1])
            #expect(applied.transferIDs.count == 2 && applied.transferIDs[0] < applied.transferIDs[1])
            #expect(applied.eventSequences == events.map(\.sequence))

            let expected = AgentSnapshot(
                agentID: "gateway", parameterKey: "pk-42", bootstrappedACSURL: "https://acs.example/cwmp",
                retryCount: 3,
                pendingEvents: [PendingEvent(sequence: applied.eventSequences[0], code: "M Download",
                                             commandKey: "fw-2026"),
                                PendingEvent(sequence: applied.eventSequences[1], code: "7 TRANSFER COMPLETE")],
                attributes: [
                    "Device.DeviceInfo.SoftwareVersion": ParameterAttribute(notification: 2, accessList: []),
                    "Device.WiFi.SSID.1.SSID": ParameterAttribute(notification: 1, accessList: ["Subscriber"]),
                    "Device.X_ACME_Odd": ParameterAttribute(notification: 0, accessList: ["", "a,b"]),
                ],
                instanceCounters: ["Device.IP.Interface.": 7, "Device.IP.Interface.3.IPv4Address.": 2],
                aliases: [InstanceAlias(table: "Device.IP.Interface.", instance: 1, alias: "cpe-lan"),
                          InstanceAlias(table: "Device.IP.Interface.", instance: 3, alias: "wan")],
                transfers: [StoredTransfer(id: applied.transferIDs[0], transfer: download),
                            StoredTransfer(id: applied.transferIDs[1], transfer: upload)],
                parameterValues: [
                    "Device.ManagementServer.PeriodicInformInterval": StoredParameterValue(value: "300",
                                                                                           type: "unsignedInt"),
                    "Device.ManagementServer.ConnectionRequestPassword": StoredParameterValue(value: "s3cret ☃"),
                ])
            try await withStore(in: directory) { store throws in
                #expect(try await store.load("gateway") == expected)
                #expect(try await store.loadAll() == ["gateway": expected])
                #expect(try await store.load("nobody") == nil)
            }
        }
    }

    @Test func updatesReplaceAndRemovalsRemove() async throws {
        try await withTemporaryStateDirectory { directory in
            try await withStore(in: directory) { store throws in
                try await store.createAgent("gateway")
                let ids = try await store.apply([
                    .setAttribute(path: "Device.A", ParameterAttribute(notification: 2, accessList: ["Subscriber"])),
                    .setValue(path: "Device.B", StoredParameterValue(value: "1", type: "int")),
                    .setAlias(InstanceAlias(table: "Device.T.", instance: 1, alias: "one")),
                    .addTransfer(PendingTransfer(commandKey: "k", kind: .download, fileType: "1 Firmware Upgrade Image",
                                                 url: "http://f/1")),
                    .setBootstrappedACSURL("http://acs/1"),
                ], to: "gateway").transferIDs
                var transfer = PendingTransfer(commandKey: "k", kind: .download, state: .inProgress,
                                               fileType: "1 Firmware Upgrade Image", url: "http://f/1",
                                               startTime: "2026-05-06T07:08:09Z")
                try await store.apply([
                    .setAttribute(path: "Device.A", ParameterAttribute(notification: 0)),
                    .setValue(path: "Device.B", StoredParameterValue(value: "-5", type: "int")),
                    .setAlias(InstanceAlias(table: "Device.T.", instance: 1, alias: "uno")),
                    .updateTransfer(id: ids[0], transfer),
                    .setBootstrappedACSURL(nil),
                ], to: "gateway")
                var snapshot = try #require(try await store.load("gateway"))
                #expect(snapshot.attributes == ["Device.A": ParameterAttribute(notification: 0)])
                #expect(snapshot.parameterValues == ["Device.B": StoredParameterValue(value: "-5", type: "int")])
                #expect(snapshot.aliases == [InstanceAlias(table: "Device.T.", instance: 1, alias: "uno")])
                #expect(snapshot.transfers == [StoredTransfer(id: ids[0], transfer: transfer)])
                #expect(snapshot.bootstrappedACSURL == nil)

                transfer.state = .completed
                try await store.apply([
                    .removeAttribute(path: "Device.A"), .removeValue(path: "Device.B"),
                    .removeAlias(table: "Device.T.", instance: 1), .removeTransfer(id: ids[0]),
                ], to: "gateway")
                snapshot = try #require(try await store.load("gateway"))
                #expect(snapshot == AgentSnapshot(agentID: "gateway"))
            }
        }
    }

    @Test func removeSubtreeRemovesExactlyWhatIsBelowTheObject() async throws {
        try await withTemporaryStateDirectory { directory in
            try await withStore(in: directory) { store throws in
                try await store.createAgent("gateway")
                let attribute = ParameterAttribute(notification: 1)
                let value = StoredParameterValue(value: "x")
                try await store.apply([
                    .setAttribute(path: "Device.IP.Interface.1.Enable", attribute),
                    .setAttribute(path: "Device.IP.Interface.1.IPv4Address.2.X_ACME_Flag", attribute),
                    .setAttribute(path: "Device.IP.Interface.10.Enable", attribute),   // shares the prefix "…1"
                    .setAttribute(path: "Device.IP.Interface.Enable", attribute),
                    .setValue(path: "Device.IP.Interface.1.Alias", value),
                    .setValue(path: "Device.IP.Interface.10.Alias", value),
                    .raiseInstanceCounter(table: "Device.IP.Interface.", next: 11),
                    .raiseInstanceCounter(table: "Device.IP.Interface.1.IPv4Address.", next: 3),
                    .raiseInstanceCounter(table: "Device.IP.Interface.10.IPv4Address.", next: 2),
                    .setAlias(InstanceAlias(table: "Device.IP.Interface.", instance: 1, alias: "lan")),
                    .setAlias(InstanceAlias(table: "Device.IP.Interface.1.IPv4Address.", instance: 2, alias: "a")),
                    .setAlias(InstanceAlias(table: "Device.IP.Interface.10.IPv4Address.", instance: 1, alias: "b")),
                ], to: "gateway")

                // DeleteObject Device.IP.Interface.1.
                try await store.apply([
                    .removeSubtree(objectPath: "Device.IP.Interface.1."),
                    .removeAlias(table: "Device.IP.Interface.", instance: 1),
                    .setParameterKey("after-delete"),
                ], to: "gateway")
                let snapshot = try #require(try await store.load("gateway"))
                #expect(Set(snapshot.attributes.keys) == ["Device.IP.Interface.10.Enable", "Device.IP.Interface.Enable"])
                #expect(Set(snapshot.parameterValues.keys) == ["Device.IP.Interface.10.Alias"])
                #expect(snapshot.instanceCounters == ["Device.IP.Interface.": 11,
                                                      "Device.IP.Interface.10.IPv4Address.": 2])
                #expect(snapshot.aliases == [InstanceAlias(table: "Device.IP.Interface.10.IPv4Address.", instance: 1,
                                                           alias: "b")])
                #expect(snapshot.parameterKey == "after-delete")
            }
        }
    }

    // MARK: Instance numbers

    @Test func instanceCountersNeverDecreaseEvenIfAsked() async throws {
        try await withTemporaryStateDirectory { directory in
            try await withStore(in: directory) { store throws in
                try await store.createAgent("gateway")
                let table = "Device.Hosts.Host."
                try await store.apply([.raiseInstanceCounter(table: table, next: 10)], to: "gateway")
                try await store.apply([.raiseInstanceCounter(table: table, next: 5)], to: "gateway")
                #expect(try await store.load("gateway")?.instanceCounters[table] == 10)

                let allocated = try await store.apply([.allocateInstance(table: table), .allocateInstance(table: table),
                                                       .raiseInstanceCounter(table: table, next: 1)], to: "gateway")
                #expect(allocated.instanceNumbers == [10, 11])
                #expect(try await store.load("gateway")?.instanceCounters[table] == 12)

                // Even a statement that bypasses the API cannot lower a counter: the schema's trigger refuses.
                await expectProxierError(.invalidValue) {
                    try await store.rawQuery("UPDATE instance_counters SET next_instance = 2 WHERE table_path = ?",
                                             [table])
                }
                #expect(try await store.load("gateway")?.instanceCounters[table] == 12)
            }
        }
    }

    @Test func allocatedInstanceNumbersStartAtOneAndAreNeverHandedOutTwice() async throws {
        try await withTemporaryStateDirectory { directory in
            let table = "Device.NAT.PortMapping."
            let before = try await withStore(in: directory) { store throws in
                try await store.createAgent("vd-1")
                var numbers: [UInt32] = []
                for _ in 0..<3 {
                    numbers += try await store.apply([.allocateInstance(table: table)], to: "vd-1").instanceNumbers
                }
                // Deleting an instance and its subtree does not free its number.
                try await store.apply([.removeSubtree(objectPath: table + "3.")], to: "vd-1")
                return numbers
            }
            #expect(before == [1, 2, 3])
            try await withStore(in: directory) { store throws in
                #expect(try await store.apply([.allocateInstance(table: table)], to: "vd-1").instanceNumbers == [4])
            }
        }
    }

    // MARK: Agents

    @Test func removingAnAgentRemovesAllItsRowsAndNothingElse() async throws {
        try await withTemporaryStateDirectory { directory in
            try await withStore(in: directory) { store throws in
                let everything: [AgentChange] = [
                    .appendEvent(code: "1 BOOT", commandKey: ""),
                    .setAttribute(path: "Device.A", ParameterAttribute(notification: 2)),
                    .allocateInstance(table: "Device.T."),
                    .setAlias(InstanceAlias(table: "Device.T.", instance: 1, alias: "x")),
                    .addTransfer(PendingTransfer(commandKey: "c", kind: .upload, fileType: "4 Vendor Log File",
                                                 url: "http://u")),
                    .setValue(path: "Device.B", StoredParameterValue(value: "v")),
                ]
                for agent in ["vd-1", "vd-2"] {
                    try await store.createAgent(agent)
                    try await store.apply(everything, to: agent)
                }
                let survivor = try await store.load("vd-2")

                #expect(try await store.removeAgent("vd-1"))
                #expect(try await store.removeAgent("vd-1") == false)
                for table in ["agents", "pending_events", "parameter_attributes", "instance_counters",
                              "instance_aliases", "pending_transfers", "parameter_values"] {
                    let rows = try await store.rawQuery("SELECT count(*) AS n FROM \(table) WHERE agent_id = ?",
                                                        ["vd-1"])
                    #expect(rows.first?["n"] == "0", "\(table) still has rows of the removed agent")
                }
                #expect(try await store.load("vd-1") == nil)
                #expect(try await store.load("vd-2") == survivor)
                #expect(try await store.agentIDs() == ["vd-2"])

                // A late write for the removed device fails instead of bringing it back.
                await expectProxierError(.unknownAgent) { try await store.appendEvent("1 BOOT", to: "vd-1") }
                await expectProxierError(.unknownAgent) {
                    try await store.apply([.setParameterKey("k")], to: "vd-1")
                }
                #expect(try await store.agentIDs() == ["vd-2"])
            }
        }
    }

    @Test func createAgentIsIdempotentAndKeepsState() async throws {
        try await withTemporaryStateDirectory { directory in
            try await withStore(in: directory) { store throws in
                try await store.createAgent("gateway")
                try await store.apply([.setParameterKey("k1")], to: "gateway")
                try await store.createAgent("gateway")
                #expect(try await store.load("gateway")?.parameterKey == "k1")
                await expectProxierError(.invalidValue) { try await store.createAgent("") }
            }
        }
    }

    @Test func loadAllReturnsThousandsOfAgents() async throws {
        try await withTemporaryStateDirectory { directory in
            let count = 1_500
            try await withStore(in: directory) { store throws in
                for index in 0..<count {
                    let agent = "vd-\(index)"
                    try await store.createAgent(agent)
                    try await store.apply([
                        .appendEvent(code: "0 BOOTSTRAP", commandKey: ""),
                        .setParameterKey("pk-\(index)"),
                        .setValue(path: "Device.ManagementServer.ConnectionRequestUsername",
                                  StoredParameterValue(value: "user-\(index)")),
                        .raiseInstanceCounter(table: "Device.LAN.", next: UInt32(index % 7 + 1)),
                    ], to: agent)
                }
            }
            try await withStore(in: directory) { store throws in
                let all = try await store.loadAll()
                #expect(all.count == count)
                for index in [0, 1, 733, count - 1] {
                    let snapshot = try #require(all["vd-\(index)"])
                    #expect(snapshot.parameterKey == "pk-\(index)")
                    #expect(snapshot.pendingEvents.map(\.code) == ["0 BOOTSTRAP"])
                    #expect(snapshot.parameterValues["Device.ManagementServer.ConnectionRequestUsername"]?.value
                            == "user-\(index)")
                    #expect(snapshot.instanceCounters["Device.LAN."] == UInt32(index % 7 + 1))
                }
                #expect(all.values.allSatisfy { $0.pendingEvents.count == 1 })
            }
        }
    }

    // MARK: Transactions and validation

    @Test func aFailingChangeRollsBackTheWholeBatch() async throws {
        try await withTemporaryStateDirectory { directory in
            try await withStore(in: directory) { store throws in
                try await store.createAgent("gateway")
                try await store.apply([.setParameterKey("before")], to: "gateway")
                // The last change fails in SQL (no such transfer), after the others ran.
                await expectProxierError(.invalidValue) {
                    try await store.apply([
                        .setParameterKey("after"),
                        .setValue(path: "Device.X", StoredParameterValue(value: "1")),
                        .appendEvent(code: "4 VALUE CHANGE", commandKey: ""),
                        .updateTransfer(id: 999, PendingTransfer(commandKey: "", kind: .download, fileType: "1",
                                                                 url: "u")),
                    ], to: "gateway")
                }
                // A duplicate alias in one table fails on the UNIQUE constraint, also mid-batch.
                await expectProxierError(.invalidValue) {
                    try await store.apply([
                        .setParameterKey("after"),
                        .setAlias(InstanceAlias(table: "Device.T.", instance: 1, alias: "same")),
                        .setAlias(InstanceAlias(table: "Device.T.", instance: 2, alias: "same")),
                    ], to: "gateway")
                }
                #expect(try await store.load("gateway") == AgentSnapshot(agentID: "gateway", parameterKey: "before"))
                // The store is still usable after the rollbacks.
                try await store.apply([.setParameterKey("later")], to: "gateway")
                #expect(try await store.load("gateway")?.parameterKey == "later")
            }
        }
    }

    @Test func invalidChangesAreRejectedBeforeAnythingIsWritten() async throws {
        try await withTemporaryStateDirectory { directory in
            try await withStore(in: directory) { store throws in
                try await store.createAgent("gateway")
                let invalid: [(AgentChange, ProxierError.ErrorCode)] = [
                    (.appendEvent(code: "", commandKey: ""), .invalidValue),
                    (.appendEvent(code: String(repeating: "X", count: 65), commandKey: ""), .invalidValue),
                    (.setAttribute(path: "Device.A", ParameterAttribute(notification: 7)), .invalidValue),
                    (.setAttribute(path: "Device.A", ParameterAttribute(notification: 1, accessList: ["a\u{1F}b"])),
                     .invalidValue),
                    (.setRetryCount(-1), .invalidValue),
                    (.removeSubtree(objectPath: "Device.IP.Interface.1"), .invalidPath),
                    (.allocateInstance(table: "Device.IP.Interface"), .invalidPath),
                    (.raiseInstanceCounter(table: "Device.T.", next: 0), .invalidValue),
                    (.setAlias(InstanceAlias(table: "Device.T.", instance: 0, alias: "a")), .invalidValue),
                ]
                for (change, code) in invalid {
                    await expectProxierError(code) {
                        try await store.apply([.setParameterKey("must not stick"), change], to: "gateway")
                    }
                }
                #expect(try await store.load("gateway") == AgentSnapshot(agentID: "gateway"))
                await expectProxierError(.unknownAgent) { try await store.apply([], to: "nobody") }
            }
        }
    }

    @Test func aClosedStoreFailsCleanly() async throws {
        try await withTemporaryStateDirectory { directory in
            let store = try await AgentStore.open(directory: directory)
            try await store.createAgent("gateway")
            try await store.close()
            try await store.close()   // idempotent
            await expectProxierError(.storeFailure) { try await store.appendEvent("1 BOOT", to: "gateway") }
            await expectProxierError(.storeFailure) { _ = try await store.loadAll() }
        }
    }

    @Test func relativeStateDirectoriesAreRefused() async {
        await expectProxierError(.storeFailure) { _ = try await AgentStore.open(directory: "state") }
        await expectProxierError(.storeFailure) { _ = try await AgentStore.open(directory: "file:state") }
    }

    // MARK: Concurrency

    @Test func concurrentWritesFromManyTasksAreAllKeptInOrder() async throws {
        try await withTemporaryStateDirectory { directory in
            let agents = (0..<8).map { "vd-\($0)" }
            let tasksPerAgent = 12, eventsPerTask = 10
            try await withStore(in: directory) { store throws in
                for agent in agents { try await store.createAgent(agent) }
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for agent in agents {
                        for task in 0..<tasksPerAgent {
                            group.addTask {
                                var previous: Int64 = 0
                                for event in 0..<eventsPerTask {
                                    let appended = try await store.apply([
                                        .appendEvent(code: "X 00D09E Test", commandKey: "t\(task)-e\(event)"),
                                        .setValue(path: "Device.Last.T\(task)", StoredParameterValue(value: "\(event)")),
                                        .allocateInstance(table: "Device.Shared."),
                                    ], to: agent)
                                    // Within one task, commits happen in call order.
                                    #expect(appended.eventSequences[0] > previous)
                                    previous = appended.eventSequences[0]
                                }
                            }
                        }
                    }
                    try await group.waitForAll()
                }
            }
            try await withStore(in: directory) { store throws in
                let all = try await store.loadAll()
                var allSequences: [Int64] = []
                for agent in agents {
                    let snapshot = try #require(all[agent])
                    let keys = snapshot.pendingEvents.map(\.commandKey)
                    #expect(keys.count == tasksPerAgent * eventsPerTask)
                    #expect(Set(keys).count == keys.count)
                    // Each task's own events appear in the order it appended them.
                    for task in 0..<tasksPerAgent {
                        let own = keys.filter { $0.hasPrefix("t\(task)-") }
                        #expect(own == (0..<eventsPerTask).map { "t\(task)-e\($0)" })
                        #expect(snapshot.parameterValues["Device.Last.T\(task)"]?.value == "\(eventsPerTask - 1)")
                    }
                    // Every allocation got its own number: the counter moved once per allocation.
                    #expect(snapshot.instanceCounters["Device.Shared."] == UInt32(tasksPerAgent * eventsPerTask + 1))
                    allSequences += snapshot.pendingEvents.map(\.sequence)
                }
                #expect(Set(allSequences).count == allSequences.count)
                #expect(try await store.rawQuery("PRAGMA integrity_check").first?["integrity_check"] == "ok")
            }
        }
    }

    // MARK: Schema, pragmas, files

    @Test func anEmptyDatabaseIsMigratedToTheLatestVersion() async throws {
        try await withTemporaryStateDirectory { directory in
            try await withStore(in: directory) { store throws in
                let expected = AgentStoreSchema.migrations.map(\.version)
                #expect(try await store.recordedSchemaVersions() == expected)
                #expect(expected.last == AgentStore.schemaVersion)
                // Re-running the migrations is a no-op.
                try await store.migrate(to: AgentStoreSchema.migrations)
                #expect(try await store.recordedSchemaVersions() == expected)
            }
        }
    }

    @Test func aVersion1DatabaseIsMigratedAndKeepsItsData() async throws {
        try await withTemporaryStateDirectory { directory in
            let v1 = Array(AgentStoreSchema.migrations.prefix(1))
            let event = try await {
                let store = try await AgentStore.open(directory: directory, durability: .processCrash,
                                                      logger: .init(label: "test"), migrations: v1)
                try await store.createAgent("gateway")
                try await store.apply([.setParameterKey("old"), .setRetryCount(2)], to: "gateway")
                let event = try await store.appendEvent("M Reboot", commandKey: "rb", to: "gateway")
                #expect(try await store.recordedSchemaVersions() == [1])
                // The later tables really are absent in a v1 file.
                await expectProxierError(.storeFailure) {
                    try await store.rawQuery("SELECT count(*) FROM parameter_values")
                }
                try await store.close()
                return event
            }()
            try await withStore(in: directory) { store throws in
                #expect(try await store.recordedSchemaVersions() == AgentStoreSchema.migrations.map(\.version))
                try await store.apply([
                    .setValue(path: "Device.ManagementServer.URL", StoredParameterValue(value: "https://acs")),
                    .allocateInstance(table: "Device.T."),
                ], to: "gateway")
                let snapshot = try #require(try await store.load("gateway"))
                #expect(snapshot.parameterKey == "old" && snapshot.retryCount == 2)
                #expect(snapshot.pendingEvents == [event])
                #expect(snapshot.parameterValues["Device.ManagementServer.URL"]?.value == "https://acs")
            }
        }
    }

    @Test func aDatabaseFromANewerBuildOrADifferentHistoryIsRefused() async throws {
        try await withTemporaryStateDirectory { directory in
            try await withStore(in: directory) { store throws in
                try await store.rawQuery("INSERT INTO schema_migrations VALUES (?, 'from the future', 0)",
                                         ["\(AgentStore.schemaVersion + 1)"])
            }
            await expectProxierError(.storeFailure) { _ = try await AgentStore.open(directory: directory) }
        }
        try await withTemporaryStateDirectory { directory in
            try await withStore(in: directory) { store throws in
                try await store.rawQuery("UPDATE schema_migrations SET name = 'something else' WHERE version = 1")
            }
            await expectProxierError(.storeFailure) { _ = try await AgentStore.open(directory: directory) }
        }
    }

    @Test(arguments: [(AgentStore.Durability.processCrash, "1"), (.powerLoss, "2")])
    func theConnectionUsesWALForeignKeysAndTheChosenSynchronousLevel(
        durability: AgentStore.Durability, synchronous: String) async throws {
        try await withTemporaryStateDirectory { directory in
            try await withStore(in: directory, durability: durability) { store throws in
                #expect(try await store.rawQuery("PRAGMA journal_mode").first?["journal_mode"] == "wal")
                #expect(try await store.rawQuery("PRAGMA synchronous").first?["synchronous"] == synchronous)
                #expect(try await store.rawQuery("PRAGMA foreign_keys").first?["foreign_keys"] == "1")
            }
        }
    }

    @Test func theStateFilesAreReadableByTheOwnerOnly() async throws {
        try await withTemporaryStateDirectory { directory in
            try await withStore(in: directory) { store throws in
                try await store.createAgent("gateway")
                try await store.apply([.setValue(path: "Device.ManagementServer.Password",
                                                 StoredParameterValue(value: "hunter2"))], to: "gateway")
                func permissions(_ path: String) throws -> Int {
                    let attributes = try FileManager.default.attributesOfItem(atPath: path)
                    return try #require(attributes[.posixPermissions] as? Int) & 0o777
                }
                #expect(try permissions(directory) == 0o700)
                #expect(try permissions(store.path) == 0o600)
                #expect(try permissions(store.path + "-wal") == 0o600)
                #expect(try permissions(store.path + "-shm") == 0o600)
            }
        }
        // A database left with wider permissions is tightened on open.
        try await withTemporaryStateDirectory { directory in
            try await withStore(in: directory) { _ in }
            let path = directory + "/" + AgentStore.fileName
            try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
            try await withStore(in: directory) { _ in }
            let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
            #expect(mode.map { $0 & 0o777 } == 0o600)
        }
    }

    @Test func secretsNeverAppearInDescriptions() async throws {
        let secret = "p4ssw0rd-never-logged"
        let snapshot = AgentSnapshot(agentID: "gateway", parameterValues: [
            "Device.ManagementServer.ConnectionRequestPassword": StoredParameterValue(value: secret),
        ])
        #expect(!String(describing: snapshot).contains(secret))
        #expect(!String(reflecting: AgentChange.setValue(path: "P", StoredParameterValue(value: secret)))
            .contains(secret))
    }

    @Test func storeErrorsBecomeInternalErrorFaults() {
        #expect(CWMPFault(converting: ProxierError(.storeFailure, "disk full")).code == .internalError)
        #expect(CWMPFault(converting: ProxierError(.unknownAgent, "vd-9")).code == .internalError)
    }
}
