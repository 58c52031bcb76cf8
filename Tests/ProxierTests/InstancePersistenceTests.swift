// Instance numbers, provider keys and aliases across restarts: a data model over a provider whose rows come and
// go and change keys (as SNMP agents and UPnP devices do), persisted in a real AgentStore file and restored the
// way CWMPAgent does it (`DataModelState.restore(from:)` at start, `storeChanges(since:)` after each RPC).
import CWMPClient
import Testing
@testable import Proxier

/// `Device.IP.Interface.{i}.` rows keyed by the test (an ifName, a UPnP instance number…), each with optional
/// `IPv4Address.{i}.` rows. Name is the row's key; IPAddress is the address row's key.
actor ListedRowsProvider: DataModelProvider {
    var interfaces: [ProviderInstance]
    var addresses: [String: [String]]
    private var created = 0

    init(interfaces: [ProviderInstance], addresses: [String: [String]] = [:]) {
        self.interfaces = interfaces
        self.addresses = addresses
    }

    func setInterfaces(_ rows: [ProviderInstance]) { interfaces = rows }

    func instances(of tables: [ProviderPath]) async throws -> [[ProviderInstance]] {
        tables.map { table in
            switch table.template {
            case "Device.IP.Interface.": interfaces
            case "Device.IP.Interface.{i}.IPv4Address.":
                (addresses[table.instanceKeys[0]] ?? []).map { ProviderInstance(key: $0) }
            default: []
            }
        }
    }

    func values(of parameters: [ProviderPath]) async throws -> [String] {
        parameters.map { $0.template.hasSuffix(".Name") || $0.template.hasSuffix(".IPAddress") ? $0.instanceKeys.last ?? "" : "" }
    }

    func setValues(_ values: [ProviderParameterValue]) async throws -> ApplyStatus { .applied }

    func addInstance(to table: ProviderPath, instanceNumber: UInt32) async throws -> (key: String, status: ApplyStatus) {
        // Keys of its own, unrelated to the number the engine gives.
        created += 1
        let key = "veth-\(created)"
        interfaces.append(ProviderInstance(key: key))
        return (key, .applied)
    }

    func deleteInstance(_ instance: ProviderPath) async throws -> ApplyStatus {
        interfaces.removeAll { $0.key == instance.instanceKeys.last }
        return .applied
    }
}

/// One "process lifetime" of an agent's data model over a store file: restored at start, saved after each RPC.
struct PersistedDataModel {
    static let agentID = "vd-instances"
    let model: DataModel
    let store: AgentStore
    private(set) var saved: DataModelState

    static func start(directory: String, provider: ListedRowsProvider) async throws -> PersistedDataModel {
        let store = try await AgentStore.open(directory: directory)
        try await store.createAgent(agentID)
        let snapshot = try #require(try await store.load(agentID))
        var state = DataModelState()
        state.restore(from: snapshot)
        let model = DataModel(schema: TestSchema.tree, state: state)
        try await model.mount(provider, at: "Device.IP.")
        return PersistedDataModel(model: model, store: store, saved: state)
    }

    /// What the agent does after an RPC: one `apply` with everything that changed.
    mutating func save() async throws {
        let state = await model.exportState()
        try await store.apply(state.storeChanges(since: saved), to: Self.agentID)
        saved = state
    }

    /// Name → instance number of every interface, as the ACS sees them.
    func interfaceNumbers() async throws -> [String: UInt32] {
        var numbers: [String: UInt32] = [:]
        for value in try await model.getParameterValues(["Device.IP.Interface."]) where value.name.hasSuffix(".Name") {
            let number = value.name.dropFirst("Device.IP.Interface.".count).prefix { $0 != "." }
            numbers[value.value] = UInt32(number)
        }
        return numbers
    }

    func stop() async throws { try await store.close() }
}

