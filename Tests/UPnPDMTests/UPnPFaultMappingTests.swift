import CWMPClient
import Testing
@testable import UPnPDM

/// One row of the UPnP error → CWMP fault table.
struct FaultRow: Sendable, CustomTestStringConvertible {
    var upnpCode: Int
    var service: String
    var expected: UInt32
    var testDescription: String { "\(upnpCode) (\(service.split(separator: ":").dropLast().last ?? "")) → \(expected)" }
}

private let cms = "urn:schemas-upnp-org:service:ConfigurationManagement:2"
private let bms = "urn:schemas-upnp-org:service:BasicManagement:2"
private let sms = "urn:schemas-upnp-org:service:SoftwareManagement:2"

/// The table as the issue and upnp-dm.md §2.6, §3, §5.3 and §7 give it, row by row.
private let rows: [FaultRow] = [
    // UDA 1.1 Table 3-3, the same for every service.
    FaultRow(upnpCode: 401, service: cms, expected: 9000),  // Invalid Action
    FaultRow(upnpCode: 402, service: cms, expected: 9003),  // Invalid Args
    FaultRow(upnpCode: 501, service: cms, expected: 9002),  // Action Failed
    FaultRow(upnpCode: 600, service: cms, expected: 9007),  // Argument Value Invalid
    FaultRow(upnpCode: 601, service: cms, expected: 9007),  // Argument Value Out of Range
    FaultRow(upnpCode: 602, service: bms, expected: 9000),  // Optional Action Not Implemented
    FaultRow(upnpCode: 603, service: cms, expected: 9004),  // Out of Memory
    FaultRow(upnpCode: 604, service: cms, expected: 9001),  // Human Intervention Required
    FaultRow(upnpCode: 605, service: cms, expected: 9003),  // String Argument Too Long
    FaultRow(upnpCode: 606, service: cms, expected: 9001),  // Action not authorized
    FaultRow(upnpCode: 609, service: sms, expected: 9001),  // security range
    FaultRow(upnpCode: 612, service: bms, expected: 9001),  // security range
    FaultRow(upnpCode: 650, service: cms, expected: 9002),  // reserved common range
    // CMS:2 700-series (§2.6, §7).
    FaultRow(upnpCode: 701, service: cms, expected: 9003),  // Invalid Argument Syntax
    FaultRow(upnpCode: 702, service: cms, expected: 9003),  // Invalid XML Argument
    FaultRow(upnpCode: 703, service: cms, expected: 9005),  // No Such Name
    FaultRow(upnpCode: 704, service: cms, expected: 9006),  // Invalid Value Type
    FaultRow(upnpCode: 705, service: cms, expected: 9007),  // Invalid Value
    FaultRow(upnpCode: 706, service: cms, expected: 9008),  // Read Only Violation
    FaultRow(upnpCode: 708, service: cms, expected: 9002),  // Resource Temporarily Unavailable
    FaultRow(upnpCode: 711, service: cms, expected: 9002),  // unconfirmed CMS code: generic action fault
    FaultRow(upnpCode: 703, service: "urn:schemas-upnp-org:service:ConfigurationManagement:1", expected: 9005),
    // BMS:2 700-series (§3, seen on Rygel).
    FaultRow(upnpCode: 706, service: bms, expected: 9003),  // No Such Test
    FaultRow(upnpCode: 707, service: bms, expected: 9003),  // Wrong Test Type
    FaultRow(upnpCode: 708, service: bms, expected: 9002),  // Invalid Test State
    FaultRow(upnpCode: 709, service: bms, expected: 9001),  // State Precludes Cancel
    // SMS:2: no 700-series codes confirmed (§4).
    FaultRow(upnpCode: 701, service: sms, expected: 9002),
    // Vendor and unknown services.
    FaultRow(upnpCode: 899, service: cms, expected: 9002),
    FaultRow(upnpCode: 703, service: "urn:schemas-upnp-org:service:ContentDirectory:1", expected: 9002),
]

@Suite struct UPnPFaultMappingTests {
    @Test(arguments: rows)
    func upnpErrorBecomesCWMPFault(_ row: FaultRow) {
        let error = UPnPDMError(.actionFailed, "test", upnpErrorCode: row.upnpCode,
                                upnpErrorDescription: "description", upnpServiceType: row.service)
        #expect(CWMPFault(converting: error).code.rawValue == row.expected)
    }

    @Test func faultStringCarriesTheDevicesDescription() {
        let error = UPnPDMError(.actionFailed, "GetValues failed", upnpErrorCode: 703,
                                upnpErrorDescription: "No Such Name", upnpServiceType: cms)
        #expect(error.cwmpFault.faultString == "UPnP error 703: No Such Name")
    }

    @Test func actionFailedWithoutACodeIsAnInternalError() {
        #expect(UPnPDMError(.actionFailed, "no UPnPError").cwmpFault.code == .internalError)
    }

    @Test func invalidArgumentIsInvalidArguments() {
        #expect(UPnPDMError(.invalidArgument, "bad name").cwmpFault.code == .invalidArguments)
    }

    /// Every transport, XML and description failure: the device could not be reached or understood.
    @Test(arguments: [
        UPnPDMError.ErrorCode.invalidURL, .connectFailed, .connectTimeout, .deadlineExceeded, .connectionClosed,
        .malformedHTTPResponse, .responseTooLarge, .unexpectedHTTPStatus, .malformedXML, .forbiddenDocumentType,
        .documentTooLarge, .documentTooDeep, .invalidDescription, .malformedSOAPResponse,
    ])
    func transportAndParseErrorsAreInternalErrors(_ code: UPnPDMError.ErrorCode) {
        let fault = CWMPFault(converting: UPnPDMError(code, "reason \(code)"))
        #expect(fault.code == .internalError)
        #expect(fault.faultString == "reason \(code)")
    }
}
