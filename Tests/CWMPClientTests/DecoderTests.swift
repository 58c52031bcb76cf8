// Decoding the shared samples, the real captures, every CWMPMessage case, and one test per error code.
import Testing
@testable import CWMPClient

@Suite struct DecoderSampleTests {
    let decoder = CWMPDecoder()

    @Test func inform10ReportsTheCWMP10Namespace() throws {
        let envelope = try decoder.decode(try Fixture.bytes("inform-1-0.xml"))
        #expect(envelope.namespace == .cwmp10)
        #expect(envelope.header == CWMPHeader(id: "1"))
    }

    @Test func inform12() throws {
        let envelope = try decoder.decode(try Fixture.bytes("inform-1-2.xml"))
        #expect(envelope.namespace == .cwmp12)
        #expect(envelope.header.id == "1")
        guard case .inform(let inform) = envelope.message else { Issue.record("\(envelope.message)"); return }
        #expect(inform.deviceId == DeviceId(manufacturer: "ExampleCo", oui: "00D09E", productClass: "Proxier",
                                            serialNumber: "SN0001"))
        #expect(inform.events == [EventStruct(eventCode: "1 BOOT"),
                                  EventStruct(eventCode: "M Reboot", commandKey: "ck-42")])
        #expect(inform.maxEnvelopes == 1)
        #expect(inform.currentTime == CWMPDateTime(rawValue: "2025-01-01T00:00:00Z"))
        #expect(inform.retryCount == 0)
        #expect(inform.parameterList == [
            ParameterValueStruct(name: "Device.RootDataModelVersion", value: "2.17", type: .string),
            ParameterValueStruct(name: "Device.ManagementServer.ConnectionRequestURL",
                                 value: "http://192.0.2.1:7547/abc", type: .string),
        ])
    }

    @Test func inform14CarriesSessionTimeoutAndSupportedVersions() throws {
        let envelope = try decoder.decode(try Fixture.bytes("inform-1-4.xml"))
        #expect(envelope.namespace == .cwmp12)
        #expect(envelope.header.sessionTimeout == 60)
        #expect(envelope.header.supportedCWMPVersions == [.v1_0, .v1_1, .v1_2, .v1_3, .v1_4])
    }

    @Test func informResponse14CarriesUseCWMPVersion() throws {
        let envelope = try decoder.decode(try Fixture.bytes("informresponse-1-4.xml"))
        #expect(envelope.header.useCWMPVersion == .v1_4)
        #expect(envelope.message == .informResponse(InformResponse(maxEnvelopes: 1)))
    }

    @Test func gpvResponseKeepsTypes() throws {
        let envelope = try decoder.decode(try Fixture.bytes("gpv-response.xml"))
        #expect(envelope.header.id == "7")
        #expect(envelope.message == .getParameterValuesResponse(GetParameterValuesResponse(parameterList: [
            ParameterValueStruct(name: "Device.DeviceInfo.UpTime", value: "3600", type: .unsignedInt),
            ParameterValueStruct(name: "Device.Ethernet.Interface.1.Stats.BytesSent", value: "123456789012",
                                 type: .unsignedLong),
            ParameterValueStruct(name: "Device.Ethernet.Interface.1.Enable", value: "true", type: .boolean),
        ])))
    }

    @Test func spvFault() throws {
        let envelope = try decoder.decode(try Fixture.bytes("spv-fault.xml"))
        #expect(envelope.header.id == "42")
        #expect(envelope.namespace == .cwmp12)
        #expect(envelope.message == .fault(CWMPFault(.invalidArguments, "Invalid arguments", setParameterValuesFaults: [
            SetParameterValuesFault(parameterName: "Device.ManagementServer.PeriodicInformInterval",
                                    faultCode: .invalidParameterValue, faultString: "Invalid parameter value"),
        ])))
    }

    // The bad-*.xml samples are schema-invalid. What a lenient-but-correct receiver does with each:

    /// Event without soapenc:arrayType: entries are counted, the attribute is never needed → decodes.
    @Test func badArrDecodesWithoutArrayType() throws {
        guard case .inform(let inform) = try decoder.decode(try Fixture.bytes("bad-arr.xml")).message else {
            Issue.record("not an Inform"); return
        }
        #expect(inform.events.map(\.eventCode) == ["1 BOOT", "M Reboot"])
    }

    /// FaultCode 7003 is outside 8000–8999/9000–9899, but the fault is well-formed: it decodes with the raw
    /// code; what an unknown code means is the session's decision, not the codec's.
    @Test func badFaultKeepsTheUnknownCode() throws {
        guard case .fault(let fault) = try decoder.decode(try Fixture.bytes("bad-fault.xml")).message else {
            Issue.record("not a fault"); return
        }
        #expect(fault.code.rawValue == 7003)
        #expect(fault.setParameterValuesFaults.first?.faultCode == .invalidParameterValue)
    }

    /// cwmp:ID without mustUnderstand="1" (the XSD fixes it to 1): the ID is still the ID → decodes.
    @Test func badMuStillYieldsTheID() throws {
        let envelope = try decoder.decode(try Fixture.bytes("bad-mu.xml"))
        #expect(envelope.header.id == "1")
    }

    /// Lower-case OUI: passed through verbatim (the OUI pattern is the data model's business).
    @Test func badOUIPassesThroughVerbatim() throws {
        guard case .inform(let inform) = try decoder.decode(try Fixture.bytes("bad-oui.xml")).message else {
            Issue.record("not an Inform"); return
        }
        #expect(inform.deviceId.oui == "00d09e")
    }

    /// `notanumber` typed xsd:unsignedLong: the codec carries lexical values; the data model rejects it
    /// (with 9006/9007 per parameter, which the codec could not do).
    @Test func badTypeKeepsTheLexicalValue() throws {
        guard case .getParameterValuesResponse(let response) = try decoder.decode(try Fixture.bytes("bad-type.xml")).message
        else { Issue.record("not a GPV response"); return }
        #expect(response.parameterList[1] == ParameterValueStruct(
            name: "Device.Ethernet.Interface.1.Stats.BytesSent", value: "notanumber", type: .unsignedLong))
    }
}

@Suite struct DecoderCaptureTests {
    let decoder = CWMPDecoder()

