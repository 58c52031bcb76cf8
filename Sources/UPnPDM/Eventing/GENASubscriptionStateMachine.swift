// One GENA subscription (UDA 1.1 §4; upnp-dm.md §5.4, §8.3) as a pure state machine: the I/O shell
// (`GENASubscription`) feeds it SUBSCRIBE/renew answers, NOTIFYs, timer expiries and discovery news, with the time as
// an input, and performs the actions it returns.
//
//   idle ──start──▶ subscribing ──granted SID+TIMEOUT──▶ subscribed ──renewAt──▶ (renewing) ──granted──▶ subscribed
//                      │  ▲ failure: backoff, bounded attempts          │ SEQ gap: UNSUBSCRIBE (best effort) + SUBSCRIBE
//                      ▼  │                                             │ renew 412 / expiry / new BOOTID: SUBSCRIBE
//                    backoff ── attempts exhausted ──▶ failed/stopped   │ byebye, lease expiry: stopped (nothing sent)
//
// Renewal is scheduled from the TIMEOUT the device GRANTED, never from what was asked (Rygel grants Second-300 when
// asked for less; upnp-dm.md §8.3). Every request carries an id and answers to superseded requests are ignored (a
// late grant for a subscription already replaced is cancelled with an UNSUBSCRIBE, so the device keeps no orphan).

/// A GENA `TIMEOUT` value.
public enum GENATimeout: Hashable, Sendable, CustomStringConvertible {
    case seconds(Int)
    case infinite

    /// Reads `Second-N`, `Second-infinite`, and what non-compliant devices send: a bare `N` (async-upnp-client
    /// 0.49 unpatched: `TIMEOUT: 1800`) or `infinite`. Nil for anything else (or N ≤ 0).
    public init?(header: String?) {
        guard var text = header?.trimmingWhitespace().lowercased(), !text.isEmpty else { return nil }
        if text.hasPrefix("second-") { text = String(text.dropFirst("second-".count)) }
        if text == "infinite" {
            self = .infinite
        } else if let seconds = Int(text), seconds > 0 {
            self = .seconds(seconds)
        } else {
            return nil
        }
    }

    /// The header value to send.
    public var description: String {
        switch self {
        case .seconds(let seconds): "Second-\(seconds)"
        case .infinite: "Second-infinite"
        }
    }
}

public struct GENASubscriptionStateMachine: Sendable {
    public typealias Instant = ContinuousClock.Instant

    public struct Configuration: Sendable, Hashable {
        /// What SUBSCRIBE and renewals ask for (the device decides what it grants).
        public var requestedTimeout: GENATimeout
        /// Renew this long before the granted expiry, but never later than half-way through a short grant.
        public var renewMargin: Duration
        /// SUBSCRIBE attempts in a row before the subscription is given up (`failed`).
        public var maximumSubscribeAttempts: Int
        /// The wait after the first failed attempt; doubled after each further one, up to `maximumRetryDelay`.
        public var initialRetryDelay: Duration
        public var maximumRetryDelay: Duration

        public init(requestedTimeout: GENATimeout = .seconds(1800), renewMargin: Duration = .seconds(60),
                    maximumSubscribeAttempts: Int = 5, initialRetryDelay: Duration = .seconds(1),
                    maximumRetryDelay: Duration = .seconds(60)) {
            self.requestedTimeout = requestedTimeout
            self.renewMargin = renewMargin
            self.maximumSubscribeAttempts = max(1, maximumSubscribeAttempts)
            self.initialRetryDelay = initialRetryDelay
            self.maximumRetryDelay = maximumRetryDelay
        }
    }

    /// Why a SUBSCRIBE (not a renewal) is sent.
    public enum SubscribeReason: Hashable, Sendable {
        case initial
        /// A previous attempt failed and its backoff is over.
        case retry
        /// A NOTIFY's SEQ was not the next one: events were lost.
        case sequenceGap
        /// The renewal was answered 412 Precondition Failed: the device no longer knows the SID.
        case preconditionFailed
        /// The subscription expired before a renewal succeeded.
        case expired
        /// Discovery saw a new BOOTID.UPNP.ORG: the device rebooted and forgot its subscribers.
        case deviceRebooted
    }

