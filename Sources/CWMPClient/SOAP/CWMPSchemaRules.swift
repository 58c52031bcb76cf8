// The value constraints of cwmp-1-0.xsd … cwmp-1-4.xsd that a caller of the encoder can break, in one place.
// The encoder checks them before writing, so it never emits an envelope the ACS's schema would reject.
// Where the three namespaces differ (event codes, file types, fault codes, notification values) the rule
// takes the namespace. Patterns are XSD patterns (implicitly anchored); in them `.` is any character but
// CR/LF and `\S` any character but space, tab, CR and LF. `\d` is matched as ASCII digits only, which is
// stricter than XSD's Unicode digits: no CWMP code uses other digits.

enum CWMPSchemaRules {
    // MARK: - Which schema defines what

    /// The first namespace whose schema defines the message (its RPC element or, for a fault, `cwmp:Fault`).
    static func firstNamespace(defining message: CWMPMessage) -> CWMPNamespace {
        switch message {
        case .getAllQueuedTransfers, .getAllQueuedTransfersResponse,
             .autonomousTransferComplete, .autonomousTransferCompleteResponse:
            .cwmp11
        case .scheduleDownload, .scheduleDownloadResponse, .cancelTransfer, .cancelTransferResponse,
             .changeDUState, .changeDUStateResponse, .duStateChangeComplete, .duStateChangeCompleteResponse,
             .autonomousDUStateChangeComplete, .autonomousDUStateChangeCompleteResponse:
            .cwmp12
        case .getRPCMethods, .setParameterValues, .getParameterValues, .getParameterNames, .setParameterAttributes,
             .getParameterAttributes, .addObject, .deleteObject, .reboot, .download, .upload, .factoryReset,
             .scheduleInform, .getQueuedTransfers, .getRPCMethodsResponse, .setParameterValuesResponse,
             .getParameterValuesResponse, .getParameterNamesResponse, .setParameterAttributesResponse,
             .getParameterAttributesResponse, .addObjectResponse, .deleteObjectResponse, .rebootResponse,
             .downloadResponse, .uploadResponse, .factoryResetResponse, .scheduleInformResponse,
             .getQueuedTransfersResponse, .inform, .transferComplete, .requestDownload, .kicked, .informResponse,
             .transferCompleteResponse, .requestDownloadResponse, .kickedResponse, .fault:
            .cwmp10
        }
    }

    static func order(_ namespace: CWMPNamespace) -> Int {
        switch namespace {
        case .cwmp10: 0
        case .cwmp11: 1
        case .cwmp12: 2
        }
    }

    static func defines(_ namespace: CWMPNamespace, _ message: CWMPMessage) -> Bool {
        order(namespace) >= order(firstNamespace(defining: message))
    }

    // MARK: - Characters and lengths

    /// What one pass over a string's UTF-8 found out.
    struct TextInfo {
        /// The length as XSD counts it: Unicode scalars.
        var length: Int
        /// No byte that libxml2's text escaping rewrites (`<`, `>`, `&`, `"`, CR): see `XMLWriter.text`.
        var plain: Bool
    }

    /// Length and escaping needs of a string, or nil when it holds a character XML 1.0 cannot carry at all:
    /// C0 controls other than tab/LF/CR (NUL included), U+FFFE and U+FFFF. libxml2's writer would pass
    /// those through and produce a document no parser accepts.
    static func textInfo(_ value: String) -> TextInfo? {
        if let result = value.utf8.withContiguousStorageIfAvailable({ scan($0) }) { return result }
        return Array(value.utf8).withUnsafeBufferPointer { scan($0) }
    }

