// Entry point; what is measured and how: Benchmark.swift.
#if canImport(Glibc)
import Glibc
#endif

do {
    try await run()
} catch {
    print("error: \(error)")
    stopPeers()
    removeTree(directory)
    exit(1)
}
stopPeers()
removeTree(directory)
exit(0)