    static let magmaFiles = [
        "001_10.0.2.243_49639_to_192.88.99.142_8443_Inform.xml",
        "003_10.0.2.243_49639_to_192.88.99.142_8443_GetParameterValuesResponse.xml",
        "004_10.0.2.243_49639_to_192.88.99.142_8443_GetParameterValuesResponse.xml",
        "005_10.0.2.243_49639_to_192.88.99.142_8443_GetParameterValuesResponse.xml",
        "006_192.88.99.142_8443_to_10.0.2.243_49639_InformResponse.xml",
        "007_192.88.99.142_8443_to_10.0.2.243_49639_GetParameterValues.xml",
        "008_192.88.99.142_8443_to_10.0.2.243_49639_GetParameterValues.xml",
        "009_192.88.99.142_8443_to_10.0.2.243_49639_GetParameterValues.xml",
        "011_10.0.2.243_49640_to_192.88.99.142_8443_Inform.xml",
        "013_10.0.2.243_49640_to_192.88.99.142_8443_GetParameterValuesResponse.xml",
        "014_10.0.2.243_49640_to_192.88.99.142_8443_GetParameterValuesResponse.xml",
        "015_10.0.2.243_49640_to_192.88.99.142_8443_GetParameterValuesResponse.xml",
        "016_10.0.2.243_49640_to_192.88.99.142_8443_SetParameterValuesResponse.xml",
        "017_10.0.2.243_49640_to_192.88.99.142_8443_GetParameterValuesResponse.xml",
        "018_192.88.99.142_8443_to_10.0.2.243_49640_InformResponse.xml",
        "019_192.88.99.142_8443_to_10.0.2.243_49640_GetParameterValues.xml",
    ]

    /// Every Magma capture decodes, in the cwmp-1-0 namespace, into the RPC its file name says.
    @Test(arguments: magmaFiles)
    func magmaCaptureDecodesToItsRPC(_ file: String) throws {
        let envelope = try decoder.decode(try Fixture.bytes("captures/magma-enodeb/" + file))
        #expect(envelope.namespace == .cwmp10)
        let rpc = String(file.split(separator: "_").last!.dropLast(4))
        let kind: String = switch envelope.message {
        case .inform: "Inform"
        case .informResponse: "InformResponse"
        case .getParameterValues: "GetParameterValues"
        case .getParameterValuesResponse: "GetParameterValuesResponse"
        case .setParameterValuesResponse: "SetParameterValuesResponse"
        default: "\(envelope.message)"
        }
        #expect(kind == rpc)
        #expect(envelope.header.id != nil)
    }

    @Test func magmaInform() throws {
        let envelope = try decoder.decode(try Fixture.bytes("captures/magma-enodeb/" + Self.magmaFiles[0]))
        #expect(envelope.header.id == "1889361990")
        guard case .inform(let inform) = envelope.message else { Issue.record("not an Inform"); return }
        #expect(inform.deviceId.oui == "48BF74")
        #expect(inform.deviceId.serialNumber == "1202000291213VB0009")
        #expect(inform.events == [EventStruct(eventCode: "2 PERIODIC")])   // <CommandKey/>
        #expect(inform.currentTime.rawValue == "2022-04-25T10:11:42-06:00")
        #expect(inform.parameterList.count == 19)
        // <Value/> without xsi:type: an empty value of unknown type.
        #expect(inform.parameterList[1] == ParameterValueStruct(name: "Device.DeviceInfo.ProvisioningCode",
                                                                value: "", type: nil))
        #expect(inform.parameterList[2] == ParameterValueStruct(name: "Device.DeviceInfo.SAS.RadioEnable",
                                                                value: "false", type: .boolean))
    }

    @Test func magmaResponsesCarrySessionTimeoutInTheCWMP10Namespace() throws {
        let envelope = try decoder.decode(try Fixture.bytes("captures/magma-enodeb/" + Self.magmaFiles[1]))
        #expect(envelope.header.id == "null")
        #expect(envelope.header.sessionTimeout == 40)
        guard case .getParameterValuesResponse(let response) = envelope.message else { Issue.record("kind"); return }
        #expect(response.parameterList.count == 7)
        #expect(response.parameterList[4] == ParameterValueStruct(name: "Device.FAP.GPS.LockedLongitude",
                                                                  value: "-105272994", type: .int))
    }

    @Test func magmaGetParameterValuesAndSPVResponse() throws {
        let request = try decoder.decode(try Fixture.bytes("captures/magma-enodeb/" + Self.magmaFiles[6]))
        guard case .getParameterValues(let gpv) = request.message else { Issue.record("kind"); return }
        #expect(gpv.parameterNames.count == 41)
        #expect(gpv.parameterNames.first == "Device.DeviceInfo.X_COM_GPS_Status")
        #expect(gpv.parameterNames.last == "Device.DeviceInfo.SAS.RadioEnable")
        let response = try decoder.decode(try Fixture.bytes("captures/magma-enodeb/" + Self.magmaFiles[12]))
        #expect(response.message == .setParameterValuesResponse(SetParameterValuesResponse(status: 0)))
    }

    @Test func vendorInformZyXEL2601() throws {
        let envelope = try decoder.decode(try Fixture.bytes("captures/vendor-informs/2601.xml"))
        #expect(envelope.header.id == "100")
        guard case .inform(let inform) = envelope.message else { Issue.record("kind"); return }
        #expect(inform.deviceId.oui == "EC43F6")
        #expect(inform.currentTime.rawValue == "2015-01-19T23:08:24")   // no zone: passed through
        #expect(inform.parameterList.count == 8)
        #expect(inform.parameterList[3].value == "V1.00(AACB.3)")
    }

    /// Lower-case OUI and the impossible time `11:54::14` pass through for the session to judge.
    @Test func vendorInformCycto() throws {
        guard case .inform(let inform) = try decoder.decode(try Fixture.bytes("captures/vendor-informs/cycto.xml")).message
        else { Issue.record("kind"); return }
        #expect(inform.deviceId.oui == "00a859")
        #expect(inform.currentTime.rawValue == "2019-03-05T11:54::14")
        #expect(inform.retryCount == 942)
    }

    /// NoMoreRequests with mustUnderstand="1": deprecated, understood, ignored.
    @Test func vendorInformWithNoMoreRequests() throws {
        let envelope = try decoder.decode(try Fixture.bytes("captures/vendor-informs/inform_1.xml"))
        #expect(envelope.header == CWMPHeader(id: "100"))
        guard case .inform(let inform) = envelope.message else { Issue.record("kind"); return }
        #expect(inform.deviceId.productClass == "IAD_001")
        #expect(inform.currentTime.rawValue == "2015-01-19T23:08:24+00:00")
    }

    @Test func vendorInformVMGWithZeroPaddedArrayCount() throws {
        guard case .inform(let inform) = try decoder.decode(try Fixture.bytes("captures/vendor-informs/vmg.xml")).message
        else { Issue.record("kind"); return }
        #expect(inform.parameterList.count == 8)
        #expect(inform.events == [EventStruct(eventCode: "6 CONNECTION REQUEST")])
        #expect(inform.parameterList[5].value == "http://[2a02:980:1400::1ff]:30005/78DF621FFD24F339452C341BEFE0E8A8")
    }

    /// The truncated Inform is malformed, but its header had closed: the fault can echo ID 100.
    @Test func bogusInformFailsButKeepsTheID() throws {
        let failure = try #require(decodeFailure(try Fixture.bytes("captures/vendor-informs/bogus_inform_1.xml")))
        #expect(failure.error == CWMPError(.malformedEnvelope, ""))
        #expect(failure.header.id == "100")
        #expect(failure.namespace == .cwmp10)
        #expect(failure.fault.code == .invalidArguments)
    }
}

