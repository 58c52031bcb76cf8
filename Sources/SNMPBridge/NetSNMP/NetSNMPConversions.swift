// Varbinds between Swift values and net-snmp's netsnmp_variable_list. net-snmp does all BER encoding; this only
// moves typed values in and out of its structs.
import CNetSNMP

extension SNMPObjectIdentifier {
    /// The sub-identifiers as net-snmp's `oid` (unsigned long here), for `snmp_add_null_var` and friends.
    var netSNMPOID: [oid] { components.map { oid($0) } }

    init(netSNMP name: UnsafePointer<oid>, length: Int) {
        self.init(UnsafeBufferPointer(start: name, count: length).map { UInt32(truncatingIfNeeded: $0) })
    }
}

enum NetSNMPConversions {
    /// The value of one received variable, or nil for a type the SNMP SMI does not define (a malformed response).
    static func value(of variable: netsnmp_variable_list) -> SNMPValue? {
        let type = variable.type
        let length = variable.val_len
        func bytes() -> [UInt8] {
            guard length > 0, let string = variable.val.string else { return [] }
            return Array(UnsafeBufferPointer(start: string, count: length))
        }
        switch type {
        case CNS_ASN_INTEGER:
            guard let integer = variable.val.integer else { return nil }
            return .integer(Int32(truncatingIfNeeded: integer.pointee))
        case CNS_ASN_OCTET_STR: return .octetString(bytes())
        case CNS_ASN_NULL: return .null
        case CNS_ASN_OBJECT_ID:
            guard let objid = variable.val.objid else { return nil }
            return .objectIdentifier(SNMPObjectIdentifier(netSNMP: objid, length: length / MemoryLayout<oid>.size))
        case CNS_ASN_IPADDRESS: return .ipAddress(bytes())
        case CNS_ASN_COUNTER, CNS_ASN_GAUGE, CNS_ASN_TIMETICKS:
            guard let integer = variable.val.integer else { return nil }
            // net-snmp stores 32-bit unsigned values in a long.
            let value = UInt32(truncatingIfNeeded: integer.pointee)
            return type == CNS_ASN_COUNTER ? .counter32(value) : (type == CNS_ASN_GAUGE ? .gauge32(value) : .timeTicks(value))
        case CNS_ASN_OPAQUE: return .opaque(bytes())
        case CNS_ASN_COUNTER64:
            guard let counter = variable.val.counter64 else { return nil }
            return .counter64(UInt64(truncatingIfNeeded: counter.pointee.high) << 32
                | UInt64(truncatingIfNeeded: counter.pointee.low) & 0xFFFF_FFFF)
        case CNS_NOSUCHOBJECT: return .noSuchObject
        case CNS_NOSUCHINSTANCE: return .noSuchInstance
        case CNS_ENDOFMIBVIEW: return .endOfMibView
        default: return nil
        }
    }

    /// Every varbind of a received PDU, or the first one whose type is unknown.
    static func varBinds(of pdu: UnsafeMutablePointer<netsnmp_pdu>) -> Result<[SNMPVarBind], SNMPBridgeError> {
        var result: [SNMPVarBind] = []
        var cursor = pdu.pointee.variables
        while let variable = cursor {
            let name = SNMPObjectIdentifier(netSNMP: variable.pointee.name, length: variable.pointee.name_length)
            guard let value = value(of: variable.pointee) else {
                return .failure(SNMPBridgeError(.malformedResponse,
                    "The agent returned value type 0x\(String(variable.pointee.type, radix: 16)) for \(name)"))
            }
            result.append(SNMPVarBind(oid: name, value: value))
            cursor = variable.pointee.next_variable
        }
        return .success(result)
    }

    /// Adds `varBind` to a PDU being built (a SET). Returns false when net-snmp refuses it.
    static func add(_ varBind: SNMPVarBind, to pdu: UnsafeMutablePointer<netsnmp_pdu>) -> Bool {
        var name = varBind.oid.netSNMPOID
        func add(_ type: UInt8, _ pointer: UnsafeRawPointer?, _ length: Int) -> Bool {
            snmp_pdu_add_variable(pdu, &name, name.count, type, pointer, length) != nil
        }
        func addInteger(_ type: UInt8, _ value: Int) -> Bool {
            withUnsafeBytes(of: value) { add(type, $0.baseAddress, $0.count) }
        }
        func addBytes(_ type: UInt8, _ bytes: [UInt8]) -> Bool {
            bytes.withUnsafeBytes { add(type, $0.baseAddress ?? UnsafeRawPointer(bitPattern: 1), $0.count) }
        }
        switch varBind.value {
        case .integer(let value): return addInteger(CNS_ASN_INTEGER, Int(value))
        case .octetString(let bytes): return addBytes(CNS_ASN_OCTET_STR, bytes)
        case .objectIdentifier(let value):
            let components = value.netSNMPOID
            return components.withUnsafeBytes { add(CNS_ASN_OBJECT_ID, $0.baseAddress, $0.count) }
        case .ipAddress(let bytes): return bytes.count == 4 && addBytes(CNS_ASN_IPADDRESS, bytes)
        case .counter32(let value): return addInteger(CNS_ASN_COUNTER, Int(value))
        case .gauge32(let value): return addInteger(CNS_ASN_GAUGE, Int(value))
        case .timeTicks(let value): return addInteger(CNS_ASN_TIMETICKS, Int(value))
        case .opaque(let bytes): return addBytes(CNS_ASN_OPAQUE, bytes)
        case .counter64(let value):
            var counter = counter64(high: u_long(value >> 32), low: u_long(value & 0xFFFF_FFFF))
            return withUnsafeBytes(of: &counter) { add(CNS_ASN_COUNTER64, $0.baseAddress, $0.count) }
        case .null: return add(CNS_ASN_NULL, nil, 0)
        case .noSuchObject, .noSuchInstance, .endOfMibView: return false
        }
    }

    /// net-snmp's own text for an SNMPERR_* code.
    static func apiErrorText(_ code: Int32) -> String {
        guard let text = snmp_api_errstring(code) else { return "net-snmp error \(code)" }
        return String(cString: text)
    }

    /// net-snmp's own text for a PDU error-status.
    static func pduErrorText(_ status: Int) -> String {
        guard let text = snmp_errstring(Int32(truncatingIfNeeded: status)) else { return "error-status \(status)" }
        return String(cString: text)
    }

    /// The typed error for an SNMPv3 report (an SNMPERR_* code from `snmpv3_get_report_type`).
    static func reportError(_ code: Int32) -> SNMPBridgeError {
        let text = apiErrorText(code)
        let errorCode: SNMPBridgeError.ErrorCode = switch code {
        case SNMPERR_AUTHENTICATION_FAILURE, SNMPERR_USM_AUTHENTICATIONFAILURE: .authenticationFailure
        case SNMPERR_DECRYPTION_ERR, SNMPERR_USM_DECRYPTIONERROR: .decryptionFailure
        case SNMPERR_UNKNOWN_USER_NAME, SNMPERR_USM_UNKNOWNSECURITYNAME: .unknownUserName
        case SNMPERR_UNSUPPORTED_SEC_LEVEL, SNMPERR_USM_UNSUPPORTEDSECURITYLEVEL: .unsupportedSecurityLevel
        default: .securityReport
        }
        return SNMPBridgeError(errorCode, text, netSNMPErrorCode: Int(code))
    }
}
