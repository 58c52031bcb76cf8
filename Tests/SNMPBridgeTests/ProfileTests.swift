import Proxier
import Testing
@testable import SNMPBridge

@Suite struct ProfileTests {
    let compiler = SNMPProfileCompiler()

    /// The reason of the error `json` fails with.
    func failure(_ json: String, compiler: SNMPProfileCompiler = SNMPProfileCompiler()) -> String? {
        do {
            _ = try compiler.compile(json: json)
            return nil
        } catch {
            #expect(error.code == .invalidProfile)
            return error.reason
        }
    }

    @Test func builtinProfilesCompileAgainstTheGeneratedSchema() throws {
        let profiles = try SNMPBuiltinProfiles.compiled()
        #expect(profiles.map(\.name) == ["snmpv2-system", "entity-mib", "if-mib", "host-resources"])
        // Every mapped parameter exists in the generated TR-181 schema (the compiler checks; this re-checks).
        for template in profiles.flatMap(\.parameterTemplates) {
            #expect(DataModelSchema.tr181.parameter(atTemplate: template) != nil, "\(template)")
        }
        #expect(profiles.flatMap(\.parameterTemplates).contains("Device.Ethernet.Interface.{i}.Stats.BytesReceived"))
        #expect(profiles.flatMap(\.parameterTemplates).contains("Device.IP.Interface.{i}.IPv4Address.{i}.IPAddress"))
        #expect(profiles.flatMap(\.parameterTemplates).contains("Device.DeviceInfo.ProcessStatus.Process.{i}.Command"))
    }

