// The I/O shell of one GENA subscription: performs what `GENASubscriptionStateMachine` asks (SUBSCRIBE, renew,
// UNSUBSCRIBE through UPnPHTTPClient; timers as tasks sleeping on the continuous clock) and feeds it back the
// answers, the NOTIFYs the listener routes here, and discovery's news (reboot, byebye). All protocol decisions are
// the state machine's; this actor only does I/O and keeps the bodies of NOTIFYs held while a SUBSCRIBE is in flight.

import Logging
import NIOCore
import NIOHTTP1

/// What a subscription reports to its owner, in order.
public enum GENASubscriptionUpdate: Hashable, Sendable {
    /// A SUBSCRIBE was granted (`reason` says why it was sent: initial, gap, 412, reboot, expiry, retry).
    case subscribed(sid: String, timeout: GENATimeout?, reason: GENASubscriptionStateMachine.SubscribeReason)
    /// A renewal was granted.
    case renewed(sid: String, timeout: GENATimeout?)
    /// An accepted NOTIFY (already SEQ-checked).
    case event(GENAEvent)
    /// Subscribing kept failing; the subscription has stopped.
    case failed(UPnPDMError)
}

public actor GENASubscription: GENANotifyReceiver {
    public typealias Machine = GENASubscriptionStateMachine

    /// The service's absolute eventSubURL.
    public nonisolated let eventSubURL: String
    public nonisolated let updates: AsyncStream<GENASubscriptionUpdate>
    private let continuation: AsyncStream<GENASubscriptionUpdate>.Continuation
    private let listener: GENANotifyListener
    private let client: UPnPHTTPClient
    private let logger: Logger
    private var machine: Machine
    private var callbackPath: String?
    private var timer: Task<Void, Never>?
    private var held: [GENANotify] = []
    /// Requests in flight, so `stop()` can wait for a pending UNSUBSCRIBE.
    private var unsubscribes: [Task<Void, Never>] = []

    public init(eventSubURL: String, listener: GENANotifyListener, client: UPnPHTTPClient = UPnPHTTPClient(),
                configuration: Machine.Configuration = .init(), logger: Logger = Logger(label: "cwmp-proxy.upnp.gena")) {
        self.eventSubURL = eventSubURL
        self.listener = listener
        self.client = client
        self.machine = Machine(configuration: configuration)
        var logger = logger
        logger[metadataKey: "upnp.event_url"] = "\(eventSubURL)"
        self.logger = logger
        (updates, continuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1024))
    }

    /// The SID currently granted.
    public var sid: String? { machine.sid }

    /// Registers the callback path with the (started) listener and sends the first SUBSCRIBE.
    public func start() async throws {
        try await listener.start()
        if callbackPath == nil { callbackPath = listener.register(self) }
        perform(machine.start(now: .now))
    }

    /// Discovery saw a new BOOTID for the device.
    public func deviceRebooted() { perform(machine.deviceRebooted(now: .now)) }

    /// The device left (byebye, lease expiry): stop without sending anything.
    public func deviceGone() {
        perform(machine.deviceGone(now: .now))
        finish()
    }

    /// UNSUBSCRIBE (best effort, bounded by the HTTP client's deadline) and stop.
    public func stop() async {
        perform(machine.stop(now: .now))
        finish()
        for task in unsubscribes { await task.value }
        unsubscribes = []
    }

    /// Drives the machine's timer now (tests with a device granting long timeouts use it instead of waiting).
    public func timerFired(at now: ContinuousClock.Instant = .now) { perform(machine.timerFired(now: now)) }

    public func receive(_ notify: GENANotify) async -> Bool {
        perform(machine.notifyReceived(sid: notify.sid, seq: notify.seq, now: .now), notify: notify)
    }

    private func finish() {
        timer?.cancel()
        timer = nil
        if let callbackPath { listener.unregister(path: callbackPath) }
        callbackPath = nil
        continuation.finish()
    }

    /// Performs `actions`; returns false when one of them rejects `notify` (the listener answers 412).
    @discardableResult
    private func perform(_ actions: [Machine.Action], notify: GENANotify? = nil) -> Bool {
        var accepted = true
        for action in actions {
            switch action {
            case .sendSubscribe(let request, let reason):
                logger.debug("GENA SUBSCRIBE", metadata: ["gena.reason": "\(reason)"])
                send(subscribe: request, reason: reason)
            case .sendRenew(let sid, let request):
                send(renew: request, sid: sid)
            case .sendUnsubscribe(let sid):
                sendUnsubscribe(sid: sid)
            case .deliverEvent(let sid, let seq):
                if let notify {
                    continuation.yield(.event(GENAEvent(sid: sid, seq: seq, properties: notify.properties)))
                }
            case .holdEvent:
                // Bounded: a device flooding NOTIFYs before its SUBSCRIBE answer keeps only the latest few.
                if let notify {
                    if held.count >= 8 { held.removeFirst() }
                    held.append(notify)
                }
            case .rejectEvent(let sid):
                logger.debug("GENA NOTIFY for an unknown SID", metadata: ["gena.sid": "\(sid)"])
                accepted = false
            case .armTimer(let instant):
                timer?.cancel()
                timer = Task { [weak self] in
                    do { try await Task.sleep(until: instant, clock: .continuous) } catch { return }
                    await self?.timerFired(at: .now)
                }
            case .failed(let error):
                logger.warning("GENA subscription given up", metadata: ["error": "\(error)"])
                continuation.yield(.failed(error))
                finish()
            }
        }
        return accepted
    }

    private func callbackURL() -> String? {
        guard let base = listener.baseURL, let callbackPath else { return nil }
        return base + callbackPath
    }

    private func send(subscribe request: UInt64, reason: Machine.SubscribeReason) {
        guard let callback = callbackURL() else { return }
        var headers = HTTPHeaders()
        headers.add(name: "CALLBACK", value: "<\(callback)>")
        headers.add(name: "NT", value: "upnp:event")
        headers.add(name: "TIMEOUT", value: machine.configuration.requestedTimeout.description)
        let http = UPnPHTTPRequest(method: .RAW(value: "SUBSCRIBE"), url: eventSubURL, headers: headers)
        Task { [client] in
            let outcome: Result<UPnPHTTPResponse, UPnPDMError>
            do throws(UPnPDMError) { outcome = .success(try await client.execute(http)) } catch { outcome = .failure(error) }
            self.subscribeAnswered(request: request, reason: reason, outcome: outcome)
        }
    }

    private func subscribeAnswered(request: UInt64, reason: Machine.SubscribeReason, outcome: Result<UPnPHTTPResponse, UPnPDMError>) {
        let error: UPnPDMError
        switch outcome {
        case .success(let response):
            if response.statusCode == 200, let sid = response.headers.first(name: "sid").map({ String($0.trimmingWhitespace()) }),
               !sid.isEmpty {
                let timeout = GENATimeout(header: response.headers.first(name: "timeout"))
                let actions = machine.subscribeSucceeded(request: request, sid: sid, timeout: timeout, now: .now)
                if machine.sid == sid {
                    continuation.yield(.subscribed(sid: sid, timeout: timeout, reason: reason))
                }
                perform(actions)
                // NOTIFYs that overtook the answer: present them again, now that the SID is known.
                let early = held
                held = []
                for notify in early where notify.sid == sid {
                    perform(machine.notifyReceived(sid: notify.sid, seq: notify.seq, now: .now), notify: notify)
                }
                return
            }
            error = UPnPDMError(.unexpectedHTTPStatus, "SUBSCRIBE answered \(response.statusCode) without a usable SID")
        case .failure(let failure):
            error = failure
        }
        logger.info("GENA SUBSCRIBE failed", metadata: ["error": "\(error.code)"])
        perform(machine.subscribeFailed(request: request, error: error, now: .now))
    }

    private func send(renew request: UInt64, sid: String) {
        var headers = HTTPHeaders()
        headers.add(name: "SID", value: sid)
        headers.add(name: "TIMEOUT", value: machine.configuration.requestedTimeout.description)
        let http = UPnPHTTPRequest(method: .RAW(value: "SUBSCRIBE"), url: eventSubURL, headers: headers)
        Task { [client] in
            let outcome: Result<UPnPHTTPResponse, UPnPDMError>
            do throws(UPnPDMError) { outcome = .success(try await client.execute(http)) } catch { outcome = .failure(error) }
            self.renewAnswered(request: request, sid: sid, outcome: outcome)
        }
    }

    private func renewAnswered(request: UInt64, sid: String, outcome: Result<UPnPHTTPResponse, UPnPDMError>) {
        switch outcome {
        case .success(let response) where response.statusCode == 200:
            let timeout = GENATimeout(header: response.headers.first(name: "timeout"))
            let actions = machine.renewSucceeded(request: request, timeout: timeout, now: .now)
            if !actions.isEmpty || timeout == .infinite { continuation.yield(.renewed(sid: sid, timeout: timeout)) }
            perform(actions)
        case .success(let response):
            logger.info("GENA renewal refused", metadata: ["http.status": "\(response.statusCode)"])
            perform(machine.renewFailed(request: request, statusCode: response.statusCode, now: .now))
        case .failure(let error):
            logger.info("GENA renewal failed", metadata: ["error": "\(error.code)"])
            perform(machine.renewFailed(request: request, statusCode: nil, now: .now))
        }
    }

    private func sendUnsubscribe(sid: String) {
        var headers = HTTPHeaders()
        headers.add(name: "SID", value: sid)
        let http = UPnPHTTPRequest(method: .RAW(value: "UNSUBSCRIBE"), url: eventSubURL, headers: headers)
        let logger = self.logger
        unsubscribes.removeAll { $0.isCancelled }
        unsubscribes.append(Task { [client] in
            do throws(UPnPDMError) {
                _ = try await client.execute(http)
            } catch {
                logger.debug("GENA UNSUBSCRIBE failed (best effort)", metadata: ["error": "\(error.code)"])
            }
        })
    }
}
