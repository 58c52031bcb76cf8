/// Writes a `CWMPEnvelope` as a SOAP 1.1 envelope (TR-069 Annex A, RPC/encoded), with libxml2's
/// xmlTextWriter doing all the XML syntax and escaping.
///
/// Before anything is returned every value is checked against the schema of the envelope's namespace
/// (cwmp-1-0.xsd, cwmp-1-1.xsd, or cwmp-1-2.xsd with its 1-3/1-4 additions): a message or header that schema
/// does not define throws `CWMPError.messageNotInVersion`, a value it would reject (an OUI in lower case, a
/// 33-character CommandKey, 65 events, `"abc"` tagged xsd:int, …) throws `CWMPError.invalidArgument` naming
/// the field. So the encoder never hands out an envelope an ACS's validator could refuse.
///
/// Output shape: `<?xml …?>`, then `soapenv:Envelope` declaring `soapenv`, `soapenc`, `xsd`, `xsi` and `cwmp`;
/// a `soapenv:Header` only when a header entry is set; RPC arguments unqualified
/// (`elementFormDefault="unqualified"`); every SOAP array with `soapenc:arrayType="…[N]"`; every
/// ParameterValueStruct `Value` with an `xsi:type`. No indentation: the ACS is a machine.
public struct CWMPEncoder: Sendable {
    public init() {}

    public func encode(_ envelope: CWMPEnvelope) throws(CWMPError) -> [UInt8] {
        let namespace = envelope.namespace
        guard CWMPSchemaRules.defines(namespace, envelope.message) else {
            let first = CWMPSchemaRules.firstNamespace(defining: envelope.message)
            throw CWMPError(.messageNotInVersion,
                            "\(Self.rpcName(of: envelope.message)) is not defined in \(namespace.rawValue) (first in \(first.rawValue))")
        }
        let writer = try XMLWriter(initialCapacity: Self.estimatedSize(of: envelope.message))
        let body = BodyWriter(writer: writer, namespace: namespace)
        try writer.startDocument()
        try writer.startElement("soapenv:Envelope")
        try writer.attribute("xmlns:soapenv", "http://schemas.xmlsoap.org/soap/envelope/")
        try writer.attribute("xmlns:soapenc", "http://schemas.xmlsoap.org/soap/encoding/")
        try writer.attribute("xmlns:xsd", "http://www.w3.org/2001/XMLSchema")
        try writer.attribute("xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance")
        try writer.attribute("xmlns:cwmp", namespace.rawValue)
        try body.header(envelope.header)
        try writer.startElement("soapenv:Body")
        try body.message(envelope.message)
        try writer.endElement()
        try writer.endElement()
        return try writer.finish()
    }

    /// A starting buffer size: the big messages grow with their parameter lists (~200 bytes per struct is
    /// typical of TR-181 names and values); starting near the final size saves the buffer's regrowth copies.
    static func estimatedSize(of message: CWMPMessage) -> Int {
        switch message {
        case .getParameterValuesResponse(let m): 1024 + 200 * m.parameterList.count
        case .setParameterValues(let m): 1024 + 200 * m.parameterList.count
        case .inform(let m): 2048 + 200 * m.parameterList.count
        case .getParameterNamesResponse(let m): 1024 + 120 * m.parameterList.count
        case .getParameterAttributesResponse(let m): 1024 + 200 * m.parameterList.count
        case .getParameterValues(let m): 1024 + 100 * m.parameterNames.count
        default: 2048
        }
    }

    /// The `xsi:type` of a value. base64 is the exception to `xsd:`: XML Schema has no `base64` type
    /// (`xsd:base64` fails validation), SOAP encoding's `soapenc:base64` is the same type under the name
    /// TR-069 uses, so ACSs that look at the local name still see `base64`.
    static func xsiType(_ type: ParameterValueType) -> StaticString {
        switch type {
        case .string: "xsd:string"
        case .int: "xsd:int"
        case .unsignedInt: "xsd:unsignedInt"
        case .long: "xsd:long"
        case .unsignedLong: "xsd:unsignedLong"
        case .boolean: "xsd:boolean"
        case .dateTime: "xsd:dateTime"
        case .base64: "soapenc:base64"
        case .hexBinary: "xsd:hexBinary"
        }
    }

    /// The local name of the message's body element (`Inform`, `GetParameterValuesResponse`, …; `Fault` for
    /// a SOAP fault), for logs and error messages.
    public static func rpcName(of message: CWMPMessage) -> String {
        // Strip the prefix from the element name the writer uses, so there is one table of names.
        var name = "\(BodyWriter.elementName(of: message))"
        if let colon = name.firstIndex(of: ":") { name = String(name[name.index(after: colon)...]) }
        return name
    }
}

