// The gateway's `Device.ManagementServer.` settings as one value: what the agent acts on (ACS URL and
// credentials, periodic informs, retry policy, connection-request credentials, heartbeat) and what is persisted.
// The provider serves and changes exactly this value, so every writable parameter really takes effect: the agent
// is told about each change (`ManagementServerSettingsChange`) and reads nothing else.
//
// Passwords (`password`, `connectionRequestPassword`) never appear in `description`, `debugDescription` or a
// `Mirror` (so not in `print`, `dump`, string interpolation or a log line that interpolates the settings).
import CWMPClient

/// `Device.ManagementServer.` values the ACS may write, in TR-181's words.
public struct ManagementServerSettings: Hashable, Sendable {
    /// `InstanceMode`: how the CPE names instances in its answers.
    public enum InstanceMode: String, Hashable, Sendable, CaseIterable {
        case instanceNumber = "InstanceNumber"
        case instanceAlias = "InstanceAlias"
    }

    /// `AutonomousTransferCompletePolicy.`
    public struct AutonomousTransferCompletePolicy: Hashable, Sendable {
        public var enable: Bool
        /// Upload, Download, Both.
        public var transferTypeFilter: String
        /// Success, Failure, Both.
        public var resultTypeFilter: String
        /// Comma-separated file types (`1 Firmware Upgrade Image`, …); empty excludes every file type (TR-181 ✔:
        /// "{{empty}} indicates that all file types are excluded from this filter").
        public var fileTypeFilter: String

        public init(enable: Bool = false, transferTypeFilter: String = "Both", resultTypeFilter: String = "Both",
                    fileTypeFilter: String = "") {
            self.enable = enable
            self.transferTypeFilter = transferTypeFilter
            self.resultTypeFilter = resultTypeFilter
            self.fileTypeFilter = fileTypeFilter
        }

        /// Whether an AutonomousTransferComplete (`10 AUTONOMOUS TRANSFER COMPLETE`) is reported to the ACS: only
        /// when Enable is true and the transfer passes all three filters (TR-181 ✔: types, results and file types
        /// not indicated "MUST NOT be included"). A backup counts as an Upload, a restore as a Download.
        public func includes(_ transfer: AutonomousTransferComplete) -> Bool {
            guard enable else { return false }
            switch transferTypeFilter {
            case "Upload": guard !transfer.isDownload else { return false }
            case "Download": guard transfer.isDownload else { return false }
            default: break
            }
            let succeeded = transfer.fault.faultCode == 0
            switch resultTypeFilter {
            case "Success": guard succeeded else { return false }
            case "Failure": guard !succeeded else { return false }
            default: break
            }
            let fileTypes = fileTypeFilter.split(separator: ",").map { String($0.trimmingASCIIWhitespace()) }
            return fileTypes.contains(transfer.fileType)
        }
    }

    /// `HeartbeatPolicy.` (Annex O).
    public struct HeartbeatPolicy: Hashable, Sendable {
        public var enable: Bool
        /// Seconds, at least 30.
        public var reportingInterval: UInt32
        /// A dateTime; Unknown Time means "no fixed phase".
        public var initiationTime: String

        public init(enable: Bool = false, reportingInterval: UInt32 = 30, initiationTime: String = ParameterSchema.unknownTime) {
            self.enable = enable
            self.reportingInterval = reportingInterval
            self.initiationTime = initiationTime
        }
    }

    /// One row of `InformParameter.{i}.`: a parameter to add to Informs carrying the listed events.
    public struct InformParameter: Hashable, Sendable {
        /// The provider's key of the row (stable; the engine maps it to the CWMP instance number and Alias).
        public var key: String
        public var enable: Bool
        /// A full parameter path, or empty.
        public var parameterName: String
        /// Event codes (`1 BOOT`, `2 PERIODIC`, …); empty means every Inform.
        public var eventList: [String]

        public init(key: String, enable: Bool = false, parameterName: String = "", eventList: [String] = []) {
            self.key = key
            self.enable = enable
            self.parameterName = parameterName
            self.eventList = eventList
        }
    }

