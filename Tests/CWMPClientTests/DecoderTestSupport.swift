// Shared helpers of the decoder tests: fixtures from the bundle, the perl-cwmp captures from ../shared,
// and a compact SOAP wrapper for hand-written bodies.
import Foundation
import Testing
@testable import CWMPClient

enum Fixture {
    /// A file under Tests/CWMPClientTests/Fixtures (copied into the test bundle).
    static func bytes(_ path: String) throws -> [UInt8] {
        let url = try #require(Bundle.module.url(forResource: "Fixtures/" + path, withExtension: nil),
                               "missing fixture \(path)")
        return [UInt8](try Data(contentsOf: url))
    }

    /// The perl-cwmp captures stay in ../shared (GPL test data, not copied into the repository).
    static let perlCWMPDirectory: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("../shared/data/captures/perl-cwmp").standardizedFileURL

    static var perlCWMPAvailable: Bool {
        FileManager.default.fileExists(atPath: perlCWMPDirectory.path)
    }

    /// A perl-cwmp capture; the `dump_*` files start with the HTTP request head, which is cut off.
    static func perlCWMP(_ name: String) throws -> [UInt8] {
        let bytes = [UInt8](try Data(contentsOf: perlCWMPDirectory.appendingPathComponent(name)))
        guard bytes.starts(with: Array("POST ".utf8)) else { return bytes }
        for index in bytes.indices.dropLast(1) where bytes[index] == 0x0A {
            // The head ends at the first empty line (CRLF CRLF or LF LF).
            let next = bytes[index + 1] == 0x0D ? index + 2 : index + 1
            if next < bytes.count, bytes[next] == 0x0A { return Array(bytes[(next + 1)...]) }
        }
        return bytes
    }
}

/// Wraps a header and a body in a SOAP 1.1 envelope with the usual declarations.
func soap(_ body: String, header: String = "<cwmp:ID soapenv:mustUnderstand=\"1\">1</cwmp:ID>",
          namespace: String = "urn:dslforum-org:cwmp-1-2") -> [UInt8] {
    Array("""
    <?xml version="1.0" encoding="UTF-8"?>
    <soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" \
    xmlns:soapenc="http://schemas.xmlsoap.org/soap/encoding/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" \
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:cwmp="\(namespace)">
    <soapenv:Header>\(header)</soapenv:Header>
    <soapenv:Body>\(body)</soapenv:Body>
    </soapenv:Envelope>
    """.utf8)
}

/// Decodes and returns the failure, recording an issue when decoding unexpectedly succeeds.
func decodeFailure(_ bytes: [UInt8], _ decoder: CWMPDecoder = CWMPDecoder(),
                   sourceLocation: SourceLocation = #_sourceLocation) -> CWMPDecodingFailure? {
    switch decoder.decodeOutcome(bytes) {
    case .envelope(let envelope):
        Issue.record("decoded unexpectedly: \(envelope.message)", sourceLocation: sourceLocation)
        return nil
    case .failure(let failure):
        return failure
    }
}
