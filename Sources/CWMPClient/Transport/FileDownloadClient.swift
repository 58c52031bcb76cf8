// The file fetch of the Download RPC (TR-069 §A.3.2.8): GET the URL the ACS gave, authenticate with its Username
// and Password (Digest, or Basic over https only, as for the ACS), and write the body to a file, bounded in size
// and time. Every failure comes back as the TransferComplete FaultStruct it must be reported with (cwmp.md: only
// 9001/9002/9010/9011/9012/9014–9020 are allowed there), never as a thrown error: the caller has already answered
// the Download with Status 1 and owes the ACS a TransferComplete whatever happens.
//
// One HTTPClient per download, shut down after it, as for ACS sessions (ACSHTTPTransport): downloads are rare, and
// a pooled client would keep the file server's connection open for nothing.
import AsyncHTTPClient
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
#if canImport(Glibc)
internal import Glibc
#elseif canImport(Musl)
internal import Musl
#endif

/// What a download came to.
public enum FileDownloadResult: Sendable, Hashable {
    case downloaded(bytes: Int)
    /// The fault for the TransferComplete.
    case failed(TransferFault)
}

public struct FileDownloadClient: Sendable {
    public struct Configuration: Sendable {
        /// Largest file accepted, whatever FileSize the ACS announced (a gateway's state directory is small).
        public var maximumBytes: Int
        /// Bound on the whole download (head and body).
        public var timeLimit: Duration
        public var connectTimeout: Duration
        /// Longest silence of the server while the body is read.
        public var readTimeout: Duration
        /// What an https file server's certificate must chain to (the gateway passes the ACS's `acs.caBundle`:
        /// file servers are usually run by the operator of the ACS). The host name is always checked.
        public var trustRoots: ACSHTTPTransport.Configuration.TrustRoots

        public init(maximumBytes: Int = 64 << 20, timeLimit: Duration = .seconds(600),
                    connectTimeout: Duration = .seconds(10), readTimeout: Duration = .seconds(30),
                    trustRoots: ACSHTTPTransport.Configuration.TrustRoots = .system) {
            self.maximumBytes = maximumBytes
            self.timeLimit = timeLimit
            self.connectTimeout = connectTimeout
            self.readTimeout = readTimeout
            self.trustRoots = trustRoots
        }
    }

    public let configuration: Configuration
    let group: any EventLoopGroup
    let logger: Logger

    public init(configuration: Configuration = Configuration(),
                group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                logger: Logger = Logger(label: "cwmp-proxy.download")) {
        self.configuration = configuration
        self.group = group
        self.logger = logger
    }

    /// Downloads `url` into a new file at `path` (created 0600; it must not exist). Returns the byte count, or the
    /// fault to report; on a fault no file is left at `path`.
    ///
    /// - Parameter expectedSize: the Download's FileSize; 0 = not announced. A body of another size is 9018.
    public func download(url: String, credentials: HTTPCredentials?, expectedSize: UInt32,
                         to path: String) async -> FileDownloadResult {
        guard let parsed = ACSURL(url) else {
            return .failed(.transfer(9016, "the URL is not an absolute http(s) URL"))
        }
        if expectedSize > 0, Int(expectedSize) > configuration.maximumBytes {
            return .failed(.transfer(9010, "FileSize \(expectedSize) exceeds the limit of \(configuration.maximumBytes) bytes"))
        }
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .fullVerification
        if case .caBundle(let bundle) = configuration.trustRoots { tls.trustRoots = .file(bundle) }
        var client = HTTPClient.Configuration(
            tlsConfiguration: tls,
            // Credentials must not follow a redirect to another server, and AHC would not answer its challenge:
            // with credentials, a redirect is a failure (9016); without, up to 5 are followed.
            redirectConfiguration: credentials == nil ? .follow(max: 5, allowCycles: false) : .disallow,
            timeout: .init(connect: .nanoseconds(configuration.connectTimeout.nanosecondsClamped),
                           read: .nanoseconds(configuration.readTimeout.nanosecondsClamped)))
        client.httpVersion = .http1Only
        // A refused connection is 9015 at once, not after the connect timeout of AHC's retries.
        client.connectionPool.retryConnectionEstablishment = false
        let http = HTTPClient(eventLoopGroup: group, configuration: client, backgroundActivityLogger: logger)
        let deadline = NIODeadline.now() + .nanoseconds(configuration.timeLimit.nanosecondsClamped)
        let result = await fetch(http, url: parsed, text: url, credentials: credentials,
                                 expectedSize: expectedSize, deadline: deadline, path: path)
        try? await http.shutdown()
        if case .failed = result { _ = unlink(path) }
        return result
    }

