// The pure parts: OIDs, the walk state machine, the per-session discovery state machine. No network.
@testable import SNMPBridge
import Testing

extension SNMPWalkStateMachine.Action {
    var failureCode: SNMPBridgeError.ErrorCode? { if case .failed(let error) = self { error.code } else { nil } }
}

@Suite struct SNMPObjectIdentifierTests {
    @Test func parsesDottedFormsAndRejectsTheRest() {
        #expect(SNMPObjectIdentifier("1.3.6.1.2.1.1.5.0")?.components == [1, 3, 6, 1, 2, 1, 1, 5, 0])
        #expect(SNMPObjectIdentifier(".1.3.6.1")?.components == [1, 3, 6, 1])
        #expect(SNMPObjectIdentifier("1.3.6.1.4294967295")?.components.last == UInt32.max)
        for bad in ["", ".", "1..3", "1.3.", "IF-MIB::ifDescr", "1.3.-6", "1.3.4294967296", "1. 3", "１.3"] {
            #expect(SNMPObjectIdentifier(bad) == nil, "\(bad)")
        }
        #expect(SNMPObjectIdentifier("1.3.6.1.2.1.1.5.0")?.description == "1.3.6.1.2.1.1.5.0")
    }

    @Test func ordersLexicographicallyAndKnowsPrefixes() {
        #expect(oid("1.3.6.1.2") < oid("1.3.6.1.2.0"))
        #expect(oid("1.3.6.1.2.1.9") < oid("1.3.6.1.2.1.10"))
        #expect(!(oid("1.3.6.1.3") < oid("1.3.6.1.2.9")))
        #expect(oid("1.3.6.1.2.1.2.2").isPrefix(of: oid("1.3.6.1.2.1.2.2.1.2.1")))
        #expect(oid("1.3.6.1").isPrefix(of: oid("1.3.6.1")))
        #expect(!oid("1.3.6.1.2.1.2.2").isPrefix(of: oid("1.3.6.1.2.1.2.20")))
        #expect(!oid("1.3.6.1.2.1.2.2.1").isPrefix(of: oid("1.3.6.1.2.1.2.2")))
    }
}

@Suite struct SNMPWalkStateMachineTests {
    let root = oid("1.3.6.1.2.1.2.2")
    func bind(_ dotted: String, _ value: SNMPValue = .integer(1)) -> SNMPVarBind { SNMPVarBind(oid: oid(dotted), value: value) }

    @Test func walksChunksUntilTheSubtreeEnds() {
        var walk = SNMPWalkStateMachine(root: root)
        #expect(walk.start == .requestNext(after: root))
        #expect(walk.received([bind("1.3.6.1.2.1.2.2.1.1.1"), bind("1.3.6.1.2.1.2.2.1.1.2")])
            == .requestNext(after: oid("1.3.6.1.2.1.2.2.1.1.2")))
        #expect(walk.received([bind("1.3.6.1.2.1.2.2.1.2.1"), bind("1.3.6.1.2.1.31.1.1.1.1.1")])
            == .finished([bind("1.3.6.1.2.1.2.2.1.1.1"), bind("1.3.6.1.2.1.2.2.1.1.2"), bind("1.3.6.1.2.1.2.2.1.2.1")]))
    }

    @Test func endOfMibViewEndsTheWalk() {
        var walk = SNMPWalkStateMachine(root: root)
        #expect(walk.received([bind("1.3.6.1.2.1.2.2.1.1.1"), bind("1.3.6.1.2.1.2.2.1.1.1", .endOfMibView)])
            == .finished([bind("1.3.6.1.2.1.2.2.1.1.1")]))
        var v1 = SNMPWalkStateMachine(root: root)
        #expect(v1.receivedEndOfView() == .finished([]))
    }

    @Test func aNonIncreasingOIDIsAnErrorNotALoop() {
        var walk = SNMPWalkStateMachine(root: root)
        _ = walk.received([bind("1.3.6.1.2.1.2.2.1.1.2")])
        #expect(walk.received([bind("1.3.6.1.2.1.2.2.1.1.2")]).failureCode == .nonIncreasingOID)
        var backwards = SNMPWalkStateMachine(root: root)
        #expect(backwards.received([bind("1.3.6.1.2.1.2.2.1.1.5"), bind("1.3.6.1.2.1.2.2.1.1.3")]).failureCode
            == .nonIncreasingOID)
    }

    @Test func anEmptyResponseIsMalformed() {
        var walk = SNMPWalkStateMachine(root: root)
        #expect(walk.received([]).failureCode == .malformedResponse)
    }

    @Test func theRootItselfIsNotPartOfTheWalk() {
        var walk = SNMPWalkStateMachine(root: oid("1.3.6.1.2.1.1.5.0"))
        #expect(walk.received([bind("1.3.6.1.2.1.1.6.0")]) == .finished([]))
    }
}