@Suite struct InstancePersistenceTests {
    @Test func instancesComeBackWithTheSameNumbersAfterARestart() async throws {
        try await withTemporaryStateDirectory { directory in
            // eth1 is seen first, eth0 later: numbered 1 and 2, which a fresh numbering (sorted keys) would swap.
            let provider = ListedRowsProvider(interfaces: [ProviderInstance(key: "eth1")])
            var first = try await PersistedDataModel.start(directory: directory, provider: provider)
            #expect(try await first.interfaceNumbers() == ["eth1": 1])
            await provider.setInterfaces([ProviderInstance(key: "eth1"), ProviderInstance(key: "eth0")])
            #expect(try await first.interfaceNumbers() == ["eth1": 1, "eth0": 2])
            try await first.save()
            try await first.stop()

            // A restart; the device now lists its rows in another order.
            let restarted = ListedRowsProvider(interfaces: [ProviderInstance(key: "eth0"), ProviderInstance(key: "eth1")])
            let second = try await PersistedDataModel.start(directory: directory, provider: restarted)
            #expect(try await second.interfaceNumbers() == ["eth1": 1, "eth0": 2])
            try await second.stop()
        }
    }

    @Test func aDeletedInstanceNumberIsNotReusedAfterARestart() async throws {
        try await withTemporaryStateDirectory { directory in
            let provider = ListedRowsProvider(interfaces: [ProviderInstance(key: "eth0")])
            var first = try await PersistedDataModel.start(directory: directory, provider: provider)
            let added = try await first.model.addObject("Device.IP.Interface.", parameterKey: "add").instanceNumber
            #expect(added == 2)
            try await first.save()
            _ = try await first.model.deleteObject("Device.IP.Interface.2.", parameterKey: "del")
            try await first.save()
            try await first.stop()

            var second = try await PersistedDataModel.start(directory: directory, provider: provider)
            #expect(try await second.interfaceNumbers() == ["eth0": 1])
            #expect(await second.model.parameterKey == "del")
            #expect(try await second.model.addObject("Device.IP.Interface.", parameterKey: "").instanceNumber == 3)
            try await second.save()
            try await second.stop()
        }
    }

    @Test func aRowTheProviderStopsListingKeepsItsNumberUsed() async throws {
        try await withTemporaryStateDirectory { directory in
            let provider = ListedRowsProvider(interfaces: [ProviderInstance(key: "eth0"), ProviderInstance(key: "wlan0")])
            var first = try await PersistedDataModel.start(directory: directory, provider: provider)
            #expect(try await first.interfaceNumbers() == ["eth0": 1, "wlan0": 2])
            try await first.save()
            // wlan0 goes away (the highest number): a reused 2 would name another device's row to the ACS.
            await provider.setInterfaces([ProviderInstance(key: "eth0")])
            #expect(try await first.interfaceNumbers() == ["eth0": 1])
            try await first.save()
            try await first.stop()

            await provider.setInterfaces([ProviderInstance(key: "eth0"), ProviderInstance(key: "wlan1")])
            let second = try await PersistedDataModel.start(directory: directory, provider: provider)
            #expect(try await second.interfaceNumbers() == ["eth0": 1, "wlan1": 3])
            try await second.stop()
        }
    }

    @Test func aProviderThatRenumbersItsKeysGetsFreshNumbers() async throws {
        try await withTemporaryStateDirectory { directory in
            // UPnP DM instance numbers may start at 0 and be sparse; they are keys, not CWMP numbers.
            let provider = ListedRowsProvider(interfaces: [ProviderInstance(key: "0"), ProviderInstance(key: "5")])
            var first = try await PersistedDataModel.start(directory: directory, provider: provider)
            let before = try await first.interfaceNumbers()
            #expect(before["0"] == 1)
            #expect(before["5"] == 5)
            try await first.save()
            try await first.stop()

            // After the restart the device renumbered its rows: "0" is now "1", "5" is still "5".
            await provider.setInterfaces([ProviderInstance(key: "1"), ProviderInstance(key: "5")])
            let second = try await PersistedDataModel.start(directory: directory, provider: provider)
            let after = try await second.interfaceNumbers()
            #expect(after["5"] == 5, "a key that is still there keeps its number")
            #expect(after["1"] == 6, "a new key gets a fresh number, never a used one")
            try await second.stop()
        }
    }

    @Test func aliasesSetByTheACSAndGivenByTheProviderSurviveARestart() async throws {
        try await withTemporaryStateDirectory { directory in
            let provider = ListedRowsProvider(interfaces: [ProviderInstance(key: "eth0", alias: "uplink"),
                                                           ProviderInstance(key: "eth1")])
            var first = try await PersistedDataModel.start(directory: directory, provider: provider)
            _ = try await first.model.setParameterValues(
                [ParameterValueStruct(name: "Device.IP.Interface.2.Alias", value: "lan")], parameterKey: "alias")
            try await first.save()
            try await first.stop()

            let second = try await PersistedDataModel.start(directory: directory, provider: provider)
            let values = try await second.model.getParameterValues(
                ["Device.IP.Interface.[uplink].Name", "Device.IP.Interface.[lan].Name", "Device.IP.Interface.1.Alias"])
            #expect(values.map(\.value) == ["eth0", "eth1", "uplink"])
            try await second.stop()
        }
    }

