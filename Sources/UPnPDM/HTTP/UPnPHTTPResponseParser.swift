// A lenient HTTP/1.x response reader for UPnP devices, as a pure state machine: bytes in, an action out.
//
// Why not NIOHTTP1's HTTPResponseDecoder: it is llhttp, which is strict and has no lenient switches in NIO. It
// fails `Content-Length:` with an empty value ("Empty Content-Length", c_nio_llhttp.c), which devolo's gwsim sends
// for GetSupportedParameters, exactly like real DSL gateways (upnp-testbed.md §4). The request side still goes
// through NIOHTTP1's HTTPRequestEncoder; only reading is done here.
//
// What it tolerates, each case recorded in `UPnPHTTPResponse.anomalies` so callers and logs can say so:
// * a body shorter than Content-Length followed by close: the bytes that arrived are kept;
// * an empty or unparsable Content-Length, or none at all (HTTP/1.0): the body runs to the close;
// * LF-only line ends, leading blank lines, header lines without a colon (skipped), obsolete line folding;
// * a head that never ends with the blank line (the connection closed after the last header);
// * a chunked body cut short by the close.
// What it refuses: a head or body past the caps (checked as bytes arrive, before buffering more), no status line.

import NIOHTTP1

/// One HTTP response as read from a device.
public struct UPnPHTTPResponse: Sendable {
    public var version: HTTPVersion
    /// The status code (200, 500, ...).
    public var statusCode: Int
    public var reasonPhrase: String
    public var headers: HTTPHeaders
    public var body: [UInt8]
    /// The framing faults that were tolerated while reading this response (empty for a clean one).
    public var anomalies: [UPnPHTTPFramingAnomaly]

    public init(version: HTTPVersion = .http1_1, statusCode: Int, reasonPhrase: String = "",
                headers: HTTPHeaders = [:], body: [UInt8] = [], anomalies: [UPnPHTTPFramingAnomaly] = []) {
        self.version = version
        self.statusCode = statusCode
        self.reasonPhrase = reasonPhrase
        self.headers = headers
        self.body = body
        self.anomalies = anomalies
    }
}

/// A framing fault a device made that the reader tolerated.
public enum UPnPHTTPFramingAnomaly: Hashable, Sendable {
    /// The connection closed after `received` of the `expected` body bytes; the body is what arrived.
    case bodyShorterThanContentLength(expected: Int, received: Int)
    /// `Content-Length` was present but empty; the body ran to the close.
    case emptyContentLength
    /// `Content-Length` was not a number; the body ran to the close.
    case invalidContentLength(String)
    /// The head ended with the connection instead of a blank line.
    case headNotTerminated
    /// A chunked body was cut short by the close; the body is the data that arrived.
    case chunkedBodyTruncated
    /// Header lines that were not `name: value` were skipped.
    case malformedHeaderLinesSkipped(Int)
}

/// Reads one response. Feed it the bytes as they arrive, then `endOfInput()` when the connection closes.
public struct UPnPHTTPResponseParser: Sendable {
    public struct Limits: Sendable, Hashable {
        /// The status line and headers together.
        public var maximumHeadBytes: Int
        /// The body (after chunked decoding).
        public var maximumBodyBytes: Int

        public init(maximumHeadBytes: Int = 16 * 1024, maximumBodyBytes: Int = 1024 * 1024) {
            self.maximumHeadBytes = maximumHeadBytes
            self.maximumBodyBytes = maximumBodyBytes
        }
    }

    public enum Action: Sendable {
        /// Nothing to do until more bytes (or the close) arrive.
        case needMoreData
        /// The response is complete; later bytes are ignored.
        case complete(UPnPHTTPResponse)
        /// The response cannot be read; close the connection.
        case fail(UPnPDMError)
    }

    private enum Framing: Sendable {
        case contentLength(Int)
        case chunked(ChunkState)
        case untilClose
    }

    private enum ChunkState: Sendable {
        case size            // reading `hex[;ext]CRLF`
        case data(Int)       // that many data bytes left in this chunk
        case dataEnd         // the CRLF after a chunk's data
        case trailer         // trailer lines until an empty one
    }

    private enum State: Sendable {
        case head
        case body(UPnPHTTPResponse, Framing)
        case done
    }

