import CWMPClient
import Testing
@testable import Proxier

@Suite struct ParameterValueValidationTests {
    func parameter(_ syntax: ParameterSyntax, list: ListFacets? = nil) -> ParameterSchema {
        ParameterSchema(name: "P", access: .readWrite, syntax: syntax, list: list)
    }

    /// The CWMP fault code a value gets, or `nil` when it is accepted.
    func code(_ syntax: ParameterSyntax, _ value: String, type: ParameterValueType? = nil, list: ListFacets? = nil) -> UInt32? {
        do {
            _ = try parameter(syntax, list: list).validate(value, declaredType: type)
            return nil
        } catch {
            return CWMPFault(converting: error).code.rawValue
        }
    }

    func canonical(_ syntax: ParameterSyntax, _ value: String, list: ListFacets? = nil) throws -> String {
        try parameter(syntax, list: list).validate(value, declaredType: nil)
    }

    @Test func aDeclaredTypeOtherThanTheBaseTypeIs9006() {
        #expect(code(.unsignedInt([]), "5", type: .string) == 9006)
        #expect(code(.boolean, "true", type: .int) == 9006)
        #expect(code(.string(StringFacets()), "x", type: .string) == nil)
        #expect(code(.unsignedInt([]), "5", type: .unsignedInt) == nil)
        #expect(code(.unsignedInt([]), "5", type: nil) == nil)
        // A list travels as a string, whatever its items are.
        #expect(code(.unsignedInt([]), "1,2", type: .string, list: ListFacets()) == nil)
    }

    @Test func integersThatAreNotNumbersAre9006() {
        #expect(code(.int([]), "twelve") == 9006)
        #expect(code(.int([]), "") == 9006)
        #expect(code(.int([]), "1.5") == 9006)
        #expect(code(.int([]), "0x10") == 9006)
        #expect(code(.unsignedLong([]), "-") == 9006)
    }

    @Test func integersOutsideTheBaseTypeAre9007() {
        #expect(code(.int([]), "2147483647") == nil)
        #expect(code(.int([]), "2147483648") == 9007)
        #expect(code(.int([]), "-2147483648") == nil)
        #expect(code(.int([]), "-2147483649") == 9007)
        #expect(code(.unsignedInt([]), "4294967295") == nil)
        #expect(code(.unsignedInt([]), "4294967296") == 9007)
        #expect(code(.unsignedInt([]), "-1") == 9007)
        #expect(code(.long([]), "9223372036854775807") == nil)
        #expect(code(.long([]), "9223372036854775808") == 9007)
        #expect(code(.unsignedLong([]), "18446744073709551615") == nil)
        #expect(code(.unsignedLong([]), "18446744073709551616") == 9007)
        #expect(code(.unsignedLong([]), String(repeating: "9", count: 400)) == 9007)
    }

    @Test func integerRangesAndStepsAre9007() {
        let ranges = [IntegerRange(minInclusive: 10, maxInclusive: 20, step: 5), IntegerRange(minInclusive: 100)]
        #expect(code(.int(ranges), "15") == nil)
        #expect(code(.int(ranges), "16") == 9007)
        #expect(code(.int(ranges), "9") == 9007)
        #expect(code(.int(ranges), "25") == 9007)
        #expect(code(.int(ranges), "1000") == nil)
        #expect(code(.int([IntegerRange(maxInclusive: -1)]), "0") == 9007)
    }

    @Test func integersComeOutCanonical() throws {
        #expect(try canonical(.int([]), "+007") == "7")
        #expect(try canonical(.int([]), " -3 ") == "-3")
    }

    @Test func booleansAcceptZeroOneTrueFalseAndComeOutAsTrueFalse() throws {
        #expect(try canonical(.boolean, "1") == "true")
        #expect(try canonical(.boolean, "0") == "false")
        #expect(try canonical(.boolean, "true") == "true")
        #expect(try canonical(.boolean, "false") == "false")
        #expect(code(.boolean, "yes") == 9006)
        #expect(code(.boolean, "TRUE") == 9006)
        #expect(code(.boolean, "") == 9006)
    }

    @Test func stringSizesEnumerationsAndPatterns() {
        #expect(code(.string(StringFacets(sizes: [SizeRange(maxLength: 3)])), "abc") == nil)
        #expect(code(.string(StringFacets(sizes: [SizeRange(maxLength: 3)])), "abcd") == 9007)
        #expect(code(.string(StringFacets(sizes: [SizeRange(minLength: 2)])), "a") == 9007)
        // Sizes count characters, not bytes.
        #expect(code(.string(StringFacets(sizes: [SizeRange(maxLength: 3)])), "äöü") == nil)
        let status = ParameterSyntax.string(StringFacets(enumerations: ["Up", "Down"]))
        #expect(code(status, "Up") == nil)
        #expect(code(status, "up") == 9007)
        #expect(code(status, "") == 9007)
        let mac = ParameterSyntax.string(StringFacets(patterns: ["", "([0-9A-Fa-f][0-9A-Fa-f]:){5}([0-9A-Fa-f][0-9A-Fa-f])"]))
        #expect(code(mac, "00:11:22:aa:BB:cc") == nil)
        #expect(code(mac, "") == nil)
        // XSD patterns are anchored at both ends.
        #expect(code(mac, "x00:11:22:aa:BB:cc") == 9007)
        #expect(code(mac, "00:11:22:aa:BB:cc:dd") == 9007)
    }

