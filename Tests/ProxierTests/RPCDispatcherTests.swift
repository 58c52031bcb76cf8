// What the dispatcher answers per CPE method, which hooks it calls with what, and what it leaves to the caller.
import CWMPClient
import CWMPTestSupport
import Proxier
import Testing

/// A well-formed request of each CPE method.
func sampleRequest(for method: CPEMethod) -> CWMPMessage {
    switch method {
    case .getRPCMethods: .getRPCMethods
    case .setParameterValues: .setParameterValues(SetParameterValues(parameterList: [], parameterKey: "k"))
    case .getParameterValues: .getParameterValues(GetParameterValues(parameterNames: ["Device.DeviceInfo.UpTime"]))
    case .getParameterNames: .getParameterNames(GetParameterNames(parameterPath: "Device.", nextLevel: true))
    case .setParameterAttributes: .setParameterAttributes(SetParameterAttributes(parameterList: []))
    case .getParameterAttributes: .getParameterAttributes(GetParameterAttributes(parameterNames: ["Device.DeviceInfo.UpTime"]))
    case .addObject: .addObject(AddObject(objectName: "Device.IP.Interface.", parameterKey: ""))
    case .deleteObject: .deleteObject(DeleteObject(objectName: "Device.IP.Interface.2.", parameterKey: ""))
    case .reboot: .reboot(Reboot(commandKey: "r"))
    case .download: .download(Download(commandKey: "d", fileType: "1 Firmware Upgrade Image", url: "https://a.example/fw"))
    case .upload: .upload(Upload(commandKey: "u", fileType: "2 Vendor Log File", url: "https://a.example/log"))
    case .factoryReset: .factoryReset
    case .getQueuedTransfers: .getQueuedTransfers
    case .getAllQueuedTransfers: .getAllQueuedTransfers
    case .scheduleInform: .scheduleInform(ScheduleInform(delaySeconds: 60, commandKey: "s"))
    case .scheduleDownload: .scheduleDownload(ScheduleDownload(
        commandKey: "sd", fileType: "1 Firmware Upgrade Image", url: "https://a.example/fw",
        timeWindowList: [TimeWindow(windowStart: 0, windowEnd: 60, windowMode: "1 At Any Time")]))
    case .cancelTransfer: .cancelTransfer(CancelTransfer(commandKey: "d"))
    case .changeDUState: .changeDUState(ChangeDUState(
        operations: [.uninstall(uuid: "6ba7b810-9dad-11d1-80b4-00c04fd430c8", version: "", executionEnvRef: "")], commandKey: "du"))
    }
}

func makeDispatcher(agent: any CWMPAgentActions = RecordingAgent()) async throws -> (CPEMethodDispatcher, DataModel, InMemoryProvider) {
    let (model, provider) = try await GatewayFixture.makeDataModel()
    return (CPEMethodDispatcher(dataModel: model, actions: agent), model, provider)
}

/// The values a GetParameterValues answers, by name.
func read(_ names: [String], with dispatcher: CPEMethodDispatcher) async throws -> [String: String] {
    let outcome = await dispatcher.respond(to: .getParameterValues(GetParameterValues(parameterNames: names)))
    guard case .getParameterValuesResponse(let response) = outcome.response else {
        Issue.record("GetParameterValues failed: \(outcome.response)")
        return [:]
    }
    return Dictionary(response.parameterList.map { ($0.name, $0.value) }) { first, _ in first }
}

