import CWMPClient
import Testing
@testable import Proxier

@Suite struct DataModelPathTests {
    @Test func parsesParameterPartialAndEmptyPaths() throws {
        let parameter = try DataModelPath(parsing: "Device.DeviceInfo.UpTime")
        #expect(parameter.segments == [.name("Device"), .name("DeviceInfo"), .name("UpTime")])
        #expect(!parameter.isPartial)
        let partial = try DataModelPath(parsing: "Device.IP.Interface.3.")
        #expect(partial.segments == [.name("Device"), .name("IP"), .name("Interface"), .instance(3)])
        #expect(partial.isPartial)
        #expect(try DataModelPath(parsing: "") == .root)
        #expect(DataModelPath.root.isPartial && DataModelPath.root.isRoot)
    }

    @Test(arguments: ["Device.DeviceInfo.UpTime", "Device.IP.Interface.3.", "Device.IP.Interface.[wan].Enable",
                      "Device.Hosts.Host.*.HostName", "Device.X_ACME-COM_Thing.", ""])
    func printsWhatItParsed(_ text: String) throws {
        #expect(try DataModelPath(parsing: text).description == text)
    }

    @Test func mapsInstancePathsToTemplates() throws {
        #expect(try DataModelPath(parsing: "Device.IP.Interface.3.IPv4Address.1.Enable").template
                == "Device.IP.Interface.{i}.IPv4Address.{i}.Enable")
        #expect(try DataModelPath(parsing: "Device.IP.Interface.[wan].IPv4Address.*.").template
                == "Device.IP.Interface.{i}.IPv4Address.{i}.")
        #expect(try DataModelPath(parsing: "Device.IP.").template == "Device.IP.")
    }

    @Test func parsesAliasesAndWildcards() throws {
        let path = try DataModelPath(parsing: "Device.IP.Interface.[cpe-1].IPv4Address.*.Enable")
        #expect(path.segments[3] == .alias("cpe-1"))
        #expect(path.segments[5] == .instanceWildcard)
        #expect(!path.isInstanceNumberForm)
    }

    @Test(arguments: [
        "Device..DeviceInfo",      // empty segment
        ".Device.",                // leading dot
        "Device.DeviceInfo..",     // trailing empty segment
        "Device.IP.Interface.0.",  // instance numbers start at 1
        "Device.IP.Interface.-1.", // no negative numbers
        "Device.IP.Interface.01.", // not canonical
        "Device.IP.Interface.4294967296.", // beyond unsignedInt
        "Device.IP.Interface.99999999999999999999999999999999.",
        "1.Device.",               // a path starts with a name
        "Device.IP.Interface.[].", // empty alias
        "Device.IP.Interface.[a]b.",
        "Device.IP.Interface.[a[b]].",
        "Device.Dévice.",          // names are ASCII
        "Device.😀.",
        "Device.IP Address",
        "Device.IP.Interface.**.",
        ".",
        "Device.\u{0}.",
    ])
    func rejectsMalformedPathsWith9005(_ text: String) {
        #expect(throws: ProxierError(.invalidPath, "")) { try DataModelPath(parsing: text) }
        #expect(CWMPFault(converting: ProxierError(.invalidPath, "")).code == .invalidParameterName)
    }

    @Test func rejectsNamesLongerThan256Characters() throws {
        let longest = "Device." + String(repeating: "A", count: 249)
        #expect(longest.count == 256)
        #expect(try DataModelPath(parsing: longest).segments.count == 2)
        #expect(throws: ProxierError(.invalidPath, "")) { try DataModelPath(parsing: longest + "B") }
        #expect(throws: ProxierError(.invalidPath, "")) { try DataModelPath(parsing: String(repeating: "Device.", count: 10_000)) }
    }

    @Test func acceptsTheLargestInstanceNumber() throws {
        #expect(try DataModelPath(parsing: "Device.IP.Interface.4294967295.").segments.last == .instance(UInt32.max))
    }

    @Test func rejectsAliasesLongerThan64Characters() {
        let alias = String(repeating: "a", count: 65)
        #expect(throws: ProxierError(.invalidPath, "")) { try DataModelPath(parsing: "Device.IP.Interface.[\(alias)].") }
    }
}
