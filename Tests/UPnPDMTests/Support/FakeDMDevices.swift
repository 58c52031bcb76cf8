// Invokers for unit tests: a ConfigurationManagement device with CMS semantics written in Swift (the brief allows it
// for unit tests; the real round trips run against the async-upnp-client peer), and a scripted invoker for BMS/SMS
// that answers fixed out-arguments and records what it was sent.

import Testing
@testable import UPnPDM

/// One action as the device received it.
struct RecordedCall: Hashable, Sendable {
    var action: String
    var arguments: [UPnPActionArgument]

    func argument(_ name: String) -> String? { arguments.first { $0.name == name }?.value }
    var argumentNames: [String] { arguments.map(\.name) }
}

func dmFault(_ code: Int, _ description: String = "fault") -> UPnPDMError {
    UPnPDMError(.actionFailed, "UPnP fault", upnpErrorCode: code, upnpErrorDescription: description)
}

let cmsEndpoint = UPnPServiceEndpoint(serviceType: ConfigurationManagementClient.serviceType, controlURL: "http://192.0.2.77:4004/cms")
let bmsEndpoint = UPnPServiceEndpoint(serviceType: BasicManagementClient.serviceType, controlURL: "http://192.0.2.77:4004/bms")
let smsEndpoint = UPnPServiceEndpoint(serviceType: SoftwareManagementClient.serviceType, controlURL: "http://192.0.2.77:4004/sms")

