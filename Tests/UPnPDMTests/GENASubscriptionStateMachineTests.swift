// GENASubscriptionStateMachine on a mock clock (instants built from one `t0`): every transition, one line each.
import Testing
@testable import UPnPDM

struct GENASubscriptionStateMachineTests {
    typealias Machine = GENASubscriptionStateMachine
    let t0 = ContinuousClock.now

    func machine(_ configuration: Machine.Configuration = .init(requestedTimeout: .seconds(1800), renewMargin: .seconds(60),
                                                                maximumSubscribeAttempts: 3, initialRetryDelay: .seconds(1),
                                                                maximumRetryDelay: .seconds(3))) -> Machine {
        Machine(configuration: configuration)
    }

    /// A machine subscribed as `uuid:a` with a grant of `granted` seconds at t0 (request 1).
    func subscribed(granted: GENATimeout = .seconds(300)) -> Machine {
        var machine = machine()
        _ = machine.start(now: t0)
        _ = machine.subscribeSucceeded(request: 1, sid: "uuid:a", timeout: granted, now: t0)
        return machine
    }

    @Test func timeoutHeaderForms() {
        #expect(GENATimeout(header: "Second-1800") == .seconds(1800))
        #expect(GENATimeout(header: " second-300 ") == .seconds(300))
        #expect(GENATimeout(header: "1800") == .seconds(1800))
        #expect(GENATimeout(header: "infinite") == .infinite)
        #expect(GENATimeout(header: "Second-infinite") == .infinite)
        #expect(GENATimeout(header: "Second-0") == nil)
        #expect(GENATimeout(header: "Second--5") == nil)
        #expect(GENATimeout(header: "soon") == nil)
        #expect(GENATimeout(header: nil) == nil)
        #expect(GENATimeout.seconds(120).description == "Second-120")
    }

    @Test func sequenceWrapsToOne() {
        #expect(Machine.sequence(after: 0) == 1)
        #expect(Machine.sequence(after: 41) == 42)
        #expect(Machine.sequence(after: 4_294_967_295) == 1)
    }

    @Test func startSendsSubscribe() {
        var machine = machine()
        #expect(machine.start(now: t0) == [.sendSubscribe(request: 1, reason: .initial)])
        #expect(machine.start(now: t0) == [])
    }

    @Test func grantArmsRenewalFromTheGrantedTimeoutNotTheRequestedOne() {
        var machine = machine()
        _ = machine.start(now: t0)
        #expect(machine.subscribeSucceeded(request: 1, sid: "uuid:a", timeout: .seconds(300), now: t0) == [.armTimer(at: t0 + .seconds(240))])
        #expect(machine.sid == "uuid:a")
    }

    @Test func shortGrantRenewsHalfWay() {
        var machine = machine()
        _ = machine.start(now: t0)
        #expect(machine.subscribeSucceeded(request: 1, sid: "uuid:a", timeout: .seconds(4), now: t0) == [.armTimer(at: t0 + .seconds(2))])
    }

    @Test func missingTimeoutHeaderUsesTheRequestedOne() {
        var machine = machine()
        _ = machine.start(now: t0)
        #expect(machine.subscribeSucceeded(request: 1, sid: "uuid:a", timeout: nil, now: t0) == [.armTimer(at: t0 + .seconds(1740))])
    }

    @Test func infiniteGrantNeverRenews() {
        var machine = subscribed(granted: .infinite)
        #expect(machine.timerFired(now: t0 + .seconds(100_000)) == [])
        #expect(machine.sid == "uuid:a")
    }

    @Test func earlyTimerRearms() {
        var machine = subscribed()
        #expect(machine.timerFired(now: t0 + .seconds(100)) == [.armTimer(at: t0 + .seconds(240))])
    }

    @Test func renewalIsSentAtTheMarginWithTheExpiryArmed() {
        var machine = subscribed()
        #expect(machine.timerFired(now: t0 + .seconds(240)) == [.sendRenew(sid: "uuid:a", request: 2), .armTimer(at: t0 + .seconds(300))])
    }

    @Test func renewalGrantReschedules() {
        var machine = subscribed()
        _ = machine.timerFired(now: t0 + .seconds(240))
        #expect(machine.renewSucceeded(request: 2, timeout: .seconds(300), now: t0 + .seconds(241)) == [.armTimer(at: t0 + .seconds(481))])
    }

    @Test func renewal412Resubscribes() {
        var machine = subscribed()
        _ = machine.timerFired(now: t0 + .seconds(240))
        #expect(machine.renewFailed(request: 2, statusCode: 412, now: t0 + .seconds(241)) == [.sendSubscribe(request: 3, reason: .preconditionFailed)])
        #expect(machine.sid == nil)
    }

    @Test func transientRenewalFailureRetriesTheRenewal() {
        var machine = subscribed()
        _ = machine.timerFired(now: t0 + .seconds(240))
        #expect(machine.renewFailed(request: 2, statusCode: nil, now: t0 + .seconds(241)) == [.armTimer(at: t0 + .seconds(242))])
        #expect(machine.timerFired(now: t0 + .seconds(242)) == [.sendRenew(sid: "uuid:a", request: 3), .armTimer(at: t0 + .seconds(300))])
    }

