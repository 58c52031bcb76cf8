#!/usr/bin/env python3
"""cwmp-proxy's own ACS test peer: a TR-069 (CWMP) ACS for integration tests and benchmarks.

Standard library only (Python 3.11): CI installs nothing for it. It binds to loopback only
unless --allow-non-loopback is given, and it never contacts anything but the connection
request URLs a test asks it to call (loopback only as well).

The first line on stdout is `LISTENING <host> <port>`, the second `CONTROL <host> <port>`,
so a test that passes --port 0 can read the ports it got. Logs go to stderr and never
contain passwords. See README.md next to this file for flags and the control API.

Why asyncio streams: one coroutine per TCP connection gives the per-connection session state
GenieACS has (a CWMP session lives on one TCP connection) without locks, and keep-alive is a
loop. The --minimal fast path is a bare asyncio.Protocol, because the stream machinery and
the XML parse cost more than the benchmarks can afford.
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import functools
import gzip
import hashlib
import hmac
import http.client
import ipaddress
import json
import os
import re
import secrets
import signal
import ssl
import sys
import time
import urllib.parse
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from xml.sax.saxutils import escape as _xml_escape

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP_ENC = "http://schemas.xmlsoap.org/soap/encoding/"
XSD_NS = "http://www.w3.org/2001/XMLSchema"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
# CWMP 1.3 and 1.4 still use the cwmp-1-2 namespace (cwmp.md §1): there is no cwmp-1-3/1-4 URN.
CWMP_NAMESPACES = ("urn:dslforum-org:cwmp-1-0", "urn:dslforum-org:cwmp-1-1", "urn:dslforum-org:cwmp-1-2")

MAX_HEADER_BYTES = 64 * 1024
MAX_BODY_BYTES = 16 * 1024 * 1024
GPV_BATCH = 32  # GenieACS asks for at most 32 parameter names per GetParameterValues
SESSION_COOKIE = "session"

# ACS methods a CPE may call, per namespace (cwmp-1-N.xsd element lists).
ACS_METHODS = {
    "urn:dslforum-org:cwmp-1-0": ["Inform", "GetRPCMethods", "TransferComplete", "RequestDownload"],
    "urn:dslforum-org:cwmp-1-1": ["Inform", "GetRPCMethods", "TransferComplete", "AutonomousTransferComplete",
                                  "RequestDownload"],
    "urn:dslforum-org:cwmp-1-2": ["Inform", "GetRPCMethods", "TransferComplete", "AutonomousTransferComplete",
                                  "RequestDownload", "DUStateChangeComplete", "AutonomousDUStateChangeComplete"],
}
# CPE requests whose response is an empty element.
EMPTY_RESPONSE_REQUESTS = {"TransferComplete", "AutonomousTransferComplete", "RequestDownload",
                           "DUStateChangeComplete", "AutonomousDUStateChangeComplete"}
VALUE_TYPES = {"string", "int", "unsignedInt", "long", "unsignedLong", "boolean", "dateTime", "base64", "hexBinary"}


def esc(value: object) -> str:
    return _xml_escape(str(value))


def local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def ns_of(tag: str) -> str:
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else ""


def child(elem: ET.Element | None, name: str) -> ET.Element | None:
    # Children of CWMP RPC elements are unqualified, but be lenient with CPEs that qualify them.
    if elem is None:
        return None
    for c in elem:
        if local(c.tag) == name:
            return c
    return None


def kids(elem: ET.Element | None) -> list[ET.Element]:
    return [] if elem is None else list(elem)


def text(elem: ET.Element | None, name: str, default: str = "") -> str:
    c = child(elem, name)
    return default if c is None or c.text is None else c.text


def log(*parts: object) -> None:
    print("acs-peer:", *parts, file=sys.stderr, flush=True)


def is_loopback_host(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # no DNS lookups: a name other than localhost is not trusted to be loopback


# ---------------------------------------------------------------------------------------------
# Envelope writing

def envelope(ns: str, cwmp_id: str | None, body: str, extra_header: str = "") -> bytes:
    """A SOAP 1.1 envelope with GenieACS's prefixes (soap-env, soap-enc, xsd, xsi, cwmp)."""
    header = ""
    if cwmp_id is not None:
        header += f'<cwmp:ID soap-env:mustUnderstand="1">{esc(cwmp_id)}</cwmp:ID>'
    header += extra_header
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<soap-env:Envelope xmlns:soap-env="{SOAP_ENV}" xmlns:soap-enc="{SOAP_ENC}" '
        f'xmlns:xsd="{XSD_NS}" xmlns:xsi="{XSI_NS}" xmlns:cwmp="{ns}">'
        f"<soap-env:Header>{header}</soap-env:Header>"
        f"<soap-env:Body>{body}</soap-env:Body></soap-env:Envelope>"
    ).encode()


def fault_body(code: int, string: str) -> str:
    # ACS faults 8000-8006: 8005 (retry) and 8004 (resources) are Server faults, the rest Client.
    kind = "Server" if code in (8001, 8004, 8005) else "Client"
    return (f"<soap-env:Fault><faultcode>{kind}</faultcode><faultstring>CWMP fault</faultstring>"
            f"<detail><cwmp:Fault><FaultCode>{code}</FaultCode><FaultString>{esc(string)}</FaultString>"
            f"</cwmp:Fault></detail></soap-env:Fault>")


def string_array(tag: str, items: list[str]) -> str:
    inner = "".join(f"<string>{esc(s)}</string>" for s in items)
    return f'<{tag} soap-enc:arrayType="xsd:string[{len(items)}]">{inner}</{tag}>'


def xsd_value(value: object, type_name: str | None) -> tuple[str, str]:
    """Pick the xsi:type of a ParameterValueStruct Value (cwmp.md §2: it MUST be present)."""
    if type_name:
        t = type_name.split(":", 1)[-1]
        if t not in VALUE_TYPES:
            raise ValueError(f"unknown value type {type_name!r}")
        if isinstance(value, bool):
            value = "true" if value else "false"
        return f"xsd:{t}", str(value)
    if isinstance(value, bool):
        return "xsd:boolean", "true" if value else "false"
    if isinstance(value, int):
        return ("xsd:int" if -2**31 <= value < 2**31 else "xsd:long"), str(value)
    if isinstance(value, str):
        return "xsd:string", value
    raise ValueError(f"cannot infer an xsd type for {value!r}; give 'type'")


def _str(args: dict, key: str, default: str = "", max_len: int | None = None) -> str:
    v = args.get(key, default)
    if not isinstance(v, str):
        raise ValueError(f"{key} must be a string")
    if max_len is not None and len(v) > max_len:
        raise ValueError(f"{key} longer than {max_len}")
    return v


def _uint(args: dict, key: str, default: int = 0) -> int:
    v = args.get(key, default)
    if not isinstance(v, int) or isinstance(v, bool) or v < 0 or v > 0xFFFFFFFF:
        raise ValueError(f"{key} must be an unsigned int")
    return v


def _names(args: dict, key: str = "names", allow_empty: bool = False) -> list[str]:
    v = args.get(key)
    if not isinstance(v, list) or not all(isinstance(n, str) for n in v) or (not v and not allow_empty):
        raise ValueError(f"{key} must be a non-empty list of strings")
    return v


