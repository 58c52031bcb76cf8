import CWMPClient
import Testing
@testable import Proxier

@Suite struct ProxierErrorTests {
    @Test func errorsCompareByCodeAndConvertToFaults() {
        #expect(ProxierError(.unknownPath, "a") == ProxierError(.unknownPath, "b"))
        #expect(CWMPFault(converting: ProxierError(.unknownPath, "Device.Nope")).code == .invalidParameterName)
        #expect(CWMPFault(converting: ProxierError(.notWritable, "Device.DeviceInfo.UpTime")).code == .attemptToSetNonWritableParameter)
        let wrapped = ProxierError(.providerFailure, "snmp", underlying: CWMPFault(.requestDenied))
        #expect(CWMPFault(converting: wrapped).code == .requestDenied)
    }

    @Test func dataModelCodesConvertToTheirFaults() {
        #expect(CWMPFault(converting: ProxierError(.invalidPath, "")).code == .invalidParameterName)
        #expect(CWMPFault(converting: ProxierError(.invalidType, "")).code == .invalidParameterType)
        #expect(CWMPFault(converting: ProxierError(.invalidValue, "")).code == .invalidParameterValue)
        #expect(CWMPFault(converting: ProxierError(.resourcesExceeded, "")).code == .resourcesExceeded)
        #expect(CWMPFault(converting: ProxierError(.notificationRejected, "")).code == .notificationRequestRejected)
        #expect(CWMPFault(converting: ProxierError(.requestDenied, "")).code == .requestDenied)
        #expect(CWMPFault(converting: ProxierError(.providerFailure, "")).code == .internalError)
        let entries = [SetParameterValuesFault(parameterName: "Device.X", faultCode: .invalidParameterName)]
        let spv = CWMPFault(converting: ProxierError(.invalidArguments, "rejected", setParameterValuesFaults: entries))
        #expect(spv.code == .invalidArguments)
        #expect(spv.setParameterValuesFaults == entries)
        // A provider's per-value error met outside SetParameterValues is still a 9003.
        #expect(CWMPFault(converting: ProviderSetValuesError(entries: [])).code == .invalidArguments)
    }
}
