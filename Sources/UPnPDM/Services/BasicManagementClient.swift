// BasicManagement:2 (upnp-dm.md §3): reboot, baseline reset, device status, and the diagnostics tests.
// A test runs asynchronously on the device: the start action (Ping, NSLookup, Traceroute) answers a TestID, the
// control point polls GetTestInfo until the test is Completed (or Canceled), then reads Get…Result. Faults seen on
// Rygel: 706 No Such Test, 707 Wrong Test Type, 708 Invalid Test State (no result yet), 709 State Precludes Cancel.

/// A string-valued enumeration a device may extend: known values are constants, unknown ones pass through.
public protocol DMOpenEnumeration: RawRepresentable, Hashable, Sendable where RawValue == String {
    init(rawValue: String)
}

/// `A_ARG_TYPE_RebootStatus`.
public struct BMSRebootStatus: DMOpenEnumeration {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public static let rebootNow = Self(rawValue: "RebootNow")
    public static let rebootLater = Self(rawValue: "RebootLater")
}

/// `A_ARG_TYPE_TestType`.
public struct BMSTestType: DMOpenEnumeration {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public static let ping = Self(rawValue: "Ping")
    public static let nsLookup = Self(rawValue: "NSLookup")
    public static let traceroute = Self(rawValue: "Traceroute")
    public static let bandwidthTest = Self(rawValue: "BandwidthTest")
    public static let interfaceReset = Self(rawValue: "InterfaceReset")
    public static let selfTest = Self(rawValue: "SelfTest")
}

/// `A_ARG_TYPE_TestState`.
public struct BMSTestState: DMOpenEnumeration {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public static let requested = Self(rawValue: "Requested")
    public static let inProgress = Self(rawValue: "InProgress")
    public static let canceled = Self(rawValue: "Canceled")
    public static let completed = Self(rawValue: "Completed")

    /// Completed or Canceled: the state will not change any more.
    public var isFinal: Bool { self == .completed || self == .canceled }
}

/// `Status` of a test result (`A_ARG_TYPE_PingStatus`, `…NSLookupStatus`, `…TracerouteStatus`): `Success` or an
/// `Error_…` value, which maps onto TR-181 DiagnosticsState names.
public struct BMSTestStatus: DMOpenEnumeration {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public static let success = Self(rawValue: "Success")
    public static let errorCannotResolveHostName = Self(rawValue: "Error_CannotResolveHostName")
    public static let errorDNSServerNotResolved = Self(rawValue: "Error_DNSServerNotResolved")
    public static let errorMaxHopCountExceeded = Self(rawValue: "Error_MaxHopCountExceeded")
    public static let errorInternal = Self(rawValue: "Error_Internal")
    public static let errorOther = Self(rawValue: "Error_Other")
}

/// GetPingResult's out-arguments (times in milliseconds).
public struct BMSPingResult: Hashable, Sendable {
    public var status: BMSTestStatus
    public var additionalInfo: String
    public var successCount: UInt32
    public var failureCount: UInt32
    public var averageResponseTime: UInt32
    public var minimumResponseTime: UInt32
    public var maximumResponseTime: UInt32
}

/// GetTracerouteResult's out-arguments; HopHosts is a CSV list on the wire.
public struct BMSTracerouteResult: Hashable, Sendable {
    public var status: BMSTestStatus
    public var additionalInfo: String
    public var responseTime: UInt32
    public var hopHosts: [String]
}

/// GetNSLookupResult's out-arguments; `result` is the `A_ARG_TYPE_NSLookupResult` XML document, read into one
/// entry per answer.
public struct BMSNSLookupResult: Hashable, Sendable {
    public var status: BMSTestStatus
    public var additionalInfo: String
    public var successCount: UInt32
    public var result: [BMSDocuments.NSLookupAnswer]
}

/// The XML documents of BasicManagement:2 (namespace urn:schemas-upnp-org:dm:bms).
public enum BMSDocuments {
    /// One entry of the NSLookupResult document. The element names follow TR-143/TR-181
    /// `NSLookupDiagnostics.Result.{i}` (Status, AnswerType, HostNameReturned, IPAddresses, DNSServerIP,
    /// ResponseTime), which BMS:2 mirrors; the BMS:2 schema text was not available here (upnp-dm.md [R]), so every
    /// child element is also kept by name in `fields`.
    public struct NSLookupAnswer: Hashable, Sendable {
        public var fields: [String: String]
        public init(fields: [String: String]) { self.fields = fields }
        public var status: String? { fields["Status"] }
        public var answerType: String? { fields["AnswerType"] }
        public var hostNameReturned: String? { fields["HostNameReturned"] }
        /// `IPAddresses` is a CSV list.
        public var ipAddresses: [String] { DMValues.csv(fields["IPAddresses"] ?? "") }
        public var dnsServerIP: String? { fields["DNSServerIP"] }
        public var responseTime: UInt32? { fields["ResponseTime"].flatMap { UInt32($0) } }
    }

