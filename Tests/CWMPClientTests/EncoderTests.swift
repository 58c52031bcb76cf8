import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
@testable import CWMPClient
import CWMPTestSupport

private func encodeToString(_ envelope: CWMPEnvelope) throws -> String {
    String(decoding: try CWMPEncoder().encode(envelope), as: UTF8.self)
}

/// The body element's qualified name in an encoded envelope, e.g. `cwmp:Inform` or `soapenv:Fault`.
private func bodyElement(of xml: String) -> String? {
    guard let body = xml.range(of: "<soapenv:Body>") else { return nil }
    let rest = xml[body.upperBound...].dropFirst()  // "<"
    return String(rest.prefix { $0 != ">" && $0 != " " && $0 != "/" })
}

private let prologue = #"<?xml version="1.0" encoding="UTF-8"?>"# + "\n"
    + #"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" "#
    + #"xmlns:soapenc="http://schemas.xmlsoap.org/soap/encoding/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" "#
    + #"xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" "#

@Suite struct EncoderXSDTests {
    @Test(.enabled(if: XSDValidator.isAvailable,
                   "needs ../shared/tools/cwmp-validate, ../shared/data/bbf and xmllint; ../shared is absent beside this clone"),
          arguments: CWMPNamespace.allCases)
    func everySampleValidatesAgainstItsSchema(namespace: CWMPNamespace) throws {
        let samples = SampleMessages.all(for: namespace)
        #expect(samples.count > 40)
        let declared = try XSDValidator.declaredElements(for: namespace)
        var documents: [(name: String, bytes: [UInt8])] = []
        for sample in samples {
            let bytes = try CWMPEncoder().encode(sample.envelope)
            documents.append((sample.name, bytes))
            // Lax Body validation would let an undeclared element through; make sure it is declared.
            let element = bodyElement(of: String(decoding: bytes, as: UTF8.self))
            if element != "soapenv:Fault" {
                let local = element.map { String($0.drop { $0 != ":" }.dropFirst()) }
                #expect(local.map(declared.contains) == true, "\(sample.name): body element \(element ?? "none") is not declared in \(namespace.rawValue)")
            }
        }
        let failures = try XSDValidator.validate(documents)
        #expect(failures.isEmpty, "\(failures.count) of \(documents.count) envelopes fail \(namespace.rawValue):\n\(failures.map(\.description).joined(separator: "\n\n"))")
    }

    /// The validator must actually reject things, or the test above proves nothing.
    @Test(.enabled(if: XSDValidator.isAvailable, "needs ../shared (absent beside this clone)"))
    func validatorRejectsABrokenEnvelope() throws {
        let good = try CWMPEncoder().encode(CWMPEnvelope(message: .reboot(Reboot(commandKey: "k"))))
        let broken = Array(String(decoding: good, as: UTF8.self)
            .replacingOccurrences(of: "<CommandKey>k</CommandKey>", with: "<CommandKey>k</CommandKey><Extra/>").utf8)
        let failures = try XSDValidator.validate([("good", good), ("broken", broken)])
        #expect(failures.map(\.name) == ["broken"])
    }

    /// Every RPC element the 1-2 schema declares has a sample, except the deprecated SetVouchers and
    /// GetOptions, which the model leaves out on purpose.
    @Test(.enabled(if: XSDValidator.isAvailable, "needs ../shared (absent beside this clone)"))
    func catalogueCoversEveryRPCOfTheSchema() throws {
        let notRPCs: Set<String> = ["ID", "HoldRequests", "SessionTimeout", "SupportedCWMPVersions", "UseCWMPVersion", "Fault",
                                    "SetVouchers", "SetVouchersResponse", "GetOptions", "GetOptionsResponse"]
        let rpcs = try XSDValidator.declaredElements(for: .cwmp12).subtracting(notRPCs)
        #expect(rpcs.count == 50)
        let sampled = Set(SampleMessages.all(for: .cwmp12).map { CWMPEncoder.rpcName(of: $0.envelope.message) })
        #expect(rpcs.subtracting(sampled).isEmpty, "no sample for \(rpcs.subtracting(sampled).sorted())")
        #expect(sampled.contains("Fault"))
    }
}

