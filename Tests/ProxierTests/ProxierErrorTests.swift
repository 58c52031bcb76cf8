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
}
