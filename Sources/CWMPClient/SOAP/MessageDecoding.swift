// From the element tree to `CWMPMessage`: one function per RPC, arguments looked up by local name.
//
// Leniency decided here (DecoderLeniencyTests has one test per rule):
// * Arguments are found by local name in any order and in any (or no) namespace; unknown extra elements are
//   ignored; an argument given twice is an error (which one would the sender mean?).
// * Array entries are the element children of the array element, whatever they are called; the count in
//   `soapenc:arrayType` is never read (missing or wrong counts are common, and trusting it is a DoS vector).
// * Numbers, booleans, dateTimes, names and other tokens are trimmed of surrounding whitespace; free text
//   (keys, URLs, credentials, string values, IDs) is kept byte for byte.
// * Optional-in-practice arguments take the model's defaults (e.g. a Reboot without CommandKey, an
//   InformResponse without MaxEnvelopes); arguments an RPC cannot be carried out without are required.
// * A Value without `xsi:type` has type nil; an xsi:type this decoder does not know has type nil too.
// * Lexical forms are not validated beyond what the Swift type needs (an OUI in lower case, a malformed
//   dateTime, `notanumber` typed xsd:unsignedLong pass through): the session and data model judge values.


extension TreeBuilder {
    /// Decodes the Body's element; returns the message and the namespace that decides the envelope's.
    func decodeRPC() throws(CWMPError) -> (CWMPMessage, NamespaceKind) {
        try TreeReader(nodes: nodes.buffer, text: text.buffer).decode(rpc: rpcIndex)
    }

    /// The envelope's namespace given the one the RPC (or cwmp:Fault) element was in.
    func envelopeNamespace(for kind: NamespaceKind) throws(CWMPError) -> CWMPNamespace {
        switch kind {
        case .cwmp10: return .cwmp10
        case .cwmp11: return .cwmp11
        case .cwmp12: return .cwmp12
        case .none, .undeclared:
            return headerNamespace?.cwmpNamespace ?? firstDeclaredCWMP?.cwmpNamespace
                ?? configuration.namespaceWhenUndeclared
        case .cwmpUnknown, .soapEnvelope, .soapEncoding, .xsd, .xsi, .other:
            throw CWMPError(.unsupportedNamespace, "the RPC is not in urn:dslforum-org:cwmp-1-0, -1-1 or -1-2")
        }
    }
}

/// Read-only access to a finished tree through raw buffers (no bounds-check-and-retain traffic per lookup).
struct TreeReader {
    let nodes: UnsafeBufferPointer<Node>
    let text: UnsafeBufferPointer<UInt8>

    // MARK: Tree navigation

    func name(_ index: Int32) -> String { String(cString: nodes[Int(index)].name) }

    @inline(__always)
    func isNamed(_ index: Int32, _ name: StaticString) -> Bool { cStringEquals(nodes[Int(index)].name, name) }

    /// Calls `body` for each child element, in document order.
    @inline(__always)
    func forEachChild(_ parent: Int32, _ body: (Int32) throws(CWMPError) -> Void) throws(CWMPError) {
        var child = nodes[Int(parent)].firstChild
        while child >= 0 {
            try body(child)
            child = nodes[Int(child)].nextSibling
        }
    }

    /// The child named `name`, if any; a second one is an error.
    func child(_ parent: Int32, _ name: StaticString) throws(CWMPError) -> Int32? {
        var found: Int32?
        try forEachChild(parent) { (child) throws(CWMPError) in
            guard isNamed(child, name) else { return }
            guard found == nil else {
                throw CWMPError(.invalidArgument, "\(name) appears more than once in \(self.name(parent))")
            }
            found = child
        }
        return found
    }

    func required(_ parent: Int32, _ name: StaticString) throws(CWMPError) -> Int32 {
        guard let child = try child(parent, name) else {
            throw CWMPError(.invalidArgument, "\(self.name(parent)) lacks the required \(name)")
        }
        return child
    }

