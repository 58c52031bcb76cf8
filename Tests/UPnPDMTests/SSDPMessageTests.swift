import Testing
@testable import UPnPDM

/// Datagrams as real stacks send them (async-upnp-client 0.49.0: no space after the colon; devolo gwsim: no final
/// empty line) and as hostile ones might.
@Suite struct SSDPMessageTests {
    static let uuid = "5d8a4f3e-0000-4000-8000-00000000c0de"

    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test func readsAUDASearchResponse() throws {
        let message = try SSDPMessage(parsing: Self.bytes(
            "HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=1800\r\nDATE: Mon, 23 Nov 2026 16:00:00 GMT\r\nEXT:\r\n"
                + "LOCATION: http://10.77.0.2:49152/device.xml\r\nSERVER: Linux/6 UPnP/1.1 dm/1\r\n"
                + "ST: upnp:rootdevice\r\nUSN: uuid:\(Self.uuid)::upnp:rootdevice\r\nBOOTID.UPNP.ORG: 7\r\n"
                + "CONFIGID.UPNP.ORG: 3\r\n\r\n"))
        #expect(message.startLine == .response(statusCode: 200))
        #expect(message.headers["ext"] == "")
        let advertisement = try SSDPAdvertisement(message)
        #expect(advertisement.kind == .searchResponse)
        #expect(advertisement.usn.uuid == Self.uuid)
        #expect(advertisement.usn.kind == .rootDevice)
        #expect(advertisement.maxAge == 1800)
        #expect(advertisement.location == "http://10.77.0.2:49152/device.xml")
        #expect(advertisement.bootID == 7)
        #expect(advertisement.configID == 3)
    }

    @Test func headersAreCaseInsensitiveAndTheSpaceAfterTheColonIsOptional() throws {
        let message = try SSDPMessage(parsing: Self.bytes(
            "NOTIFY * HTTP/1.1\r\nHost:239.255.255.250:1900\r\ncache-control:max-age=60\r\nLocation:http://h/d.xml\r\n"
                + "nt:urn:schemas-upnp-org:service:ConfigurationManagement:2\r\nNTS:ssdp:alive\r\n"
                + "usn:uuid:\(Self.uuid)::urn:schemas-upnp-org:service:ConfigurationManagement:2\r\n\r\n"))
        let advertisement = try SSDPAdvertisement(message)
        #expect(advertisement.kind == .alive)
        #expect(advertisement.maxAge == 60)
        #expect(advertisement.usn.kind == .serviceType("urn:schemas-upnp-org:service:ConfigurationManagement:2"))
    }

    @Test func bareLineFeedsAndAMissingFinalEmptyLineAreAccepted() throws {
        let message = try SSDPMessage(parsing: Self.bytes(
            "HTTP/1.1 200 OK\nCACHE-CONTROL: max-age=120\nLOCATION: http://h:60001/d.xml\nST: x\nUSN: uuid:\(Self.uuid)"))
        #expect(try SSDPAdvertisement(message).usn.kind == .device)
    }

    @Test func cacheControlWithOtherDirectivesAndSpaces() throws {
        #expect(SSDPAdvertisement.maxAge("no-cache=\"Ext\", max-age = 900") == 900)
        #expect(SSDPAdvertisement.maxAge("max-age=abc") == nil)
        #expect(SSDPAdvertisement.maxAge("max-age=99999999999") == UInt32.max)
        let message = try SSDPMessage(parsing: Self.bytes(
            "HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=99999999999\r\nLOCATION: http://h/\r\nUSN: uuid:\(Self.uuid)\r\n\r\n"))
        #expect(try SSDPAdvertisement(message).maxAge == SSDPAdvertisement.maximumMaxAge)
    }