/// Writes the header and the body of one envelope; validation happens right before each value is written.
private struct BodyWriter {
    let writer: XMLWriter
    let namespace: CWMPNamespace

    typealias Rules = CWMPSchemaRules

    // MARK: - Header

    func header(_ header: CWMPHeader) throws(CWMPError) {
        guard header.id != nil || header.holdRequests != nil || header.sessionTimeout != nil
            || header.supportedCWMPVersions != nil || header.useCWMPVersion != nil
        else { return }  // An empty soapenv:Header is legal but noise; leave it out.

        try writer.startElement("soapenv:Header")
        if let id = header.id {
            // cwmp:ID: xs:string with mustUnderstand fixed to 1 (every schema).
            try Rules.checkString(id, maxLength: nil, "Header ID")
            try writer.startElement("cwmp:ID")
            try writer.attribute("soapenv:mustUnderstand", "1")
            try writer.text(id)
            try writer.endElement()
        }
        if let hold = header.holdRequests {
            try writer.startElement("cwmp:HoldRequests")
            try writer.attribute("soapenv:mustUnderstand", "1")
            try writer.text(hold ? "true" : "false")
            try writer.endElement()
        }
        if let timeout = header.sessionTimeout {
            // cwmp-1-3.xsd adds SessionTimeout to the 1-2 namespace; mustUnderstand, if present, is fixed to 0.
            try requireCWMP12("the SessionTimeout header (CWMP 1.3)")
            try writer.startElement("cwmp:SessionTimeout")
            try writer.attribute("soapenv:mustUnderstand", "0")
            try writer.text(String(timeout))
            try writer.endElement()
        }
        if let versions = header.supportedCWMPVersions {
            // cwmp-1-4.xsd: mustUnderstand MUST be 0. A comma-separated list; an empty one says nothing.
            try requireCWMP12("the SupportedCWMPVersions header (CWMP 1.4)")
            try Rules.checkCount(versions.count, 1...Int.max, "Header SupportedCWMPVersions")
            try writer.startElement("cwmp:SupportedCWMPVersions")
            try writer.attribute("soapenv:mustUnderstand", "0")
            try writer.text(versions.map(\.description).joined(separator: ","))
            try writer.endElement()
        }
        if let version = header.useCWMPVersion {
            // cwmp-1-4.xsd: mustUnderstand required and MUST be 1.
            try requireCWMP12("the UseCWMPVersion header (CWMP 1.4)")
            try writer.startElement("cwmp:UseCWMPVersion")
            try writer.attribute("soapenv:mustUnderstand", "1")
            try writer.text(version.description)
            try writer.endElement()
        }
        try writer.endElement()
    }

    private func requireCWMP12(_ what: String) throws(CWMPError) {
        guard namespace == .cwmp12 else {
            throw CWMPError(.messageNotInVersion, "\(what) is only defined in urn:dslforum-org:cwmp-1-2, not \(namespace.rawValue)")
        }
    }

    // MARK: - Small pieces

    /// `<name>value</name>` after checking characters and length.
    private func string(_ name: StaticString, _ value: String, max: Int?, _ field: @autoclosure () -> String) throws(CWMPError) {
        let info = try Rules.checkString(value, maxLength: max, field())
        try writer.element(name, value, plain: info.plain)
    }

    // Numbers and checked dateTimes consist of digits, signs, `:`, `.`, `T`, `Z`: nothing to escape.
    private func unsigned(_ name: StaticString, _ value: UInt32) throws(CWMPError) {
        try writer.element(name, String(value), plain: true)
    }

    private func integer(_ name: StaticString, _ value: Int) throws(CWMPError) {
        try writer.element(name, String(value), plain: true)
    }

    private func boolean(_ name: StaticString, _ value: Bool) throws(CWMPError) {
        // xsd:boolean also takes 1/0; TR-069's examples and most ACSs use the words.
        try writer.startElement(name)
        try writer.text(value ? "true" : "false")
        try writer.endElement()
    }

    private func dateTime(_ name: StaticString, _ value: CWMPDateTime, _ field: @autoclosure () -> String) throws(CWMPError) {
        try Rules.checkDateTime(value, field())
        try writer.element(name, value.rawValue, plain: true)
    }

    private func commandKey(_ value: String, _ field: @autoclosure () -> String) throws(CWMPError) {
        try string("CommandKey", value, max: 32, field())
    }

