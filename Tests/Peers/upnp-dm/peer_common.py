"""Shared plumbing of sloppy_device.py and hostile_device.py: a pinned SSDP responder and announcer written on plain
asyncio sockets (these peers must be able to send what no UPnP stack would), a one-request-per-connection HTTP
server that hands the raw connection to the peer, the description and SCPD documents (built with xml.etree), and the
stdout/stdin protocol shared with dm_device.py (JSON lines out, commands in, EOF = stop).
"""
import asyncio
import json
import signal
import socket
import sys
from email.utils import formatdate
from typing import Awaitable, Callable
from uuid import uuid4
import xml.etree.ElementTree as ET

SSDP_GROUP = "239.255.255.250"
SSDP_PORT = 1900
DEVICE_TYPE = "urn:schemas-upnp-org:device:ManageableDevice:2"
CMS_TYPE = "urn:schemas-upnp-org:service:ConfigurationManagement:2"
SERVER = "Linux/6 UPnP/1.1 cwmp-proxy-testpeer/1.0"


def emit(obj: dict) -> None:
    print(json.dumps(obj), flush=True)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ---- SSDP -----------------------------------------------------------------------------------------------------------
def multicast_socket(address: str) -> socket.socket:
    """A socket bound to :1900, member of the SSDP group on `address` only, sending out of `address`."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("", SSDP_PORT))
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
                    socket.inet_aton(SSDP_GROUP) + socket.inet_aton(address))
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(address))
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 2)
    sock.setblocking(False)
    return sock


class SSDPDevice:
    """Answers M-SEARCH and announces one root device with one service. `format_packet` lets a peer break the
    framing (sloppy_device.py's SSDP quirks)."""

    def __init__(self, address: str, udn: str, location: str, services: list[str], max_age: int,
                 announce_interval: float, boot_id: int = 1,
                 format_packet: Callable[[str, list[tuple[str, str]]], bytes] | None = None):
        self.address = address
        self.udn = udn
        self.location = location
        self.services = services
        self.max_age = max_age
        self.announce_interval = announce_interval
        self.boot_id = boot_id
        self.format_packet = format_packet or standard_packet
        self.sock: socket.socket | None = None
        self.tasks: list[asyncio.Task] = []

    def targets(self) -> list[tuple[str, str]]:
        """(NT/ST, USN) pairs: 3 + k for a root device without embedded devices."""
        pairs = [("upnp:rootdevice", f"{self.udn}::upnp:rootdevice"), (self.udn, self.udn),
                 (DEVICE_TYPE, f"{self.udn}::{DEVICE_TYPE}")]
        pairs += [(service, f"{self.udn}::{service}") for service in self.services]
        return pairs

    def matches(self, st: str) -> list[tuple[str, str]]:
        pairs = self.targets()
        if st == "ssdp:all":
            return pairs
        out = []
        for nt, usn in pairs:
            base, _, version = nt.rpartition(":")
            if st == nt or (version.isdigit() and st.startswith(base + ":") and st[len(base) + 1:].isdigit()
                            and int(st[len(base) + 1:]) <= int(version)):
                out.append((st, usn))
        return out

    def common(self) -> list[tuple[str, str]]:
        return [("CACHE-CONTROL", f"max-age={self.max_age}"), ("LOCATION", self.location), ("SERVER", SERVER),
                ("BOOTID.UPNP.ORG", str(self.boot_id)), ("CONFIGID.UPNP.ORG", "1")]

    async def start(self) -> None:
        self.sock = multicast_socket(self.address)
        self.tasks = [asyncio.create_task(self._serve()), asyncio.create_task(self._announce())]

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        if self.sock:
            for nt, usn in self.targets():
                packet = self.format_packet("NOTIFY * HTTP/1.1", [
                    ("HOST", f"{SSDP_GROUP}:{SSDP_PORT}"), ("NT", nt), ("NTS", "ssdp:byebye"), ("USN", usn),
                    ("BOOTID.UPNP.ORG", str(self.boot_id)), ("CONFIGID.UPNP.ORG", "1")])
                self.sock.sendto(packet, (SSDP_GROUP, SSDP_PORT))
            self.sock.close()
            self.sock = None

    async def _announce(self) -> None:
        while True:
            for nt, usn in self.targets():
                packet = self.format_packet("NOTIFY * HTTP/1.1", [("HOST", f"{SSDP_GROUP}:{SSDP_PORT}")] + self.common()
                                            + [("NT", nt), ("NTS", "ssdp:alive"), ("USN", usn)])
                self.sock.sendto(packet, (SSDP_GROUP, SSDP_PORT))
            await asyncio.sleep(self.announce_interval)

    async def _serve(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            data, sender = await loop.sock_recvfrom(self.sock, 8192)
            text = data.decode(errors="replace")
            if not text.startswith("M-SEARCH * HTTP/1.1"):
                continue
            headers = parse_headers(text)
            if headers.get("man", "").strip() != '"ssdp:discover"':
                continue
            answers = self.matches(headers.get("st", "").strip())
            if not answers:
                continue
            try:
                mx = max(0, min(5, int(headers.get("mx", "0"))))
            except ValueError:
                mx = 0
            asyncio.create_task(self._reply(answers, sender, mx))

    async def _reply(self, answers: list[tuple[str, str]], sender, mx: int) -> None:
        if mx:
            await asyncio.sleep(min(0.2, mx / 4))
        for st, usn in answers:
            packet = self.format_packet("HTTP/1.1 200 OK", self.common()[:1] + [
                ("DATE", formatdate(usegmt=True)), ("EXT", "")] + self.common()[1:] + [("ST", st), ("USN", usn)])
            self.sock.sendto(packet, sender)


def standard_packet(start_line: str, headers: list[tuple[str, str]]) -> bytes:
    return (start_line + "\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n").encode()


def parse_headers(text: str) -> dict[str, str]:
    headers = {}
    for line in text.split("\r\n")[1:]:
        if ":" in line:
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
    return headers


# ---- HTTP -----------------------------------------------------------------------------------------------------------
class Request:
    def __init__(self, method: str, path: str, headers: dict[str, str], body: bytes):
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body

    @property
    def soap_action(self) -> str:
        return self.headers.get("soapaction", "").strip().strip('"').rpartition("#")[2]


Handler = Callable[[Request, asyncio.StreamWriter], Awaitable[None]]


# How long a peer waits for a request after accepting a connection. Generous on purpose: on a loaded test machine
# the client's task may run seconds after its connect completed, and the peer must not be the one that gives up.
REQUEST_TIMEOUT = 60


async def read_request(reader: asyncio.StreamReader) -> Request | None:
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), REQUEST_TIMEOUT)
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, asyncio.TimeoutError, ConnectionError):
        return None
    lines = head.decode(errors="replace").split("\r\n")
    method, path, *_ = (lines[0].split(" ") + ["", ""])[:3]
    headers = parse_headers(head.decode(errors="replace"))
    body = b""
    length = headers.get("content-length", "")
    if length.isdigit() and int(length) > 0:
        try:
            body = await asyncio.wait_for(reader.readexactly(min(int(length), 1 << 20)), REQUEST_TIMEOUT)
        except (asyncio.IncompleteReadError, asyncio.TimeoutError):
            return None
    return Request(method, path, headers, body)


