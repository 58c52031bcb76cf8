import Foundation
import Testing
@testable import UPnPDM

enum Fixture {
    /// A file under Tests/UPnPDMTests/Fixtures (copied into the test bundle).
    static func bytes(_ name: String) throws -> [UInt8] {
        let url = try #require(Bundle.module.url(forResource: "Fixtures/" + name, withExtension: nil),
                               "missing fixture \(name)")
        return [UInt8](try Data(contentsOf: url))
    }
}

@Suite struct DeviceDescriptionTests {
    @Test func embeddedDevicesWithURLBaseAndPaddedValues() throws {
        let description = try UPnPDeviceDescription(parsing: Fixture.bytes("igd-embedded-urlbase.xml"),
                                                     location: "http://192.168.1.1:5431/dyndev/uuid:1111")
        #expect(description.specVersion == "1.1")
        #expect(description.configID == 42)
        #expect(description.urlBase == "http://192.168.1.1:5431/")
        let root = description.device
        #expect(root.deviceType == "urn:schemas-upnp-org:device:InternetGatewayDevice:1")
        #expect(root.friendlyName == "Home Gateway")
        #expect(root.manufacturer == "Example Networks")
        #expect(root.manufacturerURL == "http://www.example.net/")
        #expect(root.modelDescription == "DSL gateway")
        #expect(root.modelName == "HG-1")
        #expect(root.modelNumber == "1.0")
        #expect(root.modelURL == "http://192.168.1.1:5431/model.html")
        #expect(root.serialNumber == "SN0001")
        #expect(root.udn == "uuid:11111111-2222-3333-4444-555555555555")
        #expect(root.uuid == "11111111-2222-3333-4444-555555555555")
        #expect(root.upc == "012345678905")
        #expect(root.presentationURL == "http://192.168.1.1:5431/")
        #expect(root.services.map(\.controlURL) == ["http://192.168.1.1:5431/uuid:1111/Layer3Forwarding:1"])
        #expect(root.services[0].scpdURL == "http://192.168.1.1:5431/l3f.xml")
        #expect(root.services[0].eventSubURL == "http://192.168.1.1:5431/uuid:1111/Layer3Forwarding:1/event")
        #expect(root.services[0].serviceId == "urn:upnp-org:serviceId:L3Forwarding1")

        #expect(description.allDevices.map(\.deviceType) == [
            "urn:schemas-upnp-org:device:InternetGatewayDevice:1", "urn:schemas-upnp-org:device:WANDevice:1",
            "urn:schemas-upnp-org:device:WANConnectionDevice:1",
        ])
        let wan = root.embeddedDevices[0]
        #expect(wan.services[0].scpdURL == "http://192.168.1.1:5431/wancic.xml")
        #expect(wan.services[0].controlURL == "http://192.168.1.1:5431/control/wancic")
        #expect(wan.manufacturerURL == nil)
        let connection = wan.embeddedDevices[0]
        #expect(connection.udn == "uuid:11111111-2222-3333-4444-777777777777")
        // Absolute URLs stay as written, even on another port.
        #expect(connection.services[0].controlURL == "http://192.168.1.1:49000/upnp/control/wanipc")
        #expect(connection.services[0].eventSubURL == "http://192.168.1.1:5431/upnp/event/wanipc")
    }

    @Test func urlsResolveAgainstTheLocationWithoutURLBase() throws {
        let description = try UPnPDeviceDescription(parsing: Fixture.bytes("dm-device-relative.xml"),
                                                     location: "http://10.77.0.2:8000/dm/device.xml")
        #expect(description.urlBase == nil)
        #expect(description.baseURL == "http://10.77.0.2:8000/dm/device.xml")
        let services = description.device.services
        #expect(services.map(\.serviceType) == [
            "urn:schemas-upnp-org:service:BasicManagement:2", "urn:schemas-upnp-org:service:ConfigurationManagement:2",
            "urn:schemas-upnp-org:service:SoftwareManagement:2",
        ])
        #expect(services[0].controlURL == "http://10.77.0.2:8000/dm/bms/control")
        #expect(services[1].controlURL == "http://10.77.0.2:8000/dm/cms/control")
        #expect(services[1].scpdURL == "http://10.77.0.2:8000/dm/cms.xml")
        #expect(services[1].eventSubURL == "")
        let cms = try #require(description.device.service(type: "urn:schemas-upnp-org:service:ConfigurationManagement:2"))
        #expect(cms.endpoint == UPnPServiceEndpoint(serviceType: "urn:schemas-upnp-org:service:ConfigurationManagement:2",
                                                    controlURL: "http://10.77.0.2:8000/dm/cms/control"))
        #expect(description.device.embeddedDevices.isEmpty)
        #expect(description.device.manufacturerURL == nil)
    }

    @Test func gwsimStylePaddingAndAbsoluteURLs() throws {
        let description = try UPnPDeviceDescription(parsing: Fixture.bytes("gwsim-style-description.xml"),
                                                     location: "http://10.77.0.2:60001/")
        #expect(description.device.udn == "uuid:3f8d0e1c-0000-0000-0000-000000000001")
        #expect(description.device.friendlyName == "devolo gateway simulation")
        #expect(description.device.deviceType == "urn:schemas-upnp-org:device:InternetGatewayDevice:2")
        let service = try #require(description.device.services.first)
        #expect(service.serviceType == "urn:schemas-upnp-org:service:ConfigurationManagement:2")
        #expect(service.controlURL == "http://10.77.0.2:60001/upnp/control/cms")
    }

    @Test func missingUDNIsInvalid() {
        let xml = "<root xmlns=\"urn:schemas-upnp-org:device-1-0\"><device><deviceType>t</deviceType></device></root>"
        #expect(throws: UPnPDMError(.invalidDescription, "")) {
            try UPnPDeviceDescription(parsing: Array(xml.utf8), location: "http://127.0.0.1/")
        }
    }

    @Test func wrongRootIsInvalid() {
        #expect(throws: UPnPDMError(.invalidDescription, "")) {
            try UPnPDeviceDescription(parsing: Array("<scpd/>".utf8), location: "http://127.0.0.1/")
        }
    }

    @Test func embeddedDevicesCannotNestWithoutBound() {
        var xml = ""
        for index in 0..<12 { xml += "<device><deviceType>t</deviceType><UDN>uuid:\(index)</UDN><deviceList>" }
        for _ in 0..<12 { xml += "</deviceList></device>" }
        #expect(throws: UPnPDMError(.invalidDescription, "")) {
            try UPnPDeviceDescription(parsing: Array("<root>\(xml)</root>".utf8), location: "http://127.0.0.1/")
        }
    }
}

