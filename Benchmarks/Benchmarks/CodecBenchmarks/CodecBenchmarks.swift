import Benchmark
import CLibXML2
import CWMPClient

// Decode and encode of a ~1 MiB GetParameterValuesResponse, next to the baseline they are judged against:
// libxml2 parsing the same bytes into a DOM and freeing it. Benchmarks/report-ratios turns one run's results
// into the ratios the project reports (baseline time / measured time; ≥ 1.0 means at least as fast).
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        maxDuration: .seconds(3),
        maxIterations: 400
    )
    xmlInitParser()
    let bytes = GetParameterValuesResponseFixture.bytes

    Benchmark("Baseline: libxml2 DOM parse (xmlReadMemory + xmlFreeDoc)") { benchmark in
        for _ in benchmark.scaledIterations {
            bytes.withUnsafeBufferPointer { buffer in
                buffer.withMemoryRebound(to: CChar.self) { chars in
                    let document = xmlReadMemory(chars.baseAddress, Int32(chars.count), nil, nil,
                                                 Int32(XML_PARSE_NONET.rawValue))
                    precondition(document != nil, "the fixture must parse")
                    xmlFreeDoc(document)
                }
            }
        }
    }

    // The decoded envelope the encode benchmark writes back; decoding it here also checks the fixture.
    let envelope = try! CWMPDecoder().decode(bytes)
    guard case .getParameterValuesResponse(let response) = envelope.message,
          response.parameterList.count == GetParameterValuesResponseFixture.parameterCount else {
        fatalError("the fixture must decode into \(GetParameterValuesResponseFixture.parameterCount) parameters")
    }

    Benchmark("Decode: CWMPDecoder, complete buffer") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try CWMPDecoder().decode(bytes))
        }
    }

    Benchmark("Decode: CWMPEnvelopeParser, 64 KiB chunks") { benchmark in
        for _ in benchmark.scaledIterations {
            let parser = CWMPDecoder().makeParser()
            var offset = 0
            while offset < bytes.count {
                let end = min(offset + 65_536, bytes.count)
                try parser.feed(bytes[offset..<end])
                offset = end
            }
            blackHole(try parser.finish().get())
        }
    }

    Benchmark("Encode: CWMPEncoder") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try CWMPEncoder().encode(envelope))
        }
    }
}