    /// One pass over the bytes; this runs for every string of every envelope, so it first tries eight
    /// bytes at a time: a word of ASCII with no control character and none of `<>&"` (the usual case for
    /// parameter names and values) is eight plain characters. Any other word goes byte by byte.
    private static func scan(_ bytes: UnsafeBufferPointer<UInt8>) -> TextInfo? {
        var count = 0
        var plain = true
        var i = 0
        let end = bytes.count
        if let base = UnsafeRawPointer(bytes.baseAddress) {
            let ones: UInt64 = 0x0101_0101_0101_0101
            let highs: UInt64 = 0x8080_8080_8080_8080
            // Exact "some byte is zero" / "some byte is below n" tests (Bit Twiddling Hacks, haszero/hasless).
            @inline(__always) func hasZeroByte(_ x: UInt64) -> Bool { (x &- ones) & ~x & highs != 0 }
            @inline(__always) func hasByte(_ x: UInt64, _ b: UInt8) -> Bool { hasZeroByte(x ^ (ones &* UInt64(b))) }
            while i + 8 <= end {
                let word = base.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                let special = word & highs != 0 || (word &- ones &* 0x20) & ~word & highs != 0
                    || hasByte(word, 0x3C) || hasByte(word, 0x3E) || hasByte(word, 0x26) || hasByte(word, 0x22)
                if special { break }
                count += 8
                i += 8
            }
        }
        while i < end {
            let byte = bytes[i]
            if byte < 0x40 {
                // Every ASCII byte that matters (controls, <, >, &, ") is below 0x40.
                if byte < 0x20 {
                    guard byte == 0x09 || byte == 0x0A || byte == 0x0D else { return nil }
                    if byte == 0x0D { plain = false }
                } else if byte == 0x3C || byte == 0x3E || byte == 0x26 || byte == 0x22 {
                    plain = false
                }
            } else if byte == 0xEF, i + 2 < end, bytes[i + 1] == 0xBF, bytes[i + 2] == 0xBE || bytes[i + 2] == 0xBF {
                return nil // U+FFFE / U+FFFF
            }
            if byte & 0xC0 != 0x80 { count += 1 }
            i += 1
        }
        return TextInfo(length: count, plain: plain)
    }

    /// Throws unless `value` is XML-safe and at most `maxLength` characters long (nil: no limit).
    @discardableResult
    static func checkString(_ value: String, maxLength: Int?, _ field: @autoclosure () -> String) throws(CWMPError) -> TextInfo {
        guard let info = textInfo(value) else {
            throw CWMPError(.invalidArgument, "\(field()) contains a character XML 1.0 cannot carry (a control character, U+FFFE or U+FFFF)")
        }
        if let maxLength, info.length > maxLength {
            throw CWMPError(.invalidArgument, "\(field()) is \(info.length) characters long; the schema allows at most \(maxLength)")
        }
        return info
    }

    // MARK: - Pattern pieces

    private static func isDigit(_ c: Unicode.Scalar) -> Bool { c >= "0" && c <= "9" }
    private static func isUpperHex(_ c: Unicode.Scalar) -> Bool { isDigit(c) || (c >= "A" && c <= "F") }
    /// XSD `\S`.
    private static func isNonSpace(_ c: Unicode.Scalar) -> Bool { c != " " && c != "\t" && c != "\n" && c != "\r" }
    /// XSD `.`.
    private static func isDot(_ c: Unicode.Scalar) -> Bool { c != "\n" && c != "\r" }

    /// `( \S+)+`
    private static func isSpaceSeparatedWords(_ s: Substring.UnicodeScalarView) -> Bool {
        guard s.first == " " else { return false }
        var previousWasSpace = false
        for c in s {
            if c == " " {
                if previousWasSpace { return false }
                previousWasSpace = true
            } else {
                guard isNonSpace(c) else { return false }
                previousWasSpace = false
            }
        }
        return !previousWasSpace
    }

    /// `\d+( \S+)+`, or with `leadingNonZero` `[1-9]\d*( \S+)+`.
    private static func isNumberedWords(_ s: String, leadingNonZero: Bool) -> Bool {
        let scalars = Substring(s).unicodeScalars
        guard let first = scalars.first, isDigit(first), !leadingNonZero || first != "0" else { return false }
        let rest = scalars.drop(while: isDigit)
        return isSpaceSeparatedWords(Substring.UnicodeScalarView(rest))
    }

    /// `M \S+`
    private static func isMethodEvent(_ s: String) -> Bool {
        guard s.hasPrefix("M ") else { return false }
        let rest = s.unicodeScalars.dropFirst(2)
        return !rest.isEmpty && rest.allSatisfy(isNonSpace)
    }