@Suite struct ServiceDescriptionTests {
    @Test func cmsTemplateExcerpt() throws {
        let scpd = try UPnPServiceDescription(parsing: Fixture.bytes("cms2-scpd-excerpt.xml"))
        #expect(scpd.specVersionMajor == 2)
        #expect(scpd.actions.map(\.name) == ["GetSupportedDataModels", "GetValues", "CreateInstance",
                                             "GetCurrentConfigurationVersion"])
        let create = try #require(scpd.action(named: "CreateInstance"))
        #expect(create.isOptional)
        #expect(create.inArguments.map(\.name) == ["MultiInstanceName", "ChildrenInitialization"])
        #expect(create.outArguments.map(\.name) == ["InstanceIdentifier", "Status"])
        #expect(create.arguments[0].relatedStateVariable == "A_ARG_TYPE_MultiInstancePath")
        let getValues = try #require(scpd.action(named: "GetValues"))
        #expect(!getValues.isOptional)
        #expect(getValues.arguments.map(\.direction) == [.in, .out])
        #expect(scpd.action(named: "GetCurrentConfigurationVersion")?.arguments.first?.isReturnValue == true)

        #expect(scpd.stateVariable(named: "ConfigurationUpdate")?.sendEvents == true)
        #expect(scpd.stateVariable(named: "CurrentConfigurationVersion")?.sendEvents == false)
        #expect(scpd.stateVariable(named: "CurrentConfigurationVersion")?.dataType == "ui4")
        #expect(scpd.stateVariable(named: "A_ARG_TYPE_ChangeStatus")?.allowedValues == ["ChangesCommitted", "ChangesApplied"])
        #expect(scpd.stateVariable(named: "A_ARG_TYPE_SearchDepth")?.defaultValue == "0")
    }

    /// Rygel's own BasicManagement:2 SCPD from the Debian package (LGPL, so read in place, not committed).
    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/usr/share/rygel/xml/BasicManagement2.xml"),
                   "rygel is not installed (scripts/install-deps --tests)"))
    func rygelBasicManagement2() throws {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: "/usr/share/rygel/xml/BasicManagement2.xml")))
        let scpd = try UPnPServiceDescription(parsing: bytes)
        // The actions upnp-dm.md §3.1 marks as implemented by Rygel, in SCPD order.
        #expect(scpd.actions.map(\.name) == ["GetDeviceStatus", "Ping", "GetPingResult", "NSLookup",
                                             "GetNSLookupResult", "Traceroute", "GetTracerouteResult", "GetTestIDs",
                                             "GetActiveTestIDs", "GetTestInfo", "CancelTest"])
        #expect(scpd.action(named: "Ping")?.inArguments.map(\.name) == ["Host", "NumberOfRepetitions", "Timeout",
                                                                         "DataBlockSize", "DSCP"])
        #expect(scpd.action(named: "Ping")?.outArguments.map(\.name) == ["TestID"])
        #expect(scpd.stateVariable(named: "DeviceStatus")?.sendEvents == true)
        let dscp = try #require(scpd.stateVariable(named: "A_ARG_TYPE_DSCP"))
        #expect(dscp.dataType == "ui1")
        #expect(dscp.allowedRange == UPnPStateVariable.AllowedRange(minimum: "0", maximum: "63", step: nil))
    }

    @Test func argumentWithoutDirectionIsInvalid() {
        let xml = "<scpd><actionList><action><name>A</name><argumentList><argument><name>X</name></argument>"
            + "</argumentList></action></actionList></scpd>"
        #expect(throws: UPnPDMError(.invalidDescription, "")) { try UPnPServiceDescription(parsing: Array(xml.utf8)) }
    }
}
