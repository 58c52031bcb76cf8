// The parts of the agent store added with schema version 5: the instance map (which provider row each CWMP
// instance number names) and the CPE requests an agent owes its ACS. In a file of their own so that the core of
// AgentStore (events, the hot path) stays as it is; they run inside the same `apply` transactions.
//
// What is persisted per agent and table (the table path includes the parent's instance numbers,
// `Device.IP.Interface.3.IPv4Address.`):
// * `instance_counters` (version 2): the next instance number. It never decreases (a trigger enforces it), so a
//   number is never handed out twice, not after a DeleteObject, not after a restart;
// * `instance_keys` (version 5): provider key → instance number, for the instances the provider lists now;
// * `instance_aliases` (version 2): the Alias of each instance, whether the ACS or the provider gave it.
// With the three, the engine restores at start exactly the numbering it had: a provider row that is still there
// keeps its number and Alias, a row under a new key gets a fresh number.
internal import SQLiteNIO

extension AgentStore {
    func executeInstanceOrRequestChange(_ change: AgentChange, agent: SQLiteData,
                                        into applied: inout AppliedChanges) async throws(ProxierError) {
        switch change {
        case .setInstanceKey(let mapping):
            // One statement per new instance (a first listing of a large SNMP table is thousands of them). REPLACE
            // deletes whatever row conflicts on either key: the instance's old key (an instance keeps its number
            // for life, so only a repair changes it) or the key's old instance (the provider reused a key after
            // its row vanished; the engine removed that instance in the same batch anyway).
            try await query("""
                INSERT OR REPLACE INTO instance_keys (agent_id, table_path, instance, provider_key) VALUES (?, ?, ?, ?)
                """, [agent, .text(mapping.table), .integer(SQLiteInt64(mapping.instance)), .text(mapping.key)])

        case .removeInstance(let table, let instance):
            let number = SQLiteData.integer(SQLiteInt64(instance))
            try await query("DELETE FROM instance_keys WHERE agent_id = ? AND table_path = ? AND instance = ?",
                            [agent, .text(table), number])
            try await query("DELETE FROM instance_aliases WHERE agent_id = ? AND table_path = ? AND instance = ?",
                            [agent, .text(table), number])
            // Tables below the instance (`Device.T.3.Sub.`): the half-open range ["…3.", "…3/") is that prefix
            // ('/' follows '.'), as in `removeSubtree`.
            let objectPath = table + String(instance) + "."
            let range: [SQLiteData] = [agent, .text(objectPath), .text(String(objectPath.dropLast()) + "/")]
            for statement in [
                "DELETE FROM instance_keys WHERE agent_id = ? AND table_path >= ? AND table_path < ?",
                "DELETE FROM instance_aliases WHERE agent_id = ? AND table_path >= ? AND table_path < ?",
                "DELETE FROM instance_counters WHERE agent_id = ? AND table_path >= ? AND table_path < ?",
            ] {
                try await query(statement, range)
            }

        case .addRequest(let request):
            let rows = try await query("""
                INSERT INTO pending_requests (agent_id, method, envelope, transfer_id) VALUES (?, ?, ?, ?)
                RETURNING id
                """, [agent, .text(request.method), .text(request.envelope),
                      request.transferID.map { .integer(SQLiteInt64($0)) } ?? .null])
            guard rows.count == 1, case .integer(let id)? = rows[0].column("id") else {
                throw ProxierError(.storeFailure, "storing a CPE request returned no id")
            }
            applied.requestIDs.append(Int64(id))

        case .removeRequest(let id):
            let rows = try await query("DELETE FROM pending_requests WHERE id = ? AND agent_id = ? RETURNING transfer_id",
                                       [.integer(SQLiteInt64(id)), agent])
            // The transfer's outcome was what the request reported: once the ACS has it, the transfer is done.
            if case .integer(let transferID)? = rows.first?.column("transfer_id") {
                try await query("DELETE FROM pending_transfers WHERE id = ? AND agent_id = ?",
                                [.integer(transferID), agent])
            }

        default:
            preconditionFailure("\(change) is executed by AgentStore.execute")
        }
    }

    static func validateInstanceOrRequestChange(_ change: AgentChange) throws(ProxierError) {
        switch change {
        case .setInstanceKey(let mapping):
            guard mapping.table.hasSuffix("."), mapping.instance >= 1 else {
                throw ProxierError(.invalidValue, "invalid instance \(mapping.table)\(mapping.instance)")
            }
        case .removeInstance(let table, let instance):
            guard table.hasSuffix("."), instance >= 1 else {
                throw ProxierError(.invalidValue, "invalid instance \(table)\(instance)")
            }
        case .addRequest(let request):
            guard (1...64).contains(request.method.utf8.count), !request.envelope.isEmpty else {
                throw ProxierError(.invalidValue, "a CPE request needs a method name and an envelope")
            }
        default:
            break
        }
    }

    /// Adds the instance keys and pending requests to snapshots loaded by `loadSnapshots` (one query per table).
    func loadInstanceKeysAndRequests(into snapshots: inout [String: AgentSnapshot], filter: String,
                                     binds: [SQLiteData]) async throws(ProxierError) {
        for row in try await query("""
            SELECT agent_id, table_path, instance, provider_key FROM instance_keys \(filter)
            ORDER BY agent_id, table_path, instance
            """, binds) {
            guard case .text(let agentID)? = row.column("agent_id"), case .text(let table)? = row.column("table_path"),
                  case .integer(let instance)? = row.column("instance"), let number = UInt32(exactly: instance),
                  case .text(let key)? = row.column("provider_key") else {
                throw ProxierError(.storeFailure, "an instance_keys row has unexpected columns")
            }
            snapshots[agentID]?.instanceKeys.append(InstanceKey(table: table, instance: number, key: key))
        }
        for row in try await query(
            "SELECT agent_id, id, method, envelope, transfer_id FROM pending_requests \(filter) ORDER BY agent_id, id",
            binds) {
            guard case .text(let agentID)? = row.column("agent_id"), case .integer(let id)? = row.column("id"),
                  case .text(let method)? = row.column("method"), case .text(let envelope)? = row.column("envelope")
            else {
                throw ProxierError(.storeFailure, "a pending_requests row has unexpected columns")
            }
            var transferID: Int64? = nil
            if case .integer(let value)? = row.column("transfer_id") { transferID = Int64(value) }
            snapshots[agentID]?.requests.append(StoredCPERequest(
                id: Int64(id), request: PendingCPERequest(method: method, envelope: envelope, transferID: transferID)))
        }
    }
}
