import CWMPClient

/// A catalogue of realistic envelopes: at least one of every `CWMPMessage` case, in every namespace whose
/// schema defines it, with values chosen to be legal in that namespace (1-0 enumerates its event codes and
/// file types, notification 3–6 exists only from 1-2, …).
///
/// Meant for both directions of the codec: the encoder's XSD tests validate every entry, and a decoder's
/// round-trip tests can decode(encode(envelope)) == envelope for every entry. So every value here is one
/// a decoder must reproduce exactly. What a decoder has to know for that: empty optional fields of the DU
/// operation structs are written as absent (read them back as ""); `.base64` values carry
/// `xsi:type="soapenc:base64"` (XML Schema has no `xsd:base64`); CR in text arrives as `&#13;`.
///
/// Coverage: non-empty and zero-length arrays wherever the schema allows 0 items; every combination of
/// header entries the namespace allows; Unicode and XML-special characters (`<&>"'`, CR/LF/tab, `]]>`)
/// in string values; a fault with SetParameterValuesFault entries; every `ParameterValueType`.
public enum SampleMessages {
    public static func all(for namespace: CWMPNamespace) -> [(name: String, envelope: CWMPEnvelope)] {
        var samples: [(name: String, envelope: CWMPEnvelope)] = []
        func add(_ name: String, _ message: CWMPMessage, header: CWMPHeader = CWMPHeader(id: "1001")) {
            let envelope = CWMPEnvelope(namespace: namespace, header: header, message: message)
            guard isDefined(envelope) else { return }
            samples.append((name, envelope))
        }
        let v12 = namespace == .cwmp12
        let v10 = namespace == .cwmp10

        // MARK: Headers (carried on the messages that use them in a real session)

        add("Inform.boot", .inform(inform(namespace)), header: CWMPHeader(id: "1"))
        if v12 {
            add("Inform.cwmp14-headers", .inform(inform(namespace)),
                header: CWMPHeader(id: "cpe-1", sessionTimeout: 60, supportedCWMPVersions: [.v1_0, .v1_1, .v1_2, .v1_3, .v1_4]))
            add("Inform.sessionTimeout-only", .inform(inform(namespace)), header: CWMPHeader(sessionTimeout: 0))
            add("InformResponse.useVersion", .informResponse(InformResponse(maxEnvelopes: 1)),
                header: CWMPHeader(id: "1", useCWMPVersion: .v1_4))
            add("GetRPCMethods.every-header", .getRPCMethods,
                header: CWMPHeader(id: "all", holdRequests: true, sessionTimeout: 4_294_967_295,
                                   supportedCWMPVersions: [.v1_4], useCWMPVersion: .v1_2))
        }
        add("Inform.no-header.empty-lists", .inform(Inform(
            deviceId: DeviceId(manufacturer: "", oui: "ABCDEF", productClass: "", serialNumber: ""),
            events: [], maxEnvelopes: 1, currentTime: .unknown, retryCount: 0, parameterList: [])), header: CWMPHeader())
        add("InformResponse", .informResponse(InformResponse(maxEnvelopes: 1)), header: CWMPHeader(id: "1"))
        add("InformResponse.holdRequests-true", .informResponse(InformResponse(maxEnvelopes: 1)),
            header: CWMPHeader(id: "1", holdRequests: true))
        add("GetParameterValues.holdRequests-false-no-id",
            .getParameterValues(GetParameterValues(parameterNames: ["Device.DeviceInfo."])),
            header: CWMPHeader(holdRequests: false))
        add("GetRPCMethods.no-header", .getRPCMethods, header: CWMPHeader())
        add("GetRPCMethods.id-with-specials", .getRPCMethods, header: CWMPHeader(id: "a<b>&\"c'"))

        // MARK: ACS → CPE requests

        add("GetRPCMethods", .getRPCMethods)
        add("SetParameterValues", .setParameterValues(SetParameterValues(
            parameterList: everyValueType(namespace), parameterKey: "pk-\u{00E9}<&>\"'")))
        add("SetParameterValues.empty", .setParameterValues(SetParameterValues(parameterList: [], parameterKey: "")))
        add("GetParameterValues", .getParameterValues(GetParameterValues(parameterNames: [
            "Device.DeviceInfo.", "Device.ManagementServer.PeriodicInformInterval", "Device.IP.Interface.*.Enable",
        ])))
        add("GetParameterNames", .getParameterNames(GetParameterNames(parameterPath: "Device.IP.", nextLevel: true)))
        add("GetParameterNames.root", .getParameterNames(GetParameterNames(parameterPath: "", nextLevel: false)))
        add("SetParameterAttributes", .setParameterAttributes(SetParameterAttributes(parameterList: [
            SetParameterAttributesStruct(name: "Device.DeviceInfo.SoftwareVersion", notificationChange: true,
                                         notification: .active, accessListChange: true, accessList: ["Subscriber"]),
            SetParameterAttributesStruct(name: "Device.Ethernet.Interface.", notificationChange: false,
                                         notification: v12 ? NotificationValue(rawValue: 6) : .passive,
                                         accessListChange: true, accessList: []),
        ])))
        add("GetParameterAttributes", .getParameterAttributes(GetParameterAttributes(parameterNames: [
            "Device.ManagementServer.", "Device.DeviceInfo.UpTime",
        ])))
        add("AddObject", .addObject(AddObject(objectName: "Device.IP.Interface.", parameterKey: "add-1")))
        add("AddObject.alias", .addObject(AddObject(objectName: "Device.NAT.PortMapping.[cpe-web].", parameterKey: "")))
        add("DeleteObject", .deleteObject(DeleteObject(objectName: "Device.IP.Interface.3.", parameterKey: "del-1")))
        add("Reboot", .reboot(Reboot(commandKey: "reboot-2026-11-23")))
        add("Download", .download(Download(
            commandKey: "fw-1.2.3", fileType: "1 Firmware Upgrade Image",
            url: "https://acs.example.net/fw/image.bin?token=a&b=<c>", username: "cpe", password: "s3cr\"t'<&>",
            fileSize: 16_777_216, targetFileName: "image.bin", delaySeconds: 30,
            successURL: "https://acs.example.net/ok", failureURL: "")))
        add("Download.vendor-filetype", .download(Download(
            commandKey: "", fileType: "X 00D09E Proxier Plugin", url: "http://192.0.2.10/p.tar")))
        add("Upload", .upload(Upload(
            commandKey: "log-7", fileType: "2 Vendor Log File", url: "ftp://logs.example.net/upload/",
            username: "u", password: "p", delaySeconds: 0)))
        if v12 {
            add("Upload.instance-filetype", .upload(Upload(
                commandKey: "cfg-2", fileType: "3 Vendor Configuration File 2", url: "https://acs.example.net/cfg")))
        }
        add("FactoryReset", .factoryReset)
        add("ScheduleInform", .scheduleInform(ScheduleInform(delaySeconds: 3600, commandKey: "hourly")))
        add("ScheduleDownload", .scheduleDownload(ScheduleDownload(
            commandKey: "sched-1", fileType: "1 Firmware Upgrade Image", url: "https://acs.example.net/fw.bin",
            username: "", password: "", fileSize: 1_048_576, targetFileName: "fw.bin",
            timeWindowList: [
                TimeWindow(windowStart: 0, windowEnd: 3600, windowMode: "1 At Any Time", userMessage: "", maxRetries: -1),
                TimeWindow(windowStart: 7200, windowEnd: 10800, windowMode: "4 Confirmation Needed",
                           userMessage: "Update now? Ja/Nein – 更新 <OK>", maxRetries: 3),
            ])))
        add("ScheduleDownload.one-window", .scheduleDownload(ScheduleDownload(
            commandKey: "sched-2", fileType: "X 00D09E Bundle", url: "https://acs.example.net/b",
            timeWindowList: [TimeWindow(windowStart: 60, windowEnd: 120, windowMode: "X 00D09E Night", maxRetries: 0)])))
        add("CancelTransfer", .cancelTransfer(CancelTransfer(commandKey: "sched-1")))
        add("GetQueuedTransfers", .getQueuedTransfers)
        add("GetAllQueuedTransfers", .getAllQueuedTransfers)
        add("ChangeDUState", .changeDUState(ChangeDUState(operations: [
            .install(url: "https://apps.example.net/du/thermostat-1.0.ipk", uuid: "6ba7b810-9dad-11d1-80b4-00c04fd430c8",
                     username: "du", password: "pw&<>", executionEnvRef: "Device.SoftwareModules.ExecEnv.1"),
            .install(url: "https://apps.example.net/du/minimal.ipk", uuid: "", username: "", password: "", executionEnvRef: ""),
            .update(uuid: "6BA7B810-9DAD-11D1-80B4-00C04FD430C8", version: "1.1", url: "https://apps.example.net/du/t-1.1.ipk",
                    username: "", password: ""),
            .update(uuid: "", version: "", url: "", username: "", password: ""),
            .uninstall(uuid: "6ba7b810-9dad-11d1-80b4-00c04fd430c8", version: "1.1", executionEnvRef: ""),
            .uninstall(uuid: "6ba7b811-9dad-11d1-80b4-00c04fd430c8", version: "", executionEnvRef: "Device.SoftwareModules.ExecEnv.2"),
        ], commandKey: "du-batch-1")))

        // MARK: CPE responses

        add("GetRPCMethodsResponse", .getRPCMethodsResponse(GetRPCMethodsResponse(methodList: [
            "GetRPCMethods", "SetParameterValues", "GetParameterValues", "GetParameterNames", "SetParameterAttributes",
            "GetParameterAttributes", "AddObject", "DeleteObject", "Reboot", "Download", "X_00D09E_Proxy",
        ])))
        add("SetParameterValuesResponse", .setParameterValuesResponse(SetParameterValuesResponse(status: 0)))
        add("SetParameterValuesResponse.pending", .setParameterValuesResponse(SetParameterValuesResponse(status: 1)))
        add("GetParameterValuesResponse", .getParameterValuesResponse(GetParameterValuesResponse(
            parameterList: everyValueType(namespace))))
        add("GetParameterValuesResponse.empty", .getParameterValuesResponse(GetParameterValuesResponse(parameterList: [])))
        add("GetParameterNamesResponse", .getParameterNamesResponse(GetParameterNamesResponse(parameterList: [
            ParameterInfoStruct(name: "Device.IP.Interface.", writable: true),
            ParameterInfoStruct(name: "Device.IP.Interface.1.", writable: false),
            ParameterInfoStruct(name: "Device.IP.Interface.1.Enable", writable: true),
        ])))
        add("GetParameterNamesResponse.empty", .getParameterNamesResponse(GetParameterNamesResponse(parameterList: [])))
        add("SetParameterAttributesResponse", .setParameterAttributesResponse)
        add("GetParameterAttributesResponse", .getParameterAttributesResponse(GetParameterAttributesResponse(parameterList: [
            ParameterAttributeStruct(name: "Device.DeviceInfo.SoftwareVersion", notification: .active, accessList: []),
            ParameterAttributeStruct(name: "Device.DeviceInfo.UpTime", notification: .off, accessList: ["Subscriber"]),
            ParameterAttributeStruct(name: "Device.WiFi.SSID.1.SSID",
                                     notification: v12 ? NotificationValue(rawValue: 3) : .passive, accessList: []),
        ])))
        add("GetParameterAttributesResponse.empty", .getParameterAttributesResponse(GetParameterAttributesResponse(parameterList: [])))
        add("AddObjectResponse", .addObjectResponse(AddObjectResponse(instanceNumber: 4, status: 0)))
        add("DeleteObjectResponse", .deleteObjectResponse(DeleteObjectResponse(status: 1)))
        add("RebootResponse", .rebootResponse)
        add("DownloadResponse.pending", .downloadResponse(TransferResponse(status: 1)))
        add("DownloadResponse.done", .downloadResponse(TransferResponse(
            status: 0, startTime: CWMPDateTime(rawValue: "2026-11-23T13:33:23Z"),
            completeTime: CWMPDateTime(rawValue: "2026-11-23T13:35:02.250+01:00"))))
        add("UploadResponse", .uploadResponse(TransferResponse(
            status: 0, startTime: CWMPDateTime(rawValue: "2026-11-23T13:33:23.5Z"),
            completeTime: CWMPDateTime(rawValue: "2026-11-23T13:33:24-05:30"))))
        add("FactoryResetResponse", .factoryResetResponse)
        add("ScheduleInformResponse", .scheduleInformResponse)
        add("ScheduleDownloadResponse", .scheduleDownloadResponse)
        add("CancelTransferResponse", .cancelTransferResponse)
        add("GetQueuedTransfersResponse", .getQueuedTransfersResponse(GetQueuedTransfersResponse(transferList: [
            QueuedTransfer(commandKey: "fw-1.2.3", state: 2), QueuedTransfer(commandKey: "", state: 1),
        ])))
        add("GetQueuedTransfersResponse.empty", .getQueuedTransfersResponse(GetQueuedTransfersResponse(transferList: [])))
        add("GetAllQueuedTransfersResponse", .getAllQueuedTransfersResponse(GetAllQueuedTransfersResponse(transferList: [
            AllQueuedTransfer(commandKey: "fw-1.2.3", state: 2, isDownload: true, fileType: "1 Firmware Upgrade Image",
                              fileSize: 16_777_216, targetFileName: "image.bin"),
            AllQueuedTransfer(commandKey: "log-7", state: 3, isDownload: false, fileType: "4 Vendor Log File",
                              fileSize: 0, targetFileName: ""),
        ])))
        add("GetAllQueuedTransfersResponse.empty", .getAllQueuedTransfersResponse(GetAllQueuedTransfersResponse(transferList: [])))
        add("ChangeDUStateResponse", .changeDUStateResponse)

        // MARK: CPE → ACS requests

        add("TransferComplete.success", .transferComplete(TransferComplete(
            commandKey: "fw-1.2.3", fault: .none, startTime: CWMPDateTime(rawValue: "2026-11-23T13:33:23Z"),
            completeTime: CWMPDateTime(rawValue: "2026-11-23T13:40:00Z"))))
        add("TransferComplete.fault", .transferComplete(TransferComplete(
            commandKey: "fw-1.2.4", fault: TransferFault(faultCode: v10 ? 9010 : 9017, faultString: "Download failed: <timeout> & retry"),
            startTime: .unknown, completeTime: .unknown)))
        add("AutonomousTransferComplete", .autonomousTransferComplete(AutonomousTransferComplete(
            announceURL: "http://192.0.2.1/announce", transferURL: "http://192.0.2.1/fw.bin", isDownload: true,
            fileType: "1 Firmware Upgrade Image", fileSize: 4096, targetFileName: "fw.bin", fault: .none,
            startTime: CWMPDateTime(rawValue: "2026-11-23T00:00:00Z"), completeTime: CWMPDateTime(rawValue: "2026-11-23T00:01:00Z"))))
        add("AutonomousTransferComplete.upload-fault", .autonomousTransferComplete(AutonomousTransferComplete(
            announceURL: "", transferURL: "ftp://logs.example.net/x", isDownload: false, fileType: "4 Vendor Log File",
            fileSize: 0, targetFileName: "", fault: TransferFault(faultCode: 9011, faultString: "Upload failure"),
            startTime: .unknown, completeTime: .unknown)))
        add("DUStateChangeComplete", .duStateChangeComplete(DUStateChangeComplete(results: [
            duResult(uuid: "6ba7b810-9dad-11d1-80b4-00c04fd430c8", state: "Installed", fault: .none),
            duResult(uuid: "6ba7b811-9dad-11d1-80b4-00c04fd430c8", state: "Failed",
                     fault: TransferFault(faultCode: 9026, faultString: "Duplicate Deployment Unit")),
        ], commandKey: "du-batch-1")))
        add("AutonomousDUStateChangeComplete", .autonomousDUStateChangeComplete(AutonomousDUStateChangeComplete(results: [
            AutonomousDeploymentUnitOperationResult(
                result: duResult(uuid: "6ba7b812-9dad-11d1-80b4-00c04fd430c8", state: "Uninstalled", fault: .none),
                operationPerformed: "Uninstall"),
            AutonomousDeploymentUnitOperationResult(
                result: duResult(uuid: "6ba7b813-9dad-11d1-80b4-00c04fd430c8", state: "Installed", fault: .none),
                operationPerformed: "X_00D09E_Restore"),
        ])))
        add("RequestDownload", .requestDownload(RequestDownload(fileType: "3 Vendor Configuration File", fileTypeArg: [
            FileTypeArgument(name: "Version", value: "2.0"), FileTypeArgument(name: "Note", value: "<&>\"' ünïcødé"),
        ])))
        add("RequestDownload.no-args", .requestDownload(RequestDownload(fileType: "1 Firmware Upgrade Image", fileTypeArg: [])))
        add("Kicked", .kicked(Kicked(command: "setup", referer: "https://portal.example.net/",
                                     arg: "plan=gold&user=<x>", next: "https://portal.example.net/done")))

        // MARK: ACS responses

        add("TransferCompleteResponse", .transferCompleteResponse)
        add("AutonomousTransferCompleteResponse", .autonomousTransferCompleteResponse)
        add("DUStateChangeCompleteResponse", .duStateChangeCompleteResponse)
        add("AutonomousDUStateChangeCompleteResponse", .autonomousDUStateChangeCompleteResponse)
        add("RequestDownloadResponse", .requestDownloadResponse)
        add("KickedResponse", .kickedResponse(KickedResponse(nextURL: "https://portal.example.net/next?a=1&b=2")))

        // MARK: Faults

        add("Fault.setParameterValues", .fault(CWMPFault(.invalidArguments, setParameterValuesFaults: [
            SetParameterValuesFault(parameterName: "Device.ManagementServer.PeriodicInformInterval",
                                    faultCode: .invalidParameterValue),
            SetParameterValuesFault(parameterName: "Device.DeviceInfo.Manufacturer",
                                    faultCode: .attemptToSetNonWritableParameter, faultString: "read-only <&>"),
            SetParameterValuesFault(parameterName: "Device.X_Unknown", faultCode: .invalidParameterName),
        ])))
        add("Fault.methodNotSupported", .fault(CWMPFault(.methodNotSupported)))
        add("Fault.vendor", .fault(CWMPFault(CWMPFault.Code(rawValue: 9850), "Vendor: Gerät belegt – 再試行 \"<busy>\"")))
        add("Fault.acsRetry", .fault(CWMPFault(.acsRetryRequest)), header: CWMPHeader(id: "cpe-9"))
        if !v10 {
            add("Fault.acsVersionIncompatible", .fault(CWMPFault(.acsVersionIncompatible)))
        }
        return samples
    }

