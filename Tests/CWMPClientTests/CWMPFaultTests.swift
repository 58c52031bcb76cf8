import Testing
@testable import CWMPClient

@Suite struct CWMPFaultTests {
    @Test func definesEveryCodeOfTheSpec() {
        #expect(CWMPFault.Code.allDefined.count == 33 + 7)
        for code in CWMPFault.Code.allDefined {
            #expect(code.defaultFaultString != "Unknown fault", "no text for \(code.rawValue)")
        }
    }

    @Test func clientFaultsAreTheOnesTheSenderCaused() {
        #expect(CWMPFault.Code.invalidArguments.soapFaultCode == .client)
        #expect(CWMPFault.Code.invalidParameterValue.soapFaultCode == .client)
        #expect(CWMPFault.Code.internalError.soapFaultCode == .server)
        #expect(CWMPFault.Code.methodNotSupported.soapFaultCode == .server)
    }

    @Test func unknownErrorsBecomeInternalErrorWithoutLeakingTheirText() {
        struct Secret: Error, CustomStringConvertible { var description: String { "password=hunter2" } }
        let fault = CWMPFault(converting: Secret())
        #expect(fault.code == .internalError)
        #expect(!fault.faultString.contains("hunter2"))
    }

    @Test func codecErrorsMapToTheSpecFaults() {
        #expect(CWMPFault(converting: CWMPError(.unknownMethod, "X_Foo")).code == .methodNotSupported)
        #expect(CWMPFault(converting: CWMPError(.malformedEnvelope, "bad")).code == .invalidArguments)
        #expect(CWMPFault(converting: CWMPError(.envelopeTooLarge, "big")).code == .resourcesExceeded)
    }
}