@Suite struct RPCMethodSupportTests {
    @Test func getRPCMethodsListsTheDataModelMethodsWithoutAgentMethods() async throws {
        let (dispatcher, _, _) = try await makeDispatcher(agent: NoAgentActions())
        let outcome = await dispatcher.respond(to: .getRPCMethods)
        #expect(outcome.response == .getRPCMethodsResponse(GetRPCMethodsResponse(methodList: [
            "GetRPCMethods", "SetParameterValues", "GetParameterValues", "GetParameterNames", "SetParameterAttributes",
            "GetParameterAttributes", "AddObject", "DeleteObject",
        ])))
        #expect(outcome.followUps.isEmpty)
    }

    @Test func getRPCMethodsAddsExactlyTheAgentMethodsTheAgentDeclares() async throws {
        let (dispatcher, _, _) = try await makeDispatcher(agent: RecordingAgent(supporting: [.download, .reboot, .scheduleInform]))
        let outcome = await dispatcher.respond(to: .getRPCMethods)
        guard case .getRPCMethodsResponse(let response) = outcome.response else {
            Issue.record("\(outcome.response)")
            return
        }
        #expect(response.methodList.suffix(3) == ["Reboot", "Download", "ScheduleInform"])
        #expect(response.methodList.count == 11)
        #expect(Set(response.methodList).isSuperset(of: CPEMethod.requiredOfEveryCPE.map(\.rawValue)))
    }

    /// Listed ⇔ answered: every method GetRPCMethods lists gets something other than 9000, every other one 9000.
    @Test(arguments: [Set<CPEMethod>(), [.reboot, .factoryReset], Set(CPEMethod.allCases.filter(\.isAgentMethod))])
    func listedMethodsAreExactlyTheAnsweredOnes(agentMethods: Set<CPEMethod>) async throws {
        let agent = RecordingAgent(supporting: agentMethods)
        let (dispatcher, _, _) = try await makeDispatcher(agent: agent)
        guard case .getRPCMethodsResponse(let response) = await dispatcher.respond(to: .getRPCMethods).response else {
            Issue.record("GetRPCMethods failed")
            return
        }
        for method in CPEMethod.allCases {
            let outcome = await dispatcher.respond(to: sampleRequest(for: method))
            let notSupported = outcome.fault?.code == .methodNotSupported
            #expect(response.methodList.contains(method.rawValue) == !notSupported, "\(method): \(outcome.response)")
        }
        // Unsupported methods never reach the agent.
        let called = await agent.calls.count
        #expect(called == agentMethods.subtracting([.reboot, .factoryReset, .scheduleInform]).count)
    }

    /// `CPEMethod(request:)` agrees with the wire names for every message of the codec's catalogue.
    @Test(arguments: CWMPNamespace.allCases)
    func methodOfEveryCatalogueMessage(namespace: CWMPNamespace) {
        let names = Set(CPEMethod.allCases.map(\.rawValue))
        for sample in SampleMessages.all(for: namespace) {
            let wireName = CWMPEncoder.rpcName(of: sample.envelope.message)
            #expect(CPEMethod(request: sample.envelope.message)?.rawValue == (names.contains(wireName) ? wireName : nil), "\(sample.name)")
        }
    }

    @Test func newErrorCodesConvertToTheirFaults() {
        #expect(CWMPFault(converting: ProxierError(.methodNotSupported, "Upload is not supported"))
            == CWMPFault(.methodNotSupported, "Upload is not supported"))
        #expect(CWMPFault(converting: ProxierError(.timedOut, "Download did not finish"))
            == CWMPFault(.internalError, "Download did not finish"))
    }

    @Test func messagesThatAreNotCPEMethodsAre9000() async throws {
        let (dispatcher, _, _) = try await makeDispatcher()
        for message: CWMPMessage in [.getRPCMethodsResponse(GetRPCMethodsResponse(methodList: [])), .transferCompleteResponse,
                                     .fault(CWMPFault(.acsRetryRequest)), .informResponse(InformResponse())] {
            #expect(await dispatcher.respond(to: message).fault?.code == .methodNotSupported)
        }
    }

    /// An agent that declares a method but forgets its hook still answers 9000 instead of misbehaving.
    @Test func declaredButUnimplementedHookIs9000() async throws {
        struct Forgetful: CWMPAgentActions {
            var supportedMethods: Set<CPEMethod> { [.download] }
        }
        let (dispatcher, _, _) = try await makeDispatcher(agent: Forgetful())
        #expect(await dispatcher.respond(to: sampleRequest(for: .download)).fault?.code == .methodNotSupported)
    }
}