    /// Whether the envelope's schema defines its message. The encoder checks exactly that before anything else
    /// (`CWMPError.messageNotInVersion`); asking it keeps this target free of `@testable import`, which a regular
    /// target cannot use in release builds. An envelope that fails for any other reason is kept, so the tests
    /// that encode it report the failure.
    static func isDefined(_ envelope: CWMPEnvelope) -> Bool {
        do {
            _ = try CWMPEncoder().encode(envelope)
            return true
        } catch {
            return error.code != .messageNotInVersion
        }
    }

    /// One parameter of every `ParameterValueType`, with values at the edges of their types and strings full
    /// of characters that need escaping. (No `type: nil` here: it is written as xsd:string and so decodes as
    /// `.string`, which would break round trips; EncoderOutputTests covers it.)
    public static func everyValueType(_ namespace: CWMPNamespace) -> [ParameterValueStruct] {
        [
            ParameterValueStruct(name: "Device.DeviceInfo.Description", value: "Router <5GHz> & \"Mesh\" 'Pro' – Wohnzimmer 🚀 日本語", type: .string),
            ParameterValueStruct(name: "Device.DeviceInfo.X_00D09E_Note", value: "line 1\r\nline 2\ttab ]]> end", type: .string),
            ParameterValueStruct(name: "Device.DeviceInfo.ProvisioningCode", value: "", type: .string),
            ParameterValueStruct(name: "Device.ManagementServer.DelayReboot", value: "-2147483648", type: .int),
            ParameterValueStruct(name: "Device.ManagementServer.PeriodicInformInterval", value: "4294967295", type: .unsignedInt),
            ParameterValueStruct(name: "Device.X_00D09E_Offset", value: "-9223372036854775808", type: .long),
            ParameterValueStruct(name: "Device.Ethernet.Interface.1.Stats.BytesSent", value: "18446744073709551615", type: .unsignedLong),
            ParameterValueStruct(name: "Device.ManagementServer.PeriodicInformEnable", value: "true", type: .boolean),
            ParameterValueStruct(name: "Device.ManagementServer.UpgradesManaged", value: "0", type: .boolean),
            ParameterValueStruct(name: "Device.ManagementServer.PeriodicInformTime", value: "0001-01-01T00:00:00Z", type: .dateTime),
            ParameterValueStruct(name: "Device.Time.CurrentLocalTime", value: "2026-11-23T14:33:23.123456+01:00", type: .dateTime),
            ParameterValueStruct(name: "Device.Security.Certificate.1.X_00D09E_DER", value: "AAECAwQFBgcICQr/", type: .base64),
            ParameterValueStruct(name: "Device.X_00D09E_Blob", value: "QQ==", type: .base64),
            ParameterValueStruct(name: "Device.X_00D09E_Key", value: "00d09eFF", type: .hexBinary),
        ]
    }

