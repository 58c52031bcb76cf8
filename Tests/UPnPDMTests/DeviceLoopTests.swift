// Running a device's actions on the event loop of its connection (EventLoopTaskExecutor,
// UPnPHTTPClient.preferredExecutor(for:), UPnPDMProvider): where the code runs, that the answers are unchanged,
// and that a deadline still ends an action there.
import CWMPTestSupport
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Proxier
import Testing
@testable import UPnPDM

private let cmsType = "urn:schemas-upnp-org:service:ConfigurationManagement:2"

/// A group of its own for the test, shut down after `body` whatever happens.
private func withGroup<T>(threads: Int, _ body: (MultiThreadedEventLoopGroup) async throws -> T) async throws -> T {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
    do {
        let result = try await body(group)
        try await group.shutdownGracefully()
        return result
    } catch {
        try? await group.shutdownGracefully()
        throw error
    }
}

@Suite struct EventLoopTaskExecutorTests {
    @Test func jobsRunOnTheLoopInOrder() async throws {
      try await withGroup(threads: 1) { group in
        let loop = group.next()
        let executor = EventLoopTaskExecutor(loop)
        let order = NIOLockedValueBox<[Int]>([])
        await withTaskGroup(of: Void.self) { tasks in
            for index in 0..<20 {
                tasks.addTask(executorPreference: executor) {
                    #expect(loop.inEventLoop)
                    order.withLockedValue { $0.append(index) }
                }
            }
        }
        #expect(order.withLockedValue { $0.count } == 20)
        let onLoop = await withTaskExecutorPreference(executor) { loop.inEventLoop }
        #expect(onLoop)
        let offLoop = await Task.detached { loop.inEventLoop }.value
        #expect(!offLoop)
      }
    }

    @Test func eachDeviceHasOneLoopAndOneExecutor() throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 3)
        defer { try? group.syncShutdownGracefully() }   // synchronous test: no loop work is pending
        let client = UPnPHTTPClient(eventLoopGroup: group)
        for port in 4000..<4020 {
            let url = "http://127.0.0.1:\(port)/upnp/control/cms"
            let executor = try #require(client.preferredExecutor(for: url) as? EventLoopTaskExecutor)
            // Same executor object every time (no allocation per call), on the loop the connections use.
            #expect(client.preferredExecutor(for: url) as? EventLoopTaskExecutor === executor)
            #expect(executor.eventLoop === client.eventLoop(for: "http://127.0.0.1:\(port)/other"))
        }
        #expect(client.preferredExecutor(for: "not a url") == nil)
    }

    @Test func aDeadlineStillEndsAnActionRunOnTheLoop() async throws {
        let short = UPnPControlClient(actionTimeout: .milliseconds(300))
        try await withMisbehavingServer(ServerScript([.hang])) { server in
            let endpoint = UPnPServiceEndpoint(serviceType: cmsType, controlURL: server.url("/c"))
            let executor = try #require(short.preferredExecutor(for: endpoint))
            _ = await withTaskExecutorPreference(executor) {
                await #expect(throws: UPnPDMError(.deadlineExceeded, "")) {
                    try await short.invoke("GetValues", arguments: [], on: endpoint)
                }
            }
        }
    }

    @Test func cancellingTheCallerEndsAnActionRunOnTheLoop() async throws {
        let client = UPnPControlClient(actionTimeout: .seconds(20))
        try await withMisbehavingServer(ServerScript([.hang])) { server in
            let endpoint = UPnPServiceEndpoint(serviceType: cmsType, controlURL: server.url("/c"))
            let executor = try #require(client.preferredExecutor(for: endpoint))
            let task = Task(executorPreference: executor) {
                try await client.invoke("GetValues", arguments: [], on: endpoint)
            }
            try await Task.sleep(for: .milliseconds(200))
            task.cancel()
            await #expect(throws: UPnPDMError(.deadlineExceeded, "")) { try await task.value }
        }
    }
}