@Suite struct RPCParameterMethodTests {
    @Test func getParameterValuesReadsTheModelAndHidesSecrets() async throws {
        let (dispatcher, _, _) = try await makeDispatcher()
        let values = try await read(["Device.DeviceInfo.", "Device.ManagementServer.Password", "Device.IP.InterfaceNumberOfEntries"],
                                    with: dispatcher)
        #expect(values["Device.DeviceInfo.SoftwareVersion"] == "1.2.3")
        #expect(values["Device.DeviceInfo.ManufacturerOUI"] == "00D09E")
        #expect(values["Device.ManagementServer.Password"] == "")
        #expect(values["Device.IP.InterfaceNumberOfEntries"] == "2")
    }

    @Test func emptyParameterNamesGiveAnEmptyList() async throws {
        let (dispatcher, _, _) = try await makeDispatcher()
        let outcome = await dispatcher.respond(to: .getParameterValues(GetParameterValues(parameterNames: [])))
        #expect(outcome.response == .getParameterValuesResponse(GetParameterValuesResponse(parameterList: [])))
    }

    @Test func oneUnknownNameFailsTheWholeRequestWith9005() async throws {
        let (dispatcher, _, _) = try await makeDispatcher()
        let outcome = await dispatcher.respond(to: .getParameterValues(GetParameterValues(
            parameterNames: ["Device.DeviceInfo.UpTime", "Device.NAT."])))
        #expect(outcome.fault?.code == .invalidParameterName)
        #expect(outcome.followUps.isEmpty)
    }

    /// Instance numbers must survive a restart, so a read that numbers instances for the first time asks for a
    /// save — even when it then fails — and one that finds everything numbered already does not.
    @Test func readsAskToSaveOnlyWhenTheyNumberNewInstances() async throws {
        let (dispatcher, _, _) = try await makeDispatcher()
        let failing = await dispatcher.respond(to: .getParameterValues(GetParameterValues(
            parameterNames: ["Device.Hosts.Host.2.HostName", "Device.Hosts.Host.9.HostName"])))
        #expect(failing.fault?.code == .invalidParameterName)
        #expect(failing.followUps == [.saveDataModelState])
        let first = await dispatcher.respond(to: .getParameterValues(GetParameterValues(parameterNames: ["Device.IP."])))
        #expect(first.followUps == [.saveDataModelState])
        let again = await dispatcher.respond(to: .getParameterValues(GetParameterValues(parameterNames: ["Device.IP.", "Device.Hosts."])))
        #expect(again.fault == nil)
        #expect(again.followUps.isEmpty)
    }

