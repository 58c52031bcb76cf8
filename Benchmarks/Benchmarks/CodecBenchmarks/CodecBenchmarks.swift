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
}
