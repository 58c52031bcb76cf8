// MIB symbols in profiles and drafted profiles (mib2profile), against the IETF modules in ../shared/data/mibs:
// symbols compile to what the numeric OIDs compile to, and every drafted module compiles (what `profile lint` runs).
// Vendor-extension parameters (`type`) need no MIB and are tested first.
// Foundation is fine here: tests only.
import CWMPTestSupport
import Foundation
import Proxier
@testable import SNMPBridge
import Testing

@Suite struct VendorExtensionProfileTests {
    func failure(_ json: String) -> String? {
        do {
            _ = try SNMPProfileCompiler().compile(json: json)
            return nil
        } catch {
            return error.reason
        }
    }

    @Test func extensionParametersNeedATypeAndBecomeObjects() throws {
        let noType = #"{ "name": "x", "scalars": [ { "parameter": "Device.X_ACME_Box.Temperature", "oid": "1.3.6.1.4.1.9.1.0" } ] }"#
        #expect(failure(noType)?.contains("scalars[0].type") == true, "\(failure(noType) ?? "")")
        let profile = try SNMPProfileCompiler().compile(json: #"""
            { "name": "x",
              "scalars": [ { "parameter": "Device.X_ACME_Box.Temperature", "oid": "1.3.6.1.4.1.9.1.0", "type": "int" },
                           { "parameter": "Device.DeviceInfo.X_ACME_Fan", "oid": "1.3.6.1.4.1.9.4.0", "type": "unsignedInt" },
                           { "parameter": "Device.X_ACME_Box.Label", "oid": "1.3.6.1.4.1.9.2.0", "type": "string",
                             "conversion": { "type": "displayString", "maxLength": 32 }, "writable": true } ],
              "tables": [ { "object": "Device.X_ACME_Port.{i}.", "indexColumn": "1.3.6.1.4.1.9.3.1.1",
                            "rowStatus": { "column": "1.3.6.1.4.1.9.3.1.9" },
                            "columns": [ { "parameter": "Mode", "oid": "1.3.6.1.4.1.9.3.1.2", "type": "string", "writable": true,
                                           "conversion": { "type": "enumeration", "values": { "1": "Fast", "2": "Slow" } } } ] } ] }
            """#)
        let objects = Dictionary(profile.extensionObjects.map { ($0.path, $0) }, uniquingKeysWith: { a, _ in a })
        #expect(objects.keys.sorted() == ["Device.DeviceInfo.", "Device.X_ACME_Box.", "Device.X_ACME_Port.{i}."])
        #expect(objects["Device.DeviceInfo."]?.parameters.map(\.name) == ["X_ACME_Fan"], "only the added parameter")
        #expect(objects["Device.DeviceInfo."]?.parameters.first?.syntax == .unsignedInt([]))
        #expect(objects["Device.X_ACME_Box."]?.parameters.map(\.name) == ["Temperature", "Label"])
        #expect(objects["Device.X_ACME_Box."]?.parameters.first?.syntax == .int([]))
        #expect(objects["Device.X_ACME_Box."]?.parameters.first?.access == .readOnly)
        #expect(objects["Device.X_ACME_Box."]?.parameters.last?.access == .readWrite)
        #expect(objects["Device.X_ACME_Box."]?.parameters.last?.syntax == .string(StringFacets(sizes: [SizeRange(maxLength: 32)])))
        // RowStatus makes the extension table writable (AddObject/DeleteObject); enumerations become facets.
        #expect(objects["Device.X_ACME_Port.{i}."]?.access == .readWrite)
        #expect(objects["Device.X_ACME_Port.{i}."]?.maxEntries == nil)
        #expect(objects["Device.X_ACME_Port.{i}."]?.parameters.first?.syntax == .string(StringFacets(enumerations: ["Fast", "Slow"])))
        #expect(profile.tables.first?.columns.first?.setSyntax == .integer)
    }

    @Test func aTypeOnATR181ParameterMustAgree() {
        let wrong = #"{ "name": "x", "scalars": [ { "parameter": "Device.DeviceInfo.HostName", "oid": "1.3.6.1.2.1.1.5.0", "type": "int" } ] }"#
        #expect(failure(wrong)?.contains("scalars[0].type") == true, "\(failure(wrong) ?? "")")
        let right = #"{ "name": "x", "scalars": [ { "parameter": "Device.DeviceInfo.HostName", "oid": "1.3.6.1.2.1.1.5.0", "type": "string" } ] }"#
        #expect(failure(right) == nil)
    }

    @Test func unknownPathsWithoutAnExtensionNameStayErrors() {
        let json = #"{ "name": "x", "scalars": [ { "parameter": "Device.Acme.Temperature", "oid": "1.3.6.1.4.1.9.1.0", "type": "int" } ] }"#
        #expect(failure(json)?.contains("not in the TR-181 schema") == true, "\(failure(json) ?? "")")
        let table = #"{ "name": "x", "tables": [ { "object": "Device.X_ACME_Port.", "indexColumn": "1.3.6.1.4.1.9.3.1.1" } ] }"#
        #expect(failure(table)?.contains("tables[0].object") == true, "\(failure(table) ?? "")")
    }
}

@Suite(.enabled(if: sharedMIBDirectory != nil, sharedMIBSkipMessage))
struct MIBProfileTests {
    /// Compiles with names resolved by net-snmp from the shared MIB directory.
    func compile(_ json: String) async throws(SNMPBridgeError) -> CompiledSNMPProfile {
        try await SNMPProfileCompiler().compile(json: json, mibSearchPath: sharedMIBPath)
    }

    /// The draft of `modules`, decoded and compiled.
    func draft(_ modules: [String], numeric: Bool = false) async throws -> (SNMPProfile, CompiledSNMPProfile, SNMPProfileDrafter.Draft) {
        let loaded = try await SNMPMIB.loadModules(modules, searchPath: sharedMIBPath)
        let draft = try SNMPProfileDrafter(numericOIDs: numeric).draft(loaded)
        return (try SNMPProfileCompiler.decode(json: draft.json), try await compile(draft.json), draft)
    }

    /// `oid` replaced by the symbol in `label` wherever the label is exactly `MODULE::symbol[.arcs]`.
    func symbolic(_ json: String, skippingModules: Set<String>) throws -> (json: String, replaced: Int) {
        let pattern = try NSRegularExpression(pattern: #"^([A-Za-z0-9-]+)::[A-Za-z][A-Za-z0-9]*(\.[0-9]+)*$"#)
        var replaced = 0
        func walk(_ value: Any) -> Any {
            if let array = value as? [Any] { return array.map(walk) }
            guard var object = value as? [String: Any] else { return value }
            for (key, child) in object { object[key] = walk(child) }
            if let label = object["label"] as? String, object["oid"] is String,
               let match = pattern.firstMatch(in: label, range: NSRange(label.startIndex..., in: label)),
               let module = Range(match.range(at: 1), in: label).map({ String(label[$0]) }), !skippingModules.contains(module) {
                object["oid"] = label
                replaced += 1
            }
            return object
        }
        let tree = walk(try JSONSerialization.jsonObject(with: Data(json.utf8)))
        return (String(decoding: try JSONSerialization.data(withJSONObject: tree), as: UTF8.self), replaced)
    }

    @Test func builtinProfilesWithSymbolsCompileToTheNumericOnes() async throws {
        var replacedTotal = 0
        for (name, text) in SNMPBuiltinProfiles.json {
            // ENTITY-MIB is not among the shared modules.
            let (json, replaced) = try symbolic(text, skippingModules: ["ENTITY-MIB"])
            replacedTotal += replaced
            let numeric = try SNMPProfileCompiler().compile(json: text)
            let symbolic = try await compile(json)
            #expect(symbolic.scalars == numeric.scalars, "\(name)")
            #expect(symbolic.tables == numeric.tables, "\(name)")
            #expect(symbolic.computed == numeric.computed, "\(name)")
        }
        #expect(replacedTotal >= 25, "the labels of the built-in profiles name their objects")
    }

    @Test func everyOIDPositionTakesASymbol() async throws {
        func profile(_ n: (String) -> String) -> String {
            #"""
            { "name": "p",
              "scalars": [ { "parameter": "Device.DeviceInfo.HostName", "oid": "\#(n("SNMPv2-MIB::sysName.0"))",
                             "fallbackOID": "\#(n("SNMPv2-MIB::sysDescr.0"))", "writable": true, "conversion": "displayString" } ],
              "tables": [ { "object": "Device.Ethernet.Interface.{i}.", "indexColumn": "\#(n("IF-MIB::ifIndex"))",
                            "keyColumns": [ { "name": "ifName", "oid": "\#(n("IF-MIB::ifName"))" } ],
                            "filter": { "column": "\#(n("IF-MIB::ifType"))", "in": [6] },
                            "columns": [ { "parameter": "Name", "oid": "\#(n("IF-MIB::ifDescr"))" } ],
                            "computed": [ { "parameter": "LastChange", "divide": 100,
                                            "terms": [ { "oid": "\#(n("SNMPv2-MIB::sysUpTime.0"))", "scalar": true },
                                                       { "oid": "\#(n("IF-MIB::ifLastChange"))", "subtract": true } ] } ] } ] }
            """#
        }
        let numbers = ["SNMPv2-MIB::sysName.0": "1.3.6.1.2.1.1.5.0", "SNMPv2-MIB::sysDescr.0": "1.3.6.1.2.1.1.1.0",
                       "IF-MIB::ifIndex": "1.3.6.1.2.1.2.2.1.1", "IF-MIB::ifName": "1.3.6.1.2.1.31.1.1.1.1",
                       "IF-MIB::ifType": "1.3.6.1.2.1.2.2.1.3", "IF-MIB::ifDescr": "1.3.6.1.2.1.2.2.1.2",
                       "SNMPv2-MIB::sysUpTime.0": "1.3.6.1.2.1.1.3.0", "IF-MIB::ifLastChange": "1.3.6.1.2.1.2.2.1.9"]
        let symbolic = try await compile(profile { $0 })
        let numeric = try SNMPProfileCompiler().compile(json: profile { numbers[$0]! })
        #expect(symbolic.scalars == numeric.scalars)
        #expect(symbolic.tables == numeric.tables)
        #expect(symbolic.tables.first?.keyColumns.map(\.oid) == [oid("1.3.6.1.2.1.31.1.1.1.1")])
        #expect(symbolic.tables.first?.filter?.column == oid("1.3.6.1.2.1.2.2.1.3"))
        #expect(symbolic.tables.first?.computed == numeric.tables.first?.computed)
        #expect(symbolic.scalars.first?.fallbackOID == oid("1.3.6.1.2.1.1.1.0"))
    }

    @Test func unresolvableSymbolsAreNamedWithTheirKey() async throws {
        let json = #"""
            { "name": "p", "tables": [ { "object": "Device.Ethernet.Interface.{i}.", "indexColumn": "IF-MIB::ifIndex",
              "columns": [ { "parameter": "Name", "oid": "IF-MIB::ifDescrX" }, { "parameter": "Alias", "oid": "NO-SUCH-MIB::x" } ] } ] }
            """#
        do {
            _ = try await compile(json)
            Issue.record("an unknown symbol compiled")
        } catch {
            #expect(error.code == .invalidProfile)
            #expect(error.reason.contains("tables[0].columns[0].oid"), "\(error)")
            #expect(error.reason.contains("IF-MIB::ifDescrX"), "\(error)")
        }
        let unknownModule = json.replacingOccurrences(of: "IF-MIB::ifDescrX", with: "IF-MIB::ifDescr")
        do {
            _ = try await compile(unknownModule)
            Issue.record("an unknown module compiled")
        } catch {
            #expect(error.reason.contains("tables[0].columns[1].oid"), "\(error)")
            #expect(error.reason.contains("NO-SUCH-MIB"), "\(error)")
            #expect(error.reason.contains("not found"), "\(error)")
        }
    }

    // MARK: Drafts

    func table(_ profile: SNMPProfile, _ object: String) throws -> SNMPTableMapping {
        try #require(profile.tables.first { $0.object == object }, "\(profile.tables.map(\.object))")
    }

    func column(_ table: SNMPTableMapping, _ parameter: String) throws -> SNMPValueMapping {
        try #require(table.columns.first { $0.parameter == parameter }, "\(table.columns.map(\.parameter))")
    }

    @Test func ifMIBDraft() async throws {
        let (profile, compiled, _) = try await draft(["IF-MIB"])
        #expect(profile.tables.map(\.object) == ["Device.X_MIB_IfTable.{i}.", "Device.X_MIB_IfXTable.{i}.",
                                                 "Device.X_MIB_IfStackTable.{i}.", "Device.X_MIB_IfTestTable.{i}.",
                                                 "Device.X_MIB_IfRcvAddressTable.{i}."])
        let ifTable = try table(profile, "Device.X_MIB_IfTable.{i}.")
        #expect(ifTable.indexColumn == "IF-MIB::ifIndex")
        #expect(ifTable.rowStatus == nil)
        let descr = try column(ifTable, "IfDescr")
        #expect(descr.oid == "IF-MIB::ifDescr")
        #expect(descr.type == .string)
        #expect(descr.conversion == .displayString(maxLength: 255))
        #expect(!descr.writable)
        let inOctets = try column(ifTable, "IfInOctets")
        #expect(inOctets.type == .unsignedLong)
        #expect(inOctets.conversion == .counter64)
        #expect(try column(ifTable, "IfSpeed").type == .unsignedInt)
        #expect(try column(ifTable, "IfMtu").type == .int)
        #expect(try column(ifTable, "IfPhysAddress").conversion == .mac)
        #expect(try column(ifTable, "IfLastChange").conversion == .timeTicksToSeconds)
        #expect(try column(ifTable, "IfSpecific").type == .string)
        let admin = try column(ifTable, "IfAdminStatus")
        #expect(admin.writable)
        #expect(admin.syntax == .integer)
        #expect(admin.conversion == .enumeration(values: [1: "up", 2: "down", 3: "testing"], default: nil, set: nil))
        let ifXTable = try table(profile, "Device.X_MIB_IfXTable.{i}.")
        #expect(try column(ifXTable, "IfHCInOctets").conversion == .counter64)
        #expect(try column(ifXTable, "IfAlias").writable)
        #expect(try column(ifXTable, "IfPromiscuousMode").type == .boolean)
        #expect(try column(ifXTable, "IfPromiscuousMode").conversion == .truthValue)
        #expect(!ifXTable.columns.contains { $0.conversion == .index }, "AUGMENTS: the index is ifTable's")
        // ifStackTable: a two-part not-accessible INDEX becomes one `index` parameter; its RowStatus is not
        // writable and, with two index parts, AddObject is not drafted.
        let stack = try table(profile, "Device.X_MIB_IfStackTable.{i}.")
        #expect(try column(stack, "Index").conversion == .index)
        #expect(try !column(stack, "IfStackStatus").writable)
        #expect(stack.rowStatus == nil)
        #expect(profile.scalars.map(\.parameter) == ["Device.X_MIB_Interfaces.IfNumber", "Device.X_MIB_IfMIBObjects.IfTableLastChange",
                                                     "Device.X_MIB_IfMIBObjects.IfStackLastChange"])
        #expect(profile.scalars.first?.oid == "IF-MIB::ifNumber.0")

        // Compiled: resolved by net-snmp, extension objects for the schema, SET syntaxes.
        let compiledIfTable = try #require(compiled.tables.first { $0.object == "Device.X_MIB_IfTable.{i}." })
        #expect(compiledIfTable.indexColumn == oid("1.3.6.1.2.1.2.2.1.1"))
        #expect(compiledIfTable.columns.first { $0.parameter.hasSuffix(".IfDescr") }?.oid == oid("1.3.6.1.2.1.2.2.1.2"))
        #expect(compiledIfTable.columns.first { $0.parameter.hasSuffix(".IfAdminStatus") }?.setSyntax == .integer)
        #expect(compiledIfTable.columns.first { $0.parameter.hasSuffix(".IfAdminStatus") }?.schema.access == .readWrite)
        let objects = Set(compiled.extensionObjects.map(\.path))
        #expect(objects.isSuperset(of: ["Device.X_MIB_IfTable.{i}.", "Device.X_MIB_Interfaces.", "Device.X_MIB_IfMIBObjects."]))
        #expect(compiled.extensionObjects.first { $0.path == "Device.X_MIB_IfTable.{i}." }?.access == .readOnly)
    }

    @Test func hostResourcesDraft() async throws {
        let (profile, _, _) = try await draft(["HOST-RESOURCES-MIB"])
        let storage = try table(profile, "Device.X_MIB_HrStorageTable.{i}.")
        #expect(storage.indexColumn == "HOST-RESOURCES-MIB::hrStorageIndex")
        #expect(try column(storage, "HrStorageSize").writable)
        #expect(try column(storage, "HrStorageType").type == .string)
        #expect(try column(storage, "HrStorageAllocationFailures").conversion == .counter64)
        let run = try table(profile, "Device.X_MIB_HrSWRunTable.{i}.")
        let status = try column(run, "HrSWRunStatus")
        #expect(status.writable)
        #expect(status.conversion == .enumeration(values: [1: "running", 2: "runnable", 3: "notRunnable", 4: "invalid"], default: nil, set: nil))
        // hrProcessorTable is indexed by another table's column: the index is a parameter of its own.
        let processor = try table(profile, "Device.X_MIB_HrProcessorTable.{i}.")
        #expect(try column(processor, "HrDeviceIndex").conversion == .index)
        #expect(try column(processor, "HrDeviceIndex").type == .int)
        #expect(try column(processor, "HrProcessorLoad").type == .int)
        let date = try #require(profile.scalars.first { $0.parameter == "Device.X_MIB_HrSystem.HrSystemDate" })
        #expect(date.type == .hexBinary)
        #expect(date.conversion == .hex)
        #expect(date.writable)
        #expect(profile.scalars.contains { $0.parameter == "Device.X_MIB_HrStorage.HrMemorySize" && $0.type == .int })
    }

    @Test func snmpv2MIBDraft() async throws {
        let (profile, compiled, _) = try await draft(["SNMPv2-MIB"])
        func scalar(_ name: String) throws -> SNMPValueMapping {
            try #require(profile.scalars.first { $0.parameter == "Device.X_MIB_System.\(name)" })
        }
        #expect(try scalar("SysName").writable)
        #expect(try scalar("SysName").conversion == .displayString(maxLength: 255))
        #expect(try !scalar("SysDescr").writable)
        #expect(try scalar("SysUpTime").type == .unsignedInt)
        #expect(try scalar("SysUpTime").conversion == .timeTicksToSeconds)
        #expect(try scalar("SysObjectID").conversion == .auto)
        #expect(profile.scalars.contains { $0.parameter == "Device.X_MIB_Snmp.SnmpEnableAuthenTraps" && $0.writable })
        let or = try table(profile, "Device.X_MIB_SysORTable.{i}.")
        #expect(try column(or, "SysORIndex").conversion == .index)
        #expect(or.indexColumn == "SNMPv2-MIB::sysORID", "sysORIndex is not-accessible: another column lists the rows")
        #expect(compiled.scalars.first { $0.parameter == "Device.X_MIB_System.SysName" }?.oid == oid("1.3.6.1.2.1.1.5.0"))
        // accessible-for-notify objects (snmpTrapOID) are not drafted.
        #expect(!profile.scalars.contains { $0.oid?.contains("snmpTrapOID") == true })
    }

    @Test func rowStatusTablesGetAddObject() async throws {
        let (profile, compiled, _) = try await draft(["SNMP-TARGET-MIB"])
        let addresses = try table(profile, "Device.X_MIB_SnmpTargetAddrTable.{i}.")
        #expect(addresses.rowStatus?.column == "SNMP-TARGET-MIB::snmpTargetAddrRowStatus")
        #expect(addresses.rowStatus?.indexFormat == .impliedString)
        #expect(compiled.extensionObjects.first { $0.path == "Device.X_MIB_SnmpTargetAddrTable.{i}." }?.access == .readWrite)
    }

    @Test(arguments: ["IF-MIB", "HOST-RESOURCES-MIB", "SNMPv2-MIB"])
    func numericDraftsCompileToTheSymbolicOnes(module: String) async throws {
        // The numeric OIDs come from the walk of net-snmp's tree, the symbols from snmp_parse_oid: they must agree.
        let (_, symbolic, _) = try await draft([module])
        let (numericProfile, numeric, _) = try await draft([module], numeric: true)
        #expect(!numericProfile.objectNames.contains { SNMPObjectIdentifier($0) == nil })
        #expect(symbolic.scalars == numeric.scalars)
        #expect(symbolic.tables == numeric.tables)
        #expect(symbolic.extensionObjects == numeric.extensionObjects)
    }

    @Test func everySharedModuleDraftsALintCleanProfile() async throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: sharedMIBDirectory!).filter { $0.hasSuffix(".txt") }
        #expect(files.count > 50)
        var drafted = 0
        for file in files.sorted() {
            let module = String(file.dropLast(".txt".count))
            do {
                let (_, compiled, _) = try await draft([module])
                if !compiled.parameterTemplates.isEmpty { drafted += 1 }
            } catch {
                Issue.record("\(module): \(error)")
            }
        }
        #expect(drafted >= 35, "modules with objects (the rest hold textual conventions or SMI only)")
        // Several modules at once: objects several of them define (RFC1213-MIB's and IF-MIB's ifTable) once.
        let (_, compiled, _) = try await draft(["IF-MIB", "RFC1213-MIB", "SNMPv2-MIB"])
        #expect(compiled.tables.filter { $0.object == "Device.X_MIB_IfTable.{i}." }.count == 1)
    }
}

/// A drafted profile is usable as is: served by the provider over the real client against snmpd.
@Suite(.enabled(if: sharedMIBDirectory != nil && snmpdAvailable, "needs ../shared/data/mibs and snmpd"))
struct DraftedProfileSnmpdTests {
    func get(_ peer: SNMPDaemonPeer, _ oids: [String]) throws -> [String: String] {
        let result = try peer.tool("snmpget", ["-v2c", "-c", "public", "-On"], oids)
        var values: [String: String] = [:]
        for line in result.output.split(separator: "\n") {
            guard let separator = line.firstRange(of: " = ") else { continue }
            values[String(line[line.index(after: line.startIndex)..<separator.lowerBound])] = String(line[separator.upperBound...])
        }
        return values
    }

    @Test func aDraftServesSnmpdThroughTheProvider() async throws {
        let peer = try SNMPDaemonPeer()
        defer { peer.stop() }
        let manager = SNMPManager()
        defer { manager.shutdown() }
        let loaded = try await SNMPMIB.loadModules(["SNMPv2-MIB", "IF-MIB"], searchPath: sharedMIBPath)
        let draft = try SNMPProfileDrafter().draft(loaded)
        let compiled = try await SNMPProfileCompiler().compile(json: draft.json, mibSearchPath: sharedMIBPath)
        let provider = SNMPProfileProvider(client: manager.session(for: peer.v2cPrivate), profiles: [compiled], agentID: peer.address)

        let system = try await provider.values(of: ["SysDescr", "SysObjectID", "SysServices"].map {
            ProviderPath(template: "Device.X_MIB_System." + $0)
        })
        let got = try get(peer, ["1.3.6.1.2.1.1.1.0", "1.3.6.1.2.1.1.2.0", "1.3.6.1.2.1.1.7.0"])
        #expect(system[0] == Rendered.string(got["1.3.6.1.2.1.1.1.0"]))
        #expect(got["1.3.6.1.2.1.1.2.0"] == "OID: .\(system[1])")
        #expect(system[2] == Rendered.number(got["1.3.6.1.2.1.1.7.0"]).map(String.init))

        // ifTable rows keyed by their index; the loopback row's columns agree with snmpget.
        let keys = try await provider.instances(of: [ProviderPath(template: "Device.X_MIB_IfTable.")])[0].map(\.key)
        #expect(!keys.isEmpty)
        let descriptions = try await provider.values(of: keys.map { ProviderPath(template: "Device.X_MIB_IfTable.{i}.IfDescr", instanceKeys: [$0]) })
        let loKey = try #require(zip(keys, descriptions).first { $0.1 == "lo" }?.0, "\(keys) \(descriptions)")
        #expect(loKey.hasPrefix("index="))
        let index = String(loKey.dropFirst("index=".count))
        let lo = try await provider.values(of: ["IfIndex", "IfType", "IfMtu", "IfAdminStatus", "IfInOctets"].map {
            ProviderPath(template: "Device.X_MIB_IfTable.{i}." + $0, instanceKeys: [loKey])
        })
        let loGot = try get(peer, ["1.3.6.1.2.1.2.2.1.4.\(index)"])
        #expect(lo[0] == index)
        #expect(lo[1] == "softwareLoopback")
        #expect(lo[2] == Rendered.number(loGot["1.3.6.1.2.1.2.2.1.4.\(index)"]).map(String.init))
        #expect(lo[3] == "up")
        #expect(UInt64(lo[4]) != nil, "Counter32 read as unsignedLong: \(lo[4])")

        // A writable drafted parameter is SET on the agent (sysContact: read-write, not fixed by snmpd.conf).
        let contact = ProviderParameterValue(path: ProviderPath(template: "Device.X_MIB_System.SysContact"),
                                             value: "drafted-\(UUID().uuidString.prefix(8))", type: .string)
        #expect(try await provider.setValues([contact]) == .applied)
        #expect(Rendered.string(try get(peer, ["1.3.6.1.2.1.1.4.0"])["1.3.6.1.2.1.1.4.0"]) == contact.value)
    }
}