    @Test func getParameterNamesNextLevel() async throws {
        let (dispatcher, _, _) = try await makeDispatcher()
        let outcome = await dispatcher.respond(to: .getParameterNames(GetParameterNames(parameterPath: "Device.IP.", nextLevel: true)))
        guard case .getParameterNamesResponse(let response) = outcome.response else {
            Issue.record("\(outcome.response)")
            return
        }
        #expect(Set(response.parameterList) == [
            ParameterInfoStruct(name: "Device.IP.InterfaceNumberOfEntries", writable: false),
            ParameterInfoStruct(name: "Device.IP.Interface.", writable: true),
        ])
        let onParameter = await dispatcher.respond(to: .getParameterNames(GetParameterNames(
            parameterPath: "Device.DeviceInfo.UpTime", nextLevel: true)))
        #expect(onParameter.fault?.code == .invalidArguments)
    }

    @Test func setParameterValuesAppliesSetsTheParameterKeyAndAsksToSave() async throws {
        let (dispatcher, model, _) = try await makeDispatcher()
        let outcome = await dispatcher.respond(to: .setParameterValues(SetParameterValues(parameterList: [
            ParameterValueStruct(name: "Device.ManagementServer.PeriodicInformInterval", value: "600", type: .unsignedInt),
            ParameterValueStruct(name: "Device.IP.Interface.2.Enable", value: "1", type: .boolean),
        ], parameterKey: "spv-1")))
        #expect(outcome.response == .setParameterValuesResponse(SetParameterValuesResponse(status: 0)))
        #expect(outcome.followUps == [.saveDataModelState])
        #expect(await model.parameterKey == "spv-1")
        let values = try await read(["Device.ManagementServer.", "Device.IP.Interface.2.Enable"], with: dispatcher)
        #expect(values["Device.ManagementServer.PeriodicInformInterval"] == "600")
        #expect(values["Device.ManagementServer.ParameterKey"] == "spv-1")
        #expect(values["Device.IP.Interface.2.Enable"] == "true")
    }

    @Test func setParameterValuesStatusOneWhenAppliedLater() async throws {
        let (dispatcher, _, provider) = try await makeDispatcher()
        await provider.setSetValuesStatus(.appliedLater)
        let outcome = await dispatcher.respond(to: .setParameterValues(SetParameterValues(parameterList: [
            ParameterValueStruct(name: "Device.ManagementServer.PeriodicInformInterval", value: "600", type: .unsignedInt),
        ], parameterKey: "")))
        #expect(outcome.response == .setParameterValuesResponse(SetParameterValuesResponse(status: 1)))
    }

    @Test func setParameterValuesFaultCarriesEveryEntryAndAppliesNothing() async throws {
        let (dispatcher, model, _) = try await makeDispatcher()
        let outcome = await dispatcher.respond(to: .setParameterValues(SetParameterValues(parameterList: [
            ParameterValueStruct(name: "Device.ManagementServer.PeriodicInformInterval", value: "600", type: .unsignedInt),
            ParameterValueStruct(name: "Device.DeviceInfo.UpTime", value: "1", type: .unsignedInt),
            ParameterValueStruct(name: "Device.ManagementServer.PeriodicInformEnable", value: "maybe", type: .boolean),
            ParameterValueStruct(name: "Device.ManagementServer.URL", value: "1", type: .int),
            ParameterValueStruct(name: "Device.IP.Interface.1.MaxMTUSize", value: "10", type: .unsignedInt),
            ParameterValueStruct(name: "Device.X_NOPE", value: "", type: .string),
        ], parameterKey: "spv-2")))
        let fault = try #require(outcome.fault)
        #expect(fault.code == .invalidArguments)
        #expect(fault.setParameterValuesFaults.map(\.parameterName) == [
            "Device.DeviceInfo.UpTime", "Device.ManagementServer.PeriodicInformEnable", "Device.ManagementServer.URL",
            "Device.IP.Interface.1.MaxMTUSize", "Device.X_NOPE",
        ])
        // A lexical form that is not of the type is a type fault (9006), a value outside its range a value fault.
        #expect(fault.setParameterValuesFaults.map(\.faultCode) == [
            .attemptToSetNonWritableParameter, .invalidParameterType, .invalidParameterType, .invalidParameterValue,
            .invalidParameterName,
        ])
        // Naming Interface.1 numbered the IP interfaces (a fresh model): that, and only that, is to be saved.
        #expect(outcome.followUps == [.saveDataModelState])
        #expect(await model.parameterKey == "")
        #expect(try await read(["Device.ManagementServer.PeriodicInformInterval"], with: dispatcher).values.first == "3600")
    }

    @Test func setParameterValuesArgumentChecks() async throws {
        let (dispatcher, _, _) = try await makeDispatcher()
        let twice = await dispatcher.respond(to: .setParameterValues(SetParameterValues(parameterList: [
            ParameterValueStruct(name: "Device.ManagementServer.PeriodicInformInterval", value: "600", type: .unsignedInt),
            ParameterValueStruct(name: "Device.ManagementServer.PeriodicInformInterval", value: "700", type: .unsignedInt),
        ], parameterKey: "")))
        #expect(twice.fault?.code == .invalidArguments)
        #expect(twice.fault?.setParameterValuesFaults == [])
        let longKey = await dispatcher.respond(to: .setParameterValues(SetParameterValues(parameterList: [], parameterKey: String(repeating: "k", count: 33))))
        #expect(longKey.fault?.code == .invalidArguments)
        let fullKey = await dispatcher.respond(to: .setParameterValues(SetParameterValues(parameterList: [], parameterKey: String(repeating: "k", count: 32))))
        #expect(fullKey.fault == nil)
    }

    @Test func addAndDeleteObject() async throws {
        let (dispatcher, model, _) = try await makeDispatcher()
        let added = await dispatcher.respond(to: .addObject(AddObject(objectName: "Device.IP.Interface.", parameterKey: "add")))
        #expect(added.response == .addObjectResponse(AddObjectResponse(instanceNumber: 3, status: 0)))
        #expect(added.followUps == [.saveDataModelState])
        #expect(await model.parameterKey == "add")
        let deleted = await dispatcher.respond(to: .deleteObject(DeleteObject(objectName: "Device.IP.Interface.3.", parameterKey: "del")))
        #expect(deleted.response == .deleteObjectResponse(DeleteObjectResponse(status: 0)))
        #expect(await model.parameterKey == "del")
        let again = await dispatcher.respond(to: .deleteObject(DeleteObject(objectName: "Device.IP.Interface.3.", parameterKey: "x")))
        #expect(again.fault?.code == .invalidParameterName)
        let notATable = await dispatcher.respond(to: .addObject(AddObject(objectName: "Device.DeviceInfo.", parameterKey: "")))
        #expect(notATable.fault?.code == .invalidParameterName)
        #expect(await model.parameterKey == "del")
    }

    @Test func parameterAttributesRoundTripAndDenial() async throws {
        let (dispatcher, _, _) = try await makeDispatcher()
        let set = await dispatcher.respond(to: .setParameterAttributes(SetParameterAttributes(parameterList: [
            SetParameterAttributesStruct(name: "Device.ManagementServer.PeriodicInformInterval", notificationChange: true,
                                         notification: .active, accessListChange: true, accessList: ["Subscriber"]),
        ])))
        #expect(set.response == .setParameterAttributesResponse)
        #expect(set.followUps == [.saveDataModelState])
        let get = await dispatcher.respond(to: .getParameterAttributes(GetParameterAttributes(
            parameterNames: ["Device.ManagementServer.PeriodicInformInterval"])))
        #expect(get.response == .getParameterAttributesResponse(GetParameterAttributesResponse(parameterList: [
            ParameterAttributeStruct(name: "Device.ManagementServer.PeriodicInformInterval", notification: .active,
                                     accessList: ["Subscriber"]),
        ])))
        #expect(get.followUps.isEmpty)
        let lightweight = await dispatcher.respond(to: .setParameterAttributes(SetParameterAttributes(parameterList: [
            SetParameterAttributesStruct(name: "Device.ManagementServer.PeriodicInformInterval", notificationChange: true,
                                         notification: NotificationValue(rawValue: 3), accessListChange: false, accessList: []),
        ])))
        #expect(lightweight.fault?.code == .invalidArguments)
    }

    /// A provider's own error text never reaches the ACS: an unknown error is a bare 9002.
    @Test func providerErrorsDoNotLeak() async throws {
        actor Failing: DataModelProvider {
            let inner: InMemoryProvider
            init(_ inner: InMemoryProvider) { self.inner = inner }
            func instances(of tables: [ProviderPath]) async throws -> [[ProviderInstance]] { try await inner.instances(of: tables) }
            func values(of parameters: [ProviderPath]) async throws -> [String] { throw SecretError() }
            func setValues(_ values: [ProviderParameterValue]) async throws -> ApplyStatus { throw SecretError() }
            func addInstance(to table: ProviderPath, instanceNumber: UInt32) async throws -> (key: String, status: ApplyStatus) {
                throw SecretError()
            }
            func deleteInstance(_ instance: ProviderPath) async throws -> ApplyStatus { throw SecretError() }
        }
        let model = DataModel(schema: GatewayFixture.tree)
        try await model.mount(Failing(try InMemoryProvider(schema: GatewayFixture.tree, values: GatewayFixture.values)), at: "Device.")
        let dispatcher = CPEMethodDispatcher(dataModel: model, actions: NoAgentActions())
        for request in [sampleRequest(for: .getParameterValues), sampleRequest(for: .addObject),
                        .setParameterValues(SetParameterValues(parameterList: [
                            ParameterValueStruct(name: "Device.ManagementServer.PeriodicInformInterval", value: "60", type: .unsignedInt),
                        ], parameterKey: ""))] {
            #expect(await dispatcher.respond(to: request).response == .fault(CWMPFault(.internalError)), "\(request)")
        }
    }
}

