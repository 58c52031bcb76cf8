import Testing
@testable import CWMPClient

// Fixtures: small envelopes as the decoder would hand them over.
private let thirty = Duration.seconds(30)
private let device = DeviceId(manufacturer: "Acme", oui: "00D09E", productClass: "Sensor", serialNumber: "S1")
private let bootEvents = [EventStruct(eventCode: "1 BOOT"), EventStruct(eventCode: "M Reboot", commandKey: "rb1")]
private let inform = Inform(deviceId: device, events: bootEvents, maxEnvelopes: 7,
                            currentTime: CWMPDateTime(rawValue: "2026-11-23T14:00:00Z"), retryCount: 2,
                            parameterList: [])
private let transferComplete = TransferComplete(commandKey: "dl1", fault: .none,
                                                startTime: CWMPDateTime(rawValue: "2026-11-23T13:00:00Z"),
                                                completeTime: CWMPDateTime(rawValue: "2026-11-23T13:01:00Z"))
private let requestDownload = RequestDownload(fileType: "1 Firmware Upgrade Image", fileTypeArg: [])

/// The Inform envelope `start` must produce with the default configuration.
private func informEnvelope(_ inform: Inform = inform) -> CWMPEnvelope {
    var sent = inform
    sent.maxEnvelopes = 1
    return CWMPEnvelope(namespace: .cwmp12,
                        header: CWMPHeader(id: "cpe-1", supportedCWMPVersions: [.v1_0, .v1_1, .v1_2, .v1_3, .v1_4]),
                        message: .inform(sent))
}

private func acs(_ message: CWMPMessage, id: String? = nil, hold: Bool? = nil,
                 namespace: CWMPNamespace = .cwmp12, use: CWMPVersion? = nil) -> CWMPEnvelope {
    CWMPEnvelope(namespace: namespace, header: CWMPHeader(id: id, holdRequests: hold, useCWMPVersion: use),
                 message: message)
}

private func cpe(_ message: CWMPMessage, id: String?, namespace: CWMPNamespace = .cwmp12) -> CWMPSessionStateMachine.Action {
    .postEnvelope(CWMPEnvelope(namespace: namespace, header: CWMPHeader(id: id), message: message), waitTimeout: thirty)
}

private let informResponse14 = acs(.informResponse(InformResponse()), use: .v1_4)

/// A session that has sent its Inform and received a 1.4 InformResponse, now waiting after its empty POST.
private func sessionAfterInform(pending: [CPERequest] = []) -> CWMPSessionStateMachine {
    var session = CWMPSessionStateMachine()
    _ = session.start(inform: inform, pendingRequests: pending)
    _ = session.httpResponseReceived(statusCode: 200, envelope: informResponse14)
    return session
}

private func outcome(_ action: CWMPSessionStateMachine.Action) -> SessionOutcome? {
    if case .finish(let outcome) = action { return outcome }
    return nil
}

private func cleanEnd(events: [EventStruct] = bootEvents, delivered: [CPERequest] = [],
                      rejected: [RejectedRequest] = [], undelivered: [CPERequest] = [],
                      version: CWMPVersion? = .v1_4, then: PostSessionAction? = nil) -> CWMPSessionStateMachine.Action {
    .finish(SessionOutcome(deliveredEvents: events, informAcknowledged: true, deliveredRequests: delivered,
                           rejectedRequests: rejected, undeliveredRequests: undelivered, cwmpVersion: version,
                           postSessionAction: then))
}

@Suite struct SessionStateMachineTests {
    // MARK: Inform

    @Test func theInformGoesFirstAloneWithMaxEnvelopesOneAndTheVersionOffer() {
        var session = CWMPSessionStateMachine()
        #expect(session.start(inform: inform, pendingRequests: [.getRPCMethods]) == .postEnvelope(informEnvelope(), waitTimeout: thirty))
    }

