// Entry point; what is measured and how: Benchmark.swift.
#if canImport(Glibc)
import Glibc
#endif

do {
    try await run()
} catch {
    print("error: \(error)")
    stopPeers()
    if !options.keepDirectory { removeTree(directory) } else { print("kept \(directory)") }
    exit(1)
}
stopPeers()
if !options.keepDirectory { removeTree(directory) } else { print("kept \(directory)") }
exit(0)
