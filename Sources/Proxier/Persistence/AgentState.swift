// The value types of the agent state store. They are plain and `Sendable` on purpose: the engine and the session
// layer keep their own richer state and map it to and from these, so the store does not depend on either of them.
// Strings stay in the lexical form they have on the wire (dateTime, xsd type names), as the SOAP codec carries them.

/// One pending Inform event of an agent (TR-069 §3.7.1.5).
///
/// `sequence` is assigned by the store when the event is appended. It increases strictly in commit order across
/// the whole store and is never reused, not even after the event is acknowledged, the agent removed or the
/// process restarted, so "everything up to N" names the same events forever.
public struct PendingEvent: Hashable, Sendable, CustomStringConvertible {
    public var sequence: Int64
    /// `0 BOOTSTRAP`, `M Download`, `X 00D09E Vendor`… (1 to 64 characters).
    public var code: String
    /// The CommandKey the event carries (`M Reboot`, `M Download`, …); empty for the numbered events.
    public var commandKey: String

    public init(sequence: Int64, code: String, commandKey: String = "") {
        self.sequence = sequence
        self.code = code
        self.commandKey = commandKey
    }

    public var description: String { "#\(sequence) \(code)\(commandKey.isEmpty ? "" : " [\(commandKey)]")" }

    /// Event codes a CPE drops at boot instead of carrying them into the next Inform (cwmp.md §5): the old
    /// `1 BOOT` (the engine appends a new one), value changes (re-evaluated after boot), connection requests
    /// (never retried) and diagnostics completions (the results are gone).
    /// Everything else, in particular `0 BOOTSTRAP`, `7 TRANSFER COMPLETE` and the `M` codes, is kept until delivered.
    public static let droppedAtBoot: Set<String> = [
        "1 BOOT", "4 VALUE CHANGE", "6 CONNECTION REQUEST", "8 DIAGNOSTICS COMPLETE",
    ]
}

/// The attributes of one parameter (SetParameterAttributes, TR-069 §A.3.2.4).
public struct ParameterAttribute: Hashable, Sendable {
    /// 0 off, 1 passive, 2 active; 3–6 are the lightweight variants of CWMP 1.4 Annex M.
    public var notification: Int
    /// Entities besides the ACS that may write the parameter; the only defined entry is `"Subscriber"`.
    public var accessList: [String]

    public init(notification: Int, accessList: [String] = []) {
        self.notification = notification
        self.accessList = accessList
    }
}

/// A stored value of a writable parameter the ACS set (ManagementServer settings, credentials…), restored at start.
///
/// The value may be a secret (`ConnectionRequestPassword`, `Password`): the CPE must know it, so it is stored as it
/// is, in a file only the proxier's user can read. `description` never shows it, so that dumping a snapshot into a
/// log cannot leak one.
public struct StoredParameterValue: Hashable, Sendable, CustomStringConvertible {
    /// The value in its lexical form.
    public var value: String
    /// The xsd type name the value is sent with (`string`, `unsignedInt`, `boolean`, …).
    public var type: String

    public init(value: String, type: String = "string") {
        self.value = value
        self.type = type
    }

    public var description: String { "<\(type), \(value.utf8.count) bytes, redacted>" }
}

/// A Download or Upload the agent accepted and has not yet reported with a TransferComplete that the ACS
/// acknowledged. It is kept across reboot so that the completion can still be sent (TR-069 §A.3.3.1).
public struct PendingTransfer: Hashable, Sendable {
    public enum Kind: String, Hashable, Sendable, CaseIterable {
        case download
        case upload
    }

    public enum State: String, Hashable, Sendable, CaseIterable {
        /// Accepted (response status 1) and not started, or waiting for its DelaySeconds.
        case queued
        /// Started; after a restart the engine decides whether to resume it or fail it.
        case inProgress
        /// Finished (successfully or with a fault); the TransferComplete is due.
        case completed
    }

    public var commandKey: String
    public var kind: Kind
    public var state: State
    /// `1 Firmware Upgrade Image`, `3 Vendor Configuration File`, …
    public var fileType: String
    public var url: String
    public var targetFileName: String
    /// 0 means success (FaultStruct of TransferComplete).
    public var faultCode: UInt32
    public var faultString: String
    /// TR-106 dateTime lexical form; `nil` until known (sent as the unknown time `0001-01-01T00:00:00Z`).
    public var startTime: String?
    public var completeTime: String?

    public init(commandKey: String, kind: Kind, state: State = .queued, fileType: String, url: String,
                targetFileName: String = "", faultCode: UInt32 = 0, faultString: String = "",
                startTime: String? = nil, completeTime: String? = nil) {
        self.commandKey = commandKey
        self.kind = kind
        self.state = state
        self.fileType = fileType
        self.url = url
        self.targetFileName = targetFileName
        self.faultCode = faultCode
        self.faultString = faultString
        self.startTime = startTime
        self.completeTime = completeTime
    }
}

