#!/usr/bin/env python3
"""A hostile UPnP device: announces itself like a ConfigurationManagement:2 device, then answers one kind of
request (--target) with an attack (--mode). Everything else is answered normally, so a control point reaches the
hostile step. The control point must end each case with a clear error within its own caps: no crash, no hang, no
unbounded memory.

  --mode xxe                 `<!DOCTYPE root [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>` and `&xxe;` in the text
         entity-bomb         billion laughs (10 levels of 10 references)
         huge                a well-formed start, then --huge-size bytes (default 64 MiB) with a matching
                             Content-Length
         endless             `Transfer-Encoding: chunked` that never ends
         slowloris           a valid response, one byte every --slow-interval seconds (default 2)
         deep-nesting        100,000 nested elements (--depth) inside the document
         wrong-content-type  `Content-Type: image/png` and PNG bytes instead of XML
         endless-headers     header lines forever, never an empty line
         malformed           a truncated XML document (ends mid-element), with a correct Content-Length
         empty               200 OK with an empty body
         wrong-response      a well-formed SOAP answer for another action (SetValuesResponse) and service type
         http-503            503 Service Unavailable with a text/html body and no SOAP
         bogus-fault         HTTP 500 SOAP fault whose errorCode is "abc" and has no errorDescription
  --target description | scpd | soap  (which response is hostile; soap = every POST to the control URL)

    hostile_device.py --address IP --mode MODE [--target description] [--http-port P]

Ready line and control commands as dm_device.py (`mode 0 MODE [TARGET]` switches; `status 0`; `stop`; EOF).
`status` reports how many hostile responses were started and how many the client abandoned (connection closed
before the end), so a test can check that the client gave up rather than the device.
"""
import argparse
import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import peer_common as pc  # noqa: E402

MODES = ("xxe", "entity-bomb", "huge", "endless", "slowloris", "deep-nesting", "wrong-content-type",
         "endless-headers", "malformed", "empty", "wrong-response", "http-503", "bogus-fault")
TARGETS = ("description", "scpd", "soap")