    @Test func xsdCaretAndDollarAreLiteralCharacters() {
        let syntax = ParameterSyntax.string(StringFacets(patterns: ["a^b$", "[^x]"]))
        #expect(code(syntax, "a^b$") == nil)
        #expect(code(syntax, "ab") == 9007)
        #expect(code(syntax, "y") == nil)
        #expect(code(syntax, "x") == 9007)
        // An escaped bracket opens no class, so the caret after it is literal too.
        let bracket = ParameterSyntax.string(StringFacets(patterns: [#"\[^a"#]))
        #expect(code(bracket, "[^a") == nil)
        #expect(code(bracket, "[a") == 9007)
    }

    @Test func anUncompilablePatternIsNotCheckedAndIsNoted() {
        let broken = "([unclosed"
        #expect(code(.string(StringFacets(patterns: [broken])), "anything") == nil)
        #expect(XSDPatternCache.shared.uncompilablePatterns.contains(broken))
        // An enumeration beside it does not turn the pattern's silence into a rejection.
        #expect(code(.string(StringFacets(patterns: [broken], enumerations: ["A"])), "B") == nil)
    }

    @Test func listsCheckItemsCountsAndLength() throws {
        let list = ListFacets(sizes: [SizeRange(maxLength: 12)], minItems: 1, maxItems: 3)
        #expect(try canonical(.unsignedInt([]), "1, 2,3", list: list) == "1,2,3")
        #expect(code(.unsignedInt([]), "1,2,3,4", list: list) == 9007)
        #expect(code(.unsignedInt([]), "", list: list) == 9007)
        #expect(code(.unsignedInt([]), "1,x", list: list) == 9006)
        #expect(code(.unsignedInt([]), "1,,2", list: list) == 9006)
        #expect(code(.unsignedInt([]), "1000,2000,30", list: list) == nil)
        #expect(code(.unsignedInt([]), "1000,2000,300", list: list) == 9007)
        #expect(try canonical(.boolean, "1,0", list: ListFacets()) == "true,false")
        #expect(try canonical(.string(StringFacets()), "", list: ListFacets()) == "")
    }

    @Test(arguments: ["2024-02-29T12:00:00Z", "2024-06-01T23:59:59+02:00", "2024-06-01T00:00:00.123-05:30",
                      "2024-06-01T00:00:00", "0001-01-01T00:00:00Z", "0001-01-01T00:01:40Z", "0999-12-31T23:59:59Z"])
    func acceptsDateTimesIncludingUnknownAndRelativeTimes(_ value: String) {
        #expect(code(.dateTime, value) == nil)
    }

    @Test(arguments: ["2023-02-29T12:00:00Z", "2024-13-01T00:00:00Z", "2024-06-01T24:00:00Z", "2024-06-01 00:00:00Z",
                      "2024-06-01T00:00:00ZZ", "0000-01-01T00:00:00Z", "2024-06-01T00:00:00+15:00", "2024-06-01",
                      "2024-06-01T00:00:00.Z", "yesterday", ""])
    func rejectsMalformedDateTimesWith9006(_ value: String) {
        #expect(code(.dateTime, value) == 9006)
    }

    @Test func base64AndHexBinaryCheckSyntaxAndByteSizes() {
        #expect(code(.base64([]), "aGVsbG8=") == nil)
        #expect(code(.base64([]), "aGVsbG8") == 9006)
        #expect(code(.base64([]), "aGV=bG8=") == 9006)
        #expect(code(.base64([]), "a*==") == 9006)
        #expect(code(.base64([SizeRange(maxLength: 4)]), "aGVsbG8=") == 9007)
        #expect(code(.base64([SizeRange(maxLength: 5)]), "aGVsbG8=") == nil)
        #expect(code(.hexBinary([]), "00ff") == nil)
        #expect(code(.hexBinary([]), "0ff") == 9006)
        #expect(code(.hexBinary([]), "zz") == 9006)
        #expect(code(.hexBinary([SizeRange(minLength: 6, maxLength: 6)]), "001122334455") == nil)
        #expect(code(.hexBinary([SizeRange(minLength: 6, maxLength: 6)]), "0011223344") == 9007)
    }

    @Test func eachSyntaxHasItsSOAPType() {
        #expect(parameter(.unsignedLong([])).valueType == .unsignedLong)
        #expect(parameter(.boolean).valueType == .boolean)
        #expect(parameter(.dateTime).valueType == .dateTime)
        #expect(parameter(.int([]), list: ListFacets()).valueType == .string)
    }
}
