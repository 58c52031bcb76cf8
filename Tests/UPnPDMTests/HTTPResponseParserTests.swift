import Testing
@testable import UPnPDM

/// The lenient response reader on raw bytes, fed whole and one byte at a time.
@Suite struct HTTPResponseParserTests {
    /// Feeds `text` (in pieces of `step` bytes), then the close when `close`; returns the first final action.
    func read(_ text: String, step: Int = .max, close: Bool = true,
              limits: UPnPHTTPResponseParser.Limits = .init()) -> UPnPHTTPResponseParser.Action {
        var parser = UPnPHTTPResponseParser(limits: limits)
        let bytes = Array(text.utf8)
        var index = 0
        while index < bytes.count {
            let end = min(bytes.count, index + min(step, bytes.count))
            let action = parser.feed(bytes[index..<end])
            if case .needMoreData = action {} else { return action }
            index = end
        }
        return close ? parser.endOfInput() : .needMoreData
    }

    func completed(_ action: UPnPHTTPResponseParser.Action) -> UPnPHTTPResponse? {
        if case .complete(let response) = action { return response }
        return nil
    }

    func failure(_ action: UPnPHTTPResponseParser.Action) -> UPnPDMError? {
        if case .fail(let error) = action { return error }
        return nil
    }

    @Test(arguments: [1, 7, Int.max])
    func contentLengthCompletesWithoutTheClose(step: Int) throws {
        let action = read("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nSERVER: x\r\n\r\nhelloEXTRA", step: step, close: false)
        let response = try #require(completed(action))
        #expect(response.statusCode == 200)
        #expect(response.reasonPhrase == "OK")
        #expect(response.headers.first(name: "server") == "x")
        #expect(response.body == Array("hello".utf8))
        #expect(response.anomalies.isEmpty)
    }

    @Test func bodyShorterThanContentLengthKeepsWhatArrived() throws {
        // gwsim: CONTENT-LENGTH 1594 with 1259 bytes sent.
        let response = try #require(completed(read("HTTP/1.1 200 OK\r\nCONTENT-LENGTH: 20\r\n\r\n<root/>")))
        #expect(response.body == Array("<root/>".utf8))
        #expect(response.anomalies == [.bodyShorterThanContentLength(expected: 20, received: 7)])
    }

    @Test(arguments: [1, Int.max])
    func emptyContentLengthReadsToTheClose(step: Int) throws {
        let action = read("HTTP/1.1 200 OK\r\nCONTENT-LENGTH:\r\nEXT:\r\n\r\n<a>1</a>", step: step)
        let response = try #require(completed(action))
        #expect(response.body == Array("<a>1</a>".utf8))
        #expect(response.anomalies == [.emptyContentLength])
    }

    @Test func garbageContentLengthReadsToTheClose() throws {
        let response = try #require(completed(read("HTTP/1.1 200 OK\r\nContent-Length: lots\r\n\r\nabc")))
        #expect(response.body == Array("abc".utf8))
        #expect(response.anomalies == [.invalidContentLength("lots")])
    }

    @Test func http10WithoutLengthReadsToTheClose() throws {
        let action = read("HTTP/1.0 200 OK\r\nContent-Type: text/xml\r\n\r\nbody up to the close", step: 3)
        let response = try #require(completed(action))
        #expect(response.version == .http1_0)
        #expect(response.body == Array("body up to the close".utf8))
        #expect(response.anomalies.isEmpty)
    }

    @Test func closeDelimitedBodyIsNotCompleteBeforeTheClose() {
        let action = read("HTTP/1.0 200 OK\r\n\r\npartial", close: false)
        guard case .needMoreData = action else {
            Issue.record("expected needMoreData, got \(action)")
            return
        }
    }

    @Test func headWithoutFinalBlankLineIsTakenAtTheClose() throws {
        let response = try #require(completed(read("HTTP/1.1 200 OK\r\nST: upnp:rootdevice\r\nEXT:\r\n")))
        #expect(response.headers.first(name: "ST") == "upnp:rootdevice")
        #expect(response.anomalies == [.headNotTerminated])
        #expect(response.body.isEmpty)
    }

    @Test func everyTwoWaySplitReadsTheSameAsWhole() throws {
        // A dm_device.py answer head plus folding, a colon-less line, a value with ':' and UTF-8, spaces around ':'.
        let text = "HTTP/1.1 200 OK\r\nContent-Type: text/xml; charset=utf-8\r\nX-Time : 12:30:00 \r\n"
            + "X-Fold: a\r\n\tb\r\nnot a header\r\nX-Name: caf\u{E9} \u{1F600}\r\nContent-Length: 10\r\n\r\n0123456789"
        let bytes = Array(text.utf8)
        let whole = try #require(completed(read(text, close: false)))
        #expect(whole.headers.first(name: "x-time") == "12:30:00")
        #expect(whole.headers.first(name: "x-fold") == "a b")
        #expect(whole.headers.first(name: "x-name") == "caf\u{E9} \u{1F600}")
        #expect(whole.anomalies == [.malformedHeaderLinesSkipped(1)])
        for split in 1..<bytes.count {
            var parser = UPnPHTTPResponseParser()
            if case .complete = parser.feed(bytes[..<split]) { Issue.record("complete after \(split) bytes") }
            guard case .complete(let response) = parser.feed(bytes[split...]) else {
                Issue.record("not complete when split at \(split)")
                continue
            }
            #expect(response.statusCode == whole.statusCode && response.reasonPhrase == whole.reasonPhrase)
            #expect(response.headers == whole.headers && response.body == whole.body && response.anomalies == whole.anomalies)
            #expect(parser.endedByFraming)
        }
    }

