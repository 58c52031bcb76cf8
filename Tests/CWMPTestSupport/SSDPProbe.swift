// A minimal SSDP M-SEARCH for tests: checks that a peer in a NetworkNamespace is reachable by multicast from the
// root-namespace end of the veth. Not a control point (the UPnPDM module has the real one): it sends one M-SEARCH
// and collects the raw replies. The socket is pinned to `localAddress` (bind + IP_MULTICAST_IF), the rule that keeps
// SSDP off eth0. Foundation and Glibc are fine here: tests only.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

public enum SSDPProbe {
    /// One search-response datagram, with its headers (names upper-cased).
    public struct Reply: Sendable {
        public var text: String
        public var headers: [String: String]
        public var usn: String { headers["USN"] ?? "" }
        /// `uuid:…` from the USN.
        public var udn: String { usn.components(separatedBy: "::").first ?? "" }
    }

    /// Sends one M-SEARCH for `searchTarget` from `localAddress` to 239.255.255.250:1900 and returns every reply
    /// that arrives within `wait` seconds (pass MX + 1).
    public static func search(_ searchTarget: String, from localAddress: String, mx: Int = 1,
                              wait: Double? = nil) throws -> [Reply] {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw NetworkNamespaceUnavailable("socket: \(errno)") }
        defer { close(fd) }
        var local = sockaddr_in()
        local.sin_family = sa_family_t(AF_INET)
        local.sin_addr.s_addr = inet_addr(localAddress)
        let bound = withUnsafePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw NetworkNamespaceUnavailable("bind \(localAddress): errno \(errno)") }
        var interface = in_addr(s_addr: inet_addr(localAddress))
        guard setsockopt(fd, Int32(IPPROTO_IP), IP_MULTICAST_IF, &interface, socklen_t(MemoryLayout<in_addr>.size)) == 0
        else { throw NetworkNamespaceUnavailable("IP_MULTICAST_IF: errno \(errno)") }
        var ttl: UInt8 = 2
        _ = setsockopt(fd, Int32(IPPROTO_IP), IP_MULTICAST_TTL, &ttl, 1)
        var timeout = timeval(tv_sec: 0, tv_usec: 100_000)
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))

        let message = "M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\nMX: \(mx)\r\n"
            + "ST: \(searchTarget)\r\n\r\n"
        var group = sockaddr_in()
        group.sin_family = sa_family_t(AF_INET)
        group.sin_port = in_port_t(UInt16(1900).bigEndian)
        group.sin_addr.s_addr = inet_addr("239.255.255.250")
        let sent = message.utf8CString.withUnsafeBufferPointer { bytes in
            withUnsafePointer(to: &group) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, bytes.baseAddress, bytes.count - 1, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
        guard sent > 0 else { throw NetworkNamespaceUnavailable("sendto: errno \(errno)") }
        return collect(fd, until: Date().addingTimeInterval(wait ?? Double(mx + 1)))
    }

    /// The same over IPv6: to [FF02::C]:1900 out of interface `interfaceIndex`, from `localAddress` (a ULA or
    /// link-local address of that interface).
    public static func search6(_ searchTarget: String, from localAddress: String, interfaceIndex: UInt32, mx: Int = 1,
                               wait: Double? = nil) throws -> [Reply] {
        let fd = socket(AF_INET6, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw NetworkNamespaceUnavailable("socket: \(errno)") }
        defer { close(fd) }
        var local = sockaddr_in6()
        local.sin6_family = sa_family_t(AF_INET6)
        local.sin6_scope_id = interfaceIndex
        guard inet_pton(AF_INET6, localAddress, &local.sin6_addr) == 1 else {
            throw NetworkNamespaceUnavailable("bad IPv6 address \(localAddress)")
        }
        let bound = withUnsafePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
        }
        guard bound == 0 else { throw NetworkNamespaceUnavailable("bind [\(localAddress)]: errno \(errno)") }
        var index = interfaceIndex
        guard setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_MULTICAST_IF, &index, socklen_t(MemoryLayout<UInt32>.size)) == 0
        else { throw NetworkNamespaceUnavailable("IPV6_MULTICAST_IF: errno \(errno)") }
        var hops: Int32 = 2
        _ = setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_MULTICAST_HOPS, &hops, socklen_t(MemoryLayout<Int32>.size))
        var timeout = timeval(tv_sec: 0, tv_usec: 100_000)
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let message = "M-SEARCH * HTTP/1.1\r\nHOST: [FF02::C]:1900\r\nMAN: \"ssdp:discover\"\r\nMX: \(mx)\r\n"
            + "ST: \(searchTarget)\r\n\r\n"
        var group = sockaddr_in6()
        group.sin6_family = sa_family_t(AF_INET6)
        group.sin6_port = in_port_t(UInt16(1900).bigEndian)
        group.sin6_scope_id = interfaceIndex
        _ = inet_pton(AF_INET6, "ff02::c", &group.sin6_addr)
        let sent = message.utf8CString.withUnsafeBufferPointer { bytes in
            withUnsafePointer(to: &group) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, bytes.baseAddress, bytes.count - 1, 0, $0, socklen_t(MemoryLayout<sockaddr_in6>.size))
                }
            }
        }
        guard sent > 0 else { throw NetworkNamespaceUnavailable("sendto: errno \(errno)") }
        return collect(fd, until: Date().addingTimeInterval(wait ?? Double(mx + 1)))
    }

    private static func collect(_ fd: Int32, until deadline: Date) -> [Reply] {
        var replies: [Reply] = []
        var buffer = [UInt8](repeating: 0, count: 8192)
        while Date() < deadline {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { continue }
            let text = String(decoding: buffer[0..<count], as: UTF8.self)
            var headers: [String: String] = [:]
            for line in text.split(separator: "\r\n").dropFirst() {
                guard let colon = line.firstIndex(of: ":") else { continue }
                headers[line[..<colon].trimmingCharacters(in: .whitespaces).uppercased()] =
                    line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
            replies.append(Reply(text: text, headers: headers))
        }
        return replies
    }
}