    /// The text of a simple-typed element; an element with children where a value belongs is an error.
    func bytes(_ index: Int32) throws(CWMPError) -> UnsafeBufferPointer<UInt8> {
        let node = nodes[Int(index)]
        guard node.firstChild < 0 else {
            throw CWMPError(.invalidArgument, "\(name(index)) in \(name(node.parent)) must be a simple value")
        }
        return UnsafeBufferPointer(rebasing: text[Int(node.textStart)..<Int(node.textEnd)])
    }

    func invalid(_ index: Int32, _ expected: String) throws(CWMPError) -> Never {
        let shown = String(decoding: (try? bytes(index)).map { Array($0.prefix(40)) } ?? [], as: UTF8.self)
        throw CWMPError(.invalidArgument,
                        "\(name(index)) in \(name(nodes[Int(index)].parent)) is \"\(shown)\", not \(expected)")
    }

    // MARK: Typed arguments (`default: nil` means required)

    /// Free text, byte for byte.
    func string(_ parent: Int32, _ name: StaticString, default fallback: String? = nil) throws(CWMPError) -> String {
        guard let node = try child(parent, name) else {
            if let fallback { return fallback }
            throw CWMPError(.invalidArgument, "\(self.name(parent)) lacks the required \(name)")
        }
        return String(decoding: try bytes(node), as: UTF8.self)
    }

    /// A token (a name, a code, an enumeration value): surrounding whitespace removed.
    func token(_ node: Int32) throws(CWMPError) -> String {
        String(decoding: trimmed(try bytes(node)), as: UTF8.self)
    }

    func token(_ parent: Int32, _ name: StaticString, default fallback: String? = nil) throws(CWMPError) -> String {
        guard let node = try child(parent, name) else {
            if let fallback { return fallback }
            throw CWMPError(.invalidArgument, "\(self.name(parent)) lacks the required \(name)")
        }
        return try token(node)
    }

    func uint32(_ parent: Int32, _ name: StaticString, default fallback: UInt32? = nil) throws(CWMPError) -> UInt32 {
        guard let node = try child(parent, name) else {
            if let fallback { return fallback }
            throw CWMPError(.invalidArgument, "\(self.name(parent)) lacks the required \(name)")
        }
        guard let value = parseUnsigned(try bytes(node), max: UInt64(UInt32.max)) else {
            try invalid(node, "an unsignedInt")
        }
        return UInt32(value)
    }

    func int(_ parent: Int32, _ name: StaticString, default fallback: Int? = nil) throws(CWMPError) -> Int {
        guard let node = try child(parent, name) else {
            if let fallback { return fallback }
            throw CWMPError(.invalidArgument, "\(self.name(parent)) lacks the required \(name)")
        }
        guard let value = parseSigned(try bytes(node), min: Int64(Int32.min), max: Int64(Int32.max)) else {
            try invalid(node, "an int")
        }
        return Int(value)
    }

    func bool(_ parent: Int32, _ name: StaticString, default fallback: Bool? = nil) throws(CWMPError) -> Bool {
        guard let node = try child(parent, name) else {
            if let fallback { return fallback }
            throw CWMPError(.invalidArgument, "\(self.name(parent)) lacks the required \(name)")
        }
        guard let value = parseBoolean(try bytes(node)) else { try invalid(node, "a boolean (0, 1, true, false)") }
        return value
    }

    func dateTime(_ parent: Int32, _ name: StaticString,
                  default fallback: CWMPDateTime? = nil) throws(CWMPError) -> CWMPDateTime {
        guard let node = try child(parent, name) else {
            if let fallback { return fallback }
            throw CWMPError(.invalidArgument, "\(self.name(parent)) lacks the required \(name)")
        }
        return CWMPDateTime(rawValue: try token(node))
    }

    /// The entries of the array argument `name` (any element name; arrayType's count is ignored).
    func array<T>(_ parent: Int32, _ name: StaticString, required: Bool = true,
                  _ transform: (Int32) throws(CWMPError) -> T) throws(CWMPError) -> [T] {
        guard let array = try child(parent, name) else {
            if !required { return [] }
            throw CWMPError(.invalidArgument, "\(self.name(parent)) lacks the required \(name)")
        }
        var result: [T] = []
        result.reserveCapacity(Int(nodes[Int(array)].childCount))
        try forEachChild(array) { (entry) throws(CWMPError) in result.append(try transform(entry)) }
        return result
    }

