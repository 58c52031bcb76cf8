// The public trap/inform receiver: one net-snmp server handle on the SNMP I/O thread, its notifications handed out
// as an AsyncStream and routed to devices by source address (SNMPTrapDispatchTable).
import CNetSNMP
import CWMPClient
import Logging
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

public final class SNMPNotificationReceiver: Sendable {
    /// What the receiver has seen since it started.
    public struct Statistics: Sendable, Hashable {
        /// Traps and informs decoded and handed on.
        public var notifications: Int
        /// Informs answered with a Response.
        public var informsAnswered: Int
        /// PDUs on the trap port that were not notifications, or not decodable ones.
        public var ignored: Int
        /// net-snmp's snmpInASNParseErrs: undecodable datagrams, process-wide (manager sessions count there too).
        public var parseErrors: Int
    }

    /// The address and port the receiver is bound to (the kernel's choice when port 0 was asked).
    public let host: String
    public let port: Int
    /// Every notification received, in arrival order. A slow consumer loses the oldest beyond `bufferLimit`.
    public let notifications: AsyncStream<SNMPNotification>
    private let continuation: AsyncStream<SNMPNotification>.Continuation
    private let listenerID: UInt64
    private let thread: SNMPIOThread

    /// How many undelivered notifications are kept (a trap storm must not grow memory without bound).
    public static let bufferLimit = 1024

    private init(host: String, port: Int, listenerID: UInt64, thread: SNMPIOThread,
                 notifications: AsyncStream<SNMPNotification>, continuation: AsyncStream<SNMPNotification>.Continuation) {
        self.host = host
        self.port = port
        self.listenerID = listenerID
        self.thread = thread
        self.notifications = notifications
        self.continuation = continuation
    }

    /// Binds a receiver to `host`:`port` (numeric address; port 0 for a free one) and installs `users` in net-snmp's
    /// USM list so that their v3 traps/informs authenticate and decrypt.
    public static func start(host: String = "0.0.0.0", port: Int = 162, users: [SNMPNotificationUser] = [])
        async throws -> SNMPNotificationReceiver {
        let (stream, continuation) = AsyncStream.makeStream(of: SNMPNotification.self,
                                                            bufferingPolicy: .bufferingNewest(bufferLimit))
        let thread = SNMPIOThread.shared
        let id = thread.makeID()
        let lines = try users.map { try createUserLine($0) }
        let boundPort: Int = try await withCheckedThrowingContinuation { result in
            thread.execute { state in
                do {
                    for line in lines {
                        var bytes = Array(line.utf8CString)
                        bytes.withUnsafeMutableBufferPointer { cns_usm_create_user_line($0.baseAddress!) }
                        for index in bytes.indices { bytes[index] = 0 }  // the line holds passwords
                    }
                    let listener = try NetSNMPNotificationListener(id: id, host: host, port: port) { notification in
                        continuation.yield(notification)
                    }
                    state.listeners[id] = listener
                    state.logger.debug("SNMP notification receiver opened",
                                       metadata: ["snmp.receiver": "\(host):\(listener.boundPort)"])
                    result.resume(returning: listener.boundPort)
                } catch {
                    result.resume(throwing: error)
                }
            }
        }
        return SNMPNotificationReceiver(host: host, port: boundPort, listenerID: id, thread: thread,
                                        notifications: stream, continuation: continuation)
    }

    public func statistics() async -> Statistics {
        let id = listenerID
        let counters = await thread.inspect { state in state.listeners[id]?.counters }
        let parseErrors = await thread.inspect { _ in Int(cns_stat_parse_errors()) }
        return Statistics(notifications: counters?.notifications ?? 0, informsAnswered: counters?.informsAnswered ?? 0,
                          ignored: counters?.ignored ?? 0, parseErrors: parseErrors)
    }

    /// Closes the socket and ends `notifications`.
    public func close() async {
        let id = listenerID
        await thread.inspect { state in state.listeners.removeValue(forKey: id)?.close() }
        continuation.finish()
    }

    /// net-snmp's `createUser [-e ENGINEID] NAME [AUTHPROTO AUTHPASS [PRIVPROTO PRIVPASS]]` line for `user`.
    static func createUserLine(_ entry: SNMPNotificationUser) throws(SNMPBridgeError) -> String {
        func quoted(_ text: String) throws(SNMPBridgeError) -> String {
            // copy_nword reads a quoted word; a quote or backslash inside would end or escape it.
            guard !text.contains("\""), !text.contains("\\"), !text.isEmpty else {
                throw SNMPBridgeError(.invalidArgument, "An SNMPv3 notification user name or password contains a quote or backslash, or is empty")
            }
            return "\"\(text)\""
        }
        var line = ""
        if let engineID = entry.engineID {
            guard !engineID.isEmpty else { throw SNMPBridgeError(.invalidArgument, "An empty SNMPv3 engine ID") }
            line += "-e 0x" + engineID.map { byte in
                let digits = String(byte, radix: 16)
                return digits.count == 1 ? "0" + digits : digits
            }.joined() + " "
        }
        line += try quoted(entry.user.name)
        if let authentication = entry.user.authentication {
            line += " \(authentication.protocol.rawValue) " + (try quoted(authentication.password.revealed))
            if let privacy = entry.user.privacy {
                line += " \(privacy.protocol.rawValue) " + (try quoted(privacy.password.revealed))
            }
        } else if entry.user.privacy != nil {
            throw SNMPBridgeError(.invalidArgument, "SNMPv3 privacy needs authentication")
        }
        return line
    }
}