/// A CMS double that records whether each action ran on the loop of its `preferredExecutor`. Only the provider's
/// wiring is under test here; the real device below shows the real client.
private final class LoopRecordingCMS: UPnPActionInvoking, @unchecked Sendable {
    let executor: EventLoopTaskExecutor
    private let lock = NIOLock()
    private var ranOnLoop: [Bool] = []

    init(_ loop: any EventLoop) { executor = EventLoopTaskExecutor(loop) }

    var record: [Bool] { lock.withLock { ranOnLoop } }

    func preferredExecutor(for service: UPnPServiceEndpoint) -> (any TaskExecutor)? { executor }

    func invoke(_ action: String, arguments: [UPnPActionArgument],
                on service: UPnPServiceEndpoint) async throws -> [UPnPActionArgument] {
        lock.withLock { ranOnLoop.append(executor.eventLoop.inEventLoop) }
        switch action {
        case "GetValues":
            let list = "<cms:ParameterValueList xmlns:cms=\"urn:schemas-upnp-org:dm:cms\"><Parameter>"
                + "<ParameterPath>/UPnP/DM/DeviceInfo/SerialNumber</ParameterPath><Value>S1</Value></Parameter>"
                + "</cms:ParameterValueList>"
            return [UPnPActionArgument(name: "ParameterValueList", value: list)]
        case "GetInstances":
            return [UPnPActionArgument(name: "Result", value: "<cms:InstancePathList xmlns:cms=\"urn:schemas-upnp-org:dm:cms\">"
                                        + "<InstancePath>/BBF/IP/Interface/3/</InstancePath></cms:InstancePathList>")]
        default:
            return []
        }
    }
}

@Suite struct ProviderOnTheDeviceLoopTests {
    @Test func providerCallsRunTheirActionsOnTheDeviceLoop() async throws {
      try await withGroup(threads: 1) { group in
        let cms = LoopRecordingCMS(group.next())
        let provider = UPnPDMProvider(cms: ConfigurationManagementClient(
            invoker: cms, service: UPnPServiceEndpoint(serviceType: cmsType, controlURL: "http://127.0.0.1:9/c")),
            logger: Logger(label: "test.loop"))
        let values = try await provider.values(of: [ProviderPath(template: "Device.DeviceInfo.SerialNumber")])
        #expect(values == ["S1"])
        let instances = try await provider.instances(of: [ProviderPath(template: "Device.IP.Interface.")])
        #expect(instances == [[ProviderInstance(key: "3")]])
        #expect(cms.record == [true, true])
        // Called directly (not through the provider), the double's actions run off the loop: the check can fail.
        _ = try await cms.invoke("GetValues", arguments: [], on: UPnPServiceEndpoint(serviceType: cmsType, controlURL: "x"))
        #expect(cms.record == [true, true, false])
      }
    }
}

@Suite(.enabled(if: UPnPDMPeer.isAvailable, "\(UPnPDMPeer.unavailableReason ?? "")"))
struct DeviceLoopPeerTests {
    @Test func getValuesOnTheDeviceLoopAgainstTheDMDevice() async throws {
        let fixture = try DMDeviceFixture()
        defer { fixture.shutdown() }
        let cms = ConfigurationManagementClient(invoker: fixture.control, service: try await fixture.endpoint(cmsType))
        let reference = try await cms.getValues(["/UPnP/DM/DeviceInfo/"])
        #expect(!reference.isEmpty)
        let executor = try #require(cms.preferredExecutor as? EventLoopTaskExecutor)
        let loop = executor.eventLoop
        #expect(loop === fixture.http.eventLoop(for: cms.service.controlURL))
        try await withTaskExecutorPreference(executor) {
            for _ in 0..<5 {
                let values = try await cms.getValues(["/UPnP/DM/DeviceInfo/"])
                #expect(loop.inEventLoop)   // resumed on the device's loop, not the cooperative pool
                #expect(values == reference)
            }
        }
        // Kept alive across the calls: one idle connection, on that loop.
        #expect(fixture.http.idleConnectionCount(for: cms.service.controlURL) == 1)
    }
}