    public var enableCWMP: Bool
    public var url: String
    public var username: String
    public var password: String
    public var periodicInformEnable: Bool
    /// Seconds, at least 1.
    public var periodicInformInterval: UInt32
    /// A dateTime; Unknown Time means "no fixed phase".
    public var periodicInformTime: String
    public var connectionRequestUsername: String
    public var connectionRequestPassword: String
    public var upgradesManaged: Bool
    /// Seconds between active-notification sessions.
    public var defaultActiveNotificationThrottle: UInt32
    /// Seconds, 1…65535 (TR-069 §3.2.1.1, default 5).
    public var cwmpRetryMinimumWaitInterval: UInt32
    /// Thousandths, 1000…65535 (default 2000).
    public var cwmpRetryIntervalMultiplier: UInt32
    public var httpConnectionRequestEnable: Bool
    /// Only `instanceNumber`: the engine names instances by number in its answers (aliases are accepted in requests).
    public var instanceMode: InstanceMode
    /// Only `false` is supported: the engine does not create instances from SetParameterValues.
    public var autoCreateInstances: Bool
    public var manageableDeviceNotificationLimit: UInt32
    /// Only `Disabled`: the gateway's HTTP client does not compress requests (HTTPCompressionSupported is empty).
    public var httpCompression: String
    public var autonomousTransferCompletePolicy: AutonomousTransferCompletePolicy
    public var heartbeatPolicy: HeartbeatPolicy
    public var informParameters: [InformParameter]

    public init(enableCWMP: Bool = true, url: String = "", username: String = "", password: String = "",
                periodicInformEnable: Bool = true, periodicInformInterval: UInt32 = 3600,
                periodicInformTime: String = ParameterSchema.unknownTime,
                connectionRequestUsername: String = "", connectionRequestPassword: String = "",
                upgradesManaged: Bool = false, defaultActiveNotificationThrottle: UInt32 = 0,
                cwmpRetryMinimumWaitInterval: UInt32 = 5, cwmpRetryIntervalMultiplier: UInt32 = 2000,
                httpConnectionRequestEnable: Bool = true, instanceMode: InstanceMode = .instanceNumber,
                autoCreateInstances: Bool = false, manageableDeviceNotificationLimit: UInt32 = 0,
                httpCompression: String = "Disabled",
                autonomousTransferCompletePolicy: AutonomousTransferCompletePolicy = AutonomousTransferCompletePolicy(),
                heartbeatPolicy: HeartbeatPolicy = HeartbeatPolicy(), informParameters: [InformParameter] = []) {
        self.enableCWMP = enableCWMP
        self.url = url
        self.username = username
        self.password = password
        self.periodicInformEnable = periodicInformEnable
        self.periodicInformInterval = periodicInformInterval
        self.periodicInformTime = periodicInformTime
        self.connectionRequestUsername = connectionRequestUsername
        self.connectionRequestPassword = connectionRequestPassword
        self.upgradesManaged = upgradesManaged
        self.defaultActiveNotificationThrottle = defaultActiveNotificationThrottle
        self.cwmpRetryMinimumWaitInterval = cwmpRetryMinimumWaitInterval
        self.cwmpRetryIntervalMultiplier = cwmpRetryIntervalMultiplier
        self.httpConnectionRequestEnable = httpConnectionRequestEnable
        self.instanceMode = instanceMode
        self.autoCreateInstances = autoCreateInstances
        self.manageableDeviceNotificationLimit = manageableDeviceNotificationLimit
        self.httpCompression = httpCompression
        self.autonomousTransferCompletePolicy = autonomousTransferCompletePolicy
        self.heartbeatPolicy = heartbeatPolicy
        self.informParameters = informParameters
    }
}

// MARK: - Parameters

extension ManagementServerSettings {
    /// A writable single-instance parameter: its name below `Device.ManagementServer.`, how to read it, and how to
    /// set it from a value the engine has already checked against the schema (returns a reason when the value is
    /// refused for a semantic rule the schema cannot express).
    struct Field: Sendable {
        var get: @Sendable (ManagementServerSettings) -> String
        var set: @Sendable (inout ManagementServerSettings, String) -> String?
        /// The xsd type name the value is stored with (`StoredParameterValue.type`).
        var type: String = "string"
    }

    static func boolean(_ keyPath: WritableKeyPath<ManagementServerSettings, Bool> & Sendable) -> Field {
        Field(get: { String($0[keyPath: keyPath]) }, set: { settings, value in
            guard let parsed = parseBoolean(value) else { return "not a boolean" }
            settings[keyPath: keyPath] = parsed
            return nil
        }, type: "boolean")
    }