    /// `<name soapenc:arrayType="type[count]">` … `</name>`.
    private func array(_ name: StaticString, type: String, count: Int, _ items: () throws(CWMPError) -> Void) throws(CWMPError) {
        try writer.startElement(name)
        try writer.attribute("soapenc:arrayType", "\(type)[\(count)]")
        try items()
        try writer.endElement()
    }

    private func status(_ value: Int, _ field: @autoclosure () -> String) throws(CWMPError) {
        try Rules.checkEnumeration(value, 0...1, field())
        try integer("Status", value)
    }

    private func stringArray(_ name: StaticString, _ values: [String], minimum: Int, itemMax: Int?,
                             _ field: @autoclosure () -> String) throws(CWMPError) {
        try Rules.checkCount(values.count, minimum...Int.max, field())
        try array(name, type: "xsd:string", count: values.count) { () throws(CWMPError) in
            for (i, value) in values.enumerated() {
                try string("string", value, max: itemMax, "\(field())[\(i)]")
            }
        }
    }

    private func parameterValueList(_ list: [ParameterValueStruct], _ field: @autoclosure () -> String) throws(CWMPError) {
        try array("ParameterList", type: "cwmp:ParameterValueStruct", count: list.count) { () throws(CWMPError) in
            for (i, parameter) in list.enumerated() {
                try writer.startElement("ParameterValueStruct")
                try string("Name", parameter.name, max: 256, "\(field())[\(i)].Name")
                // Value is xs:anySimpleType: only xsi:type tells the receiver (and the validator) what it is.
                let type = parameter.type ?? .string
                let info = try Rules.checkString(parameter.value, maxLength: nil, "\(field())[\(i)].Value")
                try Rules.checkValue(parameter.value, type: type, "\(field())[\(i)].Value (\(parameter.name))")
                try writer.element("Value", attribute: "xsi:type", CWMPEncoder.xsiType(type), parameter.value,
                                   plain: info.plain)
                try writer.endElement()
            }
        }
    }

    private func transferFault(_ fault: TransferFault, _ field: String) throws(CWMPError) {
        try Rules.checkTransferFaultCode(fault.faultCode, in: namespace, "\(field).FaultCode")
        try writer.startElement("FaultStruct")
        try unsigned("FaultCode", fault.faultCode)
        try string("FaultString", fault.faultString, max: 256, "\(field).FaultString")
        try writer.endElement()
    }

    private func operationResult(_ result: DeploymentUnitOperationResult, _ field: String) throws(CWMPError) {
        try Rules.checkUUID(result.uuid, "\(field).UUID")
        try writer.element("UUID", result.uuid)
        try string("DeploymentUnitRef", result.deploymentUnitRef, max: nil, "\(field).DeploymentUnitRef")
        try string("Version", result.version, max: 32, "\(field).Version")
        guard ["Installed", "Uninstalled", "Failed"].contains(result.currentState) else {
            throw CWMPError(.invalidArgument, "\(field).CurrentState \"\(result.currentState)\" is not Installed, Uninstalled or Failed")
        }
        try writer.element("CurrentState", result.currentState)
        try boolean("Resolved", result.resolved)
        try string("ExecutionUnitRefList", result.executionUnitRefList, max: nil, "\(field).ExecutionUnitRefList")
        try dateTime("StartTime", result.startTime, "\(field).StartTime")
        try dateTime("CompleteTime", result.completeTime, "\(field).CompleteTime")
        try Rules.checkDeploymentUnitFaultCode(result.fault.faultCode, "\(field).Fault.FaultCode")
        try writer.startElement("Fault")
        try unsigned("FaultCode", result.fault.faultCode)
        try string("FaultString", result.fault.faultString, max: nil, "\(field).Fault.FaultString")
        try writer.endElement()
    }

    /// An optional element of the DU operation structs: the model uses "" for "not given", and "" is not
    /// always a legal value (UUID has a pattern), so an empty optional element is left out.
    private func optional(_ name: StaticString, _ value: String, max: Int?, _ field: @autoclosure () -> String) throws(CWMPError) {
        if value.isEmpty { return }
        try string(name, value, max: max, field())
    }

    private func optionalUUID(_ value: String, _ field: @autoclosure () -> String) throws(CWMPError) {
        if value.isEmpty { return }
        try Rules.checkUUID(value, field())
        try writer.element("UUID", value)
    }

    // MARK: - Body

