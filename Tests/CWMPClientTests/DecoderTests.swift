import Testing
@testable import CWMPClient

@Suite struct DecoderTests {
    let decoder = CWMPDecoder()

    @Test func sampleInform12() throws {
        let envelope = try decoder.decode(try Fixture.bytes("inform-1-2.xml"))
        #expect(envelope.namespace == .cwmp12)
        #expect(envelope.header.id == "1")
        guard case .inform(let inform) = envelope.message else { Issue.record("\(envelope.message)"); return }
        #expect(inform.deviceId.oui == "00D09E")
        #expect(inform.events == [EventStruct(eventCode: "1 BOOT"), EventStruct(eventCode: "M Reboot", commandKey: "ck-42")])
        #expect(inform.parameterList[1] == ParameterValueStruct(name: "Device.ManagementServer.ConnectionRequestURL",
                                                                value: "http://192.0.2.1:7547/abc", type: .string))
    }
}