    public let limits: Limits
    /// True for the response to a HEAD request (it has no body whatever its headers say).
    private let requestWasHead: Bool
    private var state: State = .head
    /// Bytes not consumed yet (the head as it accumulates; a chunk-size line).
    private var pending: [UInt8] = []
    /// Bytes arrived after the end of the response (a device that sends more than it framed).
    private var leftover = false
    /// True once the response completed by its own framing (Content-Length, chunked, or a bodiless status) with
    /// no byte after it: the only kind of response after which a keep-alive connection can be used again.
    public private(set) var endedByFraming = false

    public init(limits: Limits = Limits(), requestWasHead: Bool = false) {
        self.limits = limits
        self.requestWasHead = requestWasHead
    }

    /// Takes the next bytes from the connection.
    public mutating func feed<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> Action {
        let action: Action
        switch state {
        case .done:
            if !bytes.isEmpty { endedByFraming = false }
            return .needMoreData
        case .head:
            pending.append(contentsOf: bytes)
            action = parseHead()
        case .body(var response, let framing):
            state = .done  // avoid a copy of the body while it is mutated
            action = consumeBody(&response, framing, input: Array(bytes)[...])
        }
        if case .complete = action { endedByFraming = !leftover }
        return action
    }

    /// The connection closed (the peer's FIN or a read error after some data).
    public mutating func endOfInput() -> Action {
        switch state {
        case .done:
            return .needMoreData
        case .head:
            state = .done
            let bytes = pending.drop(while: { $0 == 13 || $0 == 10 })
            if bytes.isEmpty {
                return .fail(UPnPDMError(.connectionClosed, "the device closed the connection without a response"))
            }
            // The head never ended: take what arrived as the head (gwsim-style devices drop the final CRLF).
            switch parseHeadBlock(bytes) {
            case .failure(let error):
                return .fail(error)
            case .success(var response):
                response.anomalies.insert(.headNotTerminated, at: 0)
                return .complete(response)
            }
        case .body(var response, let framing):
            state = .done
            switch framing {
            case .untilClose:
                break
            case .contentLength(let expected):
                response.anomalies.append(.bodyShorterThanContentLength(expected: expected, received: response.body.count))
            case .chunked:
                response.anomalies.append(.chunkedBodyTruncated)
            }
            return .complete(response)
        }
    }

    // MARK: - Head

    private mutating func parseHead() -> Action {
        while true {
            // Leading blank lines (some devices send a CRLF left over from an earlier message) are skipped.
            let leading = pending.prefix(while: { $0 == 13 || $0 == 10 }).count
            if leading > 0 { pending.removeFirst(leading) }
            guard let (headEnd, bodyStart) = Self.findHeadEnd(pending) else {
                if pending.count > limits.maximumHeadBytes {
                    state = .done
                    return .fail(UPnPDMError(.responseTooLarge,
                                             "the response head exceeds \(limits.maximumHeadBytes) bytes"))
                }
                return .needMoreData
            }
            if headEnd > limits.maximumHeadBytes {
                state = .done
                return .fail(UPnPDMError(.responseTooLarge, "the response head exceeds \(limits.maximumHeadBytes) bytes"))
            }
            let rest = pending[bodyStart...]
            switch parseHeadBlock(pending[..<headEnd]) {
            case .failure(let error):
                state = .done
                return .fail(error)
            case .success(let response):
                // 1xx (100 Continue) heads precede the real one: drop them and read on.
                if (100..<200).contains(response.statusCode) {
                    pending = Array(rest)
                    continue
                }
                pending = []
                return startBody(response, rest: rest)
            }
        }
    }

    /// The index where the head's text ends and where the body begins (after CRLFCRLF, LFLF or LFCRLF).
    private static func findHeadEnd(_ bytes: [UInt8]) -> (Int, Int)? {
        var index = 0
        while index < bytes.count {
            if bytes[index] == 10 {
                if index + 1 < bytes.count, bytes[index + 1] == 10 { return (index, index + 2) }
                if index + 2 < bytes.count, bytes[index + 1] == 13, bytes[index + 2] == 10 { return (index, index + 3) }
            }
            index += 1
        }
        return nil
    }

    /// Reads the status line and the header fields. Works on the bytes: one String per field name and value (and
    /// the status line), not one per line plus trimmed copies (per GetValues that was the largest single cost left
    /// in reading the answer).
    private func parseHeadBlock(_ head: ArraySlice<UInt8>) -> Result<UPnPHTTPResponse, UPnPDMError> {
        head.withUnsafeBufferPointer { bytes in parseHeadBlock(bytes) }
    }

