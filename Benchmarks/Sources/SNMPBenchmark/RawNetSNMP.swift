// The baseline: net-snmp's own library, driven directly from this thread with no Swift hop in between. Its loops
// are what a C program would write: `snmp_sess_synch_response` on one session for sequential latency and walks, and
// `snmp_sess_async_send` + poll + `snmp_sess_read2` + `snmp_sess_timeout` for many sessions in flight (the same
// calls the bridge's I/O thread makes, minus the hand-over to and from Swift tasks).
//
// net-snmp is not thread-safe (Debian builds it without NETSNMP_REENTRANT). These loops run on the main thread
// only while the bridge's I/O thread is idle (no request of the bridge in flight, its sessions left open), and only
// after the bridge's first request ran `init_snmp` there; the two never touch net-snmp at the same time.
import CNetSNMP
#if canImport(Glibc)
import Glibc
#endif

/// One raw net-snmp session (v2c), closed in deinit.
final class RawSession {
    private(set) var handle: UnsafeMutableRawPointer?
    let socket: Int32

    /// `callback`/`magic` are the session's default callback, used by `snmp_sess_async_send(..., nil, nil)`.
    init?(host: String, port: Int, community: String, timeout: Duration, retries: Int,
          callback: netsnmp_callback? = nil, magic: UnsafeMutableRawPointer? = nil) {
        var session = netsnmp_session()
        snmp_sess_init(&session)
        let peer = strdup("udp:\(host):\(port)")!
        let communityCopy = strdup(community)!
        defer {
            free(peer)
            free(communityCopy)
        }
        session.peername = peer
        session.version = Int(SNMP_VERSION_2c)
        session.community = UnsafeMutableRawPointer(communityCopy).assumingMemoryBound(to: u_char.self)
        session.community_len = strlen(communityCopy)
        let parts = timeout.components
        session.timeout = Int(parts.seconds) * 1_000_000 + Int(parts.attoseconds / 1_000_000_000_000)
        session.retries = Int32(retries)
        session.callback = callback
        session.callback_magic = magic
        guard let opened = snmp_sess_open(&session) else { return nil }
        handle = opened
        socket = cns_sess_socket(opened)
    }

    deinit { if let handle { snmp_sess_close(handle) } }

    /// `count` sequential GETs of `name`, each awaited with `snmp_sess_synch_response`. Returns how many were
    /// answered without error.
    func sequentialGETs(_ name: [oid], count: Int) -> Int {
        guard let handle else { return 0 }
        var answered = 0
        var name = name
        for _ in 0..<count {
            guard let pdu = snmp_pdu_create(CNS_MSG_GET) else { continue }
            snmp_add_null_var(pdu, &name, name.count)
            var response: UnsafeMutablePointer<netsnmp_pdu>?
            if snmp_sess_synch_response(handle, pdu, &response) == STAT_SUCCESS, let response,
               response.pointee.errstat == 0, response.pointee.variables != nil {
                answered += 1
            }
            if let response { snmp_free_pdu(response) }
        }
        return answered
    }

    /// A GETBULK walk of `root` with `snmp_sess_synch_response`: the rows under `root`, or nil on any failure
    /// (timeout, error-status, a non-increasing OID).
    func bulkWalk(_ root: [oid], maxRepetitions: Int) -> Int? {
        guard let handle else { return nil }
        var cursor = WalkCursor(root: root)
        while true {
            guard let pdu = snmp_pdu_create(CNS_MSG_GETBULK) else { return nil }
            pdu.pointee.errstat = 0                  // non-repeaters
            pdu.pointee.errindex = maxRepetitions    // max-repetitions
            cursor.addRequestVariable(to: pdu)
            var response: UnsafeMutablePointer<netsnmp_pdu>?
            let status = snmp_sess_synch_response(handle, pdu, &response)
            defer { if let response { snmp_free_pdu(response) } }
            guard status == STAT_SUCCESS, let response, response.pointee.errstat == 0 else { return nil }
            switch cursor.consume(response) {
            case .more: continue
            case .done: return cursor.rows
            case .failed: return nil
            }
        }
    }
}

/// Where a walk is: the last OID received (fixed storage, no allocation per response) and the rows so far.
struct WalkCursor {
    let root: [oid]
    var last: [oid]
    var rows = 0

    enum Step { case more, done, failed }

    init(root: [oid]) {
        self.root = root
        last = root
    }

    mutating func addRequestVariable(to pdu: UnsafeMutablePointer<netsnmp_pdu>) {
        snmp_add_null_var(pdu, &last, last.count)
    }

    /// Counts the response's rows under the root; `.done` past the subtree or at endOfMibView.
    mutating func consume(_ pdu: UnsafeMutablePointer<netsnmp_pdu>) -> Step {
        var variable = pdu.pointee.variables
        if variable == nil { return .done }
        while let current = variable {
            let name = current.pointee.name!
            let length = current.pointee.name_length
            if current.pointee.type == CNS_ENDOFMIBVIEW { return .done }
            if netsnmp_oid_is_subtree(root, root.count, name, length) != 0 { return .done }
            if snmp_oid_compare(name, length, last, last.count) <= 0 { return .failed }
            last = Array(UnsafeBufferPointer(start: name, count: length))
            rows += 1
            variable = current.pointee.next_variable
        }
        return .more
    }
}

/// Many raw sessions with one request each in flight at a time, driven by one poll loop on this thread: either
/// `gets` GETs of `name` per session, or one GETBULK walk of `root` per session.
final class RawFleet {
    enum Work {
        case gets(name: [oid], count: Int)
        case walk(root: [oid], maxRepetitions: Int)
    }

