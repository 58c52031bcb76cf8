// End to end: every ACS request of the codec's sample catalogue goes through the dispatcher against a gateway-like
// TR-181 data model, and every answer (response or fault) is encoded and validated against the BBF XSDs.
import CWMPClient
import CWMPTestSupport
import Proxier
import Testing

@Suite struct RPCResponseXSDTests {
    /// What each sample request must get with an agent that supports everything: `nil` a response, else the fault.
    /// Requests not listed must succeed; a new sample that should not, belongs here.
    static let expectedFaults: [String: CWMPFault.Code] = [
        // Read-only, unknown and vendor parameters of the catalogue's every-type list (per-parameter entries).
        "SetParameterValues": .invalidArguments,
        // NAT is not part of this gateway.
        "AddObject.alias": .invalidParameterName,
        // The gateway has two IP interfaces.
        "DeleteObject": .invalidParameterName,
    ]

    struct Answer {
        var name: String
        var request: CWMPEnvelope
        var response: CWMPEnvelope
    }

    /// Runs every CPE-method sample of `namespace` through a fresh gateway (one per request, so the samples do not
    /// depend on each other) and returns the answer envelopes: same namespace, same `cwmp:ID`.
    static func answers(for namespace: CWMPNamespace, agent: @Sendable () -> any CWMPAgentActions) async throws -> [Answer] {
        var answers: [Answer] = []
        for sample in SampleMessages.all(for: namespace) where CPEMethod(request: sample.envelope.message) != nil {
            let (model, _) = try await GatewayFixture.makeDataModel()
            let dispatcher = CPEMethodDispatcher(dataModel: model, actions: agent())
            let outcome = await dispatcher.respond(to: sample.envelope.message)
            let response = CWMPEnvelope(namespace: namespace, header: CWMPHeader(id: sample.envelope.header.id),
                                        message: outcome.response)
            answers.append(Answer(name: sample.name, request: sample.envelope, response: response))
        }
        return answers
    }

    static func validate(_ answers: [Answer], namespace: CWMPNamespace) throws {
        let declared = try XSDValidator.declaredElements(for: namespace)
        var documents: [(name: String, bytes: [UInt8])] = []
        for answer in answers {
            let bytes = try CWMPEncoder().encode(answer.response)
            documents.append(("\(answer.name)-answer", bytes))
            // The Body is validated laxly: an element the schema does not declare would pass unchecked.
            let element = CWMPEncoder.rpcName(of: answer.response.message)
            #expect(element == "Fault" || declared.contains(element), "\(answer.name): \(element) is not declared")
        }
        let failures = try XSDValidator.validate(documents)
        #expect(failures.isEmpty, "\(failures.map(\.description).joined(separator: "\n"))")
    }

    @Test(.enabled(if: XSDValidator.isAvailable,
                   "needs ../shared/tools/cwmp-validate, ../shared/data/bbf and xmllint; ../shared is absent beside this clone"),
          arguments: CWMPNamespace.allCases)
    func everyAnswerValidates(namespace: CWMPNamespace) async throws {
        let answers = try await Self.answers(for: namespace) { RecordingAgent() }
        // Every CPE method has at least one sample in 1-2; older namespaces lack the newer methods.
        let methods = Set(answers.compactMap { CPEMethod(request: $0.request.message) })
        if namespace == .cwmp12 { #expect(methods == Set(CPEMethod.allCases)) }
        #expect(answers.count >= 20)

        for answer in answers {
            let requestName = CWMPEncoder.rpcName(of: answer.request.message)
            switch answer.response.message {
            case .fault(let fault):
                #expect(Self.expectedFaults[answer.name] == fault.code, "\(answer.name): unexpected \(fault)")
            case let message:
                #expect(Self.expectedFaults[answer.name] == nil, "\(answer.name): expected a fault, got \(message)")
                #expect(CWMPEncoder.rpcName(of: message) == requestName + "Response", "\(answer.name)")
            }
        }
        try Self.validate(answers, namespace: namespace)
    }

    /// The same catalogue against an agent with no agent methods: the 9000 faults must be valid envelopes too.
    @Test(.enabled(if: XSDValidator.isAvailable,
                   "needs ../shared/tools/cwmp-validate, ../shared/data/bbf and xmllint; ../shared is absent beside this clone"),
          arguments: CWMPNamespace.allCases)
    func everyAnswerValidatesWithoutAgentMethods(namespace: CWMPNamespace) async throws {
        let answers = try await Self.answers(for: namespace) { NoAgentActions() }
        let unsupported = answers.filter { CPEMethod(request: $0.request.message)?.isAgentMethod == true }
        #expect(!unsupported.isEmpty)
        for answer in unsupported {
            #expect(answer.response.message == .fault(CWMPFault(.methodNotSupported, "\(CWMPEncoder.rpcName(of: answer.request.message)) is not supported")),
                    "\(answer.name)")
        }
        try Self.validate(answers, namespace: namespace)
    }

    /// The SetParameterValues sample fails as a whole and names each bad parameter with its own code.
    @Test func setParameterValuesSampleFaultEntries() async throws {
        let answers = try await Self.answers(for: .cwmp12) { RecordingAgent() }
        let answer = try #require(answers.first { $0.name == "SetParameterValues" })
        guard case .fault(let fault) = answer.response.message else {
            Issue.record("expected a fault, got \(answer.response.message)")
            return
        }
        let entries = Dictionary(uniqueKeysWithValues: fault.setParameterValuesFaults.map { ($0.parameterName, $0.faultCode) })
        #expect(entries["Device.DeviceInfo.Description"] == .attemptToSetNonWritableParameter)
        #expect(entries["Device.Time.CurrentLocalTime"] == .attemptToSetNonWritableParameter)
        #expect(entries["Device.Ethernet.Interface.1.Stats.BytesSent"] == .attemptToSetNonWritableParameter)
        #expect(entries["Device.DeviceInfo.X_00D09E_Note"] == .invalidParameterName)
        #expect(entries["Device.Security.Certificate.1.X_00D09E_DER"] == .invalidParameterName)
        // Writable parameters with good values are not faults.
        #expect(entries["Device.ManagementServer.PeriodicInformInterval"] == nil)
        #expect(entries["Device.ManagementServer.PeriodicInformEnable"] == nil)
        #expect(entries["Device.DeviceInfo.ProvisioningCode"] == nil)
    }
}
