// ConfigurationManagement:2 (upnp-dm.md §2.1): one typed method per action, arguments named and ordered as in the
// SCPD. XML-valued arguments are built and read by CMSDocuments; the invoker escapes them once more for SOAP.
// UPnP faults arrive as `UPnPDMError(.actionFailed)` with the device's errorCode (703 No Such Name, 706 Read Only
// Violation, …) and are passed through unchanged: the CWMP conversion is UPnPDMError.cwmpFault's job.

/// A typed client of one device's ConfigurationManagement service.
public struct ConfigurationManagementClient: Sendable {
    public static let serviceType = "urn:schemas-upnp-org:service:ConfigurationManagement:2"

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

    private func changeStatus(_ answer: DMActionAnswer) throws(UPnPDMError) -> DMChangeStatus {
        let text = try answer.token("Status")
        guard let status = DMChangeStatus(rawValue: text) else {
            throw UPnPDMError(.invalidResponse, "\(answer.action) Status is \(text), not ChangesApplied or ChangesCommitted")
        }
        return status
    }

    /// GetSupportedDataModels → SupportedDataModels.
    public func getSupportedDataModels() async throws -> [DMSupportedDataModel] {
        let answer = try await call("GetSupportedDataModels")
        return try CMSDocuments.parseSupportedDataModels(try answer.string("SupportedDataModels"), limits: limits)
    }

    /// GetSupportedParameters(StartingNode, SearchDepth) → Result (structure paths). SearchDepth 0 is the whole subtree.
    public func getSupportedParameters(startingNode: String, searchDepth: UInt32) async throws -> [String] {
        let answer = try await call("GetSupportedParameters", [("StartingNode", startingNode), ("SearchDepth", String(searchDepth))])
        return try CMSDocuments.parseStructurePathList(try answer.string("Result"), limits: limits)
    }

    /// GetInstances(StartingNode, SearchDepth) → Result (instance paths that exist).
    public func getInstances(startingNode: String, searchDepth: UInt32) async throws -> [String] {
        let answer = try await call("GetInstances", [("StartingNode", startingNode), ("SearchDepth", String(searchDepth))])
        return try CMSDocuments.parseInstancePathList(try answer.string("Result"), limits: limits)
    }

    /// GetValues(Parameters) → ParameterValueList. Partial paths (ending `/`) return every parameter below them.
    public func getValues(_ paths: [String]) async throws -> [DMParameterValue] {
        let answer = try await call("GetValues", [("Parameters", try CMSDocuments.contentPathList(paths))])
        return try CMSDocuments.parseParameterValueList(try answer.string("ParameterValueList"), limits: limits)
    }

    /// GetSelectedValues(StartingNode, Filter) → ParameterValueList.
    public func getSelectedValues(startingNode: String, filter: String) async throws -> [DMParameterValue] {
        let answer = try await call("GetSelectedValues", [("StartingNode", startingNode), ("Filter", filter)])
        return try CMSDocuments.parseParameterValueList(try answer.string("ParameterValueList"), limits: limits)
    }

    /// SetValues(ParameterValueList) → Status. Atomic on the device: all values or none.
    public func setValues(_ values: [DMParameterValue]) async throws -> DMChangeStatus {
        let answer = try await call("SetValues", [("ParameterValueList", try CMSDocuments.parameterValueList(values))])
        return try changeStatus(answer)
    }

    /// CreateInstance(MultiInstanceName, ChildrenInitialization) → InstanceIdentifier, Status.
    public func createInstance(multiInstanceName: String, childrenInitialization: [DMParameterValue] = [])
        async throws -> (instanceIdentifier: String, status: DMChangeStatus) {
        let answer = try await call("CreateInstance", [
            ("MultiInstanceName", multiInstanceName),
            ("ChildrenInitialization", try CMSDocuments.parameterInitialValueList(childrenInitialization)),
        ])
        let identifier = try answer.token("InstanceIdentifier")
        guard !identifier.isEmpty else { throw UPnPDMError(.invalidResponse, "CreateInstance answered an empty InstanceIdentifier") }
        return (identifier, try changeStatus(answer))
    }

    /// DeleteInstance(InstanceIdentifier) → Status.
    public func deleteInstance(_ instanceIdentifier: String) async throws -> DMChangeStatus {
        try changeStatus(try await call("DeleteInstance", [("InstanceIdentifier", instanceIdentifier)]))
    }

    /// GetAttributes(Parameters) → NodeAttributeValueList.
    public func getAttributes(_ paths: [String]) async throws -> [DMNodeAttributeValues] {
        let answer = try await call("GetAttributes", [("Parameters", try CMSDocuments.nodeAttributePathList(paths))])
        return try CMSDocuments.parseNodeAttributeValueList(try answer.string("NodeAttributeValueList"), limits: limits)
    }

    /// SetAttributes(NodeAttributeValueList) → Status.
    public func setAttributes(_ nodes: [DMNodeAttributeValues]) async throws -> DMChangeStatus {
        let answer = try await call("SetAttributes", [("NodeAttributeValueList", try CMSDocuments.nodeAttributeValueList(nodes))])
        return try changeStatus(answer)
    }

    /// GetConfigurationUpdate → StateVariableValue (ConfigurationUpdate).
    public func getConfigurationUpdate() async throws -> DMConfigurationUpdate {
        let answer = try await call("GetConfigurationUpdate")
        return try CMSDocuments.parseConfigurationUpdate(try answer.string("StateVariableValue"), limits: limits)
    }

    /// GetCurrentConfigurationVersion → StateVariableValue (ui4).
    public func getCurrentConfigurationVersion() async throws -> UInt32 {
        try await call("GetCurrentConfigurationVersion").ui4("StateVariableValue")
    }

    /// GetInconsistentStatus (optional) → StateVariableValue (boolean).
    public func getInconsistentStatus() async throws -> Bool {
        try await call("GetInconsistentStatus").boolean("StateVariableValue")
    }

    /// GetSupportedDataModelsUpdate / GetSupportedParametersUpdate / GetAttributeValuesUpdate → StateVariableValue,
    /// as the device wrote it (the formats are not confirmed from any source here, upnp-dm.md §2.2).
    public func getSupportedDataModelsUpdate() async throws -> String {
        try await call("GetSupportedDataModelsUpdate").string("StateVariableValue")
    }

    public func getSupportedParametersUpdate() async throws -> String {
        try await call("GetSupportedParametersUpdate").string("StateVariableValue")
    }

    public func getAttributeValuesUpdate() async throws -> String {
        try await call("GetAttributeValuesUpdate").string("StateVariableValue")
    }

    /// GetAlarmsEnabled / SetAlarmsEnabled (optional, v2).
    public func getAlarmsEnabled() async throws -> Bool {
        try await call("GetAlarmsEnabled").boolean("StateVariableValue")
    }

    public func setAlarmsEnabled(_ enabled: Bool) async throws {
        _ = try await call("SetAlarmsEnabled", [("StateVariableValue", DMValues.text(enabled))])
    }
}
