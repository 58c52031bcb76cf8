// One SNMP agent as a TR-181 provider, driven by its selected profiles.
//
// Batching: each provider call lists every table it needs once (one walk per column, cached for the call only,
// since agents change between RPCs), reads all instance values in as few GET PDUs as the PDU size allows, and
// writes all values of a SetParameterValues in one SET PDU, which SNMP applies all-or-nothing (RFC 3416 §4.2.5).
//
// Instance keys: the engine numbers instances; this provider only hands it a stable key per row. A row's key comes
// from the table's key columns (`ifName=eth0`, then `ifPhysAddress=…`), so an agent that renumbers ifIndex keeps
// the same TR-181 instance; tables without usable key columns fall back to the index (`index=3`).
import CWMPClient
import Logging
import Proxier

public actor SNMPProfileProvider: DataModelProvider {
    /// sysUpTime.0, the agent's clock for counter accumulation.
    static let sysUpTime = SNMPObjectIdentifier([1, 3, 6, 1, 2, 1, 1, 3, 0])

    public nonisolated let agentID: String
    private let client: any SNMPQuerying
    private let logger: Logger
    private let maxVarBindsPerRequest: Int
    private let onReachabilityChange: (@Sendable (_ online: Bool) -> Void)?

    private let scalars: [String: CompiledSNMPMapping]
    private let computedScalars: [String: CompiledSNMPComputed]
    /// By object template (`Device.Ethernet.Interface.{i}.`).
    private let tables: [String: CompiledSNMPTable]
    /// Column mappings and table-level computed values by parameter template, with their table's object template.
    private let columns: [String: (table: String, mapping: CompiledSNMPMapping)]
    private let computedColumns: [String: (table: String, computed: CompiledSNMPComputed)]

    private var counters = SNMPCounterAccumulator()
    /// The client's preferred executor (the SNMP I/O thread for a real session), for callers that run a sequence
    /// of this provider's calls near the agent (Traps/SNMPTrapReaction).
    nonisolated var preferredExecutor: (any TaskExecutor)? { client.preferredExecutor }
    /// Whether the last exchange with the agent timed out (the registry shows the device offline).
    public private(set) var isOffline = false

    /// Serves `profiles` (highest priority first: the first mapping of a parameter wins) from `client`.
    public init(client: any SNMPQuerying, profiles: [CompiledSNMPProfile], agentID: String,
                maxVarBindsPerRequest: Int = 32, logger: Logger = Logger(label: "cwmp-proxy.snmp"),
                onReachabilityChange: (@Sendable (_ online: Bool) -> Void)? = nil) {
        self.client = client
        self.agentID = agentID
        self.maxVarBindsPerRequest = max(1, maxVarBindsPerRequest)
        self.onReachabilityChange = onReachabilityChange
        var logger = logger
        logger[metadataKey: "snmp.agent"] = "\(agentID)"
        self.logger = logger
        var scalars: [String: CompiledSNMPMapping] = [:]
        var computedScalars: [String: CompiledSNMPComputed] = [:]
        var tables: [String: CompiledSNMPTable] = [:]
        var columns: [String: (table: String, mapping: CompiledSNMPMapping)] = [:]
        var computedColumns: [String: (table: String, computed: CompiledSNMPComputed)] = [:]
        var taken: Set<String> = []
        for profile in profiles {
            for mapping in profile.scalars where taken.insert(mapping.parameter).inserted { scalars[mapping.parameter] = mapping }
            for value in profile.computed where taken.insert(value.parameter).inserted { computedScalars[value.parameter] = value }
            for table in profile.tables {
                if tables[table.object] == nil { tables[table.object] = table }
                // Columns of a table another profile already owns would address rows by other keys: skip them.
                guard tables[table.object] == table else { continue }
                for mapping in table.columns where taken.insert(mapping.parameter).inserted { columns[mapping.parameter] = (table.object, mapping) }
                for value in table.computed where taken.insert(value.parameter).inserted { computedColumns[value.parameter] = (table.object, value) }
            }
        }
        self.scalars = scalars
        self.computedScalars = computedScalars
        self.tables = tables
        self.columns = columns
        self.computedColumns = computedColumns
    }

    /// Every parameter template the profiles map.
    public func mappedParameters() -> Set<String> {
        Set(scalars.keys).union(computedScalars.keys).union(columns.keys).union(computedColumns.keys)
    }

    /// The mapped parameters the agent actually has: scalars whose object (or fallback) answers a GET, columns
    /// whose column (or fallback) has at least one row. Feed it to `DataModelSchema.restricted(to:)`.
    public func probeSupportedParameters() async throws -> Set<String> {
        try await nearTheAgent { try await probeSupportedParametersNearTheAgent() }
    }

    private func probeSupportedParametersNearTheAgent() async throws -> Set<String> {
        var supported: Set<String> = []
        var scalarOIDs: [SNMPObjectIdentifier] = []
        for mapping in scalars.values where mapping.select == nil {
            scalarOIDs += [mapping.oid, mapping.fallbackOID].compactMap { $0 }
        }
        for value in computedScalars.values where value.over == nil { scalarOIDs += value.terms.map(\.oid) }
        let got = try await getAll(Array(Set(scalarOIDs)))
        func present(_ oid: SNMPObjectIdentifier?) -> Bool { oid.map { got[$0].map { !$0.isException } ?? false } ?? false }
        for (template, mapping) in scalars {
            if mapping.select != nil {
                if let column = mapping.oid, try await columnHasRows(column) { supported.insert(template) }
            } else if present(mapping.oid) || present(mapping.fallbackOID) {
                supported.insert(template)
            }
        }
        for (template, value) in computedScalars {
            if let over = value.over {
                if try await columnHasRows(over.indexColumn) { supported.insert(template) }
            } else if value.terms.contains(where: { present($0.oid) }) {
                supported.insert(template)
            }
        }
        for (template, entry) in columns {
            if entry.mapping.oid == nil {
                supported.insert(template)
            } else if let oid = entry.mapping.oid, try await columnHasRows(oid) {
                supported.insert(template)
            } else if let fallback = entry.mapping.fallbackOID, try await columnHasRows(fallback) {
                supported.insert(template)
            }
        }
        for (template, entry) in computedColumns {
            for term in entry.computed.terms {
                if try await columnHasRows(term.oid) { supported.insert(template); break }
                if let fallback = term.fallbackOID, try await columnHasRows(fallback) { supported.insert(template); break }
            }
        }
        return supported
    }

    private func columnHasRows(_ column: SNMPObjectIdentifier) async throws -> Bool {
        let next = try await exchange { try await self.client.getNext([column]) }
        guard let first = next.first else { return false }
        return column.isPrefix(of: first.oid) && first.oid != column && !first.value.isException
    }

    // MARK: DataModelProvider

    public func instances(of tablePaths: [ProviderPath]) async throws -> [[ProviderInstance]] {
        try await nearTheAgent { try await instancesNearTheAgent(of: tablePaths) }
    }

    private func instancesNearTheAgent(of tablePaths: [ProviderPath]) async throws -> [[ProviderInstance]] {
        var cache = WalkCache()
        var result: [[ProviderInstance]] = []
        for path in tablePaths {
            guard let table = tables[path.template + "{i}."] else {
                throw SNMPBridgeError(.unknownInstance, "no profile maps the table \(path.template)")
            }
            let rows = try await rows(of: table, parentKeys: path.instanceKeys, cache: &cache)
            result.append(rows.map { ProviderInstance(key: $0.key) })
        }
        return result
    }

    public func values(of parameters: [ProviderPath]) async throws -> [String] {
        var cache = WalkCache()
        // The requests (table walks for the plans, the GETs) run near the agent; turning the varbinds into
        // TR-181 strings (below) runs after leaving the I/O thread, so a large GetParameterValues' conversions
        // do not hold up other agents' I/O.
        let (plans, got) = try await nearTheAgent { try await read(parameters, cache: &cache) }
        return try await convert(parameters, plans: plans, got: got, cache: &cache)
    }

    /// The plan of every parameter and every value its plan reads (fallbacks included).
    private func read(_ parameters: [ProviderPath], cache: inout WalkCache) async throws
        -> (plans: [Plan], got: [SNMPObjectIdentifier: SNMPValue]) {
        var plans: [Plan] = []
        plans.reserveCapacity(parameters.count)
        for path in parameters { plans.append(try await plan(path, cache: &cache)) }

        // Every instance OID any plan reads, in one batch of GETs (plus sysUpTime when counters are involved).
        var wanted: [SNMPObjectIdentifier] = []
        var needsUpTime = false
        for plan in plans {
            switch plan {
            case .mapping(let mapping, let oid?, _):
                wanted.append(oid)
                if case .counter64 = mapping.conversion { needsUpTime = true }
            case .computed(let computed, let row?):
                wanted += computed.terms.map { $0.instance(row) } + computed.factors.map { $0.appending(row) }
                if computed.terms.contains(where: \.accumulate) { needsUpTime = true }
            default: break
            }
        }
        if needsUpTime { wanted.append(Self.sysUpTime) }
        var got = try await getAll(unique(wanted))

        // Second round for objects the agent lacks but that have a fallback (ifHCInOctets → ifInOctets).
        var fallbacks: [SNMPObjectIdentifier] = []
        for plan in plans {
            switch plan {
            case .mapping(let mapping, let oid?, let row):
                if let fallback = mapping.fallbackOID, got[oid]?.isException ?? true {
                    fallbacks.append(mapping.select == nil && row.isEmpty ? fallback : fallback.appending(row))
                }
            case .computed(let computed, let row?):
                for term in computed.terms where got[term.instance(row)]?.isException ?? true {
                    if let fallback = term.fallbackInstance(row) { fallbacks.append(fallback) }
                }
            default: break
            }
        }
        if !fallbacks.isEmpty { got.merge(try await getAll(unique(fallbacks))) { $1 } }
        if needsUpTime, case .timeTicks(let ticks)? = got[Self.sysUpTime], counters.observeUpTime(ticks) {
            logger.info("SNMP agent restarted; counters continue from their totals", metadata: ["snmp.sysUpTime": "\(ticks)"])
        }
        return (plans, got)
    }

    private func convert(_ parameters: [ProviderPath], plans: [Plan], got: [SNMPObjectIdentifier: SNMPValue],
                         cache: inout WalkCache) async throws -> [String] {
        var values: [String] = []
        values.reserveCapacity(plans.count)
        for (path, plan) in zip(parameters, plans) {
            switch plan {
            case .index(let row, let schema):
                values.append(output(row.map(String.init).joined(separator: "."), schema: schema))
            case .missing(let schema):
                values.append(Self.missingValue(schema))
            case .mapping(let mapping, let oid?, let row):
                var conversion = mapping.conversion
                var oid = oid
                if let fallback = mapping.fallbackOID, got[oid]?.isException ?? true {
                    oid = mapping.select == nil && row.isEmpty ? fallback : fallback.appending(row)
                    conversion = mapping.fallbackConversion
                }
                values.append(convert(got[oid], oid: oid, conversion: conversion, schema: mapping.schema, path: path))
            case .mapping(let mapping, nil, _):
                values.append(Self.missingValue(mapping.schema))
            case .computed(let computed, let row?):
                let number = evaluate(computed, row: row) { got[$0] }
                values.append(number.map { output(String($0), schema: computed.schema) } ?? Self.missingValue(computed.schema))
            case .computed(let computed, nil):
                values.append(try await aggregate(computed, cache: &cache).map { output(String($0), schema: computed.schema) }
                              ?? Self.missingValue(computed.schema))
            }
        }
        return values
    }

    /// Every parameter of the rows with index `rowIndex` of the top-level tables indexed under one of `prefixes`
    /// (IF-MIB's ifEntry for a linkUp/linkDown of ifIndex N): what a notification about that row makes worth
    /// re-reading (Traps/SNMPTrapReaction).
    func parameters(ofRow rowIndex: [UInt32], indexedUnder prefixes: [SNMPObjectIdentifier]) async throws -> [ProviderPath] {
        try await nearTheAgent { try await parametersNearTheAgent(ofRow: rowIndex, indexedUnder: prefixes) }
    }

    private func parametersNearTheAgent(ofRow rowIndex: [UInt32], indexedUnder prefixes: [SNMPObjectIdentifier]) async throws -> [ProviderPath] {
        var cache = WalkCache()
        var result: [ProviderPath] = []
        for table in tables.values.sorted(by: { $0.object < $1.object })
        where table.parent == nil && prefixes.contains(where: { $0.isPrefix(of: table.indexColumn) }) {
            guard let row = try await rows(of: table, parentKeys: [], cache: &cache).first(where: { $0.index == rowIndex })
            else { continue }
            let templates = table.columns.map(\.parameter) + table.computed.map(\.parameter)
            result += templates.filter { columns[$0]?.table == table.object || computedColumns[$0]?.table == table.object }
                .map { ProviderPath(template: $0, instanceKeys: [row.key]) }
        }
        return result
    }

    public func setValues(_ values: [ProviderParameterValue]) async throws -> ApplyStatus {
        try await nearTheAgent { try await setValuesNearTheAgent(values) }
    }

    /// The engine calls this for every provider of a SetParameterValues that spans several providers (several
    /// agents, or an agent and the gateway's own objects) before any of them applies, so that a value one agent
    /// cannot take stops the whole RPC before another agent was SET. It runs the same checks and conversions as
    /// `setValues` (the row lookups may read the agent) and sends no SET. What SNMP cannot give is a rollback: an
    /// agent that refuses a SET after the others applied theirs leaves those applied (docs/snmp-profiles.md).
    public func validateValues(_ values: [ProviderParameterValue]) async throws {
        _ = try await nearTheAgent { try await setVarBinds(for: values) }
    }

    /// Each value's varbind (the writable column at its row, the value converted to the column's SET syntax) and
    /// the index of the value it came from; every value that fails is a `ProviderSetValuesError` entry.
    private func setVarBinds(for values: [ProviderParameterValue]) async throws
        -> (varBinds: [SNMPVarBind], valueIndexOfVarBind: [Int]) {
        var cache = WalkCache()
        var varBinds: [SNMPVarBind] = []
        var valueIndexOfVarBind: [Int] = []
        var entries: [ProviderSetValuesError.Entry] = []
        for (index, value) in values.enumerated() {
            do {
                let (mapping, row) = try await writableMapping(for: value.path, cache: &cache)
                guard let syntax = mapping.setSyntax, let column = mapping.oid else {
                    throw SNMPBridgeError(.notWritable, "\(value.path.template) is not writable on this agent")
                }
                let snmpValue = try mapping.conversion.snmpValue(from: value.value, syntax: syntax)
                varBinds.append(SNMPVarBind(oid: column.appending(row), value: snmpValue))
                valueIndexOfVarBind.append(index)
            } catch let error as SNMPBridgeError {
                entries.append(.init(index: index, faultCode: error.cwmpFault.code, reason: error.reason))
            }
        }
        guard entries.isEmpty else { throw ProviderSetValuesError(entries: entries) }
        return (varBinds, valueIndexOfVarBind)
    }

    private func setValuesNearTheAgent(_ values: [ProviderParameterValue]) async throws -> ApplyStatus {
        let (varBinds, valueIndexOfVarBind) = try await setVarBinds(for: values)
        guard !varBinds.isEmpty else { return .applied }
        let request = varBinds
        let response: [SNMPVarBind]
        do {
            response = try await exchange { try await self.client.set(request) }
        } catch let error as SNMPBridgeError where error.code == .pduError {
            // error-index is 1-based into our varbinds; 0 blames the whole request.
            if let errorIndex = error.pduErrorIndex, errorIndex >= 1, errorIndex <= varBinds.count {
                throw ProviderSetValuesError(entries: [.init(index: valueIndexOfVarBind[errorIndex - 1],
                                                             faultCode: error.cwmpFault.code, reason: error.reason)])
            }
            throw error
        }
        // error-status 0 with an exception in a varbind (snmpsim answers so for objects it cannot write): the agent
        // did not take that value, so the SET is not reported applied (9002 for the parameters concerned).
        let refused = response.indices.filter { response[$0].value.isException }
        if !refused.isEmpty {
            let error = SNMPBridgeError(.malformedResponse, "the agent answered the SET with an exception instead of the value")
            throw ProviderSetValuesError(entries: refused.map { position in
                .init(index: position < valueIndexOfVarBind.count ? valueIndexOfVarBind[position] : 0, faultCode: error.cwmpFault.code,
                      reason: "\(error.reason): \(response[position].oid) \(response[position].value)")
            })
        }
        logger.debug("SNMP SET applied", metadata: ["snmp.varbinds": "\(varBinds.count)"])
        return .applied
    }

    public func addInstance(to tablePath: ProviderPath, instanceNumber: UInt32) async throws -> (key: String, status: ApplyStatus) {
        try await nearTheAgent { try await addInstanceNearTheAgent(to: tablePath, instanceNumber: instanceNumber) }
    }

    private func addInstanceNearTheAgent(to tablePath: ProviderPath, instanceNumber: UInt32) async throws -> (key: String, status: ApplyStatus) {
        guard let table = tables[tablePath.template + "{i}."] else {
            throw SNMPBridgeError(.unknownInstance, "no profile maps the table \(tablePath.template)")
        }
        guard let rowStatus = table.rowStatus else {
            throw SNMPBridgeError(.requestDenied, "the agent's \(tablePath.template) has no RowStatus column to create rows")
        }
        var cache = WalkCache()
        var prefix: [UInt32] = []
        if table.parent != nil {
            guard let parentTable = table.parent.flatMap({ tables[$0.object] }) else {
                throw SNMPBridgeError(.unknownInstance, "parent of \(table.object) is not mapped")
            }
            prefix = try await rowIndex(of: parentTable, keys: tablePath.instanceKeys, cache: &cache)
        }
        let existing = try await rows(of: table, parentKeys: tablePath.instanceKeys, cache: &cache)
        let used = Set(existing.map(\.index))
        // The engine's proposed number if the agent has no such row, else the next free one.
        var number = max(instanceNumber, 1)
        while used.contains(rowStatus.index(for: number, prefix: prefix)) { number &+= 1 }
        let index = rowStatus.index(for: number, prefix: prefix)
        // createAndGo(4) with any values the agent needs, in one PDU.
        let varBinds = [SNMPVarBind(oid: rowStatus.column.appending(index), value: .integer(4))]
            + rowStatus.createValues.map { SNMPVarBind(oid: $0.column.appending(index), value: $0.value) }
        _ = try await exchange { try await self.client.set(varBinds) }
        var fresh = WalkCache()
        let created = try await rows(of: table, parentKeys: tablePath.instanceKeys, cache: &fresh)
        guard let row = created.first(where: { $0.index == index }) else {
            throw SNMPBridgeError(.invalidValue, "the agent accepted createAndGo for \(table.object) index \(index) but lists no such row")
        }
        return (row.key, .applied)
    }

    public func deleteInstance(_ instance: ProviderPath) async throws -> ApplyStatus {
        try await nearTheAgent { try await deleteInstanceNearTheAgent(instance) }
    }

    private func deleteInstanceNearTheAgent(_ instance: ProviderPath) async throws -> ApplyStatus {
        guard let table = tables[instance.template] else {
            throw SNMPBridgeError(.unknownInstance, "no profile maps \(instance.template)")
        }
        guard let rowStatus = table.rowStatus else {
            throw SNMPBridgeError(.requestDenied, "the agent's \(instance.template) has no RowStatus column to delete rows")
        }
        var cache = WalkCache()
        let index = try await rowIndex(of: table, keys: instance.instanceKeys, cache: &cache)
        _ = try await exchange { try await self.client.set([SNMPVarBind(oid: rowStatus.column.appending(index), value: .integer(6))]) }
        return .applied
    }

    // MARK: Where the requests run

    /// Runs `body` under the client's preferred executor (`SNMPAgentSession`: the SNMP I/O thread; nil: wherever
    /// the caller runs). A default actor honours a task executor preference, so this actor's glue between two
    /// requests (planning, collecting varbinds) runs on the I/O thread too and each request costs no thread
    /// hand-over (Benchmarks/README.md, SNMPBenchmark "provider path"). Only short, non-blocking work may run
    /// there: everything on that thread holds up every agent's I/O.
    private func nearTheAgent<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        try await withTaskExecutorPreference(client.preferredExecutor, operation: body)
    }

    // MARK: Reachability

    /// Runs one exchange with the agent; a timeout marks the device offline, any answer online again.
    private func exchange<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        do {
            let result = try await body()
            setOffline(false)
            return result
        } catch let error as SNMPBridgeError where error.code == .timedOut {
            setOffline(true)
            throw error
        } catch let error as SNMPBridgeError where error.code == .pduError {
            setOffline(false)
            throw error
        }
    }

    private func setOffline(_ offline: Bool) {
        guard offline != isOffline else { return }
        isOffline = offline
        if offline { logger.warning("SNMP agent timed out; device offline") } else { logger.info("SNMP agent answers again; device online") }
        onReachabilityChange?(!offline)
    }

    // MARK: Reading

    private func getAll(_ oids: [SNMPObjectIdentifier]) async throws -> [SNMPObjectIdentifier: SNMPValue] {
        var result: [SNMPObjectIdentifier: SNMPValue] = [:]
        var start = 0
        while start < oids.count {
            let chunk = Array(oids[start..<min(start + maxVarBindsPerRequest, oids.count)])
            let answer = try await exchange { try await self.client.get(chunk) }
            for varBind in answer { result[varBind.oid] = varBind.value }
            start += chunk.count
        }
        return result
    }

    private func unique(_ oids: [SNMPObjectIdentifier]) -> [SNMPObjectIdentifier] {
        var seen: Set<SNMPObjectIdentifier> = []
        return oids.filter { seen.insert($0).inserted }
    }

    /// Column values by row index, one walk per column per provider call.
    struct WalkCache {
        var columns: [SNMPObjectIdentifier: [[UInt32]: SNMPValue]] = [:]
        var rows: [String: [Row]] = [:]
    }

    struct Row: Hashable {
        var index: [UInt32]
        var key: String
        /// The parent row's index (nested tables).
        var parentIndex: [UInt32]?
    }

    private func column(_ column: SNMPObjectIdentifier, cache: inout WalkCache) async throws -> [[UInt32]: SNMPValue] {
        if let cached = cache.columns[column] { return cached }
        let walked = try await exchange { try await self.client.walk(column) }
        var values: [[UInt32]: SNMPValue] = [:]
        for varBind in walked where column.isPrefix(of: varBind.oid) && varBind.oid.components.count > column.components.count && !varBind.value.isException {
            values[Array(varBind.oid.components.dropFirst(column.components.count))] = varBind.value
        }
        cache.columns[column] = values
        return values
    }

    /// All rows of a table (of one parent instance when nested), with their keys, sorted by index.
    private func rows(of table: CompiledSNMPTable, parentKeys: [String], cache: inout WalkCache) async throws -> [Row] {
        var all: [Row]
        if let cached = cache.rows[table.object] {
            all = cached
        } else {
            var indexes = try await column(table.indexColumn, cache: &cache).keys.sorted { $0.lexicographicallyPrecedes($1) }
            if let filter = table.filter {
                let values = try await column(filter.column, cache: &cache)
                indexes = indexes.filter { index in values[index]?.numericValue.flatMap { Int64(exactly: $0) }.map(filter.values.contains) ?? false }
            }
            var parentIndexes: [[UInt32]: [UInt32]] = [:]
            if let link = table.parent, let linkColumn = link.column {
                let values = try await column(linkColumn, cache: &cache)
                for index in indexes {
                    if let number = values[index]?.numericValue, let arc = UInt32(exactly: number) { parentIndexes[index] = [arc] }
                }
            }
            // The first key column whose value is non-empty and unique in the table names a row.
            var keys: [[UInt32]: String] = [:]
            for keyColumn in table.keyColumns {
                let values = try await column(keyColumn.oid, cache: &cache)
                var texts: [[UInt32]: String] = [:]
                var counts: [String: Int] = [:]
                for index in indexes {
                    guard let value = values[index], let text = try? keyColumn.conversion.convert(value), !text.isEmpty else { continue }
                    texts[index] = text
                    counts[text, default: 0] += 1
                }
                for index in indexes where keys[index] == nil {
                    if let text = texts[index], counts[text] == 1 { keys[index] = keyColumn.name + "=" + text }
                }
            }
            all = indexes.map { index in
                Row(index: index, key: keys[index] ?? "index=" + index.map(String.init).joined(separator: "."), parentIndex: parentIndexes[index])
            }
            cache.rows[table.object] = all
        }
        guard let link = table.parent else { return all }
        guard let parentTable = tables[link.object] else { return [] }
        let parentIndex = try await rowIndex(of: parentTable, keys: parentKeys, cache: &cache)
        if link.column != nil { return all.filter { $0.parentIndex == parentIndex } }
        return all.filter { $0.index.count > parentIndex.count && $0.index.starts(with: parentIndex) }
    }

    /// The current row index of the instance named by `keys` (outermost first).
    private func rowIndex(of table: CompiledSNMPTable, keys: [String], cache: inout WalkCache) async throws -> [UInt32] {
        let depth = table.object.ranges(of: "{i}").count
        guard keys.count >= depth, let key = keys.prefix(depth).last else {
            throw SNMPBridgeError(.unknownInstance, "\(table.object) needs \(depth) instance keys")
        }
        let rows = try await rows(of: table, parentKeys: Array(keys.prefix(depth - 1)), cache: &cache)
        guard let row = rows.first(where: { $0.key == key }) else {
            throw SNMPBridgeError(.unknownInstance, "\(table.object) has no instance {\(key)} on the agent")
        }
        return row.index
    }

    enum Plan {
        /// Read `oid` (nil: the agent lacks the row a selector wants); `row` is the row index for fallbacks.
        case mapping(CompiledSNMPMapping, SNMPObjectIdentifier?, row: [UInt32])
        case index([UInt32], ParameterSchema)
        /// Evaluate from GET results at `row` ([] for scalars), or by walking rows (nil) for aggregations.
        case computed(CompiledSNMPComputed, [UInt32]?)
        case missing(ParameterSchema)
    }

    private func plan(_ path: ProviderPath, cache: inout WalkCache) async throws -> Plan {
        if let mapping = scalars[path.template] {
            guard let select = mapping.select, let column = mapping.oid else { return .mapping(mapping, mapping.oid, row: []) }
            let values = try await self.column(select.column, cache: &cache)
            guard let row = values.keys.sorted(by: { $0.lexicographicallyPrecedes($1) }).first(where: { select.matches(values[$0]!) }) else {
                return .missing(mapping.schema)
            }
            return .mapping(mapping, column.appending(row), row: row)
        }
        if let computed = computedScalars[path.template] { return .computed(computed, computed.over == nil ? [] : nil) }
        if let (tableObject, mapping) = columns[path.template], let table = tables[tableObject] {
            let row = try await rowIndex(of: table, keys: path.instanceKeys, cache: &cache)
            guard let column = mapping.oid else { return .index(row, mapping.schema) }
            return .mapping(mapping, column.appending(row), row: row)
        }
        if let (tableObject, computed) = computedColumns[path.template], let table = tables[tableObject] {
            return .computed(computed, try await rowIndex(of: table, keys: path.instanceKeys, cache: &cache))
        }
        throw SNMPBridgeError(.unknownInstance, "no profile maps \(path.template)")
    }

    private func writableMapping(for path: ProviderPath, cache: inout WalkCache) async throws -> (CompiledSNMPMapping, [UInt32]) {
        switch try await plan(path, cache: &cache) {
        case .mapping(let mapping, _?, let row):
            // A scalar's `oid` is its instance (row []); a selected scalar's or a column's is column + row.
            return (mapping, row)
        case .missing:
            throw SNMPBridgeError(.unknownInstance, "the agent has no object for \(path.template)")
        default: break
        }
        throw SNMPBridgeError(.notWritable, "\(path.template) is not writable")
    }

    // MARK: Conversion

    private func convert(_ value: SNMPValue?, oid: SNMPObjectIdentifier, conversion: SNMPConversion, schema: ParameterSchema, path: ProviderPath) -> String {
        guard var value, !value.isException else { return Self.missingValue(schema) }
        if case .counter64 = conversion, case .counter32(let raw) = value {
            value = .counter64(counters.accumulate(raw, for: oid))
        }
        do {
            return output(try conversion.convert(value), schema: schema)
        } catch {
            // A hostile or broken agent must not make the whole device unreadable: log and report "no value".
            logger.warning("SNMP value does not fit its mapping", metadata: [
                "snmp.oid": "\(oid)", "cwmp.parameter": "\(path.template)", "error": "\(error.reason)",
            ])
            return Self.missingValue(schema)
        }
    }

    /// `(Σ ±terms) × Π factors × multiply / divide` at one row; nil when no term or some factor is missing.
    private func evaluate(_ computed: CompiledSNMPComputed, row: [UInt32], lookup: (SNMPObjectIdentifier) -> SNMPValue?) -> Int128? {
        var sum: Int128 = 0
        var anyTerm = false
        for term in computed.terms {
            var oid = term.instance(row)
            var value = lookup(oid)
            if value?.isException ?? true, let fallback = term.fallbackInstance(row) {
                oid = fallback
                value = lookup(oid)
            }
            guard let value, !value.isException else { continue }
            var number: Int128?
            if term.accumulate, case .counter32(let raw) = value {
                number = Int128(counters.accumulate(raw, for: oid))
            } else {
                number = value.numericValue
            }
            guard let number else { continue }
            anyTerm = true
            sum += term.subtract ? -number : number
        }
        guard anyTerm else { return nil }
        for factor in computed.factors {
            guard let number = lookup(factor.appending(row))?.numericValue else { return nil }
            sum *= number
        }
        return sum * Int128(computed.multiply) / Int128(computed.divide)
    }

    private func aggregate(_ computed: CompiledSNMPComputed, cache: inout WalkCache) async throws -> Int128? {
        guard let over = computed.over else { return nil }
        var indexes = try await column(over.indexColumn, cache: &cache).keys.sorted { $0.lexicographicallyPrecedes($1) }
        if let filter = over.filter {
            let values = try await column(filter.column, cache: &cache)
            indexes = indexes.filter { values[$0].map(filter.matches) ?? false }
        }
        var walked: [SNMPObjectIdentifier: [[UInt32]: SNMPValue]] = [:]
        for oid in computed.terms.flatMap({ [$0.oid, $0.fallbackOID].compactMap { $0 } }) + computed.factors {
            walked[oid] = try await column(oid, cache: &cache)
        }
        let lookup: (SNMPObjectIdentifier) -> SNMPValue? = { oid in
            for (column, values) in walked where column.isPrefix(of: oid) {
                if let value = values[Array(oid.components.dropFirst(column.components.count))] { return value }
            }
            return nil
        }
        let perRow = indexes.compactMap { evaluate(computed, row: $0, lookup: lookup) }
        guard !perRow.isEmpty else { return nil }
        switch over.combine {
        case .sum: return perRow.reduce(0, +)
        case .average: return perRow.reduce(0, +) / Int128(perRow.count)
        case .first: return perRow.first
        }
    }

    /// Strings cut to the schema's length; negative numbers never reach unsigned parameters.
    private func output(_ text: String, schema: ParameterSchema) -> String {
        switch schema.syntax {
        case .string(let facets):
            if let maxLength = facets.sizes.compactMap(\.maxLength).max(), text.count > maxLength { return String(text.prefix(maxLength)) }
            return text
        case .unsignedInt, .unsignedLong:
            return text.hasPrefix("-") ? Self.missingValue(schema) : text
        default:
            return text
        }
    }

    /// The value of a mapped parameter the agent has no data for: StatsCounters all ones (TR-181's "no data"),
    /// other numbers 0, booleans false, dateTime the Unknown Time, strings empty.
    static func missingValue(_ schema: ParameterSchema) -> String {
        switch schema.dataType {
        case "StatsCounter64": return String(UInt64.max)
        case "StatsCounter32": return String(UInt32.max)
        default: break
        }
        switch schema.syntax {
        case .int, .unsignedInt, .long, .unsignedLong: return "0"
        case .boolean: return "false"
        case .dateTime: return "0001-01-01T00:00:00Z"
        default: return ""
        }
    }
}
