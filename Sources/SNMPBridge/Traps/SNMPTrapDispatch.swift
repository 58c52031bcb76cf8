// Routing notifications to devices by source address, and checking they carry the device's credentials.
import CWMPClient
import Synchronization

/// Which device a notification belongs to: a pure table (no I/O), driven by `SNMPTrapDispatcher`.
public struct SNMPTrapDispatchTable: Sendable {
    /// What a device accepts notifications with.
    public enum Acceptance: Sendable, Hashable {
        /// v1/v2c notifications carrying one of these communities.
        case communities(Set<Secret>)
        /// v3 notifications authenticated as one of these users (net-snmp already checked digest and privacy).
        case users(Set<String>)
    }

    public enum Route: Sendable, Hashable {
        case device(String)
        /// No device registered for the source address: dropped.
        case unknownSource
        /// A device is registered there, but the notification's community or user is not one it accepts: dropped.
        case wrongCredentials(String)
    }

    public struct Counters: Sendable, Hashable {
        public var delivered = 0
        public var unknownSource = 0
        public var wrongCredentials = 0
    }

    private var devices: [String: (deviceID: String, acceptance: [Acceptance])] = [:]
    public private(set) var counters = Counters()

    public init() {}

    /// Registers (or replaces) the device at `host` (numeric address, as notifications report it).
    public mutating func register(deviceID: String, host: String, accepting acceptance: [Acceptance]) {
        devices[host] = (deviceID, acceptance)
    }

    public mutating func unregister(host: String) { devices[host] = nil }

    public mutating func route(_ notification: SNMPNotification) -> Route {
        guard let entry = devices[notification.sourceHost] else {
            counters.unknownSource += 1
            return .unknownSource
        }
        let accepted = entry.acceptance.contains { acceptance in
            switch acceptance {
            case .communities(let communities):
                notification.version != .v3 && notification.community.map { communities.contains($0) } == true
            case .users(let users):
                notification.version == .v3 && notification.userName.map { users.contains($0) } == true
            }
        }
        guard accepted else {
            counters.wrongCredentials += 1
            return .wrongCredentials(entry.deviceID)
        }
        counters.delivered += 1
        return .device(entry.deviceID)
    }
}

/// Feeds a receiver's notifications through the dispatch table to each device's handler.
public final class SNMPTrapDispatcher: Sendable {
    public typealias Handler = @Sendable (SNMPNotification) async -> Void
    private struct State {
        var table = SNMPTrapDispatchTable()
        var handlers: [String: Handler] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    public func register(deviceID: String, host: String, accepting acceptance: [SNMPTrapDispatchTable.Acceptance],
                         handler: @escaping Handler) {
        state.withLock { state in
            state.table.register(deviceID: deviceID, host: host, accepting: acceptance)
            state.handlers[deviceID] = handler
        }
    }

    public func unregister(deviceID: String, host: String) {
        state.withLock { state in
            state.table.unregister(host: host)
            state.handlers[deviceID] = nil
        }
    }

    public var counters: SNMPTrapDispatchTable.Counters { state.withLock { $0.table.counters } }

    /// Routes one notification; returns where it went.
    @discardableResult
    public func dispatch(_ notification: SNMPNotification) async -> SNMPTrapDispatchTable.Route {
        let (route, handler): (SNMPTrapDispatchTable.Route, Handler?) = state.withLock { state in
            let route = state.table.route(notification)
            if case .device(let id) = route { return (route, state.handlers[id]) }
            return (route, nil)
        }
        await handler?(notification)
        return route
    }

    /// Dispatches everything `receiver` gets until it closes (or the task is cancelled).
    public func run(_ receiver: SNMPNotificationReceiver) async {
        for await notification in receiver.notifications { await dispatch(notification) }
    }
}