    public static func inform(_ namespace: CWMPNamespace) -> Inform {
        var events = [
            EventStruct(eventCode: "1 BOOT"),
            EventStruct(eventCode: "M Reboot", commandKey: "reboot-2026-11-23"),
            EventStruct(eventCode: "4 VALUE CHANGE"),
            EventStruct(eventCode: "X 00D09E Proxy Device Added", commandKey: "<&>\"'"),
            EventStruct(eventCode: "M X_00D09E_Resync"),
        ]
        if namespace != .cwmp10 { events.append(EventStruct(eventCode: "10 AUTONOMOUS TRANSFER COMPLETE")) }
        if namespace == .cwmp12 {
            events.append(EventStruct(eventCode: "11 DU STATE CHANGE COMPLETE"))
            events.append(EventStruct(eventCode: "M ChangeDUState", commandKey: "du-batch-1"))
            events.append(EventStruct(eventCode: "X example.com Vendor Thing"))
        }
        return Inform(
            deviceId: DeviceId(manufacturer: "Exämple & Söhne <GmbH>", oui: "00D09E", productClass: "Proxier-\"Gateway\"",
                              serialNumber: "SN-0001'α"),
            events: events, maxEnvelopes: 1, currentTime: CWMPDateTime(rawValue: "2026-11-23T14:33:23+01:00"),
            retryCount: 2,
            parameterList: [
                ParameterValueStruct(name: "Device.RootDataModelVersion", value: "2.19", type: .string),
                ParameterValueStruct(name: "Device.DeviceInfo.HardwareVersion", value: "HW <rev&B>", type: .string),
                ParameterValueStruct(name: "Device.DeviceInfo.SoftwareVersion", value: "1.2.3", type: .string),
                ParameterValueStruct(name: "Device.ManagementServer.ConnectionRequestURL",
                                     value: "http://192.0.2.1:7547/cr?a=1&b=2", type: .string),
                ParameterValueStruct(name: "Device.ManagementServer.AliasBasedAddressing", value: "false", type: .boolean),
                ParameterValueStruct(name: "Device.DeviceInfo.UpTime", value: "86400", type: .unsignedInt),
            ])
    }

