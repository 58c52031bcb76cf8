// GENANotifyListener against hostile and malformed NOTIFYs on loopback (raw sockets: nothing else would send
// them). Each case checks the status UDA asks for and that the receiver never saw the request; the listener still
// accepts a valid NOTIFY at the end.

import CWMPTestSupport
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import NIOConcurrencyHelpers
import Dispatch
import Testing
@testable import UPnPDM

final class RecordingReceiver: GENANotifyReceiver {
    let sid: String
    private let received = NIOLockedValueBox<[GENANotify]>([])
    init(sid: String) { self.sid = sid }
    var notifies: [GENANotify] { received.withLockedValue { $0 } }

    func receive(_ notify: GENANotify) async -> Bool {
        guard notify.sid == sid else { return false }
        received.withLockedValue { $0.append(notify) }
        return true
    }
}

struct GENAListenerTests {
    static let body = #"<?xml version="1.0"?><e:propertyset xmlns:e="urn:schemas-upnp-org:event-1-0"><e:property><TestIDs>1,2</TestIDs></e:property></e:propertyset>"#

    static func notify(path: String, headers: [String], body: String = body, method: String = "NOTIFY") -> String {
        "\(method) \(path) HTTP/1.1\r\nHOST: 127.0.0.1\r\nCONTENT-TYPE: text/xml\r\n" + headers.map { $0 + "\r\n" }.joined()
            + "Content-Length: \(body.utf8.count)\r\n\r\n" + body
    }

    static func status(_ answer: String) -> Int? {
        answer.split(separator: " ", maxSplits: 2).dropFirst().first.flatMap { Int($0) }
    }

    @Test func hostileAndMalformedNotifiesAreRejectedWithoutHarm() async throws {
        // A generous request timeout here (a loaded machine must not turn valid requests into timeouts); the
        // slow-sender check uses a listener of its own with a short one.
        let listener = GENANotifyListener(configuration: .init(host: "127.0.0.1", maximumBodyBytes: 64 * 1024,
                                                               requestTimeout: .seconds(30)))
        let address = try await listener.start()
        let port = try #require(address.port)
        let receiver = RecordingReceiver(sid: "uuid:good")
        let path = listener.register(receiver)
        #expect(listener.baseURL == "http://127.0.0.1:\(port)")
        let good = ["NT: upnp:event", "NTS: upnp:propchange", "SID: uuid:good", "SEQ: 0"]
        // The blocking socket exchange runs on a Dispatch thread, not on the concurrency pool: the listener hands
        // every NOTIFY to its receiver on that pool, and with the pool's threads (two on two cores) blocked by
        // this and other tests' synchronous waits, a valid NOTIFY could not be answered before the socket timeout.
        func send(_ request: String) async throws -> Int? {
            let answer: String = try await withCheckedThrowingContinuation { continuation in
                DispatchQueue.global().async {
                    continuation.resume(with: Result { try RawSocket.exchange(request, host: "127.0.0.1", port: port, from: "127.0.0.1") })
                }
            }
            return Self.status(answer)
        }

        #expect(try await send(Self.notify(path: "/nobody", headers: good)) == 412)
        #expect(try await send(Self.notify(path: path, headers: ["NT: upnp:event", "NTS: upnp:propchange", "SID: uuid:bad", "SEQ: 0"])) == 412)
        #expect(try await send(Self.notify(path: path, headers: ["NTS: upnp:propchange", "SID: uuid:good", "SEQ: 0"])) == 400)
        #expect(try await send(Self.notify(path: path, headers: ["NT: ssdp:all", "NTS: upnp:propchange", "SID: uuid:good", "SEQ: 0"])) == 412)
        #expect(try await send(Self.notify(path: path, headers: ["NT: upnp:event", "NTS: upnp:propchange", "SEQ: 0"])) == 412)
        #expect(try await send(Self.notify(path: path, headers: ["NT: upnp:event", "NTS: upnp:propchange", "SID: uuid:good", "SEQ: minus one"])) == 400)
        #expect(try await send(Self.notify(path: path, headers: good, method: "GET")) == 405)
        // XXE, an entity bomb, garbage, another root: 400, and nothing is expanded or fetched.
        let xxe = #"<?xml version="1.0"?><!DOCTYPE e [<!ENTITY x SYSTEM "file:///etc/passwd">]><e:propertyset xmlns:e="urn:schemas-upnp-org:event-1-0"><e:property><A>&x;</A></e:property></e:propertyset>"#
        #expect(try await send(Self.notify(path: path, headers: good, body: xxe)) == 400)
        let bomb = #"<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><e:propertyset xmlns:e="urn:schemas-upnp-org:event-1-0"><e:property><A>&c;</A></e:property></e:propertyset>"#
        #expect(try await send(Self.notify(path: path, headers: good, body: bomb)) == 400)
        #expect(try await send(Self.notify(path: path, headers: good, body: "\u{0}\u{1}not xml at all")) == 400)
        #expect(try await send(Self.notify(path: path, headers: good, body: "<html><body>hi</body></html>")) == 400)
        // A huge body: refused from its Content-Length, and when it lies about its length, as the bytes arrive.
        #expect(try await send("NOTIFY \(path) HTTP/1.1\r\nNT: upnp:event\r\nNTS: upnp:propchange\r\nSID: uuid:good\r\nSEQ: 0\r\nContent-Length: 104857600\r\n\r\n<e:") == 413)
        let chunked = "NOTIFY \(path) HTTP/1.1\r\nNT: upnp:event\r\nNTS: upnp:propchange\r\nSID: uuid:good\r\nSEQ: 0\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "10000\r\n" + String(repeating: "x", count: 65_536) + "\r\n10000\r\n" + String(repeating: "x", count: 65_536) + "\r\n0\r\n\r\n"
        #expect(try await send(chunked) == 413)
        // Not HTTP at all: NIOHTTP1's decoder fails, the error handler answers 400.
        #expect(try await send("\u{16}\u{3}\u{1}garbage that is not a request line\r\n\r\n") == 400)
        #expect(receiver.notifies.isEmpty)

        // A sender that never finishes its head is cut off by the listener (orderly close, recv() == 0) before the
        // client's own 10 s receive timeout would fire (recv() == -1).
        let impatient = GENANotifyListener(configuration: .init(host: "127.0.0.1", requestTimeout: .seconds(1)))
        let impatientPort = try #require(try await impatient.start().port)
        let closedByListener = try Self.partialRequestIsClosed(port: impatientPort)
        #expect(closedByListener)
        try await impatient.shutdown()

        #expect(try await send(Self.notify(path: path, headers: good)) == 200)
        #expect(receiver.notifies == [GENANotify(sid: "uuid:good", seq: 0, properties: [GENAProperty(name: "TestIDs", value: "1,2")])])
        listener.unregister(path: path)
        #expect(try await send(Self.notify(path: path, headers: good)) == 412)
        try await listener.shutdown()
    }

    static func partialRequestIsClosed(port: Int) throws -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        try RawSocket.bind(fd, "127.0.0.1", 0)
        RawSocket.setTimeout(fd, 10)
        var remote = RawSocket.address("127.0.0.1", port)
        let connected = withUnsafePointer(to: &remote) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw NetworkNamespaceUnavailable("connect: errno \(errno)") }
        let partial = Array("NOTIFY /gena/1 HTTP/1.1\r\nNT: upn".utf8)
        _ = partial.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, 0) }
        var buffer = [UInt8](repeating: 0, count: 1024)
        let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        return count == 0
    }
}