def build_rpcs(desc: dict) -> list[tuple[str, dict, str]]:
    """JSON description → [(method, normalised args, body XML)]. GPV is split into batches of 32."""
    if not isinstance(desc, dict) or not isinstance(desc.get("method"), str):
        raise ValueError("an RPC is an object with a 'method' string")
    m = desc["method"]
    if m == "GetParameterValues":
        names = _names(desc)
        batch = _uint(desc, "batch", GPV_BATCH) or GPV_BATCH
        out = []
        for i in range(0, len(names), batch):
            chunk = names[i:i + batch]
            out.append((m, {"names": chunk},
                        f"<cwmp:GetParameterValues>{string_array('ParameterNames', chunk)}</cwmp:GetParameterValues>"))
        return out
    if m == "SetParameterValues":
        raw = desc.get("values")
        if isinstance(raw, dict):
            raw = [{"name": k, "value": v} for k, v in raw.items()]
        if not isinstance(raw, list) or not raw:
            raise ValueError("values must be a non-empty list of {name, value, type?} or [name, value, type?]")
        items, norm = [], []
        for entry in raw:
            if isinstance(entry, list):
                entry = {"name": entry[0], "value": entry[1], "type": entry[2] if len(entry) > 2 else None}
            name = _str(entry, "name", max_len=256)
            t, v = xsd_value(entry.get("value"), entry.get("type"))
            norm.append({"name": name, "value": v, "type": t})
            items.append(f'<ParameterValueStruct><Name>{esc(name)}</Name><Value xsi:type="{t}">{esc(v)}</Value>'
                         "</ParameterValueStruct>")
        key = _str(desc, "parameter_key", "", 32)
        body = (f'<cwmp:SetParameterValues><ParameterList soap-enc:arrayType="cwmp:ParameterValueStruct[{len(items)}]">'
                f'{"".join(items)}</ParameterList><ParameterKey>{esc(key)}</ParameterKey></cwmp:SetParameterValues>')
        return [(m, {"values": norm, "parameter_key": key}, body)]
    if m == "GetParameterNames":
        path = _str(desc, "path", "", 256)
        nl = desc.get("next_level", False)
        if not isinstance(nl, bool):
            raise ValueError("next_level must be a boolean")
        return [(m, {"path": path, "next_level": nl},
                 f"<cwmp:GetParameterNames><ParameterPath>{esc(path)}</ParameterPath>"
                 f"<NextLevel>{'true' if nl else 'false'}</NextLevel></cwmp:GetParameterNames>")]
    if m == "GetParameterAttributes":
        names = _names(desc)
        return [(m, {"names": names},
                 f"<cwmp:GetParameterAttributes>{string_array('ParameterNames', names)}</cwmp:GetParameterAttributes>")]
    if m == "SetParameterAttributes":
        attrs = desc.get("attributes")
        if not isinstance(attrs, list) or not attrs:
            raise ValueError("attributes must be a non-empty list of {name, notification?, access_list?}")
        items = []
        for a in attrs:
            name = _str(a, "name", max_len=256)
            notif = a.get("notification")
            if notif is not None and (not isinstance(notif, int) or not 0 <= notif <= 6):
                raise ValueError("notification must be 0..6")
            acl = a.get("access_list")
            if acl is not None and (not isinstance(acl, list) or not all(isinstance(s, str) for s in acl)):
                raise ValueError("access_list must be a list of strings")
            items.append(
                f"<SetParameterAttributesStruct><Name>{esc(name)}</Name>"
                f"<NotificationChange>{'false' if notif is None else 'true'}</NotificationChange>"
                f"<Notification>{0 if notif is None else notif}</Notification>"
                f"<AccessListChange>{'false' if acl is None else 'true'}</AccessListChange>"
                f"{string_array('AccessList', acl or [])}</SetParameterAttributesStruct>")
        return [(m, {"attributes": attrs},
                 f'<cwmp:SetParameterAttributes><ParameterList soap-enc:arrayType="cwmp:SetParameterAttributesStruct'
                 f'[{len(items)}]">{"".join(items)}</ParameterList></cwmp:SetParameterAttributes>')]
    if m in ("AddObject", "DeleteObject"):
        obj = _str(desc, "object", max_len=256)
        if not obj.endswith("."):
            raise ValueError("object must end with '.'")
        key = _str(desc, "parameter_key", "", 32)
        return [(m, {"object": obj, "parameter_key": key},
                 f"<cwmp:{m}><ObjectName>{esc(obj)}</ObjectName><ParameterKey>{esc(key)}</ParameterKey></cwmp:{m}>")]
    if m == "Reboot":
        ck = _str(desc, "command_key", "", 32)
        return [(m, {"command_key": ck}, f"<cwmp:Reboot><CommandKey>{esc(ck)}</CommandKey></cwmp:Reboot>")]
    if m in ("FactoryReset", "GetRPCMethods"):
        return [(m, {}, f"<cwmp:{m}/>")]
    if m == "ScheduleInform":
        d, ck = _uint(desc, "delay_seconds", 0), _str(desc, "command_key", "", 32)
        return [(m, {"delay_seconds": d, "command_key": ck},
                 f"<cwmp:ScheduleInform><DelaySeconds>{d}</DelaySeconds><CommandKey>{esc(ck)}</CommandKey>"
                 "</cwmp:ScheduleInform>")]
    if m == "Download":
        a = {
            "command_key": _str(desc, "command_key", "", 32),
            "file_type": _str(desc, "file_type", "1 Firmware Upgrade Image", 64),
            "url": _str(desc, "url", max_len=256),
            "username": _str(desc, "username", "", 256),
            "password": _str(desc, "password", "", 256),
            "file_size": _uint(desc, "file_size", 0),
            "target_file_name": _str(desc, "target_file_name", "", 256),
            "delay_seconds": _uint(desc, "delay_seconds", 0),
            "success_url": _str(desc, "success_url", "", 256),
            "failure_url": _str(desc, "failure_url", "", 256),
        }
        if not re.fullmatch(r"[1-9]\d*( \S+)+", a["file_type"]):
            raise ValueError("file_type must look like '1 Firmware Upgrade Image'")
        body = ("<cwmp:Download>"
                f"<CommandKey>{esc(a['command_key'])}</CommandKey><FileType>{esc(a['file_type'])}</FileType>"
                f"<URL>{esc(a['url'])}</URL><Username>{esc(a['username'])}</Username>"
                f"<Password>{esc(a['password'])}</Password><FileSize>{a['file_size']}</FileSize>"
                f"<TargetFileName>{esc(a['target_file_name'])}</TargetFileName>"
                f"<DelaySeconds>{a['delay_seconds']}</DelaySeconds><SuccessURL>{esc(a['success_url'])}</SuccessURL>"
                f"<FailureURL>{esc(a['failure_url'])}</FailureURL></cwmp:Download>")
        shown = dict(a, password="***" if a["password"] else "")  # never echo a password back
        return [(m, shown, body)]
    if m == "Raw":
        # Escape hatch for negative tests: the body XML is sent as given (prefix cwmp is bound).
        body = _str(desc, "body")
        return [(_str(desc, "name", "Raw"), {"body": body}, body)]
    raise ValueError(f"unsupported method {m!r}")


# ---------------------------------------------------------------------------------------------
# Envelope reading

class BadEnvelope(Exception):
    pass


@dataclass
class Message:
    ns: str
    cwmp_id: str | None
    name: str  # local name of the Body's first element ("Fault" for soap-env:Fault)
    rpc: ET.Element
    headers: dict[str, str]


def parse_envelope(body: bytes) -> Message:
    # No DTDs at all: refuse them before expat sees them, so no entity is ever expanded.
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        raise BadEnvelope("DTDs are not allowed")
    try:
        root = ET.fromstring(body)
    except ET.ParseError as e:
        raise BadEnvelope(f"not XML: {e}") from None
    if root.tag != f"{{{SOAP_ENV}}}Envelope":
        raise BadEnvelope("not a SOAP 1.1 envelope")
    hdr_el = root.find(f"{{{SOAP_ENV}}}Header")
    body_el = root.find(f"{{{SOAP_ENV}}}Body")
    if body_el is None or len(body_el) == 0:
        raise BadEnvelope("empty SOAP Body")
    rpc = body_el[0]
    headers: dict[str, str] = {}
    ns = ""
    if hdr_el is not None:
        for h in hdr_el:
            if ns_of(h.tag) in CWMP_NAMESPACES:
                headers[local(h.tag)] = (h.text or "").strip()
                ns = ns or ns_of(h.tag)
    if ns_of(rpc.tag) in CWMP_NAMESPACES:
        ns = ns_of(rpc.tag)
    elif rpc.tag == f"{{{SOAP_ENV}}}Fault":
        for e in rpc.iter():
            if ns_of(e.tag) in CWMP_NAMESPACES:
                ns = ns_of(e.tag)
                break
    if not ns:
        raise BadEnvelope("no urn:dslforum-org:cwmp-1-N namespace")
    return Message(ns, headers.get("ID"), local(rpc.tag), rpc, headers)


def to_json(e: ET.Element) -> object:
    """Generic element → JSON: SOAP arrays become lists, structs dicts, leaves strings."""
    kids = list(e)
    if local(e.tag) == "ParameterValueStruct":
        v = child(e, "Value")
        t = v.get(f"{{{XSI_NS}}}type", "") if v is not None else ""
        return {"Name": text(e, "Name"), "Value": "" if v is None or v.text is None else v.text, "Type": t}
    if not kids:
        return e.text or ""
    if any(local(k) == "arrayType" for k in e.attrib):
        return [to_json(k) for k in kids]
    out: dict[str, object] = {}
    repeated: set[str] = set()
    for k in kids:
        name, val = local(k.tag), to_json(k)
        if name in repeated:
            out[name].append(val)  # type: ignore[union-attr]
        elif name in out:
            out[name] = [out[name], val]
            repeated.add(name)
        else:
            out[name] = val
    return out