@Suite struct EncoderOutputTests {
    @Test func getParameterValuesResponseExactBytes() throws {
        let envelope = CWMPEnvelope(namespace: .cwmp12, header: CWMPHeader(id: "7"), message: .getParameterValuesResponse(
            GetParameterValuesResponse(parameterList: [
                ParameterValueStruct(name: "Device.DeviceInfo.UpTime", value: "3600", type: .unsignedInt),
                ParameterValueStruct(name: "Device.X_A&B", value: "<a href=\"x\">'&'</a>\r", type: nil),
                ParameterValueStruct(name: "Device.X_Blob", value: "QQ==", type: .base64),
            ])))
        let expected: String = prologue + #"xmlns:cwmp="urn:dslforum-org:cwmp-1-2">"#
            + #"<soapenv:Header><cwmp:ID soapenv:mustUnderstand="1">7</cwmp:ID></soapenv:Header>"#
            + #"<soapenv:Body><cwmp:GetParameterValuesResponse>"#
            + #"<ParameterList soapenc:arrayType="cwmp:ParameterValueStruct[3]">"#
            + #"<ParameterValueStruct><Name>Device.DeviceInfo.UpTime</Name><Value xsi:type="xsd:unsignedInt">3600</Value></ParameterValueStruct>"#
            + #"<ParameterValueStruct><Name>Device.X_A&amp;B</Name><Value xsi:type="xsd:string">&lt;a href=&quot;x&quot;&gt;'&amp;'&lt;/a&gt;&#13;</Value></ParameterValueStruct>"#
            + #"<ParameterValueStruct><Name>Device.X_Blob</Name><Value xsi:type="soapenc:base64">QQ==</Value></ParameterValueStruct>"#
            + #"</ParameterList></cwmp:GetParameterValuesResponse></soapenv:Body></soapenv:Envelope>"# + "\n"
        #expect(try encodeToString(envelope) == expected)
    }

    @Test func emptyArraysCarryCountZeroAndNoHeaderIsWrittenWhenEmpty() throws {
        let xml = try encodeToString(CWMPEnvelope(namespace: .cwmp10, header: CWMPHeader(), message: .getParameterNamesResponse(
            GetParameterNamesResponse(parameterList: []))))
        let expected: String = prologue + #"xmlns:cwmp="urn:dslforum-org:cwmp-1-0">"#
            + #"<soapenv:Body><cwmp:GetParameterNamesResponse><ParameterList soapenc:arrayType="cwmp:ParameterInfoStruct[0]"/>"#
            + #"</cwmp:GetParameterNamesResponse></soapenv:Body></soapenv:Envelope>"# + "\n"
        #expect(xml == expected)
    }

    @Test func headersCarryTheirMustUnderstandValues() throws {
        let xml = try encodeToString(CWMPEnvelope(namespace: .cwmp12, header: CWMPHeader(
            id: "a<&>", holdRequests: false, sessionTimeout: 30, supportedCWMPVersions: [.v1_0, .v1_4], useCWMPVersion: .v1_3),
            message: .getRPCMethods))
        let fragment: String = #"<soapenv:Header><cwmp:ID soapenv:mustUnderstand="1">a&lt;&amp;&gt;</cwmp:ID>"#
            + #"<cwmp:HoldRequests soapenv:mustUnderstand="1">false</cwmp:HoldRequests>"#
            + #"<cwmp:SessionTimeout soapenv:mustUnderstand="0">30</cwmp:SessionTimeout>"#
            + #"<cwmp:SupportedCWMPVersions soapenv:mustUnderstand="0">1.0,1.4</cwmp:SupportedCWMPVersions>"#
            + #"<cwmp:UseCWMPVersion soapenv:mustUnderstand="1">1.3</cwmp:UseCWMPVersion></soapenv:Header>"#
            + #"<soapenv:Body><cwmp:GetRPCMethods/></soapenv:Body>"#
        #expect(xml.contains(fragment))
    }

