#!/usr/bin/env python3
"""UPnP DM test device: ManageableDevice:2 with ConfigurationManagement:2, BasicManagement:2 and
SoftwareManagement:2, hosted on async-upnp-client's server (a third-party UPnP stack, PyPI 0.49.0).

Run with Tests/Peers/.venv/bin/python, pinned to one interface address (never 0.0.0.0 in the root namespace):

    dm_device.py --address 10.77.0.2 [--http-port 0] [--count N] [--announce-interval S] [--max-age S]
                 [--boot-id N] [--no-patches] [--test-delay S] [--operation-delay S] [--reboot-downtime S]

stdout: one JSON line per device when it is ready ({"event": "ready", "index", "udn", "location", ...}), then
{"event": "all-ready"}; later lines report reboots and the answers to control commands. stdin: one control
command per line (README.md lists them); EOF on stdin stops the process like `stop` (byebye for every device), so a
dead test runner leaves no device behind. SIGTERM and SIGINT do the same.
"""
import argparse
import asyncio
import json
import os
import re
import signal
import socket
import sys
import time
from datetime import UTC, datetime
from typing import Any, Callable
from urllib.parse import urlparse
from uuid import uuid4
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import async_upnp_client.server as aserver  # noqa: E402
from aiohttp.web import HTTPBadRequest, Request, Response  # noqa: E402
from async_upnp_client.client import UpnpError  # noqa: E402
from async_upnp_client.const import DeviceInfo, NotificationSubType, ServiceInfo  # noqa: E402
from async_upnp_client.exceptions import UpnpActionError, UpnpValueError  # noqa: E402
from async_upnp_client.server import (  # noqa: E402
    SsdpAdvertisementAnnouncer,
    SsdpSearchResponder,
    UpnpServer,
    UpnpServerDevice,
    UpnpServerService,
    callable_action,
    create_event_var,
    create_state_var,
)
from async_upnp_client.ssdp import build_ssdp_packet  # noqa: E402

import dm_model  # noqa: E402
from dm_model import CMSFault  # noqa: E402

DEVICE_TYPE = "urn:schemas-upnp-org:device:ManageableDevice:2"
CMS_TYPE = "urn:schemas-upnp-org:service:ConfigurationManagement:2"
BMS_TYPE = "urn:schemas-upnp-org:service:BasicManagement:2"
SMS_TYPE = "urn:schemas-upnp-org:service:SoftwareManagement:2"
ROOT_TYPE = "urn:schemas-upnp-org:device:Basic:1"  # the root of --embedded

UDA_ERRORS = {401: "Invalid Action", 402: "Invalid Args", 501: "Action Failed", 600: "Argument Value Invalid",
              601: "Argument Value Out of Range", 602: "Optional Action Not Implemented"}
BMS_ERRORS = {706: "No Such Test", 707: "Wrong Test Type", 708: "Invalid Test State", 709: "State Precludes Cancel"}

PATCHES = True  # --no-patches turns the UDA compliance patches off (see apply_uda_patches)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def emit(obj: dict) -> None:
    print(json.dumps(obj), flush=True)


