// One net-snmp single-session handle per agent, confined to the SNMP I/O thread.
import CNetSNMP
#if canImport(Glibc)
import Glibc
#endif

/// What one request asks of the agent.
enum SNMPRequestKind: Sendable {
    case get([SNMPObjectIdentifier])
    case getNext([SNMPObjectIdentifier])
    case getBulk([SNMPObjectIdentifier], nonRepeaters: Int, maxRepetitions: Int)
    case set([SNMPVarBind])
    /// The SNMPv3 engine-ID discovery probe.
    case probe

    var name: String {
        switch self {
        case .get: "GET"
        case .getNext: "GETNEXT"
        case .getBulk: "GETBULK"
        case .set: "SET"
        case .probe: "engine-ID probe"
        }
    }

    var requestedCount: Int? {
        switch self {
        case .get(let oids), .getNext(let oids): oids.count
        case .set(let varBinds): varBinds.count
        case .getBulk, .probe: nil
        }
    }
}

/// A request and the caller waiting for it (nil for the probe, which only the session waits for).
struct SNMPPendingRequest: Sendable {
    let id: UInt64
    let kind: SNMPRequestKind
    let continuation: CheckedContinuation<[SNMPVarBind], any Error>?
}

/// How a request ended, as seen inside net-snmp's callback (the PDU is gone after the callback returns).
enum SNMPOutcome {
    case response(errorStatus: Int, errorIndex: Int, Result<[SNMPVarBind], SNMPBridgeError>, engineID: [UInt8])
    case report(code: Int32, engineID: [UInt8])
    case timedOut
    case sendFailed(code: Int32)
}

/// net-snmp's callback for every request of every session. It only records the outcome: the I/O loop acts on it
/// once `snmp_sess_read2`/`snmp_sess_timeout` has returned, so net-snmp is never re-entered from its own callback.
/// The session finds its Swift owner through `callback_magic`; the request is identified by the per-request magic
/// (its ID), not by reqid, because a report for an undecryptable message carries no usable reqid.
private let netSNMPCallback: @convention(c) (
    Int32, UnsafeMutablePointer<netsnmp_session>?, Int32, UnsafeMutablePointer<netsnmp_pdu>?, UnsafeMutableRawPointer?
) -> Int32 = { operation, session, _, pdu, magic in
    guard let owner = session?.pointee.callback_magic else { return 1 }
    let object = Unmanaged<NetSNMPSession>.fromOpaque(owner).takeUnretainedValue()
    object.record(operation: operation, requestID: UInt64(UInt(bitPattern: magic)), pdu: pdu,
                  sessionErrno: session?.pointee.s_snmp_errno ?? 0)
    return 1
}

/// Owns one `snmp_sess_open` handle (closed in deinit, which runs on the I/O thread: only the loop holds these).
final class NetSNMPSession {
    let id: UInt64
    let agent: SNMPAgent
    private(set) var handle: UnsafeMutableRawPointer?
    private(set) var socket: Int32 = -1
    var machine: SNMPSessionStateMachine
    /// Requests handed to net-snmp, by ID.
    private(set) var inFlight: [UInt64: SNMPPendingRequest] = [:]
    /// Requests waiting for engine discovery, by ID.
    var queued: [UInt64: SNMPPendingRequest] = [:]
    /// Outcomes recorded by the callback, not yet acted on.
    private var outcomes: [(SNMPPendingRequest, SNMPOutcome)] = []

    /// Requests whose callers gave up while net-snmp still had them: the session keeps being polled and swept
    /// until net-snmp answers or times them out (and frees them), so a cancellation leaks nothing in net-snmp.
    private var abandoned: Set<UInt64> = []

    var hasInFlight: Bool { !inFlight.isEmpty || !abandoned.isEmpty }

    /// Whether the next request would start engine-ID discovery (and so needs an ID for the probe).
    var needsProbeID: Bool { machine.discovery == .undiscovered }

    /// Requests in flight for callers, and abandoned ones net-snmp has not finished yet.
    var counts: (inFlight: Int, abandoned: Int, queued: Int) { (inFlight.count, abandoned.count, queued.count) }

