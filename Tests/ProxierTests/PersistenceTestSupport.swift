import Foundation
import Testing
@testable import Proxier

/// A fresh state directory under the system temporary directory; removed by `withTemporaryStateDirectory`.
func makeTemporaryStateDirectory() throws -> String {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("cwmp-proxy-store-\(UUID().uuidString)", isDirectory: true)
    return url.path
}

@discardableResult
func withTemporaryStateDirectory<T>(_ body: (String) async throws -> T) async throws -> T {
    let directory = try makeTemporaryStateDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    return try await body(directory)
}

/// Opens a store in `directory`, runs `body`, and closes the store whatever happens.
@discardableResult
func withStore<T>(in directory: String, durability: AgentStore.Durability = .processCrash,
                  _ body: (AgentStore) async throws -> T) async throws -> T {
    let store = try await AgentStore.open(directory: directory, durability: durability)
    do {
        let result = try await body(store)
        try await store.close()
        return result
    } catch {
        try? await store.close()
        throw error
    }
}

/// Expects `body` to throw a `ProxierError` with `code`.
func expectProxierError(_ code: ProxierError.ErrorCode, sourceLocation: SourceLocation = #_sourceLocation,
                        _ body: () async throws -> Void) async {
    do {
        try await body()
        Issue.record("expected ProxierError.\(code), nothing was thrown", sourceLocation: sourceLocation)
    } catch let error as ProxierError {
        #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected ProxierError.\(code), got \(error)", sourceLocation: sourceLocation)
    }
}
