// The SNMP manager against a real snmpd on a 127.0.0.1 port (started per test by SNMPDaemonPeer), checked
// against net-snmp's own command-line tools talking to the same agent.
import CWMPClient
import CNetSNMP
import CWMPTestSupport
import Foundation
@testable import SNMPBridge
import Testing

@Suite(.enabled(if: snmpdAvailable, snmpdSkipMessage), .timeLimit(.minutes(2)))
struct SNMPManagerTests {
    @Test func v2cGetMatchesSnmpget() async throws {
        let peer = try SNMPDaemonPeer()
        defer { peer.stop() }
        let manager = SNMPManager()
        defer { manager.shutdown() }
        let session = manager.session(for: peer.v2cPublic)
        let varBinds = try await session.get([MIB2.sysDescr, MIB2.sysObjectID])
        #expect(varBinds.map(\.oid) == [MIB2.sysDescr, MIB2.sysObjectID])
        let cli = try peer.tool("snmpget", ["-v2c", "-c", "public", "-On"], [MIB2.sysDescr.description,
                                                                             MIB2.sysObjectID.description])
        let lines = cli.output.split(separator: "\n").map { line -> String in
            String(line[line.range(of: " = ")!.upperBound...])
        }
        #expect(lines.count == 2)
        #expect(agrees(varBinds[0].value, with: lines[0]))
        #expect(agrees(varBinds[1].value, with: lines[1]))
    }

    @Test func getNextAndGetBulkFollowTheAgentsOrder() async throws {
        let peer = try SNMPDaemonPeer()
        defer { peer.stop() }
        let manager = SNMPManager()
        defer { manager.shutdown() }
        let session = manager.session(for: peer.v2cPublic)
        let next = try await session.getNext([MIB2.sysDescr])
        #expect(next.map(\.oid) == [MIB2.sysObjectID])
        // One non-repeater (sysDescr's successor), then three repetitions of the column after sysObjectID.0.
        let bulk = try await session.getBulk([MIB2.sysDescr, MIB2.sysObjectID], nonRepeaters: 1, maxRepetitions: 3)
        #expect(bulk.map(\.oid) == [MIB2.sysObjectID, MIB2.sysUpTime, MIB2.sysContact, MIB2.sysName])
        let v1Next = try await manager.session(for: peer.v1Public).getNext([MIB2.sysDescr])
        #expect(v1Next == next)
    }

    @Test(arguments: [false, true])
    func walkOfSystemAndIfTableMatchesSnmpwalk(v1: Bool) async throws {
        let peer = try SNMPDaemonPeer()
        defer { peer.stop() }
        let manager = SNMPManager()
        defer { manager.shutdown() }
        // A small max-repetitions makes the walk take several GETBULKs (and cross the subtree's end mid-response).
        let agent = v1 ? peer.v1Public : peer.agent(.v2c(community: "public"), maxRepetitions: 7)
        let session = manager.session(for: agent)
        let arguments = v1 ? ["-v1", "-c", "public"] : ["-v2c", "-c", "public"]
        let system = try await expectWalkMatchesSnmpwalk(session, MIB2.system, peer: peer, arguments: arguments)
        #expect(system.count >= 8)
        let ifTable = try await expectWalkMatchesSnmpwalk(session, MIB2.ifTable, peer: peer, arguments: arguments)
        #expect(ifTable.count >= 22)  // at least lo, 22 columns
        // IpAddress values (ipAddrTable) and, over v2c, Counter64 (ifXTable's HC counters).
        let addresses = try await expectWalkMatchesSnmpwalk(session, oid("1.3.6.1.2.1.4.20"), peer: peer,
                                                            arguments: arguments)
        #expect(addresses.contains { $0.value == .ipAddress([127, 0, 0, 1]) })
        if !v1 {
            let extended = try await expectWalkMatchesSnmpwalk(session, oid("1.3.6.1.2.1.31.1.1"), peer: peer,
                                                               arguments: arguments)
            #expect(extended.contains { if case .counter64 = $0.value { true } else { false } })
        }
    }

    @Test func walkOfAnEmptySubtreeIsEmpty() async throws {
        let peer = try SNMPDaemonPeer()
        defer { peer.stop() }
        let manager = SNMPManager()
        defer { manager.shutdown() }
        #expect(try await manager.session(for: peer.v2cPublic).walk(oid("1.3.6.1.2.1.1.99")).isEmpty)
        // Past the end of the agent's whole view: endOfMibView (v2c) and noSuchName (v1) both end the walk.
        #expect(try await manager.session(for: peer.v2cPublic).walk(oid("1.3.6.1.99")).isEmpty)
        #expect(try await manager.session(for: peer.v1Public).walk(oid("1.3.6.1.99")).isEmpty)
    }