    /// Whether net-snmp's own request list for this session is non-empty (`snmp_sess_select_info2` asks for no
    /// blocking exactly when a request is outstanding).
    var netSNMPHasOutstandingRequests: Bool {
        guard let handle else { return false }
        var fdCount: Int32 = 0
        var block: Int32 = 1
        var timeout = timeval()
        var set = netsnmp_large_fd_set()
        netsnmp_large_fd_set_init(&set, 1024)
        defer { netsnmp_large_fd_set_cleanup(&set) }
        _ = snmp_sess_select_info2_flags(handle, &fdCount, &set, &timeout, &block, Int32(NETSNMP_SELECT_NOALARMS))
        return block == 0
    }

    /// The USM list key this session's user lives under once the engine is known.
    /// (Computed once the engine is known, then cached: it is asked before every read and timeout sweep.)
    var usmKey: USMKey? {
        if let cachedUSMKey { return cachedUSMKey }
        guard case .v3(let user) = agent.credentials, let handle, let session = snmp_sess_session(handle),
              session.pointee.securityEngineIDLen > 0, let engineID = session.pointee.securityEngineID else { return nil }
        cachedUSMKey = USMKey(engineID: Array(UnsafeBufferPointer(start: engineID, count: session.pointee.securityEngineIDLen)),
                              userName: user.name)
        return cachedUSMKey
    }

    private var cachedUSMKey: USMKey?

    struct USMKey: Hashable {
        let engineID: [UInt8]
        let userName: String
    }