    private func fetch(_ http: HTTPClient, url: ACSURL, text: String, credentials: HTTPCredentials?,
                       expectedSize: UInt32, deadline: NIODeadline, path: String) async -> FileDownloadResult {
        var authenticator = credentials.map { HTTPClientAuthenticator(credentials: $0, allowsBasic: url.isTLS) }
        do {
            // At most two requests: bare, then once more with the answer to the challenge.
            for _ in 0..<2 {
                var request = HTTPClientRequest(url: text)
                request.method = .GET
                request.headers.add(name: "User-Agent", value: "cwmp-proxy/1.0 (TR-069 CPE proxier)")
                if let value = authenticator?.authorization(method: "GET", uri: url.target) {
                    request.headers.add(name: "Authorization", value: value)
                }
                let response = try await http.execute(request, deadline: deadline, logger: logger)
                switch response.status.code {
                case 200:
                    return try await write(response.body, expectedSize: expectedSize, deadline: deadline, path: path)
                case 401:
                    guard authenticator != nil,
                          authenticator?.received401(wwwAuthenticate: response.headers["WWW-Authenticate"]) == .retry
                    else {
                        return .failed(.transfer(9012, "the file server refused the credentials"))
                    }
                case 403:
                    return .failed(.transfer(9012, "the file server answered 403"))
                default:
                    return .failed(.transfer(9016, "the file server answered \(response.status.code)"))
                }
            }
            return .failed(.transfer(9012, "the file server refused the credentials"))
        } catch let fault as TransferFaultError {
            return .failed(fault.fault)
        } catch let error as HTTPClientError {
            if error == .connectTimeout {
                return .failed(.transfer(9015, "cannot contact the file server"))
            }
            if error == .deadlineExceeded || error == .readTimeout {
                return .failed(.transfer(9017, "the download did not complete in time"))
            }
            return .failed(.transfer(9017, "the download failed: \(error)"))
        } catch {
            // The server's certificate was refused (unknown CA, wrong host name, expired): the CPE could not
            // authenticate the file server, which is what 9012 names ("file transfer server authentication failure").
            if error is NIOSSLError || error is BoringSSLError || error is NIOSSLExtraError {
                return .failed(.transfer(9012, "the file server's certificate was not accepted"))
            }
            // Connection refused, name resolution: NIO's connect errors.
            if error is NIOConnectionError || error is IOError {
                return .failed(.transfer(9015, "cannot contact the file server"))
            }
            return .failed(.transfer(9017, "the download failed: \(error)"))
        }
    }

    private struct TransferFaultError: Error { var fault: TransferFault }

    /// Streams the body into a new file, counting against the limits.
    private func write(_ body: HTTPClientResponse.Body, expectedSize: UInt32, deadline: NIODeadline,
                       path: String) async throws -> FileDownloadResult {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            return .failed(.transfer(9002, "cannot create the download file"))
        }
        defer { _ = close(descriptor) }
        var total = 0
        for try await buffer in body {
            total += buffer.readableBytes
            if total > configuration.maximumBytes {
                throw TransferFaultError(fault: .transfer(
                    9010, "the file exceeds the limit of \(configuration.maximumBytes) bytes"))
            }
            if NIODeadline.now() > deadline {
                throw TransferFaultError(fault: .transfer(9017, "the download did not complete in time"))
            }
            let written = buffer.withUnsafeReadableBytes { bytes -> Bool in
                var offset = 0
                while offset < bytes.count {
                    let count = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                    if count < 0 {
                        if errno == EINTR { continue }
                        return false
                    }
                    offset += count
                }
                return true
            }
            guard written else {
                throw TransferFaultError(fault: .transfer(9002, "cannot write the download file"))
            }
        }
        if expectedSize > 0, total != Int(expectedSize) {
            return .failed(.transfer(9018, "received \(total) bytes, FileSize was \(expectedSize)"))
        }
        guard fsync(descriptor) == 0 else {
            return .failed(.transfer(9002, "cannot write the download file"))
        }
        return .downloaded(bytes: total)
    }
}

extension TransferFault {
    /// Shorthand for the faults of a transfer.
    public static func transfer(_ code: UInt32, _ reason: String) -> TransferFault {
        TransferFault(faultCode: code, faultString: reason)
    }
}
