// The trap/inform receiver's net-snmp handle: a server transport and a single-session handle over it, confined to
// the SNMP I/O thread like every other net-snmp handle of the process (SNMPIOThread polls its socket).
import CNetSNMP
import CWMPClient
#if canImport(Glibc)
import Glibc
#endif

/// net-snmp's callback for every unsolicited PDU of a receiver. Runs on the I/O thread inside `snmp_sess_read2`;
/// the PDU is freed when it returns, so it is decoded here.
private let notificationCallback: @convention(c) (
    Int32, UnsafeMutablePointer<netsnmp_session>?, Int32, UnsafeMutablePointer<netsnmp_pdu>?, UnsafeMutableRawPointer?
) -> Int32 = { operation, session, _, pdu, _ in
    guard operation == NETSNMP_CALLBACK_OP_RECEIVED_MESSAGE, let pdu,
          let owner = session?.pointee.callback_magic else { return 1 }
    Unmanaged<NetSNMPNotificationListener>.fromOpaque(owner).takeUnretainedValue().received(pdu)
    return 1
}

/// Owns one receiver handle (closed in `close`/deinit, on the I/O thread).
final class NetSNMPNotificationListener {
    struct Counters: Sendable, Hashable {
        var notifications = 0
        var informsAnswered = 0
        /// PDUs that were not notifications (a GET sent to the trap port) or whose varbinds net-snmp could not type.
        var ignored = 0
    }

    let id: UInt64
    private(set) var handle: UnsafeMutableRawPointer?
    private(set) var socket: Int32 = -1
    /// The bound address and port (port 0 asks the kernel for a free one).
    private(set) var boundPort = 0
    private(set) var counters = Counters()
    private let deliver: @Sendable (SNMPNotification) -> Void

    init(id: UInt64, host: String, port: Int, deliver: @escaping @Sendable (SNMPNotification) -> Void) throws(SNMPBridgeError) {
        self.id = id
        self.deliver = deliver
        var address = in6_addr()
        let isV6 = inet_pton(AF_INET6, host, &address) == 1
        guard isV6 || inet_pton(AF_INET, host, &address) == 1 else {
            throw SNMPBridgeError(.invalidArgument, "The trap receiver address '\(host)' is not a numeric IPv4/IPv6 address")
        }
        guard (0...65_535).contains(port) else {
            throw SNMPBridgeError(.invalidArgument, "The trap receiver port \(port) is out of range")
        }
        let endpoint = isV6 ? "udp6:[\(host)]:\(port)" : "udp:\(host):\(port)"
        var fd: Int32 = -1
        let magic = UnsafeMutableRawPointer(Unmanaged.passUnretained(self).toOpaque())
        guard let opened = cns_notification_session_open(endpoint, notificationCallback, magic, &fd) else {
            throw SNMPBridgeError(.netSNMPError, "Cannot open the SNMP trap receiver on \(endpoint): "
                + NetSNMPConversions.apiErrorText(cns_snmp_errno()), netSNMPErrorCode: Int(cns_snmp_errno()))
        }
        handle = opened
        socket = fd
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let named = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        if named == 0 {
            boundPort = withUnsafePointer(to: &storage) { pointer in
                pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin_port)) }
            }
        }
    }

    deinit { close() }

    func close() {
        guard let handle else { return }
        self.handle = nil
        socket = -1
        snmp_sess_close(handle)
    }

    /// Reads what is waiting on the socket; net-snmp parses (and, for v3, authenticates and decrypts) it and calls
    /// back for each PDU. Unparseable datagrams are dropped by net-snmp (counted in snmpInASNParseErrs).
    func read(_ set: inout netsnmp_large_fd_set) {
        guard let handle, socket >= 0 else { return }
        netsnmp_large_fd_setfd(socket, &set)
        _ = snmp_sess_read2(handle, &set)
        netsnmp_large_fd_clr(socket, &set)
    }

    fileprivate func received(_ pdu: UnsafeMutablePointer<netsnmp_pdu>) {
        let command = pdu.pointee.command
        guard command == CNS_MSG_TRAP || command == CNS_MSG_TRAP2 || command == CNS_MSG_INFORM,
              let notification = Self.decode(pdu) else {
            counters.ignored += 1
            return
        }
        if command == CNS_MSG_INFORM, let handle {
            // Answer before handing on: the sender's retransmission timer is running.
            if cns_send_inform_response(handle, pdu) == 1 { counters.informsAnswered += 1 }
        }
        counters.notifications += 1
        deliver(notification)
    }

    static func decode(_ pdu: UnsafeMutablePointer<netsnmp_pdu>) -> SNMPNotification? {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        let port = cns_pdu_source(pdu, &buffer, socklen_t(buffer.count))
        guard port >= 0 else { return nil }
        let host = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard case .success(var varBinds) = NetSNMPConversions.varBinds(of: pdu) else { return nil }
        let version: SNMPNotification.Version
        switch pdu.pointee.version {
        case Int(SNMP_VERSION_1): version = .v1
        case Int(SNMP_VERSION_2c): version = .v2c
        case Int(SNMP_VERSION_3): version = .v3
        default: return nil
        }
        var community: Secret?
        var userName: String?
        if version == .v3 {
            if let name = pdu.pointee.securityName {
                userName = String(decoding: UnsafeRawBufferPointer(start: name, count: pdu.pointee.securityNameLen), as: UTF8.self)
            }
        } else if let bytes = pdu.pointee.community {
            community = Secret(String(decoding: UnsafeBufferPointer(start: bytes, count: pdu.pointee.community_len), as: UTF8.self))
        }
        let trapOID: SNMPObjectIdentifier
        var upTime: UInt32?
        if pdu.pointee.command == CNS_MSG_TRAP {
            let enterprise = pdu.pointee.enterprise.map {
                SNMPObjectIdentifier(netSNMP: $0, length: pdu.pointee.enterprise_length)
            } ?? SNMPObjectIdentifier([0, 0])
            trapOID = SNMPNotification.v1TrapOID(enterprise: enterprise, genericTrap: Int(pdu.pointee.trap_type),
                                                 specificTrap: Int(pdu.pointee.specific_type))
            upTime = UInt32(truncatingIfNeeded: pdu.pointee.time)
        } else {
            // RFC 3416 §4.2.6/4.2.7: sysUpTime.0 then snmpTrapOID.0 lead the list; a PDU without them is malformed.
            guard varBinds.count >= 2, varBinds[0].oid == SNMPNotification.sysUpTime,
                  varBinds[1].oid == SNMPNotification.snmpTrapOID,
                  case .objectIdentifier(let oid) = varBinds[1].value else { return nil }
            if case .timeTicks(let ticks) = varBinds[0].value { upTime = ticks }
            trapOID = oid
            varBinds.removeFirst(2)
        }
        return SNMPNotification(sourceHost: host, sourcePort: Int(port), version: version,
                                kind: pdu.pointee.command == CNS_MSG_INFORM ? .inform : .trap,
                                community: community, userName: userName, trapOID: trapOID, upTime: upTime,
                                varBinds: varBinds)
    }
}
