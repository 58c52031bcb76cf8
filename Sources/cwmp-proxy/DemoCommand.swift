import ArgumentParser
import CWMPClient
import Proxier

/// `cwmp-proxy demo`: the codec and the data-model engine without an ACS. It plays the ACS's part with a few
/// requests, each encoded to bytes and decoded again as the proxier would receive it, answers them from this
/// host's real Device:2 tree, and prints every envelope the proxier would send.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Answer sample ACS requests from this host's Device:2 tree and print the SOAP envelopes."
    )

    @Option(help: "Print at most this many lines of each response envelope.")
    var maximumLines = 40

    func run() async throws {
        let identity = GatewayIdentity(manufacturer: "cwmp-proxy", manufacturerOUI: "000000", productClass: "demo",
                                       serialNumber: "DEMO0001", softwareVersion: CWMPProxyVersion.current)
        let gateway = try await makeGatewayDataModel(identity: identity, settings: ManagementServerSettings())
        let dispatcher = CPEMethodDispatcher(dataModel: gateway.model)

        let requests: [(String, CWMPMessage)] = [
            ("GetRPCMethods", .getRPCMethods),
            ("GetParameterNames Device. (next level)",
             .getParameterNames(GetParameterNames(parameterPath: "Device.", nextLevel: true))),
            ("GetParameterValues of DeviceInfo and MemoryStatus",
             .getParameterValues(GetParameterValues(parameterNames: [
                "Device.DeviceInfo.SoftwareVersion", "Device.DeviceInfo.UpTime", "Device.DeviceInfo.MemoryStatus.",
             ]))),
            ("SetParameterValues with one bad value (all-or-nothing)",
             .setParameterValues(SetParameterValues(parameterList: [
                ParameterValueStruct(name: "Device.ManagementServer.PeriodicInformInterval", value: "0", type: .unsignedInt),
                ParameterValueStruct(name: "Device.DeviceInfo.UpTime", value: "1", type: .unsignedInt),
             ], parameterKey: "demo-1"))),
            ("SetParameterValues", .setParameterValues(SetParameterValues(parameterList: [
                ParameterValueStruct(name: "Device.ManagementServer.PeriodicInformInterval", value: "600", type: .unsignedInt),
            ], parameterKey: "demo-2"))),
            ("GetParameterValues of the ParameterKey",
             .getParameterValues(GetParameterValues(parameterNames: ["Device.ManagementServer.ParameterKey",
                                                                     "Device.ManagementServer.PeriodicInformInterval"]))),
        ]

        for (index, (title, message)) in requests.enumerated() {
            let id = "demo-\(index + 1)"
            // What the ACS sends, as bytes, and what the proxier makes of them.
            let requestBytes = try CWMPEncoder().encode(CWMPEnvelope(header: CWMPHeader(id: id), message: message))
            let request = try CWMPDecoder().decode(requestBytes)
            let outcome = await dispatcher.respond(to: request.message)
            let response = CWMPEnvelope(namespace: request.namespace, header: CWMPHeader(id: request.header.id),
                                        message: outcome.response)
            let responseBytes = try CWMPEncoder().encode(response)

            print("── \(title): \(requestBytes.count) bytes in, \(responseBytes.count) bytes out")
            let lines = String(decoding: responseBytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
            for line in lines.prefix(maximumLines) { print("   \(line)") }
            if lines.count > maximumLines { print("   … \(lines.count - maximumLines) more lines") }
        }
    }
}