@Suite(.enabled(if: Fixture.perlCWMPAvailable, "perl-cwmp captures (GPL) are read from ../shared"))
struct DecoderPerlCWMPCaptureTests {
    let decoder = CWMPDecoder()

    @Test func acsRequests() throws {
        let gpa = try decoder.decode(try Fixture.perlCWMP("methods_GetParameterAttributes.xml"))
        #expect(gpa.namespace == .cwmp10)
        #expect(gpa.header == CWMPHeader(id: "42"))   // NoMoreRequests ignored
        #expect(gpa.message == .getParameterAttributes(GetParameterAttributes(
            parameterNames: ["InternetGatewayDevice.DeviceInfo.SerialNumber"])))
        #expect(try decoder.decode(try Fixture.perlCWMP("methods_GetParameterNames.xml")).message
            == .getParameterNames(GetParameterNames(parameterPath: "InternetGatewayDevice.DeviceInfo.SerialNumber",
                                                    nextLevel: false)))
        #expect(try decoder.decode(try Fixture.perlCWMP("methods_GetParameterValues.xml")).message
            == .getParameterValues(GetParameterValues(parameterNames: [
                "InternetGatewayDevice.DeviceInfo.SerialNumber", "InternetGatewayDevice.DeviceInfo.VendorConfigFile.",
            ])))
        #expect(try decoder.decode(try Fixture.perlCWMP("methods_GetRPCMethods.xml")).message == .getRPCMethods)
        #expect(try decoder.decode(try Fixture.perlCWMP("methods_InformResponse.xml")).message
            == .informResponse(InformResponse(maxEnvelopes: 1)))
        // SetParameterValues with untyped values (type nil) and an empty ParameterKey.
        #expect(try decoder.decode(try Fixture.perlCWMP("methods_SetParameterValues.xml")).message
            == .setParameterValues(SetParameterValues(parameterList: [
                ParameterValueStruct(name: "InternetGatewayDevice.DeviceInfo.ProvisioningCode", value: "test provision",
                                     type: nil),
                ParameterValueStruct(name: "InternetGatewayDevice.DeviceInfo.X_000E50_Country", value: "42", type: nil),
            ], parameterKey: "")))
    }

    /// perl-cwmp writes `<Reboot />` unqualified in the Body: accepted, namespace from the declarations.
    @Test func unqualifiedReboot() throws {
        let envelope = try decoder.decode(try Fixture.perlCWMP("methods_Reboot.xml"))
        #expect(envelope.message == .reboot(Reboot(commandKey: "")))
        #expect(envelope.namespace == .cwmp10)
    }

    @Test func thomsonInforms() throws {
        let cases: [(String, String, UInt32, Int)] = [
            ("dump_BANT-R_7.4.1.7_Inform.xml", "3_THOM_TR69_ID", 0, 8),
            ("dump_BANT-S_5.4.0.14_Inform.xml", "THOM_CPE_ALC_ID_9", 0, 11),
            ("dump_BANT-W_6.2.17.5_Inform.xml", "8_THOM_TR69_ID", 0, 12),
            ("SpeedTouch-706_Inform.xml", "22_THOM_TR69_ID", 10, 12),
            ("SpeedTouch-780_Inform.xml", "0_THOM_TR69_ID", 5, 12),
        ]
        for (file, id, retryCount, parameters) in cases {
            let envelope = try decoder.decode(try Fixture.perlCWMP(file))
            #expect(envelope.header.id == id, "\(file)")
            guard case .inform(let inform) = envelope.message else { Issue.record("\(file)"); continue }
            #expect(inform.deviceId.oui == "00147F")
            #expect(inform.retryCount == retryCount, "\(file): RetryCount 00 / 05 are unsignedInts")
            #expect(inform.maxEnvelopes == 2)
            #expect(inform.parameterList.count == parameters, "\(file)")
        }
        guard case .inform(let speedTouch) = try decoder.decode(try Fixture.perlCWMP("SpeedTouch-706_Inform.xml")).message
        else { return }
        // The impossible dateTime 0000-00-00T00:00:00 passes through.
        #expect(speedTouch.parameterList[7] == ParameterValueStruct(
            name: "InternetGatewayDevice.DeviceInfo.VendorConfigFile.1.Date", value: "0000-00-00T00:00:00", type: .dateTime))
    }

    @Test func thomsonResponses() throws {
        guard case .getParameterAttributesResponse(let gpa) = try decoder.decode(
            try Fixture.perlCWMP("dump_BANT-R_7.4.1.7_GetParameterAttributesResponse.xml")).message
        else { Issue.record("kind"); return }
        #expect(gpa.parameterList == [
            ParameterAttributeStruct(name: "InternetGatewayDevice.DeviceInfo.SerialNumber", notification: .off,
                                     accessList: ["subscriber"]),
            ParameterAttributeStruct(name: "InternetGatewayDevice.DeviceInfo.SoftwareVersion", notification: .off,
                                     accessList: ["subscriber"]),
        ])
        for (file, count) in [("dump_BANT-R_7.4.1.7_GetParameterNamesResponse.xml", 18),
                              ("dump_BANT-S_5.4.0.14_GetParameterNamesResponse.xml", 10),
                              ("dump_BANT-W_6.2.17.5_GetParameterNamesResponse.xml", 17),
                              ("SpeedTouch-706_GetParameterNamesResponse.xml", 3263),
                              ("SpeedTouch-780_GetParameterNamesResponse.xml", 3343)] {
            guard case .getParameterNamesResponse(let gpn) = try decoder.decode(try Fixture.perlCWMP(file)).message
            else { Issue.record("\(file)"); continue }
            #expect(gpn.parameterList.count == count, "\(file)")
        }
        guard case .getParameterNamesResponse(let small) = try decoder.decode(
            try Fixture.perlCWMP("dump_BANT-R_7.4.1.7_GetParameterNamesResponse.xml")).message else { return }
        #expect(small.parameterList[11] == ParameterInfoStruct(name: "InternetGatewayDevice.DeviceInfo.ProvisioningCode",
                                                               writable: true))
        for (file, count) in [("dump_BANT-R_7.4.1.7_GetRPCMethodsResponse.xml", 11),
                              ("dump_BANT-S_5.4.0.14_GetRPCMethodsResponse.xml", 8),
                              ("dump_BANT-W_6.2.17.5_GetRPCMethodsResponse.xml", 9),
                              ("SpeedTouch-706_GetRPCMethodsResponse.xml", 9),
                              ("SpeedTouch-780_GetRPCMethodsResponse.xml", 9)] {
            guard case .getRPCMethodsResponse(let methods) = try decoder.decode(try Fixture.perlCWMP(file)).message
            else { Issue.record("\(file)"); continue }
            #expect(methods.methodList.count == count, "\(file)")
            #expect(methods.methodList.first == "GetRPCMethods", "\(file)")
        }
        for (file, value) in [("dump_BANT-R_7.4.1.7_ParameterValue.xml", "Routed PPPoE on 8/35"),
                              ("dump_BANT-W_6.2.17.5_ParameterValue.xml", nil)] {
            guard case .getParameterValuesResponse(let gpv) = try decoder.decode(try Fixture.perlCWMP(file)).message
            else { Issue.record("\(file)"); continue }
            #expect(!gpv.parameterList.isEmpty)
            if let value { #expect(gpv.parameterList[0].value == value) }
        }
    }

    @Test func thomsonFaults() throws {
        for (file, code, text) in [("dump_BANT-R_7.4.1.7_Fault.xml", 9001, "Request Denied"),
                                   ("dump_BANT-S_5.4.0.14_Fault.xml", 9000, "Method not supported"),
                                   ("dump_BANT-W_6.2.17.5_Fault.xml", 9000, "Method not supported"),
                                   ("SpeedTouch-706_Fault.xml", 9001, "Request Denied"),
                                   ("SpeedTouch-780_Fault.xml", 9001, "Request Denied")] {
            let envelope = try decoder.decode(try Fixture.perlCWMP(file))
            #expect(envelope.message == .fault(CWMPFault(CWMPFault.Code(rawValue: UInt32(code)), text)), "\(file)")
            #expect(envelope.namespace == .cwmp10)
        }
    }
}

