import FoundationEssentials
import Testing
@testable import SNMPBridge

@Suite struct ConversionTests {
    @Test func timeTicksToSeconds() throws {
        #expect(try SNMPConversion.timeTicksToSeconds.convert(.timeTicks(12_345)) == "123")
        #expect(try SNMPConversion.timeTicksToSeconds.convert(.timeTicks(UInt32.max)) == "42949672")
        #expect(try SNMPConversion.timeTicksToSeconds.snmpValue(from: "5", syntax: .timeTicks) == .timeTicks(500))
        #expect(throws: SNMPBridgeError(.invalidValue, "")) { try SNMPConversion.timeTicksToSeconds.convert(.integer(5)) }
    }

    @Test func macAddress() throws {
        #expect(try SNMPConversion.mac.convert(.octetString([0x00, 0x1A, 0x2b, 0xff, 0x00, 0x01])) == "00:1a:2b:ff:00:01")
        #expect(try SNMPConversion.mac.convert(.octetString([])) == "")
        #expect(try SNMPConversion.mac.snmpValue(from: "00:1A:2b:ff:00:01", syntax: .octetString) == .octetString([0x00, 0x1A, 0x2B, 0xFF, 0x00, 0x01]))
        #expect(throws: SNMPBridgeError(.invalidValue, "")) { try SNMPConversion.mac.snmpValue(from: "00:1A:2b:ff:00", syntax: .octetString) }
    }

    @Test func hex() throws {
        #expect(try SNMPConversion.hex.convert(.octetString([0xDE, 0xAD, 0x01])) == "dead01")
        #expect(try SNMPConversion.hex.snmpValue(from: "DEad01", syntax: .octetString) == .octetString([0xDE, 0xAD, 0x01]))
        #expect(throws: SNMPBridgeError(.invalidValue, "")) { try SNMPConversion.hex.snmpValue(from: "abc", syntax: .octetString) }
    }

