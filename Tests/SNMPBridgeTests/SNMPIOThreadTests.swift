// The hand-over between callers and the SNMP I/O thread: the inbox's wake-up protocol (a pipe byte only when the
// thread sleeps, one per sleep), the I/O thread as a task executor, and many submitters racing the thread's sleeps.
import CWMPClient
import CWMPTestSupport
import Foundation
@testable import SNMPBridge
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