// MARK: - Every message

@Suite struct DecoderMessageTests {
    let decoder = CWMPDecoder()

    func decoded(_ body: String) throws -> CWMPMessage {
        try decoder.decode(soap(body)).message
    }

    static let unknown = CWMPDateTime.unknown
    static let time1 = CWMPDateTime(rawValue: "2025-03-01T10:00:00Z")
    static let time2 = CWMPDateTime(rawValue: "2025-03-01T10:05:00+01:00")
    static let pvs = """
        <ParameterList soapenc:arrayType="cwmp:ParameterValueStruct[2]">
        <ParameterValueStruct><Name>Device.A</Name><Value xsi:type="xsd:int">-5</Value></ParameterValueStruct>
        <ParameterValueStruct><Name>Device.B</Name><Value xsi:type="xsd:string">b</Value></ParameterValueStruct>
        </ParameterList>
        """
    static let pvsValue = [ParameterValueStruct(name: "Device.A", value: "-5", type: .int),
                           ParameterValueStruct(name: "Device.B", value: "b", type: .string)]
    static let names = """
        <ParameterNames soapenc:arrayType="xsd:string[2]"><string>Device.A</string><string>Device.B.</string></ParameterNames>
        """
    static let opResult = """
        <UUID>6ba7b810-9dad-11d1-80b4-00c04fd430c8</UUID><DeploymentUnitRef>Device.SoftwareModules.DeploymentUnit.1</DeploymentUnitRef>
        <Version>1.0</Version><CurrentState>Installed</CurrentState><Resolved>1</Resolved>
        <ExecutionUnitRefList>Device.SoftwareModules.ExecutionUnit.1</ExecutionUnitRefList>
        <StartTime>2025-03-01T10:00:00Z</StartTime><CompleteTime>2025-03-01T10:05:00+01:00</CompleteTime>
        <Fault><FaultCode>0</FaultCode><FaultString></FaultString></Fault>
        """
    static let opResultValue = DeploymentUnitOperationResult(
        uuid: "6ba7b810-9dad-11d1-80b4-00c04fd430c8", deploymentUnitRef: "Device.SoftwareModules.DeploymentUnit.1",
        version: "1.0", currentState: "Installed", resolved: true,
        executionUnitRefList: "Device.SoftwareModules.ExecutionUnit.1", startTime: time1, completeTime: time2,
        fault: .none)