    /// Reads `NSLookupResult`: a root `bms:NSLookupResult` whose children (`Result`) each hold one answer's fields.
    public static func parseNSLookupResult(_ text: String, limits: DMDocumentLimits = .init()) throws(UPnPDMError) -> [NSLookupAnswer] {
        if DMXML.trimmed(text).isEmpty { return [] }
        let tree = try DMXML.parse(text, root: "NSLookupResult", limits: limits)
        return tree.children.map { entry in
            var fields: [String: String] = [:]
            for field in entry.children where fields[field.name] == nil { fields[field.name] = DMXML.trimmed(field.text) }
            return NSLookupAnswer(fields: fields)
        }
    }

    /// Writes `NSLookupResult` (for peers and tests); fields in the given order of keys.
    public static func nsLookupResult(_ answers: [[(String, String)]]) throws(UPnPDMError) -> String {
        try DMXML.document(prefix: "bms", root: "NSLookupResult", namespace: "urn:schemas-upnp-org:dm:bms",
                           schemaLocation: "http://www.upnp.org/schemas/dm/bms.xsd") { writer throws(UPnPDMError) in
            for answer in answers {
                try writer.startElement("Result")
                for (name, value) in answer { try writer.element(name, value) }
                try writer.endElement()
            }
        }
    }
}

/// A typed client of one device's BasicManagement service.
public struct BasicManagementClient: Sendable {
    public static let serviceType = "urn:schemas-upnp-org:service:BasicManagement:2"

    public let invoker: any UPnPActionInvoking
    public let service: UPnPServiceEndpoint
    public let limits: DMDocumentLimits

    public init(invoker: any UPnPActionInvoking, service: UPnPServiceEndpoint, limits: DMDocumentLimits = .init()) {
        self.invoker = invoker
        self.service = service
        self.limits = limits
    }

    /// Where to run a sequence of this service's actions (the device's event loop; see
    /// `UPnPActionInvoking.preferredExecutor(for:)`), nil when it does not matter.
    public var preferredExecutor: (any TaskExecutor)? { invoker.preferredExecutor(for: service) }

    private func call(_ action: String, _ arguments: [(String, String)] = []) async throws -> DMActionAnswer {
        try await invoker.call(action, arguments, on: service)
    }

    /// Reboot → RebootStatus (`RebootLater`: accepted, deferred).
    public func reboot() async throws -> BMSRebootStatus {
        BMSRebootStatus(rawValue: try await call("Reboot").token("RebootStatus"))
    }

    /// BaselineReset: back to the baseline ("factory") configuration. No out-arguments.
    public func baselineReset() async throws {
        _ = try await call("BaselineReset")
    }

    /// GetDeviceStatus → DeviceStatus as the device wrote it (Rygel: `OK,2026-11-23T12:37:21Z`).
    public func getDeviceStatus() async throws -> String {
        try await call("GetDeviceStatus").string("DeviceStatus")
    }

    /// Ping(Host, NumberOfRepetitions, Timeout ms, DataBlockSize, DSCP) → TestID.
    public func ping(host: String, numberOfRepetitions: UInt32, timeout: UInt32, dataBlockSize: UInt16, dscp: UInt8) async throws -> UInt32 {
        try Self.checkDSCP(dscp)
        return try await call("Ping", [
            ("Host", host), ("NumberOfRepetitions", String(numberOfRepetitions)), ("Timeout", String(timeout)),
            ("DataBlockSize", String(dataBlockSize)), ("DSCP", String(dscp)),
        ]).ui4("TestID")
    }

    /// GetPingResult(TestID).
    public func getPingResult(testID: UInt32) async throws -> BMSPingResult {
        let answer = try await call("GetPingResult", [("TestID", String(testID))])
        return BMSPingResult(
            status: BMSTestStatus(rawValue: try answer.token("Status")), additionalInfo: try answer.string("AdditionalInfo"),
            successCount: try answer.ui4("SuccessCount"), failureCount: try answer.ui4("FailureCount"),
            averageResponseTime: try answer.ui4("AverageResponseTime"),
            minimumResponseTime: try answer.ui4("MinimumResponseTime"),
            maximumResponseTime: try answer.ui4("MaximumResponseTime"))
    }