    @Test func identicalDuplicatesAreAcceptedAndConflictingOnesRefused() throws {
        let same = try SSDPMessage(parsing: Self.bytes(
            "HTTP/1.1 200 OK\r\nLOCATION: http://h/\r\nUSN: uuid:\(Self.uuid)\r\nUSN: uuid:\(Self.uuid)\r\nOPT: a\r\nOPT: b\r\n\r\n"))
        #expect(try SSDPAdvertisement(same).usn.uuid == Self.uuid)
        #expect(same.headers.values(of: "opt") == ["a", "b"])
        let conflicting = try SSDPMessage(parsing: Self.bytes(
            "HTTP/1.1 200 OK\r\nLOCATION: http://h/\r\nUSN: uuid:\(Self.uuid)\r\nUSN: uuid:other\r\n\r\n"))
        #expect(throws: UPnPDMError(.malformedSSDPMessage, "")) { try SSDPAdvertisement(conflicting) }
    }

    @Test func foldedHeaderLinesContinueTheValue() throws {
        let message = try SSDPMessage(parsing: Self.bytes("NOTIFY * HTTP/1.1\r\nSERVER: Linux/6\r\n  UPnP/1.1 x/1\r\n\r\n"))
        #expect(message.headers["server"] == "Linux/6 UPnP/1.1 x/1")
    }

    @Test(arguments: [
        "",
        "GET / HTTP/1.1\r\n\r\n",
        "HTTP/1.1 abc OK\r\n\r\n",
        "NOTIFY * HTTP/1.1\r\nno colon here\r\n\r\n",
        "NOTIFY * HTTP/1.1\r\n: empty name\r\n\r\n",
        "NOTIFY * HTTP/1.1\r\nBAD NAME: x\r\n\r\n",
        " SERVER: fold first\r\n\r\n",
        "garbage",
    ])
    func garbageIsATypedError(_ text: String) {
        #expect(throws: UPnPDMError(.malformedSSDPMessage, "")) { try SSDPMessage(parsing: Self.bytes(text)) }
    }

    @Test func invalidUTF8AndOversizedDatagramsAreRefused() {
        #expect(throws: UPnPDMError(.malformedSSDPMessage, "")) { try SSDPMessage(parsing: [0x4E, 0xFF, 0xFE, 0x0A]) }
        let big = "NOTIFY * HTTP/1.1\r\nX: " + String(repeating: "a", count: SSDPMessage.maximumSize) + "\r\n\r\n"
        #expect(throws: UPnPDMError(.malformedSSDPMessage, "")) { try SSDPMessage(parsing: Self.bytes(big)) }
        let many = "NOTIFY * HTTP/1.1\r\n" + (0...SSDPMessage.maximumHeaderCount).map { "X\($0): y\r\n" }.joined() + "\r\n"
        #expect(throws: UPnPDMError(.malformedSSDPMessage, "")) { try SSDPMessage(parsing: Self.bytes(many)) }
    }

    @Test(arguments: [
        // No USN, no UUID, an unknown USN suffix, a missing LOCATION, an unknown NTS, a negative BOOTID, a search.
        "HTTP/1.1 200 OK\r\nLOCATION: http://h/\r\n\r\n",
        "HTTP/1.1 200 OK\r\nLOCATION: http://h/\r\nUSN: uuid:\r\n\r\n",
        "HTTP/1.1 200 OK\r\nLOCATION: http://h/\r\nUSN: uuid:abc::something\r\n\r\n",
        "HTTP/1.1 200 OK\r\nUSN: uuid:abc\r\n\r\n",
        "NOTIFY * HTTP/1.1\r\nNTS: ssdp:bogus\r\nLOCATION: http://h/\r\nUSN: uuid:abc\r\n\r\n",
        "HTTP/1.1 200 OK\r\nLOCATION: http://h/\r\nUSN: uuid:abc\r\nBOOTID.UPNP.ORG: -1\r\n\r\n",
        "HTTP/1.1 404 Not Found\r\nLOCATION: http://h/\r\nUSN: uuid:abc\r\n\r\n",
        "M-SEARCH * HTTP/1.1\r\nST: ssdp:all\r\n\r\n",
    ])
    func unusableAdvertisementsAreATypedError(_ text: String) throws {
        let message = try SSDPMessage(parsing: Self.bytes(text))
        #expect(throws: UPnPDMError(.malformedSSDPMessage, "")) { try SSDPAdvertisement(message) }
    }

