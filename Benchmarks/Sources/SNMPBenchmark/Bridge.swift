// The measured side: the proxier's SNMP client (SNMPManager / SNMPAgentSession) used as the proxier uses it, from
// tasks on Swift's global concurrent executor (these functions are nonisolated, so they do not run on the main
// actor, whose hops would be this harness's cost, not the bridge's).
import Proxier
import SNMPBridge

// Each function takes the task executor the measured tasks prefer: nil for none (the proxier's default: tasks on
// the global concurrent executor), or `SNMPManager.ioExecutor` (the tasks run on the SNMP I/O thread itself).

/// `count` GETs of `oid`, each awaited before the next. Returns how many came back with one varbind.
func bridgeSequentialGETs(_ session: SNMPAgentSession, _ oid: SNMPObjectIdentifier, count: Int,
                          executor: (any TaskExecutor)? = nil) async throws -> Int {
    try await withTaskExecutorPreference(executor) {
        var answered = 0
        for _ in 0..<count where try await session.get([oid]).count == 1 { answered += 1 }
        return answered
    }
}

/// A walk of `root`; its row count.
func bridgeWalk(_ session: SNMPAgentSession, _ root: SNMPObjectIdentifier, executor: (any TaskExecutor)? = nil)
    async throws -> Int {
    try await withTaskExecutorPreference(executor) { try await session.walk(root).count }
}

/// Every session runs `count` sequential GETs, all sessions at once. Returns (answered, failed sessions).
func bridgeConcurrentGETs(_ sessions: [SNMPAgentSession], _ oid: SNMPObjectIdentifier, count: Int,
                          executor: (any TaskExecutor)? = nil) async -> (answered: Int, failures: Int) {
    await withTaskGroup(of: (Int, Bool).self) { group in
        for session in sessions {
            group.addTask(executorPreference: executor) {
                var answered = 0
                do {
                    for _ in 0..<count where try await session.get([oid]).count == 1 { answered += 1 }
                    return (answered, answered != count)
                } catch {
                    return (answered, true)
                }
            }
        }
        var total = (answered: 0, failures: 0)
        for await (answered, failed) in group {
            total.answered += answered
            if failed { total.failures += 1 }
        }
        return total
    }
}

/// Every session walks `root`, all at once. Returns (rows, failed sessions, the first error seen).
func bridgeConcurrentWalks(_ sessions: [SNMPAgentSession], _ root: SNMPObjectIdentifier,
                           executor: (any TaskExecutor)? = nil) async -> (rows: Int, failures: Int, firstError: String?) {
    await withTaskGroup(of: Result<Int, any Error>.self) { group in
        for session in sessions {
            group.addTask(executorPreference: executor) {
                do { return .success(try await session.walk(root).count) } catch { return .failure(error) }
            }
        }
        var total: (rows: Int, failures: Int, firstError: String?) = (0, 0, nil)
        for await result in group {
            switch result {
            case .success(let rows):
                total.rows += rows
                if rows == 0 { total.failures += 1 }
            case .failure(let error):
                total.failures += 1
                if total.firstError == nil { total.firstError = "\(error)" }
            }
        }
        return total
    }
}

/// One line of an .snmprec file (snmpsim's `OID|TAG|VALUE`) for a walked varbind; nil for exceptions.
func snmprecLine(_ varBind: SNMPVarBind) -> String? {
    func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef")
        var text = ""
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0xF)])
        }
        return text
    }
    let oid = varBind.oid.description
    switch varBind.value {
    case .integer(let value): return "\(oid)|2|\(value)"
    case .octetString(let bytes): return bytes.isEmpty ? "\(oid)|4|" : "\(oid)|4x|\(hex(bytes))"
    case .null: return "\(oid)|5|"
    case .objectIdentifier(let value): return "\(oid)|6|\(value)"
    case .ipAddress(let bytes) where bytes.count == 4: return "\(oid)|64|\(bytes.map(String.init).joined(separator: "."))"
    case .counter32(let value): return "\(oid)|65|\(value)"
    case .gauge32(let value): return "\(oid)|66|\(value)"
    case .timeTicks(let value): return "\(oid)|67|\(value)"
    case .opaque(let bytes): return bytes.isEmpty ? nil : "\(oid)|68x|\(hex(bytes))"
    case .counter64(let value): return "\(oid)|70|\(value)"
    case .ipAddress, .noSuchObject, .noSuchInstance, .endOfMibView: return nil
    }
}

// The provider path: SNMPProfileProvider as an RPC uses it (one `values(of:)` per GetParameterValues).

/// A session whose preferred executor is hidden: the provider then issues its requests from the cooperative pool,
/// as it did before it ran its request glue on the SNMP I/O thread (the same-run "before" of the provider path).
struct NoPreferenceSession: SNMPQuerying {
    let session: SNMPAgentSession
    func get(_ oids: [SNMPObjectIdentifier]) async throws -> [SNMPVarBind] { try await session.get(oids) }
    func getNext(_ oids: [SNMPObjectIdentifier]) async throws -> [SNMPVarBind] { try await session.getNext(oids) }
    func getBulk(_ oids: [SNMPObjectIdentifier], nonRepeaters: Int, maxRepetitions: Int) async throws -> [SNMPVarBind] {
        try await session.getBulk(oids, nonRepeaters: nonRepeaters, maxRepetitions: maxRepetitions)
    }
    func walk(_ root: SNMPObjectIdentifier) async throws -> [SNMPVarBind] { try await session.walk(root) }
    func set(_ varBinds: [SNMPVarBind]) async throws -> [SNMPVarBind] { try await session.set(varBinds) }
}

/// `count` GetParameterValues-shaped reads of `paths`, each awaited before the next, from a task on the global
/// concurrent executor (as the CWMP session's task calls the provider). Returns how many came back complete.
func providerSequentialReads(_ provider: SNMPProfileProvider, _ paths: [ProviderPath], count: Int) async throws -> Int {
    var answered = 0
    for _ in 0..<count where try await provider.values(of: paths).allSatisfy({ !$0.isEmpty }) { answered += 1 }
    return answered
}
