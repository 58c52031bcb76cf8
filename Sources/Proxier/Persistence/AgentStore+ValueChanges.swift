// The part of the agent store added with schema version 6: the pending value changes and the scheduled informs
// (ScheduleInform requests not yet due) of each agent.
//
// TR-069 (XSD notification values 1 and 2, cwmp-1-x.xsd ✔): a parameter with passive notification that changed MUST
// be in the ParameterList of the next Inform, one with active notification MUST start a session and be in its
// Inform. Until an InformResponse acknowledges that Inform, the change is owed to the ACS, so it is kept here in the
// transactions that also keep the events: a `kill -9` between the change and the acknowledgment loses none. Only the
// path (and its notification) is stored, not the value: the Inform reports the value the parameter has when the
// Inform is built, as it does for a change it sees in memory.
internal import SQLiteNIO

extension AgentStore {
    func executeValueChange(_ change: AgentChange, agent: SQLiteData) async throws(ProxierError) {
        switch change {
        case .setValueChange(let path, let notification):
            try await query("""
                INSERT INTO pending_value_changes (agent_id, path, notification) VALUES (?, ?, ?)
                ON CONFLICT (agent_id, path) DO UPDATE SET notification = excluded.notification
                """, [agent, .text(path), .integer(SQLiteInt64(notification))])

        case .removeValueChange(let path):
            try await query("DELETE FROM pending_value_changes WHERE agent_id = ? AND path = ?", [agent, .text(path)])

        case .addScheduledInform(let item):
            try await query("INSERT INTO scheduled_informs (agent_id, due_ms, command_key) VALUES (?, ?, ?)",
                            [agent, .integer(SQLiteInt64(item.dueMilliseconds)), .text(item.commandKey)])

        case .removeScheduledInform(let item):
            // Equal rows are interchangeable: the oldest goes.
            try await query("""
                DELETE FROM scheduled_informs WHERE id = (
                    SELECT id FROM scheduled_informs WHERE agent_id = ? AND due_ms = ? AND command_key = ?
                    ORDER BY id LIMIT 1)
                """, [agent, .integer(SQLiteInt64(item.dueMilliseconds)), .text(item.commandKey)])

        default:
            preconditionFailure("\(change) is executed by AgentStore.execute")
        }
    }

    /// Adds the pending value changes to snapshots loaded by `loadSnapshots`.
    func loadValueChanges(into snapshots: inout [String: AgentSnapshot], filter: String,
                          binds: [SQLiteData]) async throws(ProxierError) {
        for row in try await query("SELECT agent_id, path, notification FROM pending_value_changes \(filter)", binds) {
            guard case .text(let agentID)? = row.column("agent_id"), case .text(let path)? = row.column("path"),
                  case .integer(let notification)? = row.column("notification") else {
                throw ProxierError(.storeFailure, "a pending_value_changes row has unexpected columns")
            }
            snapshots[agentID]?.pendingValueChanges[path] = Int(notification)
        }
        for row in try await query(
            "SELECT agent_id, due_ms, command_key FROM scheduled_informs \(filter) ORDER BY agent_id, id", binds) {
            guard case .text(let agentID)? = row.column("agent_id"), case .integer(let due)? = row.column("due_ms"),
                  case .text(let commandKey)? = row.column("command_key") else {
                throw ProxierError(.storeFailure, "a scheduled_informs row has unexpected columns")
            }
            snapshots[agentID]?.scheduledInforms.append(StoredScheduledInform(dueMilliseconds: Int64(due),
                                                                              commandKey: commandKey))
        }
    }
}
