// The CWMP DeviceId (ManufacturerOUI, ProductClass, SerialNumber) of an SNMP agent proxied as a virtual CWMP
// device (Annex J.2). The rule (docs/snmp-profiles.md, "Device identity"):
//   ManufacturerOUI: configuration; else the first three bytes of the agent's MAC address;
//   ProductClass:    configuration; else entPhysicalModelName of the chassis; else sysObjectID.0 (dotted);
//   SerialNumber:    configuration; else entPhysicalSerialNum of the chassis; else the MAC address (12 hex digits);
//                    else the agent's identifier in the proxier's configuration.
// "The agent's MAC address" is ifPhysAddress of the lowest ifIndex with a 6-byte unicast, non-zero address,
// preferring globally administered addresses (locally administered ones carry no OUI).

/// A virtual CWMP device's identity derived from an SNMP agent.
public struct SNMPDeviceIdentity: Hashable, Sendable {
    public var manufacturerOUI: String
    public var productClass: String
    public var serialNumber: String

    /// Values configured for the device, which win over anything read from the agent.
    public struct Overrides: Hashable, Sendable {
        public var manufacturerOUI: String?
        public var productClass: String?
        public var serialNumber: String?

        public init(manufacturerOUI: String? = nil, productClass: String? = nil, serialNumber: String? = nil) {
            self.manufacturerOUI = manufacturerOUI
            self.productClass = productClass
            self.serialNumber = serialNumber
        }
    }

    /// What the rule reads from the agent.
    public struct Facts: Hashable, Sendable {
        public var sysObjectID: SNMPObjectIdentifier?
        /// ifPhysAddress by ifIndex.
        public var physicalAddresses: [UInt32: [UInt8]]
        public var chassisModelName: String?
        public var chassisSerialNumber: String?

        public init(sysObjectID: SNMPObjectIdentifier? = nil, physicalAddresses: [UInt32: [UInt8]] = [:],
                    chassisModelName: String? = nil, chassisSerialNumber: String? = nil) {
            self.sysObjectID = sysObjectID
            self.physicalAddresses = physicalAddresses
            self.chassisModelName = chassisModelName
            self.chassisSerialNumber = chassisSerialNumber
        }

        /// The MAC address the rule uses, if any.
        public var macAddress: [UInt8]? {
            let candidates = physicalAddresses.sorted { $0.key < $1.key }.map(\.value)
                .filter { $0.count == 6 && $0.contains { $0 != 0 } && $0[0] & 0x01 == 0 }
            return candidates.first { $0[0] & 0x02 == 0 } ?? candidates.first
        }
    }

    public init(manufacturerOUI: String, productClass: String, serialNumber: String) {
        self.manufacturerOUI = manufacturerOUI
        self.productClass = productClass
        self.serialNumber = serialNumber
    }

    /// Applies the rule. `agentID` is the last resort for the serial number, so every device has a DeviceId.
    public static func derive(from facts: Facts, overrides: Overrides = Overrides(), agentID: String) -> SNMPDeviceIdentity {
        let mac = facts.macAddress
        let hex = mac.map { SNMPConversion.hexText($0).uppercased() }
        func nonEmpty(_ text: String?) -> String? { text.flatMap { $0.isEmpty ? nil : $0 } }
        let oui = nonEmpty(overrides.manufacturerOUI) ?? hex.map { String($0.prefix(6)) } ?? "000000"
        let productClass = nonEmpty(overrides.productClass) ?? nonEmpty(facts.chassisModelName)
            ?? facts.sysObjectID.map { String($0.description.prefix(64)) } ?? ""
        let serial = nonEmpty(overrides.serialNumber) ?? nonEmpty(facts.chassisSerialNumber) ?? hex ?? agentID
        return SNMPDeviceIdentity(manufacturerOUI: oui, productClass: String(productClass.prefix(64)), serialNumber: String(serial.prefix(64)))
    }

    static let sysObjectID = SNMPObjectIdentifier([1, 3, 6, 1, 2, 1, 1, 2, 0])
    static let ifPhysAddress = SNMPObjectIdentifier([1, 3, 6, 1, 2, 1, 2, 2, 1, 6])
    static let entPhysicalClass = SNMPObjectIdentifier([1, 3, 6, 1, 2, 1, 47, 1, 1, 1, 1, 5])
    static let entPhysicalSerialNum = SNMPObjectIdentifier([1, 3, 6, 1, 2, 1, 47, 1, 1, 1, 1, 11])
    static let entPhysicalModelName = SNMPObjectIdentifier([1, 3, 6, 1, 2, 1, 47, 1, 1, 1, 1, 13])

    /// Reads the facts from the agent: one GET, a walk of ifPhysAddress and of entPhysicalClass, and a GET of the
    /// chassis row when there is one.
    public static func fetchFacts(from client: any SNMPQuerying) async throws -> Facts {
        var facts = Facts()
        if case .objectIdentifier(let oid)? = try await client.get([sysObjectID]).first?.value { facts.sysObjectID = oid }
        for varBind in try await client.walk(ifPhysAddress) where ifPhysAddress.isPrefix(of: varBind.oid) {
            guard varBind.oid.components.count == ifPhysAddress.components.count + 1, case .octetString(let bytes) = varBind.value else { continue }
            facts.physicalAddresses[varBind.oid.components.last!] = bytes
        }
        let chassis = try await client.walk(entPhysicalClass).first { varBind in
            entPhysicalClass.isPrefix(of: varBind.oid) && varBind.value == .integer(3)
        }
        if let chassis {
            let index = Array(chassis.oid.components.dropFirst(entPhysicalClass.components.count))
            let answer = try await client.get([entPhysicalModelName.appending(index), entPhysicalSerialNum.appending(index)])
            for varBind in answer {
                guard case .octetString(let bytes) = varBind.value else { continue }
                let text = SNMPConversion.displayString(bytes, maxLength: 64)
                if entPhysicalModelName.isPrefix(of: varBind.oid) { facts.chassisModelName = text } else { facts.chassisSerialNumber = text }
            }
        }
        return facts
    }
}