    @Test func aSessionWithNothingToDoEndsOnTheFirst204() {
        var session = CWMPSessionStateMachine()
        #expect(session.start(inform: inform, pendingRequests: []) == .postEnvelope(informEnvelope(), waitTimeout: thirty))
        #expect(session.httpResponseReceived(statusCode: 200, envelope: informResponse14) == .postEmpty(waitTimeout: thirty))
        #expect(session.httpResponseReceived(statusCode: 204, envelope: nil) == cleanEnd())
        #expect(session.isFinished)
    }

    @Test func anEmpty200EndsTheSessionLikeA204() {
        var session = sessionAfterInform()
        #expect(session.httpResponseReceived(statusCode: 200, envelope: nil) == cleanEnd())
    }

    @Test func aFaultToTheInformFailsTheSessionWithoutDeliveringEvents() {
        var session = CWMPSessionStateMachine()
        _ = session.start(inform: inform, pendingRequests: [.getRPCMethods])
        let fault = CWMPFault(.acsVersionIncompatible)
        #expect(session.httpResponseReceived(statusCode: 200, envelope: acs(.fault(fault))) == .finish(SessionOutcome(failure: .informFault(fault), undeliveredRequests: [.getRPCMethods])))
    }

    @Test func anACSRequestBeforeTheInformResponseIsAProtocolViolation() {
        var session = CWMPSessionStateMachine()
        _ = session.start(inform: inform, pendingRequests: [])
        let action = session.httpResponseReceived(statusCode: 200, envelope: acs(.getParameterValues(GetParameterValues(parameterNames: ["Device."])), id: "1"))
        #expect(action == .finish(SessionOutcome(failure: .protocolViolation("GetParameterValues instead of InformResponse"))))
    }

    @Test func anEmptyAnswerToTheInformFailsTheSession() {
        var session = CWMPSessionStateMachine()
        _ = session.start(inform: inform, pendingRequests: [])
        #expect(outcome(session.httpResponseReceived(statusCode: 204, envelope: nil))?.failure == .protocolViolation("empty answer to the Inform"))
    }

    @Test func anUndecodableAnswerToTheInformFailsTheSession() {
        var session = CWMPSessionStateMachine()
        _ = session.start(inform: inform, pendingRequests: [])
        let action = session.undecodableMessageReceived(statusCode: 200, header: CWMPHeader(), error: CWMPError(.malformedEnvelope, "x"))
        #expect(outcome(action)?.failure == .protocolViolation("undecodable answer (malformedEnvelope)"))
    }

    // MARK: HTTP errors, timeouts, transport

    @Test func a503WithRetryAfterIsReportedForTheRetryScheduler() {
        var session = CWMPSessionStateMachine()
        _ = session.start(inform: inform, pendingRequests: [])
        let action = session.httpResponseReceived(statusCode: 503, envelope: nil, retryAfter: .seconds(120))
        #expect(action == .finish(SessionOutcome(failure: .httpError(status: 503, retryAfter: .seconds(120)))))
        #expect(outcome(action)?.retryAfter == .seconds(120))
    }

    @Test func anHTTPErrorAfterTheInformResponseFailsButKeepsTheEventsDelivered() {
        var session = sessionAfterInform()
        #expect(session.httpResponseReceived(statusCode: 500, envelope: nil) == .finish(SessionOutcome(failure: .httpError(status: 500, retryAfter: nil), deliveredEvents: bootEvents, informAcknowledged: true, cwmpVersion: .v1_4)))
    }

    @Test func aRefused401ThatReachesTheMachineIsAnHTTPError() {
        var session = CWMPSessionStateMachine()
        _ = session.start(inform: inform, pendingRequests: [])
        #expect(outcome(session.httpResponseReceived(statusCode: 401, envelope: nil))?.failure == .httpError(status: 401, retryAfter: nil))
    }