    static func elementName(of message: CWMPMessage) -> StaticString {
        switch message {
        case .getRPCMethods: "cwmp:GetRPCMethods"
        case .setParameterValues: "cwmp:SetParameterValues"
        case .getParameterValues: "cwmp:GetParameterValues"
        case .getParameterNames: "cwmp:GetParameterNames"
        case .setParameterAttributes: "cwmp:SetParameterAttributes"
        case .getParameterAttributes: "cwmp:GetParameterAttributes"
        case .addObject: "cwmp:AddObject"
        case .deleteObject: "cwmp:DeleteObject"
        case .reboot: "cwmp:Reboot"
        case .download: "cwmp:Download"
        case .upload: "cwmp:Upload"
        case .factoryReset: "cwmp:FactoryReset"
        case .scheduleInform: "cwmp:ScheduleInform"
        case .scheduleDownload: "cwmp:ScheduleDownload"
        case .cancelTransfer: "cwmp:CancelTransfer"
        case .getQueuedTransfers: "cwmp:GetQueuedTransfers"
        case .getAllQueuedTransfers: "cwmp:GetAllQueuedTransfers"
        case .changeDUState: "cwmp:ChangeDUState"
        case .getRPCMethodsResponse: "cwmp:GetRPCMethodsResponse"
        case .setParameterValuesResponse: "cwmp:SetParameterValuesResponse"
        case .getParameterValuesResponse: "cwmp:GetParameterValuesResponse"
        case .getParameterNamesResponse: "cwmp:GetParameterNamesResponse"
        case .setParameterAttributesResponse: "cwmp:SetParameterAttributesResponse"
        case .getParameterAttributesResponse: "cwmp:GetParameterAttributesResponse"
        case .addObjectResponse: "cwmp:AddObjectResponse"
        case .deleteObjectResponse: "cwmp:DeleteObjectResponse"
        case .rebootResponse: "cwmp:RebootResponse"
        case .downloadResponse: "cwmp:DownloadResponse"
        case .uploadResponse: "cwmp:UploadResponse"
        case .factoryResetResponse: "cwmp:FactoryResetResponse"
        case .scheduleInformResponse: "cwmp:ScheduleInformResponse"
        case .scheduleDownloadResponse: "cwmp:ScheduleDownloadResponse"
        case .cancelTransferResponse: "cwmp:CancelTransferResponse"
        case .getQueuedTransfersResponse: "cwmp:GetQueuedTransfersResponse"
        case .getAllQueuedTransfersResponse: "cwmp:GetAllQueuedTransfersResponse"
        case .changeDUStateResponse: "cwmp:ChangeDUStateResponse"
        case .inform: "cwmp:Inform"
        case .transferComplete: "cwmp:TransferComplete"
        case .autonomousTransferComplete: "cwmp:AutonomousTransferComplete"
        case .duStateChangeComplete: "cwmp:DUStateChangeComplete"
        case .autonomousDUStateChangeComplete: "cwmp:AutonomousDUStateChangeComplete"
        case .requestDownload: "cwmp:RequestDownload"
        case .kicked: "cwmp:Kicked"
        case .informResponse: "cwmp:InformResponse"
        case .transferCompleteResponse: "cwmp:TransferCompleteResponse"
        case .autonomousTransferCompleteResponse: "cwmp:AutonomousTransferCompleteResponse"
        case .duStateChangeCompleteResponse: "cwmp:DUStateChangeCompleteResponse"
        case .autonomousDUStateChangeCompleteResponse: "cwmp:AutonomousDUStateChangeCompleteResponse"
        case .requestDownloadResponse: "cwmp:RequestDownloadResponse"
        case .kickedResponse: "cwmp:KickedResponse"
        case .fault: "soapenv:Fault"
        }
    }

    func message(_ message: CWMPMessage) throws(CWMPError) {
        if case .fault(let fault) = message {
            try soapFault(fault)
            return
        }
        try writer.startElement(Self.elementName(of: message))
        try arguments(of: message)
        try writer.endElement()
    }