    static func text(_ keyPath: WritableKeyPath<ManagementServerSettings, String> & Sendable, type: String = "string",
                     check: @escaping @Sendable (String) -> String? = { _ in nil }) -> Field {
        Field(get: { $0[keyPath: keyPath] }, set: { settings, value in
            if let reason = check(value) { return reason }
            settings[keyPath: keyPath] = value
            return nil
        }, type: type)
    }

    static func number(_ keyPath: WritableKeyPath<ManagementServerSettings, UInt32> & Sendable,
                       _ range: ClosedRange<UInt32> = 0...UInt32.max) -> Field {
        Field(get: { String($0[keyPath: keyPath]) }, set: { settings, value in
            guard let parsed = UInt32(value), range.contains(parsed) else {
                return "must be an unsignedInt in \(range.lowerBound)…\(range.upperBound)"
            }
            settings[keyPath: keyPath] = parsed
            return nil
        }, type: "unsignedInt")
    }

    static func parseBoolean(_ value: String) -> Bool? {
        switch value {
        case "true", "1": true
        case "false", "0": false
        default: nil
        }
    }

    static func checkDateTime(_ value: String) -> String? {
        XSDDateTime.isValid(value) ? nil : "must be a dateTime"
    }

    /// TR-069 §3.1: the ACS URL is an absolute HTTP or HTTPS URL with a host. The value is not echoed in the
    /// reason: it may carry credentials in its userinfo part.
    static func checkACSURL(_ value: String) -> String? {
        let lowered = value.lowercased()
        let rest: Substring
        if lowered.hasPrefix("https://") {
            rest = value.dropFirst(8)
        } else if lowered.hasPrefix("http://") {
            rest = value.dropFirst(7)
        } else {
            return "must be an absolute http or https URL"
        }
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        let host = authority.split(separator: "@", omittingEmptySubsequences: false).last ?? ""
        guard !host.isEmpty, !host.hasPrefix(":") else { return "must name a host" }
        guard value.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value != 0x7F }) else {
            return "must not contain spaces or control characters"
        }
        return nil
    }

    /// The writable single-instance parameters, by name below `Device.ManagementServer.`.
    static let fields: [String: Field] = [
        "EnableCWMP": boolean(\.enableCWMP),
        "URL": text(\.url, check: checkACSURL),
        "Username": text(\.username),
        "Password": text(\.password),
        "PeriodicInformEnable": boolean(\.periodicInformEnable),
        "PeriodicInformInterval": number(\.periodicInformInterval, 1...UInt32.max),
        "PeriodicInformTime": text(\.periodicInformTime, type: "dateTime", check: checkDateTime),
        "ConnectionRequestUsername": text(\.connectionRequestUsername),
        "ConnectionRequestPassword": text(\.connectionRequestPassword),
        "UpgradesManaged": boolean(\.upgradesManaged),
        "DefaultActiveNotificationThrottle": number(\.defaultActiveNotificationThrottle),
        "CWMPRetryMinimumWaitInterval": number(\.cwmpRetryMinimumWaitInterval, 1...65535),
        "CWMPRetryIntervalMultiplier": number(\.cwmpRetryIntervalMultiplier, 1000...65535),
        "HTTPConnectionRequestEnable": boolean(\.httpConnectionRequestEnable),
        "InstanceMode": Field(get: { $0.instanceMode.rawValue }, set: { settings, value in
            guard let mode = InstanceMode(rawValue: value) else { return "must be InstanceNumber or InstanceAlias" }
            // The engine answers with instance numbers only; accepting InstanceAlias would be a setting without effect.
            guard mode == .instanceNumber else { return "InstanceAlias is not supported" }
            settings.instanceMode = mode
            return nil
        }),
        "AutoCreateInstances": Field(get: { String($0.autoCreateInstances) }, set: { settings, value in
            guard let parsed = parseBoolean(value) else { return "not a boolean" }
            guard !parsed else { return "automatic creation of instances is not supported" }
            settings.autoCreateInstances = parsed
            return nil
        }, type: "boolean"),
        "ManageableDeviceNotificationLimit": number(\.manageableDeviceNotificationLimit),
        "HTTPCompression": text(\.httpCompression, check: { $0 == "Disabled" ? nil : "only Disabled is supported" }),
        "AutonomousTransferCompletePolicy.Enable": boolean(\.autonomousTransferCompletePolicy.enable),
        "AutonomousTransferCompletePolicy.TransferTypeFilter": text(\.autonomousTransferCompletePolicy.transferTypeFilter, check: {
            ["Upload", "Download", "Both"].contains($0) ? nil : "must be Upload, Download or Both"
        }),
        "AutonomousTransferCompletePolicy.ResultTypeFilter": text(\.autonomousTransferCompletePolicy.resultTypeFilter, check: {
            ["Success", "Failure", "Both"].contains($0) ? nil : "must be Success, Failure or Both"
        }),
        "AutonomousTransferCompletePolicy.FileTypeFilter": text(\.autonomousTransferCompletePolicy.fileTypeFilter),
        "HeartbeatPolicy.Enable": boolean(\.heartbeatPolicy.enable),
        "HeartbeatPolicy.ReportingInterval": number(\.heartbeatPolicy.reportingInterval, 30...UInt32.max),
        "HeartbeatPolicy.InitiationTime": text(\.heartbeatPolicy.initiationTime, type: "dateTime", check: checkDateTime),
    ]

    /// Names of the InformParameter row parameters the settings hold (Alias belongs to the engine).
    static let informParameterFields = ["Enable", "ParameterName", "EventList"]

    /// Sets a parameter of an InformParameter row; returns a reason when refused.
    static func setInformParameter(_ name: String, of row: inout InformParameter, to value: String) -> String? {
        switch name {
        case "Enable":
            guard let parsed = parseBoolean(value) else { return "not a boolean" }
            row.enable = parsed
        case "ParameterName":
            if !value.isEmpty {
                guard let path = try? DataModelPath(parsing: value), !path.isPartial, path.isInstanceNumberForm else {
                    return "must be a full parameter name with instance numbers, or empty"
                }
            }
            row.parameterName = value
        case "EventList":
            let items = value.isEmpty ? [] : value.split(separator: ",", omittingEmptySubsequences: false).map {
                String($0.trimmingASCIIWhitespace())
            }
            guard items.allSatisfy({ !$0.isEmpty }) else { return "event codes must not be empty" }
            row.eventList = items
        default:
            return "not writable"
        }
        return nil
    }

    static func informParameterValue(_ name: String, of row: InformParameter) -> String? {
        switch name {
        case "Enable": String(row.enable)
        case "ParameterName": row.parameterName
        case "EventList": row.eventList.joined(separator: ",")
        default: nil
        }
    }

    /// Rules across values: two enabled InformParameter rows may not name the same parameter (TR-181 unique key
    /// ParameterName, which applies to enabled rows). Returns the keys of offending rows.
    func duplicateInformParameterKeys() -> [String] {
        var seen: Set<String> = []
        var duplicates: [String] = []
        for row in informParameters where row.enable && !row.parameterName.isEmpty {
            if !seen.insert(row.parameterName).inserted { duplicates.append(row.key) }
        }
        return duplicates
    }

    /// Checks a whole settings value (as configured at start-up) with the same rules SetParameterValues applies.
    /// An empty URL is allowed here: the ACS may be learnt later (DHCP option 43), but the ACS cannot set it empty.
    public func validate() throws(ProxierError) {
        for (name, field) in Self.fields.sorted(by: { $0.key < $1.key }) {
            let value = field.get(self)
            if name == "URL", value.isEmpty { continue }
            var copy = self
            if let reason = field.set(&copy, value) {
                throw ProxierError(.invalidValue, "ManagementServer.\(name) \(reason)")
            }
        }
        for row in informParameters {
            var copy = row
            for name in Self.informParameterFields {
                if let value = Self.informParameterValue(name, of: row), let reason = Self.setInformParameter(name, of: &copy, to: value) {
                    throw ProxierError(.invalidValue, "ManagementServer.InformParameter.\(name) \(reason)")
                }
            }
        }
        guard duplicateInformParameterKeys().isEmpty else {
            throw ProxierError(.invalidValue, "two enabled InformParameter rows name the same parameter")
        }
        guard Set(informParameters.map(\.key)).count == informParameters.count else {
            throw ProxierError(.invalidValue, "InformParameter keys must be unique")
        }
    }

    /// Names (below `Device.ManagementServer.`) of the parameters whose values differ; InformParameter rows are
    /// named by key (`InformParameter.{key}.Enable`), added and removed rows as `InformParameter.{key}.`.
    public func changedParameters(comparedTo other: ManagementServerSettings) -> [String] {
        var names = Self.fields.keys.sorted().filter { Self.fields[$0]!.get(self) != Self.fields[$0]!.get(other) }
        let mine = Dictionary(informParameters.map { ($0.key, $0) }, uniquingKeysWith: { first, _ in first })
        let theirs = Dictionary(other.informParameters.map { ($0.key, $0) }, uniquingKeysWith: { first, _ in first })
        for key in Set(mine.keys).union(theirs.keys).sorted() {
            switch (mine[key], theirs[key]) {
            case let (row?, otherRow?):
                for name in Self.informParameterFields
                where Self.informParameterValue(name, of: row) != Self.informParameterValue(name, of: otherRow) {
                    names.append("InformParameter.{\(key)}.\(name)")
                }
            case (nil, _), (_, nil):
                names.append("InformParameter.{\(key)}.")
            }
        }
        return names
    }
}

