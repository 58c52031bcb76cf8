// net-snmp's MIB parser through SNMPMIB: resolving symbols, module nodes, and the errors for missing and broken
// modules, against the IETF modules in ../shared/data/mibs (Debian ships none).
// Foundation is fine here: tests only.
import Foundation
@testable import SNMPBridge
import Testing

/// The IETF MIB modules next to the checkout (`../shared/data/mibs`), or nil.
let sharedMIBDirectory: String? = {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    let directory = root.deletingLastPathComponent().appendingPathComponent("shared/data/mibs").path
    return FileManager.default.fileExists(atPath: directory + "/IF-MIB.txt") ? directory : nil
}()
let sharedMIBSkipMessage: Comment = "../shared/data/mibs (the IETF MIB modules) is not next to the checkout"

/// Only the shared directory: no MIBDIRS, no net-snmp default directories.
var sharedMIBPath: SNMPMIBSearchPath {
    SNMPMIBSearchPath(directories: [sharedMIBDirectory!], required: [sharedMIBDirectory!])
}

/// A fresh directory with one file; module names are unique per call (net-snmp's module list is process-wide).
func temporaryMIBDirectory(file name: String, contents: String) throws -> String {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mib-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    try contents.write(to: directory.appendingPathComponent(name), atomically: true, encoding: .utf8)
    return directory.path
}

@Suite(.enabled(if: sharedMIBDirectory != nil, sharedMIBSkipMessage))
struct MIBTests {
    @Test func ifDescrResolves() async throws {
        let result = try await SNMPMIB.resolve(["IF-MIB::ifDescr", "SNMPv2-MIB::sysName.0", "IF-MIB::ifDescr.7"],
                                               searchPath: sharedMIBPath)
        #expect(try result["IF-MIB::ifDescr"]?.get() == oid("1.3.6.1.2.1.2.2.1.2"))
        #expect(try result["SNMPv2-MIB::sysName.0"]?.get() == oid("1.3.6.1.2.1.1.5.0"))
        #expect(try result["IF-MIB::ifDescr.7"]?.get() == oid("1.3.6.1.2.1.2.2.1.2.7"))
    }

    @Test func unknownSymbolIsNamed() async throws {
        let result = try await SNMPMIB.resolve(["IF-MIB::ifDescrX"], searchPath: sharedMIBPath)
        #expect(throws: SNMPBridgeError(.unknownMIBSymbol, "")) { try result["IF-MIB::ifDescrX"]?.get() }
        guard case .failure(let error) = result["IF-MIB::ifDescrX"] else { return }
        #expect(error.reason.contains("IF-MIB::ifDescrX"), "\(error)")
    }