    @Test func minimalProfileAndDefaults() throws {
        let profile = try compiler.compile(json: #"""
        { "name": "min", "scalars": [ { "parameter": "Device.DeviceInfo.HostName", "oid": ".1.3.6.1.2.1.1.5.0" } ] }
        """#)
        #expect(profile.priority == 0)
        #expect(profile.scalars.first?.oid == SNMPObjectIdentifier("1.3.6.1.2.1.1.5.0"))
        #expect(profile.scalars.first?.conversion == .auto)
        #expect(profile.scalars.first?.setSyntax == nil)
        #expect(profile.matches(sysObjectID: nil, sysDescr: ""))
    }

    @Test func unknownKeyIsNamed() {
        let reason = failure(#"""
        { "name": "typo", "tables": [ { "object": "Device.Ethernet.Interface.{i}.", "indexColumn": "1.3.6.1.2.1.2.2.1.1",
          "columns": [ { "parameter": "Enable", "oid": "1.3.6.1.2.1.2.2.1.7", "writeable": true } ] } ] }
        """#)
        #expect(reason?.contains("tables[0].columns[0].writeable") == true, "\(reason ?? "")")
    }

    @Test func missingKeyIsNamed() {
        let reason = failure(#"{ "name": "x", "scalars": [ { "oid": "1.3.6.1.2.1.1.5.0" } ] }"#)
        #expect(reason?.contains("scalars[0].parameter") == true, "\(reason ?? "")")
    }

    @Test func wrongTypeIsNamed() {
        let reason = failure(#"{ "name": "x", "scalars": [ { "parameter": "Device.DeviceInfo.HostName", "oid": "1.3.6.1.2.1.1.5.0", "writable": "yes" } ] }"#)
        #expect(reason?.contains("scalars[0].writable") == true, "\(reason ?? "")")
    }

    @Test func unknownConversionIsNamed() {
        let reason = failure(#"{ "name": "x", "scalars": [ { "parameter": "Device.DeviceInfo.HostName", "oid": "1.3.6.1.2.1.1.5.0", "conversion": "rot13" } ] }"#)
        #expect(reason?.contains("scalars[0].conversion") == true && reason?.contains("rot13") == true, "\(reason ?? "")")
    }

    @Test func unknownTR181PathIsNamed() {
        let reason = failure(#"{ "name": "x", "scalars": [ { "parameter": "Device.DeviceInfo.Hostname", "oid": "1.3.6.1.2.1.1.5.0" } ] }"#)
        #expect(reason?.contains("scalars[0].parameter") == true && reason?.contains("Device.DeviceInfo.Hostname") == true, "\(reason ?? "")")
    }

    @Test func badOIDIsNamed() {
        let reason = failure(#"{ "name": "x", "scalars": [ { "parameter": "Device.DeviceInfo.HostName", "oid": "1.3.6..1" } ] }"#)
        #expect(reason?.contains("scalars[0].oid") == true, "\(reason ?? "")")
    }

    @Test func writableNeedsAWritableParameter() {
        let reason = failure(#"{ "name": "x", "scalars": [ { "parameter": "Device.DeviceInfo.Description", "oid": "1.3.6.1.2.1.1.1.0", "writable": true, "syntax": "OCTET STRING" } ] }"#)
        #expect(reason?.contains("scalars[0].writable") == true, "\(reason ?? "")")
    }

    @Test func writableNeedsASyntax() {
        let reason = failure(#"{ "name": "x", "scalars": [ { "parameter": "Device.DeviceInfo.HostName", "oid": "1.3.6.1.2.1.1.5.0", "writable": true } ] }"#)
        #expect(reason?.contains("scalars[0].syntax") == true, "\(reason ?? "")")
    }

    @Test func nestedTableNeedsItsParent() {
        let reason = failure(#"""
        { "name": "x", "tables": [ { "object": "Device.IP.Interface.{i}.IPv4Address.{i}.", "indexColumn": "1.3.6.1.2.1.4.20.1.1",
          "columns": [ { "parameter": "IPAddress", "oid": "1.3.6.1.2.1.4.20.1.1", "conversion": "ipAddress" } ] } ] }
        """#)
        #expect(reason?.contains("tables[0].parent") == true, "\(reason ?? "")")
    }

    @Test func duplicateParameterIsNamed() {
        let reason = failure(#"""
        { "name": "x", "scalars": [ { "parameter": "Device.DeviceInfo.HostName", "oid": "1.3.6.1.2.1.1.5.0" },
                                    { "parameter": "Device.DeviceInfo.HostName", "oid": "1.3.6.1.2.1.1.6.0" } ] }
        """#)
        #expect(reason?.contains("scalars[1].parameter") == true, "\(reason ?? "")")
    }

    @Test func badRegexIsNamed() {
        let reason = failure(#"{ "name": "x", "match": { "sysDescrRegex": "([a-" } }"#)
        #expect(reason?.contains("match.sysDescrRegex") == true, "\(reason ?? "")")
    }

    @Test func notJSONAtAll() {
        #expect(failure("{ name: ") != nil)
    }

    @Test func symbolsResolveThroughTheResolver() throws {
        let json = #"{ "name": "sym", "scalars": [ { "parameter": "Device.DeviceInfo.HostName", "oid": "SNMPv2-MIB::sysName.0" } ] }"#
        // Without a resolver a symbol is an error naming the key.
        #expect(failure(json)?.contains("scalars[0].oid") == true)
        let resolver = SNMPSymbolTable(["SNMPv2-MIB::sysName": SNMPObjectIdentifier("1.3.6.1.2.1.1.5")!])
        let profile = try SNMPProfileCompiler(resolver: resolver).compile(json: json)
        #expect(profile.scalars.first?.oid == SNMPObjectIdentifier("1.3.6.1.2.1.1.5.0"))
        #expect(failure(#"{ "name": "sym", "scalars": [ { "parameter": "Device.DeviceInfo.HostName", "oid": "SNMPv2-MIB::sysNom.0" } ] }"#,
                        compiler: SNMPProfileCompiler(resolver: resolver))?.contains("sysNom") == true)
    }

    @Test func selectionBySysObjectIDAndSysDescr() throws {
        func profile(_ name: String, priority: Int = 0, match: String) throws -> CompiledSNMPProfile {
            try compiler.compile(json: #"{ "name": "\#(name)", "priority": \#(priority), "match": \#(match) }"#)
        }
        let netSNMP = try profile("net-snmp", match: #"{ "sysObjectIDPrefixes": ["1.3.6.1.4.1.8072"] }"#)
        let linux = try profile("linux", priority: 5, match: #"{ "sysDescrContains": ["Linux"] }"#)
        let printer = try profile("printer", match: #"{ "sysObjectIDPrefixes": ["1.3.6.1.4.1.11"], "sysDescrRegex": "LaserJet [0-9]+" }"#)
        let generic = try compiler.compile(json: #"{ "name": "generic" }"#)
        let all = [generic, netSNMP, linux, printer]

        let linuxAgent = SNMPProfileSelection.select(all, sysObjectID: SNMPObjectIdentifier("1.3.6.1.4.1.8072.3.2.10"), sysDescr: "Linux vm 6.1")
        #expect(linuxAgent.map(\.name) == ["linux", "generic", "net-snmp"])
        let hp = SNMPProfileSelection.select(all, sysObjectID: SNMPObjectIdentifier("1.3.6.1.4.1.11.2.3.9.1"), sysDescr: "HP LaserJet 4250")
        #expect(hp.map(\.name) == ["generic", "printer"])
        // Both rules of the printer profile must hold.
        let other = SNMPProfileSelection.select(all, sysObjectID: SNMPObjectIdentifier("1.3.6.1.4.1.11.2.3.9.1"), sysDescr: "HP switch")
        #expect(other.map(\.name) == ["generic"])
        #expect(SNMPProfileSelection.select(all, sysObjectID: nil, sysDescr: "").map(\.name) == ["generic"])
    }
}