def parse_fault(rpc: ET.Element) -> dict:
    detail = child(rpc, "detail")
    f = child(detail, "Fault")
    res = {"faultcode": text(rpc, "faultcode"), "faultstring": text(rpc, "faultstring"),
           "code": None, "string": "", "set_parameter_values_faults": []}
    if f is not None:
        try:
            res["code"] = int(text(f, "FaultCode", "0"))
        except ValueError:
            res["code"] = text(f, "FaultCode")
        res["string"] = text(f, "FaultString")
        for s in f:
            if local(s.tag) == "SetParameterValuesFault":
                res["set_parameter_values_faults"].append(
                    {"name": text(s, "ParameterName"), "code": text(s, "FaultCode"), "string": text(s, "FaultString")})
    return res


@functools.lru_cache(maxsize=256)
def pick_version(supported: str, highest: str) -> str | None:
    """The highest version the CPE offers that is not above ours (cached: CPEs send the same list)."""
    def key(v: str) -> tuple[int, ...]:
        try:
            return tuple(int(x) for x in v.split("."))
        except ValueError:
            return (-1,)
    mine = key(highest)
    usable = [v.strip() for v in supported.split(",") if key(v.strip()) != (-1,) and key(v.strip()) <= mine]
    return max(usable, key=key) if usable else None


def device_key(oui: str, product_class: str, serial: str) -> str:
    # GenieACS's device id: OUI-ProductClass-Serial (ProductClass omitted when empty), each part
    # percent-encoded and '-' escaped so the separators stay unambiguous.
    def q(s: str) -> str:
        return urllib.parse.quote(s, safe="").replace("-", "%2D")
    return f"{q(oui)}-{q(product_class)}-{q(serial)}" if product_class else f"{q(oui)}-{q(serial)}"


# ---------------------------------------------------------------------------------------------
# HTTP plumbing (shared by the CWMP and control listeners)

@dataclass
class Request:
    method: str
    target: str
    version: str
    headers: dict[str, str]
    body: bytes
    cookies: dict[str, str]

    @property
    def path(self) -> str:
        return urllib.parse.urlsplit(self.target).path

    @property
    def query(self) -> dict[str, str]:
        return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.target).query))

    def wants_close(self) -> bool:
        conn = self.headers.get("connection", "").lower()
        return "close" in conn or (self.version == "HTTP/1.0" and "keep-alive" not in conn)


@dataclass
class Reply:
    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    content_type: str = 'text/xml; charset="utf-8"'
    close: bool = False
    abort: bool = False  # drop the TCP connection without answering (failure injection)
    delay: float = 0.0


class HTTPError(Exception):
    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status