    /// Opens the session (no network traffic: SNMPv3 discovery is a separate, asynchronous probe).
    init(id: UInt64, agent: SNMPAgent) throws(SNMPBridgeError) {
        self.id = id
        self.agent = agent
        machine = SNMPSessionStateMachine(needsDiscovery: agent.isV3)
        // net-snmp resolves names inside snmp_sess_open with a blocking getaddrinfo, which would stall every other
        // agent on this thread: only numeric addresses are accepted here.
        var address = in6_addr()
        guard inet_pton(AF_INET, agent.host, &address) == 1 || inet_pton(AF_INET6, agent.host, &address) == 1 else {
            throw SNMPBridgeError(.invalidArgument,
                "SNMP agent host '\(agent.host)' is not a numeric IPv4/IPv6 address (resolve names before)")
        }
        guard (1...65_535).contains(agent.port) else {
            throw SNMPBridgeError(.invalidArgument, "SNMP agent port \(agent.port) is out of range")
        }
        var session = netsnmp_session()
        snmp_sess_init(&session)
        // strdup'ed strings: snmp_sess_open copies what it keeps, these are freed below.
        var owned: [UnsafeMutablePointer<CChar>] = []
        defer { owned.forEach { free($0) } }
        func duplicate(_ text: String) -> UnsafeMutablePointer<CChar> {
            let copy = strdup(text)!
            owned.append(copy)
            return copy
        }
        session.peername = duplicate(agent.peerName)
        let timeoutComponents = agent.timeout.components
        session.timeout = max(1, Int(timeoutComponents.seconds) * 1_000_000
                                 + Int(timeoutComponents.attoseconds / 1_000_000_000_000))
        session.retries = Int32(clamping: max(0, agent.retries))
        session.callback = netSNMPCallback
        // The owner, for the callback. Unretained: the handle is closed in deinit, before the object goes away.
        session.callback_magic = UnsafeMutableRawPointer(Unmanaged<NetSNMPSession>.passUnretained(self).toOpaque())
        // Keys derived from passwords (the password itself never reaches net-snmp's session or logs).
        var authKey = [u_char](repeating: 0, count: Int(USM_AUTH_KU_LEN))
        var privKey = [u_char](repeating: 0, count: Int(USM_PRIV_KU_LEN))
        var authProtocol: UnsafeMutablePointer<oid>?
        var privProtocol: UnsafeMutablePointer<oid>?
        switch agent.credentials {
        case .v1(let community), .v2c(let community):
            if case .v1 = agent.credentials { session.version = Int(SNMP_VERSION_1) } else { session.version = Int(SNMP_VERSION_2c) }
            let bytes = Array(community.revealed.utf8)
            let copy = duplicate(community.revealed)
            session.community = UnsafeMutableRawPointer(copy).assumingMemoryBound(to: u_char.self)
            session.community_len = bytes.count
        case .v3(let user):
            session.version = Int(SNMP_VERSION_3)
            // Discovery is our own asynchronous probe: net-snmp's built-in one blocks in snmp_sess_open.
            session.flags |= u_long(SNMP_FLAGS_DONT_PROBE)
            session.securityModel = Int32(SNMP_SEC_MODEL_USM)
            session.securityName = duplicate(user.name)
            session.securityNameLen = user.name.utf8.count
            if !user.contextName.isEmpty {
                session.contextName = duplicate(user.contextName)
                session.contextNameLen = user.contextName.utf8.count
            }
            switch user.securityLevel {
            case .noAuthNoPriv: session.securityLevel = Int32(SNMP_SEC_LEVEL_NOAUTH)
            case .authNoPriv: session.securityLevel = Int32(SNMP_SEC_LEVEL_AUTHNOPRIV)
            case .authPriv: session.securityLevel = Int32(SNMP_SEC_LEVEL_AUTHPRIV)
            }
            if let authentication = user.authentication {
                var length = 0
                guard let protocolOID = sc_get_auth_oid(usm_lookup_auth_type(authentication.protocol.rawValue), &length)
                else {
                    throw SNMPBridgeError(.invalidArgument,
                        "This net-snmp build has no \(authentication.protocol.rawValue) authentication")
                }
                authProtocol = snmp_duplicate_objid(protocolOID, length)
                session.securityAuthProto = authProtocol
                session.securityAuthProtoLen = length
                var keyLength = authKey.count
                let password = Array(authentication.password.revealed.utf8)
                let status = password.withUnsafeBufferPointer { passwordBytes in
                    generate_Ku(protocolOID, UInt32(length), passwordBytes.baseAddress, passwordBytes.count,
                                &authKey, &keyLength)
                }
                guard status == SNMPERR_SUCCESS else {
                    throw SNMPBridgeError(.invalidArgument, "Cannot derive the authentication key: "
                        + NetSNMPConversions.apiErrorText(status), netSNMPErrorCode: Int(status))
                }
                withUnsafeMutableBytes(of: &session.securityAuthKey) { buffer in
                    authKey.withUnsafeBytes { key in buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: key[0..<keyLength])) }
                }
                session.securityAuthKeyLen = keyLength
                if let privacy = user.privacy {
                    var privLength = 0
                    guard let privOID = sc_get_priv_oid(usm_lookup_priv_type(privacy.protocol.rawValue), &privLength)
                    else {
                        throw SNMPBridgeError(.invalidArgument,
                            "This net-snmp build has no \(privacy.protocol.rawValue) privacy")
                    }
                    privProtocol = snmp_duplicate_objid(privOID, privLength)
                    session.securityPrivProto = privProtocol
                    session.securityPrivProtoLen = privLength
                    var privKeyLength = privKey.count
                    let privPassword = Array(privacy.password.revealed.utf8)
                    // RFC 3414: the privacy key is derived with the authentication protocol's hash.
                    let privStatus = privPassword.withUnsafeBufferPointer { passwordBytes in
                        generate_Ku(protocolOID, UInt32(length), passwordBytes.baseAddress, passwordBytes.count,
                                    &privKey, &privKeyLength)
                    }
                    guard privStatus == SNMPERR_SUCCESS else {
                        throw SNMPBridgeError(.invalidArgument, "Cannot derive the privacy key: "
                            + NetSNMPConversions.apiErrorText(privStatus), netSNMPErrorCode: Int(privStatus))
                    }
                    withUnsafeMutableBytes(of: &session.securityPrivKey) { buffer in
                        privKey.withUnsafeBytes { key in
                            buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: key[0..<privKeyLength]))
                        }
                    }
                    session.securityPrivKeyLen = privKeyLength
                }
            } else if user.privacy != nil {
                throw SNMPBridgeError(.invalidArgument, "SNMPv3 privacy needs authentication")
            }
        }
        defer {
            // snmp_sess_open copied the protocol OIDs.
            if let authProtocol { free(authProtocol) }
            if let privProtocol { free(privProtocol) }
            // Wipe the key copies on the stack-owned arrays.
            for index in authKey.indices { authKey[index] = 0 }
            for index in privKey.indices { privKey[index] = 0 }
        }
        guard let opened = snmp_sess_open(&session) else {
            let code = session.s_snmp_errno != 0 ? session.s_snmp_errno : cns_snmp_errno()
            throw SNMPBridgeError(.netSNMPError, "Cannot open an SNMP session to \(agent): "
                + NetSNMPConversions.apiErrorText(code), netSNMPErrorCode: Int(code))
        }
        handle = opened
        socket = cns_sess_socket(opened)
        // snmp_sess_open clears SNMP_FLAGS_DONT_PROBE once open; without it again, the first send would run
        // net-snmp's own blocking discovery (snmp_sess_async_send -> snmpv3_engineID_probe) on the I/O thread.
        if agent.isV3, let openedSession = snmp_sess_session(opened) {
            openedSession.pointee.flags |= u_long(SNMP_FLAGS_DONT_PROBE)
        }
    }

    deinit { close() }

    /// Closes the handle. Requests still in net-snmp's list get a TIMED_OUT callback from `snmp_sess_close`; their
    /// callers were failed before (`failAll`), so those callbacks find nothing.
    func close() {
        guard let handle else { return }
        inFlight = [:]
        abandoned = []
        self.handle = nil
        snmp_sess_close(handle)
    }

    /// Builds and hands one request to net-snmp. Throws when net-snmp refuses it (the request is then not in flight).
    func send(_ request: SNMPPendingRequest) throws(SNMPBridgeError) {
        guard let handle else { throw SNMPBridgeError(.sessionClosed, "The SNMP session to \(agent) is closed") }
        let command: Int32 = switch request.kind {
        case .get, .probe: Int32(CNS_MSG_GET)
        case .getNext: Int32(CNS_MSG_GETNEXT)
        case .getBulk: Int32(CNS_MSG_GETBULK)
        case .set: Int32(CNS_MSG_SET)
        }
        guard let pdu = snmp_pdu_create(command) else {
            throw SNMPBridgeError(.netSNMPError, "net-snmp could not allocate a PDU")
        }
        switch request.kind {
        case .get(let oids), .getNext(let oids):
            for oid in oids {
                var name = oid.netSNMPOID
                snmp_add_null_var(pdu, &name, name.count)
            }
        case .getBulk(let oids, let nonRepeaters, let maxRepetitions):
            // non_repeaters / max_repetitions are macros over errstat / errindex that Swift cannot import.
            pdu.pointee.errstat = max(0, nonRepeaters)
            pdu.pointee.errindex = max(0, maxRepetitions)
            for oid in oids {
                var name = oid.netSNMPOID
                snmp_add_null_var(pdu, &name, name.count)
            }
        case .set(let varBinds):
            for varBind in varBinds where !NetSNMPConversions.add(varBind, to: pdu) {
                snmp_free_pdu(pdu)
                throw SNMPBridgeError(.invalidArgument, "Cannot SET \(varBind.oid) to an exception value")
            }
        case .probe:
            // RFC 3414 §4: an unauthenticated request with an empty user name; the agent answers with a
            // usmStatsUnknownEngineIDs report carrying its engine ID. A non-NULL empty name keeps net-snmp from
            // filling in the session's user.
            pdu.pointee.version = Int(SNMP_VERSION_3)
            pdu.pointee.securityModel = Int32(SNMP_SEC_MODEL_USM)
            pdu.pointee.securityLevel = Int32(SNMP_SEC_LEVEL_NOAUTH)
            pdu.pointee.securityName = strdup("")
            pdu.pointee.securityNameLen = 0
        }
        let magic = UnsafeMutableRawPointer(bitPattern: UInt(request.id))
        guard snmp_sess_async_send(handle, pdu, netSNMPCallback, magic) != 0 else {
            let session = snmp_sess_session(handle)
            let code = session?.pointee.s_snmp_errno ?? cns_snmp_errno()
            snmp_free_pdu(pdu)
            throw SNMPBridgeError(.netSNMPError, "Cannot send the \(request.kind.name) to \(agent): "
                + NetSNMPConversions.apiErrorText(code), netSNMPErrorCode: Int(code))
        }
        inFlight[request.id] = request
    }

    /// Called from net-snmp's callback (on the I/O thread, inside read/timeout/close).
    fileprivate func record(operation: Int32, requestID: UInt64, pdu: UnsafeMutablePointer<netsnmp_pdu>?,
                            sessionErrno: Int32) {
        guard let request = inFlight[requestID] else {
            // Cancelled (net-snmp is done with it now, whatever the operation), closed, or a report's second call.
            if operation != NETSNMP_CALLBACK_OP_RESEND { abandoned.remove(requestID) }
            return
        }
        let outcome: SNMPOutcome
        let engineID: [UInt8] = if let pdu, pdu.pointee.securityEngineIDLen > 0, let bytes = pdu.pointee.securityEngineID {
            Array(UnsafeBufferPointer(start: bytes, count: pdu.pointee.securityEngineIDLen))
        } else {
            []
        }
        switch operation {
        case NETSNMP_CALLBACK_OP_RECEIVED_MESSAGE:
            guard let pdu else { return }
            if pdu.pointee.command == CNS_MSG_REPORT {
                let code = snmpv3_get_report_type(pdu)
                // net-snmp resynchronises the engine time and resends by itself (bounded by the retries); the
                // SEC_ERROR callback follows if that is exhausted.
                if code == SNMPERR_NOT_IN_TIME_WINDOW { return }
                outcome = .report(code: code, engineID: engineID)
            } else {
                outcome = .response(errorStatus: pdu.pointee.errstat, errorIndex: pdu.pointee.errindex,
                                    NetSNMPConversions.varBinds(of: pdu), engineID: engineID)
            }
        case NETSNMP_CALLBACK_OP_SEC_ERROR:
            outcome = .report(code: pdu.map { snmpv3_get_report_type($0) } ?? sessionErrno, engineID: engineID)
        case NETSNMP_CALLBACK_OP_TIMED_OUT:
            outcome = .timedOut
        case NETSNMP_CALLBACK_OP_SEND_FAILED, NETSNMP_CALLBACK_OP_DISCONNECT:
            outcome = .sendFailed(code: sessionErrno != 0 ? sessionErrno : Int32(SNMPERR_GENERR))
        default:
            return  // CONNECT, RESEND: progress, not an outcome
        }
        inFlight[requestID] = nil
        outcomes.append((request, outcome))
    }

    /// The outcomes recorded since the last call.
    func takeOutcomes() -> [(SNMPPendingRequest, SNMPOutcome)] {
        defer { outcomes = [] }
        return outcomes
    }

    /// Forgets a request whose caller gave up; net-snmp still owns (and will free) its copy.
    func forget(_ id: UInt64) -> SNMPPendingRequest? {
        if let request = inFlight.removeValue(forKey: id) {
            abandoned.insert(id)
            return request
        }
        return queued.removeValue(forKey: id)
    }

    /// Every waiting request, in flight or queued (for closing).
    func takeAll() -> [SNMPPendingRequest] {
        defer {
            inFlight = [:]
            queued = [:]
            abandoned = []
        }
        return Array(inFlight.values) + Array(queued.values)
    }

    /// After discovery: makes sure net-snmp's session carries the engine ID (net-snmp sets it itself from a
    /// report, not from a response).
    func adoptEngineID(_ engineID: [UInt8]) {
        guard let handle, let session = snmp_sess_session(handle), !engineID.isEmpty,
              session.pointee.securityEngineIDLen == 0 else { return }
        let copy = malloc(engineID.count)!.assumingMemoryBound(to: u_char.self)
        engineID.withUnsafeBufferPointer { copy.update(from: $0.baseAddress!, count: engineID.count) }
        session.pointee.securityEngineID = copy
        session.pointee.securityEngineIDLen = engineID.count
        if session.pointee.contextEngineIDLen == 0 {
            let context = malloc(engineID.count)!.assumingMemoryBound(to: u_char.self)
            context.update(from: copy, count: engineID.count)
            session.pointee.contextEngineID = context
            session.pointee.contextEngineIDLen = engineID.count
        }
    }
}