class Hostile:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.mode = args.mode
        self.target = args.target
        self.udn = pc.new_udn()
        self.port = args.http_port or pc.free_port(args.address)
        self.base = f"http://{args.address}:{self.port}"
        self.ssdp = pc.SSDPDevice(args.address, self.udn, f"{self.base}/description.xml", [pc.CMS_TYPE],
                                  args.max_age, args.announce_interval)
        self.server: asyncio.AbstractServer | None = None
        self.started = 0
        self.abandoned = 0
        self.completed = 0

    # ---- the normal answers ----------------------------------------------------------------------------------------
    def normal(self, kind: str) -> bytes:
        if kind == "description":
            return pc.description(self.udn, "Hostile device", "HOSTILE0001", self.base, "Hostile")
        if kind == "scpd":
            return pc.cms_scpd()
        return pc.soap_envelope("GetValues", pc.CMS_TYPE, [("ParameterValueList",
                                '<cms:ParameterValueList xmlns:cms="urn:schemas-upnp-org:dm:cms"/>')])

    # ---- the attacks -----------------------------------------------------------------------------------------------
    def xxe(self, kind: str) -> bytes:
        doctype = '<?xml version="1.0"?>\n<!DOCTYPE {} [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
        if kind == "soap":
            return (doctype.format("s:Envelope") +
                    '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>'
                    f'<u:GetValuesResponse xmlns:u="{pc.CMS_TYPE}"><ParameterValueList>&xxe;</ParameterValueList>'
                    '</u:GetValuesResponse></s:Body></s:Envelope>').encode()
        root, ns = ("scpd", "urn:schemas-upnp-org:service-1-0") if kind == "scpd" else \
            ("root", "urn:schemas-upnp-org:device-1-0")
        return (doctype.format(root) + f'<{root} xmlns="{ns}"><device><friendlyName>&xxe;</friendlyName>'
                f'<UDN>{self.udn}</UDN></device></{root}>').encode()

    @staticmethod
    def entity_bomb() -> bytes:
        lines = ['<?xml version="1.0"?>', "<!DOCTYPE lolz [", ' <!ENTITY lol "lol">']
        for level in range(1, 10):
            previous = "lol" if level == 1 else f"lol{level - 1}"
            lines.append(f' <!ENTITY lol{level} "' + f"&{previous};" * 10 + '">')
        lines.append("]>")
        lines.append('<root xmlns="urn:schemas-upnp-org:device-1-0"><device><friendlyName>&lol9;</friendlyName>'
                     "</device></root>")
        return "\n".join(lines).encode()

    def deep(self) -> bytes:
        depth = self.args.depth
        return (b'<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>'
                + b"<a>" * depth + b"x" + b"</a>" * depth + b"</s:Body></s:Envelope>")

    async def attack(self, kind: str, writer: asyncio.StreamWriter) -> None:
        mode = self.mode
        xml = 'text/xml; charset="utf-8"'
        if mode == "xxe":
            writer.write(pc.simple_response(self.xxe(kind)))
        elif mode == "entity-bomb":
            writer.write(pc.simple_response(self.entity_bomb()))
        elif mode == "deep-nesting":
            writer.write(pc.simple_response(self.deep()))
        elif mode == "wrong-content-type":
            writer.write(pc.simple_response(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 16, "image/png"))
        elif mode == "huge":
            size = self.args.huge_size
            prefix = b'<?xml version="1.0"?><root xmlns="urn:schemas-upnp-org:device-1-0"><!--'
            writer.write(pc.response_head("200 OK", [("CONTENT-TYPE", xml), ("CONTENT-LENGTH", str(size))]) + prefix)
            chunk = b"A" * 65536
            remaining = size - len(prefix)
            while remaining > 0:
                writer.write(chunk[:remaining])
                remaining -= min(len(chunk), remaining)
                await writer.drain()
        elif mode == "endless":
            writer.write(pc.response_head("200 OK", [("CONTENT-TYPE", xml), ("TRANSFER-ENCODING", "chunked")]))
            first = b'<?xml version="1.0"?><root><!-- endless -->'
            writer.write(f"{len(first):x}\r\n".encode() + first + b"\r\n")  # valid chunked framing, for ever
            chunk = b"A" * 16384
            frame = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
            while True:
                writer.write(frame)
                await writer.drain()
        elif mode == "slowloris":
            body = self.normal(kind)
            response = pc.simple_response(body)
            for index in range(len(response)):
                writer.write(response[index:index + 1])
                await writer.drain()
                await asyncio.sleep(self.args.slow_interval)
        elif mode == "malformed":
            document = self.normal(kind)
            writer.write(pc.simple_response(document[: len(document) * 2 // 3]))
        elif mode == "empty":
            writer.write(pc.simple_response(b""))
        elif mode == "wrong-response":
            writer.write(pc.simple_response(pc.soap_envelope(
                "SetValues", "urn:schemas-upnp-org:service:BasicManagement:2", [("Status", "ChangesApplied")])))
        elif mode == "http-503":
            writer.write(pc.simple_response(b"<html><body>busy</body></html>", "text/html", "503 Service Unavailable"))
        elif mode == "bogus-fault":
            body = ('<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>'
                    '<s:Fault><faultcode>s:Client</faultcode><faultstring>UPnPError</faultstring><detail>'
                    '<UPnPError xmlns="urn:schemas-upnp-org:control-1-0"><errorCode>abc</errorCode></UPnPError>'
                    '</detail></s:Fault></s:Body></s:Envelope>').encode()
            writer.write(pc.simple_response(body, status="500 Internal Server Error"))
        elif mode == "endless-headers":
            writer.write(b"HTTP/1.1 200 OK\r\n")
            number = 0
            while True:
                writer.write(f"X-Filler-{number}: {'A' * 64}\r\n".encode())
                number += 1
                await writer.drain()
                if number % 64 == 0:
                    await asyncio.sleep(0.01)
        await writer.drain()

    async def handle(self, request: pc.Request, writer: asyncio.StreamWriter) -> None:
        if request.method == "GET" and request.path == "/description.xml":
            kind = "description"
        elif request.method == "GET" and request.path == "/cms.xml":
            kind = "scpd"
        elif request.method == "POST" and request.path == "/upnp/control/cms":
            kind = "soap"
        else:
            writer.write(pc.simple_response(b"not found", "text/plain", "404 Not Found"))
            return
        if kind != self.target:
            writer.write(pc.simple_response(self.normal(kind)))
            await writer.drain()
            return
        self.started += 1
        try:
            await self.attack(kind, writer)
            self.completed += 1
        except (ConnectionError, asyncio.CancelledError):
            self.abandoned += 1
            raise

    # ---- lifecycle -------------------------------------------------------------------------------------------------
    async def start(self) -> list[dict]:
        self.server = await pc.serve_http(self.args.address, self.port, self.handle)
        await self.ssdp.start()
        return [self.describe()]

    def describe(self) -> dict:
        return {"index": 0, "udn": self.udn, "location": f"{self.base}/description.xml", "http_port": self.port,
                "boot_id": 1, "serial": "HOSTILE0001", "mode": self.mode, "target": self.target,
                "control_url": f"{self.base}/upnp/control/cms", "scpd_url": f"{self.base}/cms.xml",
                "started": self.started, "abandoned": self.abandoned, "completed": self.completed}

    async def stop(self) -> None:
        await self.ssdp.stop()
        if self.server:
            self.server.close()

    async def command(self, words: list[str]) -> dict:
        if words[0] == "mode" and len(words) >= 3:
            if words[2] not in MODES or (len(words) > 3 and words[3] not in TARGETS):
                raise ValueError(f"modes: {', '.join(MODES)}; targets: {', '.join(TARGETS)}")
            self.mode = words[2]
            self.target = words[3] if len(words) > 3 else self.target
            return {"mode": self.mode, "target": self.target}
        if words[0] == "status":
            return {"status": [self.describe()]}
        raise ValueError(f"unknown command {' '.join(words)!r}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--address", required=True)
    p.add_argument("--http-port", type=int, default=0)
    p.add_argument("--mode", choices=MODES, required=True)
    p.add_argument("--target", choices=TARGETS, default="description")
    p.add_argument("--huge-size", type=int, default=64 << 20)
    p.add_argument("--slow-interval", type=float, default=2.0)
    p.add_argument("--depth", type=int, default=100_000)
    p.add_argument("--max-age", type=int, default=1800)
    p.add_argument("--announce-interval", type=float, default=30)
    args = p.parse_args()
    if args.address in ("0.0.0.0", ""):
        p.error("pin the device to an interface address")
    pc.unblock_signals()
    device = Hostile(args)
    return asyncio.run(pc.run_peer(device.start, device.stop, device.command))


if __name__ == "__main__":
    sys.exit(main())
