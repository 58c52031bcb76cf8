// The requests a CPE sends to the ACS after the Inform (TR-069 §3.7.1.4 ?, A.3.3, A.4.2). They are kept by the
// agent until the ACS acknowledges them, so they are plain values the persistence layer can store.

/// A CPE → ACS request other than Inform. The session sends them one at a time, in the order given, after the
/// InformResponse and only while the ACS does not set HoldRequests.
public enum CPERequest: Hashable, Sendable {
    case transferComplete(TransferComplete)
    case autonomousTransferComplete(AutonomousTransferComplete)
    case duStateChangeComplete(DUStateChangeComplete)
    case autonomousDUStateChangeComplete(AutonomousDUStateChangeComplete)
    case getRPCMethods
    case requestDownload(RequestDownload)

    /// The RPC as it goes into the envelope body.
    public var message: CWMPMessage {
        switch self {
        case .transferComplete(let request): .transferComplete(request)
        case .autonomousTransferComplete(let request): .autonomousTransferComplete(request)
        case .duStateChangeComplete(let request): .duStateChangeComplete(request)
        case .autonomousDUStateChangeComplete(let request): .autonomousDUStateChangeComplete(request)
        case .getRPCMethods: .getRPCMethods
        case .requestDownload(let request): .requestDownload(request)
        }
    }

    /// Whether `message` is the ACS's (successful) response to this request.
    func isAnswered(by message: CWMPMessage) -> Bool {
        switch (self, message) {
        case (.transferComplete, .transferCompleteResponse),
             (.autonomousTransferComplete, .autonomousTransferCompleteResponse),
             (.duStateChangeComplete, .duStateChangeCompleteResponse),
             (.autonomousDUStateChangeComplete, .autonomousDUStateChangeCompleteResponse),
             (.getRPCMethods, .getRPCMethodsResponse),
             (.requestDownload, .requestDownloadResponse):
            true
        default:
            false
        }
    }
}

extension CWMPMessage {
    /// Whether this is a request the ACS sends to the CPE (TR-069 A.3.2, A.4.1), i.e. something the data model
    /// executes. `getRPCMethods` goes both ways; arriving from the ACS it is a request to the CPE.
    var isACSRequest: Bool {
        switch self {
        case .getRPCMethods, .setParameterValues, .getParameterValues, .getParameterNames, .setParameterAttributes,
             .getParameterAttributes, .addObject, .deleteObject, .reboot, .download, .upload, .factoryReset,
             .scheduleInform, .scheduleDownload, .cancelTransfer, .getQueuedTransfers, .getAllQueuedTransfers,
             .changeDUState:
            true
        case .getRPCMethodsResponse, .setParameterValuesResponse, .getParameterValuesResponse,
             .getParameterNamesResponse, .setParameterAttributesResponse, .getParameterAttributesResponse,
             .addObjectResponse, .deleteObjectResponse, .rebootResponse, .downloadResponse, .uploadResponse,
             .factoryResetResponse, .scheduleInformResponse, .scheduleDownloadResponse, .cancelTransferResponse,
             .getQueuedTransfersResponse, .getAllQueuedTransfersResponse, .changeDUStateResponse,
             .inform, .transferComplete, .autonomousTransferComplete, .duStateChangeComplete,
             .autonomousDUStateChangeComplete, .requestDownload, .kicked,
             .informResponse, .transferCompleteResponse, .autonomousTransferCompleteResponse,
             .duStateChangeCompleteResponse, .autonomousDUStateChangeCompleteResponse, .requestDownloadResponse,
             .kickedResponse, .fault:
            false
        }
    }
}