    public enum Action: Hashable, Sendable {
        /// SUBSCRIBE with CALLBACK, NT and TIMEOUT; answer with `subscribeSucceeded`/`subscribeFailed(request:)`.
        case sendSubscribe(request: UInt64, reason: SubscribeReason)
        /// SUBSCRIBE with SID and TIMEOUT only; answer with `renewSucceeded`/`renewFailed`.
        case sendRenew(sid: String, request: UInt64)
        /// UNSUBSCRIBE, best effort: its outcome is not reported back.
        case sendUnsubscribe(sid: String)
        /// Hand this NOTIFY's property set to the subscriber.
        case deliverEvent(sid: String, seq: UInt32)
        /// A NOTIFY arrived for a SID not (yet) granted while a SUBSCRIBE is in flight (UDA allows the initial
        /// event to overtake the SUBSCRIBE answer): keep it and present it again after `subscribeSucceeded`.
        case holdEvent(sid: String, seq: UInt32)
        /// The NOTIFY is not for this subscription: answer 412 Precondition Failed.
        case rejectEvent(sid: String)
        /// Call `timerFired` at this instant (replaces any earlier timer).
        case armTimer(at: Instant)
        /// Subscribing failed `maximumSubscribeAttempts` times in a row; the machine has stopped.
        case failed(UPnPDMError)
    }

    enum State: Hashable, Sendable {
        case idle
        case subscribing(request: UInt64, attempt: Int)
        case backoff(attempt: Int, until: Instant)
        case subscribed(Subscription)
        case stopped
    }

    struct Subscription: Hashable, Sendable {
        var sid: String
        /// Nil for an infinite grant.
        var expiresAt: Instant?
        var renewAt: Instant?
        /// The SEQ the next NOTIFY must carry.
        var expectedSequence: UInt32 = 0
        /// The id of the renewal in flight.
        var renewal: UInt64?
    }

    public let configuration: Configuration
    private(set) var state: State = .idle
    private var nextRequest: UInt64 = 0

    public init(configuration: Configuration = .init()) {
        self.configuration = configuration
    }

    /// The SID granted, while subscribed.
    public var sid: String? {
        if case .subscribed(let subscription) = state { return subscription.sid }
        return nil
    }

    public var isStopped: Bool { state == .stopped }

    /// The SEQ that follows `seq` (UDA: 4294967295 wraps to 1, 0 is only ever the initial event).
    public static func sequence(after seq: UInt32) -> UInt32 { seq == .max ? 1 : seq + 1 }

    // MARK: Inputs

    public mutating func start(now: Instant) -> [Action] {
        guard state == .idle else { return [] }
        return subscribe(reason: .initial, attempt: 1)
    }

    public mutating func subscribeSucceeded(request: UInt64, sid: String, timeout: GENATimeout?, now: Instant) -> [Action] {
        guard case .subscribing(let current, _) = state, current == request else {
            // A grant nobody waits for any more (superseded, or stopped meanwhile): do not leave it on the device.
            return [.sendUnsubscribe(sid: sid)]
        }
        var subscription = Subscription(sid: sid)
        let timers = schedule(&subscription, granted: timeout, now: now)
        state = .subscribed(subscription)
        return timers
    }

    public mutating func subscribeFailed(request: UInt64, error: UPnPDMError, now: Instant) -> [Action] {
        guard case .subscribing(let current, let attempt) = state, current == request else { return [] }
        guard attempt < configuration.maximumSubscribeAttempts else {
            state = .stopped
            return [.failed(UPnPDMError(.subscriptionFailed, "SUBSCRIBE failed \(attempt) times in a row",
                                        underlying: error))]
        }
        let until = now + retryDelay(afterAttempt: attempt)
        state = .backoff(attempt: attempt, until: until)
        return [.armTimer(at: until)]
    }

    public mutating func renewSucceeded(request: UInt64, timeout: GENATimeout?, now: Instant) -> [Action] {
        guard case .subscribed(var subscription) = state, subscription.renewal == request else { return [] }
        subscription.renewal = nil
        let timers = schedule(&subscription, granted: timeout, now: now)
        state = .subscribed(subscription)
        return timers
    }

    /// `statusCode` is the HTTP status of the answer, nil when there was none (connect failure, timeout).
    public mutating func renewFailed(request: UInt64, statusCode: Int?, now: Instant) -> [Action] {
        guard case .subscribed(var subscription) = state, subscription.renewal == request else { return [] }
        subscription.renewal = nil
        if statusCode == 412 {
            // The device does not know the SID (rebooted, expired, dropped it): nothing to unsubscribe.
            return subscribe(reason: .preconditionFailed, attempt: 1)
        }
        // A transient failure: try the renewal again shortly, as long as the subscription lasts.
        let retryAt = now + configuration.initialRetryDelay
        if let expiresAt = subscription.expiresAt, retryAt >= expiresAt {
            subscription.renewAt = expiresAt
        } else {
            subscription.renewAt = retryAt
        }
        state = .subscribed(subscription)
        return [.armTimer(at: subscription.renewAt!)]
    }