    /// `X [0-9A-F]{6} .*` (`allowEmptyTail`) or `X [0-9A-F]{6} .+`.
    private static func isOUIVendorCode(_ s: String, allowEmptyTail: Bool) -> Bool {
        let c = Array(s.unicodeScalars)
        guard c.count >= 9, c[0] == "X", c[1] == " ", c[2..<8].allSatisfy(isUpperHex), c[8] == " " else { return false }
        let tail = c[9...]
        return (allowEmptyTail || !tail.isEmpty) && tail.allSatisfy(isDot)
    }

    /// `X \S+ .+`
    private static func isVendorCode(_ s: String) -> Bool {
        let c = Array(s.unicodeScalars)
        guard c.count >= 2, c[0] == "X", c[1] == " " else { return false }
        var i = 2
        while i < c.count, isNonSpace(c[i]) { i += 1 }
        guard i > 2, i < c.count, c[i] == " " else { return false }
        let tail = c[(i + 1)...]
        return !tail.isEmpty && tail.allSatisfy(isDot)
    }

    // MARK: - Codes with per-version grammars

    private static let eventCodes10: Set<String> = [
        "0 BOOTSTRAP", "1 BOOT", "2 PERIODIC", "3 SCHEDULED", "4 VALUE CHANGE", "5 KICKED", "6 CONNECTION REQUEST",
        "7 TRANSFER COMPLETE", "8 DIAGNOSTICS COMPLETE", "9 REQUEST DOWNLOAD",
        "M Reboot", "M ScheduleInform", "M Download", "M Upload",
    ]

    /// EventCodeType: 1-0 lists its events, 1-1 opens numbered and `M` events, 1-2 adds `X <vendor> …`.
    static func checkEventCode(_ code: String, in namespace: CWMPNamespace, _ field: @autoclosure () -> String) throws(CWMPError) {
        try checkString(code, maxLength: 64, field())
        let valid: Bool = switch namespace {
        case .cwmp10:
            eventCodes10.contains(code) || (code.hasPrefix("M X_") && isMethodEvent(code))
                || isOUIVendorCode(code, allowEmptyTail: true)
        case .cwmp11:
            isNumberedWords(code, leadingNonZero: false) || isMethodEvent(code) || isOUIVendorCode(code, allowEmptyTail: true)
        case .cwmp12:
            isNumberedWords(code, leadingNonZero: false) || isMethodEvent(code) || isOUIVendorCode(code, allowEmptyTail: false)
                || isVendorCode(code)
        }
        guard valid else {
            throw CWMPError(.invalidArgument, "\(field()) \"\(code)\" is not an EventCode of \(namespace.rawValue)")
        }
    }

    /// Which FileType element is meant: the 1-0/1-1 schemas give each RPC its own list.
    enum FileTypeUse: String {
        case download = "Download"
        case upload = "Upload"
        case requestDownload = "RequestDownload"
        /// AllQueuedTransferStruct and AutonomousTransferComplete (1-1 adds `4 Vendor Log File`).
        case transfer = "Transfer"
        case scheduleDownload = "ScheduleDownload"
    }

    static func checkFileType(_ fileType: String, _ use: FileTypeUse, in namespace: CWMPNamespace,
                              _ field: @autoclosure () -> String) throws(CWMPError) {
        try checkString(fileType, maxLength: 64, field())
        let valid: Bool
        if namespace == .cwmp12 {
            // DownloadFileType, UploadFileType and TransferFileType: the `… <n>` instance form of the latter two
            // is already covered by `[1-9]\d*( \S+)+`.
            valid = isNumberedWords(fileType, leadingNonZero: true) || isOUIVendorCode(fileType, allowEmptyTail: false)
                || isVendorCode(fileType)
        } else {
            let listed: Set<String> = switch use {
            case .download, .requestDownload, .scheduleDownload:
                ["1 Firmware Upgrade Image", "2 Web Content", "3 Vendor Configuration File"]
            case .upload:
                ["1 Vendor Configuration File", "2 Vendor Log File"]
            case .transfer:
                ["1 Firmware Upgrade Image", "2 Web Content", "3 Vendor Configuration File", "4 Vendor Log File"]
            }
            valid = listed.contains(fileType) || isOUIVendorCode(fileType, allowEmptyTail: true)
        }
        guard valid else {
            throw CWMPError(.invalidArgument, "\(field()) \"\(fileType)\" is not a \(use.rawValue) FileType of \(namespace.rawValue)")
        }
    }