    @Test func invalidUTF8InAHeaderValueIsReplacedNotFatal() throws {
        var bytes = Array("HTTP/1.1 200 OK\r\nX-Bad: a".utf8)
        bytes += [0xFF, 0xFE]
        bytes += Array("b\r\nContent-Length: 0\r\n\r\n".utf8)
        var parser = UPnPHTTPResponseParser()
        guard case .complete(let response) = parser.feed(bytes) else { Issue.record("not complete"); return }
        #expect(response.headers.first(name: "x-bad") == "a\u{FFFD}\u{FFFD}b")
    }

    @Test func lfOnlyLinesFoldedHeadersAndJunkLines() throws {
        let text = "\r\nHTTP/1.1 500 Internal Server Error\nX-A: one\n  two\nnot a header\nContent-Length: 2\n\nok"
        let response = try #require(completed(read(text, close: false)))
        #expect(response.statusCode == 500)
        #expect(response.reasonPhrase == "Internal Server Error")
        #expect(response.headers.first(name: "x-a") == "one two")
        #expect(response.body == Array("ok".utf8))
        #expect(response.anomalies == [.malformedHeaderLinesSkipped(1)])
    }

    @Test(arguments: [1, 5, Int.max])
    func chunkedBodyIsDecoded(step: Int) throws {
        let text = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;ext=1\r\nWiki\r\n5\r\npedia\r\n0\r\nX-T: 1\r\n\r\n"
        let response = try #require(completed(read(text, step: step, close: false)))
        #expect(response.body == Array("Wikipedia".utf8))
        #expect(response.anomalies.isEmpty)
    }

    @Test func chunkedBodyCutShortKeepsWhatArrived() throws {
        let response = try #require(completed(read("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n9\r\nped")))
        #expect(response.body == Array("Wikiped".utf8))
        #expect(response.anomalies == [.chunkedBodyTruncated])
    }

    @Test func badChunkSizeIsMalformed() throws {
        let error = try #require(failure(read("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")))
        #expect(error.code == .malformedHTTPResponse)
    }

    @Test func continueHeadIsSkipped() throws {
        let text = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n"
        let response = try #require(completed(read(text, close: false)))
        #expect(response.statusCode == 204)
    }

    @Test func announcedBodyOverTheCapFailsBeforeReadingIt() throws {
        let limits = UPnPHTTPResponseParser.Limits(maximumBodyBytes: 1024)
        let error = try #require(failure(read("HTTP/1.1 200 OK\r\nContent-Length: 67108864\r\n\r\n", close: false,
                                              limits: limits)))
        #expect(error.code == .responseTooLarge)
    }

    @Test func closeDelimitedBodyOverTheCapFails() throws {
        let limits = UPnPHTTPResponseParser.Limits(maximumBodyBytes: 100)
        let text = "HTTP/1.0 200 OK\r\n\r\n" + String(repeating: "x", count: 101)
        let error = try #require(failure(read(text, step: 10, close: false, limits: limits)))
        #expect(error.code == .responseTooLarge)
    }

    @Test func chunkedBodyOverTheCapFails() throws {
        let limits = UPnPHTTPResponseParser.Limits(maximumBodyBytes: 10)
        let error = try #require(failure(read("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n12345678\r\n8\r\n",
                                              close: false, limits: limits)))
        #expect(error.code == .responseTooLarge)
    }

    @Test func endlessHeadIsCapped() throws {
        let limits = UPnPHTTPResponseParser.Limits(maximumHeadBytes: 1024)
        let text = "HTTP/1.1 200 OK\r\n" + String(repeating: "X-Junk: aaaaaaaaaaaaaaa\r\n", count: 100)
        let error = try #require(failure(read(text, step: 64, close: false, limits: limits)))
        #expect(error.code == .responseTooLarge)
    }

    @Test(arguments: ["SSH-2.0-OpenSSH_9.2\r\n\r\n", "HTTP/2 200\r\n\r\n", "HTTP/1.1 OK\r\n\r\n", "HTTP/1.1 2000 OK\r\n\r\n"])
    func notHTTP1IsMalformed(_ text: String) throws {
        let error = try #require(failure(read(text)))
        #expect(error.code == .malformedHTTPResponse)
    }

    @Test func closeWithoutAnyByteIsConnectionClosed() throws {
        let error = try #require(failure(read("")))
        #expect(error.code == .connectionClosed)
    }

    @Test func headResponseHasNoBody() throws {
        var parser = UPnPHTTPResponseParser(requestWasHead: true)
        let action = parser.feed(Array("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n".utf8))
        let response = try #require(completed(action))
        #expect(response.body.isEmpty)
    }
}