    @Test func sub_tablesAreKeptPerParentAndDroppedWithIt() async throws {
        try await withTemporaryStateDirectory { directory in
            let provider = ListedRowsProvider(interfaces: [ProviderInstance(key: "eth0"), ProviderInstance(key: "eth1")],
                                              addresses: ["eth0": ["a"], "eth1": ["b", "c"]])
            var first = try await PersistedDataModel.start(directory: directory, provider: provider)
            _ = try await first.model.getParameterValues(["Device.IP.Interface."])
            try await first.save()
            let stored = try #require(try await first.store.load(PersistedDataModel.agentID))
            #expect(stored.instanceKeys.filter { $0.table == "Device.IP.Interface.2.IPv4Address." }.map(\.key) == ["b", "c"])
            #expect(stored.instanceCounters["Device.IP.Interface.2.IPv4Address."] == 3)

            // eth1 goes: its instance and its sub-table leave the store; its number and its counter entry in the
            // parent table stay.
            await provider.setInterfaces([ProviderInstance(key: "eth0")])
            _ = try await first.model.getParameterValues(["Device.IP.Interface."])
            try await first.save()
            let after = try #require(try await first.store.load(PersistedDataModel.agentID))
            #expect(after.instanceKeys.map { "\($0.table)\($0.instance)=\($0.key)" }
                    == ["Device.IP.Interface.1=eth0", "Device.IP.Interface.1.IPv4Address.1=a"])
            #expect(after.aliases.allSatisfy { !$0.table.hasPrefix("Device.IP.Interface.2.") && !($0.table == "Device.IP.Interface." && $0.instance == 2) })
            #expect(after.instanceCounters["Device.IP.Interface.2.IPv4Address."] == nil)
            #expect(after.instanceCounters["Device.IP.Interface."] == 3)
            try await first.stop()
        }
    }

    @Test func restoringNeverLowersACounterBelowAKnownNumber() {
        // A database edited by hand (or a bug) with a counter below a mapped instance: the number is still never
        // handed out twice.
        let snapshot = AgentSnapshot(agentID: "a", instanceCounters: ["Device.T.": 2],
                                     aliases: [InstanceAlias(table: "Device.T.", instance: 7, alias: "seven")],
                                     instanceKeys: [InstanceKey(table: "Device.T.", instance: 7, key: "k")])
        var state = DataModelState(tables: ["Device.T.": TableState(nextInstanceNumber: 4)])
        state.restore(from: snapshot)
        #expect(state.tables["Device.T."] == TableState(nextInstanceNumber: 8, instances: [
            InstanceState(number: 7, key: "k", alias: "seven"),
        ]))
    }

    /// The changes of one save are applied in one transaction whose constraints (one alias and one key per
    /// instance and table) hold after every statement: aliases and keys that move between instances are freed
    /// before they are taken.
    @Test func aliasAndKeyMovesWithinOneSaveSatisfyTheStoreConstraints() async throws {
        try await withTemporaryStateDirectory { directory in
            try await withStore(in: directory) { store in
                try await store.createAgent("a")
                let table = "Device.IP.Interface."
                let before = DataModelState(tables: [table: TableState(nextInstanceNumber: 3, instances: [
                    InstanceState(number: 1, key: "x", alias: "one"), InstanceState(number: 2, key: "y", alias: "two"),
                ])])
                try await store.apply(before.storeChanges(since: DataModelState()), to: "a")
                // Swapped aliases; key "x" moved from the vanished instance 1 to a new instance 3.
                let after = DataModelState(tables: [table: TableState(nextInstanceNumber: 4, instances: [
                    InstanceState(number: 2, key: "y", alias: "one"), InstanceState(number: 3, key: "x", alias: "two"),
                ])])
                try await store.apply(after.storeChanges(since: before), to: "a")
                let snapshot = try #require(try await store.load("a"))
                var restored = DataModelState()
                restored.restore(from: snapshot)
                #expect(restored.tables == after.tables)
                #expect(after.storeChanges(since: after).isEmpty)
            }
        }
    }
}
