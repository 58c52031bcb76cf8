import Crypto

/// The Digest algorithms of RFC 7616 §6.1 this module speaks. SHA-512-256 is left out: no ACS or CPE we know of
/// offers it and swift-crypto has no SHA-512/256.
public enum DigestAlgorithm: String, Sendable, Hashable, CaseIterable {
    case md5 = "MD5"
    case md5Session = "MD5-sess"
    case sha256 = "SHA-256"
    case sha256Session = "SHA-256-sess"

    /// The token as written in `algorithm=`; matching is case-insensitive (RFC 7616 §3.3).
    public init?(token: String) {
        guard let match = Self.allCases.first(where: { $0.rawValue.lowercased() == token.lowercased() }) else {
            return nil
        }
        self = match
    }

    /// Client preference when a server offers several (RFC 7616 §3.7 leaves the choice to the client): the stronger
    /// hash first, and the plain variant before -sess because -sess buys nothing for body-less requests.
    var strength: Int {
        switch self {
        case .sha256: 4
        case .sha256Session: 3
        case .md5: 2
        case .md5Session: 1
        }
    }

    /// The -sess variants hash the nonce and cnonce into A1 (RFC 7616 §3.4.2).
    public var isSession: Bool {
        switch self {
        case .md5Session, .sha256Session: true
        case .md5, .sha256: false
        }
    }

    /// Lowercase hex of the hash of `text`'s UTF-8 bytes, the "H"/"KD" building block of RFC 7616 §3.4.
    func hexHash(_ text: String) -> String {
        switch self {
        case .md5, .md5Session:
            Self.hex(Insecure.MD5.hash(data: Array(text.utf8)))
        case .sha256, .sha256Session:
            Self.hex(SHA256.hash(data: Array(text.utf8)))
        }
    }

    static func hex(_ digest: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(64)
        for byte in digest {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// The arithmetic of RFC 7616 §3.4.1–3.4.3 for qop=auth (and the RFC 2069 form without qop), shared by the
/// client and the server so both sides compute exactly the same thing.
enum DigestComputation {
    static func response(algorithm: DigestAlgorithm, username: String, realm: String, password: String,
                         method: String, uri: String, nonce: String, nc: String?, cnonce: String?,
                         qop: String?) -> String {
        var a1Hash = algorithm.hexHash("\(username):\(realm):\(password)")
        if algorithm.isSession {
            a1Hash = algorithm.hexHash("\(a1Hash):\(nonce):\(cnonce ?? "")")
        }
        let a2Hash = algorithm.hexHash("\(method):\(uri)")
        if let qop, let nc, let cnonce {
            return algorithm.hexHash("\(a1Hash):\(nonce):\(nc):\(cnonce):\(qop):\(a2Hash)")
        }
        return algorithm.hexHash("\(a1Hash):\(nonce):\(a2Hash)")
    }

    /// The nonce-count as sent on the wire: exactly 8 lowercase hex digits (RFC 7616 §3.4).
    static func formatNonceCount(_ count: UInt32) -> String {
        let digits = String(count, radix: 16)
        return String(repeating: "0", count: max(0, 8 - digits.count)) + digits
    }

    /// Compares two byte strings in time that depends only on their lengths, so a forged response cannot be
    /// found one byte at a time by timing the server's 401s.
    static func constantTimeEquals(_ lhs: String, _ rhs: String) -> Bool {
        let left = Array(lhs.utf8), right = Array(rhs.utf8)
        var difference = UInt8(truncatingIfNeeded: left.count ^ right.count)
        let count = max(left.count, right.count)
        for index in 0..<count {
            let a = index < left.count ? left[index] : 0
            let b = index < right.count ? right[index] : 0
            difference |= a ^ b
        }
        return difference == 0 && left.count == right.count
    }
}