    public mutating func timerFired(now: Instant) -> [Action] {
        switch state {
        case .backoff(let attempt, let until):
            guard now >= until else { return [.armTimer(at: until)] }
            return subscribe(reason: .retry, attempt: attempt + 1)
        case .subscribed(var subscription):
            if let expiresAt = subscription.expiresAt, now >= expiresAt {
                // No renewal succeeded in time: the device has dropped us (or will); start afresh.
                return subscribe(reason: .expired, attempt: 1)
            }
            guard let renewAt = subscription.renewAt else { return [] }
            guard now >= renewAt, subscription.renewal == nil else {
                return [.armTimer(at: subscription.renewal == nil ? renewAt : subscription.expiresAt ?? renewAt)]
            }
            let request = makeRequest()
            subscription.renewal = request
            state = .subscribed(subscription)
            var actions: [Action] = [.sendRenew(sid: subscription.sid, request: request)]
            if let expiresAt = subscription.expiresAt { actions.append(.armTimer(at: expiresAt)) }
            return actions
        case .idle, .subscribing, .stopped:
            return []
        }
    }

    /// A NOTIFY with these SID and SEQ headers reached this subscription's callback.
    public mutating func notifyReceived(sid: String, seq: UInt32, now: Instant) -> [Action] {
        switch state {
        case .subscribing:
            return [.holdEvent(sid: sid, seq: seq)]
        case .subscribed(var subscription):
            guard sid == subscription.sid else { return [.rejectEvent(sid: sid)] }
            guard seq == subscription.expectedSequence else {
                // Events were lost (or the device restarted its counter): the values in this one are current,
                // so deliver it, then start a fresh subscription whose initial event resends every variable.
                return [.deliverEvent(sid: sid, seq: seq), .sendUnsubscribe(sid: sid)]
                    + subscribe(reason: .sequenceGap, attempt: 1)
            }
            subscription.expectedSequence = Self.sequence(after: seq)
            state = .subscribed(subscription)
            return [.deliverEvent(sid: sid, seq: seq)]
        case .idle, .backoff, .stopped:
            return [.rejectEvent(sid: sid)]
        }
    }

    /// Discovery saw the device come back with a new BOOTID.UPNP.ORG: its subscriptions are gone.
    public mutating func deviceRebooted(now: Instant) -> [Action] {
        switch state {
        case .subscribing, .subscribed, .backoff:
            return subscribe(reason: .deviceRebooted, attempt: 1)
        case .idle, .stopped:
            return []
        }
    }

    /// The device said byebye or its SSDP lease expired: stop without sending anything (it is not there).
    public mutating func deviceGone(now: Instant) -> [Action] {
        state = .stopped
        return []
    }

    /// The control point no longer wants events (shutdown, device removed from management): UNSUBSCRIBE.
    public mutating func stop(now: Instant) -> [Action] {
        defer { state = .stopped }
        if case .subscribed(let subscription) = state { return [.sendUnsubscribe(sid: subscription.sid)] }
        return []
    }

    // MARK: Helpers

    private mutating func makeRequest() -> UInt64 {
        nextRequest += 1
        return nextRequest
    }

    private mutating func subscribe(reason: SubscribeReason, attempt: Int) -> [Action] {
        let request = makeRequest()
        state = .subscribing(request: request, attempt: attempt)
        return [.sendSubscribe(request: request, reason: reason)]
    }

    /// Sets the expiry and renewal time from the granted TIMEOUT (the requested one when the device sent none or
    /// garbage) and returns the timer to arm.
    private func schedule(_ subscription: inout Subscription, granted: GENATimeout?, now: Instant) -> [Action] {
        switch granted ?? configuration.requestedTimeout {
        case .infinite:
            subscription.expiresAt = nil
            subscription.renewAt = nil
            return []
        case .seconds(let seconds):
            let lifetime = Duration.seconds(seconds)
            let margin = min(configuration.renewMargin, lifetime / 2)
            subscription.expiresAt = now + lifetime
            subscription.renewAt = now + lifetime - margin
            return [.armTimer(at: subscription.renewAt!)]
        }
    }

    private func retryDelay(afterAttempt attempt: Int) -> Duration {
        var delay = configuration.initialRetryDelay
        for _ in 1..<max(1, attempt) where delay < configuration.maximumRetryDelay { delay *= 2 }
        return min(delay, configuration.maximumRetryDelay)
    }
}
