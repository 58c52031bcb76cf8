// The hand-over between callers and the SNMP I/O thread: the inbox's wake-up protocol (a pipe byte only when the
// thread sleeps, one per sleep), the I/O thread as a task executor, and many submitters racing the thread's sleeps.
import CWMPClient
import CWMPTestSupport
import Foundation
@testable import SNMPBridge
import Proxier
import Synchronization
import Testing

struct SNMPInboxTests {
    /// Non-blocking read of whatever the pipe holds: the number of wake-up bytes written since the last call.
    private func drain(_ inbox: SNMPInbox) -> Int {
        var buffer = [UInt8](repeating: 0, count: 64)
        var total = 0
        while true {
            let count = read(inbox.wakeupRead, &buffer, buffer.count)
            if count <= 0 { return total }
            total += count
        }
    }

    @Test func theWakeupPipeIsWrittenOnlyWhenTheThreadSleepsAndOncePerSleep() {
        let inbox = SNMPInbox()
        var work: [SNMPIOThread.Work] = []
        // Awake (never slept): a submission costs no write.
        inbox.append { _ in }
        #expect(drain(inbox) == 0)
        #expect(inbox.hasWork)
        // Work waiting: the thread may not sleep.
        #expect(!inbox.prepareToSleep())
        inbox.takeWork(into: &work)
        #expect(work.count == 1)
        #expect(!inbox.hasWork)
        // Asleep: the first submission writes one byte, the next ones none until the thread slept again.
        #expect(inbox.prepareToSleep())
        inbox.append { _ in }
        inbox.append { _ in }
        inbox.append { _ in }
        #expect(drain(inbox) == 1)
        work = []
        inbox.takeWork(into: &work)
        #expect(work.count == 3)
        #expect(inbox.prepareToSleep())
        inbox.append { _ in }
        #expect(drain(inbox) == 1)
        // Woken (back from poll) before anyone submitted: no write either.
        work = []
        inbox.takeWork(into: &work)
        #expect(inbox.prepareToSleep())
        inbox.wokeUp()
        inbox.append { _ in }
        #expect(drain(inbox) == 0)
    }

    @Test func idsAreUniqueAcrossThreads() async {
        let inbox = SNMPInbox()
        let ids = await withTaskGroup(of: [UInt64].self) { group in
            for _ in 0..<8 { group.addTask { (0..<1_000).map { _ in inbox.makeID() } } }
            return await group.reduce(into: []) { $0 += $1 }
        }
        #expect(Set(ids).count == 8_000)
        #expect(!ids.contains(0))
    }
}

@Suite(.enabled(if: snmpdAvailable, snmpdSkipMessage), .timeLimit(.minutes(2)))
struct SNMPIOThreadTests {
    @Test func aTaskPreferringTheIOExecutorRunsOnTheIOThread() async throws {
        let peer = try SNMPDaemonPeer()
        defer { peer.stop() }
        let manager = SNMPManager()
        defer { manager.shutdown() }
        let session = manager.session(for: peer.v2cPublic)
        let ioThread = await SNMPIOThread.shared.inspect { _ in UInt(pthread_self()) }
        let (threads, answered) = try await withTaskExecutorPreference(manager.ioExecutor) {
            var threads = Set<UInt>()
            var answered = 0
            for _ in 0..<20 {
                answered += try await session.get([MIB2.sysDescr]).count
                threads.insert(UInt(pthread_self()))
            }
            answered += try await session.walk(MIB2.system).isEmpty ? 0 : 1
            threads.insert(UInt(pthread_self()))
            return (threads, answered)
        }
        #expect(answered == 21)
        #expect(threads == [ioThread])
        // Without the preference the caller is not on the I/O thread.
        _ = try await session.get([MIB2.sysDescr])
        #expect(UInt(pthread_self()) != ioThread)
    }

    /// Many tasks submit while the I/O thread keeps going to sleep and waking (pauses between requests), some from
    /// the I/O thread itself: a lost wake-up would leave a request in the inbox forever and trip the time limit.
    @Test func racingSubmittersAreNeverLeftInTheInbox() async throws {
        let peer = try SNMPDaemonPeer()
        defer { peer.stop() }
        let manager = SNMPManager()
        defer { manager.shutdown() }
        let session = manager.session(for: peer.v2cPublic)
        let answered = try await withThrowingTaskGroup(of: Int.self) { group in
            for index in 0..<40 {
                group.addTask {
                    var answered = 0
                    for round in 0..<25 {
                        if (index + round) % 3 == 0 { try await Task.sleep(for: .microseconds(200 + 37 * index)) }
                        if index % 4 == 0 {
                            answered += try await withTaskExecutorPreference(manager.ioExecutor) {
                                try await session.get([MIB2.sysDescr]).count
                            }
                        } else {
                            answered += try await session.get([MIB2.sysDescr]).count
                        }
                    }
                    return answered
                }
            }
            return try await group.reduce(0, +)
        }
        #expect(answered == 1_000)
    }
}

/// A real session that records the thread each request is issued from and resumed on, and that may hide the
/// session's preferred executor (`hidePreference`) to show what the provider does without it.
final class ThreadRecordingClient: SNMPQuerying {
    let session: SNMPAgentSession
    let hidePreference: Bool
    private let recorded = Mutex<[UInt]>([])