@Suite struct RPCAgentMethodTests {
    static func replacingCommandKey(of message: CWMPMessage, with key: String) -> CWMPMessage? {
        switch message {
        case .reboot(var request): request.commandKey = key; return .reboot(request)
        case .download(var request): request.commandKey = key; return .download(request)
        case .upload(var request): request.commandKey = key; return .upload(request)
        case .scheduleInform(var request): request.commandKey = key; return .scheduleInform(request)
        case .scheduleDownload(var request): request.commandKey = key; return .scheduleDownload(request)
        case .cancelTransfer(var request): request.commandKey = key; return .cancelTransfer(request)
        case .changeDUState(var request): request.commandKey = key; return .changeDUState(request)
        default: return nil
        }
    }

    @Test func rebootIsAFollowUpNotAnAction() async throws {
        let agent = RecordingAgent()
        let (dispatcher, _, _) = try await makeDispatcher(agent: agent)
        let outcome = await dispatcher.respond(to: .reboot(Reboot(commandKey: "reboot-7")))
        #expect(outcome.response == .rebootResponse)
        #expect(outcome.followUps == [.rebootAfterSession(commandKey: "reboot-7")])
        #expect(outcome.followUps.flatMap(\.events) == [EventStruct(eventCode: "1 BOOT"),
                                                         EventStruct(eventCode: "M Reboot", commandKey: "reboot-7")])
        #expect(await agent.calls.isEmpty)
    }

    /// CommandKey is string(32) counted in Unicode scalars (as XML Schema and the encoder count).
    @Test func commandKeyLength() async throws {
        let (dispatcher, _, _) = try await makeDispatcher()
        #expect(await dispatcher.respond(to: .reboot(Reboot(commandKey: String(repeating: "é", count: 32)))).fault == nil)
        #expect(await dispatcher.respond(to: .reboot(Reboot(commandKey: String(repeating: "k", count: 33)))).fault?.code == .invalidArguments)
        // 16 grapheme clusters, 32 scalars: still fits; 17 of them (34 scalars) do not.
        #expect(await dispatcher.respond(to: .reboot(Reboot(commandKey: String(repeating: "e\u{301}", count: 16)))).fault == nil)
        let combining = await dispatcher.respond(to: .reboot(Reboot(commandKey: String(repeating: "e\u{301}", count: 17))))
        #expect(combining.fault?.code == .invalidArguments)
        #expect(combining.followUps.isEmpty)
        for method in CPEMethod.allCases {
            guard let request = Self.replacingCommandKey(of: sampleRequest(for: method), with: String(repeating: "x", count: 33)) else {
                continue
            }
            #expect(await dispatcher.respond(to: request).fault?.code == .invalidArguments, "\(method)")
        }
    }

    @Test func factoryResetAndScheduleInformFollowUps() async throws {
        let (dispatcher, _, _) = try await makeDispatcher()
        let reset = await dispatcher.respond(to: .factoryReset)
        #expect(reset.response == .factoryResetResponse)
        #expect(reset.followUps == [.factoryResetAfterSession])
        #expect(reset.followUps.flatMap(\.events).map(\.eventCode) == ["0 BOOTSTRAP", "1 BOOT"])

        let scheduled = await dispatcher.respond(to: .scheduleInform(ScheduleInform(delaySeconds: 3600, commandKey: "hourly")))
        #expect(scheduled.response == .scheduleInformResponse)
        #expect(scheduled.followUps == [.scheduleInform(delay: .seconds(3600), commandKey: "hourly")])
        #expect(scheduled.followUps.flatMap(\.events) == [EventStruct(eventCode: "3 SCHEDULED"),
                                                           EventStruct(eventCode: "M ScheduleInform", commandKey: "hourly")])
        let now = await dispatcher.respond(to: .scheduleInform(ScheduleInform(delaySeconds: 0, commandKey: "")))
        #expect(now.fault?.code == .invalidArguments)
        #expect(now.followUps.isEmpty)
    }

    @Test func downloadAndUploadPassTheRequestAndTheAgentsAnswer() async throws {
        let agent = RecordingAgent()
        let done = TransferResponse(status: 0, startTime: CWMPDateTime(rawValue: "2026-11-23T13:00:00Z"),
                                    completeTime: CWMPDateTime(rawValue: "2026-11-23T13:00:09Z"))
        await agent.answer(transfers: done)
        let (dispatcher, _, _) = try await makeDispatcher(agent: agent)
        let download = Download(commandKey: "fw-2", fileType: "1 Firmware Upgrade Image", url: "https://a.example/fw.bin",
                                username: "u", password: "p", fileSize: 1024, targetFileName: "fw.bin", delaySeconds: 5)
        let upload = Upload(commandKey: "log-1", fileType: "2 Vendor Log File", url: "https://a.example/up")
        #expect(await dispatcher.respond(to: .download(download)) == CPEMethodOutcome(response: .downloadResponse(done)))
        #expect(await dispatcher.respond(to: .upload(upload)) == CPEMethodOutcome(response: .uploadResponse(done)))
        #expect(await agent.calls == [.download(download), .upload(upload)])
    }

    @Test func agentFaultsPassThroughAndUnknownErrorsAreBare9002() async throws {
        let agent = RecordingAgent()
        let (dispatcher, _, _) = try await makeDispatcher(agent: agent)
        await agent.fail(with: CWMPFault(.unsupportedProtocolForFileTransfer))
        #expect(await dispatcher.respond(to: sampleRequest(for: .download)).fault == CWMPFault(.unsupportedProtocolForFileTransfer))
        await agent.fail(with: CWMPFault(.cancelationOfFileTransferNotPermitted))
        #expect(await dispatcher.respond(to: sampleRequest(for: .cancelTransfer)).fault?.code == .cancelationOfFileTransferNotPermitted)
        await agent.fail(with: SecretError())
        let secret = try #require(await dispatcher.respond(to: sampleRequest(for: .upload)).fault)
        #expect(secret == CWMPFault(.internalError))
        #expect(!secret.faultString.contains("community"))
    }

    @Test func undefinedTransferStatusIs9002() async throws {
        let agent = RecordingAgent()
        await agent.answer(transfers: TransferResponse(status: 2))
        let (dispatcher, _, _) = try await makeDispatcher(agent: agent)
        #expect(await dispatcher.respond(to: sampleRequest(for: .download)).fault?.code == .internalError)
    }

    @Test func scheduleDownloadChecksItsTimeWindows() async throws {
        let agent = RecordingAgent()
        let (dispatcher, _, _) = try await makeDispatcher(agent: agent)
        func request(_ windows: [TimeWindow]) -> CWMPMessage {
            .scheduleDownload(ScheduleDownload(commandKey: "sd", fileType: "1 Firmware Upgrade Image", url: "https://a.example/fw",
                                               timeWindowList: windows))
        }
        let good = [TimeWindow(windowStart: 0, windowEnd: 60, windowMode: "2 Immediately"),
                    TimeWindow(windowStart: 60, windowEnd: 120, windowMode: "X 00D09E Night", maxRetries: 2)]
        #expect(await dispatcher.respond(to: request(good)).response == .scheduleDownloadResponse)
        let bad: [[TimeWindow]] = [
            [],
            [TimeWindow(windowStart: 0, windowEnd: 10, windowMode: "1 At Any Time"),
             TimeWindow(windowStart: 20, windowEnd: 30, windowMode: "1 At Any Time"),
             TimeWindow(windowStart: 40, windowEnd: 50, windowMode: "1 At Any Time")],
            [TimeWindow(windowStart: 0, windowEnd: 60, windowMode: "1 At Any Time"),
             TimeWindow(windowStart: 30, windowEnd: 90, windowMode: "1 At Any Time")],
            [TimeWindow(windowStart: 60, windowEnd: 0, windowMode: "1 At Any Time")],
            [TimeWindow(windowStart: 0, windowEnd: 60, windowMode: "5 Whenever")],
            [TimeWindow(windowStart: 0, windowEnd: 60, windowMode: "1 At Any Time", maxRetries: -2)],
        ]
        for windows in bad {
            #expect(await dispatcher.respond(to: request(windows)).fault?.code == .invalidArguments, "\(windows)")
        }
        // Only the good request reached the agent.
        #expect(await agent.calls.count == 1)
    }

    @Test func queuedTransfers() async throws {
        let agent = RecordingAgent()
        let queue = (1...20).map {
            AllQueuedTransfer(commandKey: "t\($0)", state: $0 % 3 + 1, isDownload: $0 % 2 == 0, fileType: "1 Firmware Upgrade Image",
                              fileSize: UInt32($0), targetFileName: "")
        }
        await agent.setQueue(queue)
        let (dispatcher, _, _) = try await makeDispatcher(agent: agent)
        #expect(await dispatcher.respond(to: .getAllQueuedTransfers).response
            == .getAllQueuedTransfersResponse(GetAllQueuedTransfersResponse(transferList: Array(queue.prefix(16)))))
        #expect(await dispatcher.respond(to: .getQueuedTransfers).response
            == .getQueuedTransfersResponse(GetQueuedTransfersResponse(transferList: queue.prefix(16).map {
                QueuedTransfer(commandKey: $0.commandKey, state: $0.state)
            })))
        await agent.setQueue([AllQueuedTransfer(commandKey: "x", state: 4, isDownload: true, fileType: "1 Firmware Upgrade Image",
                                                fileSize: 0, targetFileName: "")])
        #expect(await dispatcher.respond(to: .getAllQueuedTransfers).fault?.code == .internalError)
    }

    @Test func changeDUStateAndCancelTransferReachTheAgent() async throws {
        let agent = RecordingAgent()
        let (dispatcher, _, _) = try await makeDispatcher(agent: agent)
        let change = ChangeDUState(operations: [
            .install(url: "https://apps.example/a.ipk", uuid: "", username: "", password: "", executionEnvRef: ""),
        ], commandKey: "du-1")
        #expect(await dispatcher.respond(to: .changeDUState(change)) == CPEMethodOutcome(response: .changeDUStateResponse))
        #expect(await dispatcher.respond(to: .cancelTransfer(CancelTransfer(commandKey: "fw-2"))).response == .cancelTransferResponse)
        let empty = await dispatcher.respond(to: .changeDUState(ChangeDUState(operations: [], commandKey: "")))
        #expect(empty.fault?.code == .invalidArguments)
        #expect(await agent.calls == [.changeDUState(change), .cancelTransfer("fw-2")])
    }
}