async def serve_http(address: str, port: int, handler: Handler) -> asyncio.AbstractServer:
    """One request per connection; the handler writes whatever bytes it wants and the connection is then closed."""
    async def on_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await read_request(reader)
            if request is not None:
                await handler(request, writer)
        except (ConnectionError, asyncio.CancelledError):
            pass
        except Exception as error:  # noqa: BLE001 - one bad exchange must not stop the peer
            log(f"handler failed: {type(error).__name__}: {error}")
        finally:
            try:
                writer.close()
            except Exception:  # noqa: BLE001
                pass
    return await asyncio.start_server(on_connection, address, port, reuse_address=True)


def response_head(status: str, headers: list[tuple[str, str]], version: str = "HTTP/1.1") -> bytes:
    return (f"{version} {status}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n").encode()


def simple_response(body: bytes, content_type: str = 'text/xml; charset="utf-8"', status: str = "200 OK") -> bytes:
    return response_head(status, [("CONTENT-TYPE", content_type), ("CONTENT-LENGTH", str(len(body))),
                                  ("SERVER", SERVER), ("CONNECTION", "close")]) + body


# ---- documents ------------------------------------------------------------------------------------------------------
def description(udn: str, friendly_name: str, serial: str, base: str, model: str) -> bytes:
    ns = "urn:schemas-upnp-org:device-1-0"
    root = ET.Element("root", xmlns=ns)
    spec = ET.SubElement(root, "specVersion")
    ET.SubElement(spec, "major").text = "1"
    ET.SubElement(spec, "minor").text = "1"
    device = ET.SubElement(root, "device")
    for tag, text in (("deviceType", DEVICE_TYPE), ("friendlyName", friendly_name),
                      ("manufacturer", "cwmp-proxy test lab"), ("modelName", model), ("serialNumber", serial),
                      ("UDN", udn)):
        ET.SubElement(device, tag).text = text
    services = ET.SubElement(device, "serviceList")
    service = ET.SubElement(services, "service")
    for tag, text in (("serviceType", CMS_TYPE), ("serviceId", "urn:upnp-org:serviceId:ConfigurationManagement"),
                      ("SCPDURL", "/cms.xml"), ("controlURL", f"{base}/upnp/control/cms"),  # absolute, as gwsim
                      ("eventSubURL", "/upnp/event/cms")):
        ET.SubElement(service, tag).text = text
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


CMS_SCPD_ACTIONS = {
    "GetSupportedDataModels": ([], [("SupportedDataModels", "A_ARG_TYPE_SupportedDataModels")]),
    "GetSupportedParameters": ([("StartingNode", "A_ARG_TYPE_StructurePath"), ("SearchDepth", "A_ARG_TYPE_SearchDepth")],
                               [("Result", "A_ARG_TYPE_StructurePathList")]),
    "GetValues": ([("Parameters", "A_ARG_TYPE_ContentPathList")],
                  [("ParameterValueList", "A_ARG_TYPE_ParameterValueList")]),
}