    /// TimeWindowModeValueType (1-2 only).
    static func checkWindowMode(_ mode: String, _ field: @autoclosure () -> String) throws(CWMPError) {
        try checkString(mode, maxLength: 64, field())
        guard isNumberedWords(mode, leadingNonZero: true) || isOUIVendorCode(mode, allowEmptyTail: false) || isVendorCode(mode) else {
            throw CWMPError(.invalidArgument, "\(field()) \"\(mode)\" is not a WindowMode (\"1 At Any Time\", …, \"X <OUI> …\")")
        }
    }

    /// `FaultCode` of `cwmp:Fault` (and, before 1-2, of SetParameterValuesFault): 1-0 enumerates
    /// 9000–9013 and 8000–8005 plus the vendor ranges; 1-1 and later accept 9000–9899 and 8000–8899.
    static func checkFaultCode(_ code: UInt32, in namespace: CWMPNamespace, _ field: @autoclosure () -> String) throws(CWMPError) {
        let valid = switch namespace {
        case .cwmp10: (9000...9013).contains(code) || (9800...9899).contains(code)
            || (8000...8005).contains(code) || (8800...8899).contains(code)
        case .cwmp11, .cwmp12: (9000...9899).contains(code) || (8000...8899).contains(code)
        }
        guard valid else {
            throw CWMPError(.invalidArgument, "\(field()) \(code) is not a fault code of \(namespace.rawValue)")
        }
    }

    /// SetParameterValuesFault/FaultCode: a CPE code (1-2 and later: 9000–9899 only).
    static func checkSetParameterValuesFaultCode(_ code: UInt32, in namespace: CWMPNamespace,
                                                 _ field: @autoclosure () -> String) throws(CWMPError) {
        if namespace == .cwmp12 {
            guard (9000...9899).contains(code) else {
                throw CWMPError(.invalidArgument, "\(field()) \(code) is not a CPE fault code (9000–9899)")
            }
        } else {
            try checkFaultCode(code, in: namespace, field())
        }
    }

    /// FaultStruct/FaultCode of TransferComplete and AutonomousTransferComplete.
    static func checkTransferFaultCode(_ code: UInt32, in namespace: CWMPNamespace,
                                       _ field: @autoclosure () -> String) throws(CWMPError) {
        let base: Set<UInt32> = [0, 9001, 9002, 9010, 9011, 9012]
        let valid = switch namespace {
        case .cwmp10: base.contains(code)
        case .cwmp11: base.contains(code) || (9014...9899).contains(code)
        case .cwmp12: base.contains(code) || (9014...9020).contains(code) || (9033...9899).contains(code)
        }
        guard valid else {
            throw CWMPError(.invalidArgument, "\(field()) \(code) is not a transfer fault code of \(namespace.rawValue)")
        }
    }

    /// DeploymentUnitFaultStruct/FaultCode.
    static func checkDeploymentUnitFaultCode(_ code: UInt32, _ field: @autoclosure () -> String) throws(CWMPError) {
        let listed: Set<UInt32> = [0, 9001, 9003, 9012, 9013, 9015, 9016, 9017, 9018]
        guard listed.contains(code) || (9022...9899).contains(code) else {
            throw CWMPError(.invalidArgument, "\(field()) \(code) is not a Deployment Unit fault code")
        }
    }

    /// ParameterAttributeNotificationValueType: 0–2 before CWMP 1.2, 0–6 after.
    static func checkNotification(_ value: NotificationValue, in namespace: CWMPNamespace,
                                  _ field: @autoclosure () -> String) throws(CWMPError) {
        let maximum = namespace == .cwmp12 ? 6 : 2
        guard (0...maximum).contains(value.rawValue) else {
            throw CWMPError(.invalidArgument, "\(field()) \(value.rawValue) is not in 0...\(maximum) for \(namespace.rawValue)")
        }
    }

    // MARK: - Fixed formats

    /// `[0-9A-F]{6}`
    static func checkOUI(_ oui: String, _ field: @autoclosure () -> String) throws(CWMPError) {
        let c = Array(oui.unicodeScalars)
        guard c.count == 6, c.allSatisfy(isUpperHex) else {
            throw CWMPError(.invalidArgument, "\(field()) \"\(oui)\" is not six upper-case hex digits [0-9A-F]{6}")
        }
    }