    final class Member {
        var session: RawSession?
        var remaining = 0
        var cursor: WalkCursor?
        var answered = 0
        var failed = false
        var finished = false
        var inFlight = false
        var needsSend = false
    }

    let work: Work
    private(set) var members: [Member] = []

    /// Opens one session per (host, port). Sessions that cannot open count as failed.
    init(agents: [(host: String, port: Int)], community: String, timeout: Duration, retries: Int, work: Work) {
        self.work = work
        for agent in agents {
            let member = Member()
            let magic = Unmanaged.passUnretained(member).toOpaque()
            member.session = RawSession(host: agent.host, port: agent.port, community: community, timeout: timeout,
                                        retries: retries, callback: rawFleetCallback, magic: magic)
            if member.session == nil { member.failed = true; member.finished = true }
            switch work {
            case .gets(_, let count): member.remaining = count
            case .walk(let root, _): member.cursor = WalkCursor(root: root)
            }
            member.needsSend = !member.finished
            members.append(member)
        }
    }

    /// Runs every member to its end. Returns (answered GETs or walked rows, failed members).
    func run() -> (answered: Int, failures: Int) {
        runningFleet = self
        defer { runningFleet = nil }
        var readSet = netsnmp_large_fd_set()
        netsnmp_large_fd_set_init(&readSet, 1024)
        defer { netsnmp_large_fd_set_cleanup(&readSet) }
        var lastSweep = ContinuousClock.now
        var pollFDs: [pollfd] = []
        var polled: [Member] = []
        while true {
            for member in members where member.needsSend { send(member) }
            pollFDs.removeAll(keepingCapacity: true)
            polled.removeAll(keepingCapacity: true)
            for member in members where member.inFlight {
                pollFDs.append(pollfd(fd: member.session!.socket, events: Int16(POLLIN), revents: 0))
                polled.append(member)
            }
            if polled.isEmpty { break }
            if poll(&pollFDs, nfds_t(pollFDs.count), 10) > 0 {
                for (index, member) in polled.enumerated() where pollFDs[index].revents != 0 {
                    guard let handle = member.session?.handle else { continue }
                    netsnmp_large_fd_setfd(member.session!.socket, &readSet)
                    _ = snmp_sess_read2(handle, &readSet)
                    netsnmp_large_fd_clr(member.session!.socket, &readSet)
                }
            }
            let now = ContinuousClock.now
            if now - lastSweep >= .milliseconds(10) {
                lastSweep = now
                for member in polled where member.inFlight {
                    if let handle = member.session?.handle { snmp_sess_timeout(handle) }
                }
            }
        }
        return (members.reduce(0) { $0 + $1.answered }, members.reduce(0) { $0 + ($1.failed ? 1 : 0) })
    }

    private func send(_ member: Member) {
        member.needsSend = false
        guard let handle = member.session?.handle else { return }
        let pdu: UnsafeMutablePointer<netsnmp_pdu>?
        switch work {
        case .gets(var name, _):
            pdu = snmp_pdu_create(CNS_MSG_GET)
            if let pdu { snmp_add_null_var(pdu, &name, name.count) }
        case .walk(_, let maxRepetitions):
            pdu = snmp_pdu_create(CNS_MSG_GETBULK)
            if let pdu {
                pdu.pointee.errstat = 0
                pdu.pointee.errindex = maxRepetitions
                member.cursor!.addRequestVariable(to: pdu)
            }
        }
        guard let pdu else { member.failed = true; member.finished = true; return }
        if snmp_sess_async_send(handle, pdu, nil, nil) == 0 {
            snmp_free_pdu(pdu)
            member.failed = true
            member.finished = true
            return
        }
        member.inFlight = true
    }

    /// From the callback: what the answer means for the member.
    fileprivate func handle(_ member: Member, operation: Int32, pdu: UnsafeMutablePointer<netsnmp_pdu>?) {
        member.inFlight = false
        guard operation == NETSNMP_CALLBACK_OP_RECEIVED_MESSAGE, let pdu, pdu.pointee.errstat == 0 else {
            member.failed = true
            member.finished = true
            return
        }
        switch work {
        case .gets:
            member.answered += 1
            member.remaining -= 1
            if member.remaining > 0 { member.needsSend = true } else { member.finished = true }
        case .walk:
            switch member.cursor!.consume(pdu) {
            case .more:
                member.needsSend = true
            case .done:
                member.answered = member.cursor!.rows
                member.finished = true
            case .failed:
                member.failed = true
                member.finished = true
            }
        }
    }
}

/// The fleet whose callbacks are running (one fleet runs at a time, on the main thread).
nonisolated(unsafe) var runningFleet: RawFleet?

private let rawFleetCallback: @convention(c) (
    Int32, UnsafeMutablePointer<netsnmp_session>?, Int32, UnsafeMutablePointer<netsnmp_pdu>?, UnsafeMutableRawPointer?
) -> Int32 = { operation, session, _, pdu, _ in
    guard operation == NETSNMP_CALLBACK_OP_RECEIVED_MESSAGE || operation == NETSNMP_CALLBACK_OP_TIMED_OUT
            || operation == NETSNMP_CALLBACK_OP_SEND_FAILED,
          let magic = session?.pointee.callback_magic, let fleet = runningFleet else { return 1 }
    let member = Unmanaged<RawFleet.Member>.fromOpaque(magic).takeUnretainedValue()
    fleet.handle(member, operation: operation, pdu: pdu)
    return 1
}