    /// (body, expected message): one row per CWMPMessage case.
    static let cases: [(String, CWMPMessage)] = [
        // ACS → CPE requests
        ("<cwmp:GetRPCMethods/>", .getRPCMethods),
        ("<cwmp:SetParameterValues>\(pvs)<ParameterKey>pk 1</ParameterKey></cwmp:SetParameterValues>",
         .setParameterValues(SetParameterValues(parameterList: pvsValue, parameterKey: "pk 1"))),
        ("<cwmp:GetParameterValues>\(names)</cwmp:GetParameterValues>",
         .getParameterValues(GetParameterValues(parameterNames: ["Device.A", "Device.B."]))),
        ("<cwmp:GetParameterNames><ParameterPath>Device.</ParameterPath><NextLevel>true</NextLevel></cwmp:GetParameterNames>",
         .getParameterNames(GetParameterNames(parameterPath: "Device.", nextLevel: true))),
        ("""
         <cwmp:SetParameterAttributes><ParameterList soapenc:arrayType="cwmp:SetParameterAttributesStruct[1]">
         <SetParameterAttributesStruct><Name>Device.A</Name><NotificationChange>1</NotificationChange>
         <Notification>2</Notification><AccessListChange>0</AccessListChange>
         <AccessList soapenc:arrayType="xsd:string[1]"><string>Subscriber</string></AccessList>
         </SetParameterAttributesStruct></ParameterList></cwmp:SetParameterAttributes>
         """,
         .setParameterAttributes(SetParameterAttributes(parameterList: [
            SetParameterAttributesStruct(name: "Device.A", notificationChange: true, notification: .active,
                                         accessListChange: false, accessList: ["Subscriber"]),
         ]))),
        ("<cwmp:GetParameterAttributes>\(names)</cwmp:GetParameterAttributes>",
         .getParameterAttributes(GetParameterAttributes(parameterNames: ["Device.A", "Device.B."]))),
        ("<cwmp:AddObject><ObjectName>Device.IP.Interface.</ObjectName><ParameterKey>k</ParameterKey></cwmp:AddObject>",
         .addObject(AddObject(objectName: "Device.IP.Interface.", parameterKey: "k"))),
        ("<cwmp:DeleteObject><ObjectName>Device.IP.Interface.3.</ObjectName><ParameterKey>k</ParameterKey></cwmp:DeleteObject>",
         .deleteObject(DeleteObject(objectName: "Device.IP.Interface.3.", parameterKey: "k"))),
        ("<cwmp:Reboot><CommandKey>reboot-1</CommandKey></cwmp:Reboot>", .reboot(Reboot(commandKey: "reboot-1"))),
        ("""
         <cwmp:Download><CommandKey>dl</CommandKey><FileType>1 Firmware Upgrade Image</FileType>
         <URL>http://acs.example/fw.bin</URL><Username>u</Username><Password>p w</Password><FileSize>1024</FileSize>
         <TargetFileName>fw.bin</TargetFileName><DelaySeconds>5</DelaySeconds><SuccessURL>http://s</SuccessURL>
         <FailureURL>http://f</FailureURL></cwmp:Download>
         """,
         .download(Download(commandKey: "dl", fileType: "1 Firmware Upgrade Image", url: "http://acs.example/fw.bin",
                            username: "u", password: "p w", fileSize: 1024, targetFileName: "fw.bin", delaySeconds: 5,
                            successURL: "http://s", failureURL: "http://f"))),
        ("""
         <cwmp:Upload><CommandKey>ul</CommandKey><FileType>3 Vendor Configuration File</FileType><URL>http://u</URL>
         <Username></Username><Password></Password><DelaySeconds>0</DelaySeconds></cwmp:Upload>
         """,
         .upload(Upload(commandKey: "ul", fileType: "3 Vendor Configuration File", url: "http://u"))),
        ("<cwmp:FactoryReset/>", .factoryReset),
        ("<cwmp:ScheduleInform><DelaySeconds>30</DelaySeconds><CommandKey>si</CommandKey></cwmp:ScheduleInform>",
         .scheduleInform(ScheduleInform(delaySeconds: 30, commandKey: "si"))),
        ("""
         <cwmp:ScheduleDownload><CommandKey>sd</CommandKey><FileType>1 Firmware Upgrade Image</FileType><URL>http://x</URL>
         <Username/><Password/><FileSize>9</FileSize><TargetFileName/>
         <TimeWindowList soapenc:arrayType="cwmp:TimeWindowStruct[2]">
         <TimeWindowStruct><WindowStart>0</WindowStart><WindowEnd>60</WindowEnd><WindowMode>1 At Any Time</WindowMode>
         <UserMessage>hi</UserMessage><MaxRetries>-1</MaxRetries></TimeWindowStruct>
         <TimeWindowStruct><WindowStart>100</WindowStart><WindowEnd>200</WindowEnd><WindowMode>3 When Idle</WindowMode>
         <UserMessage/><MaxRetries>3</MaxRetries></TimeWindowStruct></TimeWindowList></cwmp:ScheduleDownload>
         """,
         .scheduleDownload(ScheduleDownload(commandKey: "sd", fileType: "1 Firmware Upgrade Image", url: "http://x",
                                            fileSize: 9, timeWindowList: [
            TimeWindow(windowStart: 0, windowEnd: 60, windowMode: "1 At Any Time", userMessage: "hi", maxRetries: -1),
            TimeWindow(windowStart: 100, windowEnd: 200, windowMode: "3 When Idle", maxRetries: 3),
         ]))),
        ("<cwmp:CancelTransfer><CommandKey>dl</CommandKey></cwmp:CancelTransfer>",
         .cancelTransfer(CancelTransfer(commandKey: "dl"))),
        ("<cwmp:GetQueuedTransfers/>", .getQueuedTransfers),
        ("<cwmp:GetAllQueuedTransfers/>", .getAllQueuedTransfers),
        ("""
         <cwmp:ChangeDUState>
         <Operations xsi:type="cwmp:InstallOpStruct"><URL>http://du</URL><UUID>u-1</UUID><Username/><Password/>
         <ExecutionEnvRef>Device.SoftwareModules.ExecEnv.1</ExecutionEnvRef></Operations>
         <Operations xsi:type="cwmp:UpdateOpStruct"><UUID>u-2</UUID><Version>2</Version><URL/><Username/><Password/></Operations>
         <Operations xsi:type="cwmp:UninstallOpStruct"><UUID>u-3</UUID><Version/><ExecutionEnvRef/></Operations>
         <CommandKey>du</CommandKey></cwmp:ChangeDUState>
         """,
         .changeDUState(ChangeDUState(operations: [
            .install(url: "http://du", uuid: "u-1", username: "", password: "",
                     executionEnvRef: "Device.SoftwareModules.ExecEnv.1"),
            .update(uuid: "u-2", version: "2", url: "", username: "", password: ""),
            .uninstall(uuid: "u-3", version: "", executionEnvRef: ""),
         ], commandKey: "du"))),

        // CPE responses
        ("""
         <cwmp:GetRPCMethodsResponse><MethodList soapenc:arrayType="xsd:string[2]"><string>Inform</string>
         <string>TransferComplete</string></MethodList></cwmp:GetRPCMethodsResponse>
         """,
         .getRPCMethodsResponse(GetRPCMethodsResponse(methodList: ["Inform", "TransferComplete"]))),
        ("<cwmp:SetParameterValuesResponse><Status>1</Status></cwmp:SetParameterValuesResponse>",
         .setParameterValuesResponse(SetParameterValuesResponse(status: 1))),
        ("<cwmp:GetParameterValuesResponse>\(pvs)</cwmp:GetParameterValuesResponse>",
         .getParameterValuesResponse(GetParameterValuesResponse(parameterList: pvsValue))),
        ("""
         <cwmp:GetParameterNamesResponse><ParameterList soapenc:arrayType="cwmp:ParameterInfoStruct[2]">
         <ParameterInfoStruct><Name>Device.A.</Name><Writable>false</Writable></ParameterInfoStruct>
         <ParameterInfoStruct><Name>Device.A.B</Name><Writable>1</Writable></ParameterInfoStruct>
         </ParameterList></cwmp:GetParameterNamesResponse>
         """,
         .getParameterNamesResponse(GetParameterNamesResponse(parameterList: [
            ParameterInfoStruct(name: "Device.A.", writable: false), ParameterInfoStruct(name: "Device.A.B", writable: true),
         ]))),
        ("<cwmp:SetParameterAttributesResponse/>", .setParameterAttributesResponse),
        ("""
         <cwmp:GetParameterAttributesResponse><ParameterList soapenc:arrayType="cwmp:ParameterAttributeStruct[1]">
         <ParameterAttributeStruct><Name>Device.A</Name><Notification>6</Notification>
         <AccessList soapenc:arrayType="xsd:string[0]"></AccessList></ParameterAttributeStruct>
         </ParameterList></cwmp:GetParameterAttributesResponse>
         """,
         .getParameterAttributesResponse(GetParameterAttributesResponse(parameterList: [
            ParameterAttributeStruct(name: "Device.A", notification: NotificationValue(rawValue: 6), accessList: []),
         ]))),
        ("<cwmp:AddObjectResponse><InstanceNumber>12</InstanceNumber><Status>0</Status></cwmp:AddObjectResponse>",
         .addObjectResponse(AddObjectResponse(instanceNumber: 12, status: 0))),
        ("<cwmp:DeleteObjectResponse><Status>1</Status></cwmp:DeleteObjectResponse>",
         .deleteObjectResponse(DeleteObjectResponse(status: 1))),
        ("<cwmp:RebootResponse/>", .rebootResponse),
        ("""
         <cwmp:DownloadResponse><Status>0</Status><StartTime>2025-03-01T10:00:00Z</StartTime>
         <CompleteTime>2025-03-01T10:05:00+01:00</CompleteTime></cwmp:DownloadResponse>
         """,
         .downloadResponse(TransferResponse(status: 0, startTime: time1, completeTime: time2))),
        ("""
         <cwmp:UploadResponse><Status>1</Status><StartTime>0001-01-01T00:00:00Z</StartTime>
         <CompleteTime>0001-01-01T00:00:00Z</CompleteTime></cwmp:UploadResponse>
         """,
         .uploadResponse(TransferResponse(status: 1))),
        ("<cwmp:FactoryResetResponse/>", .factoryResetResponse),
        ("<cwmp:ScheduleInformResponse/>", .scheduleInformResponse),
        ("<cwmp:ScheduleDownloadResponse/>", .scheduleDownloadResponse),
        ("<cwmp:CancelTransferResponse/>", .cancelTransferResponse),
        ("""
         <cwmp:GetQueuedTransfersResponse><TransferList soapenc:arrayType="cwmp:QueuedTransferStruct[1]">
         <QueuedTransferStruct><CommandKey>dl</CommandKey><State>2</State></QueuedTransferStruct>
         </TransferList></cwmp:GetQueuedTransfersResponse>
         """,
         .getQueuedTransfersResponse(GetQueuedTransfersResponse(transferList: [QueuedTransfer(commandKey: "dl", state: 2)]))),
        ("""
         <cwmp:GetAllQueuedTransfersResponse><TransferList soapenc:arrayType="cwmp:AllQueuedTransferStruct[1]">
         <AllQueuedTransferStruct><CommandKey>dl</CommandKey><State>1</State><IsDownload>true</IsDownload>
         <FileType>1 Firmware Upgrade Image</FileType><FileSize>77</FileSize><TargetFileName>x</TargetFileName>
         </AllQueuedTransferStruct></TransferList></cwmp:GetAllQueuedTransfersResponse>
         """,
         .getAllQueuedTransfersResponse(GetAllQueuedTransfersResponse(transferList: [
            AllQueuedTransfer(commandKey: "dl", state: 1, isDownload: true, fileType: "1 Firmware Upgrade Image",
                              fileSize: 77, targetFileName: "x"),
         ]))),
        ("<cwmp:ChangeDUStateResponse/>", .changeDUStateResponse),

        // CPE → ACS requests
        ("""
         <cwmp:Inform><DeviceId><Manufacturer>M</Manufacturer><OUI>00D09E</OUI><ProductClass>P</ProductClass>
         <SerialNumber>S</SerialNumber></DeviceId><Event soapenc:arrayType="cwmp:EventStruct[1]"><EventStruct>
         <EventCode>0 BOOTSTRAP</EventCode><CommandKey/></EventStruct></Event><MaxEnvelopes>1</MaxEnvelopes>
         <CurrentTime>2025-03-01T10:00:00Z</CurrentTime><RetryCount>3</RetryCount>\(pvs)</cwmp:Inform>
         """,
         .inform(Inform(deviceId: DeviceId(manufacturer: "M", oui: "00D09E", productClass: "P", serialNumber: "S"),
                        events: [EventStruct(eventCode: "0 BOOTSTRAP")], currentTime: time1, retryCount: 3,
                        parameterList: pvsValue))),
        ("""
         <cwmp:TransferComplete><CommandKey>dl</CommandKey><FaultStruct><FaultCode>9010</FaultCode>
         <FaultString>Download failed</FaultString></FaultStruct><StartTime>2025-03-01T10:00:00Z</StartTime>
         <CompleteTime>2025-03-01T10:05:00+01:00</CompleteTime></cwmp:TransferComplete>
         """,
         .transferComplete(TransferComplete(commandKey: "dl", fault: TransferFault(faultCode: 9010, faultString: "Download failed"),
                                            startTime: time1, completeTime: time2))),
        ("""
         <cwmp:AutonomousTransferComplete><AnnounceURL>http://a</AnnounceURL><TransferURL>http://t</TransferURL>
         <IsDownload>0</IsDownload><FileType>4 Tone File</FileType><FileSize>5</FileSize><TargetFileName>t</TargetFileName>
         <FaultStruct><FaultCode>0</FaultCode><FaultString/></FaultStruct><StartTime>2025-03-01T10:00:00Z</StartTime>
         <CompleteTime>2025-03-01T10:05:00+01:00</CompleteTime></cwmp:AutonomousTransferComplete>
         """,
         .autonomousTransferComplete(AutonomousTransferComplete(
            announceURL: "http://a", transferURL: "http://t", isDownload: false, fileType: "4 Tone File", fileSize: 5,
            targetFileName: "t", fault: .none, startTime: time1, completeTime: time2))),
        ("<cwmp:DUStateChangeComplete><Results>\(opResult)</Results><CommandKey>du</CommandKey></cwmp:DUStateChangeComplete>",
         .duStateChangeComplete(DUStateChangeComplete(results: [opResultValue], commandKey: "du"))),
        ("""
         <cwmp:AutonomousDUStateChangeComplete><Results>\(opResult)<OperationPerformed>Install</OperationPerformed>
         </Results></cwmp:AutonomousDUStateChangeComplete>
         """,
         .autonomousDUStateChangeComplete(AutonomousDUStateChangeComplete(results: [
            AutonomousDeploymentUnitOperationResult(result: opResultValue, operationPerformed: "Install"),
         ]))),
        ("""
         <cwmp:RequestDownload><FileType>2 Web Content</FileType><FileTypeArg soapenc:arrayType="cwmp:ArgStruct[1]">
         <ArgStruct><Name>Version</Name><Value>v 2</Value></ArgStruct></FileTypeArg></cwmp:RequestDownload>
         """,
         .requestDownload(RequestDownload(fileType: "2 Web Content", fileTypeArg: [FileTypeArgument(name: "Version", value: "v 2")]))),
        ("""
         <cwmp:Kicked><Command>provision</Command><Referer>http://r</Referer><Arg>a</Arg><Next>http://n</Next></cwmp:Kicked>
         """,
         .kicked(Kicked(command: "provision", referer: "http://r", arg: "a", next: "http://n"))),

        // ACS responses
        ("<cwmp:InformResponse><MaxEnvelopes>1</MaxEnvelopes></cwmp:InformResponse>",
         .informResponse(InformResponse(maxEnvelopes: 1))),
        ("<cwmp:TransferCompleteResponse/>", .transferCompleteResponse),
        ("<cwmp:AutonomousTransferCompleteResponse/>", .autonomousTransferCompleteResponse),
        ("<cwmp:DUStateChangeCompleteResponse/>", .duStateChangeCompleteResponse),
        ("<cwmp:AutonomousDUStateChangeCompleteResponse/>", .autonomousDUStateChangeCompleteResponse),
        ("<cwmp:RequestDownloadResponse/>", .requestDownloadResponse),
        ("<cwmp:KickedResponse><NextURL>http://next</NextURL></cwmp:KickedResponse>",
         .kickedResponse(KickedResponse(nextURL: "http://next"))),

        // Fault
        ("""
         <soapenv:Fault><faultcode>Server</faultcode><faultstring>CWMP fault</faultstring><detail><cwmp:Fault>
         <FaultCode>8005</FaultCode><FaultString>Retry request</FaultString></cwmp:Fault></detail></soapenv:Fault>
         """,
         .fault(CWMPFault(.acsRetryRequest, "Retry request"))),
    ]