    @Test func timeoutWaitingForTheInformResponse() {
        var session = CWMPSessionStateMachine()
        _ = session.start(inform: inform, pendingRequests: [.getRPCMethods])
        #expect(session.timeoutFired() == .finish(SessionOutcome(failure: .timedOut, undeliveredRequests: [.getRPCMethods])))
        #expect(session.timeoutFired() == .none)
        #expect(session.httpResponseReceived(statusCode: 200, envelope: informResponse14) == .none)
    }

    @Test func timeoutWaitingForTheAnswerToACPERequest() {
        var session = CWMPSessionStateMachine()
        _ = session.start(inform: inform, pendingRequests: [.getRPCMethods])
        #expect(session.httpResponseReceived(statusCode: 200, envelope: informResponse14) == cpe(.getRPCMethods, id: "cpe-2"))
        #expect(session.timeoutFired() == .finish(SessionOutcome(failure: .timedOut, deliveredEvents: bootEvents, informAcknowledged: true, undeliveredRequests: [.getRPCMethods], cwmpVersion: .v1_4)))
    }

    @Test func timeoutWaitingAfterTheEmptyPost() {
        var session = sessionAfterInform()
        #expect(outcome(session.timeoutFired())?.failure == .timedOut)
    }

    @Test func timeoutWaitingAfterAResponseDropsAnAcceptedReboot() {
        var session = sessionAfterInform()
        _ = session.httpResponseReceived(statusCode: 200, envelope: acs(.reboot(Reboot(commandKey: "rb")), id: "9"))
        #expect(session.acsRequestHandled(.rebootResponse) == cpe(.rebootResponse, id: "9"))
        #expect(session.timeoutFired() == .finish(SessionOutcome(failure: .timedOut, deliveredEvents: bootEvents, informAcknowledged: true, cwmpVersion: .v1_4)))
    }

    @Test func theTimerIsNotArmedWhileTheDataModelWorks() {
        var session = sessionAfterInform()
        _ = session.httpResponseReceived(statusCode: 200, envelope: acs(.getRPCMethods, id: "4"))
        #expect(session.timeoutFired() == .none)
        #expect(session.acsRequestHandled(.getRPCMethodsResponse(GetRPCMethodsResponse(methodList: ["Inform"]))) == cpe(.getRPCMethodsResponse(GetRPCMethodsResponse(methodList: ["Inform"])), id: "4"))
    }

    @Test func aTransportFailureEndsTheSession() {
        struct Reset: Error, CustomStringConvertible { var description: String { "connection reset" } }
        var session = sessionAfterInform()
        #expect(outcome(session.transportFailed(Reset()))?.failure == .transportFailed("connection reset"))
        #expect(session.transportFailed(Reset()) == .none)
    }

    // MARK: ACS RPCs, one full session each

    @Test func getParameterValuesSession() {
        var session = sessionAfterInform()
        let request = CWMPMessage.getParameterValues(GetParameterValues(parameterNames: ["Device.DeviceInfo."]))
        let response = CWMPMessage.getParameterValuesResponse(GetParameterValuesResponse(parameterList: [ParameterValueStruct(name: "Device.DeviceInfo.SerialNumber", value: "S1")]))
        #expect(session.httpResponseReceived(statusCode: 200, envelope: acs(request, id: "gpv-1")) == .executeACSRequest(request))
        #expect(session.acsRequestHandled(response) == cpe(response, id: "gpv-1"))
        #expect(session.httpResponseReceived(statusCode: 204, envelope: nil) == cleanEnd())
    }

    @Test func setParameterValuesSessionEchoesTheIDAndEndsOnEmpty200() {
        var session = sessionAfterInform()
        let request = CWMPMessage.setParameterValues(SetParameterValues(parameterList: [ParameterValueStruct(name: "Device.ManagementServer.PeriodicInformInterval", value: "600", type: .unsignedInt)], parameterKey: "k1"))
        #expect(session.httpResponseReceived(statusCode: 200, envelope: acs(request, id: "spv")) == .executeACSRequest(request))
        #expect(session.acsRequestHandled(.setParameterValuesResponse(SetParameterValuesResponse(status: 0))) == cpe(.setParameterValuesResponse(SetParameterValuesResponse(status: 0)), id: "spv"))
        #expect(session.httpResponseReceived(statusCode: 200, envelope: nil) == cleanEnd())
    }