    /// DeploymentUnitUUID: 8-4-4-4-12 hex digits.
    static func checkUUID(_ uuid: String, _ field: @autoclosure () -> String) throws(CWMPError) {
        let c = Array(uuid.unicodeScalars)
        let valid = c.count == 36 && c.indices.allSatisfy { i in
            [8, 13, 18, 23].contains(i) ? c[i] == "-" : (isDigit(c[i]) || ("a"..."f").contains(c[i]) || ("A"..."F").contains(c[i]))
        }
        guard valid else {
            throw CWMPError(.invalidArgument, "\(field()) \"\(uuid)\" is not a UUID (8-4-4-4-12 hex digits)")
        }
    }

    /// ObjectNameType: at most 256 characters, ending in `.`, no CR/LF (`.*\.`).
    static func checkObjectName(_ name: String, _ field: @autoclosure () -> String) throws(CWMPError) {
        try checkString(name, maxLength: 256, field())
        guard name.hasSuffix("."), name.unicodeScalars.allSatisfy(isDot) else {
            throw CWMPError(.invalidArgument, "\(field()) \"\(name)\" must be a partial path ending in \".\"")
        }
    }

    /// xs:anyURI as libxml2 checks it (it %-escapes spaces and non-ASCII, then parses RFC 2396): the parts a
    /// caller is likely to get wrong are refused here: a malformed `%` escape, a second `#`, a `:` before the
    /// first `/`, `?` or `#` that does not end a valid scheme, and `[`/`]` outside an authority's IPv6 host.
    static func checkAnyURI(_ uri: String, maxLength: Int, _ field: @autoclosure () -> String) throws(CWMPError) {
        try checkString(uri, maxLength: maxLength, field())
        func fail(_ why: String) -> CWMPError {
            CWMPError(.invalidArgument, "\(field()) \"\(uri)\" is not a URI: \(why)")
        }
        let c = Array(uri.unicodeScalars)
        var i = 0
        while i < c.count {
            if c[i] == "%" {
                guard i + 2 < c.count, c[i + 1].properties.isASCIIHexDigit, c[i + 2].properties.isASCIIHexDigit else {
                    throw fail("'%' must start a %XX escape")
                }
            }
            i += 1
        }
        guard c.filter({ $0 == "#" }).count <= 1 else { throw fail("more than one '#'") }
        let firstDelimiter = c.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? c.count
        var rest = c[...]
        if let colon = c[..<firstDelimiter].firstIndex(of: ":") {
            let scheme = c[..<colon]
            guard let first = scheme.first, first.properties.isAlphabetic, first.isASCII,
                  scheme.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || isDigit($0) || "+-.".unicodeScalars.contains($0)) })
            else { throw fail("the part before ':' is not a scheme") }
            rest = c[(colon + 1)...]
        }
        // Brackets only around an IPv6 host: "//[" … "]" before the authority ends.
        if rest.contains("[") || rest.contains("]") {
            guard rest.starts(with: ["/", "/", "["]) else { throw fail("'[' or ']' outside an IPv6 host") }
            let authority = rest.dropFirst(2).prefix { $0 != "/" && $0 != "?" && $0 != "#" }
            guard let close = authority.firstIndex(of: "]"),
                  authority.filter({ $0 == "[" || $0 == "]" }).count == 2,
                  authority[authority.index(after: close)...].allSatisfy({ $0 == ":" || isDigit($0) }),
                  !rest.dropFirst(2 + authority.count).contains(where: { $0 == "[" || $0 == "]" })
            else { throw fail("'[' or ']' outside an IPv6 host") }
        }
    }

    static func checkEnumeration<T: BinaryInteger>(_ value: T, _ allowed: ClosedRange<T>, _ field: @autoclosure () -> String) throws(CWMPError) {
        guard allowed.contains(value) else {
            throw CWMPError(.invalidArgument, "\(field()) \(value) is not in \(allowed.lowerBound)...\(allowed.upperBound)")
        }
    }

    static func checkCount(_ count: Int, _ allowed: ClosedRange<Int>, _ field: @autoclosure () -> String) throws(CWMPError) {
        guard allowed.contains(count) else {
            let range = allowed.upperBound == .max ? "at least \(allowed.lowerBound)" : "\(allowed.lowerBound)...\(allowed.upperBound)"
            throw CWMPError(.invalidArgument, "\(field()) has \(count) entries; the schema allows \(range)")
        }
    }

    static func checkDateTime(_ value: CWMPDateTime, _ field: @autoclosure () -> String) throws(CWMPError) {
        do {
            _ = try value.parsed()
        } catch {
            throw CWMPError(.invalidArgument, "\(field()): \(error.reason)")
        }
    }

    // MARK: - Parameter values (xsi:type)

    /// Checks a ParameterValueStruct/Value against the xsd type it will be tagged with: with `xsi:type` the
    /// validator checks the lexical form, so a `"abc"` tagged `xsd:unsignedInt` would fail the envelope.
    /// Values are carried as given (no normalisation), so the checks accept exactly the forms libxml2 accepts
    /// minus a few it tolerates that no TR-106 value needs (surrounding whitespace, `+` signs, base64 spaces).
    static func checkValue(_ value: String, type: ParameterValueType, _ field: @autoclosure () -> String) throws(CWMPError) {
        let valid: Bool = switch type {
        case .string: true
        case .int: isInteger(value, signed: true, within: Int64(Int32.min)...Int64(Int32.max))
        case .long: isInteger(value, signed: true, within: Int64.min...Int64.max)
        case .unsignedInt: isUnsigned(value, maximum: UInt64(UInt32.max))
        case .unsignedLong: isUnsigned(value, maximum: .max)
        case .boolean: value == "true" || value == "false" || value == "1" || value == "0"
        case .dateTime: CWMPDateTime(rawValue: value).isValid
        case .base64: isBase64(value)
        case .hexBinary: value.utf8.count % 2 == 0 && value.unicodeScalars.allSatisfy { $0.properties.isASCIIHexDigit }
        }
        guard valid else {
            throw CWMPError(.invalidArgument, "\(field()) \"\(value)\" is not a valid \(type.rawValue)")
        }
    }

    private static func isUnsigned(_ text: String, maximum: UInt64) -> Bool {
        guard !text.isEmpty else { return false }
        var value: UInt64 = 0
        for byte in text.utf8 {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return false }
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
            guard !o1, !o2 else { return false }
            value = sum
        }
        return value <= maximum
    }

    private static func isInteger(_ text: String, signed: Bool, within range: ClosedRange<Int64>) -> Bool {
        if text.hasPrefix("-") {
            // Magnitude may be |Int64.min| = Int64.max + 1.
            guard isUnsigned(String(text.dropFirst()), maximum: UInt64(Int64.max) + 1),
                  let magnitude = UInt64(text.dropFirst()) else { return false }
            return magnitude <= range.lowerBound.magnitude
        }
        guard isUnsigned(text, maximum: UInt64(Int64.max)), let value = Int64(text) else { return false }
        return range.contains(value)
    }

    /// Canonical base64 without whitespace: groups of four, `=` padding only at the end, and the unused
    /// bits before the padding zero (libxml2 rejects `QR==`). The empty string is valid.
    private static func isBase64(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count % 4 == 0 else { return false }
        func sextet(_ b: UInt8) -> UInt8? {
            switch b {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): b - UInt8(ascii: "A")
            case UInt8(ascii: "a")...UInt8(ascii: "z"): b - UInt8(ascii: "a") + 26
            case UInt8(ascii: "0")...UInt8(ascii: "9"): b - UInt8(ascii: "0") + 52
            case UInt8(ascii: "+"): 62
            case UInt8(ascii: "/"): 63
            default: nil
            }
        }
        let padding = bytes.reversed().prefix(while: { $0 == UInt8(ascii: "=") }).count
        guard padding <= 2 else { return false }
        let data = bytes.dropLast(padding)
        var last: UInt8 = 0
        for b in data {
            guard let s = sextet(b) else { return false }
            last = s
        }
        switch padding {
        case 1: return last & 0b11 == 0
        case 2: return last & 0b1111 == 0
        default: return true
        }
    }
}