    @Test func overlongLocationIsRefusedAndServerIsCut() throws {
        let long = try SSDPMessage(parsing: Self.bytes(
            "HTTP/1.1 200 OK\r\nLOCATION: http://h/\(String(repeating: "a", count: 2048))\r\nUSN: uuid:\(Self.uuid)\r\n\r\n"))
        #expect(throws: UPnPDMError(.malformedSSDPMessage, "")) { try SSDPAdvertisement(long) }
        let server = try SSDPMessage(parsing: Self.bytes(
            "HTTP/1.1 200 OK\r\nLOCATION: http://h/\r\nSERVER: \(String(repeating: "s", count: 300))\r\nUSN: uuid:\(Self.uuid)\r\n\r\n"))
        #expect(try SSDPAdvertisement(server).server?.count == 256)
    }

    @Test func byebyeNeedsNoLocationAndHasNoLease() throws {
        let message = try SSDPMessage(parsing: Self.bytes(
            "NOTIFY * HTTP/1.1\r\nNT: upnp:rootdevice\r\nNTS: ssdp:byebye\r\nUSN: uuid:\(Self.uuid)::upnp:rootdevice\r\n\r\n"))
        let advertisement = try SSDPAdvertisement(message)
        #expect(advertisement.kind == .byebye)
        #expect(advertisement.maxAge == 0)
    }

    /// Seeded mutations of a valid NOTIFY (byte flips, cuts, inserted CR/LF/colon/NUL): each one parses or is a
    /// typed error, and whatever parses goes through the state machine without trapping.
    @Test func mutatedDatagramsNeverTrap() {
        struct SplitMix64: RandomNumberGenerator {
            var state: UInt64
            mutating func next() -> UInt64 {
                state &+= 0x9E37_79B9_7F4A_7C15
                var z = state
                z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
                z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
                return z ^ (z >> 31)
            }
        }
        var random = SplitMix64(state: 0x55D9)
        let valid = Self.bytes("NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nCACHE-CONTROL: max-age=60\r\n"
            + "LOCATION: http://10.0.0.2/d.xml\r\nNT: upnp:rootdevice\r\nNTS: ssdp:alive\r\n"
            + "USN: uuid:\(Self.uuid)::upnp:rootdevice\r\nBOOTID.UPNP.ORG: 3\r\n\r\n")
        var machine = SSDPDiscoveryStateMachine()
        let t0 = ContinuousClock.now
        var parsed = 0
        var refused = 0
        for round in 0..<3000 {
            var bytes = valid
            for _ in 0..<Int.random(in: 1...6, using: &random) {
                let index = Int.random(in: 0..<bytes.count, using: &random)
                switch Int.random(in: 0..<4, using: &random) {
                case 0: bytes[index] = UInt8.random(in: 0...255, using: &random)
                case 1: bytes.insert([0x0D, 0x0A, 0x3A, 0x00, 0x20][Int.random(in: 0..<5, using: &random)], at: index)
                case 2: bytes.removeSubrange(index..<min(bytes.count, index + Int.random(in: 1...20, using: &random)))
                default: bytes = Array(bytes.prefix(index))
                }
                if bytes.isEmpty { bytes = [0x0A] }
            }
            do {
                let advertisement = try SSDPAdvertisement(SSDPMessage(parsing: bytes))
                _ = machine.received(advertisement, from: "10.0.0.2", now: t0 + .milliseconds(round))
                parsed += 1
            } catch {
                refused += 1
            }
        }
        _ = machine.timerFired(now: t0 + .seconds(3600))
        #expect(parsed > 0)
        #expect(refused > 0)
    }

    @Test func theSearchIsSerialisedAsUDAAsks() throws {
        let text = String(decoding: SSDPMessage.search(target: "upnp:rootdevice", mx: 2).serialized(), as: UTF8.self)
        #expect(text == "M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\nMX: 2\r\n"
            + "ST: upnp:rootdevice\r\nUSER-AGENT: \(SSDPMessage.userAgent)\r\n\r\n")
        let reparsed = try SSDPMessage(parsing: SSDPMessage.search(target: "x", mx: 3, host: SSDPMessage.ipv6Host).serialized())
        #expect(reparsed.startLine == .search)
        #expect(reparsed.headers["host"] == "[FF02::C]:1900")
    }
}