    private func arguments(of message: CWMPMessage) throws(CWMPError) {
        switch message {
        // Messages without arguments: the element alone.
        case .getRPCMethods, .factoryReset, .getQueuedTransfers, .getAllQueuedTransfers,
             .setParameterAttributesResponse, .rebootResponse, .factoryResetResponse, .scheduleInformResponse,
             .scheduleDownloadResponse, .cancelTransferResponse, .changeDUStateResponse,
             .transferCompleteResponse, .autonomousTransferCompleteResponse, .duStateChangeCompleteResponse,
             .autonomousDUStateChangeCompleteResponse, .requestDownloadResponse, .fault:
            return

        case .setParameterValues(let m):
            try parameterValueList(m.parameterList, "SetParameterValues.ParameterList")
            try string("ParameterKey", m.parameterKey, max: 32, "SetParameterValues.ParameterKey")

        case .getParameterValues(let m):
            try stringArray("ParameterNames", m.parameterNames, minimum: 1, itemMax: 256, "GetParameterValues.ParameterNames")

        case .getParameterNames(let m):
            try string("ParameterPath", m.parameterPath, max: 256, "GetParameterNames.ParameterPath")
            try boolean("NextLevel", m.nextLevel)

        case .setParameterAttributes(let m):
            let field = "SetParameterAttributes.ParameterList"
            try Rules.checkCount(m.parameterList.count, 1...Int.max, field)
            try array("ParameterList", type: "cwmp:SetParameterAttributesStruct", count: m.parameterList.count) { () throws(CWMPError) in
                for (i, s) in m.parameterList.enumerated() {
                    try writer.startElement("SetParameterAttributesStruct")
                    try string("Name", s.name, max: 256, "\(field)[\(i)].Name")
                    try boolean("NotificationChange", s.notificationChange)
                    try Rules.checkNotification(s.notification, in: namespace, "\(field)[\(i)].Notification")
                    try integer("Notification", s.notification.rawValue)
                    try boolean("AccessListChange", s.accessListChange)
                    try accessList(s.accessList, "\(field)[\(i)].AccessList")
                    try writer.endElement()
                }
            }

        case .getParameterAttributes(let m):
            try stringArray("ParameterNames", m.parameterNames, minimum: 1, itemMax: 256, "GetParameterAttributes.ParameterNames")

        case .addObject(let m):
            try Rules.checkObjectName(m.objectName, "AddObject.ObjectName")
            try writer.element("ObjectName", m.objectName)
            try string("ParameterKey", m.parameterKey, max: 32, "AddObject.ParameterKey")

        case .deleteObject(let m):
            try Rules.checkObjectName(m.objectName, "DeleteObject.ObjectName")
            try writer.element("ObjectName", m.objectName)
            try string("ParameterKey", m.parameterKey, max: 32, "DeleteObject.ParameterKey")

        case .reboot(let m):
            try commandKey(m.commandKey, "Reboot.CommandKey")

        case .download(let m):
            try commandKey(m.commandKey, "Download.CommandKey")
            try Rules.checkFileType(m.fileType, .download, in: namespace, "Download.FileType")
            try writer.element("FileType", m.fileType)
            try string("URL", m.url, max: 256, "Download.URL")
            try string("Username", m.username, max: 256, "Download.Username")
            try string("Password", m.password, max: 256, "Download.Password")
            try unsigned("FileSize", m.fileSize)
            try string("TargetFileName", m.targetFileName, max: 256, "Download.TargetFileName")
            try unsigned("DelaySeconds", m.delaySeconds)
            try string("SuccessURL", m.successURL, max: 256, "Download.SuccessURL")
            try string("FailureURL", m.failureURL, max: 256, "Download.FailureURL")

        case .upload(let m):
            try commandKey(m.commandKey, "Upload.CommandKey")
            try Rules.checkFileType(m.fileType, .upload, in: namespace, "Upload.FileType")
            try writer.element("FileType", m.fileType)
            try string("URL", m.url, max: 256, "Upload.URL")
            try string("Username", m.username, max: 256, "Upload.Username")
            try string("Password", m.password, max: 256, "Upload.Password")
            try unsigned("DelaySeconds", m.delaySeconds)

        case .scheduleInform(let m):
            try unsigned("DelaySeconds", m.delaySeconds)
            try commandKey(m.commandKey, "ScheduleInform.CommandKey")

        case .scheduleDownload(let m):
            try commandKey(m.commandKey, "ScheduleDownload.CommandKey")
            try Rules.checkFileType(m.fileType, .scheduleDownload, in: namespace, "ScheduleDownload.FileType")
            try writer.element("FileType", m.fileType)
            try string("URL", m.url, max: 256, "ScheduleDownload.URL")
            try string("Username", m.username, max: 256, "ScheduleDownload.Username")
            try string("Password", m.password, max: 256, "ScheduleDownload.Password")
            try unsigned("FileSize", m.fileSize)
            try string("TargetFileName", m.targetFileName, max: 256, "ScheduleDownload.TargetFileName")
            let field = "ScheduleDownload.TimeWindowList"
            try Rules.checkCount(m.timeWindowList.count, 1...2, field)
            try array("TimeWindowList", type: "cwmp:TimeWindowStruct", count: m.timeWindowList.count) { () throws(CWMPError) in
                for (i, window) in m.timeWindowList.enumerated() {
                    try writer.startElement("TimeWindowStruct")
                    try unsigned("WindowStart", window.windowStart)
                    try unsigned("WindowEnd", window.windowEnd)
                    try Rules.checkWindowMode(window.windowMode, "\(field)[\(i)].WindowMode")
                    try writer.element("WindowMode", window.windowMode)
                    try string("UserMessage", window.userMessage, max: 256, "\(field)[\(i)].UserMessage")
                    try writer.element("MaxRetries", String(window.maxRetries))
                    try writer.endElement()
                }
            }

        case .cancelTransfer(let m):
            try commandKey(m.commandKey, "CancelTransfer.CommandKey")

        case .changeDUState(let m):
            try changeDUState(m)

        case .getRPCMethodsResponse(let m):
            try stringArray("MethodList", m.methodList, minimum: 1, itemMax: 64, "GetRPCMethodsResponse.MethodList")

        case .setParameterValuesResponse(let m):
            try status(m.status, "SetParameterValuesResponse.Status")

        case .getParameterValuesResponse(let m):
            try parameterValueList(m.parameterList, "GetParameterValuesResponse.ParameterList")

        case .getParameterNamesResponse(let m):
            let field = "GetParameterNamesResponse.ParameterList"
            try array("ParameterList", type: "cwmp:ParameterInfoStruct", count: m.parameterList.count) { () throws(CWMPError) in
                for (i, info) in m.parameterList.enumerated() {
                    try writer.startElement("ParameterInfoStruct")
                    try string("Name", info.name, max: 256, "\(field)[\(i)].Name")
                    try boolean("Writable", info.writable)
                    try writer.endElement()
                }
            }

        case .getParameterAttributesResponse(let m):
            let field = "GetParameterAttributesResponse.ParameterList"
            try array("ParameterList", type: "cwmp:ParameterAttributeStruct", count: m.parameterList.count) { () throws(CWMPError) in
                for (i, attribute) in m.parameterList.enumerated() {
                    try writer.startElement("ParameterAttributeStruct")
                    try string("Name", attribute.name, max: 256, "\(field)[\(i)].Name")
                    try Rules.checkNotification(attribute.notification, in: namespace, "\(field)[\(i)].Notification")
                    try integer("Notification", attribute.notification.rawValue)
                    try accessList(attribute.accessList, "\(field)[\(i)].AccessList")
                    try writer.endElement()
                }
            }

        case .addObjectResponse(let m):
            try Rules.checkEnumeration(m.instanceNumber, 1...UInt32.max, "AddObjectResponse.InstanceNumber")
            try unsigned("InstanceNumber", m.instanceNumber)
            try status(m.status, "AddObjectResponse.Status")

        case .deleteObjectResponse(let m):
            try status(m.status, "DeleteObjectResponse.Status")

        case .downloadResponse(let m):
            try transferResponse(m, "DownloadResponse")

        case .uploadResponse(let m):
            try transferResponse(m, "UploadResponse")

        case .getQueuedTransfersResponse(let m):
            let field = "GetQueuedTransfersResponse.TransferList"
            try Rules.checkCount(m.transferList.count, 0...16, field)
            try array("TransferList", type: "cwmp:QueuedTransferStruct", count: m.transferList.count) { () throws(CWMPError) in
                for (i, transfer) in m.transferList.enumerated() {
                    try writer.startElement("QueuedTransferStruct")
                    try commandKey(transfer.commandKey, "\(field)[\(i)].CommandKey")
                    try Rules.checkEnumeration(transfer.state, 1...3, "\(field)[\(i)].State")
                    try integer("State", transfer.state)
                    try writer.endElement()
                }
            }

        case .getAllQueuedTransfersResponse(let m):
            let field = "GetAllQueuedTransfersResponse.TransferList"
            try Rules.checkCount(m.transferList.count, 0...16, field)
            try array("TransferList", type: "cwmp:AllQueuedTransferStruct", count: m.transferList.count) { () throws(CWMPError) in
                for (i, transfer) in m.transferList.enumerated() {
                    try writer.startElement("AllQueuedTransferStruct")
                    try commandKey(transfer.commandKey, "\(field)[\(i)].CommandKey")
                    try Rules.checkEnumeration(transfer.state, 1...3, "\(field)[\(i)].State")
                    try integer("State", transfer.state)
                    try boolean("IsDownload", transfer.isDownload)
                    try Rules.checkFileType(transfer.fileType, .transfer, in: namespace, "\(field)[\(i)].FileType")
                    try writer.element("FileType", transfer.fileType)
                    try unsigned("FileSize", transfer.fileSize)
                    try string("TargetFileName", transfer.targetFileName, max: 256, "\(field)[\(i)].TargetFileName")
                    try writer.endElement()
                }
            }

        case .inform(let m):
            try inform(m)

        case .transferComplete(let m):
            try commandKey(m.commandKey, "TransferComplete.CommandKey")
            try transferFault(m.fault, "TransferComplete.FaultStruct")
            try dateTime("StartTime", m.startTime, "TransferComplete.StartTime")
            try dateTime("CompleteTime", m.completeTime, "TransferComplete.CompleteTime")

        case .autonomousTransferComplete(let m):
            try string("AnnounceURL", m.announceURL, max: 1024, "AutonomousTransferComplete.AnnounceURL")
            try string("TransferURL", m.transferURL, max: 1024, "AutonomousTransferComplete.TransferURL")
            try boolean("IsDownload", m.isDownload)
            try Rules.checkFileType(m.fileType, .transfer, in: namespace, "AutonomousTransferComplete.FileType")
            try writer.element("FileType", m.fileType)
            try unsigned("FileSize", m.fileSize)
            try string("TargetFileName", m.targetFileName, max: 256, "AutonomousTransferComplete.TargetFileName")
            try transferFault(m.fault, "AutonomousTransferComplete.FaultStruct")
            try dateTime("StartTime", m.startTime, "AutonomousTransferComplete.StartTime")
            try dateTime("CompleteTime", m.completeTime, "AutonomousTransferComplete.CompleteTime")

        case .duStateChangeComplete(let m):
            // Results is a repeated element (OpResultStruct), not a SOAP array.
            try Rules.checkCount(m.results.count, 1...Int.max, "DUStateChangeComplete.Results")
            for (i, result) in m.results.enumerated() {
                try writer.startElement("Results")
                try operationResult(result, "DUStateChangeComplete.Results[\(i)]")
                try writer.endElement()
            }
            try commandKey(m.commandKey, "DUStateChangeComplete.CommandKey")

        case .autonomousDUStateChangeComplete(let m):
            try Rules.checkCount(m.results.count, 1...Int.max, "AutonomousDUStateChangeComplete.Results")
            for (i, result) in m.results.enumerated() {
                let field = "AutonomousDUStateChangeComplete.Results[\(i)]"
                try writer.startElement("Results")
                try operationResult(result.result, field)
                // DeploymentUnitOperationType is a union with xs:string: Install/Update/Uninstall or a vendor word.
                try string("OperationPerformed", result.operationPerformed, max: nil, "\(field).OperationPerformed")
                try writer.endElement()
            }

        case .requestDownload(let m):
            try Rules.checkFileType(m.fileType, .requestDownload, in: namespace, "RequestDownload.FileType")
            try writer.element("FileType", m.fileType)
            let field = "RequestDownload.FileTypeArg"
            try Rules.checkCount(m.fileTypeArg.count, 0...16, field)
            try array("FileTypeArg", type: "cwmp:ArgStruct", count: m.fileTypeArg.count) { () throws(CWMPError) in
                for (i, argument) in m.fileTypeArg.enumerated() {
                    try writer.startElement("ArgStruct")
                    try string("Name", argument.name, max: 64, "\(field)[\(i)].Name")
                    try string("Value", argument.value, max: 256, "\(field)[\(i)].Value")
                    try writer.endElement()
                }
            }

        case .kicked(let m):
            try string("Command", m.command, max: 32, "Kicked.Command")
            try string("Referer", m.referer, max: 64, "Kicked.Referer")
            try string("Arg", m.arg, max: 256, "Kicked.Arg")
            try string("Next", m.next, max: 1024, "Kicked.Next")

        case .informResponse(let m):
            try unsigned("MaxEnvelopes", m.maxEnvelopes)

        case .kickedResponse(let m):
            try string("NextURL", m.nextURL, max: 1024, "KickedResponse.NextURL")
        }
    }

