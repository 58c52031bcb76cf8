import Testing
@testable import CWMPClient
import CWMPTestSupport

/// decode(encode(envelope)) == envelope for every sample message in every namespace: the encoder and the
/// decoder agree on every RPC, header and value type, so what the proxier writes it can also read back.
@Suite struct CodecRoundTripTests {
    @Test(arguments: CWMPNamespace.allCases)
    func everySampleSurvivesEncodeThenDecode(namespace: CWMPNamespace) throws {
        let samples = SampleMessages.all(for: namespace)
        #expect(samples.count > 40)
        for (name, envelope) in samples {
            let bytes = try CWMPEncoder().encode(envelope)
            let decoded = try CWMPDecoder().decode(bytes)
            #expect(decoded == envelope, "\(name) in \(namespace.rawValue) changed in a round trip")
        }
    }

    @Test func aLargeResponseSurvivesChunkedDecoding() throws {
        let envelope = SampleMessages.largeGetParameterValuesResponse(count: 2_000)
        let bytes = try CWMPEncoder().encode(envelope)
        let parser = CWMPDecoder().makeParser()
        var offset = 0
        while offset < bytes.count {
            let end = min(offset + 4_096, bytes.count)
            try parser.feed(bytes[offset..<end])
            offset = end
        }
        #expect(try parser.finish().get() == envelope)
    }
}