    init(_ session: SNMPAgentSession, hidePreference: Bool = false) {
        self.session = session
        self.hidePreference = hidePreference
    }

    var threads: [UInt] { recorded.withLock { $0 } }
    var preferredExecutor: (any TaskExecutor)? { hidePreference ? nil : session.preferredExecutor }

    private func record<T>(_ body: () async throws -> T) async rethrows -> T {
        recorded.withLock { $0.append(UInt(pthread_self())) }
        let result = try await body()
        recorded.withLock { $0.append(UInt(pthread_self())) }
        return result
    }

    func get(_ oids: [SNMPObjectIdentifier]) async throws -> [SNMPVarBind] { try await record { try await session.get(oids) } }
    func getNext(_ oids: [SNMPObjectIdentifier]) async throws -> [SNMPVarBind] { try await record { try await session.getNext(oids) } }
    func getBulk(_ oids: [SNMPObjectIdentifier], nonRepeaters: Int, maxRepetitions: Int) async throws -> [SNMPVarBind] {
        try await record { try await session.getBulk(oids, nonRepeaters: nonRepeaters, maxRepetitions: maxRepetitions) }
    }
    func walk(_ root: SNMPObjectIdentifier) async throws -> [SNMPVarBind] { try await record { try await session.walk(root) } }
    func set(_ varBinds: [SNMPVarBind]) async throws -> [SNMPVarBind] { try await record { try await session.set(varBinds) } }
}

@Suite(.enabled(if: snmpdAvailable, snmpdSkipMessage), .timeLimit(.minutes(2)))
struct SNMPProviderExecutorTests {
    /// GetParameterValues-, GetParameterNames- and SetParameterValues-shaped calls plus a linkUp re-read: every
    /// request the provider (and the trap reaction through it) issues starts and resumes on the SNMP I/O thread.
    @Test func theProvidersRequestsRunOnTheIOThread() async throws {
        let peer = try SNMPDaemonPeer()
        defer { peer.stop() }
        let manager = SNMPManager()
        defer { manager.shutdown() }
        let ioThread = await SNMPIOThread.shared.inspect { _ in UInt(pthread_self()) }
        let client = ThreadRecordingClient(manager.session(for: peer.v2cPublic))
        let provider = SNMPProfileProvider(client: client, profiles: try SNMPBuiltinProfiles.compiled(), agentID: peer.address)

        let values = try await provider.values(of: ["Description", "HostName", "UpTime"].map { ProviderPath(template: "Device.DeviceInfo." + $0) })
        #expect(values.count == 3 && !values[0].isEmpty)
        let keys = try await provider.instances(of: [ProviderPath(template: "Device.IP.Interface.")])[0].map(\.key)
        #expect(keys.contains("ifName=lo"))
        // A SET through the write community and a profile that maps HostName to the peer's writable sysContact.0.
        let writer = ThreadRecordingClient(manager.session(for: peer.v2cPrivate))
        let setter = SNMPProfileProvider(client: writer, profiles: [try SNMPProfileCompiler().compile(json: ProviderNetSNMPClientTests.setProfile)],
                                         agentID: peer.address)
        let hostName = ProviderPath(template: "Device.DeviceInfo.HostName")
        #expect(try await setter.setValues([ProviderParameterValue(path: hostName, value: "exec-test", type: .string)]) == .applied)
        let reaction = SNMPTrapReaction(provider: provider)
        let up = SNMPNotification(sourceHost: "127.0.0.1", sourcePort: 1, version: .v2c, kind: .trap, trapOID: SNMPNotification.linkUp,
                                  varBinds: [SNMPVarBind(oid: SNMPObjectIdentifier("1.3.6.1.2.1.2.2.1.1.1")!, value: .integer(1))])
        #expect(try await !reaction.changedParameters(after: up).isEmpty)

        let threads = client.threads + writer.threads
        #expect(writer.threads.count >= 2)
        #expect(threads.count >= 10)
        #expect(Set(threads) == [ioThread])
    }

    /// The control: the same calls through a client without a preferred executor never run on the I/O thread (the
    /// cooperative pool does not include it), so the test above would see it if the provider ignored the preference.
    @Test func withoutAPreferenceTheProviderStaysOffTheIOThread() async throws {
        let peer = try SNMPDaemonPeer()
        defer { peer.stop() }
        let manager = SNMPManager()
        defer { manager.shutdown() }
        let ioThread = await SNMPIOThread.shared.inspect { _ in UInt(pthread_self()) }
        let client = ThreadRecordingClient(manager.session(for: peer.v2cPublic), hidePreference: true)
        let provider = SNMPProfileProvider(client: client, profiles: try SNMPBuiltinProfiles.compiled(), agentID: peer.address)
        _ = try await provider.values(of: ["Description", "HostName"].map { ProviderPath(template: "Device.DeviceInfo." + $0) })
        _ = try await provider.instances(of: [ProviderPath(template: "Device.IP.Interface.")])
        #expect(client.threads.count >= 4)
        #expect(!client.threads.contains(ioThread))
    }
}