    @Test func setOfTwoVarBindsInOnePDUThenReadBack() async throws {
        let peer = try SNMPDaemonPeer()
        defer { peer.stop() }
        let manager = SNMPManager()
        defer { manager.shutdown() }
        let session = manager.session(for: peer.v2cPrivate)
        let contact = "ops-\(UUID().uuidString.prefix(8))@example.net"
        let location = "rack \(Int.random(in: 1...99))"
        let answer = try await session.set([
            SNMPVarBind(oid: MIB2.sysContact, value: .octetString(Array(contact.utf8))),
            SNMPVarBind(oid: MIB2.sysLocation, value: .octetString(Array(location.utf8))),
        ])
        #expect(answer.map(\.value.text) == [contact, location])
        // Read back through another session (v1, read-only community) and through net-snmp's own snmpget.
        let readBack = try await manager.session(for: peer.v1Public).get([MIB2.sysContact, MIB2.sysLocation])
        #expect(readBack.map(\.value.text) == [contact, location])
        let cli = try peer.tool("snmpget", ["-v2c", "-c", "public", "-Oqv"], [MIB2.sysContact.description])
        #expect(cli.output.trimmingCharacters(in: .whitespacesAndNewlines) == "\"\(contact)\"")
        // An empty OCTET STRING is a value too.
        _ = try await session.set([SNMPVarBind(oid: MIB2.sysLocation, value: .octetString([]))])
        #expect(try await session.get([MIB2.sysLocation]).first?.value == .octetString([]))
    }

    @Test func setCreatesAndDestroysATableRowWithRowStatus() async throws {
        let peer = try SNMPDaemonPeer()
        defer { peer.stop() }
        let manager = SNMPManager()
        defer { manager.shutdown() }
        let session = manager.session(for: peer.v2cPrivate)
        // snmpTargetAddrTable, index "bridge" (length-prefixed, not IMPLIED).
        let index: [UInt32] = [6] + "bridge".utf8.map { UInt32($0) }
        func column(_ number: UInt32) -> SNMPObjectIdentifier { SNMPObjectIdentifier(MIB2.snmpTargetAddrTable.components + [1, number] + index) }
        _ = try await session.set([
            SNMPVarBind(oid: column(2), value: .objectIdentifier(oid("1.3.6.1.6.1.1"))),  // snmpUDPDomain
            SNMPVarBind(oid: column(3), value: .octetString([127, 0, 0, 1, 0x0F, 0xA2])),
            SNMPVarBind(oid: column(7), value: .octetString(Array("params".utf8))),
            SNMPVarBind(oid: column(9), value: .integer(4)),  // createAndGo
        ])
        let row = try await session.walk(MIB2.snmpTargetAddrTable)
        #expect(row.first { $0.oid == column(3) }?.value == .octetString([127, 0, 0, 1, 0x0F, 0xA2]))
        #expect(row.first { $0.oid == column(9) }?.value == .integer(1))  // active
        expectSameWalk(row, try peer.walkLines(MIB2.snmpTargetAddrTable.description))
        _ = try await session.set([SNMPVarBind(oid: column(9), value: .integer(6))])  // destroy
        #expect(try await session.walk(MIB2.snmpTargetAddrTable).isEmpty)
    }

    @Test func setOnAReadOnlyObjectIsAPDUErrorWithTheAgentsStatus() async throws {
        let peer = try SNMPDaemonPeer()
        defer { peer.stop() }
        let manager = SNMPManager()
        defer { manager.shutdown() }
        let write = SNMPVarBind(oid: MIB2.sysDescr, value: .octetString(Array("nope".utf8)))
        let contact = SNMPVarBind(oid: MIB2.sysContact, value: .octetString(Array("x".utf8)))
        // v2c: notWritable (17), on the second varbind; net-snmp's own text in the reason.
        let v2c = await snmpError { try await manager.session(for: peer.v2cPrivate).set([contact, write]) }
        #expect(v2c?.code == .pduError)
        #expect(v2c?.pduErrorStatus == 17)
        #expect(v2c?.pduErrorIndex == 2)
        #expect(v2c?.reason.contains("notWritable") == true)
        #expect(v2c?.cwmpFault.code == .attemptToSetNonWritableParameter)
        // v1: noSuchName (2).
        let v1 = await snmpError { try await manager.session(for: peer.v1Private).set([write]) }
        #expect(v1?.pduErrorStatus == 2)
        // A read-only community: noAccess (6).
        let readOnly = await snmpError { try await manager.session(for: peer.v2cPublic).set([contact]) }
        #expect(readOnly?.pduErrorStatus == 6)
        #expect(readOnly?.cwmpFault.code == .attemptToSetNonWritableParameter)
        // A wrong type: wrongType (7) → 9006.
        let wrongType = await snmpError {
            try await manager.session(for: peer.v2cPrivate).set([SNMPVarBind(oid: MIB2.sysContact, value: .integer(5))])
        }
        #expect(wrongType?.pduErrorStatus == 7)
        #expect(wrongType?.cwmpFault.code == .invalidParameterType)
    }