    public static func duResult(uuid: String, state: String, fault: TransferFault) -> DeploymentUnitOperationResult {
        DeploymentUnitOperationResult(
            uuid: uuid, deploymentUnitRef: "Device.SoftwareModules.DeploymentUnit.1", version: "1.0",
            currentState: state, resolved: state != "Failed",
            executionUnitRefList: "Device.SoftwareModules.ExecutionUnit.1,Device.SoftwareModules.ExecutionUnit.2",
            startTime: CWMPDateTime(rawValue: "2026-11-23T13:00:00Z"),
            completeTime: CWMPDateTime(rawValue: "2026-11-23T13:00:05.5Z"), fault: fault)
    }

    /// A GetParameterValuesResponse of `count` TR-181-like parameters of mixed types (for size and speed checks).
    public static func largeGetParameterValuesResponse(count: Int) -> CWMPEnvelope {
        var list: [ParameterValueStruct] = []
        list.reserveCapacity(count)
        for i in 0..<count {
            let base = "Device.Hosts.Host.\(i / 10 + 1)."
            switch i % 5 {
            case 0: list.append(ParameterValueStruct(name: base + "HostName", value: "host-\(i) <lab> & \"office\"", type: .string))
            case 1: list.append(ParameterValueStruct(name: base + "PhysAddress", value: "00:d0:9e:\(i % 100):aa:bb", type: .string))
            case 2: list.append(ParameterValueStruct(name: base + "Active", value: i % 2 == 0 ? "true" : "false", type: .boolean))
            case 3: list.append(ParameterValueStruct(name: base + "LeaseTimeRemaining", value: "\(i * 37)", type: .int))
            default: list.append(ParameterValueStruct(name: base + "X_00D09E_LastSeen", value: "2026-11-23T13:33:23Z", type: .dateTime))
            }
        }
        return CWMPEnvelope(namespace: .cwmp12, header: CWMPHeader(id: "bench"),
                            message: .getParameterValuesResponse(GetParameterValuesResponse(parameterList: list)))
    }
}