/// A CMS:2 device in memory. Parameters are UPnP DM paths with instance numbers; tables are the partial paths of
/// multi-instance nodes (`/BBF/IP/Interface/`). Instance numbers start where the device likes (0 here) and are
/// reused after deletion, as real devices may do.
actor FakeCMSDevice: UPnPActionInvoking {
    var values: [String: String]
    var readOnly: Set<String>
    /// Table partial path → the child parameter names a new instance gets (with default values).
    var tables: [String: [String: String]]
    var attributes: [String: [DMNodeAttributeValues.Attribute]] = [:]
    var version: UInt32 = 1
    var setStatus: DMChangeStatus = .changesApplied
    var supportedDataModels = [DMSupportedDataModel(uri: "urn:broadband-forum-org:tr-181-2-19", location: "/BBF/",
                                                    url: "http://device/tr181.xml", description: "TR-181")]
    private(set) var calls: [RecordedCall] = []
    /// The next call of this action fails with this fault.
    private var faults: [String: UPnPDMError] = [:]

    init(values: [String: String], readOnly: Set<String> = [], tables: [String: [String: String]] = [:]) {
        self.values = values
        self.readOnly = readOnly
        self.tables = tables
    }

    func failNext(_ action: String, with error: UPnPDMError) { faults[action] = error }
    func setSetStatus(_ status: DMChangeStatus) { setStatus = status }
    func calls(of action: String) -> [RecordedCall] { calls.filter { $0.action == action } }

    func invoke(_ action: String, arguments: [UPnPActionArgument], on service: UPnPServiceEndpoint) async throws -> [UPnPActionArgument] {
        let call = RecordedCall(action: action, arguments: arguments)
        calls.append(call)
        if let fault = faults.removeValue(forKey: action) { throw fault }
        func out(_ pairs: (String, String)...) -> [UPnPActionArgument] { pairs.map { UPnPActionArgument(name: $0.0, value: $0.1) } }
        func arg(_ name: String) throws -> String {
            guard let value = call.argument(name) else { throw dmFault(402, "Invalid Args") }
            return value
        }
        switch action {
        case "GetSupportedDataModels":
            return out(("SupportedDataModels", try CMSDocuments.supportedDataModels(supportedDataModels)))
        case "GetSupportedParameters":
            let start = try arg("StartingNode")
            let structure = Set(values.keys.map(structurePath)).filter { $0.hasPrefix(start) }.sorted()
            return out(("Result", try CMSDocuments.structurePathList(structure)))
        case "GetInstances":
            let start = try arg("StartingNode")
            guard tables.keys.contains(where: { $0.hasPrefix(start) || start.hasPrefix($0) }) else { throw dmFault(703, "No Such Name") }
            return out(("Result", try CMSDocuments.instancePathList(instances(under: start))))
        case "GetValues":
            var answer: [DMParameterValue] = []
            for path in try CMSDocuments.parseContentPathList(try arg("Parameters")) {
                if path.hasSuffix("/") {
                    let below = values.keys.filter { $0.hasPrefix(path) }.sorted()
                    guard !below.isEmpty else { throw dmFault(703, "No Such Name \(path)") }
                    answer += below.map { DMParameterValue(path: $0, value: values[$0]!) }
                } else {
                    guard let value = values[path] else { throw dmFault(703, "No Such Name \(path)") }
                    answer.append(DMParameterValue(path: path, value: value))
                }
            }
            return out(("ParameterValueList", try CMSDocuments.parameterValueList(answer)))
        case "GetSelectedValues":
            let start = try arg("StartingNode")
            let below = values.keys.filter { structurePath($0).hasPrefix(start) }.sorted()
            return out(("ParameterValueList", try CMSDocuments.parameterValueList(below.map { DMParameterValue(path: $0, value: values[$0]!) })))
        case "SetValues":
            let changes = try CMSDocuments.parseParameterValueList(try arg("ParameterValueList"))
            // Atomic: check everything before changing anything.
            for change in changes where values[change.path] == nil { throw dmFault(703, "No Such Name") }
            for change in changes where readOnly.contains(change.path) { throw dmFault(706, "Read Only Violation: \(change.path)") }
            for change in changes { values[change.path] = change.value }
            version += 1
            return out(("Status", setStatus.rawValue))
        case "CreateInstance":
            let name = try arg("MultiInstanceName")
            _ = try CMSDocuments.parseParameterInitialValueList(try arg("ChildrenInitialization"))
            guard name.hasSuffix("#/") else { throw dmFault(701, "Invalid Argument Syntax") }
            let table = String(name.dropLast(2))
            guard let children = tables[table] else { throw dmFault(703, "No Such Name") }
            let used = instances(under: table).compactMap { DMPathMapping.instanceKey(of: $0, inTable: table) }.compactMap { UInt32($0) }
            let number = (used.max().map { $0 + 1 }) ?? 0
            for (child, value) in children { values["\(table)\(number)/\(child)"] = value }
            version += 1
            return out(("InstanceIdentifier", "\(table)\(number)/"), ("Status", setStatus.rawValue))
        case "DeleteInstance":
            let path = try arg("InstanceIdentifier")
            let below = values.keys.filter { $0.hasPrefix(path) }
            guard path.hasSuffix("/"), !below.isEmpty else { throw dmFault(703, "No Such Name") }
            for key in below { values[key] = nil }
            version += 1
            return out(("Status", setStatus.rawValue))
        case "GetAttributes":
            let nodes = try CMSDocuments.parseNodeAttributePathList(try arg("Parameters")).map { path in
                DMNodeAttributeValues(path: path, attributes: attributes[path] ?? [.init(name: "EventOnChange", value: "0")])
            }
            return out(("NodeAttributeValueList", try CMSDocuments.nodeAttributeValueList(nodes)))
        case "SetAttributes":
            for node in try CMSDocuments.parseNodeAttributeValueList(try arg("NodeAttributeValueList")) {
                guard values[node.path] != nil else { throw dmFault(703, "No Such Name") }
                attributes[node.path] = node.attributes
            }
            return out(("Status", DMChangeStatus.changesApplied.rawValue))
        case "GetConfigurationUpdate":
            return out(("StateVariableValue", try CMSDocuments.configurationUpdate(
                DMConfigurationUpdate(version: version, time: "2026-11-23T16:30:00Z"))))
        case "GetCurrentConfigurationVersion":
            return out(("StateVariableValue", String(version)))
        default:
            throw dmFault(401, "Invalid Action")
        }
    }

    /// Every instance path (`…/n/`) below `start`, at any depth, sorted.
    private func instances(under start: String) -> [String] {
        var found: Set<String> = []
        for key in values.keys where key.hasPrefix(start) {
            var prefix = ""
            let segments = key.split(separator: "/", omittingEmptySubsequences: false)
            for (index, segment) in segments.enumerated() {
                prefix += segment + (index < segments.count - 1 ? "/" : "")
                if index < segments.count - 1, DMPathMapping.isInstanceNumber(String(segment)), prefix.hasPrefix(start), prefix.count > start.count {
                    found.insert(prefix)
                }
            }
        }
        return found.sorted()
    }

    private func structurePath(_ path: String) -> String {
        path.split(separator: "/", omittingEmptySubsequences: false)
            .map { DMPathMapping.isInstanceNumber(String($0)) ? "#" : String($0) }.joined(separator: "/")
    }
}

/// Answers each action with fixed out-arguments (or a fault) and records the calls.
actor ScriptedInvoker: UPnPActionInvoking {
    private var answers: [String: [[UPnPActionArgument]]] = [:]
    private var faults: [String: UPnPDMError] = [:]
    private(set) var calls: [RecordedCall] = []

    /// Queues answers for an action; the last one repeats.
    func answer(_ action: String, _ pairs: [(String, String)]...) {
        answers[action, default: []] += pairs.map { $0.map { UPnPActionArgument(name: $0.0, value: $0.1) } }
    }

    func fail(_ action: String, with error: UPnPDMError) { faults[action] = error }

    func invoke(_ action: String, arguments: [UPnPActionArgument], on service: UPnPServiceEndpoint) async throws -> [UPnPActionArgument] {
        calls.append(RecordedCall(action: action, arguments: arguments))
        if let fault = faults[action] { throw fault }
        guard var queue = answers[action], let first = queue.first else { throw dmFault(401, "Invalid Action") }
        if queue.count > 1 { queue.removeFirst(); answers[action] = queue }
        return first
    }
}