    private func accessList(_ list: [String], _ field: String) throws(CWMPError) {
        // AccessListValueType is an enumeration with the single value "Subscriber".
        for (i, entry) in list.enumerated() where entry != "Subscriber" {
            throw CWMPError(.invalidArgument, "\(field)[\(i)] \"\(entry)\" is not \"Subscriber\", the only AccessList value")
        }
        try array("AccessList", type: "xsd:string", count: list.count) { () throws(CWMPError) in
            for entry in list { try writer.element("string", entry) }
        }
    }

    private func transferResponse(_ m: TransferResponse, _ name: String) throws(CWMPError) {
        try status(m.status, "\(name).Status")
        try dateTime("StartTime", m.startTime, "\(name).StartTime")
        try dateTime("CompleteTime", m.completeTime, "\(name).CompleteTime")
    }

    private func inform(_ m: Inform) throws(CWMPError) {
        try writer.startElement("DeviceId")
        try string("Manufacturer", m.deviceId.manufacturer, max: 64, "Inform.DeviceId.Manufacturer")
        try Rules.checkOUI(m.deviceId.oui, "Inform.DeviceId.OUI")
        try writer.element("OUI", m.deviceId.oui)
        try string("ProductClass", m.deviceId.productClass, max: 64, "Inform.DeviceId.ProductClass")
        try string("SerialNumber", m.deviceId.serialNumber, max: 64, "Inform.DeviceId.SerialNumber")
        try writer.endElement()

        try Rules.checkCount(m.events.count, 0...64, "Inform.Event")
        try array("Event", type: "cwmp:EventStruct", count: m.events.count) { () throws(CWMPError) in
            for (i, event) in m.events.enumerated() {
                try writer.startElement("EventStruct")
                try Rules.checkEventCode(event.eventCode, in: namespace, "Inform.Event[\(i)].EventCode")
                try writer.element("EventCode", event.eventCode)
                try commandKey(event.commandKey, "Inform.Event[\(i)].CommandKey")
                try writer.endElement()
            }
        }
        try unsigned("MaxEnvelopes", m.maxEnvelopes)
        try dateTime("CurrentTime", m.currentTime, "Inform.CurrentTime")
        try unsigned("RetryCount", m.retryCount)
        try parameterValueList(m.parameterList, "Inform.ParameterList")
    }