    private func parseHeadBlock(_ head: UnsafeBufferPointer<UInt8>) -> Result<UPnPHTTPResponse, UPnPDMError> {
        // Lines end at LF; CRs before it are not part of the line. Trailing empty lines are dropped.
        var lines: [Range<Int>] = []
        var lineStart = 0
        for index in 0...head.count where index == head.count || head[index] == 10 {
            var lineEnd = index
            while lineEnd > lineStart, head[lineEnd - 1] == 13 { lineEnd -= 1 }
            if index < head.count || lineStart < head.count { lines.append(lineStart..<lineEnd) }
            lineStart = index + 1
        }
        while let last = lines.last, last.isEmpty { lines.removeLast() }
        guard let statusRange = lines.first else {
            return .failure(UPnPDMError(.malformedHTTPResponse, "the response has no status line"))
        }
        let statusLine = Substring(String(decoding: UnsafeBufferPointer(rebasing: head[statusRange]), as: UTF8.self))
        // `HTTP/1.1 200 OK`; the reason phrase may be missing or contain spaces.
        let parts = statusLine.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: true)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), parts[0].count == 8,
              let minor = Int(parts[0].dropFirst(7)), let code = Int(parts[1]), (100...999).contains(code),
              parts[1].count == 3 else {
            return .failure(UPnPDMError(.malformedHTTPResponse,
                                        "the status line is not HTTP/1.x: \(String(statusLine.prefix(80)).debugDescription)"))
        }
        var fields: [(String, String)] = []
        fields.reserveCapacity(lines.count - 1)
        var skipped = 0
        for line in lines.dropFirst() {
            if let first = line.first, head[first] == 0x20 || head[first] == 0x09 {
                // Obsolete line folding: a continuation of the previous header's value.
                if !fields.isEmpty {
                    fields[fields.count - 1].1 += " " + Self.trimmedString(head, line)
                } else {
                    skipped += 1
                }
                continue
            }
            guard let colon = line.first(where: { head[$0] == 0x3A }), colon != line.lowerBound else {
                skipped += 1
                continue
            }
            fields.append((Self.trimmedString(head, line.lowerBound..<colon),
                           Self.trimmedString(head, (colon + 1)..<line.upperBound)))
        }
        let headers = HTTPHeaders(fields)
        var response = UPnPHTTPResponse(version: HTTPVersion(major: 1, minor: minor), statusCode: code,
                                        reasonPhrase: parts.count > 2 ? String(parts[2]) : "", headers: headers)
        if skipped > 0 { response.anomalies.append(.malformedHeaderLinesSkipped(skipped)) }
        return .success(response)
    }

    /// The bytes in `range` without leading and trailing ASCII whitespace, decoded as UTF-8 (invalid sequences
    /// replaced, as for the whole line before).
    private static func trimmedString(_ head: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> String {
        var lower = range.lowerBound
        var upper = range.upperBound
        while lower < upper, isASCIIWhitespace(head[lower]) { lower += 1 }
        while upper > lower, isASCIIWhitespace(head[upper - 1]) { upper -= 1 }
        return String(decoding: UnsafeBufferPointer(rebasing: head[lower..<upper]), as: UTF8.self)
    }

    // MARK: - Body

    private mutating func startBody(_ head: UPnPHTTPResponse, rest: ArraySlice<UInt8>) -> Action {
        var response = head
        if requestWasHead || response.statusCode == 204 || response.statusCode == 304 {
            state = .done
            leftover = !rest.isEmpty
            return .complete(response)
        }
        let framing: Framing
        if response.headers["transfer-encoding"].contains(where: { $0.lowercased().contains("chunked") }) {
            framing = .chunked(.size)
        } else if let lengthText = response.headers.first(name: "content-length") {
            let trimmed = lengthText.trimmingWhitespace()
            if trimmed.isEmpty {
                response.anomalies.append(.emptyContentLength)
                framing = .untilClose
            } else if let length = Int(trimmed), length >= 0 {
                guard length <= limits.maximumBodyBytes else {
                    state = .done
                    return .fail(UPnPDMError(.responseTooLarge, "the body announces \(length) bytes, more than "
                                             + "\(limits.maximumBodyBytes)"))
                }
                framing = .contentLength(length)
            } else {
                response.anomalies.append(.invalidContentLength(String(trimmed.prefix(40))))
                framing = .untilClose
            }
        } else {
            framing = .untilClose
        }
        return consumeBody(&response, framing, input: rest)
    }

    /// Consumes body bytes; on return `state` is set to what comes next.
    private mutating func consumeBody(_ response: inout UPnPHTTPResponse, _ framing: Framing,
                                      input: ArraySlice<UInt8>) -> Action {
        var input = input
        switch framing {
        case .untilClose:
            guard response.body.count + input.count <= limits.maximumBodyBytes else {
                state = .done
                return .fail(UPnPDMError(.responseTooLarge, "the body exceeds \(limits.maximumBodyBytes) bytes"))
            }
            response.body.append(contentsOf: input)
            state = .body(response, .untilClose)
            return .needMoreData
        case .contentLength(let expected):
            let wanted = expected - response.body.count
            response.body.append(contentsOf: input.prefix(wanted))
            if response.body.count == expected {
                state = .done
                leftover = input.count > wanted
                return .complete(response)
            }
            state = .body(response, framing)
            return .needMoreData
        case .chunked(var chunk):
            while true {
                switch chunk {
                case .size, .trailer:
                    pending.append(contentsOf: input)
                    input = []
                    guard let newline = pending.firstIndex(of: 10) else {
                        if pending.count > 1024 {
                            state = .done
                            return .fail(UPnPDMError(.malformedHTTPResponse, "a chunk-size line exceeds 1024 bytes"))
                        }
                        state = .body(response, .chunked(chunk))
                        return .needMoreData
                    }
                    var line = Substring(String(decoding: pending[..<newline], as: UTF8.self))
                    input = pending[(newline + 1)...]
                    pending = []
                    while line.last == "\r" { line.removeLast() }
                    if case .trailer = chunk {
                        if line.trimmingWhitespace().isEmpty {
                            state = .done
                            leftover = !input.isEmpty
                            return .complete(response)
                        }
                        continue
                    }
                    let sizeText = line.split(separator: ";", maxSplits: 1).first?.trimmingWhitespace() ?? ""
                    guard let size = Int(sizeText, radix: 16), size >= 0 else {
                        state = .done
                        return .fail(UPnPDMError(.malformedHTTPResponse,
                                                 "a chunk size is not hexadecimal: \(String(line.prefix(40)).debugDescription)"))
                    }
                    guard response.body.count + size <= limits.maximumBodyBytes else {
                        state = .done
                        return .fail(UPnPDMError(.responseTooLarge, "the body exceeds \(limits.maximumBodyBytes) bytes"))
                    }
                    chunk = size == 0 ? .trailer : .data(size)
                case .data(let left):
                    let taken = input.prefix(left)
                    response.body.append(contentsOf: taken)
                    input = input.dropFirst(taken.count)
                    if taken.count < left {
                        state = .body(response, .chunked(.data(left - taken.count)))
                        return .needMoreData
                    }
                    chunk = .dataEnd
                case .dataEnd:
                    // CRLF (or a bare LF) after the data; tolerate its absence by treating other bytes as the
                    // next size line.
                    while let first = input.first, first == 13 || first == 10 {
                        input = input.dropFirst()
                        if first == 10 { chunk = .size; break }
                    }
                    if case .dataEnd = chunk {
                        if input.isEmpty {
                            state = .body(response, .chunked(.dataEnd))
                            return .needMoreData
                        }
                        chunk = .size
                    }
                }
            }
        }
    }
}

extension StringProtocol {
    /// The text without leading and trailing ASCII whitespace (space, tab, CR, LF): what UPnP values and
    /// header fields are padded with. Works on the UTF-8 bytes (all four are ASCII), not on Characters, whose
    /// grapheme breaking cost more than the rest of reading a GetValues answer.
    func trimmingWhitespace() -> Substring {
        let text = Substring(self)
        let bytes = text.utf8
        guard let start = bytes.firstIndex(where: { !isASCIIWhitespace($0) }) else { return Substring() }
        let last = bytes.lastIndex(where: { !isASCIIWhitespace($0) })!
        // The byte after the last non-space one is a space or the end: a scalar boundary, unlike `last` itself.
        return text[start..<bytes.index(after: last)]
    }
}

/// Space, tab, CR or LF.
@inline(__always)
func isASCIIWhitespace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0D || byte == 0x0A }