async def read_request(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> Request | None:
    """One HTTP/1.1 request; None on a clean EOF between requests."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as e:
        if not e.partial.strip():
            return None
        raise HTTPError(400, "truncated request head") from None
    except asyncio.LimitOverrunError:
        raise HTTPError(431, "request head too large") from None
    lines = head.decode("latin-1").split("\r\n")
    try:
        method, target, version = lines[0].split(" ", 2)
    except ValueError:
        raise HTTPError(400, "bad request line") from None
    headers: dict[str, str] = {}
    cookies: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise HTTPError(400, "bad header line")
        name, value = name.strip().lower(), value.strip()
        if name == "cookie":
            for part in value.split(";"):
                k, _, v = part.strip().partition("=")
                if k:
                    cookies[k] = v
        # Repeated headers are joined (RFC 9110 §5.3); WWW-Authenticate is not a request header.
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    if headers.get("expect", "").lower() == "100-continue":
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    te = headers.get("transfer-encoding", "").lower()
    if "chunked" in te:
        body = bytearray()
        for _ in range(100000):  # bounded: a chunked body has at most this many chunks
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while (await reader.readuntil(b"\r\n")) != b"\r\n":  # trailers
                    pass
                break
            if len(body) + size > MAX_BODY_BYTES:
                raise HTTPError(413, "body too large")
            body += await reader.readexactly(size)
            await reader.readexactly(2)
        data = bytes(body)
    else:
        try:
            length = int(headers.get("content-length", "0"))
        except ValueError:
            raise HTTPError(400, "bad Content-Length") from None
        if length < 0 or length > MAX_BODY_BYTES:
            raise HTTPError(413, "body too large")
        data = await reader.readexactly(length) if length else b""
    return Request(method, target, version, headers, data, cookies)


REASONS = {200: "OK", 204: "No Content", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found",
           405: "Method Not Allowed", 409: "Conflict", 411: "Length Required", 413: "Payload Too Large",
           431: "Request Header Fields Too Large", 500: "Internal Server Error", 502: "Bad Gateway",
           503: "Service Unavailable"}


def encode_reply(r: Reply) -> bytes:
    lines = [f"HTTP/1.1 {r.status} {REASONS.get(r.status, 'Status')}", "Server: cwmp-proxy-acs-peer"]
    if r.status != 204 and r.status >= 200:  # a 204 carries no Content-Length (RFC 9110 §8.6)
        lines.append(f"Content-Length: {len(r.body)}")
        if r.body:
            lines.append(f"Content-Type: {r.content_type}")
    lines += [f"{k}: {v}" for k, v in r.headers]
    if r.close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (r.body if r.status != 204 else b"")


def accepts_gzip(headers: dict[str, str]) -> bool:
    """Whether Accept-Encoding names gzip (or *) with a non-zero q (RFC 9110 §12.5.3)."""
    for item in headers.get("accept-encoding", "").split(","):
        coding, _, params = item.strip().partition(";")
        q = params.strip().lower()
        if coding.strip().lower() in ("gzip", "x-gzip", "*") and q not in ("q=0", "q=0.0", "q=0.00", "q=0.000"):
            return True
    return False


def gzip_reply(r: Reply) -> Reply:
    """The same answer with a gzip body (--gzip: as an ACS behind a compressing proxy sends it)."""
    return Reply(r.status, gzip.compress(r.body), r.headers + [("Content-Encoding", "gzip")], r.content_type,
                 r.close, r.abort, r.delay)


def json_reply(status: int, obj: object) -> Reply:
    return Reply(status, (json.dumps(obj, indent=1, sort_keys=True) + "\n").encode(), content_type="application/json")


# ---------------------------------------------------------------------------------------------
# HTTP authentication (RFC 7617 Basic, RFC 7616 Digest with qop=auth)

DIGEST_HASHES = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}


def parse_auth_params(s: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for m in re.finditer(r'([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))', s):
        out[m.group(1).lower()] = m.group(2).replace('\\"', '"') if m.group(2) is not None else m.group(3)
    return out


def digest_response(alg: str, user: str, realm: str, password: str, method: str, uri: str,
                    nonce: str, nc: str, cnonce: str, qop: str) -> str:
    h = lambda s: DIGEST_HASHES[alg](s.encode()).hexdigest()  # noqa: E731
    ha1, ha2 = h(f"{user}:{realm}:{password}"), h(f"{method}:{uri}")
    if not qop:  # RFC 2069 compatibility, only used when calling a CPE that offers no qop
        return h(f"{ha1}:{nonce}:{ha2}")
    return h(f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")


@dataclass
class Nonce:
    created: float
    last_nc: int = 0


class Authenticator:
    def __init__(self, mode: str, username: str, password: str, algorithms: list[str], realm: str,
                 nonce_lifetime: float):
        self.mode, self.username, self.password = mode, username, password
        self.algorithms, self.realm, self.nonce_lifetime = algorithms, realm, nonce_lifetime
        self.nonces: dict[str, Nonce] = {}
        self.opaque = secrets.token_hex(8)

    def challenge(self, stale: bool = False) -> list[tuple[str, str]]:
        if self.mode == "basic":
            return [("WWW-Authenticate", f'Basic realm="{self.realm}", charset="UTF-8"')]
        self._prune()
        nonce = secrets.token_hex(16)
        self.nonces[nonce] = Nonce(time.monotonic())
        # One challenge per algorithm, preferred first (RFC 7616 §3.7); the same nonce serves both.
        return [("WWW-Authenticate",
                 f'Digest realm="{self.realm}", qop="auth", algorithm={alg}, nonce="{nonce}", '
                 f'opaque="{self.opaque}"' + (", stale=true" if stale else "")) for alg in self.algorithms]

    def _prune(self) -> None:
        if len(self.nonces) < 10000:
            return
        horizon = time.monotonic() - 2 * self.nonce_lifetime
        self.nonces = {k: v for k, v in self.nonces.items() if v.created > horizon}
        while len(self.nonces) > 100000:  # bounded even under a flood of fresh 401s
            self.nonces.pop(next(iter(self.nonces)))

    def check(self, method: str, target: str, header: str | None) -> tuple[bool, bool, str]:
        """(ok, stale, reason). Reasons are for logs and stats; they never contain secrets."""
        if self.mode == "none":
            return True, False, ""
        if not header:
            return False, False, "no credentials"
        scheme, _, rest = header.partition(" ")
        if self.mode == "basic":
            if scheme.lower() != "basic":
                return False, False, "wrong scheme"
            want = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
            ok = hmac.compare_digest(rest.strip().encode(), want.encode())
            return ok, False, "" if ok else "bad basic credentials"
        if scheme.lower() != "digest":
            return False, False, "wrong scheme"
        p = parse_auth_params(rest)
        alg = p.get("algorithm", "MD5")
        if alg not in self.algorithms:
            return False, False, f"algorithm {alg} not offered"
        if p.get("realm") != self.realm or p.get("username") != self.username:
            return False, False, "wrong realm or user"
        if p.get("qop") != "auth" or not p.get("nc") or not p.get("cnonce"):
            return False, False, "qop=auth with nc and cnonce required"
        if p.get("uri") != target:
            return False, False, "digest uri does not match the request target"
        n = self.nonces.get(p.get("nonce", ""))
        if n is None:
            return False, False, "unknown nonce"
        want = digest_response(alg, self.username, self.realm, self.password, method, p.get("uri", ""),
                               p["nonce"], p["nc"], p["cnonce"], "auth")
        if not hmac.compare_digest(want.encode(), p.get("response", "").lower().encode()):
            return False, False, "bad digest response"
        if time.monotonic() - n.created > self.nonce_lifetime:
            return False, True, "stale nonce"  # right password, old nonce: the client retries silently
        try:
            nc = int(p["nc"], 16)
        except ValueError:
            return False, False, "bad nc"
        if nc <= n.last_nc:
            return False, False, "replayed nonce count"
        n.last_nc = nc
        return True, False, ""


# ---------------------------------------------------------------------------------------------
# The ACS

@dataclass
class QueuedRpc:
    id: str
    method: str
    args: dict
    body: str
    device: str


@dataclass
class Session:
    id: str
    device: str
    serial: str
    ns: str
    conn_id: int
    started: float
    authenticated: bool = True
    inflight: QueuedRpc | None = None
    messages: int = 1
    last_seen: float = 0.0
    attached: bool = True


@dataclass
class Conn:
    id: int
    peer: str
    session: Session | None = None


class Stats:
    def __init__(self) -> None:
        self.started = time.time()
        self.sessions_started = 0
        self.sessions_completed = 0
        self.sessions_failed = 0
        self.rejected_busy = 0
        self.rejected_bad_session = 0
        self.auth_failures = 0
        self.http_requests = 0
        self.connections = 0
        self.rpcs_sent = 0
        self.responses = 0
        self.faults = 0
        self.cpe_requests = 0
        self.protocol_errors = 0
        self.informs = 0
        self.gzip_responses = 0
        self.informs_by_event: dict[str, int] = {}
        self.injected: dict[str, int] = {}

    def as_json(self, in_progress: int) -> dict:
        d = {k: v for k, v in vars(self).items() if k != "started"}
        d["sessions_in_progress"] = in_progress
        d["uptime_s"] = round(time.time() - self.started, 3)
        return d


class AcsPeer:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.auth = Authenticator(args.auth, args.username, args.password,
                                  [a.strip() for a in args.digest_algorithms.split(",") if a.strip()],
                                  args.realm, args.nonce_lifetime)
        self.cookie_mode = args.cookie  # none | set | require
        self.max_sessions = args.max_sessions
        self.cwmp_version = args.cwmp_version  # "none" = answer like a pre-1.4 ACS
        self.session_timeout = args.session_timeout
        self.record_dir: str | None = args.record_dir
        self.inject = {"inform_500": args.fail_inform, "close_mid_session": args.close_mid_session,
                       "delay_count": args.delay_count, "delay_seconds": args.delay_seconds,
                       "delay_on": args.delay_on, "fault_8005": args.fault_8005}
        self.reset()
        self._conn_ids = 0
        self._record_seq = 0
        self.stop_event = asyncio.Event()

    def reset(self) -> None:
        self.devices: dict[str, dict] = {}
        self.queues: dict[str, list[QueuedRpc]] = {}
        self.sessions: dict[str, Session] = {}
        self.responses: dict[str, list[dict]] = {}
        self.cpe_requests: dict[str, list[dict]] = {}
        self.stats = Stats()
        self._rpc_seq = 0
        self._resp_seq = 0

    # -- recording --------------------------------------------------------------------------
    def record(self, direction: str, name: str, device: str, data: bytes) -> None:
        if not self.record_dir or not data:
            return
        self._record_seq += 1
        safe_dev = re.sub(r"[^A-Za-z0-9_.%-]", "_", device)[:80] or "unknown"
        path = os.path.join(self.record_dir, f"{self._record_seq:06d}-{direction}-{name}-{safe_dev}.xml")
        try:
            os.makedirs(self.record_dir, exist_ok=True)
            with open(path, "wb") as f:
                f.write(data)
        except OSError as e:
            log("cannot record envelope:", e)

    # -- helpers ----------------------------------------------------------------------------
    def _use_inject(self, key: str) -> bool:
        if self.inject.get(key, 0) > 0:
            self.inject[key] -= 1
            self.stats.injected[key] = self.stats.injected.get(key, 0) + 1
            return True
        return False

    def _delay_for(self, kind: str) -> float:
        if self.inject["delay_count"] > 0 and self.inject["delay_on"] in (kind, "any"):
            self.inject["delay_count"] -= 1
            self.stats.injected["delay"] = self.stats.injected.get("delay", 0) + 1
            return min(float(self.inject["delay_seconds"]), 300.0)
        return 0.0

    def _end_session(self, conn: Conn, ok: bool, why: str = "") -> None:
        s = conn.session
        if s is None:
            return
        conn.session = None
        if self.sessions.pop(s.id, None) is None:
            return
        if ok:
            self.stats.sessions_completed += 1
        else:
            self.stats.sessions_failed += 1
            if s.inflight is not None:
                # The RPC was sent but never answered: put it back first, as an ACS would retry it.
                self.queues.setdefault(s.device, []).insert(0, s.inflight)
            if self.args.verbose:
                log(f"session {s.id} for {s.device} failed: {why}")

    def detach(self, conn: Conn) -> None:
        """The TCP connection ended. GenieACS drops the session with it; with --resume-with-cookie
        the session waits (up to the session timeout) for the CPE to come back with its cookie."""
        s = conn.session
        if s is not None and self.args.resume_with_cookie:
            s.attached = False
            conn.session = None
            return
        self._end_session(conn, False, "connection closed mid-session")

    def _sweep_detached(self) -> None:
        now = time.monotonic()
        for s in [s for s in self.sessions.values() if not s.attached and now - s.last_seen > self.session_timeout]:
            self._end_session(Conn(-1, "", s), False, "not resumed in time")

    def _queue_for(self, s: Session) -> list[QueuedRpc] | None:
        for key in (s.device, s.serial):
            q = self.queues.get(key)
            if q:
                return q
        return None

    def _soap(self, s_or_ns: Session | str, cwmp_id: str | None, body: str, name: str, device: str,
              extra_header: str = "", headers: list[tuple[str, str]] | None = None) -> Reply:
        ns = s_or_ns if isinstance(s_or_ns, str) else s_or_ns.ns
        data = envelope(ns, cwmp_id, body, extra_header)
        self.record("acs", name, device, data)
        return Reply(200, data, headers or [])

    def _next_or_204(self, conn: Conn, s: Session) -> Reply:
        q = self._queue_for(s)
        if not q:
            self._end_session(conn, True)
            return Reply(204)
        rpc = q.pop(0)
        s.inflight = rpc
        self.stats.rpcs_sent += 1
        return self._soap(s, rpc.id, rpc.body, rpc.method, s.device)

    # -- the CWMP endpoint --------------------------------------------------------------------
    def handle_cwmp(self, conn: Conn, req: Request) -> Reply:
        self.stats.http_requests += 1
        if req.method != "POST":
            return Reply(405, b"CWMP needs POST\n", [("Allow", "POST")], content_type="text/plain")
        s = conn.session
        if s is None and self.args.resume_with_cookie:
            sid = req.cookies.get(SESSION_COOKIE)
            if sid and sid in self.sessions:
                # Spec behaviour (cwmp.md §6.1): a CPE may continue on a new connection with the cookie.
                s = self.sessions[sid]
                s.conn_id, s.attached, conn.session = conn.id, True, s
        if s is None:
            return self._new_session(conn, req)
        s.messages += 1
        s.last_seen = time.monotonic()
        if self.cookie_mode == "require" and req.cookies.get(SESSION_COOKIE) != s.id:
            self.stats.rejected_bad_session += 1
            self._end_session(conn, False, "session cookie missing")
            return Reply(400, b"session cookie required\n", content_type="text/plain", close=True)
        if req.headers.get("authorization") or self.args.auth_every_request:
            ok, stale, why = self.auth.check("POST", req.target, req.headers.get("authorization"))
            if not ok:
                self.stats.auth_failures += 1
                return Reply(401, b"", self.auth.challenge(stale))
        if self._use_inject("close_mid_session"):
            self._end_session(conn, False, "injected connection close")
            return Reply(0, abort=True)
        if not req.body.strip():
            if s.inflight is not None:
                # The CPE owes a response but sent an empty POST: record the violation, move on.
                self.stats.protocol_errors += 1
                self._record_response(s, None, "empty POST instead of a response")
            r = self._next_or_204(conn, s)
            r.delay = self._delay_for("empty")
            return r
        try:
            msg = self._parse_and_record(req.body, s.device)
        except BadEnvelope as e:
            self._end_session(conn, False, f"bad envelope: {e}")
            return Reply(400, f"{e}\n".encode(), content_type="text/plain", close=True)
        if msg.name == "Inform":
            self._end_session(conn, False, "second Inform in a session")
            return Reply(400, b"one Inform per session\n", content_type="text/plain", close=True)
        if msg.name == "Fault" or msg.name.endswith("Response"):
            r = self._cpe_response(conn, s, msg)
            r.delay = self._delay_for("response")
            return r
        r = self._cpe_request(s, msg)
        r.delay = self._delay_for("request")
        return r

    def _parse_and_record(self, body: bytes, device: str | None) -> Message:
        # Recorded even when unparsable, so a test can look at what the CPE really sent.
        try:
            msg = parse_envelope(body)
        except BadEnvelope:
            self.record("cpe", "unparsable", device or "unknown", body)
            raise
        if device is None and msg.name == "Inform":
            did = child(msg.rpc, "DeviceId")
            device = device_key(text(did, "OUI"), text(did, "ProductClass"), text(did, "SerialNumber"))
        self.record("cpe", msg.name, device or "unknown", body)
        return msg

    def _new_session(self, conn: Conn, req: Request) -> Reply:
        if not req.body.strip():
            # GenieACS: an empty POST that belongs to no session on this connection is rejected.
            self.stats.rejected_bad_session += 1
            return Reply(400, b"no session on this connection\n", content_type="text/plain", close=True)
        try:
            msg = self._parse_and_record(req.body, None)
        except BadEnvelope as e:
            self.stats.rejected_bad_session += 1
            return Reply(400, f"{e}\n".encode(), content_type="text/plain", close=True)
        if msg.name != "Inform":
            self.stats.rejected_bad_session += 1
            return Reply(400, b"a session starts with an Inform\n", content_type="text/plain", close=True)
        ok, stale, why = self.auth.check("POST", req.target, req.headers.get("authorization"))
        if not ok:
            self.stats.auth_failures += 1
            if self.args.verbose:
                log(f"401 for {conn.peer}: {why}")
            return Reply(401, b"", self.auth.challenge(stale))
        if self._use_inject("inform_500"):
            return Reply(500, b"injected failure\n", content_type="text/plain", close=True)
        self._sweep_detached()
        if len(self.sessions) >= self.max_sessions:
            self.stats.rejected_busy += 1  # GenieACS: too many concurrent sessions → 503, Retry-After 60
            return Reply(503, b"busy\n", [("Retry-After", "60")], content_type="text/plain", close=True)
        inform = self._record_inform(msg)
        dev = inform["id"]
        now = time.monotonic()
        s = Session(secrets.token_hex(12), dev, inform["device_id"]["SerialNumber"], msg.ns, conn.id, now,
                    last_seen=now)
        self.sessions[s.id] = s
        conn.session = s
        self.stats.sessions_started += 1
        extra = ""
        supported = msg.headers.get("SupportedCWMPVersions")
        if supported is not None and self.cwmp_version != "none":
            use = pick_version(supported, self.cwmp_version)
            if use is None:
                self._end_session(conn, False, "no common CWMP version")
                return self._soap(msg.ns, msg.cwmp_id, fault_body(8006, "ACS version incompatible with CPE"),
                                  "Fault", dev)
            extra = f'<cwmp:UseCWMPVersion soap-env:mustUnderstand="1">{use}</cwmp:UseCWMPVersion>'
            self.devices[dev]["last_inform"]["use_cwmp_version"] = use
        hdrs = []
        if self.cookie_mode != "none":
            hdrs.append(("Set-Cookie", f"{SESSION_COOKIE}={s.id}; Path=/; HttpOnly"))
        r = self._soap(s, msg.cwmp_id, "<cwmp:InformResponse><MaxEnvelopes>1</MaxEnvelopes></cwmp:InformResponse>",
                       "InformResponse", dev, extra, hdrs)
        r.delay = self._delay_for("inform")
        return r

    def _record_inform(self, msg: Message) -> dict:
        rpc = msg.rpc
        did = child(rpc, "DeviceId")
        device_id = {k: text(did, k) for k in ("Manufacturer", "OUI", "ProductClass", "SerialNumber")}
        dev = device_key(device_id["OUI"], device_id["ProductClass"], device_id["SerialNumber"])
        events = [{"code": text(e, "EventCode"), "command_key": text(e, "CommandKey")}
                  for e in kids(child(rpc, "Event"))]
        params, types = {}, {}
        for pv in kids(child(rpc, "ParameterList")):
            v = child(pv, "Value")
            name = text(pv, "Name")
            params[name] = "" if v is None or v.text is None else v.text
            types[name] = v.get(f"{{{XSI_NS}}}type", "") if v is not None else ""
        try:
            retry = int(text(rpc, "RetryCount", "0"))
        except ValueError:
            retry = -1
        inform = {"id": dev, "device_id": device_id, "events": events, "parameters": params,
                  "parameter_types": types, "retry_count": retry, "max_envelopes": text(rpc, "MaxEnvelopes"),
                  "current_time": text(rpc, "CurrentTime"), "cwmp_namespace": msg.ns, "cwmp_id": msg.cwmp_id,
                  "supported_cwmp_versions": msg.headers.get("SupportedCWMPVersions"),
                  "session_timeout": msg.headers.get("SessionTimeout"), "received_at": time.time()}
        d = self.devices.setdefault(dev, {"id": dev, "informs": 0})
        d["informs"] += 1
        d["device_id"] = device_id
        d["last_inform"] = inform
        self.stats.informs += 1
        for e in events:
            self.stats.informs_by_event[e["code"]] = self.stats.informs_by_event.get(e["code"], 0) + 1
        return inform

    def _cpe_request(self, s: Session, msg: Message) -> Reply:
        self.stats.cpe_requests += 1
        self.cpe_requests.setdefault(s.device, []).append(
            {"method": msg.name, "cwmp_id": msg.cwmp_id, "args": to_json(msg.rpc), "at": time.time()})
        if self._use_inject("fault_8005"):
            return self._soap(s, msg.cwmp_id, fault_body(8005, "Retry request"), "Fault", s.device)
        if msg.name in EMPTY_RESPONSE_REQUESTS and msg.name in ACS_METHODS[s.ns]:
            return self._soap(s, msg.cwmp_id, f"<cwmp:{msg.name}Response/>", f"{msg.name}Response", s.device)
        if msg.name == "GetRPCMethods":
            return self._soap(s, msg.cwmp_id, "<cwmp:GetRPCMethodsResponse>"
                              f"{string_array('MethodList', ACS_METHODS[s.ns])}</cwmp:GetRPCMethodsResponse>",
                              "GetRPCMethodsResponse", s.device)
        return self._soap(s, msg.cwmp_id, fault_body(8000, "Method not supported"), "Fault", s.device)

    def _cpe_response(self, conn: Conn, s: Session, msg: Message) -> Reply:
        self._record_response(s, msg)
        return self._next_or_204(conn, s)

    def _record_response(self, s: Session, msg: Message | None, error: str | None = None) -> None:
        rpc = s.inflight
        s.inflight = None
        self._resp_seq += 1
        entry: dict = {"seq": self._resp_seq, "session": s.id, "at": time.time(),
                       "cwmp_id": msg.cwmp_id if msg else None,
                       "rpc_id": rpc.id if rpc else None, "method": rpc.method if rpc else None,
                       "request": rpc.args if rpc else None, "response_method": msg.name if msg else None,
                       "matched": bool(rpc and msg and rpc.id == msg.cwmp_id), "response": None, "fault": None,
                       "error": error}
        if msg is None:
            pass
        elif msg.name == "Fault":
            self.stats.faults += 1
            entry["fault"] = parse_fault(msg.rpc)
        else:
            self.stats.responses += 1
            entry["response"] = to_json(msg.rpc)
            if msg.name == "GetParameterValuesResponse":
                pl = child(msg.rpc, "ParameterList")
                entry["values"] = {text(p, "Name"): text(p, "Value") for p in kids(pl)}
        self.responses.setdefault(s.device, []).append(entry)

    # -- control API --------------------------------------------------------------------------
    def _resolve_device(self, ident: str) -> str:
        if ident in self.devices:
            return ident
        matches = [k for k, d in self.devices.items() if d["device_id"]["SerialNumber"] == ident]
        return matches[0] if len(matches) == 1 else ident

    def device_json(self, key: str) -> dict:
        d = dict(self.devices.get(key, {"id": key}))
        # RPCs queued by serial before the device's first Inform are served to it too.
        serial = d.get("device_id", {}).get("SerialNumber")
        pending = self.queues.get(key, []) + (self.queues.get(serial, []) if serial and serial != key else [])
        d["queued"] = [{"id": r.id, "method": r.method, "args": r.args, "queued_as": r.device} for r in pending]
        d["responses"] = len(self.responses.get(key, []))
        d["cpe_requests"] = len(self.cpe_requests.get(key, []))
        d["in_session"] = any(s.device == key for s in self.sessions.values())
        return d

    async def handle_control(self, req: Request) -> Reply:
        path = [urllib.parse.unquote(p) for p in req.path.strip("/").split("/") if p]
        try:
            body = json.loads(req.body) if req.body.strip() else {}
        except json.JSONDecodeError as e:
            return json_reply(400, {"error": f"bad JSON: {e}"})
        m = req.method
        try:
            if path == ["health"]:
                return json_reply(200, {"ok": True, "minimal": False})
            if path == ["stats"] and m == "GET":
                return json_reply(200, self.stats.as_json(len(self.sessions)))
            if path == ["reset"] and m == "POST":
                self.reset()
                return json_reply(200, {"ok": True})
            if path == ["config"] and m == "GET":
                return json_reply(200, self.config_json())
            if path == ["config"] and m in ("POST", "PATCH"):
                return json_reply(200, self.set_config(body))
            if path == ["inject"] and m == "GET":
                return json_reply(200, self.inject)
            if path == ["inject"] and m == "POST":
                for k, v in body.items():
                    if k not in self.inject:
                        raise ValueError(f"unknown injection {k!r}")
                    if k == "delay_on":
                        if v not in ("inform", "empty", "response", "request", "any"):
                            raise ValueError("delay_on is inform|empty|response|request|any")
                    elif not isinstance(v, (int, float)) or v < 0:
                        raise ValueError(f"{k} must be a number >= 0")
                    self.inject[k] = v
                return json_reply(200, self.inject)
            if path == ["record"] and m == "POST":
                d = body.get("dir")
                if d is not None and not isinstance(d, str):
                    raise ValueError("dir must be a path or null")
                self.record_dir = d
                if d:
                    os.makedirs(d, exist_ok=True)
                return json_reply(200, {"dir": d})
            if path == ["devices"] and m == "GET":
                return json_reply(200, [self.device_json(k) for k in sorted(self.devices)])
            if path == ["sessions"] and m == "GET":
                return json_reply(200, [{"id": s.id, "device": s.device, "namespace": s.ns, "messages": s.messages,
                                         "age_s": round(time.monotonic() - s.started, 3),
                                         "inflight": s.inflight.id if s.inflight else None}
                                        for s in self.sessions.values()])
            if len(path) >= 2 and path[0] == "devices":
                key = self._resolve_device(path[1])
                rest = path[2:]
                if not rest and m == "GET":
                    if key not in self.devices and key not in self.queues:
                        return json_reply(404, {"error": "device not seen"})
                    return json_reply(200, self.device_json(key))
                if rest == ["rpcs"] and m == "POST":
                    descs = body.get("rpcs", [body]) if isinstance(body, dict) else body
                    if not isinstance(descs, list):
                        raise ValueError("body is an RPC object, a list, or {\"rpcs\": [...]}")
                    added = []
                    built = [b for d in descs for b in build_rpcs(d)]  # validate all before queueing any
                    for method, args, xml in built:
                        self._rpc_seq += 1
                        rpc = QueuedRpc(f"acs-{self._rpc_seq}", method, args, xml, key)
                        self.queues.setdefault(key, []).append(rpc)
                        added.append({"id": rpc.id, "method": method})
                    return json_reply(200, {"device": key, "queued": added})
                if rest == ["rpcs"] and m == "GET":
                    return json_reply(200, self.device_json(key)["queued"])
                if rest == ["rpcs"] and m == "DELETE":
                    n = len(self.queues.pop(key, []))
                    return json_reply(200, {"removed": n})
                if rest == ["responses"] and m == "GET":
                    since = int(req.query.get("since", "0"))
                    return json_reply(200, [r for r in self.responses.get(key, []) if r["seq"] > since])
                if rest == ["requests"] and m == "GET":
                    return json_reply(200, self.cpe_requests.get(key, []))
                if rest == ["inform"] and m == "GET":
                    d = self.devices.get(key)
                    return json_reply(200, d["last_inform"]) if d else json_reply(404, {"error": "device not seen"})
                if rest == ["connection-request"] and m == "POST":
                    return json_reply(200, await self.connection_request(key, body))
            if path == ["shutdown"] and m == "POST":
                self.stop_event.set()
                return json_reply(200, {"ok": True})
        except (ValueError, TypeError, KeyError) as e:
            return json_reply(400, {"error": str(e)})
        return json_reply(404, {"error": f"no route {m} /{'/'.join(path)}"})

    def config_json(self) -> dict:
        return {"auth": self.auth.mode, "username": self.auth.username, "password_set": bool(self.auth.password),
                "digest_algorithms": self.auth.algorithms, "nonce_lifetime": self.auth.nonce_lifetime,
                "realm": self.auth.realm, "cookie": self.cookie_mode, "max_sessions": self.max_sessions,
                "cwmp_version": self.cwmp_version, "session_timeout": self.session_timeout,
                "record_dir": self.record_dir, "auth_every_request": self.args.auth_every_request,
                "resume_with_cookie": self.args.resume_with_cookie}

    def set_config(self, body: dict) -> dict:
        for k, v in body.items():
            if k == "auth" and v in ("none", "basic", "digest"):
                self.auth.mode = v
            elif k in ("username", "password") and isinstance(v, str):
                setattr(self.auth, k, v)
            elif k == "digest_algorithms" and isinstance(v, list) and v and all(a in DIGEST_HASHES for a in v):
                self.auth.algorithms = v
            elif k == "nonce_lifetime" and isinstance(v, (int, float)) and v > 0:
                self.auth.nonce_lifetime = float(v)
            elif k == "cookie" and v in ("none", "set", "require"):
                self.cookie_mode = v
            elif k == "max_sessions" and isinstance(v, int) and v >= 0:
                self.max_sessions = v
            elif k == "cwmp_version" and isinstance(v, str) and re.fullmatch(r"none|1\.[0-9]", v):
                self.cwmp_version = v
            elif k == "session_timeout" and isinstance(v, (int, float)) and v > 0:
                self.session_timeout = float(v)
            elif k in ("auth_every_request", "resume_with_cookie") and isinstance(v, bool):
                setattr(self.args, k, v)
            else:
                raise ValueError(f"bad config {k}={v!r}" if k != "password" else "bad config password")
        return self.config_json()

    # -- connection requests -------------------------------------------------------------------
    async def connection_request(self, key: str, body: dict) -> dict:
        url = body.get("url")
        if url is None:
            d = self.devices.get(key)
            if d is None:
                raise ValueError("device not seen and no url given")
            urls = [v for n, v in d["last_inform"]["parameters"].items()
                    if n.endswith("ManagementServer.ConnectionRequestURL")]
            if not urls or not urls[0]:
                raise ValueError("the last Inform carried no ManagementServer.ConnectionRequestURL")
            url = urls[0]
        parts = urllib.parse.urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError("connection request URLs are plain http:// (cwmp.md §7)")
        if not is_loopback_host(parts.hostname) and not self.args.allow_non_loopback:
            raise ValueError("refusing a non-loopback connection request target")
        timeout = float(body.get("timeout", 2.0))  # GenieACS waits 2 s for a connection request
        user, password = _str(body, "username", ""), _str(body, "password", "")
        return await asyncio.to_thread(connection_request_call, url, user, password, timeout)


def connection_request_call(url: str, user: str, password: str, timeout: float) -> dict:
    """HTTP GET with Digest (or Basic) auth, as an ACS sends a connection request (cwmp.md §7)."""
    parts = urllib.parse.urlsplit(url)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    t0 = time.monotonic()
    statuses: list[int] = []
    conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=timeout)
    try:
        auth_header = None
        for _ in range(2):  # one challenge, one answer: like GenieACS, no retry loop
            hdrs = {"Authorization": auth_header} if auth_header else {}
            conn.request("GET", target, headers=hdrs)
            resp = conn.getresponse()
            resp.read()
            statuses.append(resp.status)
            if resp.status != 401 or auth_header is not None:
                break
            challenges = resp.headers.get_all("WWW-Authenticate") or []
            auth_header = answer_challenge(challenges, user, password, target)
            if auth_header is None:
                break
            if resp.will_close:
                conn.close()
                conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=timeout)
        # GenieACS reads a 503 as "device offline" (the Annex J answer for an unreachable proxied device).
        return {"status": statuses[-1], "statuses": statuses, "ok": statuses[-1] in (200, 204),
                "device_offline": statuses[-1] == 503,
                "elapsed_s": round(time.monotonic() - t0, 4)}
    except (OSError, http.client.HTTPException) as e:
        return {"status": None, "statuses": statuses, "ok": False, "error": f"{type(e).__name__}: {e}",
                "elapsed_s": round(time.monotonic() - t0, 4)}
    finally:
        conn.close()


def answer_challenge(challenges: list[str], user: str, password: str, uri: str) -> str | None:
    best = None
    for c in challenges:
        scheme, _, rest = c.partition(" ")
        if scheme.lower() == "digest":
            p = parse_auth_params(rest)
            alg = p.get("algorithm", "MD5")
            if alg in DIGEST_HASHES and (best is None or best[0] != "SHA-256"):
                best = (alg, p)
        elif scheme.lower() == "basic" and best is None:
            return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    if best is None:
        return None
    alg, p = best
    qops = [q.strip() for q in p.get("qop", "").split(",") if q.strip()]
    qop = "auth" if "auth" in qops else ""
    nc, cnonce = "00000001", secrets.token_hex(8)
    resp = digest_response(alg, user, p.get("realm", ""), password, "GET", uri, p.get("nonce", ""), nc, cnonce, qop)
    fields = [f'username="{user}"', f'realm="{p.get("realm", "")}"', f'nonce="{p.get("nonce", "")}"',
              f'uri="{uri}"', f"algorithm={alg}", f'response="{resp}"']
    if qop:
        fields += [f"qop={qop}", f"nc={nc}", f'cnonce="{cnonce}"']
    if "opaque" in p:
        fields.append(f'opaque="{p["opaque"]}"')
    return "Digest " + ", ".join(fields)


# ---------------------------------------------------------------------------------------------
# Servers

async def serve_cwmp_connection(peer: AcsPeer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    peer._conn_ids += 1
    peername = writer.get_extra_info("peername")
    conn = Conn(peer._conn_ids, str(peername))
    peer.stats.connections += 1
    try:
        for _ in range(1_000_000):  # bounded keep-alive loop
            try:
                # asyncio.timeout, not wait_for: wait_for wraps each read in a new Task (measurably slower).
                async with asyncio.timeout(peer.session_timeout):
                    req = await read_request(reader, writer)
            except TimeoutError:
                peer._end_session(conn, False, "session timeout")  # GenieACS: 30 s without a message
                break
            except HTTPError as e:
                writer.write(encode_reply(Reply(e.status, f"{e}\n".encode(), content_type="text/plain", close=True)))
                break
            if req is None:
                break
            reply = peer.handle_cwmp(conn, req)
            if peer.args.gzip and reply.body and reply.status != 204 and accepts_gzip(req.headers):
                reply = gzip_reply(reply)
                peer.stats.gzip_responses += 1
            if reply.abort:
                writer.transport.abort()
                return
            if reply.delay:
                await asyncio.sleep(reply.delay)
            writer.write(encode_reply(reply))
            await writer.drain()
            if reply.close or req.wants_close():
                break
    except (ConnectionError, asyncio.IncompleteReadError, ValueError):
        pass
    finally:
        peer.detach(conn)
        try:
            writer.close()
            await writer.wait_closed()
        except (ConnectionError, OSError):
            pass


async def serve_control_connection(peer: AcsPeer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        for _ in range(100_000):
            try:
                req = await asyncio.wait_for(read_request(reader, writer), 60)
            except (asyncio.TimeoutError, HTTPError):
                break
            if req is None:
                break
            reply = await peer.handle_control(req)
            writer.write(encode_reply(reply))
            await writer.drain()
            if req.wants_close():
                break
    except (ConnectionError, asyncio.IncompleteReadError, ValueError):
        pass
    finally:
        try:
            writer.close()
            await writer.wait_closed()
        except (ConnectionError, OSError):
            pass


class MinimalProtocol(asyncio.Protocol):
    """The --minimal fast path: Inform → InformResponse, empty POST → 204, nothing else parsed.

    No XML parser, no auth, no cookies, no queue: the cwmp namespace and ID are found with a
    byte search and the InformResponse is a precomputed template. Chunked bodies are refused
    (411), since every CPE we test sends Content-Length."""

    ID_RE = re.compile(rb"<(?:[\w.-]+:)?ID\b[^>]*>([^<]*)</")
    NS_RE = re.compile(rb"urn:dslforum-org:cwmp-1-[0-2]")
    RPC_RE = re.compile(rb"<(?:[\w.-]+:)?Body\b[^>]*>\s*<(?:[\w.-]+:)?(\w+)")
    CL_RE = re.compile(rb"\r\ncontent-length:\s*(\d+)", re.I)
    def __init__(self, peer: "MinimalPeer"):
        self.peer = peer
        self.buf = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.peer.stats.connections += 1

    def data_received(self, data: bytes) -> None:
        self.buf += data
        for _ in range(1000):  # pipelined requests, bounded per read
            i = self.buf.find(b"\r\n\r\n")
            if i < 0:
                if len(self.buf) > MAX_HEADER_BYTES:
                    self.transport.close()
                return
            head = bytes(self.buf[:i + 2])
            m = self.CL_RE.search(head)
            if m is None and b"chunked" in head.lower():
                self.transport.write(b"HTTP/1.1 411 Length Required\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                self.transport.close()
                return
            n = int(m.group(1)) if m else 0
            end = i + 4 + n
            if len(self.buf) < end:
                return
            body = bytes(self.buf[i + 4:end])
            del self.buf[:end]
            self.transport.write(self.peer.answer(body))
            if b"\r\nconnection: close" in head.lower():
                self.transport.close()
                return

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None


class MinimalPeer:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.stats = Stats()
        self.stop_event = asyncio.Event()
        self.templates: dict[tuple[bytes, bool], tuple[bytes, bytes]] = {}
        self.cwmp_version = args.cwmp_version

    def _template(self, ns: bytes, use_version: bool) -> tuple[bytes, bytes]:
        key = (ns, use_version)
        t = self.templates.get(key)
        if t is None:
            extra = (f'<cwmp:UseCWMPVersion soap-env:mustUnderstand="1">{self.cwmp_version}</cwmp:UseCWMPVersion>'
                     if use_version else "")
            full = envelope(ns.decode(), "\x00", "<cwmp:InformResponse><MaxEnvelopes>1</MaxEnvelopes>"
                            "</cwmp:InformResponse>", extra)
            pre, post = full.split(b"\x00")
            t = self.templates[key] = (pre, post)
        return t

    def answer(self, body: bytes) -> bytes:
        self.stats.http_requests += 1
        if not body.strip():
            self.stats.sessions_completed += 1
            return b"HTTP/1.1 204 No Content\r\nServer: cwmp-proxy-acs-peer\r\n\r\n"
        ns_m = MinimalProtocol.NS_RE.search(body)
        rpc_m = MinimalProtocol.RPC_RE.search(body)
        ns = ns_m.group(0) if ns_m else b"urn:dslforum-org:cwmp-1-2"
        id_m = MinimalProtocol.ID_RE.search(body)
        cwmp_id = id_m.group(1) if id_m else b""  # already XML-escaped text: echo the bytes as they are
        name = rpc_m.group(1).decode() if rpc_m else ""
        if name == "Inform":
            self.stats.informs += 1
            self.stats.sessions_started += 1
            pre, post = self._template(ns, self.cwmp_version != "none" and b"SupportedCWMPVersions" in body)
            out = pre + cwmp_id + post
        elif name in EMPTY_RESPONSE_REQUESTS:
            self.stats.cpe_requests += 1
            out = envelope(ns.decode(), cwmp_id.decode(), f"<cwmp:{name}Response/>")
        elif name.endswith("Response") or name == "Fault":
            self.stats.responses += 1  # nothing is ever queued in minimal mode; answer 204 to be safe
            self.stats.sessions_completed += 1
            return b"HTTP/1.1 204 No Content\r\nServer: cwmp-proxy-acs-peer\r\n\r\n"
        else:
            return (b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        return (b"HTTP/1.1 200 OK\r\nServer: cwmp-proxy-acs-peer\r\nContent-Type: text/xml; charset=\"utf-8\"\r\n"
                b"Content-Length: " + str(len(out)).encode() + b"\r\n\r\n" + out)

    async def handle_control(self, req: Request) -> Reply:
        path = req.path.strip("/")
        if path == "health":
            return json_reply(200, {"ok": True, "minimal": True})
        if path == "stats":
            return json_reply(200, self.stats.as_json(0))
        if path == "reset" and req.method == "POST":
            self.stats = Stats()
            return json_reply(200, {"ok": True})
        if path == "shutdown" and req.method == "POST":
            self.stop_event.set()
            return json_reply(200, {"ok": True})
        return json_reply(404, {"error": "minimal mode offers only /health, /stats, /reset, /shutdown"})


async def watch_parent(stop: asyncio.Event, ppid: int) -> None:
    # Tests start the peer as a subprocess; if the test runner dies, don't linger as an orphan.
    while not stop.is_set():
        if os.getppid() != ppid:
            log("parent exited; stopping")
            stop.set()
            return
        await asyncio.sleep(0.5)


async def main_async(args: argparse.Namespace) -> int:
    loop = asyncio.get_running_loop()
    peer: AcsPeer | MinimalPeer = MinimalPeer(args) if args.minimal else AcsPeer(args)
    if args.minimal:
        server = await loop.create_server(lambda: MinimalProtocol(peer), args.host, args.port, backlog=1024,
                                          reuse_address=True)
    else:
        tls = None
        if args.tls_cert:
            # https for the CWMP listener: the CPE's certificate validation (CA bundle, host name) is what a test
            # checks, so the certificate comes from the test's own throw-away PKI.
            tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            tls.load_cert_chain(args.tls_cert, args.tls_key)
        server = await asyncio.start_server(lambda r, w: serve_cwmp_connection(peer, r, w), args.host, args.port,
                                            backlog=1024, limit=MAX_HEADER_BYTES, reuse_address=True, ssl=tls)
    control = await asyncio.start_server(lambda r, w: serve_control_connection(peer, r, w), args.control_host,
                                         args.control_port, limit=MAX_HEADER_BYTES, reuse_address=True)
    port = server.sockets[0].getsockname()[1]
    cport = control.sockets[0].getsockname()[1]
    print(f"LISTENING {args.host} {port}", flush=True)
    print(f"CONTROL {args.control_host} {cport}", flush=True)
    stop = peer.stop_event
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    watcher = asyncio.create_task(watch_parent(stop, args.parent_pid)) if args.exit_with_parent else None
    await stop.wait()
    server.close()
    control.close()
    if watcher:
        watcher.cancel()
    # Don't wait for keep-alive connections to end on their own: the servers are closed, give
    # in-flight handlers a moment, then exit.
    await asyncio.sleep(0.05)
    log("stopped;", json.dumps(peer.stats.as_json(len(getattr(peer, "sessions", {})))))
    return 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="cwmp-proxy ACS test peer (loopback only)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 = pick a free port (printed on stdout)")
    p.add_argument("--control-host", default="127.0.0.1")
    p.add_argument("--control-port", type=int, default=0)
    p.add_argument("--allow-non-loopback", action="store_true",
                   help="allow binding/calling non-loopback addresses (never needed by the tests)")
    p.add_argument("--minimal", action="store_true", help="fast path for benchmarks: Inform→InformResponse→204 only")
    p.add_argument("--auth", choices=("none", "basic", "digest"), default="none")
    p.add_argument("--username", default="acs")
    p.add_argument("--password", default=os.environ.get("ACS_PEER_PASSWORD", ""),
                   help="default: $ACS_PEER_PASSWORD (never logged)")
    p.add_argument("--digest-algorithms", default="MD5",
                   help="comma list offered in WWW-Authenticate, preferred first: MD5, SHA-256")
    p.add_argument("--realm", default="cwmp-proxy-acs-peer")
    p.add_argument("--nonce-lifetime", type=float, default=300.0, help="seconds before a nonce is stale")
    p.add_argument("--auth-every-request", action="store_true",
                   help="require credentials on every POST, not just the Inform")
    p.add_argument("--cookie", choices=("none", "set", "require"), default="set",
                   help="set: Set-Cookie on InformResponse; require: later POSTs must return it (400 otherwise)")
    p.add_argument("--resume-with-cookie", action="store_true",
                   help="let a session continue on a new TCP connection with its cookie (GenieACS does not)")
    p.add_argument("--cwmp-version", default="1.4",
                   help="highest version offered in UseCWMPVersion; 'none' = never send it (old ACS)")
    p.add_argument("--max-sessions", type=int, default=20, help="concurrent sessions before 503 Retry-After 60")
    p.add_argument("--session-timeout", type=float, default=30.0, help="seconds without a CPE message")
    p.add_argument("--record-dir", default=None, help="write every envelope received and sent here")
    p.add_argument("--fail-inform", type=int, default=0, help="answer the next N Informs with HTTP 500")
    p.add_argument("--close-mid-session", type=int, default=0,
                   help="drop the connection on the first POST after InformResponse, N times")
    p.add_argument("--delay-seconds", type=float, default=0.0)
    p.add_argument("--delay-count", type=int, default=0, help="delay the next N matching answers")
    p.add_argument("--delay-on", choices=("inform", "empty", "response", "request", "any"), default="any")
    p.add_argument("--fault-8005", type=int, default=0, help="answer the next N CPE requests with fault 8005")
    p.add_argument("--gzip", action="store_true",
                   help="gzip non-empty CWMP answers when the request's Accept-Encoding allows it (not --minimal)")
    p.add_argument("--tls-cert", default=None, help="PEM certificate chain: the CWMP listener speaks https (not --minimal)")
    p.add_argument("--tls-key", default=None, help="PEM private key of --tls-cert")
    p.add_argument("--exit-with-parent", action="store_true", help="exit when the parent process dies")
    p.add_argument("--verbose", action="store_true")
    args = p.parse_args(argv)
    args.parent_pid = os.getppid()
    for h in (args.host, args.control_host):
        if not is_loopback_host(h) and not args.allow_non_loopback:
            p.error(f"{h} is not a loopback address; pass --allow-non-loopback to insist")
    if not is_loopback_host(args.control_host):
        p.error("the control API is loopback only")
    for a in args.digest_algorithms.split(","):
        if a.strip() not in DIGEST_HASHES:
            p.error(f"unknown digest algorithm {a!r}")
    if bool(args.tls_cert) != bool(args.tls_key) or (args.tls_cert and args.minimal):
        p.error("--tls-cert and --tls-key go together, and not with --minimal")
    if args.auth != "none" and not args.password:
        p.error("--auth needs --password or $ACS_PEER_PASSWORD")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
