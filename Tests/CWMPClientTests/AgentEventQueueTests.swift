import FoundationEssentials
import Testing
@testable import CWMPClient

private func event(_ code: String, _ commandKey: String = "") -> EventStruct {
    EventStruct(eventCode: code, commandKey: commandKey)
}

private let acknowledged = SessionOutcome(informAcknowledged: true)
private let notAcknowledged = SessionOutcome(failure: .timedOut)
private let transfer = TransferComplete(commandKey: "dl1", fault: .none, startTime: .unknown, completeTime: .unknown)

@Suite struct AgentEventQueueTests {
    // MARK: Single and multiple events

    @Test func singleEventsAreMergedAndMultipleOnesKeptPerCommandKey() {
        var queue = EventQueue()
        #expect(queue.add(event("4 VALUE CHANGE")) == true)
        #expect(queue.add(event("4 VALUE CHANGE")) == false)
        #expect(queue.add(event("M Download", "a")) == true)
        #expect(queue.add(event("M Download", "b")) == true)
        #expect(queue.add(event("M Download", "a")) == false)
        #expect(queue.events == [event("4 VALUE CHANGE"), event("M Download", "a"), event("M Download", "b")])
    }

    @Test func singleEventsCarryNoCommandKey() {
        var queue = EventQueue()
        queue.add(event("2 PERIODIC", "junk"))
        #expect(queue.events == [event("2 PERIODIC")])
    }

    @Test func sequenceNumbersGrowAndIdentifyRecords() {
        var queue = EventQueue()
        queue.add(event("2 PERIODIC"))
        queue.add(event("6 CONNECTION REQUEST"))
        #expect(queue.records.map(\.sequence) == [1, 2])
        #expect(queue.nextSequence == 3)
    }

    // MARK: Acknowledgement

    @Test func eventsAreAcknowledgedOnlyByTheInformResponse() {
        var queue = EventQueue()
        queue.add(event("1 BOOT"))
        queue.add(event("2 PERIODIC"))
        #expect(queue.beginInform() == [event("1 BOOT"), event("2 PERIODIC")])
        queue.sessionEnded(acknowledged)
        #expect(queue.isEmpty)
    }

    @Test func aFailedSessionKeepsEverythingButTheConnectionRequest() {
        var queue = EventQueue()
        for code in ["1 BOOT", "2 PERIODIC", "4 VALUE CHANGE", "6 CONNECTION REQUEST", "8 DIAGNOSTICS COMPLETE"] {
            queue.add(event(code))
        }
        queue.add(event("M Reboot", "r"))
        _ = queue.beginInform()
        queue.sessionEnded(notAcknowledged)
        #expect(queue.events == [event("1 BOOT"), event("2 PERIODIC"), event("4 VALUE CHANGE"), event("8 DIAGNOSTICS COMPLETE"), event("M Reboot", "r")])
        #expect(!queue.isInformInFlight)
    }

    @Test func anEventRaisedAgainDuringTheSessionSurvivesTheAcknowledgement() {
        var queue = EventQueue()
        queue.add(event("4 VALUE CHANGE"))
        _ = queue.beginInform()
        #expect(queue.add(event("4 VALUE CHANGE")) == true)
        queue.sessionEnded(acknowledged)
        #expect(queue.events == [event("4 VALUE CHANGE")])
    }

    @Test func anEventRaisedAgainDuringAFailedSessionIsMergedOnce() {
        var queue = EventQueue()
        queue.add(event("4 VALUE CHANGE"))
        _ = queue.beginInform()
        queue.add(event("4 VALUE CHANGE"))
        queue.sessionEnded(notAcknowledged)
        #expect(queue.records == [EventQueue.Record(sequence: 1, eventCode: "4 VALUE CHANGE", commandKey: "")])
    }

    @Test func aConnectionRequestDuringTheSessionWaitsForTheNextOne() {
        var queue = EventQueue()
        queue.add(event("6 CONNECTION REQUEST"))
        _ = queue.beginInform()
        queue.add(event("6 CONNECTION REQUEST"))
        queue.sessionEnded(notAcknowledged)
        #expect(queue.events == [event("6 CONNECTION REQUEST")])
    }

    @Test func completionEventsWaitForTheirRequestToBeDelivered() {
        var queue = EventQueue()
        queue.add(event("7 TRANSFER COMPLETE"))
        queue.add(event("M Download", "dl1"))
        queue.add(event("M Download", "other"))
        queue.add(event("2 PERIODIC"))
        _ = queue.beginInform()
        queue.sessionEnded(SessionOutcome(failure: .timedOut, informAcknowledged: true, undeliveredRequests: [.transferComplete(transfer)]))
        #expect(queue.events == [event("7 TRANSFER COMPLETE"), event("M Download", "dl1")])
        _ = queue.beginInform()
        queue.sessionEnded(SessionOutcome(informAcknowledged: true, deliveredRequests: [.transferComplete(transfer)]))
        #expect(queue.isEmpty)
    }

    // MARK: 64-event cap

    @Test func atMost64EventsPerInformAndTheRestNextTime() {
        var queue = EventQueue()
        for index in 0..<70 { queue.add(event("M Download", "ck\(index)")) }
        queue.add(event("1 BOOT"))
        let first = queue.beginInform()
        #expect(first.count == 64)
        #expect(first.first == event("1 BOOT"))
        queue.sessionEnded(acknowledged)
        #expect(queue.beginInform() == (63..<70).map { event("M Download", "ck\($0)") })
    }