    // MARK: Structures

    func parameterValueStruct(_ entry: Int32) throws(CWMPError) -> ParameterValueStruct {
        // The hot path of large GetParameterValuesResponses and Informs: one pass over the two children.
        var nameNode: Int32 = -1
        var valueNode: Int32 = -1
        try forEachChild(entry) { (child) throws(CWMPError) in
            if isNamed(child, "Name") {
                guard nameNode < 0 else { throw CWMPError(.invalidArgument, "Name appears twice in \(name(entry))") }
                nameNode = child
            } else if isNamed(child, "Value") {
                guard valueNode < 0 else { throw CWMPError(.invalidArgument, "Value appears twice in \(name(entry))") }
                valueNode = child
            }
        }
        guard nameNode >= 0 else { throw CWMPError(.invalidArgument, "\(name(entry)) lacks the required Name") }
        guard valueNode >= 0 else { throw CWMPError(.invalidArgument, "\(name(entry)) lacks the required Value") }
        let type = nodes[Int(valueNode)].type.parameterValueType
        let raw = try bytes(valueNode)
        // Strings (and untyped values, which may be strings) keep their whitespace; other types drop it.
        let value = type == nil || type == .string ? raw : trimmed(raw)
        return ParameterValueStruct(name: try token(nameNode), value: String(decoding: value, as: UTF8.self),
                                    type: type)
    }

    func parameterValueList(_ parent: Int32) throws(CWMPError) -> [ParameterValueStruct] {
        try array(parent, "ParameterList") { (entry) throws(CWMPError) in try parameterValueStruct(entry) }
    }

    /// ParameterNames, MethodList, AccessList: arrays of strings, trimmed (names never have edge whitespace).
    func stringList(_ parent: Int32, _ name: StaticString, required: Bool = true) throws(CWMPError) -> [String] {
        try array(parent, name, required: required) { (entry) throws(CWMPError) in try token(entry) }
    }

    func transferFault(_ parent: Int32, _ name: StaticString) throws(CWMPError) -> TransferFault {
        let fault = try required(parent, name)
        return TransferFault(faultCode: try uint32(fault, "FaultCode"),
                             faultString: try string(fault, "FaultString", default: ""))
    }

    func operationResult(_ entry: Int32) throws(CWMPError) -> DeploymentUnitOperationResult {
        DeploymentUnitOperationResult(
            uuid: try token(entry, "UUID"),
            deploymentUnitRef: try token(entry, "DeploymentUnitRef", default: ""),
            version: try string(entry, "Version", default: ""),
            currentState: try token(entry, "CurrentState"),
            resolved: try bool(entry, "Resolved"),
            executionUnitRefList: try token(entry, "ExecutionUnitRefList", default: ""),
            startTime: try dateTime(entry, "StartTime", default: .unknown),
            completeTime: try dateTime(entry, "CompleteTime", default: .unknown),
            fault: try child(entry, "Fault") == nil ? .none : transferFault(entry, "Fault"))
    }

    /// `Results` of (Autonomous)DUStateChangeComplete repeat as direct children of the RPC (the XSD); some
    /// implementations wrap them in one array element instead. Both are accepted.
    func results(_ rpc: Int32) throws(CWMPError) -> [Int32] {
        var entries: [Int32] = []
        try forEachChild(rpc) { (child) throws(CWMPError) in
            guard isNamed(child, "Results") else { return }
            if try self.child(child, "UUID") != nil || nodes[Int(child)].firstChild < 0 {
                entries.append(child)
            } else {
                try forEachChild(child) { (entry) throws(CWMPError) in entries.append(entry) }
            }
        }
        guard !entries.isEmpty else { throw CWMPError(.invalidArgument, "\(name(rpc)) lacks the required Results") }
        return entries
    }

