// UPnP Device Management control point (SSDP, descriptions, CMS/BMS/SMS, GENA).
// Placeholder module: the implementation is tracked by the UPnPDM issue and builds on Proxier's provider API.
import Proxier