    @Test func arrayTypesAndCountsOfEveryArray() throws {
        let expectations: [(String, String)] = [
            ("GetParameterValues", #"<ParameterNames soapenc:arrayType="xsd:string[3]">"#),
            ("GetRPCMethodsResponse", #"<MethodList soapenc:arrayType="xsd:string[11]">"#),
            ("SetParameterAttributes", #"<ParameterList soapenc:arrayType="cwmp:SetParameterAttributesStruct[2]">"#),
            ("SetParameterAttributes", #"<AccessList soapenc:arrayType="xsd:string[1]"><string>Subscriber</string></AccessList>"#),
            ("SetParameterAttributes", #"<AccessList soapenc:arrayType="xsd:string[0]"/>"#),
            ("GetParameterAttributesResponse", #"<ParameterList soapenc:arrayType="cwmp:ParameterAttributeStruct[3]">"#),
            ("Inform.boot", #"<Event soapenc:arrayType="cwmp:EventStruct[9]">"#),
            ("Inform.boot", #"<ParameterList soapenc:arrayType="cwmp:ParameterValueStruct[6]">"#),
            ("Inform.no-header.empty-lists", #"<Event soapenc:arrayType="cwmp:EventStruct[0]"/>"#),
            ("GetQueuedTransfersResponse", #"<TransferList soapenc:arrayType="cwmp:QueuedTransferStruct[2]">"#),
            ("GetAllQueuedTransfersResponse.empty", #"<TransferList soapenc:arrayType="cwmp:AllQueuedTransferStruct[0]"/>"#),
            ("ScheduleDownload", #"<TimeWindowList soapenc:arrayType="cwmp:TimeWindowStruct[2]">"#),
            ("RequestDownload", #"<FileTypeArg soapenc:arrayType="cwmp:ArgStruct[2]">"#),
            ("RequestDownload.no-args", #"<FileTypeArg soapenc:arrayType="cwmp:ArgStruct[0]"/>"#),
        ]
        let samples = Dictionary(uniqueKeysWithValues: SampleMessages.all(for: .cwmp12).map { ($0.name, $0.envelope) })
        for (name, fragment) in expectations {
            let envelope = try #require(samples[name], "no sample \(name)")
            let xml = try encodeToString(envelope)
            #expect(xml.contains(fragment), "\(name) lacks \(fragment)")
        }
    }

    @Test func everyValueCarriesItsXSIType() throws {
        let parameters = SampleMessages.everyValueType(.cwmp12)
        let xml = try encodeToString(CWMPEnvelope(message: .setParameterValues(SetParameterValues(parameterList: parameters, parameterKey: ""))))
        let expectedTypes = parameters.map { p -> String in
            switch p.type {
            case .none, .string?: "xsd:string"
            case .base64?: "soapenc:base64"
            case let type?: "xsd:\(type.rawValue)"
            }
        }
        let written = xml.split(separator: "<Value ").dropFirst().map { $0.split(separator: "\"")[1] }
        #expect(written.map(String.init) == expectedTypes)
        #expect(Set(parameters.compactMap(\.type)) == Set(ParameterValueType.allCases))
    }

    @Test func changeDUStateOperationsAreTypedAndOmitEmptyOptionals() throws {
        let xml = try encodeToString(CWMPEnvelope(message: .changeDUState(ChangeDUState(operations: [
            .install(url: "http://a/b.ipk", uuid: "", username: "", password: "", executionEnvRef: "EE"),
            .uninstall(uuid: "6ba7b810-9dad-11d1-80b4-00c04fd430c8", version: "", executionEnvRef: ""),
        ], commandKey: "ck"))))
        let fragment: String = #"<cwmp:ChangeDUState><Operations xsi:type="cwmp:InstallOpStruct"><URL>http://a/b.ipk</URL>"#
            + #"<ExecutionEnvRef>EE</ExecutionEnvRef></Operations>"#
            + #"<Operations xsi:type="cwmp:UninstallOpStruct"><UUID>6ba7b810-9dad-11d1-80b4-00c04fd430c8</UUID></Operations>"#
            + #"<CommandKey>ck</CommandKey></cwmp:ChangeDUState>"#
        #expect(xml.contains(fragment))
    }

    @Test func faultEnvelope() throws {
        let xml = try encodeToString(CWMPEnvelope(namespace: .cwmp11, header: CWMPHeader(id: "42"), message: .fault(
            CWMPFault(.invalidArguments, setParameterValuesFaults: [
                SetParameterValuesFault(parameterName: "Device.A<", faultCode: .invalidParameterType),
            ]))))
        let fragment: String = #"<soapenv:Body><soapenv:Fault><faultcode>Client</faultcode><faultstring>CWMP fault</faultstring>"#
            + #"<detail><cwmp:Fault><FaultCode>9003</FaultCode><FaultString>Invalid arguments</FaultString>"#
            + #"<SetParameterValuesFault><ParameterName>Device.A&lt;</ParameterName><FaultCode>9006</FaultCode>"#
            + #"<FaultString>Invalid parameter type</FaultString></SetParameterValuesFault></cwmp:Fault></detail>"#
            + #"</soapenv:Fault></soapenv:Body>"#
        #expect(xml.contains(fragment))
        let server = try encodeToString(CWMPEnvelope(message: .fault(CWMPFault(.internalError))))
        #expect(server.contains("<faultcode>Server</faultcode>"))
    }

    @Test func rpcNames() {
        #expect(CWMPEncoder.rpcName(of: .getRPCMethods) == "GetRPCMethods")
        #expect(CWMPEncoder.rpcName(of: .autonomousDUStateChangeCompleteResponse) == "AutonomousDUStateChangeCompleteResponse")
        #expect(CWMPEncoder.rpcName(of: .fault(CWMPFault(.internalError))) == "Fault")
    }

    /// One encoder value used from many tasks at once gives the same bytes as sequential use.
    @Test func encodesConcurrently() async throws {
        let encoder = CWMPEncoder()
        let envelopes = CWMPNamespace.allCases.flatMap { SampleMessages.all(for: $0).map(\.envelope) }
        let expected = try envelopes.map { try encoder.encode($0) }
        let results = try await withThrowingTaskGroup(of: (Int, [UInt8]).self) { group in
            for _ in 0..<4 {
                for (index, envelope) in envelopes.enumerated() {
                    group.addTask { (index, try encoder.encode(envelope)) }
                }
            }
            var all: [(Int, [UInt8])] = []
            for try await result in group { all.append(result) }
            return all
        }
        #expect(results.count == envelopes.count * 4)
        for (index, bytes) in results where bytes != expected[index] {
            Issue.record("concurrent encoding of envelope \(index) differs")
        }
    }

    @Test func largeResponseHasOneStructPerParameter() throws {
        let bytes = try CWMPEncoder().encode(SampleMessages.largeGetParameterValuesResponse(count: 5000))
        let xml = String(decoding: bytes, as: UTF8.self)
        #expect(xml.contains(#"soapenc:arrayType="cwmp:ParameterValueStruct[5000]""#))
        #expect(xml.split(separator: "<ParameterValueStruct>", omittingEmptySubsequences: false).count == 5001)
    }
}

@Suite struct EncoderRejectionTests {
    private func rejects(_ code: CWMPError.ErrorCode, _ envelope: CWMPEnvelope, mentioning text: String,
                         sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            let bytes = try CWMPEncoder().encode(envelope)
            Issue.record("encoded \(bytes.count) bytes instead of throwing", sourceLocation: sourceLocation)
        } catch {
            #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
            #expect(error.reason.contains(text), "reason \"\(error.reason)\" does not mention \(text)", sourceLocation: sourceLocation)
        }
    }

    private func inform(oui: String = "00D09E", events: [EventStruct] = [], parameters: [ParameterValueStruct] = [],
                        namespace: CWMPNamespace = .cwmp12) -> CWMPEnvelope {
        CWMPEnvelope(namespace: namespace, message: .inform(Inform(
            deviceId: DeviceId(manufacturer: "M", oui: oui, productClass: "P", serialNumber: "S"), events: events,
            currentTime: .unknown, retryCount: 0, parameterList: parameters)))
    }

    @Test func badOUI() {
        rejects(.invalidArgument, inform(oui: "00d09e"), mentioning: "Inform.DeviceId.OUI")
        rejects(.invalidArgument, inform(oui: "00D09"), mentioning: "[0-9A-F]{6}")
        rejects(.invalidArgument, inform(oui: "00D09E0"), mentioning: "OUI")
    }

    @Test func commandKeyOf33Characters() throws {
        let key32 = String(repeating: "k", count: 32)
        #expect(throws: Never.self) { try CWMPEncoder().encode(CWMPEnvelope(message: .reboot(Reboot(commandKey: key32)))) }
        rejects(.invalidArgument, CWMPEnvelope(message: .reboot(Reboot(commandKey: key32 + "k"))),
                mentioning: "Reboot.CommandKey is 33 characters long; the schema allows at most 32")
        // Length counts characters, not UTF-8 bytes: 32 two-byte characters are fine.
        #expect(throws: Never.self) {
            try CWMPEncoder().encode(CWMPEnvelope(message: .reboot(Reboot(commandKey: String(repeating: "é", count: 32)))))
        }
    }

    @Test func sixtyFiveEvents() throws {
        let events = (0..<64).map { _ in EventStruct(eventCode: "2 PERIODIC") }
        #expect(throws: Never.self) { try CWMPEncoder().encode(inform(events: events)) }
        rejects(.invalidArgument, inform(events: events + [EventStruct(eventCode: "1 BOOT")]),
                mentioning: "Inform.Event has 65 entries")
    }

    @Test func messagesAndHeadersNotInTheVersion() {
        rejects(.messageNotInVersion, CWMPEnvelope(namespace: .cwmp10, message: .changeDUState(
            ChangeDUState(operations: [.uninstall(uuid: "6ba7b810-9dad-11d1-80b4-00c04fd430c8", version: "", executionEnvRef: "")],
                          commandKey: ""))), mentioning: "ChangeDUState is not defined in urn:dslforum-org:cwmp-1-0")
        rejects(.messageNotInVersion, CWMPEnvelope(namespace: .cwmp11, message: .cancelTransferResponse),
                mentioning: "CancelTransferResponse")
        rejects(.messageNotInVersion, CWMPEnvelope(namespace: .cwmp10, message: .getAllQueuedTransfers),
                mentioning: "GetAllQueuedTransfers")
        rejects(.messageNotInVersion, CWMPEnvelope(namespace: .cwmp11, header: CWMPHeader(sessionTimeout: 30), message: .getRPCMethods),
                mentioning: "SessionTimeout")
        rejects(.messageNotInVersion, CWMPEnvelope(namespace: .cwmp10, header: CWMPHeader(useCWMPVersion: .v1_4), message: .getRPCMethods),
                mentioning: "UseCWMPVersion")
        rejects(.messageNotInVersion, inform(namespace: .cwmp11).with(header: CWMPHeader(supportedCWMPVersions: [.v1_4])),
                mentioning: "SupportedCWMPVersions")
    }

    @Test func valuesThatDoNotMatchTheirType() {
        let cases: [(String, ParameterValueType)] = [
            ("abc", .int), ("2147483648", .int), ("-1", .unsignedInt), ("4294967296", .unsignedInt), ("+5", .unsignedInt),
            ("9223372036854775808", .long), ("18446744073709551616", .unsignedLong), ("", .unsignedLong), (" 1", .int),
            ("yes", .boolean), ("TRUE", .boolean), ("2025-02-29T00:00:00Z", .dateTime), ("2025-01-01 00:00:00", .dateTime),
            ("QUJ", .base64), ("QR==", .base64), ("QQ=A", .base64), ("abc", .hexBinary), ("0g", .hexBinary),
        ]
        for (value, type) in cases {
            rejects(.invalidArgument, inform(parameters: [ParameterValueStruct(name: "Device.X", value: value, type: type)]),
                    mentioning: "is not a valid \(type.rawValue)")
        }
    }

    @Test func charactersXMLCannotCarry() {
        for bad in ["a\u{0}b", "bell\u{7}", "esc\u{1B}", "\u{FFFE}", "x\u{FFFF}"] {
            rejects(.invalidArgument, CWMPEnvelope(message: .reboot(Reboot(commandKey: bad))), mentioning: "XML 1.0 cannot carry")
        }
        rejects(.invalidArgument, CWMPEnvelope(header: CWMPHeader(id: "id\u{1}"), message: .getRPCMethods), mentioning: "Header ID")
    }

    @Test func versionSpecificCodes() {
        // 1-0 lists its event codes; 1-2 accepts any numbered event.
        rejects(.invalidArgument, inform(events: [EventStruct(eventCode: "10 AUTONOMOUS TRANSFER COMPLETE")], namespace: .cwmp10),
                mentioning: "is not an EventCode of urn:dslforum-org:cwmp-1-0")
        #expect(throws: Never.self) {
            try CWMPEncoder().encode(inform(events: [EventStruct(eventCode: "14 HEARTBEAT")], namespace: .cwmp12))
        }
        rejects(.invalidArgument, inform(events: [EventStruct(eventCode: "1  BOOT")]), mentioning: "EventCode")
        rejects(.invalidArgument, inform(events: [EventStruct(eventCode: "BOOT")]), mentioning: "EventCode")
        // Notification 3–6 (lightweight notifications) arrived with CWMP 1.2's schema.
        let attributes = GetParameterAttributesResponse(parameterList: [
            ParameterAttributeStruct(name: "Device.A", notification: NotificationValue(rawValue: 4), accessList: [])])
        rejects(.invalidArgument, CWMPEnvelope(namespace: .cwmp11, message: .getParameterAttributesResponse(attributes)),
                mentioning: "Notification 4 is not in 0...2")
        // 1-0's fault codes end at 9013.
        rejects(.invalidArgument, CWMPEnvelope(namespace: .cwmp10, message: .fault(CWMPFault(.invalidUUIDFormat))),
                mentioning: "Fault.FaultCode 9022")
        rejects(.invalidArgument, CWMPEnvelope(message: .fault(CWMPFault(CWMPFault.Code(rawValue: 7000)))), mentioning: "7000")
        // TransferComplete may not carry 9003; 9021–9032 are DU codes.
        rejects(.invalidArgument, CWMPEnvelope(message: .transferComplete(TransferComplete(
            commandKey: "", fault: TransferFault(faultCode: 9003), startTime: .unknown, completeTime: .unknown))),
                mentioning: "TransferComplete.FaultStruct.FaultCode 9003")
        rejects(.invalidArgument, CWMPEnvelope(message: .download(Download(commandKey: "", fileType: "Firmware", url: "http://x"))),
                mentioning: "Download.FileType")
        rejects(.invalidArgument, CWMPEnvelope(namespace: .cwmp10, message: .upload(Upload(
            commandKey: "", fileType: "3 Vendor Configuration File 1", url: "http://x"))), mentioning: "Upload FileType")
    }

    @Test func otherSchemaLimits() {
        rejects(.invalidArgument, CWMPEnvelope(message: .addObject(AddObject(objectName: "Device.IP.Interface", parameterKey: ""))),
                mentioning: "ending in \".\"")
        rejects(.invalidArgument, CWMPEnvelope(message: .getParameterValues(GetParameterValues(parameterNames: []))),
                mentioning: "at least 1")
        rejects(.invalidArgument, CWMPEnvelope(message: .getParameterValues(GetParameterValues(
            parameterNames: [String(repeating: "a", count: 257)]))), mentioning: "ParameterNames[0] is 257 characters")
        rejects(.invalidArgument, CWMPEnvelope(message: .setParameterValuesResponse(SetParameterValuesResponse(status: 2))),
                mentioning: "Status 2")
        rejects(.invalidArgument, CWMPEnvelope(message: .addObjectResponse(AddObjectResponse(instanceNumber: 0, status: 0))),
                mentioning: "InstanceNumber 0")
        rejects(.invalidArgument, CWMPEnvelope(message: .getParameterAttributesResponse(GetParameterAttributesResponse(parameterList: [
            ParameterAttributeStruct(name: "Device.A", notification: .off, accessList: ["Admin"])]))), mentioning: "Subscriber")
        rejects(.invalidArgument, CWMPEnvelope(message: .getQueuedTransfersResponse(GetQueuedTransfersResponse(
            transferList: Array(repeating: QueuedTransfer(commandKey: "", state: 1), count: 17)))), mentioning: "17 entries")
        rejects(.invalidArgument, CWMPEnvelope(message: .scheduleDownload(ScheduleDownload(
            commandKey: "", fileType: "1 Firmware Upgrade Image", url: "http://x", timeWindowList: []))), mentioning: "TimeWindowList")
        rejects(.invalidArgument, CWMPEnvelope(message: .changeDUState(ChangeDUState(operations: [
            .uninstall(uuid: "not-a-uuid", version: "", executionEnvRef: "")], commandKey: ""))), mentioning: "UUID")
        rejects(.invalidArgument, CWMPEnvelope(message: .inform(Inform(
            deviceId: DeviceId(manufacturer: "M", oui: "00D09E", productClass: "P", serialNumber: "S"), events: [],
            currentTime: CWMPDateTime(rawValue: "yesterday"), retryCount: 0, parameterList: []))), mentioning: "Inform.CurrentTime")
        rejects(.invalidArgument, CWMPEnvelope(header: CWMPHeader(supportedCWMPVersions: []), message: .getRPCMethods),
                mentioning: "SupportedCWMPVersions")
    }
}

extension CWMPEnvelope {
    fileprivate func with(header: CWMPHeader) -> CWMPEnvelope {
        var copy = self
        copy.header = header
        return copy
    }
}

/// The encoder's own lexical checks against libxml2's verdict: every value the encoder accepts must
/// validate, and every value it rejects must be invalid, except for a few forms the encoder refuses on
/// purpose although XSD allows them (listed as `stricter`).
@Suite struct EncoderValueCheckAgreementTests {
    static let cases: [(type: ParameterValueType, value: String, stricter: Bool)] = [
        (.int, "0", false), (.int, "-0", false), (.int, "2147483647", false), (.int, "-2147483648", false),
        (.int, "2147483648", false), (.int, "-2147483649", false), (.int, "007", false), (.int, "1.0", false),
        (.int, "", false), (.int, "+5", true), (.int, " 1", false),
        (.unsignedInt, "4294967295", false), (.unsignedInt, "4294967296", false), (.unsignedInt, "-1", false),
        (.unsignedInt, "-0", false), (.unsignedInt, "+5", false),
        (.long, "9223372036854775807", false), (.long, "-9223372036854775808", false), (.long, "9223372036854775808", false),
        (.unsignedLong, "18446744073709551615", false), (.unsignedLong, "18446744073709551616", false),
        (.boolean, "true", false), (.boolean, "false", false), (.boolean, "1", false), (.boolean, "0", false),
        (.boolean, "True", false), (.boolean, "2", false),
        (.base64, "", false), (.base64, "QQ==", false), (.base64, "QUI=", false), (.base64, "QUJD", false),
        (.base64, "QR==", false), (.base64, "QUJ", false), (.base64, "QQ=", false), (.base64, "Q===", false),
        (.base64, "QU JD", true),
        (.hexBinary, "", false), (.hexBinary, "0aFf", false), (.hexBinary, "abc", false), (.hexBinary, "0x12", false),
        (.dateTime, "2024-02-29T00:00:00Z", false), (.dateTime, "2025-02-29T00:00:00Z", false),
        (.dateTime, "2100-02-29T00:00:00Z", false), (.dateTime, "2000-02-29T00:00:00Z", false),
        (.dateTime, "2025-04-31T00:00:00Z", false), (.dateTime, "0001-01-01T00:00:00Z", false),
        (.dateTime, "0000-01-01T00:00:00Z", false), (.dateTime, "2025-01-01T24:00:00Z", false),
        (.dateTime, "2025-01-01T24:00:01Z", false), (.dateTime, "2025-01-01T00:00:60Z", false),
        (.dateTime, "2025-01-01T00:00:00.5Z", false), (.dateTime, "2025-01-01T00:00:00.Z", false),
        (.dateTime, "2025-01-01T00:00:00+14:00", false), (.dateTime, "2025-01-01T00:00:00-14:00", false),
        (.dateTime, "2025-01-01T00:00:00+14:01", false), (.dateTime, "2025-01-01T00:00:00+05:60", false),
        (.dateTime, "2025-01-01T00:00:00", false), (.dateTime, "2025-01-01T00:00:00+0100", false),
        (.dateTime, "2025-01-01 00:00:00Z", false),
        (.dateTime, "-0001-01-01T00:00:00Z", true), (.dateTime, "12025-01-01T00:00:00Z", true),
    ]

    @Test(.enabled(if: XSDValidator.isAvailable, "needs ../shared (absent beside this clone)"))
    func encoderChecksAgreeWithLibxml2() throws {
        // A valid envelope as template; each case replaces the placeholder value and its xsi:type. The
        // values hold no XML-special characters, so splicing them in keeps the document well-formed.
        let placeholder = "PLACEHOLDER"
        let template = String(decoding: try CWMPEncoder().encode(CWMPEnvelope(message: .getParameterValuesResponse(
            GetParameterValuesResponse(parameterList: [ParameterValueStruct(name: "Device.X", value: placeholder)])))),
                              as: UTF8.self)
        var documents: [(name: String, bytes: [UInt8])] = []
        for (index, c) in Self.cases.enumerated() {
            let typed = template
                .replacingOccurrences(of: #"xsi:type="xsd:string""#, with: #"xsi:type="\#(CWMPEncoder.xsiType(c.type))""#)
                .replacingOccurrences(of: placeholder, with: c.value)
            documents.append(("case\(index)", Array(typed.utf8)))
        }
        let rejectedByLibxml2 = Set(try XSDValidator.validate(documents).map(\.name))
        // Neither "all rejected" (a broken template) nor "all accepted" (a validator that checks nothing).
        #expect(!rejectedByLibxml2.isEmpty && rejectedByLibxml2.count < documents.count, "\(rejectedByLibxml2.count) of \(documents.count) rejected")
        for (index, c) in Self.cases.enumerated() {
            let libxml2Accepts = !rejectedByLibxml2.contains("case\(index)")
            let encoderAccepts = (try? CWMPSchemaRules.checkValue(c.value, type: c.type, "v")) != nil
            if c.stricter {
                #expect(libxml2Accepts && !encoderAccepts, "\(c.type) \"\(c.value)\" was meant to be a stricter case")
            } else {
                #expect(libxml2Accepts == encoderAccepts,
                        "\(c.type) \"\(c.value)\": libxml2 \(libxml2Accepts ? "accepts" : "rejects"), encoder \(encoderAccepts ? "accepts" : "rejects")")
            }
        }
    }
}

extension EncoderValueCheckAgreementTests {
    static let uris: [String] = [
        "https://apps.example.net/du/a.ipk", "http://a b/", "http://x/ü", "http://[::1]:8080/x", "http://[::1]/[x]",
        "ftp://u:p@host/p;type=i", "relative/path", "a:b:c", "urn:uuid:6ba7b810", "%zz", "%4", "a%41b", "::", "1a:b",
        "a#b", "a#b#c", "[", "x]", "http://host]/", "http://[::1", "\\\\server\\share", "a|b", "x y{}", "",
        "mailto:someone@example.net", "?q=1", "#frag", "//host/path",
    ]

    @Test(.enabled(if: XSDValidator.isAvailable, "needs ../shared (absent beside this clone)"))
    func anyURIChecksAgreeWithLibxml2() throws {
        let placeholder = "PLACEHOLDER"
        let template = String(decoding: try CWMPEncoder().encode(CWMPEnvelope(message: .changeDUState(ChangeDUState(
            operations: [.install(url: placeholder, uuid: "", username: "", password: "", executionEnvRef: "")],
            commandKey: "")))), as: UTF8.self)
        let documents = Self.uris.enumerated().map { ("uri\($0.offset)", Array(template.replacingOccurrences(of: placeholder, with: $0.element).utf8)) }
        let rejectedByLibxml2 = Set(try XSDValidator.validate(documents).map(\.name))
        // Neither "all rejected" (a broken template) nor "all accepted" (a validator that checks nothing).
        #expect(!rejectedByLibxml2.isEmpty && rejectedByLibxml2.count < documents.count, "\(rejectedByLibxml2.count) of \(documents.count) rejected")
        for (index, uri) in Self.uris.enumerated() {
            let libxml2Accepts = !rejectedByLibxml2.contains("uri\(index)")
            let encoderAccepts = (try? CWMPSchemaRules.checkAnyURI(uri, maxLength: 1024, "URL")) != nil
            #expect(libxml2Accepts == encoderAccepts,
                    "\(uri.debugDescription): libxml2 \(libxml2Accepts ? "accepts" : "rejects"), encoder \(encoderAccepts ? "accepts" : "rejects")")
        }
    }
}

/// Escaping round trip: whatever the encoder writes (through libxml2's escaping or its plain fast path),
/// an XML parser must read back the exact string.
@Suite struct EncoderEscapingTests {
    @Test func parsedTextEqualsTheOriginalStrings() throws {
        let alphabet: [String] = ["a", "Z", "0", " ", "<", ">", "&", "\"", "'", "\r", "\n", "\t", "]]>", "é", "€", "😀", "日", "&amp;", ";"]
        var state: UInt64 = 42
        var values: [String] = []
        for _ in 0..<300 {
            var s = ""
            state = state &* 6_364_136_223_846_793_005 &+ 1
            for _ in 0..<Int(state >> 60) {
                state = state &* 6_364_136_223_846_793_005 &+ 1
                s += alphabet[Int((state >> 33) % UInt64(alphabet.count))]
            }
            values.append(s)
        }
        values += ["", "plain text", "only\rcr", "\r\n", "x\u{85}y\u{2028}z"]
        let bytes = try CWMPEncoder().encode(CWMPEnvelope(message: .getParameterValuesResponse(GetParameterValuesResponse(
            parameterList: values.enumerated().map { ParameterValueStruct(name: "Device.V.\($0.offset)", value: $0.element) }))))
        let parsed = try ValueCollector.values(in: Data(bytes))
        #expect(parsed.count == values.count)
        for (original, back) in zip(values, parsed) where original != back {
            Issue.record("\(original.debugDescription) came back as \(back.debugDescription)")
        }
    }
}

/// Collects the text of every `Value` element with Foundation's XMLParser (a parser independent of the
/// encoder's code; tests may use Foundation, the library may not).
private final class ValueCollector: NSObject, XMLParserDelegate {
    private var values: [String] = []
    private var current: String?

    static func values(in data: Data) throws -> [String] {
        let collector = ValueCollector()
        let parser = XMLParser(data: data)
        parser.delegate = collector
        guard parser.parse() else { throw parser.parserError ?? CWMPError(.malformedEnvelope, "XMLParser failed") }
        return collector.values
    }

    func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
                qualifiedName: String?, attributes: [String: String] = [:]) {
        if elementName == "Value" { current = "" }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        current? += string
    }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?) {
        if elementName == "Value", let value = current {
            values.append(value)
            current = nil
        }
    }
}

@Suite struct TextScanTests {
    /// The scan reads eight bytes at a time; put each interesting character at every offset of a word.
    @Test func findsEveryCharacterAtEveryOffset() {
        let cases: [(String, plain: Bool?)] = [
            ("<", false), (">", false), ("&", false), ("\"", false), ("\r", false), ("'", true), ("\n", true),
            ("\t", true), ("\u{1}", nil), ("\u{0}", nil), ("\u{1F}", nil), ("é", true), ("€", true), ("😀", true),
            ("\u{FFFE}", nil), ("\u{FFFF}", nil), ("\u{FFFD}", true), ("~", true), ("\u{7F}", true),
        ]
        for (character, plain) in cases {
            for offset in 0..<20 {
                let text = String(repeating: "a", count: offset) + character + String(repeating: "b", count: 11)
                let info = CWMPSchemaRules.textInfo(text)
                if let plain {
                    #expect(info?.plain == plain, "\(character.debugDescription) at \(offset)")
                    #expect(info?.length == text.unicodeScalars.count, "\(character.debugDescription) at \(offset)")
                } else {
                    #expect(info == nil, "\(character.debugDescription) at \(offset) must be refused")
                }
            }
        }
    }
}