    @Test func displayStringTrimsAndRepairs() throws {
        let display = SNMPConversion.displayString(maxLength: nil)
        #expect(try display.convert(.octetString(Array("  eth0\0\0".utf8))) == "eth0")
        // Invalid UTF-8 (a lone continuation byte, a truncated sequence) becomes U+FFFD; the rest survives.
        #expect(try display.convert(.octetString([0x41, 0x80, 0x42, 0xE2, 0x82])) == "A\u{FFFD}B\u{FFFD}")
        // C0 controls cannot travel in XML 1.0.
        #expect(try display.convert(.octetString([0x41, 0x01, 0x42])) == "A\u{FFFD}B")
        #expect(try display.convert(.octetString(Array("grüße".utf8))) == "grüße")
        #expect(try SNMPConversion.displayString(maxLength: 3).convert(.octetString(Array("abcdef".utf8))) == "abc")
        #expect(try SNMPConversion.displayString(maxLength: 3).snmpValue(from: "ab", syntax: .octetString) == .octetString(Array("ab".utf8)))
        #expect(throws: SNMPBridgeError(.invalidValue, "")) {
            try SNMPConversion.displayString(maxLength: 3).snmpValue(from: "abcd", syntax: .octetString)
        }
    }

    @Test func enumerationBothWays() throws {
        let operStatus = SNMPConversion.enumeration(values: [1: "Up", 2: "Down", 3: "Unknown", 4: "Unknown"], default: "Unknown", set: nil)
        #expect(try operStatus.convert(.integer(1)) == "Up")
        #expect(try operStatus.convert(.integer(99)) == "Unknown")
        // Several numbers with the same text: the lowest is written.
        #expect(try operStatus.snmpValue(from: "Unknown", syntax: .integer) == .integer(3))
        #expect(throws: SNMPBridgeError(.invalidValue, "")) { try operStatus.snmpValue(from: "Testing", syntax: .integer) }
        let admin = SNMPConversion.enumeration(values: [1: "true", 2: "false", 3: "true"], default: nil, set: ["true": 1, "false": 2])
        #expect(try admin.convert(.integer(3)) == "true")
        #expect(try admin.snmpValue(from: "false", syntax: .integer) == .integer(2))
        let noDefault = SNMPConversion.enumeration(values: [1: "a"], default: nil, set: nil)
        #expect(try noDefault.convert(.integer(7)) == "7")
    }

    @Test func bitRates() throws {
        // ifSpeed is bit/s, ifHighSpeed already Mbit/s; TR-181 MaxBitRate is Mbit/s.
        let ifSpeed = SNMPConversion.scale(multiply: 1, divide: 1_000_000)
        #expect(try ifSpeed.convert(.gauge32(100_000_000)) == "100")
        #expect(try ifSpeed.convert(.gauge32(10_000_000)) == "10")
        #expect(try SNMPConversion.auto.convert(.gauge32(10_000)) == "10000")
        #expect(try ifSpeed.snmpValue(from: "100", syntax: .gauge) == .gauge32(100_000_000))
        #expect(throws: SNMPBridgeError(.invalidValue, "")) { try ifSpeed.snmpValue(from: "5000", syntax: .gauge) }
    }

    @Test func addresses() throws {
        #expect(try SNMPConversion.ipAddress.convert(.ipAddress([192, 0, 2, 7])) == "192.0.2.7")
        // InetAddress (OCTET STRING of 4 or 16 bytes).
        #expect(try SNMPConversion.ipAddress.convert(.octetString([10, 0, 0, 1])) == "10.0.0.1")
        let v6: [UInt8] = [0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 10) + [0, 1]
        #expect(try SNMPConversion.ipAddress.convert(.octetString(v6)) == "2001:db8::1")
        #expect(try SNMPConversion.ipAddress.convert(.octetString([UInt8](repeating: 0, count: 16))) == "::")
        #expect(throws: SNMPBridgeError(.invalidValue, "")) { try SNMPConversion.ipAddress.convert(.octetString([1, 2, 3])) }
        #expect(try SNMPConversion.ipAddress.snmpValue(from: "10.1.2.3", syntax: .ipAddress) == .ipAddress([10, 1, 2, 3]))
        #expect(throws: SNMPBridgeError(.invalidValue, "")) { try SNMPConversion.ipAddress.snmpValue(from: "10.1.2.300", syntax: .ipAddress) }
    }

    @Test func truthValue() throws {
        #expect(try SNMPConversion.truthValue.convert(.integer(1)) == "true")
        #expect(try SNMPConversion.truthValue.convert(.integer(2)) == "false")
        #expect(throws: SNMPBridgeError(.invalidValue, "")) { try SNMPConversion.truthValue.convert(.integer(0)) }
        #expect(try SNMPConversion.truthValue.snmpValue(from: "false", syntax: .integer) == .integer(2))
        #expect(try SNMPConversion.truthValue.snmpValue(from: "1", syntax: .integer) == .integer(1))
    }

    @Test func autoAndReverseByType() throws {
        #expect(try SNMPConversion.auto.convert(.objectIdentifier(SNMPObjectIdentifier("1.3.6.1.4.1.8072")!)) == "1.3.6.1.4.1.8072")
        #expect(try SNMPConversion.auto.convert(.counter64(UInt64.max)) == "18446744073709551615")
        #expect(try SNMPConversion.auto.convert(.integer(-5)) == "-5")
        #expect(try SNMPConversion.auto.snmpValue(from: "42", syntax: .integer) == .integer(42))
        #expect(try SNMPConversion.auto.snmpValue(from: "host", syntax: .octetString) == .octetString(Array("host".utf8)))
        // wrongType-like: text for a number → 9006; out of range → 9007.
        #expect(throws: SNMPBridgeError(.invalidType, "")) { try SNMPConversion.auto.snmpValue(from: "abc", syntax: .integer) }
        #expect(throws: SNMPBridgeError(.invalidValue, "")) { try SNMPConversion.auto.snmpValue(from: "4294967296", syntax: .gauge) }
        #expect(SNMPBridgeError(.invalidType, "").cwmpFault.code == .invalidParameterType)
        #expect(SNMPBridgeError(.invalidValue, "").cwmpFault.code == .invalidParameterValue)
    }

    @Test func objectIdentifierParsing() {
        #expect(SNMPObjectIdentifier(".1.3.6.1.2.1.1.5.0")?.components == [1, 3, 6, 1, 2, 1, 1, 5, 0])
        #expect(SNMPObjectIdentifier("1.3.6") == SNMPObjectIdentifier([1, 3, 6]))
        #expect(SNMPObjectIdentifier("1..3") == nil)
        #expect(SNMPObjectIdentifier("1.3.x") == nil)
        #expect(SNMPObjectIdentifier("") == nil)
        #expect(SNMPObjectIdentifier("1.4294967296") == nil)
        #expect(SNMPObjectIdentifier([1, 3, 6]).isPrefix(of: SNMPObjectIdentifier([1, 3, 6, 1])))
        #expect(!SNMPObjectIdentifier([1, 3, 6, 1]).isPrefix(of: SNMPObjectIdentifier([1, 3, 6])))
        #expect(SNMPObjectIdentifier([1, 3, 6]) < SNMPObjectIdentifier([1, 3, 6, 0]))
        #expect(SNMPObjectIdentifier([1, 3, 10]) > SNMPObjectIdentifier([1, 3, 9, 5]))
    }
}