    @Test(arguments: 0..<cases.count)
    func decodesEveryMessage(_ index: Int) throws {
        let (body, expected) = Self.cases[index]
        #expect(try decoded(body) == expected)
    }

    /// The table really covers every case of the enum (51 cases, each once).
    @Test func tableCoversEveryCase() {
        let labels = Set(Self.cases.map { "\($0.1)".prefix { $0 != "(" } })
        #expect(labels.count == Self.cases.count)
        #expect(labels.count == 51)
    }
}

// MARK: - One test per error code

@Suite struct DecoderErrorTests {
    @Test func malformedXMLIsMalformedEnvelope() throws {
        let failure = try #require(decodeFailure(soap("<cwmp:Reboot><CommandKey>x</CommandKey></cwmp:Rebot>")))
        #expect(failure.error == CWMPError(.malformedEnvelope, ""))
        #expect(failure.fault.code == .invalidArguments)
        #expect(failure.header.id == "1", "the header had closed before the error")
        #expect(failure.error.reason.contains("line"), "libxml2's message is kept: \(failure.error.reason)")
    }

    @Test func unknownRPCIsUnknownMethodAndKeepsTheIDAndNamespace() throws {
        let failure = try #require(decodeFailure(soap("<cwmp:X_ACME_Frobnicate/>",
            header: "<cwmp:ID soapenv:mustUnderstand=\"1\">abc-7</cwmp:ID>", namespace: "urn:dslforum-org:cwmp-1-1")))
        #expect(failure.error == CWMPError(.unknownMethod, ""))
        #expect(failure.error.reason == "X_ACME_Frobnicate")
        #expect(failure.fault.code == .methodNotSupported)
        #expect(failure.header.id == "abc-7")
        #expect(failure.namespace == .cwmp11)
    }

    @Test(arguments: [
        ("<cwmp:GetParameterNames><ParameterPath>Device.</ParameterPath></cwmp:GetParameterNames>", "NextLevel"),
        ("<cwmp:GetParameterNames><ParameterPath>Device.</ParameterPath><NextLevel>maybe</NextLevel></cwmp:GetParameterNames>",
         "NextLevel"),
        ("<cwmp:AddObjectResponse><InstanceNumber>seven</InstanceNumber><Status>0</Status></cwmp:AddObjectResponse>",
         "InstanceNumber"),
        ("<cwmp:AddObjectResponse><InstanceNumber>4294967296</InstanceNumber><Status>0</Status></cwmp:AddObjectResponse>",
         "InstanceNumber"),
        ("<cwmp:SetParameterValues><ParameterKey/></cwmp:SetParameterValues>", "ParameterList"),
        ("<cwmp:SetParameterValues><ParameterList><ParameterValueStruct><Name>A</Name></ParameterValueStruct></ParameterList></cwmp:SetParameterValues>",
         "Value"),
        ("<cwmp:Reboot><CommandKey>a</CommandKey><CommandKey>b</CommandKey></cwmp:Reboot>", "CommandKey"),
        ("<cwmp:Reboot><CommandKey><x/></CommandKey></cwmp:Reboot>", "CommandKey"),
        ("<cwmp:ChangeDUState><Operations><URL>u</URL></Operations></cwmp:ChangeDUState>", "InstallOpStruct"),
        ("<soapenv:Fault><faultcode>Client</faultcode><faultstring>x</faultstring></soapenv:Fault>", "cwmp:Fault"),
    ])
    func invalidArgumentNamesTheElement(_ body: String, _ element: String) throws {
        let failure = try #require(decodeFailure(soap(body)))
        #expect(failure.error == CWMPError(.invalidArgument, ""))
        #expect(failure.error.reason.contains(element), "\(failure.error.reason)")
        #expect(failure.fault.code == .invalidArguments)
        #expect(failure.header.id == "1")
    }

    @Test func unknownCWMPNamespaceIsUnsupported() throws {
        let failure = try #require(decodeFailure(soap("<cwmp:Reboot/>", namespace: "urn:dslforum-org:cwmp-1-3")))
        #expect(failure.error == CWMPError(.unsupportedNamespace, ""))
        #expect(failure.fault.code == .invalidArguments)
        #expect(failure.header.id == "1", "the ID is still echoed")
        #expect(failure.namespace == nil)
    }

    @Test func soap12EnvelopeIsUnsupported() throws {
        let bytes = Array("""
            <env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope" xmlns:cwmp="urn:dslforum-org:cwmp-1-2">
            <env:Body><cwmp:Reboot/></env:Body></env:Envelope>
            """.utf8)
        #expect(decodeFailure(bytes)?.error == CWMPError(.unsupportedNamespace, ""))
    }

    @Test func unknownHeaderWithMustUnderstandIsRefusedAfterTheIDIsRead() throws {
        // The unknown entry comes first: the ID after it must still reach the fault.
        let failure = try #require(decodeFailure(soap("<cwmp:Reboot/>", header: """
            <x:Billing xmlns:x="urn:example:billing" soapenv:mustUnderstand="1">gold</x:Billing>
            <cwmp:ID soapenv:mustUnderstand="1">after-it</cwmp:ID>
            """)))
        #expect(failure.error == CWMPError(.mustUnderstandHeader, ""))
        #expect(failure.error.reason.contains("Billing"))
        #expect(failure.header.id == "after-it")
        #expect(failure.namespace == .cwmp12)
    }

    @Test func oversizedEnvelopeIsTooLarge() throws {
        let decoder = CWMPDecoder(configuration: .init(maximumEnvelopeBytes: 512))
        let failure = try #require(decodeFailure(try Fixture.bytes("inform-1-2.xml"), decoder))
        #expect(failure.error == CWMPError(.envelopeTooLarge, ""))
        #expect(failure.fault.code == .resourcesExceeded)
    }

    @Test func tooDeepIsTooDeep() throws {
        // Envelope / Body / Reboot / CommandKey is four levels.
        let decoder = CWMPDecoder(configuration: .init(maximumDepth: 3))
        let failure = try #require(decodeFailure(soap("<cwmp:Reboot><CommandKey>x</CommandKey></cwmp:Reboot>"), decoder))
        #expect(failure.error == CWMPError(.envelopeTooDeep, ""))
        #expect(failure.header.id == "1")
        // The same envelope decodes with one more level allowed.
        #expect(throws: Never.self) {
            try CWMPDecoder(configuration: .init(maximumDepth: 4))
                .decode(soap("<cwmp:Reboot><CommandKey>x</CommandKey></cwmp:Reboot>"))
        }
    }

    @Test func doctypeIsForbidden() throws {
        let bytes = Array("<?xml version=\"1.0\"?><!DOCTYPE Envelope []>".utf8) + soap("<cwmp:Reboot/>").dropFirst(39)
        #expect(decodeFailure(Array(bytes))?.error == CWMPError(.forbiddenDocumentType, ""))
    }

    @Test func emptyBodyAndMissingBodyAreMalformed() throws {
        #expect(decodeFailure(soap(""))?.error == CWMPError(.malformedEnvelope, ""))
        let noBody = Array("""
            <soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Header/></soapenv:Envelope>
            """.utf8)
        #expect(decodeFailure(noBody)?.error == CWMPError(.malformedEnvelope, ""))
        #expect(decodeFailure(soap("<cwmp:Reboot/><cwmp:Reboot/>"))?.error == CWMPError(.malformedEnvelope, ""))
    }

    @Test func throwingAPIThrowsTheSameError() {
        #expect(throws: CWMPError(.unknownMethod, "")) { try CWMPDecoder().decode(soap("<cwmp:Nope/>")) }
    }
}