    private func changeDUState(_ m: ChangeDUState) throws(CWMPError) {
        try Rules.checkCount(m.operations.count, 1...Int.max, "ChangeDUState.Operations")
        for (i, operation) in m.operations.enumerated() {
            let field = "ChangeDUState.Operations[\(i)]"
            // Operations is declared with the abstract OperationStruct; xsi:type picks the concrete struct.
            try writer.startElement("Operations")
            switch operation {
            case let .install(url, uuid, username, password, executionEnvRef):
                try writer.attribute("xsi:type", "cwmp:InstallOpStruct")
                try Rules.checkAnyURI(url, maxLength: 1024, "\(field).URL")
                try writer.element("URL", url)
                try optionalUUID(uuid, "\(field).UUID")
                try optional("Username", username, max: 256, "\(field).Username")
                try optional("Password", password, max: 256, "\(field).Password")
                try optional("ExecutionEnvRef", executionEnvRef, max: 256, "\(field).ExecutionEnvRef")
            case let .update(uuid, version, url, username, password):
                try writer.attribute("xsi:type", "cwmp:UpdateOpStruct")
                try optionalUUID(uuid, "\(field).UUID")
                try optional("Version", version, max: 32, "\(field).Version")
                if !url.isEmpty {
                    try Rules.checkAnyURI(url, maxLength: 1024, "\(field).URL")
                    try writer.element("URL", url)
                }
                try optional("Username", username, max: 256, "\(field).Username")
                try optional("Password", password, max: 256, "\(field).Password")
            case let .uninstall(uuid, version, executionEnvRef):
                try writer.attribute("xsi:type", "cwmp:UninstallOpStruct")
                try Rules.checkUUID(uuid, "\(field).UUID")
                try writer.element("UUID", uuid)
                try optional("Version", version, max: 32, "\(field).Version")
                try optional("ExecutionEnvRef", executionEnvRef, max: 256, "\(field).ExecutionEnvRef")
            }
            try writer.endElement()
        }
        try commandKey(m.commandKey, "ChangeDUState.CommandKey")
    }