@Suite struct SNMPSessionStateMachineTests {
    @Test func v1AndV2cSendAtOnce() {
        var machine = SNMPSessionStateMachine(needsDiscovery: false)
        #expect(machine.requestSubmitted(1, probeID: 100) == .send([1]))
        #expect(machine.requestSubmitted(2, probeID: 101) == .send([2]))
    }

    @Test func v3ProbesOnceQueuesThenSendsAll() {
        var machine = SNMPSessionStateMachine(needsDiscovery: true)
        #expect(machine.requestSubmitted(1, probeID: 100) == .sendProbe(100))
        #expect(machine.requestSubmitted(2, probeID: 101) == SNMPSessionStateMachine.Action.none)
        #expect(machine.probeSucceeded(999) == SNMPSessionStateMachine.Action.none)  // not our probe
        #expect(machine.probeSucceeded(100) == .installUserAndSend([1, 2]))
        #expect(machine.requestSubmitted(3, probeID: 102) == .send([3]))
    }

    @Test func aFailedProbeFailsTheQueueAndTheNextRequestProbesAgain() {
        var machine = SNMPSessionStateMachine(needsDiscovery: true)
        _ = machine.requestSubmitted(1, probeID: 100)
        _ = machine.requestSubmitted(2, probeID: 101)
        let timeout = SNMPBridgeError(.timedOut, "probe")
        #expect(machine.probeFailed(100, timeout) == .fail([1, 2], timeout))
        #expect(machine.requestSubmitted(3, probeID: 102) == .sendProbe(102))
    }

    @Test func aCancelledRequestLeavesTheQueue() {
        var machine = SNMPSessionStateMachine(needsDiscovery: true)
        _ = machine.requestSubmitted(1, probeID: 100)
        _ = machine.requestSubmitted(2, probeID: 101)
        _ = machine.requestCancelled(1)
        #expect(machine.probeSucceeded(100) == .installUserAndSend([2]))
    }
}

@Suite struct SNMPBridgeErrorFaultTests {
    @Test func netSNMPAndSecurityErrorsAreInternalErrorsForTheACS() {
        for code: SNMPBridgeError.ErrorCode in [.netSNMPError, .authenticationFailure, .decryptionFailure, .unknownUserName,
                                                 .unsupportedSecurityLevel, .engineDiscoveryFailed, .securityReport,
                                                 .malformedResponse, .nonIncreasingOID, .sessionClosed, .timedOut] {
            #expect(SNMPBridgeError(code, "x").cwmpFault.code == .internalError, "\(code)")
        }
        #expect(SNMPBridgeError(.pduError, "x", pduErrorStatus: 10).cwmpFault.code == .invalidParameterValue)
    }

    @Test func descriptionsNeverShowSecrets() {
        let agent = SNMPAgent(host: "192.0.2.9", credentials: .v3(SNMPUSMUser(
            name: "ops", authentication: .init(.sha256, password: "auth-secret-1"),
            privacy: .init(.aes128, password: "priv-secret-2"))))
        let text = "\(agent) \(String(reflecting: agent))"
        #expect(!text.contains("auth-secret-1"))
        #expect(!text.contains("priv-secret-2"))
        let community = SNMPAgent(host: "192.0.2.9", credentials: .v2c(community: "community-secret"))
        #expect(!"\(community) \(String(reflecting: community))".contains("community-secret"))
    }
}