def cms_scpd() -> bytes:
    root = ET.Element("scpd", xmlns="urn:schemas-upnp-org:service-1-0")
    spec = ET.SubElement(root, "specVersion")
    ET.SubElement(spec, "major").text = "1"
    ET.SubElement(spec, "minor").text = "1"
    actions = ET.SubElement(root, "actionList")
    variables: set[str] = set()
    for name, (ins, outs) in CMS_SCPD_ACTIONS.items():
        action = ET.SubElement(actions, "action")
        ET.SubElement(action, "name").text = name
        arguments = ET.SubElement(action, "argumentList")
        for direction, args in (("in", ins), ("out", outs)):
            for arg, variable in args:
                argument = ET.SubElement(arguments, "argument")
                ET.SubElement(argument, "name").text = arg
                ET.SubElement(argument, "direction").text = direction
                ET.SubElement(argument, "relatedStateVariable").text = variable
                variables.add(variable)
    table = ET.SubElement(root, "serviceStateTable")
    for variable in sorted(variables):
        element = ET.SubElement(table, "stateVariable", sendEvents="no")
        ET.SubElement(element, "name").text = variable
        ET.SubElement(element, "dataType").text = "ui4" if variable == "A_ARG_TYPE_SearchDepth" else "string"
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"


def soap_envelope(action: str, service_type: str, arguments: list[tuple[str, str | ET.Element]]) -> bytes:
    """`<u:ActionResponse>` with the out arguments: a str is escaped text (the standard form), an Element is
    embedded as a child (the unescaped form some devices send)."""
    envelope = ET.Element(f"{{{SOAP_NS}}}Envelope", {f"{{{SOAP_NS}}}encodingStyle": "http://schemas.xmlsoap.org/soap/encoding/"})
    body = ET.SubElement(envelope, f"{{{SOAP_NS}}}Body")
    response = ET.SubElement(body, f"{{{service_type}}}{action}Response")
    for name, value in arguments:
        element = ET.SubElement(response, name)
        if isinstance(value, ET.Element):
            element.append(value)
        else:
            element.text = value
    ET.register_namespace("s", SOAP_NS)
    ET.register_namespace("u", service_type)
    return ET.tostring(envelope, encoding="utf-8", xml_declaration=True)


def soap_fault(code: int, description: str) -> bytes:
    envelope = ET.Element(f"{{{SOAP_NS}}}Envelope")
    body = ET.SubElement(envelope, f"{{{SOAP_NS}}}Body")
    fault = ET.SubElement(body, f"{{{SOAP_NS}}}Fault")
    ET.SubElement(fault, "faultcode").text = "s:Client"
    ET.SubElement(fault, "faultstring").text = "UPnPError"
    detail = ET.SubElement(fault, "detail")
    error = ET.SubElement(detail, "{urn:schemas-upnp-org:control-1-0}UPnPError")
    ET.SubElement(error, "{urn:schemas-upnp-org:control-1-0}errorCode").text = str(code)
    ET.SubElement(error, "{urn:schemas-upnp-org:control-1-0}errorDescription").text = description
    ET.register_namespace("s", SOAP_NS)
    return ET.tostring(envelope, encoding="utf-8", xml_declaration=True)


# ---- process --------------------------------------------------------------------------------------------------------
def free_port(address: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((address, 0))
        return probe.getsockname()[1]


async def run_peer(start: Callable[[], Awaitable[list[dict]]], stop: Callable[[], Awaitable[None]],
                   command: Callable[[list[str]], Awaitable[dict]] | None = None) -> int:
    """Start, print the ready lines, serve stdin commands until `stop`, EOF, SIGTERM or SIGINT; then stop."""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    devices = await start()
    for device in devices:
        emit({"event": "ready", **device})
    emit({"event": "all-ready", "count": len(devices)})

    async def commands() -> None:
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        while True:
            line = await reader.readline()
            if not line:
                stopping.set()
                return
            words = line.decode().split()
            if not words:
                continue
            if words[0] == "stop":
                emit({"ok": True, "cmd": "stop"})
                stopping.set()
                return
            if words[0] == "list":
                emit({"ok": True, "cmd": "list", "devices": devices})
                continue
            try:
                if command is None:
                    raise ValueError(f"unknown command {words[0]!r}")
                emit({"ok": True, "cmd": words[0], **(await command(words))})
            except Exception as error:  # noqa: BLE001 - reported, not fatal
                emit({"ok": False, "error": str(error), "line": line.decode().strip()})

    task = asyncio.create_task(commands())
    await stopping.wait()
    task.cancel()
    await stop()
    emit({"event": "stopped"})
    return 0


def unblock_signals() -> None:
    # A child of the Swift test runner may inherit a blocked SIGTERM (see ACSPeer.swift); take it back.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})


def new_udn() -> str:
    return f"uuid:{uuid4()}"

