// The built-in profiles, as the same JSON a user profile is written in (docs/snmp-profiles.md). They are Swift
// string literals rather than bundle resources because SwiftPM's resource accessor needs Foundation's Bundle, which
// the binary must not link. OIDs are numeric with the MIB symbol in `label`, so they work without MIB files.

/// The profiles shipped with the proxier; every agent gets those whose match rules it satisfies.
public enum SNMPBuiltinProfiles {
    /// Name → JSON text.
    public static let json: [(name: String, text: String)] = [
        ("snmpv2-system", system),
        ("entity-mib", entity),
        ("if-mib", interfaces),
        ("host-resources", hostResources),
    ]

    /// All built-in profiles, compiled against the TR-181 schema.
    public static func compiled(with compiler: SNMPProfileCompiler = SNMPProfileCompiler()) throws(SNMPBridgeError) -> [CompiledSNMPProfile] {
        var result: [CompiledSNMPProfile] = []
        for (_, text) in json { result.append(try compiler.compile(json: text)) }
        return result
    }

    // SNMPv2-MIB system group → DeviceInfo (cwmp.md §11). sysContact/sysLocation/sysObjectID have no TR-181
    // parameter; sysObjectID feeds the device identity (SNMPDeviceIdentity) instead.
    static let system = #"""
    {
      "name": "snmpv2-system",
      "description": "SNMPv2-MIB system group and HOST-RESOURCES-MIB uptime → Device.DeviceInfo",
      "scalars": [
        { "parameter": "Device.DeviceInfo.Description", "oid": "1.3.6.1.2.1.1.1.0", "label": "SNMPv2-MIB::sysDescr.0",
          "conversion": "displayString" },
        { "parameter": "Device.DeviceInfo.UpTime", "oid": "1.3.6.1.2.1.25.1.1.0", "label": "HOST-RESOURCES-MIB::hrSystemUptime.0",
          "fallbackOID": "1.3.6.1.2.1.1.3.0", "conversion": "timeTicksToSeconds" },
        { "parameter": "Device.DeviceInfo.HostName", "oid": "1.3.6.1.2.1.1.5.0", "label": "SNMPv2-MIB::sysName.0",
          "conversion": "displayString", "writable": true }
      ]
    }
    """#

    // ENTITY-MIB entPhysicalTable, chassis row (entPhysicalClass chassis(3)) → DeviceInfo.
    static let entity = #"""
    {
      "name": "entity-mib",
      "description": "ENTITY-MIB chassis entry → Device.DeviceInfo manufacturer, model, serial number, versions",
      "scalars": [
        { "parameter": "Device.DeviceInfo.Manufacturer", "oid": "1.3.6.1.2.1.47.1.1.1.1.12", "label": "ENTITY-MIB::entPhysicalMfgName",
          "select": { "column": "1.3.6.1.2.1.47.1.1.1.1.5", "equals": 3 }, "conversion": "displayString" },
        { "parameter": "Device.DeviceInfo.ModelName", "oid": "1.3.6.1.2.1.47.1.1.1.1.13", "label": "ENTITY-MIB::entPhysicalModelName",
          "select": { "column": "1.3.6.1.2.1.47.1.1.1.1.5", "equals": 3 }, "conversion": "displayString" },
        { "parameter": "Device.DeviceInfo.SerialNumber", "oid": "1.3.6.1.2.1.47.1.1.1.1.11", "label": "ENTITY-MIB::entPhysicalSerialNum",
          "select": { "column": "1.3.6.1.2.1.47.1.1.1.1.5", "equals": 3 }, "conversion": "displayString" },
        { "parameter": "Device.DeviceInfo.HardwareVersion", "oid": "1.3.6.1.2.1.47.1.1.1.1.8", "label": "ENTITY-MIB::entPhysicalHardwareRev",
          "select": { "column": "1.3.6.1.2.1.47.1.1.1.1.5", "equals": 3 }, "conversion": "displayString" },
        { "parameter": "Device.DeviceInfo.SoftwareVersion", "oid": "1.3.6.1.2.1.47.1.1.1.1.10", "label": "ENTITY-MIB::entPhysicalSoftwareRev",
          "fallbackOID": "1.3.6.1.2.1.47.1.1.1.1.9",
          "select": { "column": "1.3.6.1.2.1.47.1.1.1.1.5", "equals": 3 }, "conversion": "displayString" }
      ]
    }
    """#

    // IF-MIB ifTable + ifXTable → Ethernet.Interface (Ethernet-like ifTypes) and IP.Interface (all); IP-MIB
    // ipAddrTable → IP.Interface.{i}.IPv4Address.{i}. Rows are keyed by ifName, then ifPhysAddress, so a
    // renumbered ifIndex keeps its instance. 64-bit ifXTable counters are preferred; their 32-bit ifTable
    // counterparts are accumulated to 64 bits where the agent lacks ifXTable.
    static let interfaces = #"""
    {
      "name": "if-mib",
      "description": "IF-MIB ifTable/ifXTable → Device.Ethernet.Interface and Device.IP.Interface; IP-MIB ipAddrTable → IPv4Address",
      "tables": [
        {
          "object": "Device.Ethernet.Interface.{i}.", "label": "IF-MIB::ifTable (ethernetCsmacd, fastEther, fastEtherFX, gigabitEthernet)",
          "indexColumn": "1.3.6.1.2.1.2.2.1.1",
          "keyColumns": [
            { "name": "ifName", "oid": "1.3.6.1.2.1.31.1.1.1.1", "conversion": "displayString" },
            { "name": "ifPhysAddress", "oid": "1.3.6.1.2.1.2.2.1.6", "conversion": "mac" }
          ],
          "filter": { "column": "1.3.6.1.2.1.2.2.1.3", "in": [6, 62, 69, 117] },
          "columns": [
            { "parameter": "Enable", "oid": "1.3.6.1.2.1.2.2.1.7", "label": "IF-MIB::ifAdminStatus", "writable": true,
              "conversion": { "type": "enumeration", "values": { "1": "true", "2": "false", "3": "true" }, "set": { "true": 1, "false": 2 } } },
            { "parameter": "Status", "oid": "1.3.6.1.2.1.2.2.1.8", "label": "IF-MIB::ifOperStatus",
              "conversion": { "type": "enumeration", "default": "Unknown",
                "values": { "1": "Up", "2": "Down", "3": "Unknown", "4": "Unknown", "5": "Dormant", "6": "NotPresent", "7": "LowerLayerDown" } } },
            { "parameter": "Name", "oid": "1.3.6.1.2.1.31.1.1.1.1", "label": "IF-MIB::ifName",
              "fallbackOID": "1.3.6.1.2.1.2.2.1.2", "conversion": "displayString" },
            { "parameter": "MACAddress", "oid": "1.3.6.1.2.1.2.2.1.6", "label": "IF-MIB::ifPhysAddress", "conversion": "mac" },
            { "parameter": "MaxBitRate", "oid": "1.3.6.1.2.1.31.1.1.1.15", "label": "IF-MIB::ifHighSpeed (Mbit/s)",
              "fallbackOID": "1.3.6.1.2.1.2.2.1.5", "fallbackConversion": "bitsPerSecondToMbps" },
            { "parameter": "CurrentBitRate", "oid": "1.3.6.1.2.1.31.1.1.1.15", "label": "IF-MIB::ifHighSpeed (Mbit/s)",
              "fallbackOID": "1.3.6.1.2.1.2.2.1.5", "fallbackConversion": "bitsPerSecondToMbps" },
            { "parameter": "Stats.BytesReceived", "oid": "1.3.6.1.2.1.31.1.1.1.6", "label": "IF-MIB::ifHCInOctets",
              "fallbackOID": "1.3.6.1.2.1.2.2.1.10", "conversion": "counter64" },
            { "parameter": "Stats.BytesSent", "oid": "1.3.6.1.2.1.31.1.1.1.10", "label": "IF-MIB::ifHCOutOctets",
              "fallbackOID": "1.3.6.1.2.1.2.2.1.16", "conversion": "counter64" },
            { "parameter": "Stats.UnicastPacketsReceived", "oid": "1.3.6.1.2.1.31.1.1.1.7", "label": "IF-MIB::ifHCInUcastPkts",
              "fallbackOID": "1.3.6.1.2.1.2.2.1.11", "conversion": "counter64" },
            { "parameter": "Stats.UnicastPacketsSent", "oid": "1.3.6.1.2.1.31.1.1.1.11", "label": "IF-MIB::ifHCOutUcastPkts",
              "fallbackOID": "1.3.6.1.2.1.2.2.1.17", "conversion": "counter64" },
            { "parameter": "Stats.MulticastPacketsReceived", "oid": "1.3.6.1.2.1.31.1.1.1.8", "label": "IF-MIB::ifHCInMulticastPkts",
              "fallbackOID": "1.3.6.1.2.1.31.1.1.1.2", "conversion": "counter64" },
            { "parameter": "Stats.MulticastPacketsSent", "oid": "1.3.6.1.2.1.31.1.1.1.12", "label": "IF-MIB::ifHCOutMulticastPkts",
              "fallbackOID": "1.3.6.1.2.1.31.1.1.1.4", "conversion": "counter64" },
            { "parameter": "Stats.BroadcastPacketsReceived", "oid": "1.3.6.1.2.1.31.1.1.1.9", "label": "IF-MIB::ifHCInBroadcastPkts",
              "fallbackOID": "1.3.6.1.2.1.31.1.1.1.3", "conversion": "counter64" },
            { "parameter": "Stats.BroadcastPacketsSent", "oid": "1.3.6.1.2.1.31.1.1.1.13", "label": "IF-MIB::ifHCOutBroadcastPkts",
              "fallbackOID": "1.3.6.1.2.1.31.1.1.1.5", "conversion": "counter64" },
            { "parameter": "Stats.ErrorsReceived", "oid": "1.3.6.1.2.1.2.2.1.14", "label": "IF-MIB::ifInErrors" },
            { "parameter": "Stats.ErrorsSent", "oid": "1.3.6.1.2.1.2.2.1.20", "label": "IF-MIB::ifOutErrors" },
            { "parameter": "Stats.DiscardPacketsReceived", "oid": "1.3.6.1.2.1.2.2.1.13", "label": "IF-MIB::ifInDiscards" },
            { "parameter": "Stats.DiscardPacketsSent", "oid": "1.3.6.1.2.1.2.2.1.19", "label": "IF-MIB::ifOutDiscards" },
            { "parameter": "Stats.UnknownProtoPacketsReceived", "oid": "1.3.6.1.2.1.2.2.1.15", "label": "IF-MIB::ifInUnknownProtos" }
          ],
          "computed": [
            { "parameter": "LastChange", "label": "(sysUpTime - ifLastChange) / 100",
              "terms": [ { "oid": "1.3.6.1.2.1.1.3.0", "scalar": true }, { "oid": "1.3.6.1.2.1.2.2.1.9", "subtract": true } ], "divide": 100 },
            { "parameter": "Stats.PacketsReceived", "label": "unicast + multicast + broadcast received",
              "terms": [
                { "oid": "1.3.6.1.2.1.31.1.1.1.7", "fallbackOID": "1.3.6.1.2.1.2.2.1.11", "accumulate": true },
                { "oid": "1.3.6.1.2.1.31.1.1.1.8", "fallbackOID": "1.3.6.1.2.1.31.1.1.1.2", "accumulate": true },
                { "oid": "1.3.6.1.2.1.31.1.1.1.9", "fallbackOID": "1.3.6.1.2.1.31.1.1.1.3", "accumulate": true } ] },
            { "parameter": "Stats.PacketsSent", "label": "unicast + multicast + broadcast sent",
              "terms": [
                { "oid": "1.3.6.1.2.1.31.1.1.1.11", "fallbackOID": "1.3.6.1.2.1.2.2.1.17", "accumulate": true },
                { "oid": "1.3.6.1.2.1.31.1.1.1.12", "fallbackOID": "1.3.6.1.2.1.31.1.1.1.4", "accumulate": true },
                { "oid": "1.3.6.1.2.1.31.1.1.1.13", "fallbackOID": "1.3.6.1.2.1.31.1.1.1.5", "accumulate": true } ] }
          ]
        },
        {
          "object": "Device.IP.Interface.{i}.", "label": "IF-MIB::ifTable (every interface)",
          "indexColumn": "1.3.6.1.2.1.2.2.1.1",
          "keyColumns": [
            { "name": "ifName", "oid": "1.3.6.1.2.1.31.1.1.1.1", "conversion": "displayString" },
            { "name": "ifPhysAddress", "oid": "1.3.6.1.2.1.2.2.1.6", "conversion": "mac" }
          ],
          "columns": [
            { "parameter": "Enable", "oid": "1.3.6.1.2.1.2.2.1.7", "label": "IF-MIB::ifAdminStatus", "writable": true,
              "conversion": { "type": "enumeration", "values": { "1": "true", "2": "false", "3": "true" }, "set": { "true": 1, "false": 2 } } },
            { "parameter": "Status", "oid": "1.3.6.1.2.1.2.2.1.8", "label": "IF-MIB::ifOperStatus",
              "conversion": { "type": "enumeration", "default": "Unknown",
                "values": { "1": "Up", "2": "Down", "3": "Unknown", "4": "Unknown", "5": "Dormant", "6": "NotPresent", "7": "LowerLayerDown" } } },
            { "parameter": "Name", "oid": "1.3.6.1.2.1.31.1.1.1.1", "label": "IF-MIB::ifName",
              "fallbackOID": "1.3.6.1.2.1.2.2.1.2", "conversion": "displayString" },
            { "parameter": "MaxMTUSize", "oid": "1.3.6.1.2.1.2.2.1.4", "label": "IF-MIB::ifMtu" },
            { "parameter": "Type", "oid": "1.3.6.1.2.1.2.2.1.3", "label": "IF-MIB::ifType",
              "conversion": { "type": "enumeration", "values": { "24": "Loopback", "131": "Tunnel" }, "default": "Normal" } },
            { "parameter": "Loopback", "oid": "1.3.6.1.2.1.2.2.1.3", "label": "IF-MIB::ifType softwareLoopback(24)",
              "conversion": { "type": "enumeration", "values": { "24": "true" }, "default": "false" } }
          ],
          "computed": [
            { "parameter": "LastChange", "label": "(sysUpTime - ifLastChange) / 100",
              "terms": [ { "oid": "1.3.6.1.2.1.1.3.0", "scalar": true }, { "oid": "1.3.6.1.2.1.2.2.1.9", "subtract": true } ], "divide": 100 }
          ]
        },
        {
          "object": "Device.IP.Interface.{i}.IPv4Address.{i}.", "label": "IP-MIB::ipAddrTable",
          "indexColumn": "1.3.6.1.2.1.4.20.1.1",
          "parent": { "object": "Device.IP.Interface.{i}.", "column": "1.3.6.1.2.1.4.20.1.2" },
          "columns": [
            { "parameter": "IPAddress", "oid": "1.3.6.1.2.1.4.20.1.1", "label": "IP-MIB::ipAdEntAddr", "conversion": "ipAddress" },
            { "parameter": "SubnetMask", "oid": "1.3.6.1.2.1.4.20.1.3", "label": "IP-MIB::ipAdEntNetMask", "conversion": "ipAddress" }
          ]
        }
      ]
    }
    """#

    // HOST-RESOURCES-MIB → DeviceInfo.MemoryStatus and ProcessStatus.
    static let hostResources = #"""
    {
      "name": "host-resources",
      "description": "HOST-RESOURCES-MIB → Device.DeviceInfo.MemoryStatus, ProcessStatus (CPUUsage, Process.{i})",
      "scalars": [
        { "parameter": "Device.DeviceInfo.MemoryStatus.Total", "oid": "1.3.6.1.2.1.25.2.2.0", "label": "HOST-RESOURCES-MIB::hrMemorySize.0 (KiB)" }
      ],
      "computed": [
        { "parameter": "Device.DeviceInfo.MemoryStatus.Free",
          "label": "(hrStorageSize - hrStorageUsed) x hrStorageAllocationUnits / 1024 of the hrStorageRam rows",
          "terms": [ { "oid": "1.3.6.1.2.1.25.2.3.1.5" }, { "oid": "1.3.6.1.2.1.25.2.3.1.6", "subtract": true } ],
          "factors": [ "1.3.6.1.2.1.25.2.3.1.4" ], "divide": 1024,
          "over": { "indexColumn": "1.3.6.1.2.1.25.2.3.1.1",
                    "filter": { "column": "1.3.6.1.2.1.25.2.3.1.2", "equals": "1.3.6.1.2.1.25.2.1.2" }, "combine": "sum" } },
        { "parameter": "Device.DeviceInfo.ProcessStatus.CPUUsage", "label": "average of HOST-RESOURCES-MIB::hrProcessorLoad",
          "terms": [ { "oid": "1.3.6.1.2.1.25.3.3.1.2" } ],
          "over": { "indexColumn": "1.3.6.1.2.1.25.3.3.1.2", "combine": "average" } }
      ],
      "tables": [
        {
          "object": "Device.DeviceInfo.ProcessStatus.Process.{i}.", "label": "HOST-RESOURCES-MIB::hrSWRunTable + hrSWRunPerfTable",
          "indexColumn": "1.3.6.1.2.1.25.4.2.1.1",
          "columns": [
            { "parameter": "PID", "conversion": "index", "label": "hrSWRunIndex" },
            { "parameter": "Command", "oid": "1.3.6.1.2.1.25.4.2.1.2", "label": "HOST-RESOURCES-MIB::hrSWRunName", "conversion": "displayString" },
            { "parameter": "Size", "oid": "1.3.6.1.2.1.25.5.1.1.2", "label": "HOST-RESOURCES-MIB::hrSWRunPerfMem (KiB)" },
            { "parameter": "CPUTime", "oid": "1.3.6.1.2.1.25.5.1.1.1", "label": "HOST-RESOURCES-MIB::hrSWRunPerfCPU (1/100 s → ms)",
              "conversion": { "type": "scale", "multiply": 10 } },
            { "parameter": "State", "oid": "1.3.6.1.2.1.25.4.2.1.7", "label": "HOST-RESOURCES-MIB::hrSWRunStatus",
              "conversion": { "type": "enumeration", "values": { "1": "Running", "2": "Running", "3": "Sleeping", "4": "Zombie" }, "default": "Idle" } }
          ]
        }
      ]
    }
    """#
}