/// A pending transfer together with the id the store gave it (in `AppliedChanges.transferIDs`).
public struct StoredTransfer: Hashable, Sendable {
    public var id: Int64
    public var transfer: PendingTransfer

    public init(id: Int64, transfer: PendingTransfer) {
        self.id = id
        self.transfer = transfer
    }
}

/// The alias of one instance of a multi-instance object (Alias-based addressing, TR-069 §3.6.1).
public struct InstanceAlias: Hashable, Sendable {
    /// The table path with its trailing dot, `Device.IP.Interface.`.
    public var table: String
    public var instance: UInt32
    public var alias: String

    public init(table: String, instance: UInt32, alias: String) {
        self.table = table
        self.instance = instance
        self.alias = alias
    }
}

/// Everything the store keeps about one agent: what the engine needs to restore it at start.
public struct AgentSnapshot: Hashable, Sendable {
    public var agentID: String
    /// The ParameterKey of the last successful SPV/AddObject/DeleteObject; empty initially.
    public var parameterKey: String
    /// The ACS URL the agent last bootstrapped with, or `nil` if it never did: a differing configured URL means
    /// `0 BOOTSTRAP` (cwmp.md §5).
    public var bootstrappedACSURL: String?
    /// Consecutive failed sessions (RetryCount of the Inform), kept across reboot.
    public var retryCount: Int
    /// Undelivered events, oldest first.
    public var pendingEvents: [PendingEvent]
    /// Parameter path → attributes, for the parameters whose attributes differ from the defaults.
    public var attributes: [String: ParameterAttribute]
    /// Table path (`Device.IP.Interface.`, `Device.IP.Interface.1.IPv4Address.`) → the next instance number.
    public var instanceCounters: [String: UInt32]
    /// Ordered by table, then instance.
    public var aliases: [InstanceAlias]
    /// Ordered by id, that is by acceptance.
    public var transfers: [StoredTransfer]
    /// Parameter path → stored value.
    public var parameterValues: [String: StoredParameterValue]
    /// Which provider row each instance number names, ordered by table, then instance.
    public var instanceKeys: [InstanceKey]
    /// CPE requests owed to the ACS, ordered by id, that is by acceptance.
    public var requests: [StoredCPERequest]
    /// Parameter path → Notification (1…6) of the value changes no acknowledged Inform has reported yet.
    public var pendingValueChanges: [String: Int] = [:]
    /// ScheduleInform requests not yet due, in acceptance order.
    public var scheduledInforms: [StoredScheduledInform] = []

    public init(agentID: String, parameterKey: String = "", bootstrappedACSURL: String? = nil, retryCount: Int = 0,
                pendingEvents: [PendingEvent] = [], attributes: [String: ParameterAttribute] = [:],
                instanceCounters: [String: UInt32] = [:], aliases: [InstanceAlias] = [],
                transfers: [StoredTransfer] = [], parameterValues: [String: StoredParameterValue] = [:],
                instanceKeys: [InstanceKey] = [], requests: [StoredCPERequest] = []) {
        self.agentID = agentID
        self.parameterKey = parameterKey
        self.bootstrappedACSURL = bootstrappedACSURL
        self.retryCount = retryCount
        self.pendingEvents = pendingEvents
        self.attributes = attributes
        self.instanceCounters = instanceCounters
        self.aliases = aliases
        self.transfers = transfers
        self.parameterValues = parameterValues
        self.instanceKeys = instanceKeys
        self.requests = requests
    }
}

