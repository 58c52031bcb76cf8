// SNMP agents as TR-181 providers through net-snmp.
// Placeholder module: the implementation is tracked by the SNMPBridge issue and builds on Proxier's provider API.
import Proxier
