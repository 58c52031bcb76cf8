import CWMPClient
import Testing
@testable import Proxier

@Suite struct ParameterAttributesTests {
    func set(_ name: String, notification: Int? = nil, accessList: [String]? = nil) -> SetParameterAttributesStruct {
        SetParameterAttributesStruct(name: name, notificationChange: notification != nil,
                                     notification: NotificationValue(rawValue: notification ?? 0),
                                     accessListChange: accessList != nil, accessList: accessList ?? [])
    }

    @Test func defaultsFollowActiveNotify() async throws {
        let (model, _) = try await TestSchema.make()
        let attributes = try await model.getParameterAttributes(["Device.DeviceInfo.UpTime", "Device.DeviceInfo.SoftwareVersion",
                                                                 "Device.ManagementServer.ConnectionRequestURL"])
        #expect(attributes == [
            ParameterAttributeStruct(name: "Device.DeviceInfo.UpTime", notification: .off, accessList: []),
            ParameterAttributeStruct(name: "Device.DeviceInfo.SoftwareVersion", notification: .active, accessList: []),
            ParameterAttributeStruct(name: "Device.ManagementServer.ConnectionRequestURL", notification: .active, accessList: []),
        ])
    }

    @Test func setAndGetNotificationAndAccessList() async throws {
        let (model, _) = try await TestSchema.make()
        try await model.setParameterAttributes([set("Device.ManagementServer.URL", notification: 2, accessList: ["Subscriber"])])
        #expect(try await model.getParameterAttributes(["Device.ManagementServer.URL"])
                == [ParameterAttributeStruct(name: "Device.ManagementServer.URL", notification: .active, accessList: ["Subscriber"])])
    }

    @Test func changeFlagsFalseLeaveTheAttributeAlone() async throws {
        let (model, _) = try await TestSchema.make()
        try await model.setParameterAttributes([set("Device.ManagementServer.URL", notification: 1, accessList: ["Subscriber"])])
        try await model.setParameterAttributes([SetParameterAttributesStruct(name: "Device.ManagementServer.URL", notificationChange: false,
                                                                             notification: .active, accessListChange: false, accessList: [])])
        #expect(try await model.getParameterAttributes(["Device.ManagementServer.URL"]).first
                == ParameterAttributeStruct(name: "Device.ManagementServer.URL", notification: .passive, accessList: ["Subscriber"]))
    }

    @Test func partialPathsApplyToEveryParameterBelow() async throws {
        let (model, _) = try await TestSchema.make()
        try await model.setParameterAttributes([set("Device.Hosts.", notification: 1)])
        let attributes = try await model.getParameterAttributes(["Device.Hosts."])
        #expect(attributes.count == 10)
        #expect(attributes.allSatisfy { $0.notification == .passive })
    }

    @Test func activeNotificationIsRejectedOnCanDenyAndWillDenyParameters() async throws {
        let (model, _) = try await TestSchema.make()
        #expect(await fault { try await model.setParameterAttributes([set("Device.DeviceInfo.UpTime", notification: 2)]) }?.code
                == .notificationRequestRejected)
        #expect(await fault { try await model.setParameterAttributes([set("Device.DeviceInfo.X_TEST_Noisy", notification: 2)]) }?.code
                == .notificationRequestRejected)
        // Passive notification can never be refused.
        try await model.setParameterAttributes([set("Device.DeviceInfo.UpTime", notification: 1)])
        #expect(try await model.getParameterAttributes(["Device.DeviceInfo.UpTime"]).first?.notification == .passive)
    }

    @Test func forceEnabledParametersStayActive() async throws {
        let (model, _) = try await TestSchema.make()
        #expect(await fault { try await model.setParameterAttributes([set("Device.DeviceInfo.SoftwareVersion", notification: 0)]) }?.code
                == .notificationRequestRejected)
        try await model.setParameterAttributes([set("Device.DeviceInfo.SoftwareVersion", notification: 2)])
        #expect(try await model.getParameterAttributes(["Device.DeviceInfo.SoftwareVersion"]).first?.notification == .active)
    }

    @Test func forceDefaultEnabledParametersCanBeTurnedOff() async throws {
        let (model, _) = try await TestSchema.make()
        try await model.setParameterAttributes([set("Device.ManagementServer.ConnectionRequestURL", notification: 0)])
        #expect(try await model.getParameterAttributes(["Device.ManagementServer.ConnectionRequestURL"]).first?.notification == .off)
    }

    @Test func aPartialPathSkipsParametersThatRefuseTheValue() async throws {
        let (model, _) = try await TestSchema.make()
        try await model.setParameterAttributes([set("Device.DeviceInfo.", notification: 2)])
        let attributes = try await model.getParameterAttributes(["Device.DeviceInfo."])
        let byName = Dictionary(uniqueKeysWithValues: attributes.map { ($0.name, $0.notification) })
        #expect(byName["Device.DeviceInfo.Manufacturer"] == .active)
        #expect(byName["Device.DeviceInfo.UpTime"] == .off)
        try await model.setParameterAttributes([set("Device.DeviceInfo.", notification: 0)])
        #expect(try await model.getParameterAttributes(["Device.DeviceInfo.SoftwareVersion"]).first?.notification == .active)
    }

    @Test(arguments: [3, 4, 5, 6, 7, -1])
    func notificationValuesBeyondTwoAre9003(_ value: Int) async throws {
        let (model, _) = try await TestSchema.make()
        #expect(await fault { try await model.setParameterAttributes([set("Device.ManagementServer.URL", notification: value)]) }?.code
                == .invalidArguments)
    }

    @Test func accessListEntriesOtherThanSubscriberAre9003() async throws {
        let (model, _) = try await TestSchema.make()
        #expect(await fault { try await model.setParameterAttributes([set("Device.ManagementServer.URL", accessList: ["Admin"])]) }?.code
                == .invalidArguments)
    }

    @Test func setParameterAttributesIsAllOrNothing() async throws {
        let (model, _) = try await TestSchema.make()
        #expect(await fault {
            try await model.setParameterAttributes([set("Device.ManagementServer.URL", notification: 1),
                                                    set("Device.DeviceInfo.UpTime", notification: 2)])
        } != nil)
        #expect(await fault { try await model.setParameterAttributes([set("Device.ManagementServer.URL", notification: 1), set("Device.Nope", notification: 1)]) }?.code
                == .invalidParameterName)
        #expect(try await model.getParameterAttributes(["Device.ManagementServer.URL"]).first?.notification == .off)
    }

    @Test func unknownNamesAre9005() async throws {
        let (model, _) = try await TestSchema.make()
        #expect(await fault { try await model.getParameterAttributes(["Device.DeviceInfo.Nope"]) }?.code == .invalidParameterName)
    }

    // MARK: Value changes

    @Test func changesByOthersThanTheACSAreReportedWhenNotificationAsks() async throws {
        let (model, _) = try await TestSchema.make()
        try await model.setParameterAttributes([set("Device.ManagementServer.PeriodicInformInterval", notification: 2, accessList: ["Subscriber"]),
                                                set("Device.ManagementServer.URL", accessList: ["Subscriber"])])
        _ = try await model.setParameterValues([ParameterValueStruct(name: "Device.ManagementServer.PeriodicInformInterval", value: "60", type: .unsignedInt),
                                                ParameterValueStruct(name: "Device.ManagementServer.URL", value: "https://c.example/")],
                                               parameterKey: "", origin: .subscriber)
        #expect(await model.takeValueChanges() == [DataModel.ValueChange(name: "Device.ManagementServer.PeriodicInformInterval",
                                                                         notification: .active)])
        #expect(await model.takeValueChanges().isEmpty)
    }

    @Test func changesByTheACSAreNotReported() async throws {
        let (model, _) = try await TestSchema.make()
        try await model.setParameterAttributes([set("Device.ManagementServer.URL", notification: 2)])
        _ = try await model.setParameterValues([ParameterValueStruct(name: "Device.ManagementServer.URL", value: "https://d.example/")],
                                               parameterKey: "")
        #expect(await model.takeValueChanges().isEmpty)
    }

    @Test func providersReportChangesInTheirOwnTerms() async throws {
        let (model, _) = try await TestSchema.make()
        try await model.setParameterAttributes([set("Device.IP.Interface.[wan].Enable", notification: 1)])
        await model.recordValueChanges([ProviderPath(template: "Device.IP.Interface.{i}.Enable", instanceKeys: ["1"]),
                                        ProviderPath(template: "Device.IP.Interface.{i}.Enable", instanceKeys: ["2"]),
                                        ProviderPath(template: "Device.DeviceInfo.SoftwareVersion")], mountedAt: "Device.")
        #expect(await model.takeValueChanges() == [
            DataModel.ValueChange(name: "Device.IP.Interface.1.Enable", notification: .passive),
            DataModel.ValueChange(name: "Device.DeviceInfo.SoftwareVersion", notification: .active),
        ])
    }
}
