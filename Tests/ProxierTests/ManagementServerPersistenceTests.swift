// The ManagementServer values the ACS sets survive a restart: stored by the persister, restored over the
// configuration's settings; local changes are not stored as the ACS's.
import CWMPClient
import Testing
@testable import Proxier

private let agentID = "00D09E-cwmp-proxy-GW-0001"

private func spv(_ gateway: GatewayDataModel, _ values: [(String, String, ParameterValueType)], key: String = "key") async throws {
    _ = try await gateway.model.setParameterValues(values.map { ParameterValueStruct(name: $0.0, value: $0.1, type: $0.2) },
                                                   parameterKey: key)
}

/// Persists the next change the persister's subscription delivers.
private func persistNext(_ persister: ManagementServerSettingsPersister,
                         sourceLocation: SourceLocation = #_sourceLocation) async throws -> ManagementServerSettingsChange {
    let change = try #require(await next(persister.changes), sourceLocation: sourceLocation)
    await persister.persist(change)
    return change
}

private func storedValues(in directory: String) async throws -> [String: StoredParameterValue] {
    try await withStore(in: directory) { store in try await store.load(agentID)?.parameterValues ?? [:] }
}

@Suite struct ManagementServerPersistenceTests {
    /// The provider keeps each committed change until its writer reports it stored: the agent drains it with each
    /// RPC (AgentPersistenceTests); a persister acknowledges what it wrote, so the journal does not grow.
    @Test func theProviderJournalHoldsChangesUntilTheyAreWritten() async throws {
        try await withTemporaryStateDirectory { directory in
            try await withStore(in: directory) { store in
                try await store.createAgent(agentID)
                let gateway = try await GatewayFixtures.model()
                let provider = gateway.managementServer
                let persister = ManagementServerSettingsPersister(provider: provider, store: store, agentID: agentID)
                try await spv(gateway, [("Device.ManagementServer.PeriodicInformInterval", "61", .unsignedInt)])
                try await provider.update { $0.periodicInformEnable = false }
                #expect(await provider.unpersistedChanges.map(\.origin) == [.acs, .local])
                _ = try await persistNext(persister)
                #expect(await provider.unpersistedChanges.map(\.origin) == [.local])
                _ = try await persistNext(persister)
                #expect(await provider.unpersistedChanges.isEmpty)
                #expect(try await store.load(agentID)?.parameterValues["Device.ManagementServer.PeriodicInformInterval"]?.value
                        == "61")
            }
        }
    }

    @Test func valuesTheACSSetAreRestoredFromTheReopenedStore() async throws {
        try await withTemporaryStateDirectory { directory in
            let expected = try await withStore(in: directory) { store in
                try await store.createAgent(agentID)
                let gateway = try await GatewayFixtures.model()
                let persister = ManagementServerSettingsPersister(provider: gateway.managementServer, store: store, agentID: agentID)
                try await spv(gateway, [
                    ("Device.ManagementServer.PeriodicInformInterval", "60", .unsignedInt),
                    ("Device.ManagementServer.URL", "https://acs2.example.net/cwmp", .string),
                    ("Device.ManagementServer.ConnectionRequestUsername", "cr2", .string),
                    ("Device.ManagementServer.ConnectionRequestPassword", "new-cr-s3cret", .string),
                    ("Device.ManagementServer.CWMPRetryMinimumWaitInterval", "30", .unsignedInt),
                    ("Device.ManagementServer.CWMPRetryIntervalMultiplier", "3000", .unsignedInt),
                    ("Device.ManagementServer.HeartbeatPolicy.Enable", "true", .boolean),
                    ("Device.ManagementServer.HeartbeatPolicy.ReportingInterval", "120", .unsignedInt),
                ])
                #expect(try await persistNext(persister).origin == .acs)
                let (number, _) = try await gateway.model.addObject("Device.ManagementServer.InformParameter.", parameterKey: "add")
                _ = try await persistNext(persister)
                let row = "Device.ManagementServer.InformParameter.\(number)."
                try await spv(gateway, [
                    (row + "Enable", "true", .boolean),
                    (row + "ParameterName", "Device.DeviceInfo.UpTime", .string),
                    (row + "EventList", "1 BOOT,2 PERIODIC", .string),
                ])
                _ = try await persistNext(persister)
                return await gateway.managementServer.settings
            }
            #expect(expected.periodicInformInterval == 60 && expected.informParameters.count == 1)

            // The next start: the same configuration, then the stored values over it.
            let stored = try await storedValues(in: directory)
            let restored = GatewayFixtures.settings.restoring(stored)
            #expect(restored.ignored.isEmpty)
            #expect(restored.settings == expected)
            #expect(stored["Device.ManagementServer.ConnectionRequestPassword"]?.value == "new-cr-s3cret")
            #expect(stored["Device.ManagementServer.Username"] == nil, "what the ACS did not set is not stored")

            let gateway = try await GatewayFixtures.model(settings: restored.settings)
            let values = try await gateway.model.getParameterValues([
                "Device.ManagementServer.PeriodicInformInterval", "Device.ManagementServer.URL",
                "Device.ManagementServer.InformParameter.1.ParameterName",
            ])
            #expect(values["Device.ManagementServer.PeriodicInformInterval"] == "60")
            #expect(values["Device.ManagementServer.URL"] == "https://acs2.example.net/cwmp")
            #expect(values["Device.ManagementServer.InformParameter.1.ParameterName"] == "Device.DeviceInfo.UpTime")
        }
    }

    @Test func deletedInformParameterRowsAreNotRestored() async throws {
        try await withTemporaryStateDirectory { directory in
            try await withStore(in: directory) { store in
                try await store.createAgent(agentID)
                let gateway = try await GatewayFixtures.model()
                let persister = ManagementServerSettingsPersister(provider: gateway.managementServer, store: store, agentID: agentID)
                let (number, _) = try await gateway.model.addObject("Device.ManagementServer.InformParameter.", parameterKey: "add")
                _ = try await persistNext(persister)
                _ = try await gateway.model.deleteObject("Device.ManagementServer.InformParameter.\(number).", parameterKey: "del")
                _ = try await persistNext(persister)
            }
            let stored = try await storedValues(in: directory)
            #expect(stored.keys.filter { $0.hasPrefix("Device.ManagementServer.InformParameter.") }.isEmpty)
            let configured = ManagementServerSettings(informParameters: [.init(key: "factory", enable: true, parameterName: "Device.DeviceInfo.UpTime")])
            #expect(configured.restoring(stored).settings.informParameters.isEmpty, "the ACS emptied the table")
        }
    }

    @Test func localChangesAreNotStoredAsTheACSs() async throws {
        try await withTemporaryStateDirectory { directory in
            try await withStore(in: directory) { store in
                try await store.createAgent(agentID)
                let gateway = try await GatewayFixtures.model()
                let persister = ManagementServerSettingsPersister(provider: gateway.managementServer, store: store, agentID: agentID)
                try await spv(gateway, [("Device.ManagementServer.PeriodicInformInterval", "60", .unsignedInt),
                                        ("Device.ManagementServer.CWMPRetryMinimumWaitInterval", "30", .unsignedInt)])
                _ = try await persistNext(persister)
                try await gateway.managementServer.update {
                    $0.periodicInformInterval = 900
                    $0.username = "local-user"
                }
                #expect(try await persistNext(persister).origin == .local)
            }
            let stored = try await storedValues(in: directory)
            #expect(stored["Device.ManagementServer.PeriodicInformInterval"] == nil, "the local change replaced the ACS's value")
            #expect(stored["Device.ManagementServer.Username"] == nil)
            #expect(stored["Device.ManagementServer.CWMPRetryMinimumWaitInterval"]?.value == "30")
            let restored = GatewayFixtures.settings.restoring(stored).settings
            #expect(restored.periodicInformInterval == GatewayFixtures.settings.periodicInformInterval)
            #expect(restored.username == GatewayFixtures.settings.username)
            #expect(restored.cwmpRetryMinimumWaitInterval == 30)
        }
    }

    @Test func aCancelledPersisterStillWritesTheChangesAlreadyPublished() async throws {
        // The daemon's shutdown: the agents stopped, then the persister is cancelled and awaited before the store closes.
        try await withTemporaryStateDirectory { directory in
            try await withStore(in: directory) { store in
                try await store.createAgent(agentID)
                let gateway = try await GatewayFixtures.model()
                let persister = ManagementServerSettingsPersister(provider: gateway.managementServer, store: store, agentID: agentID)
                try await spv(gateway, [("Device.ManagementServer.PeriodicInformInterval", "61", .unsignedInt)])
                try await spv(gateway, [("Device.ManagementServer.PeriodicInformInterval", "62", .unsignedInt)])
                let task = Task { await persister.run() }
                task.cancel()
                await task.value
            }
            #expect(try await storedValues(in: directory)["Device.ManagementServer.PeriodicInformInterval"]?.value == "62")
        }
    }

    @Test func everyMappedFieldRoundTripsThroughTheStore() async throws {
        let custom = ManagementServerSettings(
            enableCWMP: false, url: "https://acs9.example.net:7548/cwmp", username: "u9", password: "p9-s3cret",
            periodicInformEnable: false, periodicInformInterval: 86_400, periodicInformTime: "2026-01-02T03:04:05Z",
            connectionRequestUsername: "cru9", connectionRequestPassword: "crp9-s3cret", upgradesManaged: true,
            defaultActiveNotificationThrottle: 17, cwmpRetryMinimumWaitInterval: 65535, cwmpRetryIntervalMultiplier: 1000,
            httpConnectionRequestEnable: false, manageableDeviceNotificationLimit: 9,
            autonomousTransferCompletePolicy: .init(enable: true, transferTypeFilter: "Upload", resultTypeFilter: "Failure",
                                                    fileTypeFilter: "1 Firmware Upgrade Image"),
            heartbeatPolicy: .init(enable: true, reportingInterval: 45, initiationTime: "2026-03-04T05:06:07Z"),
            informParameters: [
                .init(key: "2", enable: true, parameterName: "Device.DeviceInfo.UpTime", eventList: ["1 BOOT", "2 PERIODIC"]),
                .init(key: "5+", enable: false, parameterName: "", eventList: []),
            ])
        try custom.validate()
        let values = custom.storedParameterValues
        #expect(values.count == ManagementServerSettings.fields.count + 1 + 3 * custom.informParameters.count)
        #expect(values["Device.ManagementServer.PeriodicInformInterval"]?.type == "unsignedInt")
        #expect(values["Device.ManagementServer.EnableCWMP"]?.type == "boolean")
        #expect(values["Device.ManagementServer.HeartbeatPolicy.InitiationTime"]?.type == "dateTime")
        #expect(!"\(values)".contains("s3cret"), "stored values never show a password")

        try await withTemporaryStateDirectory { directory in
            try await withStore(in: directory) { store in
                try await store.createAgent(agentID)
                _ = try await store.apply(values.sorted { $0.key < $1.key }.map { .setValue(path: $0.key, $0.value) }, to: agentID)
            }
            let restored = ManagementServerSettings().restoring(try await storedValues(in: directory))
            #expect(restored.ignored.isEmpty)
            #expect(restored.settings == custom)
            // The persister's own writes: a change from the defaults to `custom` stores everything that differs.
            let change = ManagementServerSettingsChange(previous: ManagementServerSettings(), current: custom, origin: .acs,
                                                        changedParameters: custom.changedParameters(comparedTo: ManagementServerSettings()))
            var stored: [String: StoredParameterValue] = [:]
            for case let .setValue(path, value) in ManagementServerSettings.storeChanges(for: change) { stored[path] = value }
            #expect(ManagementServerSettings().restoring(stored).settings == custom)
        }
    }

    @Test func invalidStoredValuesAreIgnoredAndOthersKept() {
        let stored: [String: StoredParameterValue] = [
            "Device.ManagementServer.PeriodicInformInterval": .init(value: "0", type: "unsignedInt"),
            "Device.ManagementServer.URL": .init(value: "ftp://nowhere"),
            "Device.ManagementServer.Username": .init(value: "kept"),
            "Device.ManagementServer.X_CWMPPROXY_ConnectionRequestPath": .init(value: "/abc"),
        ]
        let restored = GatewayFixtures.settings.restoring(stored)
        #expect(restored.ignored == ["Device.ManagementServer.PeriodicInformInterval", "Device.ManagementServer.URL"])
        #expect(restored.settings.username == "kept")
        #expect(restored.settings.url == GatewayFixtures.settings.url)
        #expect(restored.settings.periodicInformInterval == GatewayFixtures.settings.periodicInformInterval)
    }
}
