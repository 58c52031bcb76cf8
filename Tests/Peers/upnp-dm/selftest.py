#!/usr/bin/env python3
"""Self-test of the UPnP DM test peers, driven through async-upnp-client's *client* API (search → UpnpFactory →
SUBSCRIBE → actions → faults → NOTIFY → UNSUBSCRIBE) and plain sockets for what a client library hides.

Runs in a private network namespace: started as root outside one, it re-executes itself under `unshare -n`, brings
lo up and pins every socket to 127.0.0.1, so no packet can reach a real interface. Exit status 0 = every test
passed. Rygel's test is skipped (with a message) when /usr/bin/rygel is missing.

    Tests/Peers/.venv/bin/python Tests/Peers/upnp-dm/selftest.py [-v] [-k PATTERN]
"""
import asyncio
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import unittest
import xml.etree.ElementTree as ET
from datetime import timedelta
from xml.sax.saxutils import escape

HERE = os.path.dirname(os.path.abspath(__file__))
ADDRESS = "127.0.0.1"
CMS = "urn:schemas-upnp-org:service:ConfigurationManagement:2"
BMS = "urn:schemas-upnp-org:service:BasicManagement:2"
SMS = "urn:schemas-upnp-org:service:SoftwareManagement:2"
MANAGEABLE = "urn:schemas-upnp-org:device:ManageableDevice:2"
NS = "urn:schemas-upnp-org:dm:cms"


def enter_namespace() -> None:
    """Re-run this script in a new network namespace (root only); inside, bring lo up."""
    if os.environ.get("UPNP_DM_SELFTEST_NETNS") == "1":
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
        return
    if os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("ip"):
        print("selftest: needs root, unshare and ip (it runs inside `unshare -n`): skipped", file=sys.stderr)
        sys.exit(0)
    env = dict(os.environ, UPNP_DM_SELFTEST_NETNS="1")
    sys.exit(subprocess.run(["unshare", "-n", sys.executable, *sys.argv], env=env).returncode)


# ---- peers as subprocesses ------------------------------------------------------------------------------------------
class Peer:
    """A peer script with JSON lines on stdout and commands on stdin."""

    def __init__(self, script: str, *args: str):
        self.script = script
        self.args = args
        self.proc: asyncio.subprocess.Process | None = None
        self.devices: list[dict] = []
        self.events: list[dict] = []

    async def __aenter__(self) -> "Peer":
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, os.path.join(HERE, self.script), *self.args,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        while True:
            line = await self.read_line(60)
            if line.get("event") == "ready":
                self.devices.append(line)
            if line.get("event") == "all-ready":
                return self

    async def read_line(self, timeout: float = 30) -> dict:
        assert self.proc and self.proc.stdout
        raw = await asyncio.wait_for(self.proc.stdout.readline(), timeout)
        if not raw:
            err = await self.proc.stderr.read() if self.proc.stderr else b""
            raise RuntimeError(f"{self.script} ended: {err.decode()[-3000:]}")
        return json.loads(raw)

    async def command(self, line: str, timeout: float = 30) -> dict:
        assert self.proc and self.proc.stdin
        self.proc.stdin.write((line + "\n").encode())
        await self.proc.stdin.drain()
        while True:
            answer = await self.read_line(timeout)
            if "ok" in answer:
                if not answer["ok"]:
                    raise RuntimeError(f"{line}: {answer}")
                return answer
            self.events.append(answer)

    async def __aexit__(self, *exc) -> None:
        assert self.proc
        if self.proc.returncode is None:
            self.proc.stdin.close()
            try:
                await asyncio.wait_for(self.proc.wait(), 10)
            except asyncio.TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        # Drain stderr so the pipe closes; failures above already included it.
        if self.proc.stderr:
            await self.proc.stderr.read()


def dm(*args: str) -> Peer:
    return Peer("dm_device.py", "--address", ADDRESS, *args)


# ---- client helpers -------------------------------------------------------------------------------------------------
def cms_doc(root: str, child: str, items: list[str]) -> str:
    return f'<cms:{root} xmlns:cms="{NS}">' + "".join(f"<{child}>{escape(i)}</{child}>" for i in items) + f"</cms:{root}>"


def values_doc(pairs: list[tuple[str, str]], root: str = "ParameterValueList") -> str:
    body = "".join(f"<Parameter><ParameterPath>{escape(p)}</ParameterPath><Value>{escape(v)}</Value></Parameter>"
                   for p, v in pairs)
    return f'<cms:{root} xmlns:cms="{NS}">{body}</cms:{root}>'


def parse_values(text: str) -> dict[str, str]:
    root = ET.fromstring(text)
    assert root.tag == f"{{{NS}}}ParameterValueList", root.tag
    return {p.findtext("ParameterPath"): p.findtext("Value") or "" for p in root}


def parse_list(text: str, child: str) -> list[str]:
    return [e.text or "" for e in ET.fromstring(text) if e.tag == child]


async def create_device(location: str):
    from async_upnp_client.aiohttp import AiohttpRequester
    from async_upnp_client.client_factory import UpnpFactory
    requester = AiohttpRequester(timeout=10)
    return await UpnpFactory(requester, non_strict=False).async_create_device(location), requester


async def raw_http(port: int, request: bytes, host: str = ADDRESS, timeout: float = 10) -> bytes:
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    writer.write(request)
    await writer.drain()
    data = await asyncio.wait_for(reader.read(), timeout)
    writer.close()
    return data


def soap(service_type: str, action: str, args: str = "") -> bytes:
    body = (f'<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" '
            f's:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body>'
            f'<u:{action} xmlns:u="{service_type}">{args}</u:{action}></s:Body></s:Envelope>').encode()
    return body


def post(path: str, port: int, service_type: str, action: str, args: str = "") -> bytes:
    body = soap(service_type, action, args)
    return (f'POST {path} HTTP/1.1\r\nHOST: {ADDRESS}:{port}\r\nCONTENT-TYPE: text/xml; charset="utf-8"\r\n'
            f'SOAPACTION: "{service_type}#{action}"\r\nCONTENT-LENGTH: {len(body)}\r\nConnection: close\r\n\r\n'
            ).encode() + body


def fault_code(response: bytes) -> int | None:
    m = re.search(rb"<errorCode>(\d+)</errorCode>", response)
    return int(m.group(1)) if m else None


class EventSink:
    """async-upnp-client's notify server + event handler, collecting (service type, {variable: value})."""

    def __init__(self, requester):
        from async_upnp_client.aiohttp import AiohttpNotifyServer
        self.server = AiohttpNotifyServer(requester, source=(ADDRESS, 0))
        self.events: list[tuple[str, dict[str, str]]] = []
        self.arrived = asyncio.Event()

    async def __aenter__(self):
        await self.server.async_start_server()
        return self

    async def __aexit__(self, *exc):
        await self.server.async_stop_server()

    @property
    def handler(self):
        return self.server.event_handler

    def watch(self, service) -> None:
        def on_event(svc, variables):
            self.events.append((svc.service_type, {v.name: v.value for v in variables}))
            self.arrived.set()
        service.on_event = on_event

    async def wait_for(self, predicate, timeout: float = 10) -> tuple[str, dict]:
        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            for event in self.events[seen:]:
                if predicate(event):
                    return event
            seen = len(self.events)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no matching event; got {self.events}")
            self.arrived.clear()
            try:
                await asyncio.wait_for(self.arrived.wait(), remaining)
            except asyncio.TimeoutError:
                pass