    @Test func noSuchObjectAndNoSuchInstanceAreValues() async throws {
        let peer = try SNMPDaemonPeer()
        defer { peer.stop() }
        let manager = SNMPManager()
        defer { manager.shutdown() }
        let varBinds = try await manager.session(for: peer.v2cPublic).get([oid("1.3.6.1.2.1.1.99.0"),
                                                                           oid("1.3.6.1.2.1.1.4.5"), MIB2.sysName])
        #expect(varBinds.map(\.value)[0..<2] == [.noSuchObject, .noSuchInstance])
        // SNMPv1 has no exceptions: the whole GET fails with noSuchName on the first missing varbind.
        let v1 = await snmpError { try await manager.session(for: peer.v1Public).get([MIB2.sysName, oid("1.3.6.1.2.1.1.99.0")]) }
        #expect(v1?.pduErrorStatus == 2)
        #expect(v1?.pduErrorIndex == 2)
    }

    @Test func aWrongCommunityTimesOut() async throws {
        let peer = try SNMPDaemonPeer()
        defer { peer.stop() }
        let manager = SNMPManager()
        defer { manager.shutdown() }
        let agent = peer.agent(.v2c(community: "not-the-community"), timeout: .milliseconds(200), retries: 1)
        let error = await snmpError { try await manager.session(for: agent).get([MIB2.sysName]) }
        #expect(error?.code == .timedOut)
        #expect(error?.cwmpFault.code == .internalError)
        #expect(error?.reason.contains("not-the-community") == false)
        // The session stays usable: the right community on the same manager still answers.
        #expect(try await manager.session(for: peer.v2cPublic).get([MIB2.sysName]).count == 1)
    }

    @Test func cancellingAWaitingCallerEndsItAndLeavesTheManagerWorking() async throws {
        let peer = try SNMPDaemonPeer()
        defer { peer.stop() }
        let manager = SNMPManager()
        defer { manager.shutdown() }
        // Nobody answers this community: without cancellation the caller would wait 30 s × 2.
        let silent = manager.session(for: peer.agent(.v2c(community: "silent"), timeout: .seconds(30), retries: 1))
        let waiting = Task { try await silent.get([MIB2.sysName]) }
        try await Task.sleep(for: .milliseconds(100))
        waiting.cancel()
        await #expect(throws: CancellationError.self) { try await waiting.value }
        // Another request on the same session is independent of the cancelled one.
        let second = Task { try await silent.get([MIB2.sysName]) }
        try await Task.sleep(for: .milliseconds(50))
        second.cancel()
        await #expect(throws: CancellationError.self) { try await second.value }
        #expect(try await manager.session(for: peer.v2cPublic).get([MIB2.sysName]).count == 1)
    }

    @Test func aCancelledRequestIsStillFinishedAndFreedByNetSNMP() async throws {
        let peer = try SNMPDaemonPeer()
        defer { peer.stop() }
        let manager = SNMPManager()
        defer { manager.shutdown() }
        // Long enough that the cancellation surely lands first, even on a loaded machine.
        let silent = manager.session(for: peer.agent(.v2c(community: "silent"), timeout: .seconds(3), retries: 1))
        let waiting = Task { try await silent.get([MIB2.sysName]) }
        // Wait until net-snmp holds the request, then cancel.
        let sent = await eventually(10) {
            await SNMPIOThread.shared.inspect { $0.outstanding(silent.sessionID)?.netSNMP == true }
        }
        #expect(sent)
        waiting.cancel()
        await #expect(throws: CancellationError.self) { try await waiting.value }
        let abandoned = await SNMPIOThread.shared.inspect { $0.outstanding(silent.sessionID) }
        #expect(abandoned?.inFlight == 0)
        #expect(abandoned?.abandoned == 1)
        // net-snmp times it out (timeout × (retries + 1)) and frees it, though nobody waits for it any more.
        let freed = await eventually(30) {
            await SNMPIOThread.shared.inspect { state in
                guard let outstanding = state.outstanding(silent.sessionID) else { return false }
                return !outstanding.netSNMP && outstanding.abandoned == 0
            }
        }
        #expect(freed)
    }