def iso(ts: float | None = None) -> str:
    return datetime.fromtimestamp(ts if ts is not None else time.time(), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def action_error(code: int, description: str) -> UpnpActionError:
    return UpnpActionError(error_code=code, error_desc=description)


# ======================================================================================================================
# Per-device state. It outlives the UpnpServer instances: a reboot builds a new server (new BOOTID, no subscriptions)
# around the same state, as a real device keeps its configuration across a reboot.
# ======================================================================================================================
class DeviceState:
    def __init__(self, index: int, args: argparse.Namespace, port: int):
        self.index = index
        self.args = args
        self.port = port
        self.udn = f"uuid:{uuid4()}"
        self.root_udn = f"uuid:{uuid4()}" if args.embedded else self.udn
        self.serial = f"DMSIM{index:04d}{self.udn[5:13].upper()}"
        self.friendly_name = f"DM test device {index}"
        self.address = args.address
        self.boot_id = args.boot_id
        self.config_id = 1
        self.booted_at = time.time()
        self.model = dm_model.DataModel(self.serial, self.friendly_name, self.address,
                                        event_on_change=args.event_on_change)
        self.server: UpnpServer | None = None
        self.device: UpnpServerDevice | None = None
        self.silenced = False  # no announcements, no search replies (lease expiry at the CP)
        self.config_version = 1
        self.config_update = f"1,{iso()}"
        self.attribute_update_count = 0
        self.injected: dict[str, list[int]] = {}  # action name → fault codes to return (control `fail`)
        # BMS
        self.next_test_id = 1
        self.tests: dict[int, dict[str, Any]] = {}
        self.sequence_mode = False
        # SMS
        self.next_operation_id = 1
        self.operations: dict[int, dict[str, Any]] = {}
        self.next_du = 3
        self.next_eu = 2
        self.dus: dict[int, dict[str, Any]] = {
            1: {"name": "firmware", "version": "1.0.0", "type": "Firmware", "state": "Installed",
                "uri": "http://firmware.example/dm-sim-1.0.0.bin"},
            2: {"name": "app-a", "version": "2.1", "type": "Application", "state": "Installed",
                "uri": "http://apps.example/app-a-2.1.ipk", "eus": [1]},
        }
        self.eus: dict[int, dict[str, Any]] = {
            1: {"name": "app-a-daemon", "version": "2.1", "requested": "Active", "running": "Running", "du": 2},
        }
        self.reboot_pending = False
        self.rebooting = False
        # Control `hold`/`release`: while held, BMS tests and SMS operations stay InProgress (their timers end but
        # they do not complete), so a test can act on one "still running" however slowly a loaded machine runs it.
        self.held = False

    @property
    def location(self) -> str:
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"http://{host}:{self.port}/device.xml"

    @property
    def source(self) -> tuple:
        """async-upnp-client's source tuple: IPv6 needs the interface index (SSDP goes to FF02::C on it)."""
        if ":" in self.address:
            return (self.address, 0, 0, socket.if_nametoindex(self.args.interface))
        return (self.address, 0)

    def service(self, service_type: str) -> "DMService | None":
        if not self.device:
            return None
        for service in self.device.all_services:  # the DM device may be embedded (--embedded)
            if service.service_type == service_type:
                return service  # type: ignore[return-value]
        return None

    def describe(self) -> dict:
        return {"index": self.index, "udn": self.udn, "location": self.location, "address": self.address,
                "http_port": self.port, "boot_id": self.boot_id, "config_id": self.config_id,
                "serial": self.serial, "device_type": DEVICE_TYPE, "root_udn": self.root_udn,
                "root_device_type": ROOT_TYPE if self.args.embedded else DEVICE_TYPE,
                "services": [CMS_TYPE, BMS_TYPE, SMS_TYPE]}

    # ---- configuration changes ---------------------------------------------------------------------------------
    def configuration_changed(self, changed: list[tuple[str, str]]) -> None:
        """Bump CurrentConfigurationVersion and event ConfigurationUpdate: `version,time[,ParameterValueList]`.

        The third field lists the changed parameters whose EventOnChange attribute is 1 (upnp-dm.md §2.2); it is
        left out when there are none, so a CP must then call GetValues itself."""
        self.config_version += 1
        update = f"{self.config_version},{iso()}"
        notified = [(path, value) for path, value in changed if self.model.params.get(path) and
                    self.model.params[path].event_on_change]
        if notified:
            update += "," + dm_model.build_values(notified)
        self.config_update = update
        cms = self.service(CMS_TYPE)
        if cms:
            cms.state_variable("CurrentConfigurationVersion").value = self.config_version
            cms.state_variable("ConfigurationUpdate").value = update

    def structure_changed(self) -> None:
        cms = self.service(CMS_TYPE)
        if cms:
            cms.state_variable("SupportedParametersUpdate").value = f"{self.config_version},{iso()}"

    def refresh_dynamic(self) -> None:
        self.model.params["/UPnP/DM/DeviceInfo/UpTime"].value = str(int(time.time() - self.booted_at))
        self.model.params["/BBF/Time/CurrentLocalTime"].value = iso()

    def take_injected(self, action: str) -> None:
        codes = self.injected.get(action) or self.injected.get("*")
        if codes:
            code = codes.pop(0)
            raise action_error(code, f"{dm_model.FAULT_NAMES.get(code) or UDA_ERRORS.get(code) or BMS_ERRORS.get(code) or 'Injected fault'} (injected)")


def state_of(service: UpnpServerService) -> DeviceState:
    return service.device.STATE  # type: ignore[attr-defined, union-attr]


class DMService(UpnpServerService):
    """Common base: NOTIFY failures (a CP that went away) are logged instead of failing the event task."""

    async def async_send_events(self, subscriber=None) -> None:  # type: ignore[override]
        try:
            await super().async_send_events(subscriber)
        except Exception as error:  # noqa: BLE001 - a dead callback must not break the device
            log(f"event delivery failed: {type(error).__name__}: {error}")

    def refresh(self) -> DeviceState:
        state = state_of(self)
        state.refresh_dynamic()
        return state

    def check(self, action: str) -> DeviceState:
        state = self.refresh()
        state.take_injected(action)
        return state


def cms_call(function: Callable[[], Any]) -> Any:
    try:
        return function()
    except CMSFault as error:
        raise action_error(error.code, error.description) from None


# ======================================================================================================================
# ConfigurationManagement:2
# ======================================================================================================================
S = "string"


class ConfigurationManagementService(DMService):
    SERVICE_DEFINITION = ServiceInfo(
        service_id="urn:upnp-org:serviceId:ConfigurationManagement",
        service_type=CMS_TYPE,
        control_url="/upnp/control/cms",
        event_sub_url="/upnp/event/cms",
        scpd_url="/cms.xml",
        xml=ET.Element("server_service"),
    )
    STATE_VARIABLE_DEFINITIONS = {
        "ConfigurationUpdate": create_event_var(S, default="1,2026-01-01T00:00:00Z"),
        "CurrentConfigurationVersion": create_state_var("ui4", default="1"),
        "SupportedDataModelsUpdate": create_event_var(S, default="1,2026-01-01T00:00:00Z"),
        "SupportedParametersUpdate": create_event_var(S, default="1,2026-01-01T00:00:00Z"),
        "AttributeValuesUpdate": create_event_var(S, default="0,2026-01-01T00:00:00Z"),
        "InconsistentStatus": create_event_var("boolean", default="0"),
        "AlarmsEnabled": create_event_var("boolean", default="0"),
        "A_ARG_TYPE_StructurePath": create_state_var(S),
        "A_ARG_TYPE_StructurePathList": create_state_var(S),
        "A_ARG_TYPE_PartialPath": create_state_var(S),
        "A_ARG_TYPE_ParameterValueList": create_state_var(S),
        "A_ARG_TYPE_NodeAttributeValueList": create_state_var(S),
        "A_ARG_TYPE_ParameterInitialValueList": create_state_var(S),
        "A_ARG_TYPE_Filter": create_state_var(S),
        "A_ARG_TYPE_SupportedDataModels": create_state_var(S),
        "A_ARG_TYPE_SearchDepth": create_state_var("ui4"),
        "A_ARG_TYPE_ChangeStatus": create_state_var(S, allowed=["ChangesCommitted", "ChangesApplied"]),
        "A_ARG_TYPE_InstancePathList": create_state_var(S),
        "A_ARG_TYPE_ContentPathList": create_state_var(S),
        "A_ARG_TYPE_MultiInstancePath": create_state_var(S),
        "A_ARG_TYPE_InstancePath": create_state_var(S),
        "A_ARG_TYPE_NodeAttributePathList": create_state_var(S),
        "A_ARG_TYPE_ACLDataPathList": create_state_var(S),
        "A_ARG_TYPE_ACL": create_state_var(S),
    }

    def __init__(self, requester) -> None:
        super().__init__(requester)
        self._synced = False

    def sync(self) -> DeviceState:
        """Copy the device state into the (fresh after a reboot) state variables before the first use."""
        state = state_of(self)
        if not self._synced:
            self._synced = True
            self.state_variable("CurrentConfigurationVersion").value = state.config_version
            self.state_variable("ConfigurationUpdate").value = state.config_update
        return state

    @callable_action(name="GetSupportedDataModels", in_args={},
                     out_args={"SupportedDataModels": "A_ARG_TYPE_SupportedDataModels"})
    async def get_supported_data_models(self) -> dict[str, Any]:
        state = self.check("GetSupportedDataModels")
        return {"SupportedDataModels": state.model.supported_data_models(state.location.rsplit("/", 1)[0])}

    @callable_action(name="GetSupportedParameters",
                     in_args={"StartingNode": "A_ARG_TYPE_StructurePath", "SearchDepth": "A_ARG_TYPE_SearchDepth"},
                     out_args={"Result": "A_ARG_TYPE_StructurePathList"})
    async def get_supported_parameters(self, StartingNode: str, SearchDepth: int) -> dict[str, Any]:
        state = self.check("GetSupportedParameters")
        return {"Result": cms_call(lambda: state.model.get_supported_parameters(StartingNode.strip(), SearchDepth))}

    @callable_action(name="GetInstances",
                     in_args={"StartingNode": "A_ARG_TYPE_PartialPath", "SearchDepth": "A_ARG_TYPE_SearchDepth"},
                     out_args={"Result": "A_ARG_TYPE_InstancePathList"})
    async def get_instances(self, StartingNode: str, SearchDepth: int) -> dict[str, Any]:
        state = self.check("GetInstances")
        return {"Result": cms_call(lambda: state.model.get_instances(StartingNode.strip(), SearchDepth))}

    @callable_action(name="GetValues", in_args={"Parameters": "A_ARG_TYPE_ContentPathList"},
                     out_args={"ParameterValueList": "A_ARG_TYPE_ParameterValueList"})
    async def get_values(self, Parameters: str) -> dict[str, Any]:
        state = self.check("GetValues")
        return {"ParameterValueList": cms_call(lambda: state.model.get_values(Parameters))}

    @callable_action(name="GetSelectedValues",
                     in_args={"StartingNode": "A_ARG_TYPE_StructurePath", "Filter": "A_ARG_TYPE_Filter"},
                     out_args={"ParameterValueList": "A_ARG_TYPE_ParameterValueList"})
    async def get_selected_values(self, StartingNode: str, Filter: str) -> dict[str, Any]:
        state = self.check("GetSelectedValues")
        return {"ParameterValueList": cms_call(lambda: state.model.get_selected_values(StartingNode.strip(), Filter))}

    @callable_action(name="SetValues", in_args={"ParameterValueList": "A_ARG_TYPE_ParameterValueList"},
                     out_args={"Status": "A_ARG_TYPE_ChangeStatus"})
    async def set_values(self, ParameterValueList: str) -> dict[str, Any]:
        state = self.check("SetValues")
        self.sync()
        changed = cms_call(lambda: state.model.set_values(ParameterValueList))
        # Every successful SetValues is a committed change, even when the values were already equal.
        state.configuration_changed(changed)
        return {"Status": "ChangesApplied"}

    @callable_action(name="CreateInstance",
                     in_args={"MultiInstanceName": "A_ARG_TYPE_MultiInstancePath",
                              "ChildrenInitialization": "A_ARG_TYPE_ParameterInitialValueList"},
                     out_args={"InstanceIdentifier": "A_ARG_TYPE_InstancePath", "Status": "A_ARG_TYPE_ChangeStatus"})
    async def create_instance(self, MultiInstanceName: str, ChildrenInitialization: str) -> dict[str, Any]:
        state = self.check("CreateInstance")
        self.sync()
        instance = cms_call(lambda: state.model.create_instance(MultiInstanceName.strip(), ChildrenInitialization))
        state.configuration_changed([(p, n.value) for p, n in state.model.params.items() if p.startswith(instance)])
        state.structure_changed()
        return {"InstanceIdentifier": instance, "Status": "ChangesApplied"}

    @callable_action(name="DeleteInstance", in_args={"InstanceIdentifier": "A_ARG_TYPE_InstancePath"},
                     out_args={"Status": "A_ARG_TYPE_ChangeStatus"})
    async def delete_instance(self, InstanceIdentifier: str) -> dict[str, Any]:
        state = self.check("DeleteInstance")
        self.sync()
        cms_call(lambda: state.model.delete_instance(InstanceIdentifier.strip()))
        state.configuration_changed([])
        state.structure_changed()
        return {"Status": "ChangesApplied"}

    @callable_action(name="GetAttributes", in_args={"Parameters": "A_ARG_TYPE_NodeAttributePathList"},
                     out_args={"NodeAttributeValueList": "A_ARG_TYPE_NodeAttributeValueList"})
    async def get_attributes(self, Parameters: str) -> dict[str, Any]:
        state = self.check("GetAttributes")
        return {"NodeAttributeValueList": cms_call(lambda: state.model.get_attributes(Parameters))}

    @callable_action(name="SetAttributes", in_args={"NodeAttributeValueList": "A_ARG_TYPE_NodeAttributeValueList"},
                     out_args={"Status": "A_ARG_TYPE_ChangeStatus"})
    async def set_attributes(self, NodeAttributeValueList: str) -> dict[str, Any]:
        state = self.check("SetAttributes")
        cms_call(lambda: state.model.set_attributes(NodeAttributeValueList))
        state.attribute_update_count += 1
        self.state_variable("AttributeValuesUpdate").value = f"{state.attribute_update_count},{iso()}"
        return {"Status": "ChangesApplied"}

    @callable_action(name="GetInconsistentStatus", in_args={},
                     out_args={"StateVariableValue": "InconsistentStatus"})
    async def get_inconsistent_status(self) -> dict[str, Any]:
        self.check("GetInconsistentStatus")
        return {"StateVariableValue": self.state_variable("InconsistentStatus")}

    @callable_action(name="GetConfigurationUpdate", in_args={},
                     out_args={"StateVariableValue": "ConfigurationUpdate"})
    async def get_configuration_update(self) -> dict[str, Any]:
        self.check("GetConfigurationUpdate")
        self.sync()
        return {"StateVariableValue": self.state_variable("ConfigurationUpdate")}

    @callable_action(name="GetCurrentConfigurationVersion", in_args={},
                     out_args={"StateVariableValue": "CurrentConfigurationVersion"})
    async def get_current_configuration_version(self) -> dict[str, Any]:
        self.check("GetCurrentConfigurationVersion")
        self.sync()
        return {"StateVariableValue": self.state_variable("CurrentConfigurationVersion")}

    @callable_action(name="GetSupportedDataModelsUpdate", in_args={},
                     out_args={"StateVariableValue": "SupportedDataModelsUpdate"})
    async def get_supported_data_models_update(self) -> dict[str, Any]:
        self.check("GetSupportedDataModelsUpdate")
        return {"StateVariableValue": self.state_variable("SupportedDataModelsUpdate")}

    @callable_action(name="GetSupportedParametersUpdate", in_args={},
                     out_args={"StateVariableValue": "SupportedParametersUpdate"})
    async def get_supported_parameters_update(self) -> dict[str, Any]:
        self.check("GetSupportedParametersUpdate")
        return {"StateVariableValue": self.state_variable("SupportedParametersUpdate")}

    @callable_action(name="GetAttributeValuesUpdate", in_args={},
                     out_args={"StateVariableValue": "AttributeValuesUpdate"})
    async def get_attribute_values_update(self) -> dict[str, Any]:
        self.check("GetAttributeValuesUpdate")
        return {"StateVariableValue": self.state_variable("AttributeValuesUpdate")}

    @callable_action(name="GetAlarmsEnabled", in_args={}, out_args={"StateVariableValue": "AlarmsEnabled"})
    async def get_alarms_enabled(self) -> dict[str, Any]:
        self.check("GetAlarmsEnabled")
        return {"StateVariableValue": self.state_variable("AlarmsEnabled")}

    @callable_action(name="SetAlarmsEnabled", in_args={"StateVariableValue": "AlarmsEnabled"}, out_args={})
    async def set_alarms_enabled(self, StateVariableValue: bool) -> dict[str, Any]:
        self.check("SetAlarmsEnabled")
        self.state_variable("AlarmsEnabled").value = StateVariableValue
        return {}

    @callable_action(name="GetACLData", in_args={"StartingNodes": "A_ARG_TYPE_ACLDataPathList"},
                     out_args={"ACL": "A_ARG_TYPE_ACL"})
    async def get_acl_data(self, StartingNodes: str) -> dict[str, Any]:
        # DeviceProtection is not implemented: the spec's answer for an optional action a device cannot serve.
        self.check("GetACLData")
        raise action_error(602, "Optional Action Not Implemented: no DeviceProtection on this device")


# ======================================================================================================================
# BasicManagement:2: diagnostics are simulated (no packets are sent); results depend on the host name only.
# ======================================================================================================================
class BasicManagementService(DMService):
    SERVICE_DEFINITION = ServiceInfo(
        service_id="urn:upnp-org:serviceId:BasicManagement",
        service_type=BMS_TYPE,
        control_url="/upnp/control/bms",
        event_sub_url="/upnp/event/bms",
        scpd_url="/bms.xml",
        xml=ET.Element("server_service"),
    )
    STATE_VARIABLE_DEFINITIONS = {
        "DeviceStatus": create_event_var(S, default="OK,2026-01-01T00:00:00Z"),
        "SequenceMode": create_event_var("boolean", default="0"),
        "TestIDs": create_event_var(S, default=""),
        "ActiveTestIDs": create_event_var(S, default=""),
        "A_ARG_TYPE_Boolean": create_state_var("boolean"),
        "A_ARG_TYPE_String": create_state_var(S),
        "A_ARG_TYPE_UShort": create_state_var("ui2"),
        "A_ARG_TYPE_UInt": create_state_var("ui4"),
        "A_ARG_TYPE_MSecs": create_state_var("ui4"),
        "A_ARG_TYPE_RebootStatus": create_state_var(S, allowed=["RebootNow", "RebootLater"]),
        "A_ARG_TYPE_TestID": create_state_var("ui4"),
        "A_ARG_TYPE_TestType": create_state_var(S, allowed=["BandwidthTest", "InterfaceReset", "NSLookup", "Ping",
                                                             "SelfTest", "Traceroute"]),
        "A_ARG_TYPE_TestState": create_state_var(S, allowed=["Requested", "InProgress", "Canceled", "Completed"]),
        "A_ARG_TYPE_DSCP": create_state_var("ui1", allowed_range={"min": "0", "max": "63"}),
        "A_ARG_TYPE_Host": create_state_var(S),
        "A_ARG_TYPE_Hosts": create_state_var(S),
        "A_ARG_TYPE_HostName": create_state_var(S),
        "A_ARG_TYPE_PingStatus": create_state_var(S, allowed=["Success", "Error_CannotResolveHostName",
                                                               "Error_Internal", "Error_Other"]),
        "A_ARG_TYPE_NSLookupStatus": create_state_var(S, allowed=["Success", "Error_DNSServerNotResolved",
                                                                   "Error_Internal", "Error_Other"]),
        "A_ARG_TYPE_NSLookupResult": create_state_var(S),
        "A_ARG_TYPE_TracerouteStatus": create_state_var(S, allowed=["Success", "Error_CannotResolveHostName",
                                                                     "Error_MaxHopCountExceeded", "Error_Internal",
                                                                     "Error_Other"]),
        "A_ARG_TYPE_Interfaces": create_state_var(S, allowed=["AllInterfaces", "RequestInterface",
                                                               "NorthboundInterfaces"]),
        "A_ARG_TYPE_InterfaceResetStatus": create_state_var(S, allowed=["Success", "Error"]),
    }

    def __init__(self, requester) -> None:
        super().__init__(requester)
        self._synced = False

    def sync(self) -> DeviceState:
        state = state_of(self)
        if not self._synced:
            self._synced = True
            self.state_variable("DeviceStatus").value = f"OK,{iso(state.booted_at)}"
            self.state_variable("SequenceMode").value = state.sequence_mode
            self.publish_tests()
        return state

    def publish_tests(self) -> None:
        state = state_of(self)
        self.state_variable("TestIDs").value = ",".join(str(t) for t in sorted(state.tests))
        self.state_variable("ActiveTestIDs").value = ",".join(
            str(t) for t, test in sorted(state.tests.items()) if test["state"] in ("Requested", "InProgress"))

    def start_test(self, test_type: str, result: dict[str, Any]) -> dict[str, Any]:
        """A test goes Requested → InProgress → Completed after --test-delay; its result is fixed at start."""
        state = self.sync()
        test_id = state.next_test_id
        state.next_test_id += 1
        test = {"type": test_type, "state": "Requested", "result": result}
        state.tests[test_id] = test
        self.publish_tests()
        delay = state.args.test_delay

        async def run() -> None:
            await asyncio.sleep(delay / 4)
            if test["state"] == "Requested":
                test["state"] = "InProgress"
            await asyncio.sleep(delay * 3 / 4)
            while state.held:
                await asyncio.sleep(0.01)
            if test["state"] == "InProgress":
                test["state"] = "Completed"
            service = state.service(BMS_TYPE)
            if service is not None:
                service.publish_tests()  # type: ignore[attr-defined]

        asyncio.get_running_loop().create_task(run())
        return {"TestID": test_id}

    def finished_test(self, test_id: int, test_type: str) -> dict[str, Any]:
        state = state_of(self)
        test = state.tests.get(test_id)
        if test is None:
            raise action_error(706, BMS_ERRORS[706])
        if test["type"] != test_type:
            raise action_error(707, BMS_ERRORS[707])
        if test["state"] != "Completed":
            raise action_error(708, BMS_ERRORS[708])
        return test["result"]

    @staticmethod
    def resolvable(host: str) -> bool:
        return bool(host.strip()) and not host.strip().endswith(".invalid")

    @callable_action(name="Reboot", in_args={}, out_args={"RebootStatus": "A_ARG_TYPE_RebootStatus"})
    async def reboot(self) -> dict[str, Any]:
        state = self.check("Reboot")
        # While a software operation is running the reboot is deferred until it ends (RebootLater).
        busy = any(op["state"] in ("Requested", "InProgress") for op in state.operations.values())
        state.reboot_pending = True
        if not busy:
            asyncio.get_running_loop().call_later(0.2, lambda: asyncio.ensure_future(RUNTIME.reboot(state)))
        return {"RebootStatus": "RebootLater" if busy else "RebootNow"}

    @callable_action(name="BaselineReset", in_args={}, out_args={})
    async def baseline_reset(self) -> dict[str, Any]:
        state = self.check("BaselineReset")
        state.model.reset()
        state.configuration_changed([])
        # A factory reset restarts the device, as real ones do.
        asyncio.get_running_loop().call_later(0.2, lambda: asyncio.ensure_future(RUNTIME.reboot(state)))
        return {}

    @callable_action(name="GetDeviceStatus", in_args={}, out_args={"DeviceStatus": "DeviceStatus"})
    async def get_device_status(self) -> dict[str, Any]:
        self.check("GetDeviceStatus")
        self.sync()
        return {"DeviceStatus": self.state_variable("DeviceStatus")}

    @callable_action(name="SetSequenceMode", in_args={"NewSequenceMode": "SequenceMode"},
                     out_args={"OldSequenceMode": "SequenceMode"})
    async def set_sequence_mode(self, NewSequenceMode: bool) -> dict[str, Any]:
        state = self.check("SetSequenceMode")
        self.sync()
        old = state.sequence_mode
        state.sequence_mode = NewSequenceMode
        self.state_variable("SequenceMode").value = NewSequenceMode
        return {"OldSequenceMode": old}

    @callable_action(name="GetSequenceMode", in_args={}, out_args={"SequenceMode": "SequenceMode"})
    async def get_sequence_mode(self) -> dict[str, Any]:
        self.check("GetSequenceMode")
        self.sync()
        return {"SequenceMode": self.state_variable("SequenceMode")}

    @callable_action(name="Ping",
                     in_args={"Host": "A_ARG_TYPE_Host", "NumberOfRepetitions": "A_ARG_TYPE_UInt",
                              "Timeout": "A_ARG_TYPE_MSecs", "DataBlockSize": "A_ARG_TYPE_UShort",
                              "DSCP": "A_ARG_TYPE_DSCP"},
                     out_args={"TestID": "A_ARG_TYPE_TestID"})
    async def ping(self, Host: str, NumberOfRepetitions: int, Timeout: int, DataBlockSize: int,
                   DSCP: int) -> dict[str, Any]:
        self.check("Ping")
        if not Host.strip():
            raise action_error(402, "Invalid Args: Host is empty")
        repetitions = NumberOfRepetitions or 1
        if not self.resolvable(Host):
            result = {"Status": "Error_CannotResolveHostName", "AdditionalInfo": f"cannot resolve {Host}",
                      "SuccessCount": 0, "FailureCount": 0, "AverageResponseTime": 0,
                      "MinimumResponseTime": 0, "MaximumResponseTime": 0}
        elif Host.strip().startswith("unreachable"):
            result = {"Status": "Success", "AdditionalInfo": "no replies", "SuccessCount": 0,
                      "FailureCount": repetitions, "AverageResponseTime": 0, "MinimumResponseTime": 0,
                      "MaximumResponseTime": 0}
        else:
            result = {"Status": "Success", "AdditionalInfo": "", "SuccessCount": repetitions, "FailureCount": 0,
                      "AverageResponseTime": 2, "MinimumResponseTime": 1, "MaximumResponseTime": 3}
        return self.start_test("Ping", result)

    @callable_action(name="GetPingResult", in_args={"TestID": "A_ARG_TYPE_TestID"},
                     out_args={"Status": "A_ARG_TYPE_PingStatus", "AdditionalInfo": "A_ARG_TYPE_String",
                               "SuccessCount": "A_ARG_TYPE_UInt", "FailureCount": "A_ARG_TYPE_UInt",
                               "AverageResponseTime": "A_ARG_TYPE_MSecs", "MinimumResponseTime": "A_ARG_TYPE_MSecs",
                               "MaximumResponseTime": "A_ARG_TYPE_MSecs"})
    async def get_ping_result(self, TestID: int) -> dict[str, Any]:
        self.check("GetPingResult")
        return dict(self.finished_test(TestID, "Ping"))

    @callable_action(name="NSLookup",
                     in_args={"HostName": "A_ARG_TYPE_HostName", "DNSServer": "A_ARG_TYPE_Host",
                              "NumberOfRepetitions": "A_ARG_TYPE_UInt", "Timeout": "A_ARG_TYPE_MSecs"},
                     out_args={"TestID": "A_ARG_TYPE_TestID"})
    async def ns_lookup(self, HostName: str, DNSServer: str, NumberOfRepetitions: int, Timeout: int) -> dict[str, Any]:
        self.check("NSLookup")
        repetitions = NumberOfRepetitions or 1
        if DNSServer.strip().endswith(".invalid"):
            result = {"Status": "Error_DNSServerNotResolved", "AdditionalInfo": f"cannot resolve {DNSServer}",
                      "SuccessCount": 0, "Result": ""}
        else:
            ok = self.resolvable(HostName)
            answers = ET.Element("NSLookupResult")  # [R] element names: the spec text was not available
            for _ in range(repetitions):
                answer = ET.SubElement(answers, "Result")
                ET.SubElement(answer, "Status").text = "Success" if ok else "Error_HostNameNotResolved"
                ET.SubElement(answer, "AnswerType").text = "Authoritative" if ok else "None"
                ET.SubElement(answer, "HostNameReturned").text = HostName if ok else ""
                ET.SubElement(answer, "IPAddresses").text = "192.0.2.10" if ok else ""
                ET.SubElement(answer, "DNSServerIP").text = DNSServer or "10.77.0.1"
                ET.SubElement(answer, "ResponseTime").text = "3"
            result = {"Status": "Success", "AdditionalInfo": "", "SuccessCount": repetitions if ok else 0,
                      "Result": ET.tostring(answers, encoding="unicode")}
        return self.start_test("NSLookup", result)

    @callable_action(name="GetNSLookupResult", in_args={"TestID": "A_ARG_TYPE_TestID"},
                     out_args={"Status": "A_ARG_TYPE_NSLookupStatus", "AdditionalInfo": "A_ARG_TYPE_String",
                               "SuccessCount": "A_ARG_TYPE_UInt", "Result": "A_ARG_TYPE_NSLookupResult"})
    async def get_ns_lookup_result(self, TestID: int) -> dict[str, Any]:
        self.check("GetNSLookupResult")
        return dict(self.finished_test(TestID, "NSLookup"))

    @callable_action(name="Traceroute",
                     in_args={"Host": "A_ARG_TYPE_Host", "Timeout": "A_ARG_TYPE_MSecs",
                              "DataBlockSize": "A_ARG_TYPE_UShort", "MaxHopCount": "A_ARG_TYPE_UInt",
                              "DSCP": "A_ARG_TYPE_DSCP"},
                     out_args={"TestID": "A_ARG_TYPE_TestID"})
    async def traceroute(self, Host: str, Timeout: int, DataBlockSize: int, MaxHopCount: int,
                         DSCP: int) -> dict[str, Any]:
        self.check("Traceroute")
        hops = ["10.77.0.1", "198.51.100.1", "203.0.113.7"]
        if not self.resolvable(Host):
            result = {"Status": "Error_CannotResolveHostName", "AdditionalInfo": f"cannot resolve {Host}",
                      "ResponseTime": 0, "HopHosts": ""}
        elif MaxHopCount and MaxHopCount < len(hops):
            result = {"Status": "Error_MaxHopCountExceeded", "AdditionalInfo": "",
                      "ResponseTime": 0, "HopHosts": ",".join(hops[:MaxHopCount])}
        else:
            result = {"Status": "Success", "AdditionalInfo": "", "ResponseTime": 9, "HopHosts": ",".join(hops)}
        return self.start_test("Traceroute", result)

    @callable_action(name="GetTracerouteResult", in_args={"TestID": "A_ARG_TYPE_TestID"},
                     out_args={"Status": "A_ARG_TYPE_TracerouteStatus", "AdditionalInfo": "A_ARG_TYPE_String",
                               "ResponseTime": "A_ARG_TYPE_MSecs", "HopHosts": "A_ARG_TYPE_Hosts"})
    async def get_traceroute_result(self, TestID: int) -> dict[str, Any]:
        self.check("GetTracerouteResult")
        return dict(self.finished_test(TestID, "Traceroute"))

    @callable_action(name="InterfaceReset", in_args={"Interfaces": "A_ARG_TYPE_Interfaces"},
                     out_args={"TestID": "A_ARG_TYPE_TestID"})
    async def interface_reset(self, Interfaces: str) -> dict[str, Any]:
        self.check("InterfaceReset")
        return self.start_test("InterfaceReset", {"Status": "Success", "AdditionalInfo": Interfaces,
                                                  "NumberOfSuccesses": 2, "NumberOfFailures": 0})

    @callable_action(name="GetInterfaceResetResult", in_args={"TestID": "A_ARG_TYPE_TestID"},
                     out_args={"Status": "A_ARG_TYPE_InterfaceResetStatus", "AdditionalInfo": "A_ARG_TYPE_String",
                               "NumberOfSuccesses": "A_ARG_TYPE_UShort", "NumberOfFailures": "A_ARG_TYPE_UShort"})
    async def get_interface_reset_result(self, TestID: int) -> dict[str, Any]:
        self.check("GetInterfaceResetResult")
        return dict(self.finished_test(TestID, "InterfaceReset"))

    @callable_action(name="SelfTest", in_args={}, out_args={"TestID": "A_ARG_TYPE_TestID"})
    async def self_test(self) -> dict[str, Any]:
        self.check("SelfTest")
        return self.start_test("SelfTest", {"Status": True, "AdditionalInfo": "all subsystems OK"})

    @callable_action(name="GetSelfTestResult", in_args={"TestID": "A_ARG_TYPE_TestID"},
                     out_args={"Status": "A_ARG_TYPE_Boolean", "AdditionalInfo": "A_ARG_TYPE_String"})
    async def get_self_test_result(self, TestID: int) -> dict[str, Any]:
        self.check("GetSelfTestResult")
        return dict(self.finished_test(TestID, "SelfTest"))

    @callable_action(name="GetTestIDs", in_args={}, out_args={"TestIDs": "TestIDs"})
    async def get_test_ids(self) -> dict[str, Any]:
        self.check("GetTestIDs")
        self.sync()
        return {"TestIDs": self.state_variable("TestIDs")}

    @callable_action(name="GetActiveTestIDs", in_args={}, out_args={"TestIDs": "ActiveTestIDs"})
    async def get_active_test_ids(self) -> dict[str, Any]:
        self.check("GetActiveTestIDs")
        self.sync()
        return {"TestIDs": self.state_variable("ActiveTestIDs")}

    @callable_action(name="GetTestInfo", in_args={"TestID": "A_ARG_TYPE_TestID"},
                     out_args={"Type": "A_ARG_TYPE_TestType", "State": "A_ARG_TYPE_TestState"})
    async def get_test_info(self, TestID: int) -> dict[str, Any]:
        state = self.check("GetTestInfo")
        test = state.tests.get(TestID)
        if test is None:
            raise action_error(706, BMS_ERRORS[706])
        return {"Type": test["type"], "State": test["state"]}

    @callable_action(name="CancelTest", in_args={"TestID": "A_ARG_TYPE_TestID"}, out_args={})
    async def cancel_test(self, TestID: int) -> dict[str, Any]:
        state = self.check("CancelTest")
        test = state.tests.get(TestID)
        if test is None:
            raise action_error(706, BMS_ERRORS[706])
        if test["state"] not in ("Requested", "InProgress"):
            raise action_error(709, BMS_ERRORS[709])
        test["state"] = "Canceled"
        self.sync()
        self.publish_tests()
        return {}


# ======================================================================================================================
# SoftwareManagement:2: operations are simulated and end after --operation-delay.
# ======================================================================================================================
class SoftwareManagementService(DMService):
    SERVICE_DEFINITION = ServiceInfo(
        service_id="urn:upnp-org:serviceId:SoftwareManagement",
        service_type=SMS_TYPE,
        control_url="/upnp/control/sms",
        event_sub_url="/upnp/event/sms",
        scpd_url="/sms.xml",
        xml=ET.Element("server_service"),
    )
    STATE_VARIABLE_DEFINITIONS = {
        "OperationIDs": create_event_var(S, default=""),
        "DUIDs": create_event_var(S, default=""),
        "EUIDs": create_event_var(S, default=""),
        "ActiveEUIDs": create_event_var(S, default=""),
        "RunningEUIDs": create_event_var(S, default=""),
        "ErrorEUIDs": create_event_var(S, default=""),
        "A_ARG_TYPE_Boolean": create_state_var("boolean"),
        "A_ARG_TYPE_String": create_state_var(S),
        "A_ARG_TYPE_ID": create_state_var("ui4"),
        "A_ARG_TYPE_IDs": create_state_var(S),
        "A_ARG_TYPE_OperationState": create_state_var(S, allowed=["Requested", "InProgress", "Completed", "Error"]),
        "A_ARG_TYPE_URI": create_state_var("uri"),
        "A_ARG_TYPE_Action": create_state_var(S, allowed=["Install", "Update", "Uninstall", "Start", "Stop"]),
        "A_ARG_TYPE_ErrorDescription": create_state_var(S, allowed=[
            "Error_None", "Error_ConcurrentAccess", "Error_MissingDependency", "Error_Network", "Error_CorruptedFile",
            "Error_DiskFull", "Error_Other"]),
        "A_ARG_TYPE_DUType": create_state_var(S, allowed=["Firmware", "Application", "Configuration", "Other"]),
        "A_ARG_TYPE_Name": create_state_var(S),
        "A_ARG_TYPE_Version": create_state_var(S),
        "A_ARG_TYPE_DUState": create_state_var(S, allowed=["Installing", "Unresolved", "Installed", "Uninstalling",
                                                           "Uninstalled"]),
        "A_ARG_TYPE_EURequestedState": create_state_var(S, allowed=["Active", "Inactive"]),
        "A_ARG_TYPE_EURunningState": create_state_var(S, allowed=["Running", "Stopped", "Starting", "Stopping"]),
        "A_ARG_TYPE_ACL": create_state_var(S),
    }

    def __init__(self, requester) -> None:
        super().__init__(requester)
        self._synced = False

    def sync(self) -> DeviceState:
        state = state_of(self)
        if not self._synced:
            self._synced = True
            self.publish()
        return state

    def publish(self) -> None:
        """The evented ID lists. OperationIDs lists the operations not yet finished ([R]: the spec text was not
        available); GetOperationInfo answers for finished ones too."""
        state = state_of(self)
        ids = lambda items: ",".join(str(i) for i in sorted(items))  # noqa: E731
        self.state_variable("OperationIDs").value = ids(
            i for i, op in state.operations.items() if op["state"] in ("Requested", "InProgress"))
        self.state_variable("DUIDs").value = ids(state.dus)
        self.state_variable("EUIDs").value = ids(state.eus)
        self.state_variable("ActiveEUIDs").value = ids(i for i, eu in state.eus.items() if eu["requested"] == "Active")
        self.state_variable("RunningEUIDs").value = ids(i for i, eu in state.eus.items() if eu["running"] == "Running")
        self.state_variable("ErrorEUIDs").value = ids(i for i, eu in state.eus.items() if eu.get("error"))

    @staticmethod
    def version_of(uri: str) -> str:
        match = re.search(r"-(\d+(?:\.\d+)*)(?:\.[A-Za-z]+)?$", urlparse(uri).path)
        return match.group(1) if match else "1.0"

    @staticmethod
    def uri_error(uri: str) -> str | None:
        """Simulated transfer outcome, chosen by the URI so tests can name it."""
        parsed = urlparse(uri)
        if parsed.scheme not in ("http", "https", "ftp", "file"):
            return "Error_Network"
        if "notfound" in uri:
            return "Error_Network"
        if "corrupt" in uri:
            return "Error_CorruptedFile"
        if "diskfull" in uri:
            return "Error_DiskFull"
        return None

    def operation(self, action: str, targets: list[int], work: Callable[[dict], str | None]) -> dict[str, Any]:
        """Requested → InProgress → Completed/Error after --operation-delay; `work` applies the change at the end
        and returns an ErrorDescription or None."""
        state = self.sync()
        op_id = state.next_operation_id
        state.next_operation_id += 1
        op = {"state": "Requested", "action": action, "targets": targets, "error": "Error_None", "info": ""}
        busy = any(o["state"] in ("Requested", "InProgress") and set(o["targets"]) & set(targets) and targets
                   for o in state.operations.values())
        state.operations[op_id] = op
        self.publish()
        delay = state.args.operation_delay

        async def run() -> None:
            await asyncio.sleep(delay / 4)
            op["state"] = "InProgress"
            await asyncio.sleep(delay * 3 / 4)
            while state.held:
                await asyncio.sleep(0.01)
            error = "Error_ConcurrentAccess" if busy else work(op)
            op["state"] = "Error" if error else "Completed"
            op["error"] = error or "Error_None"
            service = state.service(SMS_TYPE)
            if service is not None:
                service.publish()  # type: ignore[attr-defined]
            if state.reboot_pending and not any(o["state"] in ("Requested", "InProgress")
                                                for o in state.operations.values()):
                await RUNTIME.reboot(state)

        asyncio.get_running_loop().create_task(run())
        return {"OperationID": op_id}

    def du(self, du_id: int) -> dict[str, Any]:
        du = state_of(self).dus.get(du_id)
        if du is None:
            raise action_error(600, f"Argument Value Invalid: no deployment unit {du_id}")
        return du

    def eu(self, eu_id: int) -> dict[str, Any]:
        eu = state_of(self).eus.get(eu_id)
        if eu is None:
            raise action_error(600, f"Argument Value Invalid: no execution unit {eu_id}")
        return eu

    @callable_action(name="Install",
                     in_args={"DUURI": "A_ARG_TYPE_URI", "DUType": "A_ARG_TYPE_DUType",
                              "HandleDependencies": "A_ARG_TYPE_Boolean"},
                     out_args={"OperationID": "A_ARG_TYPE_ID"})
    async def install(self, DUURI: str, DUType: str, HandleDependencies: bool) -> dict[str, Any]:
        state = self.check("Install")
        if not DUURI.strip():
            raise action_error(600, "Argument Value Invalid: DUURI is empty")
        if DUType == "Firmware":
            # A firmware image replaces DU 1 and the device restarts into it (BOOTID+1), as a real upgrade does.
            def work(op: dict) -> str | None:
                if error := self.uri_error(DUURI):
                    return error
                firmware = state.dus[1]
                firmware.update(version=self.version_of(DUURI), uri=DUURI)
                for path in ("/UPnP/DM/DeviceInfo/SoftwareVersion", "/BBF/DeviceInfo/SoftwareVersion"):
                    state.model.params[path].value = firmware["version"]
                state.configuration_changed([])
                state.reboot_pending = True
                return None
            return self.operation("Install", [1], work)

        du_id = state.next_du
        state.next_du += 1

        def work(op: dict) -> str | None:
            if error := self.uri_error(DUURI):
                return error
            name = os.path.basename(urlparse(DUURI).path).split("-")[0] or f"du{du_id}"
            eu_id = state.next_eu
            state.next_eu += 1
            state.dus[du_id] = {"name": name, "version": self.version_of(DUURI), "type": DUType,
                                "state": "Installed", "uri": DUURI, "eus": [eu_id]}
            state.eus[eu_id] = {"name": f"{name}-daemon", "version": self.version_of(DUURI), "requested": "Inactive",
                                "running": "Stopped", "du": du_id, "crashes": "crash" in DUURI}
            op["targets"] = [du_id]
            op["info"] = f"EUIDs={eu_id}"
            return None
        return self.operation("Install", [], work)

    @callable_action(name="Update",
                     in_args={"DUID": "A_ARG_TYPE_ID", "NewDUURI": "A_ARG_TYPE_URI",
                              "HandleDependencies": "A_ARG_TYPE_Boolean"},
                     out_args={"OperationID": "A_ARG_TYPE_ID"})
    async def update(self, DUID: int, NewDUURI: str, HandleDependencies: bool) -> dict[str, Any]:
        state = self.check("Update")
        du = self.du(DUID)
        uri = NewDUURI.strip() or du["uri"]

        def work(op: dict) -> str | None:
            if error := self.uri_error(uri):
                return error
            du.update(version=self.version_of(uri), uri=uri)
            for eu_id in du.get("eus", []):
                state.eus[eu_id]["version"] = du["version"]
            if du["type"] == "Firmware":
                state.reboot_pending = True
            return None
        return self.operation("Update", [DUID], work)

    @callable_action(name="Uninstall", in_args={"DUID": "A_ARG_TYPE_ID", "HandleDependencies": "A_ARG_TYPE_Boolean"},
                     out_args={"OperationID": "A_ARG_TYPE_ID"})
    async def uninstall(self, DUID: int, HandleDependencies: bool) -> dict[str, Any]:
        state = self.check("Uninstall")
        du = self.du(DUID)
        du["state"] = "Uninstalling" if du["type"] != "Firmware" else du["state"]

        def work(op: dict) -> str | None:
            if du["type"] == "Firmware":
                op["info"] = "the firmware cannot be uninstalled"
                return "Error_Other"
            for eu_id in du.get("eus", []):
                state.eus.pop(eu_id, None)
            del state.dus[DUID]
            return None
        return self.operation("Uninstall", [DUID], work)

    @callable_action(name="Start", in_args={"EUID": "A_ARG_TYPE_ID", "HandleDependencies": "A_ARG_TYPE_Boolean"},
                     out_args={"OperationID": "A_ARG_TYPE_ID"})
    async def start(self, EUID: int, HandleDependencies: bool) -> dict[str, Any]:
        self.check("Start")
        eu = self.eu(EUID)
        eu["requested"] = "Active"
        eu["running"] = "Starting"

        def work(op: dict) -> str | None:
            if eu.get("crashes"):
                eu["running"] = "Stopped"
                eu["error"] = True
                op["info"] = "the execution unit exited at start"
                return "Error_Other"
            eu["running"] = "Running"
            return None
        return self.operation("Start", [EUID], work)

    @callable_action(name="Stop", in_args={"EUID": "A_ARG_TYPE_ID", "HandleDependencies": "A_ARG_TYPE_Boolean"},
                     out_args={"OperationID": "A_ARG_TYPE_ID"})
    async def stop(self, EUID: int, HandleDependencies: bool) -> dict[str, Any]:
        self.check("Stop")
        eu = self.eu(EUID)
        eu["requested"] = "Inactive"
        eu["running"] = "Stopping"

        def work(op: dict) -> str | None:
            eu["running"] = "Stopped"
            eu.pop("error", None)
            return None
        return self.operation("Stop", [EUID], work)

    def _ids(self, name: str, variable: str) -> dict[str, Any]:
        self.check(name)
        self.sync()
        return {variable: self.state_variable(variable)}

    @callable_action(name="GetDUIDs", in_args={}, out_args={"DUIDs": "DUIDs"})
    async def get_du_ids(self) -> dict[str, Any]:
        return self._ids("GetDUIDs", "DUIDs")

    @callable_action(name="GetEUIDs", in_args={}, out_args={"EUIDs": "EUIDs"})
    async def get_eu_ids(self) -> dict[str, Any]:
        return self._ids("GetEUIDs", "EUIDs")

    @callable_action(name="GetActiveEUIDs", in_args={}, out_args={"ActiveEUIDs": "ActiveEUIDs"})
    async def get_active_eu_ids(self) -> dict[str, Any]:
        return self._ids("GetActiveEUIDs", "ActiveEUIDs")

    @callable_action(name="GetRunningEUIDs", in_args={}, out_args={"RunningEUIDs": "RunningEUIDs"})
    async def get_running_eu_ids(self) -> dict[str, Any]:
        return self._ids("GetRunningEUIDs", "RunningEUIDs")

    @callable_action(name="GetErrorEUIDs", in_args={}, out_args={"ErrorEUIDs": "ErrorEUIDs"})
    async def get_error_eu_ids(self) -> dict[str, Any]:
        return self._ids("GetErrorEUIDs", "ErrorEUIDs")

    @callable_action(name="GetOperationIDs", in_args={}, out_args={"OperationIDs": "OperationIDs"})
    async def get_operation_ids(self) -> dict[str, Any]:
        return self._ids("GetOperationIDs", "OperationIDs")

    @callable_action(name="GetOperationInfo", in_args={"OperationID": "A_ARG_TYPE_ID"},
                     out_args={"OperationState": "A_ARG_TYPE_OperationState", "TargetedIDs": "A_ARG_TYPE_IDs",
                               "Action": "A_ARG_TYPE_Action", "ErrorDescription": "A_ARG_TYPE_ErrorDescription",
                               "AdditionalInfo": "A_ARG_TYPE_String"})
    async def get_operation_info(self, OperationID: int) -> dict[str, Any]:
        state = self.check("GetOperationInfo")
        op = state.operations.get(OperationID)
        if op is None:
            raise action_error(600, f"Argument Value Invalid: no operation {OperationID}")
        return {"OperationState": op["state"], "TargetedIDs": ",".join(str(t) for t in op["targets"]),
                "Action": op["action"], "ErrorDescription": op["error"], "AdditionalInfo": op["info"]}

    @callable_action(name="GetDUInfo", in_args={"DUID": "A_ARG_TYPE_ID"},
                     out_args={"DUName": "A_ARG_TYPE_Name", "DUVersion": "A_ARG_TYPE_Version",
                               "DUType": "A_ARG_TYPE_DUType", "DUState": "A_ARG_TYPE_DUState",
                               "DUURI": "A_ARG_TYPE_URI"})
    async def get_du_info(self, DUID: int) -> dict[str, Any]:
        self.check("GetDUInfo")
        du = self.du(DUID)
        return {"DUName": du["name"], "DUVersion": du["version"], "DUType": du["type"], "DUState": du["state"],
                "DUURI": du["uri"]}

    @callable_action(name="GetEUInfo", in_args={"EUID": "A_ARG_TYPE_ID"},
                     out_args={"EUName": "A_ARG_TYPE_Name", "EUVersion": "A_ARG_TYPE_Version",
                               "EURequestedState": "A_ARG_TYPE_EURequestedState",
                               "EURunningState": "A_ARG_TYPE_EURunningState"})
    async def get_eu_info(self, EUID: int) -> dict[str, Any]:
        self.check("GetEUInfo")
        eu = self.eu(EUID)
        return {"EUName": eu["name"], "EUVersion": eu["version"], "EURequestedState": eu["requested"],
                "EURunningState": eu["running"]}

    @callable_action(name="GetACLData", in_args={}, out_args={"ACL": "A_ARG_TYPE_ACL"})
    async def get_acl_data(self) -> dict[str, Any]:
        self.check("GetACLData")
        raise action_error(602, "Optional Action Not Implemented: no DeviceProtection on this device")


def device_class(state: DeviceState) -> type[UpnpServerDevice]:
    """A UpnpServerDevice subclass per device: async-upnp-client takes the description from class attributes.
    With --embedded the ManageableDevice:2 is the embedded device of a Basic:1 root (its own UDN)."""
    def info(device_type: str, name: str, udn: str, serial: str) -> DeviceInfo:
        return DeviceInfo(device_type=device_type, friendly_name=name, manufacturer="cwmp-proxy test lab",
                          manufacturer_url="http://example.org/",
                          model_description="UPnP DM test device (async-upnp-client)", model_name="DM-Sim",
                          model_number="2", model_url="http://example.org/dm-sim", serial_number=serial, udn=udn,
                          upc=None, presentation_url=None, url="/device.xml", icons=[],
                          xml=ET.Element("server_device"))
    manageable = type(f"ManageableDevice{state.index}", (UpnpServerDevice,), {
        "DEVICE_DEFINITION": info(DEVICE_TYPE, state.friendly_name, state.udn, state.serial),
        "EMBEDDED_DEVICES": [],
        "SERVICES": [ConfigurationManagementService, BasicManagementService, SoftwareManagementService],
        "STATE": state,
    })
    if not state.args.embedded:
        return manageable
    return type(f"RootDevice{state.index}", (UpnpServerDevice,), {
        "DEVICE_DEFINITION": info(ROOT_TYPE, f"DM gateway {state.index}", state.root_udn, f"GW{state.serial}"),
        "EMBEDDED_DEVICES": [manageable],
        "SERVICES": [],
        "STATE": state,
    })


# ======================================================================================================================
# SSDP: announcer and responder that honour the control commands. The announcer sends the whole 3+2d+k set every
# --announce-interval (async-upnp-client itself sends one message per 30 s, which is too slow for a lease test).
# ======================================================================================================================
class DMAnnouncer(SsdpAdvertisementAnnouncer):
    def __init__(self, *args: Any, state: DeviceState, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.state = state

    def _announce_next(self) -> None:
        assert self._transport
        if not self.state.silenced:
            protocol = self._transport.get_protocol()
            for headers in aserver._build_advertisements(self.target, self.device):
                protocol.send_ssdp_packet(build_ssdp_packet("NOTIFY * HTTP/1.1", headers), self.target)
        self._cancel_announce = self._loop.call_later(self.state.args.announce_interval, self._announce_next)

    def send_byebyes(self) -> None:
        self._send_byebyes()

    def send_updates(self, next_boot_id: int) -> None:
        """The ssdp:update set (UDA 1.1 §1.2.4): current BOOTID plus NEXTBOOTID.UPNP.ORG."""
        assert self._transport
        protocol = self._transport.get_protocol()
        for headers in aserver._build_advertisements(self.target, self.device, NotificationSubType.SSDP_UPDATE):
            headers["NEXTBOOTID.UPNP.ORG"] = str(next_boot_id)
            del headers["CACHE-CONTROL"]
            del headers["SERVER"]
            protocol.send_ssdp_packet(build_ssdp_packet("NOTIFY * HTTP/1.1", headers), self.target)


class DMResponder(SsdpSearchResponder):
    def __init__(self, *args: Any, state: DeviceState, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.state = state

    def _on_data(self, request_line: str, headers: Any) -> None:
        if not self.state.silenced:
            super()._on_data(request_line, headers)

    # async-upnp-client answers for an embedded device with the root's UDN in the USN (upnp-testbed.md §2 pitfall
    # 6); UDA 1.1 §1.3.3 wants the embedded device's own UDN.
    def _build_responses_device_udn(self, device: Any) -> bytes:
        return self._build_response(device.udn, device.udn)

    def _build_responses_device_type(self, device: Any, device_type: str | None = None) -> bytes:
        return self._build_response(device_type or device.device_type, f"{device.udn}::{device.device_type}")

    def _build_responses_service(self, service: Any, service_type: str | None = None) -> bytes:
        return self._build_response(service_type or service.service_type,
                                    f"{service.device.udn}::{service.service_type}")

    async def async_stop(self) -> None:
        await super().async_stop()
        if self._response_transport:
            self._response_transport.close()


class DMServer(UpnpServer):
    def __init__(self, *args: Any, state: DeviceState, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.state = state

    async def _async_start_ssdp(self) -> None:
        assert self._device
        self._search_responder = DMResponder(self._device, source=self.source, target=self.target, state=self.state)
        self._advertisement_announcer = DMAnnouncer(self._device, source=self.source, target=self.target,
                                                    state=self.state)
        await self._search_responder.async_start()
        await self._advertisement_announcer.async_start()

    def send_byebyes(self) -> None:
        if self._advertisement_announcer:
            self._advertisement_announcer.send_byebyes()  # type: ignore[attr-defined]

    @property
    def device(self) -> UpnpServerDevice | None:
        return self._device


# ======================================================================================================================
# UDA compliance patches (upnp-testbed.md §2 pitfalls 1-3), on unless --no-patches.
# ======================================================================================================================
def apply_uda_patches() -> None:
    # 1. SID must be `uuid:…` (GUPnP rejects NOTIFYs without the prefix with 412).
    aserver.EventSubscriber.uuid = property(lambda self: f"uuid:{self._uuid}")  # type: ignore[assignment]
    # 2. TIMEOUT must be `Second-N`; header errors per UDA 1.1 §4.1.2; expired SIDs are unknown.
    aserver.subscribe_handler = subscribe_handler
    # 3. Unknown action/argument → SOAP faults 401/402; errorDescription carries the real text.
    aserver.action_handler = action_handler


async def subscribe_handler(service: UpnpServerService, request: Request) -> Response:
    callback = request.headers.get("CALLBACK")
    nt = request.headers.get("NT")
    sid = request.headers.get("SID")
    timeout_header = request.headers.get("TIMEOUT")
    state = state_of(service)
    requested = None
    if timeout_header:
        match = re.fullmatch(r"\s*Second-(\d+|infinite)\s*", timeout_header, re.IGNORECASE)
        if match and match.group(1).isdigit():
            requested = int(match.group(1))
    granted = min(requested or state.args.max_subscription_timeout, state.args.max_subscription_timeout)
    if sid:
        if callback or nt:
            return Response(status=400, reason="SID with CALLBACK or NT")
        subscriber = service.get_subscriber(sid)
        if subscriber is None or subscriber.expiration < datetime.now():
            if subscriber is not None:
                service.del_subscriber(sid)
            return Response(status=412, reason="Precondition Failed")
        subscriber.timeout = granted
    else:
        if nt != "upnp:event":
            return Response(status=412, reason="NT must be upnp:event")
        urls = re.findall(r"<([^>]+)>", callback or "")
        if not urls or not urls[0].startswith("http://"):
            return Response(status=412, reason="missing or invalid CALLBACK")
        subscriber = aserver.EventSubscriber(urls[0], granted)
    headers = {"DATE": aserver.format_date_time(time.time()), "SERVER": aserver.HEADER_SERVER,
               "SID": subscriber.uuid, "TIMEOUT": f"Second-{subscriber.timeout}", "CONTENT-LENGTH": "0"}
    response = Response(status=200, headers=headers)
    if not sid:
        await response.prepare(request)
        await response.write_eof()
        service.add_subscriber(subscriber)
        await service.async_send_events(subscriber)  # the initial event, SEQ 0
    return response


def fault_response(code: int, description: str) -> Response:
    envelope = ET.Element("s:Envelope", {"xmlns:s": aserver.NAMESPACES["s"],
                                         "s:encodingStyle": aserver.NAMESPACES["es"]})
    body = ET.SubElement(envelope, "s:Body")
    fault_element = ET.SubElement(body, "s:Fault")
    ET.SubElement(fault_element, "faultcode").text = "s:Client"
    ET.SubElement(fault_element, "faultstring").text = "UPnPError"
    detail = ET.SubElement(fault_element, "detail")
    error = ET.SubElement(detail, "UPnPError", xmlns="urn:schemas-upnp-org:control-1-0")
    ET.SubElement(error, "errorCode").text = str(code)
    ET.SubElement(error, "errorDescription").text = description
    return Response(status=500, content_type="text/xml", charset="utf-8",
                    body=ET.tostring(envelope, encoding="utf-8", xml_declaration=True))


async def action_handler(service: UpnpServerService, request: Request) -> Response:
    try:
        action_name, kwargs = await aserver._parse_action_body(service, request)
    except HTTPBadRequest as error:
        if error.reason == "InvalidAction":
            return fault_response(401, "Invalid Action")
        if error.reason == "InvalidActionArgument":
            return fault_response(402, "Invalid Args: unknown argument")
        return fault_response(402, f"Invalid Args: {error.reason}")
    except (ValueError, TypeError) as error:  # an argument that does not convert to its state variable's type
        return fault_response(402, f"Invalid Args: {error}")
    action = service.action(action_name)
    missing = [arg.name for arg in action.in_arguments() if arg.name not in kwargs]
    if missing:
        return fault_response(402, f"Invalid Args: missing {', '.join(missing)}")
    try:
        result = await service.async_handle_action(action_name, **kwargs)
    except UpnpActionError as error:
        code = error.error_code or 501
        return fault_response(code, error.error_desc or UDA_ERRORS.get(code, "Action Failed"))
    except UpnpValueError as error:
        return fault_response(600, f"Argument Value Invalid: {error}")
    except UpnpError as error:
        return fault_response(402, f"Invalid Args: {error}")
    return aserver._create_action_response(service, action_name, result)


# ======================================================================================================================
# The process: N devices, the control commands, reboots.
# ======================================================================================================================
class Runtime:
    def __init__(self) -> None:
        self.devices: list[DeviceState] = []
        self.stopping = asyncio.Event()

    async def start(self, state: DeviceState) -> None:
        server = DMServer(device_class(state), source=state.source, http_port=state.port,
                          boot_id=state.boot_id, config_id=state.config_id, state=state)
        await server.async_start()
        state.server = server
        state.device = server.device
        state.booted_at = time.time()
        for service_type in (CMS_TYPE, BMS_TYPE, SMS_TYPE):
            state.service(service_type).sync()  # type: ignore[union-attr]

    async def stop(self, state: DeviceState) -> None:
        if state.server:
            server, state.server, state.device = state.server, None, None
            await server.async_stop()  # byebye set, then the HTTP site closes

    async def reboot(self, state: DeviceState, downtime: float | None = None) -> None:
        """ssdp:byebye, HTTP down for --reboot-downtime, back with BOOTID+1 and no subscriptions."""
        if state.rebooting:
            return
        state.rebooting = True
        state.reboot_pending = False
        try:
            await self.stop(state)
            await asyncio.sleep(state.args.reboot_downtime if downtime is None else downtime)
            state.boot_id += 1
            state.silenced = False
            # Tests that were running are lost; completed ones are kept, as Rygel keeps none across restarts either way.
            await self.start(state)
            emit({"event": "rebooted", **state.describe()})
        finally:
            state.rebooting = False

    def select(self, which: str) -> list[DeviceState]:
        if which in ("*", "all"):
            return list(self.devices)
        for state in self.devices:
            if which == str(state.index) or which == state.udn or which == state.udn[5:]:
                return [state]
        raise ValueError(f"no device {which!r}")

    async def command(self, line: str) -> dict:
        words = line.split()
        if not words:
            return {"ok": True}
        name = words[0]
        if name == "stop":
            self.stopping.set()
            return {"ok": True, "cmd": "stop"}
        if name == "list":
            return {"ok": True, "cmd": "list", "devices": [s.describe() for s in self.devices]}
        if len(words) < 2:
            raise ValueError(f"usage: {name} DEVICE …")
        targets = self.select(words[1])
        result: dict[str, Any] = {"ok": True, "cmd": name, "devices": [s.udn for s in targets]}
        for state in targets:
            if name == "set":  # set DEVICE PATH VALUE… : a local change (read-only parameters too) → event
                if len(words) < 3:
                    raise ValueError("usage: set DEVICE PATH [VALUE]")
                path = words[2]
                value = line.split(None, 3)[3] if len(words) > 3 else ""
                try:
                    canonical = state.model.validate(path, value, local=True)
                except CMSFault as error:
                    raise ValueError(error.description) from None
                state.model.params[path].value = canonical
                state.configuration_changed([(path, canonical)])
                result["config_version"] = state.config_version
            elif name == "get":
                result["value"] = state.model.params[words[2]].value if words[2] in state.model.params else None
            elif name == "reboot":
                downtime = float(words[2]) if len(words) > 2 else None
                await self.reboot(state, downtime)
                result["boot_id"] = state.boot_id
            elif name == "byebye":  # byebye set; searches and announcements stop; HTTP stays up
                if state.server:
                    state.server.send_byebyes()
                state.silenced = True
            elif name == "hold":  # tests and operations (running or started later) stay InProgress until `release`
                state.held = True
            elif name == "release":  # held tests and operations complete now (or when their delay ends)
                state.held = False
            elif name == "silence":  # no byebye: the CP must notice the lease expiring
                state.silenced = True
            elif name == "resume":
                state.silenced = False
                if state.server and state.server._advertisement_announcer:
                    announcer = state.server._advertisement_announcer
                    if announcer._cancel_announce:
                        announcer._cancel_announce.cancel()
                    announcer._announce_next()
            elif name == "drop-subscriptions":  # the device forgets its subscribers: renewals get 412
                for service_type in (CMS_TYPE, BMS_TYPE, SMS_TYPE):
                    service = state.service(service_type)
                    if service is not None:
                        service._subscribers.clear()
            elif name == "skip-seq":  # skip-seq DEVICE [N]: the next NOTIFY to every subscriber jumps N SEQ numbers
                count = int(words[2]) if len(words) > 2 else 1
                for service_type in (CMS_TYPE, BMS_TYPE, SMS_TYPE):
                    service = state.service(service_type)
                    for subscriber in (service._subscribers if service is not None else []):
                        for _ in range(count):
                            subscriber.get_next_seq()
            elif name == "ssdp-update":  # ssdp:update with NEXTBOOTID = BOOTID+1, then BOOTID+1 (no reboot)
                if state.server and state.server._advertisement_announcer:
                    state.server._advertisement_announcer.send_updates(state.boot_id + 1)  # type: ignore[attr-defined]
                state.boot_id += 1
                if state.device is not None:
                    state.device.boot_id = state.boot_id
                result["boot_id"] = state.boot_id
            elif name == "bump-configid":  # CONFIGID.UPNP.ORG + 1 in every later announcement and search reply
                state.config_id += 1
                if state.device is not None:
                    state.device.config_id = state.config_id
                result["config_id"] = state.config_id
            elif name == "fail":  # fail DEVICE ACTION|* CODE [COUNT]: the next COUNT calls fault with CODE
                action, code = words[2], int(words[3])
                count = int(words[4]) if len(words) > 4 else 1
                state.injected.setdefault(action, []).extend([code] * count)
            elif name == "status":
                result.setdefault("status", []).append({
                    **state.describe(), "config_version": state.config_version, "silenced": state.silenced,
                    "subscribers": {t.rsplit(":", 2)[-2]: len(s._subscribers) for t in (CMS_TYPE, BMS_TYPE, SMS_TYPE)
                                    if (s := state.service(t)) is not None}})
            else:
                raise ValueError(f"unknown command {name!r}")
        return result

    async def read_commands(self) -> None:
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        while not self.stopping.is_set():
            line = await reader.readline()
            if not line:  # EOF: the parent is gone or wants us gone
                self.stopping.set()
                return
            try:
                emit(await self.command(line.decode().strip()))
            except Exception as error:  # noqa: BLE001 - a bad command is reported, not fatal
                emit({"ok": False, "error": str(error), "line": line.decode().strip()})


RUNTIME: Runtime


def free_port(address: str) -> int:
    with socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((address, 0))
        return probe.getsockname()[1]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--address", required=True, help="interface address to pin HTTP and SSDP to (never 0.0.0.0); "
                   "an IPv6 address (a ULA such as fd77::2) needs --interface and uses FF02::C")
    p.add_argument("--interface", help="the interface of an IPv6 --address")
    p.add_argument("--http-port", type=int, default=0, help="first device's port (device i: port+i); 0 = free ports")
    p.add_argument("--count", type=int, default=1, help="number of devices in this process")
    p.add_argument("--announce-interval", type=float, default=None,
                   help="seconds between ssdp:alive sets (default: min(30, max-age/3))")
    p.add_argument("--max-age", type=int, default=1800, help="CACHE-CONTROL max-age")
    p.add_argument("--boot-id", type=int, default=1, help="initial BOOTID.UPNP.ORG")
    p.add_argument("--event-on-change", action="store_true",
                   help="every parameter starts with EventOnChange=1 (ConfigurationUpdate then carries the values)")
    p.add_argument("--embedded", action="store_true",
                   help="put the ManageableDevice:2 inside a Basic:1 root device (two UDNs, a deviceList)")
    p.add_argument("--no-patches", action="store_true",
                   help="async-upnp-client as shipped: SID without uuid:, TIMEOUT: N, HTTP 400 for bad actions")
    p.add_argument("--max-subscription-timeout", type=int, default=1800, help="longest GENA subscription granted")
    p.add_argument("--test-delay", type=float, default=0.3, help="seconds a BMS test runs")
    p.add_argument("--operation-delay", type=float, default=0.4, help="seconds an SMS operation runs")
    p.add_argument("--reboot-downtime", type=float, default=1.0, help="seconds between byebye and the new alive")
    p.add_argument("-v", "--verbose", action="store_true")
    args = p.parse_args(argv)
    if args.address in ("0.0.0.0", "", "::"):
        p.error("pin the device to an interface address")
    if ":" in args.address and not args.interface:
        p.error("an IPv6 --address needs --interface")
    if args.announce_interval is None:
        args.announce_interval = min(30.0, args.max_age / 3)
    return args


async def main(args: argparse.Namespace) -> int:
    global RUNTIME
    RUNTIME = Runtime()
    aserver.HEADER_CACHE_CONTROL = f"max-age={args.max_age}"
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, RUNTIME.stopping.set)
    for index in range(args.count):
        port = args.http_port + index if args.http_port else free_port(args.address)
        state = DeviceState(index, args, port)
        RUNTIME.devices.append(state)
        await RUNTIME.start(state)
        emit({"event": "ready", **state.describe()})
    emit({"event": "all-ready", "count": args.count})
    commands = asyncio.create_task(RUNTIME.read_commands())
    await RUNTIME.stopping.wait()
    commands.cancel()
    for state in RUNTIME.devices:
        await RUNTIME.stop(state)
    emit({"event": "stopped"})
    return 0


if __name__ == "__main__":
    # A child of the Swift test runner may inherit a blocked SIGTERM (see ACSPeer.swift); take it back.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    arguments = parse_args()
    PATCHES = not arguments.no_patches
    if PATCHES:
        apply_uda_patches()
    import logging
    logging.basicConfig(level=logging.DEBUG if arguments.verbose else logging.WARNING, stream=sys.stderr)
    sys.exit(asyncio.run(main(arguments)))