    /// NSLookup(HostName, DNSServer, NumberOfRepetitions, Timeout ms) → TestID.
    public func nsLookup(hostName: String, dnsServer: String, numberOfRepetitions: UInt32, timeout: UInt32) async throws -> UInt32 {
        try await call("NSLookup", [
            ("HostName", hostName), ("DNSServer", dnsServer), ("NumberOfRepetitions", String(numberOfRepetitions)),
            ("Timeout", String(timeout)),
        ]).ui4("TestID")
    }

    /// GetNSLookupResult(TestID).
    public func getNSLookupResult(testID: UInt32) async throws -> BMSNSLookupResult {
        let answer = try await call("GetNSLookupResult", [("TestID", String(testID))])
        return BMSNSLookupResult(
            status: BMSTestStatus(rawValue: try answer.token("Status")), additionalInfo: try answer.string("AdditionalInfo"),
            successCount: try answer.ui4("SuccessCount"),
            result: try BMSDocuments.parseNSLookupResult(try answer.string("Result"), limits: limits))
    }

    /// Traceroute(Host, Timeout ms, DataBlockSize, MaxHopCount, DSCP) → TestID.
    public func traceroute(host: String, timeout: UInt32, dataBlockSize: UInt16, maxHopCount: UInt32, dscp: UInt8) async throws -> UInt32 {
        try Self.checkDSCP(dscp)
        return try await call("Traceroute", [
            ("Host", host), ("Timeout", String(timeout)), ("DataBlockSize", String(dataBlockSize)),
            ("MaxHopCount", String(maxHopCount)), ("DSCP", String(dscp)),
        ]).ui4("TestID")
    }

    /// GetTracerouteResult(TestID).
    public func getTracerouteResult(testID: UInt32) async throws -> BMSTracerouteResult {
        let answer = try await call("GetTracerouteResult", [("TestID", String(testID))])
        return BMSTracerouteResult(
            status: BMSTestStatus(rawValue: try answer.token("Status")), additionalInfo: try answer.string("AdditionalInfo"),
            responseTime: try answer.ui4("ResponseTime"), hopHosts: DMValues.csv(try answer.string("HopHosts")))
    }

    /// GetTestIDs → TestIDs (every test the device knows).
    public func getTestIDs() async throws -> [UInt32] { try await call("GetTestIDs").ui4List("TestIDs") }

    /// GetActiveTestIDs → TestIDs (tests not yet finished).
    public func getActiveTestIDs() async throws -> [UInt32] { try await call("GetActiveTestIDs").ui4List("TestIDs") }

    /// GetTestInfo(TestID) → Type, State.
    public func getTestInfo(testID: UInt32) async throws -> (type: BMSTestType, state: BMSTestState) {
        let answer = try await call("GetTestInfo", [("TestID", String(testID))])
        return (BMSTestType(rawValue: try answer.token("Type")), BMSTestState(rawValue: try answer.token("State")))
    }

    /// CancelTest(TestID). No out-arguments.
    public func cancelTest(testID: UInt32) async throws {
        _ = try await call("CancelTest", [("TestID", String(testID))])
    }

    /// The test flow's wait: polls GetTestInfo every `interval` until the test is Completed or Canceled, at most
    /// `maximumPolls` times (the bound on the wait), and returns the final state. `sleep` is an input so tests
    /// need no wall clock. Throws `.deadlineExceeded` when the test is still running after the last poll.
    public func waitForTest(testID: UInt32, interval: Duration = .milliseconds(500), maximumPolls: Int = 60,
                            sleep: @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) })
        async throws -> BMSTestState {
        for poll in 0..<max(1, maximumPolls) {
            if poll > 0 { try await sleep(interval) }
            let state = try await getTestInfo(testID: testID).state
            if state.isFinal { return state }
        }
        throw UPnPDMError(.deadlineExceeded, "test \(testID) did not finish within \(maximumPolls) polls")
    }

    private static func checkDSCP(_ dscp: UInt8) throws(UPnPDMError) {
        guard dscp <= 63 else { throw UPnPDMError(.invalidArgument, "DSCP \(dscp) is outside 0…63") }
    }
}