// MARK: - Redacted descriptions

extension ManagementServerSettings: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    static func redacted(_ secret: String) -> String { secret.isEmpty ? "<empty>" : "<redacted>" }

    public var description: String {
        var parts: [String] = []
        for name in Self.fields.keys.sorted() {
            let value = Self.fields[name]!.get(self)
            parts.append("\(name): " + (Self.securedFields.contains(name) ? Self.redacted(value) : value.debugDescription))
        }
        parts.append("InformParameter: [" + informParameters.map {
            "{\($0.key)}: \($0.enable) \($0.parameterName.debugDescription) [\($0.eventList.joined(separator: ","))]"
        }.joined(separator: ", ") + "]")
        return "ManagementServerSettings(" + parts.joined(separator: ", ") + ")"
    }

    public var debugDescription: String { description }

    public var customMirror: Mirror {
        var children: [(label: String?, value: Any)] = []
        for name in Self.fields.keys.sorted() {
            let value = Self.fields[name]!.get(self)
            children.append((name, Self.securedFields.contains(name) ? Self.redacted(value) : value))
        }
        children.append(("InformParameter", informParameters))
        return Mirror(self, children: children, displayStyle: .struct)
    }

    /// Parameters hidden on read and in descriptions (`isSecured` in the schema).
    static let securedFields: Set<String> = ["Password", "ConnectionRequestPassword"]
}

