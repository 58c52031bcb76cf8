// A CPE request (TransferComplete, DUStateChangeComplete, …) ⇄ the store's `PendingCPERequest`. The stored form is
// the SOAP envelope the CPE would send, written and read by the project's libxml2 codec: no second serialisation
// of every CWMP structure to keep in step, and the codec's own hardening applies when a stored row is read back.
import CWMPClient

extension CPERequest {
    /// The namespace the request is stored in: cwmp-1-2 defines every CPE request (the 1.0 and 1.1 ones too).
    static let storageNamespace = CWMPNamespace.cwmp12

    /// The request as the store keeps it.
    func persisted(transferID: Int64? = nil) throws(CWMPError) -> PendingCPERequest {
        let bytes = try CWMPEncoder().encode(CWMPEnvelope(namespace: Self.storageNamespace, message: message))
        return PendingCPERequest(method: CWMPEncoder.rpcName(of: message), envelope: String(decoding: bytes, as: UTF8.self),
                                 transferID: transferID)
    }

    /// The request a stored row holds; throws when the row is not a CPE request envelope.
    init(persisted stored: PendingCPERequest) throws(ProxierError) {
        let envelope: CWMPEnvelope
        do {
            envelope = try CWMPDecoder().decode(Array(stored.envelope.utf8))
        } catch {
            throw ProxierError(.storeFailure, "a stored \(stored.method) request cannot be decoded", underlying: error)
        }
        switch envelope.message {
        case .transferComplete(let request): self = .transferComplete(request)
        case .autonomousTransferComplete(let request): self = .autonomousTransferComplete(request)
        case .duStateChangeComplete(let request): self = .duStateChangeComplete(request)
        case .autonomousDUStateChangeComplete(let request): self = .autonomousDUStateChangeComplete(request)
        case .getRPCMethods: self = .getRPCMethods
        case .requestDownload(let request): self = .requestDownload(request)
        default:
            throw ProxierError(.storeFailure,
                               "a stored request holds \(CWMPEncoder.rpcName(of: envelope.message)), not a CPE request")
        }
    }
}