    @Test func expiryWithoutRenewalResubscribes() {
        var machine = subscribed()
        _ = machine.timerFired(now: t0 + .seconds(240))
        #expect(machine.timerFired(now: t0 + .seconds(300)) == [.sendSubscribe(request: 3, reason: .expired)])
    }

    @Test func staleRenewalAnswerIsIgnored() {
        var machine = subscribed()
        _ = machine.timerFired(now: t0 + .seconds(240))
        #expect(machine.renewSucceeded(request: 99, timeout: .seconds(300), now: t0 + .seconds(241)) == [])
    }

    @Test func sequenceIsZeroThenPlusOne() {
        var machine = subscribed()
        #expect(machine.notifyReceived(sid: "uuid:a", seq: 0, now: t0) == [.deliverEvent(sid: "uuid:a", seq: 0)])
        #expect(machine.notifyReceived(sid: "uuid:a", seq: 1, now: t0) == [.deliverEvent(sid: "uuid:a", seq: 1)])
    }

    @Test func sequenceGapDeliversThenUnsubscribesAndSubscribesAnew() {
        var machine = subscribed()
        _ = machine.notifyReceived(sid: "uuid:a", seq: 0, now: t0)
        #expect(machine.notifyReceived(sid: "uuid:a", seq: 2, now: t0) == [.deliverEvent(sid: "uuid:a", seq: 2), .sendUnsubscribe(sid: "uuid:a"), .sendSubscribe(request: 2, reason: .sequenceGap)])
        #expect(machine.sid == nil)
    }

    @Test func firstEventNotZeroIsAGap() {
        var machine = subscribed()
        #expect(machine.notifyReceived(sid: "uuid:a", seq: 5, now: t0).contains(.sendSubscribe(request: 2, reason: .sequenceGap)))
    }

    @Test func unknownSIDIsRejected() {
        var machine = subscribed()
        #expect(machine.notifyReceived(sid: "uuid:other", seq: 0, now: t0) == [.rejectEvent(sid: "uuid:other")])
    }

    @Test func notifyBeforeTheSubscribeAnswerIsHeld() {
        var machine = machine()
        _ = machine.start(now: t0)
        #expect(machine.notifyReceived(sid: "uuid:a", seq: 0, now: t0) == [.holdEvent(sid: "uuid:a", seq: 0)])
    }

    @Test func notifyWhenNotSubscribedIsRejected() {
        var machine = machine()
        #expect(machine.notifyReceived(sid: "uuid:a", seq: 0, now: t0) == [.rejectEvent(sid: "uuid:a")])
    }

    @Test func subscribeFailureBacksOffThenRetries() {
        var machine = machine()
        _ = machine.start(now: t0)
        let error = UPnPDMError(.connectFailed, "refused")
        #expect(machine.subscribeFailed(request: 1, error: error, now: t0) == [.armTimer(at: t0 + .seconds(1))])
        #expect(machine.timerFired(now: t0 + .milliseconds(500)) == [.armTimer(at: t0 + .seconds(1))])
        #expect(machine.timerFired(now: t0 + .seconds(1)) == [.sendSubscribe(request: 2, reason: .retry)])
        #expect(machine.subscribeFailed(request: 2, error: error, now: t0 + .seconds(1)) == [.armTimer(at: t0 + .seconds(3))])
    }

    @Test func backoffIsCapped() {
        var machine = machine(.init(maximumSubscribeAttempts: 10, initialRetryDelay: .seconds(1), maximumRetryDelay: .seconds(3)))
        let error = UPnPDMError(.connectFailed, "refused")
        _ = machine.start(now: t0)
        var now = t0
        var waits: [Duration] = []
        for request in 1...4 {
            guard case .armTimer(let at) = machine.subscribeFailed(request: UInt64(request), error: error, now: now).first else { break }
            waits.append(at - now)
            now = at
            _ = machine.timerFired(now: now)
        }
        #expect(waits == [.seconds(1), .seconds(2), .seconds(3), .seconds(3)])
    }

    @Test func subscribeGivesUpAfterTheLastAttempt() {
        var machine = machine()
        let error = UPnPDMError(.connectFailed, "refused")
        _ = machine.start(now: t0)
        _ = machine.subscribeFailed(request: 1, error: error, now: t0)
        _ = machine.timerFired(now: t0 + .seconds(1))
        _ = machine.subscribeFailed(request: 2, error: error, now: t0 + .seconds(1))
        _ = machine.timerFired(now: t0 + .seconds(3))
        #expect(machine.subscribeFailed(request: 3, error: error, now: t0 + .seconds(3)) == [.failed(UPnPDMError(.subscriptionFailed, ""))])
        #expect(machine.isStopped)
    }