    @Test func setParameterValuesFaultIsPostedAndTheSessionGoesOn() {
        var session = sessionAfterInform()
        let request = CWMPMessage.setParameterValues(SetParameterValues(parameterList: [], parameterKey: ""))
        let fault = CWMPFault(.invalidArguments, setParameterValuesFaults: [SetParameterValuesFault(parameterName: "Device.X", faultCode: .invalidParameterName)])
        _ = session.httpResponseReceived(statusCode: 200, envelope: acs(request, id: "7"))
        #expect(session.acsRequestHandled(.fault(fault)) == cpe(.fault(fault), id: "7"))
        #expect(session.httpResponseReceived(statusCode: 204, envelope: nil) == cleanEnd())
    }

    @Test func getParameterNamesThenAddObjectInOneSession() {
        var session = sessionAfterInform()
        let gpn = CWMPMessage.getParameterNames(GetParameterNames(parameterPath: "Device.", nextLevel: true))
        let gpnResponse = CWMPMessage.getParameterNamesResponse(GetParameterNamesResponse(parameterList: []))
        let add = CWMPMessage.addObject(AddObject(objectName: "Device.IP.Interface.", parameterKey: "k"))
        let addResponse = CWMPMessage.addObjectResponse(AddObjectResponse(instanceNumber: 3, status: 0))
        #expect(session.httpResponseReceived(statusCode: 200, envelope: acs(gpn, id: "a")) == .executeACSRequest(gpn))
        #expect(session.acsRequestHandled(gpnResponse) == cpe(gpnResponse, id: "a"))
        #expect(session.httpResponseReceived(statusCode: 200, envelope: acs(add, id: "b")) == .executeACSRequest(add))
        #expect(session.acsRequestHandled(addResponse) == cpe(addResponse, id: "b"))
        #expect(session.httpResponseReceived(statusCode: 204, envelope: nil) == cleanEnd())
    }

    @Test func anACSRequestWithoutIDIsAnsweredWithoutID() {
        var session = sessionAfterInform()
        _ = session.httpResponseReceived(statusCode: 200, envelope: acs(.getRPCMethods))
        #expect(session.acsRequestHandled(.getRPCMethodsResponse(GetRPCMethodsResponse(methodList: []))) == cpe(.getRPCMethodsResponse(GetRPCMethodsResponse(methodList: [])), id: nil))
    }

    @Test func rebootRunsOnlyAfterTheCleanEnd() {
        var session = sessionAfterInform()
        let reboot = CWMPMessage.reboot(Reboot(commandKey: "rb-7"))
        #expect(session.httpResponseReceived(statusCode: 200, envelope: acs(reboot, id: "r")) == .executeACSRequest(reboot))
        #expect(session.acsRequestHandled(.rebootResponse) == cpe(.rebootResponse, id: "r"))
        #expect(session.httpResponseReceived(statusCode: 204, envelope: nil) == cleanEnd(then: .reboot(commandKey: "rb-7")))
    }

    @Test func aFaultedRebootDoesNotReboot() {
        var session = sessionAfterInform()
        _ = session.httpResponseReceived(statusCode: 200, envelope: acs(.reboot(Reboot(commandKey: "x")), id: "r"))
        _ = session.acsRequestHandled(.fault(CWMPFault(.internalError)))
        #expect(session.httpResponseReceived(statusCode: 204, envelope: nil) == cleanEnd())
    }