async def poll(condition, timeout: float = 10, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := await condition():
            return result
        await asyncio.sleep(interval)
    raise AssertionError("condition not met in time")


async def search(st: str, mx: int = 1) -> list[dict]:
    from async_upnp_client.search import async_search
    found: list[dict] = []

    async def callback(headers) -> None:
        found.append(dict(headers))
    await async_search(callback, timeout=mx + 1, search_target=st, source=(ADDRESS, 0))
    return found


class Listener:
    """async-upnp-client's SsdpAdvertisementListener (passive NOTIFYs) pinned to 127.0.0.1: (NTS, headers)."""

    def __init__(self):
        self.changes: list[tuple[str, dict]] = []
        self.arrived = asyncio.Event()

    async def __aenter__(self):
        from async_upnp_client.advertisement import SsdpAdvertisementListener

        def record(kind):
            def callback(headers) -> None:
                self.changes.append((kind, {"udn": headers.get("USN", "").split("::")[0],
                                            "boot_id": headers.get("BOOTID.UPNP.ORG"),
                                            "max_age": headers.get("CACHE-CONTROL"),
                                            "next_boot_id": headers.get("NEXTBOOTID.UPNP.ORG")}))
                self.arrived.set()
            return callback
        self.listener = SsdpAdvertisementListener(on_alive=record("ALIVE"), on_byebye=record("BYEBYE"),
                                                  on_update=record("UPDATE"), source=(ADDRESS, 0))
        await self.listener.async_start()
        return self

    async def __aexit__(self, *exc):
        await self.listener.async_stop()

    async def wait_for(self, predicate, timeout: float = 10):
        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            for change in self.changes[seen:]:
                if predicate(change):
                    return change
            seen = len(self.changes)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no matching SSDP change; got {self.changes[-10:]}")
            self.arrived.clear()
            try:
                await asyncio.wait_for(self.arrived.wait(), remaining)
            except asyncio.TimeoutError:
                pass


# ======================================================================================================================
class DMDeviceTests(unittest.IsolatedAsyncioTestCase):
    async def test_search_and_description(self):
        async with dm() as peer:
            udn = peer.devices[0]["udn"]
            for st in (CMS, BMS, SMS, MANAGEABLE, "upnp:rootdevice", "urn:schemas-upnp-org:service:ConfigurationManagement:1"):
                found = await search(st)
                self.assertIn(f"{udn}", [f["USN"].split("::")[0] for f in found], st)
            found = await search(CMS)
            response = [f for f in found if f["USN"].startswith(udn)][0]
            self.assertEqual(response["BOOTID.UPNP.ORG"], "1")
            self.assertEqual(response["CACHE-CONTROL"], "max-age=1800")
            device, _ = await create_device(peer.devices[0]["location"])
            self.assertEqual(device.device_type, MANAGEABLE)
            self.assertEqual({s.service_type for s in device.services.values()}, {CMS, BMS, SMS})
            self.assertIn("GetSelectedValues", device.service(CMS).actions)
            self.assertIn("GetOperationInfo", device.service(SMS).actions)

    async def test_cms_actions_and_faults(self):
        async with dm() as peer:
            device, _ = await create_device(peer.devices[0]["location"])
            cms = device.service(CMS)
            call = lambda name, **kw: cms.action(name).async_call(**kw)  # noqa: E731
            models = (await call("GetSupportedDataModels"))["SupportedDataModels"]
            self.assertIn("<Location>/BBF/</Location>", models)
            info = parse_values((await call("GetValues", Parameters=cms_doc("ContentPathList", "ContentPath",
                                                                                  ["/UPnP/DM/DeviceInfo/"])))["ParameterValueList"])
            self.assertEqual(info["/UPnP/DM/DeviceInfo/SerialNumber"], peer.devices[0]["serial"])
            for name in ("ManufacturerOUI", "ProductClass", "FriendlyName", "SoftwareVersion", "HardwareVersion", "UpTime"):
                self.assertIn(f"/UPnP/DM/DeviceInfo/{name}", info)
            structure = parse_list((await call("GetSupportedParameters", StartingNode="/BBF/NAT/", SearchDepth=0))["Result"],
                                   "StructurePath")
            self.assertIn("/BBF/NAT/PortMapping/#/ExternalPort", structure)
            instances = parse_list((await call("GetInstances", StartingNode="/BBF/NAT/", SearchDepth=0))["Result"],
                                   "InstancePath")
            self.assertEqual(instances, ["/BBF/NAT/PortMapping/0/", "/BBF/NAT/PortMapping/2/"])  # 0-based, sparse
            created = await call("CreateInstance", MultiInstanceName="/BBF/NAT/PortMapping/#/",
                                 ChildrenInitialization=values_doc([("Description", "a<b>&c")], "ParameterInitialValueList"))
            self.assertEqual(created, {"InstanceIdentifier": "/BBF/NAT/PortMapping/3/", "Status": "ChangesApplied"})
            await call("DeleteInstance", InstanceIdentifier="/BBF/NAT/PortMapping/0/")
            instances = parse_list((await call("GetInstances", StartingNode="/BBF/NAT/PortMapping/", SearchDepth=1))["Result"],
                                   "InstancePath")
            self.assertEqual(instances, ["/BBF/NAT/PortMapping/2/", "/BBF/NAT/PortMapping/3/"])
            values = parse_values((await call("GetValues", Parameters=cms_doc(
                "ContentPathList", "ContentPath", ["/BBF/NAT/PortMapping/#/Description", "/BBF/NAT/PortMappingNumberOfEntries"])))
                ["ParameterValueList"])
            self.assertEqual(values, {"/BBF/NAT/PortMapping/2/Description": "ssh",
                                      "/BBF/NAT/PortMapping/3/Description": "a<b>&c",
                                      "/BBF/NAT/PortMappingNumberOfEntries": "2"})
            selected = parse_values((await call("GetSelectedValues", StartingNode="/BBF/NAT/PortMapping/#/",
                                                Filter='Description = "ssh"'))["ParameterValueList"])
            self.assertEqual(selected["/BBF/NAT/PortMapping/2/InternalPort"], "22")
            self.assertNotIn("/BBF/NAT/PortMapping/3/InternalPort", selected)
            version = (await call("GetCurrentConfigurationVersion"))["StateVariableValue"]
            status = await call("SetValues", ParameterValueList=values_doc([("/BBF/NAT/PortMapping/3/ExternalPort", "8443"),
                                                                             ("/BBF/Time/NTPServer1", "ntp.test")]))
            self.assertEqual(status["Status"], "ChangesApplied")
            self.assertEqual((await call("GetCurrentConfigurationVersion"))["StateVariableValue"], version + 1)
            update = (await call("GetConfigurationUpdate"))["StateVariableValue"]
            self.assertTrue(update.startswith(f"{version + 1},"), update)
            attrs = await call("SetAttributes", NodeAttributeValueList=(
                f'<cms:NodeAttributeValueList xmlns:cms="{NS}"><Node><NodeAttributePath>/BBF/Time/</NodeAttributePath>'
                f'<EventOnChange>1</EventOnChange></Node></cms:NodeAttributeValueList>'))
            self.assertEqual(attrs["Status"], "ChangesApplied")
            got = (await call("GetAttributes", Parameters=cms_doc("NodeAttributePathList", "NodeAttributePath",
                                                                  ["/BBF/Time/Enable"])))["NodeAttributeValueList"]
            self.assertIn("<EventOnChange>1</EventOnChange>", got)
            self.assertIn("<Access>readWrite</Access>", got)
            self.assertFalse((await call("GetInconsistentStatus"))["StateVariableValue"])
            await call("SetAlarmsEnabled", StateVariableValue=True)
            self.assertTrue((await call("GetAlarmsEnabled"))["StateVariableValue"])
            for name in ("GetSupportedDataModelsUpdate", "GetSupportedParametersUpdate", "GetAttributeValuesUpdate"):
                self.assertRegex((await call(name))["StateVariableValue"], r"^\d+,\d{4}-")

            from async_upnp_client.exceptions import UpnpActionResponseError

            async def expect_fault(code, name, **kw):
                with self.assertRaises(UpnpActionResponseError, msg=f"{name} {kw}") as ctx:
                    await call(name, **kw)
                self.assertEqual(ctx.exception.error_code, code, f"{name} {kw}: {ctx.exception}")
            gv = lambda paths: {"Parameters": cms_doc("ContentPathList", "ContentPath", paths)}  # noqa: E731
            await expect_fault(703, "GetValues", **gv(["/BBF/Nope"]))
            await expect_fault(701, "GetValues", **gv(["BBF/relative"]))
            await expect_fault(702, "GetValues", Parameters="<not-xml")
            await expect_fault(702, "GetValues", Parameters='<!DOCTYPE x [<!ENTITY e "boom">]>'
                                                            f'<cms:ContentPathList xmlns:cms="{NS}"/>')
            await expect_fault(704, "SetValues", ParameterValueList=values_doc([("/BBF/Time/Enable", "maybe")]))
            await expect_fault(705, "SetValues", ParameterValueList=values_doc([("/BBF/NAT/PortMapping/2/ExternalPort", "70000")]))
            await expect_fault(706, "SetValues", ParameterValueList=values_doc([("/UPnP/DM/DeviceInfo/SerialNumber", "x")]))
            await expect_fault(706, "CreateInstance", MultiInstanceName="/BBF/IP/Interface/#/", ChildrenInitialization="")
            await expect_fault(703, "DeleteInstance", InstanceIdentifier="/BBF/NAT/PortMapping/0/")
            await expect_fault(602, "GetACLData", StartingNodes="")
            # SetValues is atomic: the valid first pair was not applied.
            await expect_fault(705, "SetValues", ParameterValueList=values_doc([("/BBF/Time/NTPServer1", "half"),
                                                                                ("/BBF/NAT/PortMapping/2/Protocol", "ICMP")]))
            ntp = parse_values((await call("GetValues", **gv(["/BBF/Time/NTPServer1"])))["ParameterValueList"])
            self.assertEqual(ntp["/BBF/Time/NTPServer1"], "ntp.test")
            # Injected fault for the Swift fault-mapping tests.
            await peer.command("fail 0 GetValues 708")
            await expect_fault(708, "GetValues", **gv(["/BBF/Time/Enable"]))
            await call("GetValues", **gv(["/BBF/Time/Enable"]))

    async def test_embedded_manageable_device(self):
        async with dm("--embedded") as peer:
            dm_udn, root_udn = peer.devices[0]["udn"], peer.devices[0]["root_udn"]
            self.assertNotEqual(dm_udn, root_udn)
            usns = {f["USN"] for f in await search("ssdp:all") if f["USN"].split("::")[0] in (dm_udn, root_udn)}
            self.assertEqual(usns, {f"{root_udn}::upnp:rootdevice", root_udn, f"{root_udn}::urn:schemas-upnp-org:device:Basic:1",
                                    dm_udn, f"{dm_udn}::{MANAGEABLE}", f"{dm_udn}::{CMS}", f"{dm_udn}::{BMS}", f"{dm_udn}::{SMS}"})
            root, _ = await create_device(peer.devices[0]["location"])
            self.assertEqual(root.udn, root_udn)
            embedded = list(root.embedded_devices.values())
            self.assertEqual([(d.udn, d.device_type) for d in embedded], [(dm_udn, MANAGEABLE)])
            result = await embedded[0].service(CMS).action("GetValues").async_call(
                Parameters=cms_doc("ContentPathList", "ContentPath", ["/UPnP/DM/DeviceInfo/SerialNumber"]))
            self.assertEqual(parse_values(result["ParameterValueList"]),
                             {"/UPnP/DM/DeviceInfo/SerialNumber": peer.devices[0]["serial"]})

    async def test_uda_faults_on_the_wire(self):
        async with dm() as peer:
            port = peer.devices[0]["http_port"]
            unknown = await raw_http(port, post("/upnp/control/cms", port, CMS, "NoSuchAction"))
            self.assertTrue(unknown.startswith(b"HTTP/1.1 500"), unknown[:80])
            self.assertEqual(fault_code(unknown), 401)
            missing = await raw_http(port, post("/upnp/control/cms", port, CMS, "GetValues"))
            self.assertEqual(fault_code(missing), 402)
            self.assertIn(b"missing Parameters", missing)
            bad_type = await raw_http(port, post("/upnp/control/bms", port, BMS, "GetTestInfo", "<TestID>abc</TestID>"))
            self.assertEqual(fault_code(bad_type), 402)
            extra = await raw_http(port, post("/upnp/control/bms", port, BMS, "GetDeviceStatus", "<Bogus>1</Bogus>"))
            self.assertEqual(fault_code(extra), 402)
            real = await raw_http(port, post("/upnp/control/bms", port, BMS, "GetTestInfo", "<TestID>42</TestID>"))
            self.assertIn(b"<errorDescription>No Such Test</errorDescription>", real)
            # The escaped XML argument survives in both directions (one level of escaping on the wire).
            args = "<Parameters>" + escape(cms_doc("ContentPathList", "ContentPath", ["/BBF/Time/Enable"])) + "</Parameters>"
            ok = await raw_http(port, post("/upnp/control/cms", port, CMS, "GetValues", args))
            self.assertIn(b"&lt;ParameterPath&gt;/BBF/Time/Enable&lt;/ParameterPath&gt;", ok)

    async def test_gena_events_and_resubscription(self):
        async with dm("--max-subscription-timeout", "300") as peer:
            device, requester = await create_device(peer.devices[0]["location"])
            port = peer.devices[0]["http_port"]
            async with EventSink(requester) as sink:
                cms, bms, sms = device.service(CMS), device.service(BMS), device.service(SMS)
                for service in (cms, bms, sms):
                    sink.watch(service)
                sid, timeout = await sink.handler.async_subscribe(cms, timedelta(seconds=1800))
                self.assertTrue(sid.startswith("uuid:"), sid)
                self.assertEqual(timeout, timedelta(seconds=300))  # the device's cap, not the request
                await sink.wait_for(lambda e: e[0] == CMS and "ConfigurationUpdate" in e[1])  # initial event, SEQ 0
                await sink.handler.async_subscribe(bms)
                await sink.handler.async_subscribe(sms)
                await sink.wait_for(lambda e: e[0] == SMS and "DUIDs" in e[1])
                # SetValues → ConfigurationUpdate with the new version (and the value when EventOnChange is set).
                await cms.action("SetAttributes").async_call(NodeAttributeValueList=(
                    f'<cms:NodeAttributeValueList xmlns:cms="{NS}"><Node><NodeAttributePath>/BBF/Time/NTPServer1'
                    f'</NodeAttributePath><EventOnChange>1</EventOnChange></Node></cms:NodeAttributeValueList>'))
                await cms.action("SetValues").async_call(ParameterValueList=values_doc([("/BBF/Time/NTPServer1", "a&b")]))
                _, event = await sink.wait_for(lambda e: e[0] == CMS and str(e[1].get("ConfigurationUpdate", "")).startswith("2,"))
                version, when, values = event["ConfigurationUpdate"].split(",", 2)
                self.assertEqual(parse_values(values), {"/BBF/Time/NTPServer1": "a&b"})
                # A device-side change (control command) events too.
                await peer.command("set 0 /UPnP/DM/DeviceInfo/FriendlyName renamed")
                await sink.wait_for(lambda e: e[0] == CMS and str(e[1].get("ConfigurationUpdate", "")).startswith("3,"))
                # BMS test IDs are evented.
                test_id = (await bms.action("Ping").async_call(Host="10.0.0.1", NumberOfRepetitions=1, Timeout=1000,
                                                              DataBlockSize=32, DSCP=0))["TestID"]
                await sink.wait_for(lambda e: e[0] == BMS and str(test_id) in str(e[1].get("ActiveTestIDs", "")))
                await sink.wait_for(lambda e: e[0] == BMS and str(e[1].get("ActiveTestIDs")) in ("", "None"))
                # Renewal keeps the SID; after the device forgets its subscribers a renewal gets 412 on the wire,
                # and async-upnp-client's resubscribe falls back to a fresh SUBSCRIBE (new SID).
                renewed, _ = await sink.handler.async_resubscribe(cms, timedelta(seconds=120))
                self.assertEqual(renewed, sid)
                await peer.command("drop-subscriptions 0")
                stale = await raw_http(port, (f"SUBSCRIBE /upnp/event/cms HTTP/1.1\r\nHOST: {ADDRESS}:{port}\r\n"
                                              f"SID: {sid}\r\nTIMEOUT: Second-120\r\nConnection: close\r\n\r\n").encode())
                self.assertTrue(stale.startswith(b"HTTP/1.1 412"), stale[:40])
                new_sid, _ = await sink.handler.async_resubscribe(cms, timedelta(seconds=120))
                self.assertNotEqual(new_sid, sid)
                await sink.wait_for(lambda e: e[0] == CMS and "ConfigurationUpdate" in e[1])
                status = await peer.command("status 0")
                self.assertEqual(status["status"][0]["subscribers"]["ConfigurationManagement"], 1)
                await sink.handler.async_unsubscribe(cms)
                status = await peer.command("status 0")
                self.assertEqual(status["status"][0]["subscribers"]["ConfigurationManagement"], 0)
            # Header errors per UDA 1.1 §4.1.2.
            both = await raw_http(port, (f"SUBSCRIBE /upnp/event/cms HTTP/1.1\r\nHOST: {ADDRESS}:{port}\r\nSID: uuid:x\r\n"
                                         f"NT: upnp:event\r\nConnection: close\r\n\r\n").encode())
            self.assertTrue(both.startswith(b"HTTP/1.1 400"), both[:40])
            no_callback = await raw_http(port, (f"SUBSCRIBE /upnp/event/cms HTTP/1.1\r\nHOST: {ADDRESS}:{port}\r\n"
                                                f"NT: upnp:event\r\nConnection: close\r\n\r\n").encode())
            self.assertTrue(no_callback.startswith(b"HTTP/1.1 412"), no_callback[:40])
            unknown = await raw_http(port, (f"UNSUBSCRIBE /upnp/event/cms HTTP/1.1\r\nHOST: {ADDRESS}:{port}\r\n"
                                            f"SID: uuid:nope\r\nConnection: close\r\n\r\n").encode())
            self.assertTrue(unknown.startswith(b"HTTP/1.1 412"), unknown[:40])

    async def test_seq_gap_and_configid(self):
        notifies: list[dict[str, str]] = []
        arrived = asyncio.Event()

        async def on_notify(reader, writer):
            head = await reader.readuntil(b"\r\n\r\n")
            headers = {k.lower(): v for k, v in (line.split(": ", 1) for line in head.decode().split("\r\n")[1:] if ": " in line)}
            await reader.readexactly(int(headers.get("content-length", "0")))
            notifies.append(headers)
            arrived.set()
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
            writer.close()
        callback = await asyncio.start_server(on_notify, ADDRESS, 0)
        callback_port = callback.sockets[0].getsockname()[1]

        async def next_seq() -> int:
            await poll(lambda: asyncio.sleep(0, result=bool(arrived.is_set())))
            arrived.clear()
            return int(notifies[-1]["seq"])
        async with dm() as peer:
            port = peer.devices[0]["http_port"]
            reply = await raw_http(port, (f"SUBSCRIBE /upnp/event/cms HTTP/1.1\r\nHOST: {ADDRESS}:{port}\r\n"
                                          f"CALLBACK: <http://{ADDRESS}:{callback_port}/cb>\r\nNT: upnp:event\r\n"
                                          f"TIMEOUT: Second-60\r\nConnection: close\r\n\r\n").encode())
            self.assertIn(b"TIMEOUT: Second-60", reply)
            self.assertEqual(await next_seq(), 0)
            await peer.command("set 0 /BBF/Time/NTPServer1 one")
            self.assertEqual(await next_seq(), 1)
            await peer.command("skip-seq 0 3")
            await peer.command("set 0 /BBF/Time/NTPServer1 two")
            self.assertEqual(await next_seq(), 5)  # 2, 3 and 4 were never sent
            self.assertTrue(notifies[-1]["sid"].startswith("uuid:"))
            self.assertEqual((await peer.command("bump-configid 0"))["config_id"], 2)
            found = [f for f in await search(CMS) if f["USN"].startswith(peer.devices[0]["udn"])]
            self.assertEqual(found[0]["CONFIGID.UPNP.ORG"], "2")
        callback.close()

    async def test_event_on_change_default(self):
        async with dm("--event-on-change") as peer:
            device, requester = await create_device(peer.devices[0]["location"])
            async with EventSink(requester) as sink:
                cms = device.service(CMS)
                sink.watch(cms)
                await sink.handler.async_subscribe(cms)
                await peer.command("set 0 /BBF/NAT/PortMapping/2/ExternalPort 2222")
                _, event = await sink.wait_for(lambda e: str(e[1].get("ConfigurationUpdate", "")).startswith("2,"))
                self.assertEqual(parse_values(event["ConfigurationUpdate"].split(",", 2)[2]),
                                 {"/BBF/NAT/PortMapping/2/ExternalPort": "2222"})
                await sink.handler.async_unsubscribe(cms)

    async def test_bms_diagnostics(self):
        async with dm("--test-delay", "0.2") as peer:
            device, _ = await create_device(peer.devices[0]["location"])
            bms = device.service(BMS)
            call = lambda name, **kw: bms.action(name).async_call(**kw)  # noqa: E731
            self.assertRegex((await call("GetDeviceStatus"))["DeviceStatus"], r"^OK,\d{4}-")
            ping = (await call("Ping", Host="10.0.0.1", NumberOfRepetitions=3, Timeout=1000, DataBlockSize=64, DSCP=0))["TestID"]
            self.assertIn(str(ping), (await call("GetActiveTestIDs"))["TestIDs"].split(","))
            from async_upnp_client.exceptions import UpnpActionResponseError

            async def expect_fault(code, name, **kw):
                with self.assertRaises(UpnpActionResponseError) as ctx:
                    await call(name, **kw)
                self.assertEqual(ctx.exception.error_code, code, f"{name}: {ctx.exception}")
            await expect_fault(708, "GetPingResult", TestID=ping)  # not completed yet
            await poll(lambda: self._completed(bms, ping))
            result = await call("GetPingResult", TestID=ping)
            self.assertEqual((result["Status"], result["SuccessCount"], result["FailureCount"]), ("Success", 3, 0))
            await expect_fault(707, "GetTracerouteResult", TestID=ping)
            await expect_fault(709, "CancelTest", TestID=ping)
            await expect_fault(706, "GetTestInfo", TestID=999)
            await expect_fault(706, "CancelTest", TestID=999)
            bad = (await call("Ping", Host="nowhere.invalid", NumberOfRepetitions=1, Timeout=1000, DataBlockSize=64, DSCP=0))["TestID"]
            await poll(lambda: self._completed(bms, bad))
            self.assertEqual((await call("GetPingResult", TestID=bad))["Status"], "Error_CannotResolveHostName")
            trace = (await call("Traceroute", Host="203.0.113.7", Timeout=1000, DataBlockSize=64, MaxHopCount=30, DSCP=0))["TestID"]
            await poll(lambda: self._completed(bms, trace))
            self.assertEqual((await call("GetTracerouteResult", TestID=trace))["HopHosts"], "10.77.0.1,198.51.100.1,203.0.113.7")
            lookup = (await call("NSLookup", HostName="example.org", DNSServer="", NumberOfRepetitions=1, Timeout=1000))["TestID"]
            await poll(lambda: self._completed(bms, lookup))
            self.assertIn("<HostNameReturned>example.org</HostNameReturned>", (await call("GetNSLookupResult", TestID=lookup))["Result"])
            cancel = (await call("Ping", Host="10.0.0.2", NumberOfRepetitions=1, Timeout=1000, DataBlockSize=64, DSCP=0))["TestID"]
            await call("CancelTest", TestID=cancel)
            self.assertEqual((await call("GetTestInfo", TestID=cancel))["State"], "Canceled")
            self.assertEqual(set((await call("GetTestIDs"))["TestIDs"].split(",")), {str(t) for t in (ping, bad, trace, lookup, cancel)})
            self.assertEqual((await call("SetSequenceMode", NewSequenceMode=True))["OldSequenceMode"], False)
            self.assertTrue((await call("GetSequenceMode"))["SequenceMode"])
            self_test = (await call("SelfTest"))["TestID"]
            await poll(lambda: self._completed(bms, self_test))
            self.assertTrue((await call("GetSelfTestResult", TestID=self_test))["Status"])
            reset = (await call("InterfaceReset", Interfaces="AllInterfaces"))["TestID"]
            await poll(lambda: self._completed(bms, reset))
            self.assertEqual((await call("GetInterfaceResetResult", TestID=reset))["Status"], "Success")

    @staticmethod
    async def _completed(service, test_id: int) -> bool:
        return (await service.action("GetTestInfo").async_call(TestID=test_id))["State"] == "Completed"

    async def test_reboot_byebye_and_new_bootid(self):
        async with Listener() as listener:
            async with dm("--announce-interval", "1", "--reboot-downtime", "0.3") as peer:
                udn = peer.devices[0]["udn"]
                await listener.wait_for(lambda c: c[0] == "ALIVE" and c[1]["udn"] == udn)
                device, _ = await create_device(peer.devices[0]["location"])
                status = await device.service(BMS).action("Reboot").async_call()
                self.assertEqual(status["RebootStatus"], "RebootNow")
                await listener.wait_for(lambda c: c[0] == "BYEBYE" and c[1]["udn"] == udn)
                rebooted = await peer.read_line(15)
                self.assertEqual((rebooted["event"], rebooted["boot_id"]), ("rebooted", 2))
                await listener.wait_for(lambda c: c[0] in ("ALIVE", "UPDATE") and c[1]["udn"] == udn and c[1]["boot_id"] == "2")
                found = [f for f in await search(CMS) if f["USN"].startswith(udn)]
                self.assertEqual(found[0]["BOOTID.UPNP.ORG"], "2")
                # The configuration survived the reboot.
                device, _ = await create_device(peer.devices[0]["location"])
                self.assertEqual((await device.service(CMS).action("GetCurrentConfigurationVersion").async_call())["StateVariableValue"], 1)
                # byebye / silence / resume from the control channel.
                listener.changes.clear()
                await peer.command("byebye 0")
                await listener.wait_for(lambda c: c[0] == "BYEBYE" and c[1]["udn"] == udn)
                self.assertEqual([f for f in await search(CMS) if f["USN"].startswith(udn)], [])
                await peer.command("resume 0")
                await listener.wait_for(lambda c: c[0] == "ALIVE" and c[1]["udn"] == udn)
                await peer.command("silence 0")
                await asyncio.sleep(1.5)  # let an announcement in flight arrive
                listener.changes.clear()
                await asyncio.sleep(2.5)
                self.assertEqual([c for c in listener.changes if c[1]["udn"] == udn], [])

    async def test_ssdp_update_moves_the_bootid(self):
        async with Listener() as listener, dm("--announce-interval", "1") as peer:
            udn = peer.devices[0]["udn"]
            self.assertEqual((await peer.command("ssdp-update 0"))["boot_id"], 2)
            change = await listener.wait_for(lambda c: c[0] == "UPDATE" and c[1]["udn"] == udn)
            self.assertEqual((change[1]["boot_id"], change[1]["next_boot_id"]), ("1", "2"))
            await listener.wait_for(lambda c: c[0] == "ALIVE" and c[1]["udn"] == udn and c[1]["boot_id"] == "2")

    async def test_baseline_reset_and_reboot_later(self):
        async with dm("--operation-delay", "1.0", "--reboot-downtime", "0.2") as peer:
            device, _ = await create_device(peer.devices[0]["location"])
            cms, bms, sms = device.service(CMS), device.service(BMS), device.service(SMS)
            await cms.action("SetValues").async_call(ParameterValueList=values_doc([("/BBF/Time/NTPServer1", "changed")]))
            await cms.action("DeleteInstance").async_call(InstanceIdentifier="/BBF/NAT/PortMapping/2/")
            # Reboot while an SMS operation runs: RebootLater, and the reboot follows the operation's end.
            op = (await sms.action("Install").async_call(DUURI="http://apps.example/x-1.0.ipk", DUType="Application",
                                                         HandleDependencies=False))["OperationID"]
            self.assertEqual((await bms.action("Reboot").async_call())["RebootStatus"], "RebootLater")
            self.assertEqual((await sms.action("GetOperationInfo").async_call(OperationID=op))["OperationState"] in
                             ("Requested", "InProgress"), True)
            rebooted = await peer.read_line(15)
            self.assertEqual((rebooted["event"], rebooted["boot_id"]), ("rebooted", 2))
            device, _ = await create_device(peer.devices[0]["location"])
            self.assertEqual((await device.service(SMS).action("GetOperationInfo").async_call(OperationID=op))
                             ["OperationState"], "Completed")
            from async_upnp_client.exceptions import UpnpActionResponseError
            with self.assertRaises(UpnpActionResponseError) as ctx:
                await device.service(SMS).action("GetACLData").async_call()
            self.assertEqual(ctx.exception.error_code, 602)
            # BaselineReset: the baseline tree comes back (sparse 0,2 table, default NTP server), then a reboot.
            await device.service(BMS).action("BaselineReset").async_call()
            rebooted = await peer.read_line(15)
            self.assertEqual((rebooted["event"], rebooted["boot_id"]), ("rebooted", 3))
            device, _ = await create_device(peer.devices[0]["location"])
            values = parse_values((await device.service(CMS).action("GetValues").async_call(Parameters=cms_doc(
                "ContentPathList", "ContentPath", ["/BBF/Time/NTPServer1", "/BBF/NAT/PortMapping/#/Description"])))
                ["ParameterValueList"])
            self.assertEqual(values, {"/BBF/Time/NTPServer1": "ntp.example.org", "/BBF/NAT/PortMapping/0/Description": "web",
                                      "/BBF/NAT/PortMapping/2/Description": "ssh"})

    async def test_sms_operations(self):
        async with dm("--operation-delay", "0.2", "--reboot-downtime", "0.3") as peer:
            device, _ = await create_device(peer.devices[0]["location"])
            sms = device.service(SMS)
            call = lambda name, **kw: sms.action(name).async_call(**kw)  # noqa: E731

            async def finished(op_id):
                info = await call("GetOperationInfo", OperationID=op_id)
                return info if info["OperationState"] in ("Completed", "Error") else None
            self.assertEqual((await call("GetDUIDs"))["DUIDs"], "1,2")
            op = (await call("Install", DUURI="http://apps.example/app-b-3.2.ipk", DUType="Application",
                             HandleDependencies=False))["OperationID"]
            self.assertEqual((await call("GetOperationIDs"))["OperationIDs"], str(op))
            info = await poll(lambda: finished(op))
            self.assertEqual((info["OperationState"], info["Action"], info["ErrorDescription"]), ("Completed", "Install", "Error_None"))
            du = int(info["TargetedIDs"])
            du_info = await call("GetDUInfo", DUID=du)
            self.assertEqual((du_info["DUName"], du_info["DUVersion"], du_info["DUState"]), ("app", "3.2", "Installed"))
            eu = int(info["AdditionalInfo"].split("=")[1])
            start = (await call("Start", EUID=eu, HandleDependencies=False))["OperationID"]
            await poll(lambda: finished(start))
            self.assertEqual((await call("GetEUInfo", EUID=eu))["EURunningState"], "Running")
            self.assertIn(str(eu), (await call("GetRunningEUIDs"))["RunningEUIDs"].split(","))
            self.assertIn(str(eu), (await call("GetActiveEUIDs"))["ActiveEUIDs"].split(","))
            stop = (await call("Stop", EUID=eu, HandleDependencies=False))["OperationID"]
            await poll(lambda: finished(stop))
            self.assertEqual((await call("GetEUInfo", EUID=eu))["EURequestedState"], "Inactive")
            update = (await call("Update", DUID=du, NewDUURI="http://apps.example/app-b-3.3.ipk", HandleDependencies=False))["OperationID"]
            await poll(lambda: finished(update))
            self.assertEqual((await call("GetDUInfo", DUID=du))["DUVersion"], "3.3")
            uninstall = (await call("Uninstall", DUID=du, HandleDependencies=False))["OperationID"]
            await poll(lambda: finished(uninstall))
            self.assertNotIn(str(du), (await call("GetDUIDs"))["DUIDs"].split(","))
            self.assertNotIn(str(eu), (await call("GetEUIDs"))["EUIDs"].split(","))
            corrupt = (await call("Install", DUURI="http://apps.example/corrupt-1.0.ipk", DUType="Application",
                                  HandleDependencies=False))["OperationID"]
            self.assertEqual((await poll(lambda: finished(corrupt)))["ErrorDescription"], "Error_CorruptedFile")
            crash = (await call("Install", DUURI="http://apps.example/crash-1.0.ipk", DUType="Application",
                                HandleDependencies=False))["OperationID"]
            crash_eu = int((await poll(lambda: finished(crash)))["AdditionalInfo"].split("=")[1])
            started = (await call("Start", EUID=crash_eu, HandleDependencies=False))["OperationID"]
            self.assertEqual((await poll(lambda: finished(started)))["OperationState"], "Error")
            self.assertEqual((await call("GetErrorEUIDs"))["ErrorEUIDs"], str(crash_eu))
            from async_upnp_client.exceptions import UpnpActionResponseError
            for name, kw in (("GetDUInfo", {"DUID": 99}), ("GetEUInfo", {"EUID": 99}),
                             ("GetOperationInfo", {"OperationID": 99}), ("Uninstall", {"DUID": 99, "HandleDependencies": False})):
                with self.assertRaises(UpnpActionResponseError) as ctx:
                    await call(name, **kw)
                self.assertEqual(ctx.exception.error_code, 600, name)
            # Firmware: DU 1 is replaced, then the device reboots into the new version (BOOTID 2).
            firmware = (await call("Install", DUURI="http://firmware.example/dm-sim-2.0.1.bin", DUType="Firmware",
                                   HandleDependencies=False))["OperationID"]
            rebooted = await peer.read_line(15)
            self.assertEqual((rebooted["event"], rebooted["boot_id"]), ("rebooted", 2))
            device, _ = await create_device(peer.devices[0]["location"])
            sms = device.service(SMS)
            info = await sms.action("GetOperationInfo").async_call(OperationID=firmware)
            self.assertEqual(info["OperationState"], "Completed")
            self.assertEqual((await sms.action("GetDUInfo").async_call(DUID=1))["DUVersion"], "2.0.1")
            values = parse_values((await device.service(CMS).action("GetValues").async_call(Parameters=cms_doc(
                "ContentPathList", "ContentPath", ["/UPnP/DM/DeviceInfo/SoftwareVersion"])))["ParameterValueList"])
            self.assertEqual(values["/UPnP/DM/DeviceInfo/SoftwareVersion"], "2.0.1")

    async def test_sigterm_and_eof_send_the_byebye_set(self):
        import signal as signals
        for how in ("SIGTERM", "EOF"):
            async with Listener() as listener:
                peer = dm("--count", "2")
                await peer.__aenter__()
                udns = {d["udn"] for d in peer.devices}
                if how == "SIGTERM":
                    peer.proc.send_signal(signals.SIGTERM)
                else:
                    peer.proc.stdin.close()
                self.assertEqual(await asyncio.wait_for(peer.proc.wait(), 15), 0, how)
                await peer.__aexit__(None, None, None)
                # 3 + k = 6 byebyes per device (rootdevice, uuid, device type, three services)
                await listener.wait_for(lambda c: sum(1 for k, h in listener.changes if k == "BYEBYE" and h["udn"] in udns) >= 12)

    async def test_fifty_devices_answer_one_search(self):
        async with dm("--count", "50") as peer:
            self.assertEqual(len({d["udn"] for d in peer.devices}), 50)
            self.assertEqual(len({d["http_port"] for d in peer.devices}), 50)
            started = time.monotonic()
            found = await search(MANAGEABLE, mx=1)
            self.assertLessEqual(time.monotonic() - started, 3.5)  # the search window, MX + 1 s (+ start-up)
            self.assertEqual({f["USN"].split("::")[0] for f in found}, {d["udn"] for d in peer.devices})

    async def test_lease_expiry_setup(self):
        # max-age 3 and alive every 1 s: a CP sees CACHE-CONTROL max-age=3; after `silence` nothing refreshes it.
        async with Listener() as listener, dm("--max-age", "3", "--announce-interval", "1") as peer:
            udn = peer.devices[0]["udn"]
            await listener.wait_for(lambda c: c[0] == "ALIVE" and c[1]["udn"] == udn)
            found = [f for f in await search(CMS) if f["USN"].startswith(udn)]
            self.assertEqual(found[0]["CACHE-CONTROL"], "max-age=3")

    async def test_no_patches_variant(self):
        async with dm("--no-patches") as peer:
            port = peer.devices[0]["http_port"]
            response = await raw_http(port, (f"SUBSCRIBE /upnp/event/cms HTTP/1.1\r\nHOST: {ADDRESS}:{port}\r\n"
                                             f"CALLBACK: <http://{ADDRESS}:9/cb>\r\nNT: upnp:event\r\n"
                                             f"TIMEOUT: Second-120\r\nConnection: close\r\n\r\n").encode())
            headers = response.decode(errors="replace")
            self.assertRegex(headers, r"(?im)^SID: (?!uuid:)[0-9a-f-]{36}\r$")
            self.assertRegex(headers, r"(?im)^TIMEOUT: 120\r$")
            unknown = await raw_http(port, post("/upnp/control/cms", port, CMS, "NoSuchAction"))
            self.assertTrue(unknown.startswith(b"HTTP/1.1 400"), unknown[:60])
            fault = await raw_http(port, post("/upnp/control/bms", port, BMS, "GetTestInfo", "<TestID>42</TestID>"))
            self.assertIn(b"<errorCode>706</errorCode><errorDescription>Action Failed</errorDescription>", fault)


# ======================================================================================================================
def msearch(st: str, wait: float = 1.5) -> list[bytes]:
    """A raw M-SEARCH from 127.0.0.1 (async-upnp-client would normalise what these tests look at)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
    sock.bind((ADDRESS, 0))
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(ADDRESS))
    sock.settimeout(0.2)
    sock.sendto((f'M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: "ssdp:discover"\r\nMX: 1\r\n'
                 f"ST: {st}\r\n\r\n").encode(), ("239.255.255.250", 1900))
    replies = []
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            replies.append(sock.recv(8192))
        except socket.timeout:
            pass
    sock.close()
    return replies


async def read_capped(port: int, request: bytes, cap: int, seconds: float) -> tuple[bytes, bool]:
    """Reads at most `cap` bytes or for `seconds`; returns the bytes and whether the peer closed first."""
    reader, writer = await asyncio.open_connection(ADDRESS, port)
    writer.write(request)
    await writer.drain()
    data = b""
    closed = False
    deadline = time.monotonic() + seconds
    while len(data) < cap:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        try:
            chunk = await asyncio.wait_for(reader.read(min(65536, cap - len(data))), remaining)
        except asyncio.TimeoutError:
            break
        if not chunk:
            closed = True
            break
        data += chunk
    writer.close()
    return data, closed


def get(path: str, port: int) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHOST: {ADDRESS}:{port}\r\nConnection: close\r\n\r\n".encode()


def split_response(data: bytes) -> tuple[str, dict[str, str], bytes]:
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode(errors="replace").split("\r\n")
    headers = {}
    for line in lines[1:]:
        key, _, value = line.partition(":")
        headers[key.strip().lower()] = value.strip()
    return lines[0], headers, body


GET_VALUES = "<Parameters>" + escape(cms_doc("ContentPathList", "ContentPath", ["/BBF/DSL/Line/#/"])) + "</Parameters>"


class SloppyDeviceTests(unittest.IsolatedAsyncioTestCase):
    async def test_ssdp_quirks(self):
        async with Peer("sloppy_device.py", "--address", ADDRESS, "--quirks", "ssdp-no-final-crlf,ssdp-no-space") as peer:
            udn = peer.devices[0]["udn"].encode()
            replies = [r for r in await asyncio.to_thread(msearch, CMS) if udn in r]
            self.assertTrue(replies)
            self.assertIn(b"\r\nST:urn:schemas-upnp-org:service:ConfigurationManagement:2\r\n", replies[0])
            self.assertFalse(replies[0].endswith(b"\r\n\r\n"), replies[0][-20:])
            await peer.command("quirks 0 none")
            replies = [r for r in await asyncio.to_thread(msearch, CMS) if udn in r]
            self.assertIn(b"\r\nST: urn:schemas-upnp-org:service:ConfigurationManagement:2\r\n", replies[0])
            self.assertTrue(replies[0].endswith(b"\r\n\r\n"))

    async def test_http_framing_quirks(self):
        async with Peer("sloppy_device.py", "--address", ADDRESS, "--quirks", "short-body") as peer:
            port = peer.devices[0]["http_port"]
            status, headers, body = split_response(await raw_http(port, get("/description.xml", port)))
            self.assertEqual(int(headers["content-length"]), len(body) + 335)
            from async_upnp_client.exceptions import UpnpError
            with self.assertRaises((UpnpError, Exception)):
                await create_device(peer.devices[0]["location"])  # aiohttp is strict about the length
            await peer.command("quirks 0 http10-no-length")
            reply = await raw_http(port, post("/upnp/control/cms", port, CMS, "GetValues", GET_VALUES))
            status, headers, body = split_response(reply)
            self.assertEqual(status, "HTTP/1.0 200 OK")
            self.assertNotIn("content-length", headers)
            ET.fromstring(body)  # complete at close
            await peer.command("quirks 0 empty-content-length")
            reply = await raw_http(port, post("/upnp/control/cms", port, CMS, "GetValues", GET_VALUES))
            self.assertIn(b"\r\nCONTENT-LENGTH: \r\n", reply)
            ET.fromstring(split_response(reply)[2])

    async def test_xml_quirks(self):
        async with Peer("sloppy_device.py", "--address", ADDRESS, "--quirks", "unescaped-xml,padded-values") as peer:
            port = peer.devices[0]["http_port"]
            body = split_response(await raw_http(port, post("/upnp/control/cms", port, CMS, "GetValues", GET_VALUES)))[2]
            argument = ET.fromstring(body).find(".//ParameterValueList")
            embedded = list(argument)
            self.assertEqual(embedded[0].tag, f"{{{NS}}}ParameterValueList")  # an element, not escaped text
            values = {p.findtext("ParameterPath"): p.findtext("Value") for p in embedded[0]}
            self.assertEqual(values["/BBF/DSL/Line/0/UpstreamCurrRate"], " 8 ")
            await peer.command("quirks 0 none")
            body = split_response(await raw_http(port, post("/upnp/control/cms", port, CMS, "GetValues", GET_VALUES)))[2]
            argument = ET.fromstring(body).find(".//ParameterValueList")
            self.assertEqual(list(argument), [])
            self.assertEqual(parse_values(argument.text)["/BBF/DSL/Line/0/UpstreamCurrRate"], "8")
            # Clean framing: async-upnp-client handles the device end to end.
            device, _ = await create_device(peer.devices[0]["location"])
            result = await device.service(CMS).action("GetValues").async_call(
                Parameters=cms_doc("ContentPathList", "ContentPath", ["/UPnP/DM/DeviceInfo/SerialNumber"]))
            self.assertEqual(parse_values(result["ParameterValueList"]), {"/UPnP/DM/DeviceInfo/SerialNumber": "SLOPPY0001"})


class HostileDeviceTests(unittest.IsolatedAsyncioTestCase):
    async def test_every_mode_on_the_description(self):
        import defusedxml.ElementTree as DET
        async with Peer("hostile_device.py", "--address", ADDRESS, "--mode", "xxe", "--slow-interval", "0.5") as peer:
            port = peer.devices[0]["http_port"]
            body = split_response(await raw_http(port, get("/description.xml", port)))[2]
            self.assertIn(b'<!ENTITY xxe SYSTEM "file:///etc/passwd">', body)
            with self.assertRaises(Exception):
                DET.fromstring(body)
            await peer.command("mode 0 entity-bomb")
            body = split_response(await raw_http(port, get("/description.xml", port)))[2]
            self.assertIn(b"<!ENTITY lol9", body)
            with self.assertRaises(Exception):
                DET.fromstring(body)
            await peer.command("mode 0 wrong-content-type")
            self.assertEqual(split_response(await raw_http(port, get("/description.xml", port)))[1]["content-type"], "image/png")
            await peer.command("mode 0 huge")
            data, closed = await read_capped(port, get("/description.xml", port), 1 << 20, 10)
            self.assertEqual(split_response(data)[1]["content-length"], str(64 << 20))
            self.assertFalse(closed)
            await peer.command("mode 0 endless")
            data, closed = await read_capped(port, get("/description.xml", port), 2 << 20, 10)
            self.assertEqual(split_response(data)[1]["transfer-encoding"], "chunked")
            body = split_response(data)[2]
            for _ in range(3):  # the framing itself is valid: size line, that many bytes, CRLF
                size_line, _, rest = body.partition(b"\r\n")
                size = int(size_line, 16)
                self.assertEqual(rest[size:size + 2], b"\r\n")
                body = rest[size + 2:]
            self.assertEqual((len(data), closed), (2 << 20, False))
            await peer.command("mode 0 endless-headers")
            data, closed = await read_capped(port, get("/description.xml", port), 1 << 20, 10)
            self.assertNotIn(b"\r\n\r\n", data)
            self.assertFalse(closed)
            await peer.command("mode 0 slowloris")
            data, closed = await read_capped(port, get("/description.xml", port), 1 << 20, 1.2)
            self.assertTrue(data.startswith(b"H") and len(data) <= 4, data)
            await asyncio.sleep(0.5)
            status = (await peer.command("status 0"))["status"][0]
            self.assertGreaterEqual(status["abandoned"], 3)  # the reader gave up, not the device

    async def test_soap_target_passes_the_description(self):
        async with Peer("hostile_device.py", "--address", ADDRESS, "--mode", "deep-nesting", "--target", "soap") as peer:
            port = peer.devices[0]["http_port"]
            device, _ = await create_device(peer.devices[0]["location"])  # description and SCPD are normal
            self.assertEqual(device.device_type, MANAGEABLE)
            body = split_response(await raw_http(port, post("/upnp/control/cms", port, CMS, "GetValues", GET_VALUES)))[2]
            self.assertEqual(body.count(b"<a>"), 100_000)
            await peer.command("mode 0 malformed soap")
            body = split_response(await raw_http(port, post("/upnp/control/cms", port, CMS, "GetValues", GET_VALUES)))[2]
            with self.assertRaises(ET.ParseError):
                ET.fromstring(body)
            await peer.command("mode 0 empty soap")
            status, headers, body = split_response(await raw_http(port, post("/upnp/control/cms", port, CMS, "GetValues", GET_VALUES)))
            self.assertEqual((status, headers["content-length"], body), ("HTTP/1.1 200 OK", "0", b""))
            await peer.command("mode 0 wrong-response soap")
            body = split_response(await raw_http(port, post("/upnp/control/cms", port, CMS, "GetValues", GET_VALUES)))[2]
            self.assertIn(b"SetValuesResponse", body)
            await peer.command("mode 0 http-503 soap")
            self.assertTrue((await raw_http(port, post("/upnp/control/cms", port, CMS, "GetValues", GET_VALUES))).startswith(b"HTTP/1.1 503"))
            await peer.command("mode 0 bogus-fault soap")
            reply = await raw_http(port, post("/upnp/control/cms", port, CMS, "GetValues", GET_VALUES))
            self.assertTrue(reply.startswith(b"HTTP/1.1 500") and b"<errorCode>abc</errorCode>" in reply)
            await peer.command("mode 0 xxe soap")
            body = split_response(await raw_http(port, post("/upnp/control/cms", port, CMS, "GetValues", GET_VALUES)))[2]
            self.assertIn(b"<ParameterValueList>&xxe;</ParameterValueList>", body)


@unittest.skipUnless(os.path.exists("/usr/bin/rygel"), "rygel is not installed (apt-get install rygel iputils-ping)")
class RygelTests(unittest.IsolatedAsyncioTestCase):
    async def test_ping_round_trip_and_faults(self):
        port = str(free_tcp_port())
        async with Peer("rygel/rygel_bms.py", "--interface", "lo", "--address", ADDRESS, "--port", port) as peer:
            device, requester = await create_device(peer.devices[0]["location"])
            self.assertEqual(device.device_type, "urn:schemas-upnp-org:device:MediaServer:3")
            bms = device.service(BMS)
            self.assertRegex((await bms.action("GetDeviceStatus").async_call())["DeviceStatus"], r"^OK,")
            test_id = (await bms.action("Ping").async_call(Host=ADDRESS, NumberOfRepetitions=2, Timeout=1000,
                                                           DataBlockSize=32, DSCP=0))["TestID"]

            async def completed():
                return (await bms.action("GetTestInfo").async_call(TestID=test_id))["State"] == "Completed"
            await poll(completed, timeout=20, interval=0.2)
            result = await bms.action("GetPingResult").async_call(TestID=test_id)
            self.assertEqual((result["Status"], result["SuccessCount"]), ("Success", 2), result)
            from async_upnp_client.exceptions import UpnpActionResponseError
            with self.assertRaises(UpnpActionResponseError) as ctx:
                await bms.action("GetTestInfo").async_call(TestID=99999)
            self.assertEqual(ctx.exception.error_code, 706)
            with self.assertRaises(UpnpActionResponseError) as ctx:
                await bms.action("CancelTest").async_call(TestID=test_id)
            self.assertEqual(ctx.exception.error_code, 709)
            async with EventSink(requester) as sink:
                sink.watch(bms)
                sid, timeout = await sink.handler.async_subscribe(bms, timedelta(seconds=120))
                self.assertTrue(sid.startswith("uuid:"))
                self.assertEqual(timeout, timedelta(seconds=300))  # GUPnP grants 300 s whatever is asked
                await sink.wait_for(lambda e: "TestIDs" in e[1])


def free_tcp_port() -> int:
    with socket.socket() as probe:
        probe.bind((ADDRESS, 0))
        return probe.getsockname()[1]


if __name__ == "__main__":
    enter_namespace()
    sys.path.insert(0, HERE)
    unittest.main()
