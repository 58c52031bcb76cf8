// The methods an ACS calls on a CPE (TR-069 §A.3.2 and §A.4.1), named as they are on the wire, so that a
// GetRPCMethodsResponse is built from the same values the dispatcher switches on.
import CWMPClient

/// A CPE method (an RPC the ACS sends to the CPE), with its RPC name as raw value.
/// Declared in the order of TR-069 Table 5, which is the order GetRPCMethodsResponse lists them in.
public enum CPEMethod: String, Hashable, Sendable, CaseIterable {
    case getRPCMethods = "GetRPCMethods"
    case setParameterValues = "SetParameterValues"
    case getParameterValues = "GetParameterValues"
    case getParameterNames = "GetParameterNames"
    case setParameterAttributes = "SetParameterAttributes"
    case getParameterAttributes = "GetParameterAttributes"
    case addObject = "AddObject"
    case deleteObject = "DeleteObject"
    case reboot = "Reboot"
    case download = "Download"
    case upload = "Upload"
    case factoryReset = "FactoryReset"
    case getQueuedTransfers = "GetQueuedTransfers"
    case getAllQueuedTransfers = "GetAllQueuedTransfers"
    case scheduleInform = "ScheduleInform"
    case scheduleDownload = "ScheduleDownload"
    case cancelTransfer = "CancelTransfer"
    case changeDUState = "ChangeDUState"

    /// The method a message requests; `nil` for responses, faults and the CPE's own requests (Inform, …).
    public init?(request: CWMPMessage) {
        switch request {
        case .getRPCMethods: self = .getRPCMethods
        case .setParameterValues: self = .setParameterValues
        case .getParameterValues: self = .getParameterValues
        case .getParameterNames: self = .getParameterNames
        case .setParameterAttributes: self = .setParameterAttributes
        case .getParameterAttributes: self = .getParameterAttributes
        case .addObject: self = .addObject
        case .deleteObject: self = .deleteObject
        case .reboot: self = .reboot
        case .download: self = .download
        case .upload: self = .upload
        case .factoryReset: self = .factoryReset
        case .getQueuedTransfers: self = .getQueuedTransfers
        case .getAllQueuedTransfers: self = .getAllQueuedTransfers
        case .scheduleInform: self = .scheduleInform
        case .scheduleDownload: self = .scheduleDownload
        case .cancelTransfer: self = .cancelTransfer
        case .changeDUState: self = .changeDUState
        default: return nil
        }
    }

    /// Whether the method's effect lives outside the data model, with the agent (`CWMPAgentActions`): only the
    /// agent knows whether it can reboot, download or keep a transfer queue, so only it can declare support.
    /// The others (GetRPCMethods and the parameter methods) are answered by every CPE from its data model.
    public var isAgentMethod: Bool {
        switch self {
        case .getRPCMethods, .setParameterValues, .getParameterValues, .getParameterNames, .setParameterAttributes,
             .getParameterAttributes, .addObject, .deleteObject:
            false
        case .reboot, .download, .upload, .factoryReset, .getQueuedTransfers, .getAllQueuedTransfers, .scheduleInform,
             .scheduleDownload, .cancelTransfer, .changeDUState:
            true
        }
    }

    /// The methods TR-069 Table 5 makes REQUIRED of every CPE. Reboot and Download are among them, so an agent
    /// that leaves them out of `supportedMethods` is not a conforming CPE (acceptable for a proxied device that
    /// truly cannot do either; the ACS then gets 9000 rather than a promise the device cannot keep).
    public static let requiredOfEveryCPE: Set<CPEMethod> = [
        .getRPCMethods, .setParameterValues, .getParameterValues, .getParameterNames, .setParameterAttributes,
        .getParameterAttributes, .addObject, .deleteObject, .reboot, .download,
    ]
}