    @Test func factoryResetWinsOverAnEarlierReboot() {
        var session = sessionAfterInform()
        _ = session.httpResponseReceived(statusCode: 200, envelope: acs(.reboot(Reboot(commandKey: "x")), id: "1"))
        _ = session.acsRequestHandled(.rebootResponse)
        _ = session.httpResponseReceived(statusCode: 200, envelope: acs(.factoryReset, id: "2"))
        #expect(session.acsRequestHandled(.factoryResetResponse) == cpe(.factoryResetResponse, id: "2"))
        _ = session.httpResponseReceived(statusCode: 200, envelope: acs(.reboot(Reboot(commandKey: "y")), id: "3"))
        _ = session.acsRequestHandled(.rebootResponse)
        #expect(session.httpResponseReceived(statusCode: 204, envelope: nil) == cleanEnd(then: .factoryReset))
    }

    @Test func downloadNowThenTransferCompleteInALaterSession() {
        // Session 1: the ACS asks for a download; the CPE answers Status 1 (not yet done).
        var first = sessionAfterInform()
        let download = CWMPMessage.download(Download(commandKey: "dl1", fileType: "1 Firmware Upgrade Image", url: "http://fw/img"))
        let pendingResponse = CWMPMessage.downloadResponse(TransferResponse(status: 1))
        #expect(first.httpResponseReceived(statusCode: 200, envelope: acs(download, id: "d")) == .executeACSRequest(download))
        #expect(first.acsRequestHandled(pendingResponse) == cpe(pendingResponse, id: "d"))
        #expect(first.httpResponseReceived(statusCode: 204, envelope: nil) == cleanEnd())

        // Session 2: 7 TRANSFER COMPLETE + M Download in the Inform, then the TransferComplete request.
        let events = [EventStruct(eventCode: "7 TRANSFER COMPLETE"), EventStruct(eventCode: "M Download", commandKey: "dl1")]
        var second = CWMPSessionStateMachine()
        var transferInform = inform
        transferInform.events = events
        #expect(second.start(inform: transferInform, pendingRequests: [.transferComplete(transferComplete)]) == .postEnvelope(informEnvelope(transferInform), waitTimeout: thirty))
        #expect(second.httpResponseReceived(statusCode: 200, envelope: informResponse14) == cpe(.transferComplete(transferComplete), id: "cpe-2"))
        #expect(second.httpResponseReceived(statusCode: 200, envelope: acs(.transferCompleteResponse)) == .postEmpty(waitTimeout: thirty))
        #expect(second.httpResponseReceived(statusCode: 204, envelope: nil) == cleanEnd(events: events, delivered: [.transferComplete(transferComplete)]))
    }

    @Test func anUnknownACSMethodIsAnsweredWith9000AndTheSessionGoesOn() {
        var session = sessionAfterInform()
        let action = session.undecodableMessageReceived(statusCode: 200, header: CWMPHeader(id: "v1"), error: CWMPError(.unknownMethod, "X_ACME_Frobnicate"))
        #expect(action == cpe(.fault(CWMPFault(.methodNotSupported)), id: "v1"))
        #expect(session.httpResponseReceived(statusCode: 204, envelope: nil) == cleanEnd())
    }

    @Test func aResponseWhereARequestWasDueIsAProtocolViolation() {
        var session = sessionAfterInform()
        #expect(outcome(session.httpResponseReceived(statusCode: 200, envelope: acs(.informResponse(InformResponse()))))?.failure == .protocolViolation("InformResponse where an ACS request or nothing was due"))
    }

    // MARK: CPE requests, HoldRequests, 8005