    @Test func rebootResubscribesWithoutUnsubscribing() {
        var machine = subscribed()
        #expect(machine.deviceRebooted(now: t0 + .seconds(10)) == [.sendSubscribe(request: 2, reason: .deviceRebooted)])
    }

    @Test func rebootWhileSubscribingSupersedesTheFirstRequest() {
        var machine = machine()
        _ = machine.start(now: t0)
        #expect(machine.deviceRebooted(now: t0) == [.sendSubscribe(request: 2, reason: .deviceRebooted)])
        #expect(machine.subscribeSucceeded(request: 1, sid: "uuid:stale", timeout: .seconds(300), now: t0) == [.sendUnsubscribe(sid: "uuid:stale")])
        #expect(machine.subscribeSucceeded(request: 2, sid: "uuid:b", timeout: .seconds(300), now: t0) == [.armTimer(at: t0 + .seconds(240))])
    }

    @Test func byebyeStopsSilently() {
        var machine = subscribed()
        #expect(machine.deviceGone(now: t0) == [])
        #expect(machine.timerFired(now: t0 + .seconds(240)) == [])
        #expect(machine.isStopped)
    }

    @Test func stopUnsubscribes() {
        var machine = subscribed()
        #expect(machine.stop(now: t0) == [.sendUnsubscribe(sid: "uuid:a")])
        #expect(machine.notifyReceived(sid: "uuid:a", seq: 0, now: t0) == [.rejectEvent(sid: "uuid:a")])
    }

    @Test func grantAfterStopIsCancelled() {
        var machine = machine()
        _ = machine.start(now: t0)
        _ = machine.stop(now: t0)
        #expect(machine.subscribeSucceeded(request: 1, sid: "uuid:late", timeout: .seconds(300), now: t0) == [.sendUnsubscribe(sid: "uuid:late")])
    }
}

struct GENAEventParsingTests {
    @Test func propertySetIsRead() throws {
        let body = Array("""
        <?xml version="1.0"?><e:propertyset xmlns:e="urn:schemas-upnp-org:event-1-0"><e:property><ConfigurationUpdate>3,2026-11-23T17:00:00Z,&lt;cms:ParameterValueList xmlns:cms="urn:schemas-upnp-org:dm:cms"&gt;&lt;Parameter&gt;&lt;ParameterPath&gt;/BBF/Time/NTPServer1&lt;/ParameterPath&gt;&lt;Value&gt;ntp.example&lt;/Value&gt;&lt;/Parameter&gt;&lt;/cms:ParameterValueList&gt;</ConfigurationUpdate></e:property><e:property><TestIDs>1,2</TestIDs></e:property></e:propertyset>
        """.utf8)
        let properties = try GENAEvent.parsePropertySet(body)
        #expect(properties.map(\.name) == ["ConfigurationUpdate", "TestIDs"])
        #expect(DMServiceEvent(properties[0]) == .configurationUpdate(DMConfigurationUpdate(version: 3, time: "2026-11-23T17:00:00Z", changes: [DMParameterValue(path: "/BBF/Time/NTPServer1", value: "ntp.example")])))
        #expect(DMServiceEvent(properties[1]) == .testIDs([1, 2]))
    }

    @Test func typedEvents() {
        #expect(DMServiceEvent(GENAProperty(name: "ActiveTestIDs", value: "")) == .activeTestIDs([]))
        #expect(DMServiceEvent(GENAProperty(name: "OperationIDs", value: " 4 ")) == .operationIDs([4]))
        #expect(DMServiceEvent(GENAProperty(name: "OperationIDs", value: "x")) == .other(name: "OperationIDs", value: "x"))
        #expect(DMServiceEvent(GENAProperty(name: "ConfigurationUpdate", value: "7,2026-11-23T17:00:00Z")) == .configurationUpdate(DMConfigurationUpdate(version: 7, time: "2026-11-23T17:00:00Z")))
        #expect(DMServiceEvent(GENAProperty(name: "ConfigurationUpdate", value: "garbage")) == .other(name: "ConfigurationUpdate", value: "garbage"))
    }

    @Test func hostileBodiesAreRefused() {
        let xxe = Array(#"<?xml version="1.0"?><!DOCTYPE e [<!ENTITY x SYSTEM "file:///etc/passwd">]><e:propertyset xmlns:e="urn:schemas-upnp-org:event-1-0"><e:property><A>&x;</A></e:property></e:propertyset>"#.utf8)
        #expect(throws: UPnPDMError(.forbiddenDocumentType, "")) { try GENAEvent.parsePropertySet(xxe) }
        #expect(throws: UPnPDMError(.malformedEvent, "")) { try GENAEvent.parsePropertySet(Array("<html/>".utf8)) }
        #expect(throws: UPnPDMError(.malformedXML, "")) { try GENAEvent.parsePropertySet(Array("\u{1}garbage".utf8)) }
        #expect(throws: UPnPDMError(.documentTooLarge, "")) { try GENAEvent.parsePropertySet([UInt8](repeating: 0x20, count: 2000), maximumBytes: 1000) }
    }
}
