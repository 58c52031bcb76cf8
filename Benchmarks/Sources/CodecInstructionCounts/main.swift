// The instruction-count harness: runs one codec workload under `valgrind --tool=callgrind`, which counts the
// instructions executed inside `measuredRegion` only (--toggle-collect). Instruction counts do not move with
// machine load, unlike wall-clock time on a busy CI box; Benchmarks/report-ratios runs this for each workload
// and divides like it does for clock times.
//
//   CodecInstructionCounts bytes                         prints the fixture's size in bytes
//   CodecInstructionCounts baseline|decode|chunked|encode [iterations]
import CodecFixture
import CWMPClient
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Everything callgrind counts happens below this frame. Not inlined, so the symbol exists to toggle on.
@inline(never)
func measuredRegion(iterations: Int, _ body: () throws -> Void) rethrows {
    for _ in 0..<iterations { try body() }
}

/// Keeps a result alive without the optimizer seeing through it.
@inline(never)
func consume<T>(_ value: T) { withExtendedLifetime(value) {} }

let arguments = CommandLine.arguments.dropFirst()
guard let workload = arguments.first else {
    print("usage: CodecInstructionCounts bytes | baseline|decode|chunked|encode [iterations]")
    exit(2)
}
let iterations = arguments.dropFirst().first.flatMap { Int($0) } ?? 3
let bytes = GetParameterValuesResponseFixture.bytes

let body: () throws -> Void
switch workload {
case "bytes":
    print(bytes.count)
    exit(0)
case "baseline":
    body = { CodecWorkloads.domParse(bytes) }
case "decode":
    body = { consume(try CodecWorkloads.decodeBuffer(bytes)) }
case "chunked":
    body = { consume(try CodecWorkloads.decodeChunked(bytes)) }
case "encode":
    let envelope = CodecWorkloads.decodedFixture()
    body = { consume(try CodecWorkloads.encode(envelope)) }
default:
    print("unknown workload \(workload)")
    exit(2)
}
// One untimed run first: lazy initialisation (libxml2's globals, the runtime's metadata) is not per-envelope cost.
try body()
try measuredRegion(iterations: iterations, body)
print("\(workload) iterations=\(iterations)")