    // MARK: Reboot, BOOTSTRAP, factory reset

    @Test func aRebootDiscardsValueChangeAndDiagnosticsAndRaisesBootAgain() {
        var queue = EventQueue()
        for code in ["1 BOOT", "2 PERIODIC", "4 VALUE CHANGE", "6 CONNECTION REQUEST", "7 TRANSFER COMPLETE", "8 DIAGNOSTICS COMPLETE", "0 BOOTSTRAP"] {
            queue.add(event(code))
        }
        queue.add(event("M Download", "d"))
        queue.rebooted(rebootCommandKey: "rb")
        #expect(queue.events == [event("2 PERIODIC"), event("7 TRANSFER COMPLETE"), event("0 BOOTSTRAP"), event("M Download", "d"), event("1 BOOT"), event("M Reboot", "rb")])
    }

    @Test func anACSURLChangeKeepsOnlyCompletionsAndBootAndRaisesBootstrap() {
        var queue = EventQueue()
        for code in ["1 BOOT", "2 PERIODIC", "4 VALUE CHANGE", "10 AUTONOMOUS TRANSFER COMPLETE", "12 AUTONOMOUS DU STATE CHANGE COMPLETE"] {
            queue.add(event(code))
        }
        queue.add(event("M ScheduleInform", "s"))
        queue.add(event("M ChangeDUState", "c"))
        queue.acsURLChanged()
        #expect(queue.events == [event("1 BOOT"), event("10 AUTONOMOUS TRANSFER COMPLETE"), event("12 AUTONOMOUS DU STATE CHANGE COMPLETE"), event("M ChangeDUState", "c"), event("0 BOOTSTRAP")])
        #expect(queue.beginInform().prefix(2) == [event("0 BOOTSTRAP"), event("1 BOOT")])
    }

    @Test func aDeliveredBootstrapClearsOlderEventsButNotCompletions() {
        var queue = EventQueue()
        queue.add(event("2 PERIODIC"))
        queue.add(event("7 TRANSFER COMPLETE"))
        queue.add(event("0 BOOTSTRAP"))
        // Only the BOOTSTRAP fits in this Inform (limit 1); PERIODIC is older and concerns the previous ACS.
        #expect(queue.beginInform(limit: 1) == [event("0 BOOTSTRAP")])
        queue.sessionEnded(acknowledged)
        #expect(queue.events == [event("7 TRANSFER COMPLETE")])
    }

    @Test func anUndeliveredBootstrapClearsNothing() {
        var queue = EventQueue()
        queue.add(event("2 PERIODIC"))
        queue.add(event("0 BOOTSTRAP"))
        _ = queue.beginInform(limit: 1)
        queue.sessionEnded(notAcknowledged)
        #expect(queue.events == [event("2 PERIODIC"), event("0 BOOTSTRAP")])
    }

    @Test func factoryResetLeavesBootstrapAndBoot() {
        var queue = EventQueue()
        queue.add(event("7 TRANSFER COMPLETE"))
        queue.add(event("M Download", "d"))
        queue.factoryReset()
        #expect(queue.events == [event("0 BOOTSTRAP"), event("1 BOOT")])
    }

    // MARK: Heartbeat

    @Test func heartbeatGoesAloneInItsOwnInform() {
        var queue = EventQueue()
        queue.add(event("2 PERIODIC"))
        queue.add(event("14 HEARTBEAT"))
        #expect(queue.hasHeartbeatToSend)
        #expect(queue.beginHeartbeatInform() == [event("14 HEARTBEAT")])
        queue.sessionEnded(acknowledged)
        #expect(queue.beginHeartbeatInform() == nil)
        #expect(queue.beginInform() == [event("2 PERIODIC")])
    }

    // MARK: Persistence

    @Test func restoringDropsTheInFlightMarkAndMergesDuplicatesOnce() {
        var queue = EventQueue()
        queue.add(event("4 VALUE CHANGE"))
        queue.add(event("M Download", "d"))
        _ = queue.beginInform()
        queue.add(event("4 VALUE CHANGE"))
        // kill -9 here: the store holds three records, one of them a twin.
        var restored = EventQueue(records: queue.records, nextSequence: queue.nextSequence)
        #expect(!restored.isInformInFlight)
        #expect(restored.records.map(\.sequence) == [1, 2])
        #expect(restored.nextSequence == 4)
        #expect(restored.beginInform() == [event("4 VALUE CHANGE"), event("M Download", "d")])
    }

    @Test func theQueueRoundTripsThroughCodableWithoutItsInFlightMark() throws {
        var queue = EventQueue()
        queue.add(event("1 BOOT"))
        queue.add(event("M Reboot", "rb"))
        _ = queue.beginInform()
        let data = try JSONEncoder().encode(queue)
        var decoded = try JSONDecoder().decode(EventQueue.self, from: data)
        #expect(decoded.records == queue.records)
        #expect(decoded.nextSequence == 3)
        #expect(!decoded.isInformInFlight)
        #expect(decoded.beginInform() == [event("1 BOOT"), event("M Reboot", "rb")])
    }
}