    // MARK: The RPCs

    func decode(rpc: Int32) throws(CWMPError) -> (CWMPMessage, NamespaceKind) {
        let node = nodes[Int(rpc)]
        if isNamed(rpc, "Fault"), node.namespace == .soapEnvelope || node.namespace == .undeclared {
            return try fault(rpc)
        }
        switch node.namespace {
        case .cwmp10, .cwmp11, .cwmp12, .none, .undeclared:
            break
        case .cwmpUnknown, .soapEnvelope, .soapEncoding, .xsd, .xsi, .other:
            throw CWMPError(.unsupportedNamespace, "\(name(rpc)) is not in urn:dslforum-org:cwmp-1-0, -1-1 or -1-2")
        }
        return (try message(rpc, name(rpc)), node.namespace)
    }

    private func message(_ rpc: Int32, _ method: String) throws(CWMPError) -> CWMPMessage {
        switch method {
        // ACS → CPE requests
        case "GetRPCMethods":
            return .getRPCMethods
        case "SetParameterValues":
            return .setParameterValues(SetParameterValues(
                parameterList: try parameterValueList(rpc),
                parameterKey: try string(rpc, "ParameterKey", default: "")))
        case "GetParameterValues":
            return .getParameterValues(GetParameterValues(parameterNames: try stringList(rpc, "ParameterNames")))
        case "GetParameterNames":
            return .getParameterNames(GetParameterNames(
                parameterPath: try token(rpc, "ParameterPath"), nextLevel: try bool(rpc, "NextLevel")))
        case "SetParameterAttributes":
            return .setParameterAttributes(SetParameterAttributes(
                parameterList: try array(rpc, "ParameterList") { (entry) throws(CWMPError) in
                    SetParameterAttributesStruct(
                        name: try token(entry, "Name"),
                        notificationChange: try bool(entry, "NotificationChange"),
                        notification: NotificationValue(rawValue: try int(entry, "Notification")),
                        accessListChange: try bool(entry, "AccessListChange"),
                        accessList: try stringList(entry, "AccessList", required: false))
                }))
        case "GetParameterAttributes":
            return .getParameterAttributes(GetParameterAttributes(
                parameterNames: try stringList(rpc, "ParameterNames")))
        case "AddObject":
            return .addObject(AddObject(objectName: try token(rpc, "ObjectName"),
                                        parameterKey: try string(rpc, "ParameterKey", default: "")))
        case "DeleteObject":
            return .deleteObject(DeleteObject(objectName: try token(rpc, "ObjectName"),
                                              parameterKey: try string(rpc, "ParameterKey", default: "")))
        case "Reboot":
            return .reboot(Reboot(commandKey: try string(rpc, "CommandKey", default: "")))
        case "Download":
            return .download(Download(
                commandKey: try string(rpc, "CommandKey", default: ""),
                fileType: try token(rpc, "FileType"),
                url: try token(rpc, "URL"),
                username: try string(rpc, "Username", default: ""),
                password: try string(rpc, "Password", default: ""),
                fileSize: try uint32(rpc, "FileSize", default: 0),
                targetFileName: try string(rpc, "TargetFileName", default: ""),
                delaySeconds: try uint32(rpc, "DelaySeconds", default: 0),
                successURL: try token(rpc, "SuccessURL", default: ""),
                failureURL: try token(rpc, "FailureURL", default: "")))
        case "Upload":
            return .upload(Upload(
                commandKey: try string(rpc, "CommandKey", default: ""),
                fileType: try token(rpc, "FileType"),
                url: try token(rpc, "URL"),
                username: try string(rpc, "Username", default: ""),
                password: try string(rpc, "Password", default: ""),
                delaySeconds: try uint32(rpc, "DelaySeconds", default: 0)))
        case "FactoryReset":
            return .factoryReset
        case "ScheduleInform":
            return .scheduleInform(ScheduleInform(delaySeconds: try uint32(rpc, "DelaySeconds"),
                                                  commandKey: try string(rpc, "CommandKey", default: "")))
        case "ScheduleDownload":
            return .scheduleDownload(ScheduleDownload(
                commandKey: try string(rpc, "CommandKey", default: ""),
                fileType: try token(rpc, "FileType"),
                url: try token(rpc, "URL"),
                username: try string(rpc, "Username", default: ""),
                password: try string(rpc, "Password", default: ""),
                fileSize: try uint32(rpc, "FileSize", default: 0),
                targetFileName: try string(rpc, "TargetFileName", default: ""),
                timeWindowList: try array(rpc, "TimeWindowList") { (entry) throws(CWMPError) in
                    TimeWindow(windowStart: try uint32(entry, "WindowStart"),
                               windowEnd: try uint32(entry, "WindowEnd"),
                               windowMode: try token(entry, "WindowMode"),
                               userMessage: try string(entry, "UserMessage", default: ""),
                               maxRetries: Int32(try int(entry, "MaxRetries", default: -1)))
                }))
        case "CancelTransfer":
            return .cancelTransfer(CancelTransfer(commandKey: try string(rpc, "CommandKey")))
        case "GetQueuedTransfers":
            return .getQueuedTransfers
        case "GetAllQueuedTransfers":
            return .getAllQueuedTransfers
        case "ChangeDUState":
            return .changeDUState(try changeDUState(rpc))

        // CPE responses
        case "GetRPCMethodsResponse":
            return .getRPCMethodsResponse(GetRPCMethodsResponse(methodList: try stringList(rpc, "MethodList")))
        case "SetParameterValuesResponse":
            return .setParameterValuesResponse(SetParameterValuesResponse(status: try int(rpc, "Status")))
        case "GetParameterValuesResponse":
            return .getParameterValuesResponse(GetParameterValuesResponse(parameterList: try parameterValueList(rpc)))
        case "GetParameterNamesResponse":
            return .getParameterNamesResponse(GetParameterNamesResponse(
                parameterList: try array(rpc, "ParameterList") { (entry) throws(CWMPError) in
                    ParameterInfoStruct(name: try token(entry, "Name"), writable: try bool(entry, "Writable"))
                }))
        case "SetParameterAttributesResponse":
            return .setParameterAttributesResponse
        case "GetParameterAttributesResponse":
            return .getParameterAttributesResponse(GetParameterAttributesResponse(
                parameterList: try array(rpc, "ParameterList") { (entry) throws(CWMPError) in
                    ParameterAttributeStruct(
                        name: try token(entry, "Name"),
                        notification: NotificationValue(rawValue: try int(entry, "Notification")),
                        accessList: try stringList(entry, "AccessList", required: false))
                }))
        case "AddObjectResponse":
            return .addObjectResponse(AddObjectResponse(instanceNumber: try uint32(rpc, "InstanceNumber"),
                                                        status: try int(rpc, "Status")))
        case "DeleteObjectResponse":
            return .deleteObjectResponse(DeleteObjectResponse(status: try int(rpc, "Status")))
        case "RebootResponse":
            return .rebootResponse
        case "DownloadResponse":
            return .downloadResponse(try transferResponse(rpc))
        case "UploadResponse":
            return .uploadResponse(try transferResponse(rpc))
        case "FactoryResetResponse":
            return .factoryResetResponse
        case "ScheduleInformResponse":
            return .scheduleInformResponse
        case "ScheduleDownloadResponse":
            return .scheduleDownloadResponse
        case "CancelTransferResponse":
            return .cancelTransferResponse
        case "GetQueuedTransfersResponse":
            return .getQueuedTransfersResponse(GetQueuedTransfersResponse(
                transferList: try array(rpc, "TransferList") { (entry) throws(CWMPError) in
                    QueuedTransfer(commandKey: try string(entry, "CommandKey", default: ""),
                                   state: try int(entry, "State"))
                }))
        case "GetAllQueuedTransfersResponse":
            return .getAllQueuedTransfersResponse(GetAllQueuedTransfersResponse(
                transferList: try array(rpc, "TransferList") { (entry) throws(CWMPError) in
                    AllQueuedTransfer(commandKey: try string(entry, "CommandKey", default: ""),
                                      state: try int(entry, "State"),
                                      isDownload: try bool(entry, "IsDownload"),
                                      fileType: try token(entry, "FileType"),
                                      fileSize: try uint32(entry, "FileSize", default: 0),
                                      targetFileName: try string(entry, "TargetFileName", default: ""))
                }))
        case "ChangeDUStateResponse":
            return .changeDUStateResponse

        // CPE → ACS requests
        case "Inform":
            return .inform(try inform(rpc))
        case "TransferComplete":
            return .transferComplete(TransferComplete(
                commandKey: try string(rpc, "CommandKey", default: ""),
                fault: try transferFault(rpc, "FaultStruct"),
                startTime: try dateTime(rpc, "StartTime"),
                completeTime: try dateTime(rpc, "CompleteTime")))
        case "AutonomousTransferComplete":
            return .autonomousTransferComplete(AutonomousTransferComplete(
                announceURL: try token(rpc, "AnnounceURL", default: ""),
                transferURL: try token(rpc, "TransferURL"),
                isDownload: try bool(rpc, "IsDownload"),
                fileType: try token(rpc, "FileType"),
                fileSize: try uint32(rpc, "FileSize", default: 0),
                targetFileName: try string(rpc, "TargetFileName", default: ""),
                fault: try transferFault(rpc, "FaultStruct"),
                startTime: try dateTime(rpc, "StartTime"),
                completeTime: try dateTime(rpc, "CompleteTime")))
        case "DUStateChangeComplete":
            return .duStateChangeComplete(DUStateChangeComplete(
                results: try results(rpc).map { (entry) throws(CWMPError) in try operationResult(entry) },
                commandKey: try string(rpc, "CommandKey", default: "")))
        case "AutonomousDUStateChangeComplete":
            return .autonomousDUStateChangeComplete(AutonomousDUStateChangeComplete(
                results: try results(rpc).map { (entry) throws(CWMPError) in
                    AutonomousDeploymentUnitOperationResult(
                        result: try operationResult(entry),
                        operationPerformed: try token(entry, "OperationPerformed"))
                }))
        case "RequestDownload":
            return .requestDownload(RequestDownload(
                fileType: try token(rpc, "FileType"),
                fileTypeArg: try array(rpc, "FileTypeArg", required: false) { (entry) throws(CWMPError) in
                    FileTypeArgument(name: try token(entry, "Name"), value: try string(entry, "Value", default: ""))
                }))
        case "Kicked":
            return .kicked(Kicked(command: try token(rpc, "Command"),
                                  referer: try string(rpc, "Referer", default: ""),
                                  arg: try string(rpc, "Arg", default: ""),
                                  next: try token(rpc, "Next")))

        // ACS responses
        case "InformResponse":
            return .informResponse(InformResponse(maxEnvelopes: try uint32(rpc, "MaxEnvelopes", default: 1)))
        case "TransferCompleteResponse":
            return .transferCompleteResponse
        case "AutonomousTransferCompleteResponse":
            return .autonomousTransferCompleteResponse
        case "DUStateChangeCompleteResponse":
            return .duStateChangeCompleteResponse
        case "AutonomousDUStateChangeCompleteResponse":
            return .autonomousDUStateChangeCompleteResponse
        case "RequestDownloadResponse":
            return .requestDownloadResponse
        case "KickedResponse":
            return .kickedResponse(KickedResponse(nextURL: try token(rpc, "NextURL")))

        default:
            // Vendor RPCs (X_…) included: 9000 Method not supported.
            throw CWMPError(.unknownMethod, method)
        }
    }