    @Test func closingTheManagerFailsWaitingCallers() async throws {
        let peer = try SNMPDaemonPeer()
        defer { peer.stop() }
        let manager = SNMPManager()
        let silent = manager.session(for: peer.agent(.v2c(community: "silent"), timeout: .seconds(30), retries: 0))
        let waiting = Task { try await silent.get([MIB2.sysName]) }
        try await Task.sleep(for: .milliseconds(100))
        manager.shutdown()
        let error = await snmpError { try await waiting.value }
        #expect(error?.code == .sessionClosed)
        // A session asked for after shutdown fails the same way instead of opening a handle nobody closes.
        let late = await snmpError { try await manager.session(for: peer.v2cPublic).get([MIB2.sysName]) }
        #expect(late?.code == .sessionClosed)
    }

    @Test func badArgumentsAreErrorsNotCrashes() async throws {
        let manager = SNMPManager()
        defer { manager.shutdown() }
        let session = manager.session(for: SNMPAgent(host: "127.0.0.1", port: 9, credentials: .v2c(community: "x")))
        #expect(await snmpError { try await session.get([]) }?.code == .invalidArgument)
        #expect(await snmpError { try await session.get([SNMPObjectIdentifier([1])]) }?.code == .invalidArgument)
        #expect(await snmpError { try await session.set([SNMPVarBind(oid: MIB2.sysName, value: .noSuchObject)]) }?
            .code == .invalidArgument)
        #expect(await snmpError { try await session.set([SNMPVarBind(oid: MIB2.sysName, value: .ipAddress([1, 2]))]) }?
            .code == .invalidArgument)
        let v1 = manager.session(for: SNMPAgent(host: "127.0.0.1", port: 9, credentials: .v1(community: "x")))
        #expect(await snmpError { try await v1.getBulk([MIB2.system], nonRepeaters: 0, maxRepetitions: 5) }?
            .code == .invalidArgument)
        let unresolvable = manager.session(for: SNMPAgent(host: "no-such-host.invalid", credentials: .v2c(community: "x")))
        #expect(await snmpError { try await unresolvable.get([MIB2.sysName]) }?.code == .invalidArgument)
        let badPort = manager.session(for: SNMPAgent(host: "127.0.0.1", port: 70_000, credentials: .v2c(community: "x")))
        #expect(await snmpError { try await badPort.get([MIB2.sysName]) }?.code == .invalidArgument)
    }

    @Test func otherNetSNMPCallsRunOnTheIOThread() async throws {
        let threadOfIO = try await SNMPIOThread.shared.run { pthread_self() }
        let again = try await SNMPIOThread.shared.run { pthread_self() }
        #expect(pthread_equal(threadOfIO, again) != 0)
        #expect(try await !SNMPIOThread.shared.run { String(cString: netsnmp_get_version()) }.isEmpty)
        await #expect(throws: SNMPBridgeError.self) {
            try await SNMPIOThread.shared.run { throw SNMPBridgeError(.invalidArgument, "x") }
        }
    }

    @Test func hundredsOfSessionsInFlightAtOnce() async throws {
        let communities = (0..<200).map { String(format: "community-%03d", $0) }
        let peer = try SNMPDaemonPeer(extraCommunities: communities)
        defer { peer.stop() }
        let manager = SNMPManager()
        defer { manager.shutdown() }
        let expected = try await manager.session(for: peer.v2cPublic).get([MIB2.sysDescr, MIB2.sysObjectID])
        // 200 sessions (one per community) × 5 requests, all submitted at once; snmpd answers them one by one.
        let results = try await withThrowingTaskGroup(of: [SNMPVarBind].self) { group in
            for community in communities {
                let session = manager.session(for: peer.agent(.v2c(community: Secret(community)), timeout: .seconds(5),
                                                              retries: 2))
                for _ in 0..<5 {
                    group.addTask { try await session.get([MIB2.sysDescr, MIB2.sysObjectID]) }
                }
            }
            var results: [[SNMPVarBind]] = []
            for try await result in group { results.append(result) }
            return results
        }
        #expect(results.count == 1000)
        #expect(results.allSatisfy { $0 == expected })
    }
}
