import Benchmark
import CLibXML2
import CodecFixture
import CWMPClient

// Decode and encode of a ~1 MiB GetParameterValuesResponse, next to the baseline they are judged against:
// libxml2 parsing the same bytes into a DOM and freeing it. Benchmarks/report-ratios turns one run's results
// into the ratios the project reports (baseline time / measured time; ≥ 1.0 means at least as fast).
// The workloads themselves live in CodecFixture, shared with the callgrind harness (CodecInstructionCounts).
//
// Committed thresholds (Thresholds/) cover mallocCountTotal only: it is deterministic, so a 2 % band catches a
// new per-element allocation on any machine. Wall-clock is reported, never gated: on a loaded 2-core CI box it
// moves by tens of percent between runs.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        maxDuration: .seconds(3),
        maxIterations: 400,
        thresholds: [.mallocCountTotal: .init(relative: [.p90: 2.0])]
    )
    xmlInitParser()
    let bytes = GetParameterValuesResponseFixture.bytes

    // Names have no spaces or slashes: package-benchmark 1.38 writes threshold files with those replaced by `_`
    // but looks them up by the raw name, so `thresholds check` would never find them.
    // The fixture's size is part of the name so that report-ratios can compute MB/s from the results alone.
    Benchmark("Baseline-libxml2-DOM-parse-xmlReadMemory+xmlFreeDoc-of-\(bytes.count)-bytes") { benchmark in
        for _ in benchmark.scaledIterations {
            CodecWorkloads.domParse(bytes)
        }
    }

    // The decoded envelope the encode benchmark writes back; decoding it here also checks the fixture.
    let envelope = CodecWorkloads.decodedFixture()

    Benchmark("Decode-CWMPDecoder-complete-buffer") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try CodecWorkloads.decodeBuffer(bytes))
        }
    }

    Benchmark("Decode-CWMPEnvelopeParser-64KiB-chunks") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try CodecWorkloads.decodeChunked(bytes))
        }
    }

    Benchmark("Encode-CWMPEncoder") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try CodecWorkloads.encode(envelope))
        }
    }
}