    private func transferResponse(_ rpc: Int32) throws(CWMPError) -> TransferResponse {
        TransferResponse(status: try int(rpc, "Status"),
                         startTime: try dateTime(rpc, "StartTime", default: .unknown),
                         completeTime: try dateTime(rpc, "CompleteTime", default: .unknown))
    }

    private func inform(_ rpc: Int32) throws(CWMPError) -> Inform {
        let device = try required(rpc, "DeviceId")
        return Inform(
            deviceId: DeviceId(manufacturer: try string(device, "Manufacturer"),
                               oui: try token(device, "OUI"),
                               productClass: try string(device, "ProductClass"),
                               serialNumber: try string(device, "SerialNumber")),
            events: try array(rpc, "Event") { (entry) throws(CWMPError) in
                EventStruct(eventCode: try token(entry, "EventCode"),
                            commandKey: try string(entry, "CommandKey", default: ""))
            },
            maxEnvelopes: try uint32(rpc, "MaxEnvelopes", default: 1),
            currentTime: try dateTime(rpc, "CurrentTime"),
            retryCount: try uint32(rpc, "RetryCount"),
            parameterList: try parameterValueList(rpc))
    }

    private func changeDUState(_ rpc: Int32) throws(CWMPError) -> ChangeDUState {
        var operations: [DeploymentUnitOperation] = []
        try forEachChild(rpc) { (entry) throws(CWMPError) in
            guard isNamed(entry, "Operations") else { return }
            switch nodes[Int(entry)].type {
            case .installOp:
                operations.append(.install(url: try token(entry, "URL"),
                                           uuid: try token(entry, "UUID", default: ""),
                                           username: try string(entry, "Username", default: ""),
                                           password: try string(entry, "Password", default: ""),
                                           executionEnvRef: try token(entry, "ExecutionEnvRef", default: "")))
            case .updateOp:
                operations.append(.update(uuid: try token(entry, "UUID", default: ""),
                                          version: try string(entry, "Version", default: ""),
                                          url: try token(entry, "URL", default: ""),
                                          username: try string(entry, "Username", default: ""),
                                          password: try string(entry, "Password", default: "")))
            case .uninstallOp:
                operations.append(.uninstall(uuid: try token(entry, "UUID"),
                                             version: try string(entry, "Version", default: ""),
                                             executionEnvRef: try token(entry, "ExecutionEnvRef", default: "")))
            case .absent, .string, .int, .unsignedInt, .long, .unsignedLong, .boolean, .dateTime, .base64,
                 .hexBinary, .unknown:
                throw CWMPError(.invalidArgument, "ChangeDUState Operations needs xsi:type InstallOpStruct, "
                                + "UpdateOpStruct or UninstallOpStruct")
            }
        }
        guard !operations.isEmpty else {
            throw CWMPError(.invalidArgument, "ChangeDUState lacks the required Operations")
        }
        return ChangeDUState(operations: operations, commandKey: try string(rpc, "CommandKey", default: ""))
    }

