// What the notification receiver hands on: one trap or inform, decoded by net-snmp, in Swift values.
import CWMPClient

/// One received SNMP notification (v1 Trap-PDU, SNMPv2-Trap-PDU or InformRequest-PDU).
public struct SNMPNotification: Sendable, Hashable, CustomStringConvertible {
    public enum Version: String, Sendable, Hashable { case v1, v2c, v3 }
    public enum Kind: String, Sendable, Hashable { case trap, inform }

    /// The sender's transport address (what notifications are dispatched by).
    public var sourceHost: String
    public var sourcePort: Int
    public var version: Version
    public var kind: Kind
    /// v1/v2c: the community the sender used (redacted in every description).
    public var community: Secret?
    /// v3: the USM security name the message was authenticated with.
    public var userName: String?
    /// snmpTrapOID.0; for a v1 trap, translated per RFC 3584 §3.1 (generic traps → snmpTraps.(generic+1),
    /// enterpriseSpecific → enterprise.0.specific-trap).
    public var trapOID: SNMPObjectIdentifier
    /// sysUpTime.0 of the sender (a v1 trap's time-stamp), when present.
    public var upTime: UInt32?
    /// The varbinds that follow sysUpTime.0 and snmpTrapOID.0 (v2c/v3), or all of a v1 trap's.
    public var varBinds: [SNMPVarBind]

    public init(sourceHost: String, sourcePort: Int, version: Version, kind: Kind, community: Secret? = nil,
                userName: String? = nil, trapOID: SNMPObjectIdentifier, upTime: UInt32? = nil, varBinds: [SNMPVarBind]) {
        self.sourceHost = sourceHost
        self.sourcePort = sourcePort
        self.version = version
        self.kind = kind
        self.community = community
        self.userName = userName
        self.trapOID = trapOID
        self.upTime = upTime
        self.varBinds = varBinds
    }

    /// Never shows the community.
    public var description: String {
        "\(version.rawValue) \(kind.rawValue) \(trapOID) from \(sourceHost):\(sourcePort) (\(varBinds.count) varbinds)"
    }

    public static let sysUpTime = SNMPObjectIdentifier([1, 3, 6, 1, 2, 1, 1, 3, 0])
    public static let snmpTrapOID = SNMPObjectIdentifier([1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0])
    /// snmpTraps (RFC 3418): coldStart .1, warmStart .2, linkDown .3, linkUp .4, authenticationFailure .5.
    public static let snmpTraps = SNMPObjectIdentifier([1, 3, 6, 1, 6, 3, 1, 1, 5])
    public static let linkDown = SNMPObjectIdentifier([1, 3, 6, 1, 6, 3, 1, 1, 5, 3])
    public static let linkUp = SNMPObjectIdentifier([1, 3, 6, 1, 6, 3, 1, 1, 5, 4])

    /// RFC 3584 §3.1 (1)-(2): the snmpTrapOID.0 of a v1 trap.
    public static func v1TrapOID(enterprise: SNMPObjectIdentifier, genericTrap: Int, specificTrap: Int) -> SNMPObjectIdentifier {
        if (0...5).contains(genericTrap) {
            return SNMPObjectIdentifier(snmpTraps.components + [UInt32(genericTrap + 1)])
        }
        return SNMPObjectIdentifier(enterprise.components + [0, UInt32(truncatingIfNeeded: specificTrap)])
    }
}

/// An SNMPv3 user notifications may come from. Traps are authenticated with keys localized to the SENDER's engine
/// ID (RFC 3414: the sender is authoritative), so a trap user needs that engine ID; informs use ours (nil).
public struct SNMPNotificationUser: Hashable, Sendable {
    public var user: SNMPUSMUser
    /// The sending engine's ID for traps; nil for informs (localized to this process's engine ID).
    public var engineID: [UInt8]?
    public init(_ user: SNMPUSMUser, engineID: [UInt8]? = nil) {
        self.user = user
        self.engineID = engineID
    }
}
