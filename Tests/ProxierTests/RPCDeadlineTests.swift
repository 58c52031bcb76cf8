// The time budget of an RPC, on a clock the test moves: no wall-clock waits, no timing assertions.
import CWMPClient
import Proxier
import Synchronization
import Testing

@Suite struct RPCDeadlineTests {
    let request = CWMPMessage.getParameterValues(GetParameterValues(parameterNames: ["Device.DeviceInfo.UpTime"]))

    /// A dispatcher whose data model is served by a provider that never answers `values(of:)`.
    func stuckDispatcher(honoursCancellation: Bool, clock: TestClock) async throws -> (CPEMethodDispatcher, UnansweringProvider) {
        let inner = try InMemoryProvider(schema: GatewayFixture.tree, values: GatewayFixture.values)
        let provider = UnansweringProvider(inner, honoursCancellation: honoursCancellation)
        let model = DataModel(schema: GatewayFixture.tree)
        try await model.mount(provider, at: "Device.")
        return (CPEMethodDispatcher(dataModel: model, actions: RecordingAgent(), clock: clock), provider)
    }

    /// Starts the request and returns once the provider is stuck in it and the deadline timer is running.
    func start(_ dispatcher: CPEMethodDispatcher, _ provider: UnansweringProvider, clock: TestClock,
               budget: Duration = CPEMethodDispatcher.defaultBudget) async throws -> Task<CPEMethodOutcome, Never> {
        let request = self.request
        let task = Task { await dispatcher.respond(to: request, within: budget) }
        let stuck = await eventually { await provider.valueCalls == 1 && clock.sleepingUntil.count == 1 }
        try #require(stuck, "the request never reached the provider")
        return task
    }

    @Test(arguments: [true, false])
    func aProviderThatNeverAnswersGives9002AtTheDeadline(honoursCancellation: Bool) async throws {
        let clock = TestClock()
        let (dispatcher, provider) = try await stuckDispatcher(honoursCancellation: honoursCancellation, clock: clock)
        let task = try await start(dispatcher, provider, clock: clock)
        // The timer is set for exactly the default budget.
        #expect(clock.sleepingUntil == [TestClock.Instant(offset: .seconds(25))])

        // One second short of the budget the timer is still waiting.
        clock.advance(by: .seconds(24))
        #expect(clock.sleepingUntil.count == 1)

        clock.advance(by: .seconds(1))
        let outcome = await task.value
        #expect(outcome.response == .fault(CWMPFault(.internalError, "GetParameterValues did not finish within \(Duration.seconds(25))")))
        #expect(outcome.followUps.isEmpty)
        if honoursCancellation {
            // The abandoned provider call was told to stop.
            #expect(await eventually { await provider.sawCancellation })
        } else {
            // A provider that ignores cancellation is still stuck, and the answer did not wait for it.
            #expect(await !provider.sawCancellation)
            await provider.release()
        }
    }

    @Test func theCallerChoosesTheBudget() async throws {
        let clock = TestClock()
        let (dispatcher, provider) = try await stuckDispatcher(honoursCancellation: true, clock: clock)
        let task = try await start(dispatcher, provider, clock: clock, budget: .seconds(5))
        #expect(clock.sleepingUntil == [TestClock.Instant(offset: .seconds(5))])
        clock.advance(by: .seconds(5))
        #expect(await task.value.fault?.code == .internalError)
    }

    @Test func aPromptAnswerStopsTheTimer() async throws {
        let clock = TestClock()
        let (model, _) = try await GatewayFixture.makeDataModel()
        let dispatcher = CPEMethodDispatcher(dataModel: model, actions: RecordingAgent(), clock: clock)
        let outcome = await dispatcher.respond(to: request)
        guard case .getParameterValuesResponse(let response) = outcome.response else {
            Issue.record("\(outcome.response)")
            return
        }
        #expect(response.parameterList == [ParameterValueStruct(name: "Device.DeviceInfo.UpTime", value: "86400", type: .unsignedInt)])
        // The clock never moved, and nothing is left sleeping on it.
        #expect(clock.now == TestClock.Instant(offset: .zero))
        #expect(clock.sleepingUntil.isEmpty)
    }

    @Test func aCancelledCallerGets9002AtOnce() async throws {
        let clock = TestClock()
        let (dispatcher, provider) = try await stuckDispatcher(honoursCancellation: false, clock: clock)
        let task = try await start(dispatcher, provider, clock: clock)
        task.cancel()
        let outcome = await task.value
        #expect(outcome.response == .fault(CWMPFault(.internalError, "GetParameterValues was abandoned")))
        #expect(clock.now == TestClock.Instant(offset: .zero))
        await provider.release()
    }

    /// An agent hook that never answers is bounded the same way.
    @Test func aSlowAgentHookIsBoundedToo() async throws {
        actor StuckAgent: CWMPAgentActions {
            nonisolated var supportedMethods: Set<CPEMethod> { [.download] }
            private(set) var called = false
            func startDownload(_ request: Download) async throws -> TransferResponse {
                called = true
                try await Task.sleep(for: .seconds(86_400 * 365))
                return TransferResponse(status: 1)
            }
        }
        let clock = TestClock()
        let agent = StuckAgent()
        let (model, _) = try await GatewayFixture.makeDataModel()
        let dispatcher = CPEMethodDispatcher(dataModel: model, actions: agent, clock: clock)
        let task = Task { await dispatcher.respond(to: sampleRequest(for: .download)) }
        #expect(await eventually { await agent.called && clock.sleepingUntil.count == 1 })
        clock.advance(by: .seconds(25))
        let outcome = await task.value
        #expect(outcome.fault?.code == .internalError)
        #expect(outcome.fault?.faultString.hasPrefix("Download did not finish") == true)
    }
}
