// Schema version 5 of the agent store: instance keys and pending CPE requests, their stored form, the migration
// from version 4, and removal with the agent.
import CWMPClient
import CWMPTestSupport
import Foundation
import Logging
import Testing
@testable import Proxier

@Suite struct PendingRequestStoreTests {
    /// Every CPE request of the sample catalogue, as `CPERequest`.
    private static var sampleRequests: [(name: String, request: CPERequest)] {
        SampleMessages.all(for: .cwmp12).compactMap { sample in
            let request: CPERequest? = switch sample.envelope.message {
            case .transferComplete(let value): .transferComplete(value)
            case .autonomousTransferComplete(let value): .autonomousTransferComplete(value)
            case .duStateChangeComplete(let value): .duStateChangeComplete(value)
            case .autonomousDUStateChangeComplete(let value): .autonomousDUStateChangeComplete(value)
            case .requestDownload(let value): .requestDownload(value)
            case .getRPCMethods: .getRPCMethods
            default: nil
            }
            return request.map { (sample.name, $0) }
        }
    }

    @Test func everyCPERequestRoundTripsThroughTheStoreAsAValidEnvelope() async throws {
        let samples = Self.sampleRequests
        #expect(samples.count >= 8)
        try await withTemporaryStateDirectory { directory in
            try await withStore(in: directory) { store in
                try await store.createAgent("a")
                var changes: [AgentChange] = []
                for sample in samples { changes.append(.addRequest(try sample.request.persisted())) }
                let ids = try await store.apply(changes, to: "a").requestIDs
                #expect(ids == ids.sorted() && Set(ids).count == samples.count)
                let stored = try #require(try await store.load("a")).requests
                #expect(stored.map(\.id) == ids)
                #expect(try stored.map { try CPERequest(persisted: $0.request) } == samples.map(\.request))
                #expect(stored.map(\.request.method) == samples.map { CWMPEncoder.rpcName(of: $0.request.message) })
                #expect(stored.map(\.request.method).contains("DUStateChangeComplete"))

                if XSDValidator.isAvailable {
                    let failures = try XSDValidator.validate(zip(samples, stored).map { sample, row in
                        (name: "stored-\(sample.name).xml", bytes: Array(row.request.envelope.utf8))
                    })
                    #expect(failures.isEmpty, "\(failures)")
                } else {
                    recordXSDValidationSkipped("stored envelopes")
                }
            }
        }
    }

    @Test func aStoredRowThatIsNotARequestIsRefusedWhenRead() throws {
        let response = PendingCPERequest(method: "InformResponse", envelope: String(decoding: try CWMPEncoder().encode(
            CWMPEnvelope(namespace: .cwmp12, message: .informResponse(InformResponse(maxEnvelopes: 1)))), as: UTF8.self))
        #expect(throws: ProxierError.self) { try CPERequest(persisted: response) }
        #expect(throws: ProxierError.self) {
            try CPERequest(persisted: PendingCPERequest(method: "TransferComplete", envelope: "<not xml"))
        }
    }

    @Test func removingARequestRemovesTheTransferItReported() async throws {
        try await withTemporaryStateDirectory { directory in
            try await withStore(in: directory) { store in
                try await store.createAgent("a")
                let transfer = PendingTransfer(commandKey: "k", kind: .upload, state: .completed,
                                               fileType: "4 Vendor Log File", url: "http://192.0.2.1/log")
                let other = PendingTransfer(commandKey: "other", kind: .download, fileType: "1 Firmware Upgrade Image",
                                            url: "http://192.0.2.1/fw")
                let transferIDs = try await store.apply([.addTransfer(transfer), .addTransfer(other)], to: "a").transferIDs
                let report = try CPERequest.transferComplete(TransferComplete(
                    commandKey: "k", fault: .none, startTime: .unknown, completeTime: .unknown))
                    .persisted(transferID: transferIDs[0])
                let requestID = try await store.apply([.addRequest(report)], to: "a").requestIDs[0]
                #expect(try await store.load("a")?.requests == [StoredCPERequest(id: requestID, request: report)])
                try await store.apply([.removeRequest(id: requestID)], to: "a")
                let snapshot = try #require(try await store.load("a"))
                #expect(snapshot.requests.isEmpty)
                #expect(snapshot.transfers.map(\.id) == [transferIDs[1]])
            }
        }
    }

    @Test func version4DatabasesMigrateAndRemovingTheAgentRemovesTheNewRows() async throws {
        try await withTemporaryStateDirectory { directory in
            let version4 = try await AgentStore.open(directory: directory, durability: .processCrash,
                                                     logger: Logger(label: "test"),
                                                     migrations: Array(AgentStoreSchema.migrations.prefix(4)))
            try await version4.createAgent("a")
            try await version4.apply([.raiseInstanceCounter(table: "Device.T.", next: 3),
                                      .setAlias(InstanceAlias(table: "Device.T.", instance: 2, alias: "two"))], to: "a")
            try await version4.close()

            try await withStore(in: directory) { store in
                #expect(try await store.recordedSchemaVersions() == AgentStoreSchema.migrations.map(\.version))
                let old = try #require(try await store.load("a"))
                #expect(old.instanceCounters == ["Device.T.": 3])
                #expect(old.instanceKeys.isEmpty)
                try await store.apply([
                    .setInstanceKey(InstanceKey(table: "Device.T.", instance: 2, key: "k2")),
                    .setInstanceKey(InstanceKey(table: "Device.T.2.Sub.", instance: 1, key: "s1")),
                    .addRequest(PendingCPERequest(method: "GetRPCMethods", envelope: "<x/>")),
                ], to: "a")
                // One provider key per table: the same key for another instance moves it.
                try await store.apply([.setInstanceKey(InstanceKey(table: "Device.T.", instance: 4, key: "k2"))], to: "a")
                #expect(try await store.load("a")?.instanceKeys.filter { $0.table == "Device.T." }
                        == [InstanceKey(table: "Device.T.", instance: 4, key: "k2")])
                try await store.apply([.removeInstance(table: "Device.T.", instance: 2)], to: "a")
                let after = try #require(try await store.load("a"))
                #expect(after.instanceKeys == [InstanceKey(table: "Device.T.", instance: 4, key: "k2")])
                #expect(after.aliases.isEmpty)
                #expect(after.instanceCounters == ["Device.T.": 3], "the table's counter stays: 2 is never reused")

                try await store.removeAgent("a")
                for table in ["instance_keys", "pending_requests"] {
                    #expect(try await store.rawQuery("SELECT count(*) AS n FROM \(table)").first?["n"] == "0")
                }
            }
        }
    }

    @Test func invalidInstanceAndRequestChangesAreRefusedBeforeAnyWrite() async throws {
        try await withTemporaryStateDirectory { directory in
            try await withStore(in: directory) { store in
                try await store.createAgent("a")
                let invalid: [AgentChange] = [
                    .setInstanceKey(InstanceKey(table: "Device.T", instance: 1, key: "k")),
                    .setInstanceKey(InstanceKey(table: "Device.T.", instance: 0, key: "k")),
                    .removeInstance(table: "Device.T.", instance: 0),
                    .addRequest(PendingCPERequest(method: "", envelope: "<x/>")),
                    .addRequest(PendingCPERequest(method: "TransferComplete", envelope: "")),
                ]
                for change in invalid {
                    await expectProxierError(.invalidValue) {
                        try await store.apply([.appendEvent(code: "1 BOOT", commandKey: ""), change], to: "a")
                    }
                }
                #expect(try await store.pendingEvents(of: "a").isEmpty)
            }
        }
    }
}