    @Test func pendingCPERequestsGoOneAtATimeInOrderWithFreshIDs() {
        var session = CWMPSessionStateMachine()
        _ = session.start(inform: inform, pendingRequests: [.transferComplete(transferComplete), .getRPCMethods, .requestDownload(requestDownload)])
        #expect(session.httpResponseReceived(statusCode: 200, envelope: informResponse14) == cpe(.transferComplete(transferComplete), id: "cpe-2"))
        #expect(session.httpResponseReceived(statusCode: 200, envelope: acs(.transferCompleteResponse, id: "cpe-2")) == cpe(.getRPCMethods, id: "cpe-3"))
        #expect(session.httpResponseReceived(statusCode: 200, envelope: acs(.getRPCMethodsResponse(GetRPCMethodsResponse(methodList: ["Inform"])), id: "cpe-3")) == cpe(.requestDownload(requestDownload), id: "cpe-4"))
        #expect(session.httpResponseReceived(statusCode: 200, envelope: acs(.requestDownloadResponse, id: "cpe-4")) == .postEmpty(waitTimeout: thirty))
        #expect(session.httpResponseReceived(statusCode: 204, envelope: nil) == cleanEnd(delivered: [.transferComplete(transferComplete), .getRPCMethods, .requestDownload(requestDownload)]))
    }

    @Test func holdRequestsInTheInformResponseHoldsUntilAnACSMessageWithoutIt() {
        var session = CWMPSessionStateMachine()
        _ = session.start(inform: inform, pendingRequests: [.getRPCMethods])
        let spv = CWMPMessage.setParameterValues(SetParameterValues(parameterList: [], parameterKey: "k"))
        let spvResponse = CWMPMessage.setParameterValuesResponse(SetParameterValuesResponse(status: 0))
        #expect(session.httpResponseReceived(statusCode: 200, envelope: acs(.informResponse(InformResponse()), hold: true, use: .v1_4)) == .postEmpty(waitTimeout: thirty))
        #expect(session.httpResponseReceived(statusCode: 200, envelope: acs(spv, id: "1", hold: true)) == .executeACSRequest(spv))
        #expect(session.acsRequestHandled(spvResponse) == cpe(spvResponse, id: "1"))
        // The ACS has nothing more and an empty message carries no HoldRequests: the request goes now.
        #expect(session.httpResponseReceived(statusCode: 204, envelope: nil) == cpe(.getRPCMethods, id: "cpe-2"))
        #expect(session.httpResponseReceived(statusCode: 200, envelope: acs(.getRPCMethodsResponse(GetRPCMethodsResponse(methodList: [])))) == .postEmpty(waitTimeout: thirty))
        #expect(session.httpResponseReceived(statusCode: 204, envelope: nil) == cleanEnd(delivered: [.getRPCMethods]))
    }

    @Test func holdRequestsSwitchedOnInTheMiddleHoldsTheRest() {
        var session = CWMPSessionStateMachine()
        _ = session.start(inform: inform, pendingRequests: [.getRPCMethods, .requestDownload(requestDownload)])
        #expect(session.httpResponseReceived(statusCode: 200, envelope: informResponse14) == cpe(.getRPCMethods, id: "cpe-2"))
        #expect(session.httpResponseReceived(statusCode: 200, envelope: acs(.getRPCMethodsResponse(GetRPCMethodsResponse(methodList: [])), hold: true)) == .postEmpty(waitTimeout: thirty))
        let gpv = CWMPMessage.getParameterValues(GetParameterValues(parameterNames: ["Device."]))
        #expect(session.httpResponseReceived(statusCode: 200, envelope: acs(gpv, id: "g", hold: false)) == .executeACSRequest(gpv))
        #expect(session.acsRequestHandled(.getParameterValuesResponse(GetParameterValuesResponse(parameterList: []))) == cpe(.getParameterValuesResponse(GetParameterValuesResponse(parameterList: [])), id: "g"))
        #expect(session.httpResponseReceived(statusCode: 204, envelope: nil) == cpe(.requestDownload(requestDownload), id: "cpe-3"))
        #expect(session.httpResponseReceived(statusCode: 200, envelope: acs(.requestDownloadResponse)) == .postEmpty(waitTimeout: thirty))
        #expect(session.httpResponseReceived(statusCode: 204, envelope: nil) == cleanEnd(delivered: [.getRPCMethods, .requestDownload(requestDownload)]))
    }