@Suite struct CounterAccumulatorTests {
    let oid = SNMPObjectIdentifier([1, 3, 6, 1, 2, 1, 2, 2, 1, 10, 2])

    @Test func firstSampleIsTheRawValue() {
        var counters = SNMPCounterAccumulator()
        counters.observeUpTime(100)
        #expect(counters.accumulate(1_000, for: oid) == 1_000)
        #expect(counters.accumulate(1_500, for: oid) == 1_500)
    }

    @Test func wrapThroughTwoToThe32() {
        var counters = SNMPCounterAccumulator()
        counters.observeUpTime(100)
        #expect(counters.accumulate(UInt32.max - 9, for: oid) == UInt64(UInt32.max) - 9)
        counters.observeUpTime(200)
        // 10 counts up to 2^32 - 1 → 0 and 5 more: 15 counts after the wrap.
        #expect(counters.accumulate(5, for: oid) == UInt64(UInt32.max) - 9 + 15)
        counters.observeUpTime(300)
        #expect(counters.accumulate(UInt32.max, for: oid) == (1 << 32) + UInt64(UInt32.max))
        counters.observeUpTime(400)
        #expect(counters.accumulate(0, for: oid) == (1 << 33))
    }

    @Test func agentRestartIsNoWrap() {
        var counters = SNMPCounterAccumulator()
        let first = counters.observeUpTime(1_000_000)
        #expect(!first)
        #expect(counters.accumulate(3_000_000_000, for: oid) == 3_000_000_000)
        // sysUpTime went backwards: the agent restarted and its counters restarted from 0.
        let restarted = counters.observeUpTime(500)
        #expect(restarted)
        #expect(counters.accumulate(100, for: oid) == 3_000_000_100)
        let again = counters.observeUpTime(600)
        #expect(!again)
        #expect(counters.accumulate(150, for: oid) == 3_000_000_150)
    }

    @Test func stateSurvivesEncoding() throws {
        var counters = SNMPCounterAccumulator()
        counters.observeUpTime(10)
        _ = counters.accumulate(UInt32.max, for: oid)
        let data = try JSONEncoderForTests.encode(counters)
        var restored = try JSONEncoderForTests.decode(SNMPCounterAccumulator.self, data)
        restored.observeUpTime(20)
        #expect(restored.accumulate(0, for: oid) == 1 << 32)
    }
}

enum JSONEncoderForTests {
    static func encode<T: Encodable>(_ value: T) throws -> Data { try JSONEncoder().encode(value) }
    static func decode<T: Decodable>(_ type: T.Type, _ data: Data) throws -> T { try JSONDecoder().decode(type, from: data) }
}
