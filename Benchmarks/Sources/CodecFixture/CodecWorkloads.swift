// The four measured operations, shared by the package-benchmark target (clock and malloc counts) and the
// callgrind harness (instruction counts), so both measure exactly the same code.
import CLibXML2
import CWMPClient

public enum CodecWorkloads {
    /// The baseline: libxml2 parses the bytes into a DOM and frees it.
    public static func domParse(_ bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { chars in
                let document = xmlReadMemory(chars.baseAddress, Int32(chars.count), nil, nil,
                                             Int32(XML_PARSE_NONET.rawValue))
                precondition(document != nil, "the fixture must parse")
                xmlFreeDoc(document)
            }
        }
    }

    /// Decode of a complete buffer (CWMPDecoder's pull-mode path).
    public static func decodeBuffer(_ bytes: [UInt8]) throws -> CWMPEnvelope {
        try CWMPDecoder().decode(bytes)
    }

    /// Decode as an HTTP body arrives: 64 KiB chunks through the push parser.
    public static func decodeChunked(_ bytes: [UInt8], chunkSize: Int = 65_536) throws -> CWMPEnvelope {
        let parser = CWMPDecoder().makeParser()
        var offset = 0
        while offset < bytes.count {
            let end = min(offset + chunkSize, bytes.count)
            try parser.feed(bytes[offset..<end])
            offset = end
        }
        return try parser.finish().get()
    }

    public static func encode(_ envelope: CWMPEnvelope) throws -> [UInt8] {
        try CWMPEncoder().encode(envelope)
    }

    /// The fixture decoded once, checked, for the encode workload.
    public static func decodedFixture() -> CWMPEnvelope {
        let bytes = GetParameterValuesResponseFixture.bytes
        guard let envelope = try? decodeBuffer(bytes),
              case .getParameterValuesResponse(let response) = envelope.message,
              response.parameterList.count == GetParameterValuesResponseFixture.parameterCount else {
            fatalError("the fixture must decode into \(GetParameterValuesResponseFixture.parameterCount) parameters")
        }
        return envelope
    }
}