    @Test func aSessionThatFailsWhileHeldLeavesTheRequestsForLater() {
        var session = CWMPSessionStateMachine()
        _ = session.start(inform: inform, pendingRequests: [.getRPCMethods])
        _ = session.httpResponseReceived(statusCode: 200, envelope: acs(.informResponse(InformResponse()), hold: true, use: .v1_4))
        #expect(outcome(session.timeoutFired())?.undeliveredRequests == [.getRPCMethods])
    }

    @Test func fault8005ResendsTheSameRequest() {
        var session = CWMPSessionStateMachine()
        _ = session.start(inform: inform, pendingRequests: [.transferComplete(transferComplete)])
        #expect(session.httpResponseReceived(statusCode: 200, envelope: informResponse14) == cpe(.transferComplete(transferComplete), id: "cpe-2"))
        #expect(session.httpResponseReceived(statusCode: 200, envelope: acs(.fault(CWMPFault(.acsRetryRequest)))) == cpe(.transferComplete(transferComplete), id: "cpe-3"))
        #expect(session.httpResponseReceived(statusCode: 200, envelope: acs(.transferCompleteResponse)) == .postEmpty(waitTimeout: thirty))
        #expect(session.httpResponseReceived(statusCode: 204, envelope: nil) == cleanEnd(delivered: [.transferComplete(transferComplete)]))
    }

    @Test func fault8005TooOftenLeavesTheRequestForTheNextSession() {
        var session = CWMPSessionStateMachine(configuration: .init(maximumRetryRequestResends: 1))
        _ = session.start(inform: inform, pendingRequests: [.transferComplete(transferComplete), .getRPCMethods])
        _ = session.httpResponseReceived(statusCode: 200, envelope: informResponse14)
        let retry = acs(.fault(CWMPFault(.acsRetryRequest)))
        #expect(session.httpResponseReceived(statusCode: 200, envelope: retry) == cpe(.transferComplete(transferComplete), id: "cpe-3"))
        #expect(session.httpResponseReceived(statusCode: 200, envelope: retry) == cpe(.getRPCMethods, id: "cpe-4"))
        #expect(session.httpResponseReceived(statusCode: 200, envelope: acs(.getRPCMethodsResponse(GetRPCMethodsResponse(methodList: []))))  == .postEmpty(waitTimeout: thirty))
        #expect(session.httpResponseReceived(statusCode: 204, envelope: nil) == cleanEnd(delivered: [.getRPCMethods], undelivered: [.transferComplete(transferComplete)]))
    }

    @Test func otherFaultsOnACPERequestDropIt() {
        var session = CWMPSessionStateMachine()
        _ = session.start(inform: inform, pendingRequests: [.requestDownload(requestDownload)])
        _ = session.httpResponseReceived(statusCode: 200, envelope: informResponse14)
        let fault = CWMPFault(.acsRequestDenied)
        #expect(session.httpResponseReceived(statusCode: 200, envelope: acs(.fault(fault))) == .postEmpty(waitTimeout: thirty))
        #expect(session.httpResponseReceived(statusCode: 204, envelope: nil) == cleanEnd(rejected: [RejectedRequest(request: .requestDownload(requestDownload), fault: fault)]))
    }

    @Test func theWrongResponseToACPERequestIsAProtocolViolation() {
        var session = CWMPSessionStateMachine()
        _ = session.start(inform: inform, pendingRequests: [.getRPCMethods])
        _ = session.httpResponseReceived(statusCode: 200, envelope: informResponse14)
        #expect(outcome(session.httpResponseReceived(statusCode: 200, envelope: acs(.transferCompleteResponse)))?.failure == .protocolViolation("TransferCompleteResponse in answer to GetRPCMethods"))
    }

    // MARK: Version negotiation