    private func soapFault(_ fault: CWMPFault) throws(CWMPError) {
        try Rules.checkFaultCode(fault.code.rawValue, in: namespace, "Fault.FaultCode")
        try writer.startElement("soapenv:Fault")
        // faultcode is an xs:QName; TR-069 uses the unprefixed SOAP 1.1 names Client and Server.
        try writer.element("faultcode", fault.code.soapFaultCode.rawValue)
        try writer.element("faultstring", "CWMP fault")
        try writer.startElement("detail")
        try writer.startElement("cwmp:Fault")
        try unsigned("FaultCode", fault.code.rawValue)
        try string("FaultString", fault.faultString, max: nil, "Fault.FaultString")
        for (i, entry) in fault.setParameterValuesFaults.enumerated() {
            let field = "Fault.SetParameterValuesFault[\(i)]"
            try Rules.checkSetParameterValuesFaultCode(entry.faultCode.rawValue, in: namespace, "\(field).FaultCode")
            try writer.startElement("SetParameterValuesFault")
            try string("ParameterName", entry.parameterName, max: nil, "\(field).ParameterName")
            try unsigned("FaultCode", entry.faultCode.rawValue)
            try string("FaultString", entry.faultString, max: nil, "\(field).FaultString")
            try writer.endElement()
        }
        try writer.endElement()
        try writer.endElement()
        try writer.endElement()
    }
}