    /// `soapenv:Fault` with `detail/cwmp:Fault`; the namespace of the envelope is that of cwmp:Fault.
    private func fault(_ soapFault: Int32) throws(CWMPError) -> (CWMPMessage, NamespaceKind) {
        guard let detail = try child(soapFault, "detail"),
              let cwmpFault = try child(detail, "Fault") else {
            throw CWMPError(.invalidArgument, "a SOAP Fault without a cwmp:Fault detail")
        }
        var entries: [SetParameterValuesFault] = []
        try forEachChild(cwmpFault) { (entry) throws(CWMPError) in
            guard isNamed(entry, "SetParameterValuesFault") else { return }
            let code = CWMPFault.Code(rawValue: try uint32(entry, "FaultCode"))
            entries.append(SetParameterValuesFault(
                parameterName: try token(entry, "ParameterName"), faultCode: code,
                faultString: try child(entry, "FaultString") == nil ? nil : string(entry, "FaultString")))
        }
        let code = CWMPFault.Code(rawValue: try uint32(cwmpFault, "FaultCode"))
        let faultString = try child(cwmpFault, "FaultString") == nil ? nil : try string(cwmpFault, "FaultString")
        return (.fault(CWMPFault(code, faultString, setParameterValuesFaults: entries)),
                nodes[Int(cwmpFault)].namespace)
    }
}