    @Test func useCWMPVersion14KeepsTheCWMP12Namespace() {
        var session = sessionAfterInform()
        #expect(session.negotiatedVersion == .v1_4)
        _ = session.httpResponseReceived(statusCode: 200, envelope: acs(.getRPCMethods, id: "1"))
        #expect(session.acsRequestHandled(.getRPCMethodsResponse(GetRPCMethodsResponse(methodList: []))) == cpe(.getRPCMethodsResponse(GetRPCMethodsResponse(methodList: [])), id: "1", namespace: .cwmp12))
    }

    @Test func withoutUseCWMPVersionTheACSNamespaceDecides() {
        var session = CWMPSessionStateMachine()
        _ = session.start(inform: inform, pendingRequests: [.getRPCMethods])
        #expect(session.httpResponseReceived(statusCode: 200, envelope: acs(.informResponse(InformResponse()), namespace: .cwmp10)) == cpe(.getRPCMethods, id: "cpe-2", namespace: .cwmp10))
        #expect(session.negotiatedVersion == .v1_0)
        _ = session.httpResponseReceived(statusCode: 200, envelope: acs(.getRPCMethodsResponse(GetRPCMethodsResponse(methodList: [])), namespace: .cwmp10))
        _ = session.httpResponseReceived(statusCode: 200, envelope: acs(.reboot(Reboot(commandKey: "")), id: "r", namespace: .cwmp10))
        #expect(session.acsRequestHandled(.rebootResponse) == cpe(.rebootResponse, id: "r", namespace: .cwmp10))
    }

    @Test func anACSAnsweringInCWMP11WithoutTheHeaderGetsVersion11() {
        var session = CWMPSessionStateMachine()
        _ = session.start(inform: inform, pendingRequests: [])
        _ = session.httpResponseReceived(statusCode: 200, envelope: acs(.informResponse(InformResponse()), namespace: .cwmp11))
        #expect(session.negotiatedVersion == .v1_1)
        #expect(session.currentNamespace == .cwmp11)
    }

    @Test func aVersionThatWasNotOfferedFailsTheSession() {
        var session = CWMPSessionStateMachine(configuration: .init(supportedVersions: [.v1_0, .v1_1, .v1_2, .v1_3, .v1_4]))
        _ = session.start(inform: inform, pendingRequests: [])
        #expect(outcome(session.httpResponseReceived(statusCode: 200, envelope: acs(.informResponse(InformResponse()), use: CWMPVersion(major: 1, minor: 5))))?.failure == .protocolViolation("UseCWMPVersion 1.5 was not offered"))
    }

    @Test func aCWMP10OnlyDeviceInformsInThe10NamespaceWithoutVersionHeaders() {
        var session = CWMPSessionStateMachine(configuration: .init(supportedVersions: [.v1_0], sessionTimeout: 60))
        var sent = inform
        sent.maxEnvelopes = 1
        #expect(session.start(inform: inform, pendingRequests: []) == .postEnvelope(CWMPEnvelope(namespace: .cwmp10, header: CWMPHeader(id: "cpe-1"), message: .inform(sent)), waitTimeout: thirty))
        #expect(outcome(session.httpResponseReceived(statusCode: 200, envelope: acs(.informResponse(InformResponse()), namespace: .cwmp12)))?.failure == .protocolViolation("InformResponse in urn:dslforum-org:cwmp-1-2, not offered"))
    }

    @Test func sessionTimeoutHeaderIsSentWhen13IsOffered() {
        var session = CWMPSessionStateMachine(configuration: .init(waitTimeout: .seconds(45), sessionTimeout: 45))
        var sent = inform
        sent.maxEnvelopes = 1
        let header = CWMPHeader(id: "cpe-1", sessionTimeout: 45, supportedCWMPVersions: [.v1_0, .v1_1, .v1_2, .v1_3, .v1_4])
        #expect(session.start(inform: inform, pendingRequests: []) == .postEnvelope(CWMPEnvelope(header: header, message: .inform(sent)), waitTimeout: .seconds(45)))
    }
}
