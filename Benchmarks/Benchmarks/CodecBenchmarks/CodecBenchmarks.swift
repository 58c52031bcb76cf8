import Benchmark
import CWMPClient

let benchmarks: @Sendable () -> Void = {
    Benchmark("placeholder") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(CWMPVersion.v1_4.namespace) }
    }
}
