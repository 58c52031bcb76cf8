// The walk of a subtree as a pure state machine: each response either asks for the next chunk, ends the walk, or
// fails it. The I/O (GETBULK for v2c/v3, GETNEXT for v1) lives in `SNMPAgentSession.walk`.

struct SNMPWalkStateMachine {
    enum Action: Hashable {
        /// Send the next GETNEXT/GETBULK starting after this OID.
        case requestNext(after: SNMPObjectIdentifier)
        /// The subtree is complete: these are its varbinds, in order.
        case finished([SNMPVarBind])
        case failed(SNMPBridgeError)
    }

    let root: SNMPObjectIdentifier
    private(set) var varBinds: [SNMPVarBind] = []
    private var last: SNMPObjectIdentifier

    init(root: SNMPObjectIdentifier) {
        self.root = root
        last = root
    }

    /// The first request: the chunk after the root itself.
    var start: Action { .requestNext(after: root) }

    /// A response to the last request. The walk ends at the first varbind outside the subtree or at endOfMibView;
    /// an OID that does not increase is a broken agent (walking on would loop), an empty response is malformed.
    mutating func received(_ response: [SNMPVarBind]) -> Action {
        guard !response.isEmpty else {
            return .failed(SNMPBridgeError(.malformedResponse, "The agent answered a walk request with no varbinds"))
        }
        for varBind in response {
            switch varBind.value {
            case .endOfMibView, .noSuchObject, .noSuchInstance: return .finished(varBinds)
            default: break
            }
            guard root.isPrefix(of: varBind.oid), varBind.oid != root else { return .finished(varBinds) }
            guard last < varBind.oid else {
                return .failed(SNMPBridgeError(.nonIncreasingOID,
                    "The agent returned \(varBind.oid) after \(last) while walking \(root)"))
            }
            varBinds.append(varBind)
            last = varBind.oid
        }
        return .requestNext(after: last)
    }

    /// SNMPv1 agents end a GETNEXT walk with error-status noSuchName (2) instead of endOfMibView.
    mutating func receivedEndOfView() -> Action { .finished(varBinds) }
}

/// The per-session protocol state: SNMPv3 engine-ID discovery and the requests waiting for it.
///
/// v1/v2c sessions and v3 sessions whose engine is known send at once. A v3 session first sends one discovery
/// probe (an unauthenticated, empty GET that the agent answers with a usmStatsUnknownEngineIDs report carrying its
/// engine ID) and queues requests until it answers; when the probe fails, every queued request fails with it and the
/// next request probes again (the agent may come back).
struct SNMPSessionStateMachine {
    typealias RequestID = UInt64

    enum Discovery: Hashable { case notNeeded, undiscovered, discovering(probe: RequestID), discovered }

    enum Action: Hashable {
        case none
        case send([RequestID])
        /// Send the discovery probe with this ID (the request that triggered it is queued).
        case sendProbe(RequestID)
        /// The engine ID is known: install this session's USM user for it, then send these.
        case installUserAndSend([RequestID])
        case fail([RequestID], SNMPBridgeError)
    }

    private(set) var discovery: Discovery
    private(set) var waiting: [RequestID] = []

    init(needsDiscovery: Bool) { discovery = needsDiscovery ? .undiscovered : .notNeeded }

    /// A caller's request; `probeID` is the ID to use if a probe must be sent.
    mutating func requestSubmitted(_ id: RequestID, probeID: RequestID) -> Action {
        switch discovery {
        case .notNeeded, .discovered:
            return .send([id])
        case .undiscovered:
            waiting.append(id)
            discovery = .discovering(probe: probeID)
            return .sendProbe(probeID)
        case .discovering:
            waiting.append(id)
            return .none
        }
    }

    mutating func probeSucceeded(_ probe: RequestID) -> Action {
        guard case .discovering(probe) = discovery else { return .none }
        discovery = .discovered
        defer { waiting = [] }
        return .installUserAndSend(waiting)
    }

    mutating func probeFailed(_ probe: RequestID, _ error: SNMPBridgeError) -> Action {
        guard case .discovering(probe) = discovery else { return .none }
        discovery = .undiscovered
        defer { waiting = [] }
        return .fail(waiting, error)
    }

    /// A waiting caller gave up; its request is dropped from the queue (an in-flight one is net-snmp's to finish).
    mutating func requestCancelled(_ id: RequestID) -> Action {
        waiting.removeAll { $0 == id }
        return .none
    }
}