/// One change to an agent's state. `AgentStore.apply(_:to:)` applies a list of them in one transaction, so the
/// effects of one RPC (values plus ParameterKey, an AddObject's instance number plus ParameterKey, a transfer's
/// completion plus its events) become durable together or not at all.
public enum AgentChange: Hashable, Sendable {
    /// Appends an event; its sequence number is returned in `AppliedChanges.eventSequences`.
    case appendEvent(code: String, commandKey: String)
    /// Deletes the pending events with a sequence number up to and including this one. See
    /// `AgentStore.acknowledgeEvents(of:upTo:)` for the delivery guarantee.
    case acknowledgeEvents(upTo: Int64)
    /// Deletes the pending events with these codes (at boot: `PendingEvent.droppedAtBoot`; at BOOTSTRAP: the ones
    /// tied to the old ACS).
    case discardEvents(codes: Set<String>)
    case setParameterKey(String)
    /// `nil` forgets the URL, so the next contact is a BOOTSTRAP again (factory reset).
    case setBootstrappedACSURL(String?)
    case setRetryCount(Int)
    case setAttribute(path: String, ParameterAttribute)
    case removeAttribute(path: String)
    case setValue(path: String, StoredParameterValue)
    case removeValue(path: String)
    /// DeleteObject of `objectPath` (with its trailing dot): removes the attributes, values, aliases and instance
    /// counters below it. The alias of the deleted instance itself lives in its parent table: remove it with
    /// `removeAlias`.
    case removeSubtree(objectPath: String)
    /// Takes the next instance number of `table` and advances its counter; the number is returned in
    /// `AppliedChanges.instanceNumbers`. Numbers are never handed out twice.
    case allocateInstance(table: String)
    /// Raises the counter of `table` to `next` if it is lower; a lower `next` is ignored, counters never decrease.
    case raiseInstanceCounter(table: String, next: UInt32)
    case setAlias(InstanceAlias)
    case removeAlias(table: String, instance: UInt32)
    /// Stores a new pending transfer; its id is returned in `AppliedChanges.transferIDs`.
    case addTransfer(PendingTransfer)
    case updateTransfer(id: Int64, PendingTransfer)
    /// After the ACS acknowledged the TransferComplete.
    case removeTransfer(id: Int64)
    /// Records which provider row an instance number names (a new instance, or one restored under a new key).
    /// Only rows the provider listed get one, so the map never holds a number twice nor a key twice per table.
    case setInstanceKey(InstanceKey)
    /// The instance is gone (DeleteObject, or its provider stopped listing it): forgets its key and alias, and the
    /// keys, aliases and counters of every table below it. The table's counter stays, so the number is never
    /// handed out again. Attributes and values below it are the caller's (`removeSubtree`, `removeAttribute`).
    case removeInstance(table: String, instance: UInt32)
    /// Stores a CPE request owed to the ACS; its id is returned in `AppliedChanges.requestIDs`.
    case addRequest(PendingCPERequest)
    /// After the ACS answered the request (or refused it for good); also removes the pending transfer the
    /// request reported, if any.
    case removeRequest(id: Int64)
    /// A parameter with Notification 1…6 changed and the ACS has not been told yet (replaces the notification
    /// if the path is pending already).
    case setValueChange(path: String, notification: Int)
    /// The change of `path` was in an acknowledged Inform (or is void: reboot, factory reset).
    case removeValueChange(path: String)
    /// A ScheduleInform the ACS called, not yet due.
    case addScheduledInform(StoredScheduledInform)
    /// One stored row equal to this one: it fell due (its events are appended in the same transaction) or is void.
    case removeScheduledInform(StoredScheduledInform)
}

/// A ScheduleInform not yet due: when (milliseconds since the Unix epoch) and with which CommandKey.
public struct StoredScheduledInform: Hashable, Sendable {
    public var dueMilliseconds: Int64
    public var commandKey: String

    public init(dueMilliseconds: Int64, commandKey: String) {
        self.dueMilliseconds = dueMilliseconds
        self.commandKey = commandKey
    }
}

/// What the store assigned while applying a list of `AgentChange`s, in the order of the changes that asked.
public struct AppliedChanges: Hashable, Sendable {
    public var eventSequences: [Int64] = []
    public var instanceNumbers: [UInt32] = []
    public var transferIDs: [Int64] = []
    public var requestIDs: [Int64] = []

    public init(eventSequences: [Int64] = [], instanceNumbers: [UInt32] = [], transferIDs: [Int64] = [],
                requestIDs: [Int64] = []) {
        self.eventSequences = eventSequences
        self.instanceNumbers = instanceNumbers
        self.transferIDs = transferIDs
        self.requestIDs = requestIDs
    }
}

/// The provider row an instance number names: `Device.IP.Interface.` instance 3 is the row the provider keys `"7"`.
public struct InstanceKey: Hashable, Sendable {
    /// The table path with its trailing dot and instance numbers, `Device.IP.Interface.3.IPv4Address.`.
    public var table: String
    public var instance: UInt32
    /// The provider's native key (an SNMP ifIndex, a UPnP DM instance number, a dictionary key).
    public var key: String

    public init(table: String, instance: UInt32, key: String) {
        self.table = table
        self.instance = instance
        self.key = key
    }
}

/// A CPE → ACS request the agent owes the ACS (TransferComplete, AutonomousTransferComplete,
/// DUStateChangeComplete, …), as the SOAP envelope that carries it. The store does not look inside; the agent
/// encodes and decodes it with the CWMP codec.
public struct PendingCPERequest: Hashable, Sendable {
    /// The RPC name (`TransferComplete`), for diagnostics and the CHECK constraint.
    public var method: String
    /// The whole envelope, UTF-8.
    public var envelope: String
    /// The pending transfer this request reports, removed together with it.
    public var transferID: Int64?

    public init(method: String, envelope: String, transferID: Int64? = nil) {
        self.method = method
        self.envelope = envelope
        self.transferID = transferID
    }
}

/// A pending CPE request together with the id the store gave it.
public struct StoredCPERequest: Hashable, Sendable {
    public var id: Int64
    public var request: PendingCPERequest

    public init(id: Int64, request: PendingCPERequest) {
        self.id = id
        self.request = request
    }
}