    @Test func unknownModuleIsAClearError() async throws {
        await #expect(throws: SNMPBridgeError(.mibModuleNotFound, "")) {
            try await SNMPMIB.loadModules(["NO-SUCH-MODULE-MIB"], searchPath: sharedMIBPath)
        }
        do {
            _ = try await SNMPMIB.loadModules(["NO-SUCH-MODULE-MIB"], searchPath: sharedMIBPath)
        } catch {
            #expect(error.reason.contains("NO-SUCH-MODULE-MIB"), "\(error)")
            #expect(error.reason.contains(sharedMIBDirectory!), "the search path is named: \(error)")
        }
        let result = try await SNMPMIB.resolve(["NO-SUCH-MODULE-MIB::x"], searchPath: sharedMIBPath)
        #expect(throws: SNMPBridgeError(.mibModuleNotFound, "")) { try result["NO-SUCH-MODULE-MIB::x"]?.get() }
    }

    @Test func ifMIBNodes() async throws {
        let modules = try await SNMPMIB.loadModules(["IF-MIB"], searchPath: sharedMIBPath)
        let nodes = Dictionary(modules[0].nodes.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let ifDescr = try #require(nodes["ifDescr"])
        #expect(ifDescr.oid == oid("1.3.6.1.2.1.2.2.1.2"))
        #expect(ifDescr.syntax == .octetString)
        #expect(ifDescr.textualConvention == "DisplayString")
        #expect(ifDescr.access == .readOnly)
        let ifAdminStatus = try #require(nodes["ifAdminStatus"])
        #expect(ifAdminStatus.access == .readWrite)
        #expect(ifAdminStatus.enumerations.map(\.label) == ["up", "down", "testing"])
        #expect(nodes["ifEntry"]?.index == [.init(name: "ifIndex", implied: false)])
        #expect(nodes["ifXEntry"]?.augments == "ifEntry")
        #expect(nodes["ifInOctets"]?.syntax == .counter32)
        #expect(nodes["ifHCInOctets"]?.syntax == .counter64)
        #expect(nodes["ifPhysAddress"]?.textualConvention == "PhysAddress")
        #expect(nodes["ifStackStatus"]?.textualConvention == "RowStatus")
        #expect(nodes["ifStackStatus"]?.access == .readCreate)
        #expect(nodes["ifDescr"]?.description?.contains("textual string") == true)
    }

    @Test func malformedModuleIsAClearError() async throws {
        let name = "BROKEN-\(UUID().uuidString.prefix(8))-MIB"
        let directory = try temporaryMIBDirectory(file: "\(name).txt", contents: """
            \(name) DEFINITIONS ::= BEGIN
            IMPORTS OBJECT-TYPE, Integer32, mib-2 FROM SNMPv2-SMI;
            brokenObject OBJECT-TYPE
                SYNTAX      Integer32
                MAX-ACCESS  read-only
                STATUS      current
                DESCRIPTION "the next line is not SMI"
                ::= { mib-2 9999 1 }
            brokenScalar OBJECT-TYPE SYNTAX ))) garbage ::= { whatever
            END
            """)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = SNMPMIBSearchPath(directories: [sharedMIBDirectory!, directory], required: [directory])
        do {
            _ = try await SNMPMIB.loadModules([name], searchPath: path)
            Issue.record("a malformed module loaded")
        } catch {
            #expect(error.code == .mibParseError, "\(error)")
            #expect(error.reason.contains(name), "\(error)")
            #expect(error.reason.contains("At line"), "net-snmp's message with the line: \(error)")
        }
        // Asking again gives the same error, not the partial tree.
        await #expect(throws: SNMPBridgeError(.mibParseError, "")) {
            try await SNMPMIB.loadModules([name], searchPath: path)
        }
    }

    @Test(arguments: ["binary", "deep", "longToken", "unterminatedString"])
    func hostileModuleFilesFailCleanly(kind: String) async throws {
        let name = "HOSTILE-\(UUID().uuidString.prefix(8))-MIB"
        let header = "\(name) DEFINITIONS ::= BEGIN\nIMPORTS OBJECT-TYPE, mib-2 FROM SNMPv2-SMI;\n"
        let body: String
        switch kind {
        case "binary": body = String(decoding: (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 7919 &+ 13) }, as: UTF8.self)
        case "deep": body = "x OBJECT-TYPE SYNTAX INTEGER " + String(repeating: "{", count: 100_000)
        case "longToken": body = String(repeating: "a", count: 1_000_000) + " OBJECT-TYPE SYNTAX INTEGER ::= { mib-2 1 }"
        default: body = "x OBJECT-TYPE SYNTAX INTEGER MAX-ACCESS read-only STATUS current DESCRIPTION \"" + String(repeating: "d", count: 1_000_000)
        }
        let directory = try temporaryMIBDirectory(file: "\(name).txt", contents: header + body + "\nEND\n")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = SNMPMIBSearchPath(directories: [sharedMIBDirectory!, directory], required: [directory])
        do {
            _ = try await SNMPMIB.loadModules([name], searchPath: path)
            Issue.record("a hostile module loaded")
        } catch {
            #expect(error.code == .mibParseError, "\(error)")
            #expect(error.reason.contains(name), "\(error)")
        }
    }

    @Test func aMissingMIBDirectoryNamedExplicitlyIsAnError() async throws {
        let path = SNMPMIBSearchPath.standard(mibDirectories: ["/nonexistent/mibs-\(UUID().uuidString)"], environment: nil)
        await #expect(throws: SNMPBridgeError(.invalidArgument, "")) {
            try await SNMPMIB.loadModules(["IF-MIB"], searchPath: path)
        }
    }

    @Test func searchPathFollowsNetSNMP() {
        let plain = SNMPMIBSearchPath.standard(mibDirectories: ["/a"], environment: "/x:/y")
        #expect(plain.directories == ["/x", "/y", "/a"])
        let appended = SNMPMIBSearchPath.standard(mibDirectories: ["/a"], environment: "+/x")
        #expect(appended.directories.last == "/a")
        #expect(appended.directories.dropLast().last == "/x")
        #expect(appended.directories.contains("/usr/share/snmp/mibs"))
        let prepended = SNMPMIBSearchPath.standard(mibDirectories: [], environment: "-/x")
        #expect(prepended.directories.first == "/x")
        #expect(SNMPMIBSearchPath.standard(mibDirectories: [], environment: nil).directories.contains("/usr/share/snmp/mibs"))
    }
}
