import CWMPClient
import Testing
@testable import Proxier

@Suite struct SchemaTreeTests {
    @Test func tablesHaveATableNodeAndAnInstanceNode() throws {
        let tree = TestSchema.tree
        #expect(tree.node(atTemplate: "Device.IP.Interface.")?.kind == .table)
        #expect(tree.node(atTemplate: "Device.IP.Interface.{i}.")?.kind == .instance)
        #expect(tree.node(atTemplate: "Device.IP.Interface.")?.isWritableTable == true)
        #expect(tree.node(atTemplate: "Device.Hosts.Host.")?.isWritableTable == false)
        #expect(tree.node(atTemplate: "Device.IP.")?.childObjectNames == ["Interface"])
        #expect(tree.node(atTemplate: "Device.IP.Interface.{i}.")?.childObjectNames == ["IPv4Address", "Stats"])
        #expect(tree.root.childObjectNames == ["Device"])
    }

    @Test func ancestorsMissingFromTheSchemaAreSupplied() {
        let tree = SchemaTree(DataModelSchema(objects: [
            ObjectSchema(path: "Device.Services.X_TEST_Thing.{i}.", access: .readWrite, maxEntries: nil, parameters: []),
        ]))
        #expect(tree.node(atTemplate: "Device.")?.kind == .object)
        #expect(tree.node(atTemplate: "Device.Services.")?.childObjectNames == ["X_TEST_Thing"])
        #expect(tree.node(atTemplate: "Device.Services.X_TEST_Thing.")?.kind == .table)
    }

    @Test func aSchemaRestrictedToWhatADeviceSupports() {
        let supported: Set<String> = ["Device.DeviceInfo.", "Device.IP.Interface.{i}.Enable", "Device.IP.InterfaceNumberOfEntries"]
        let tree = SchemaTree(TestSchema.schema.restricted(to: supported))
        #expect(tree.node(atTemplate: "Device.DeviceInfo.")?.parameters.count == 5)
        #expect(tree.node(atTemplate: "Device.IP.Interface.{i}.")?.parameters.map(\.name) == ["Enable"])
        // The table keeps its access and limits.
        #expect(tree.node(atTemplate: "Device.IP.Interface.{i}.")?.schema?.maxEntries == 4)
        #expect(tree.node(atTemplate: "Device.IP.Interface.{i}.")?.isWritableTable == true)
        #expect(tree.node(atTemplate: "Device.IP.Interface.{i}.Stats.") == nil)
        #expect(tree.node(atTemplate: "Device.Hosts.") == nil)
        #expect(tree.node(atTemplate: "Device.")?.parameters.isEmpty == true)
    }
}