/// What the agent is told after the settings changed.
public struct ManagementServerSettingsChange: Sendable, CustomStringConvertible {
    /// Who changed them.
    public enum Origin: Hashable, Sendable {
        /// The ACS, through SetParameterValues, AddObject or DeleteObject.
        case acs
        /// The gateway itself (`ManagementServerProvider.update`), e.g. a configuration reload or DHCP.
        case local
        /// A FactoryReset (`ManagementServerProvider.resetToFactoryDefaults`): stored as a local change (the stored
        /// values are forgotten); the owning agent applies the restored settings itself, as part of the reset.
        case factoryReset
    }

    public var previous: ManagementServerSettings
    public var current: ManagementServerSettings
    public var origin: Origin
    /// Names below `Device.ManagementServer.` of what changed (see `changedParameters(comparedTo:)`).
    public var changedParameters: [String]

    /// A new ACS URL: the next session goes to it with the `0 BOOTSTRAP` event (TR-069 §3.7.1.5).
    public var acsURLChanged: Bool { previous.url != current.url }
    /// Re-arm the periodic inform timer.
    public var periodicInformChanged: Bool {
        previous.periodicInformEnable != current.periodicInformEnable
            || previous.periodicInformInterval != current.periodicInformInterval
            || previous.periodicInformTime != current.periodicInformTime
    }
    /// Credentials the gateway uses towards the ACS.
    public var acsCredentialsChanged: Bool { previous.username != current.username || previous.password != current.password }
    /// The connection-request server must take new credentials, or open or close its port.
    public var connectionRequestChanged: Bool {
        previous.connectionRequestUsername != current.connectionRequestUsername
            || previous.connectionRequestPassword != current.connectionRequestPassword
            || previous.httpConnectionRequestEnable != current.httpConnectionRequestEnable
    }
    /// The session retry back-off (TR-069 §3.2.1.1) changed.
    public var retryPolicyChanged: Bool {
        previous.cwmpRetryMinimumWaitInterval != current.cwmpRetryMinimumWaitInterval
            || previous.cwmpRetryIntervalMultiplier != current.cwmpRetryIntervalMultiplier
    }
    public var heartbeatPolicyChanged: Bool { previous.heartbeatPolicy != current.heartbeatPolicy }
    public var informParametersChanged: Bool { previous.informParameters != current.informParameters }

    public var description: String {
        "ManagementServerSettingsChange(origin: \(origin), changed: \(changedParameters.joined(separator: ", ")))"
    }
}
