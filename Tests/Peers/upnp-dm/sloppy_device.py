#!/usr/bin/env python3
"""A deliberately sloppy ConfigurationManagement:2 device for the control point's tolerance tests.

Its quirks are modelled on what upnp-testbed.md reports of real DSL gateways (as simulated by devolo's gwsim; no
code of it is used here). Each quirk is chosen by name so a test can say which case it covers:

  short-body            the description's Content-Length promises 335 bytes more than are sent; then the
                        connection closes
  ssdp-no-final-crlf    SSDP search replies and NOTIFYs end after the last header line (no empty line)
  ssdp-no-space         SSDP headers without a space after the colon (`ST:urn:…`)
  http10-no-length      SOAP responses are `HTTP/1.0 200 OK` without Content-Length (the body ends at close)
  empty-content-length  SOAP responses carry `CONTENT-LENGTH:` with no value (the body ends at close)
  unescaped-xml         XML-valued out arguments embedded as child elements instead of escaped text
  padded-values         values padded with spaces (`<Value> 8 </Value>`)

    sloppy_device.py --address IP [--http-port P] [--quirks a,b|all|none] [--max-age S] [--announce-interval S]

Actions: GetSupportedDataModels, GetSupportedParameters, GetValues (anything else → fault 401; an unknown path →
703). Ready line and control commands as dm_device.py (`quirks 0 LIST` replaces the active quirks; `stop`; EOF).
The description's controlURL is absolute, its SCPDURL and eventSubURL relative, as seen on real gateways.
"""
import argparse
import asyncio
import os
import re
import sys
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import peer_common as pc  # noqa: E402

QUIRKS = ("short-body", "ssdp-no-final-crlf", "ssdp-no-space", "http10-no-length", "empty-content-length",
          "unescaped-xml", "padded-values")
CMS_NS = "urn:schemas-upnp-org:dm:cms"

VALUES = {
    "/UPnP/DM/DeviceInfo/ManufacturerOUI": "00D0F8",
    "/UPnP/DM/DeviceInfo/ProductClass": "SloppyGW",
    "/UPnP/DM/DeviceInfo/SerialNumber": "SLOPPY0001",
    "/UPnP/DM/DeviceInfo/FriendlyName": "Sloppy gateway",
    "/UPnP/DM/DeviceInfo/SoftwareVersion": "7.1.2",
    "/BBF/DSL/Line/0/Status": "Up",
    "/BBF/DSL/Line/0/UpstreamCurrRate": "8",
    "/BBF/DSL/Line/0/DownstreamCurrRate": "100",
    "/BBF/DSL/Line/0/TestParams/SNRpsds": "1,2,3",
    "/BBF/DSL/LineNumberOfEntries": "1",
}


class Sloppy:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.quirks = self.parse_quirks(args.quirks)
        self.udn = pc.new_udn()
        self.port = args.http_port or pc.free_port(args.address)
        self.base = f"http://{args.address}:{self.port}"
        self.ssdp = pc.SSDPDevice(args.address, self.udn, f"{self.base}/description.xml", [pc.CMS_TYPE],
                                  args.max_age, args.announce_interval, format_packet=self.ssdp_packet)
        self.server: asyncio.AbstractServer | None = None

    @staticmethod
    def parse_quirks(text: str) -> set[str]:
        if text in ("all", ""):
            return set(QUIRKS) if text == "all" else set()
        if text == "none":
            return set()
        quirks = {q.strip() for q in text.split(",") if q.strip()}
        unknown = quirks - set(QUIRKS)
        if unknown:
            raise ValueError(f"unknown quirks {sorted(unknown)}; known: {', '.join(QUIRKS)}")
        return quirks

    def ssdp_packet(self, start_line: str, headers: list[tuple[str, str]]) -> bytes:
        separator = ":" if "ssdp-no-space" in self.quirks else ": "
        text = start_line + "\r\n" + "".join(f"{k}{separator}{v}\r\n" for k, v in headers)
        if "ssdp-no-final-crlf" not in self.quirks:
            text += "\r\n"
        return text.encode()

    # ---- HTTP ------------------------------------------------------------------------------------------------------
    async def handle(self, request: pc.Request, writer: asyncio.StreamWriter) -> None:
        if request.method == "GET" and request.path == "/description.xml":
            body = pc.description(self.udn, "Sloppy gateway", "SLOPPY0001", self.base, "SloppyGW")
            if "short-body" in self.quirks:
                writer.write(pc.response_head("200 OK", [("CONTENT-TYPE", "text/xml"),
                                                         ("CONTENT-LENGTH", str(len(body) + 335))]) + body)
            else:
                writer.write(pc.simple_response(body))
        elif request.method == "GET" and request.path == "/cms.xml":
            writer.write(pc.simple_response(pc.cms_scpd()))
        elif request.method == "POST" and request.path == "/upnp/control/cms":
            status, body = self.control(request)
            writer.write(self.soap_framing(status, body))
        else:
            writer.write(pc.simple_response(b"not found", "text/plain", "404 Not Found"))
        await writer.drain()

    def soap_framing(self, status: str, body: bytes) -> bytes:
        if "http10-no-length" in self.quirks:
            return pc.response_head(status, [("CONTENT-TYPE", "text/xml")], version="HTTP/1.0") + body
        if "empty-content-length" in self.quirks:
            return pc.response_head(status, [("CONTENT-TYPE", 'text/xml; charset="utf-8"'), ("CONTENT-LENGTH", "")]) + body
        return pc.simple_response(body, status=status)

    def xml_argument(self, root: ET.Element) -> str | ET.Element:
        if "unescaped-xml" in self.quirks:
            return root
        return ET.tostring(root, encoding="unicode")

    def pad(self, value: str) -> str:
        return f" {value} " if "padded-values" in self.quirks else value

    def control(self, request: pc.Request) -> tuple[str, bytes]:
        action = request.soap_action
        ET.register_namespace("cms", CMS_NS)
        if action == "GetSupportedDataModels":
            root = ET.Element(f"{{{CMS_NS}}}SupportedDataModels")
            for uri, location in (("urn:broadband-forum-org:tr-181-2-0", "/BBF/"),):
                tree = ET.SubElement(root, "SubTree")
                ET.SubElement(tree, "URI").text = uri
                ET.SubElement(tree, "Location").text = self.pad(location)
            return "200 OK", pc.soap_envelope(action, pc.CMS_TYPE, [("SupportedDataModels", self.xml_argument(root))])
        if action == "GetSupportedParameters":
            root = ET.Element(f"{{{CMS_NS}}}StructurePathList")
            for path in sorted({re.sub(r"/\d+/", "/#/", p) for p in VALUES}):
                ET.SubElement(root, "StructurePath").text = path
            return "200 OK", pc.soap_envelope(action, pc.CMS_TYPE, [("Result", self.xml_argument(root))])
        if action == "GetValues":
            paths = self.content_paths(request.body)
            if paths is None:
                return "500 Internal Server Error", pc.soap_fault(702, "Invalid XML Argument")
            selected = []
            for path in paths:
                regex = re.compile("^" + re.escape(path).replace("\\#", r"\d+") + ("" if path.endswith("/") else "$"))
                matched = [p for p in VALUES if regex.match(p)]
                if not matched:
                    return "500 Internal Server Error", pc.soap_fault(703, "No Such Name")
                selected += [p for p in matched if p not in selected]
            root = ET.Element(f"{{{CMS_NS}}}ParameterValueList")
            for path in selected:
                parameter = ET.SubElement(root, "Parameter")
                ET.SubElement(parameter, "ParameterPath").text = path
                ET.SubElement(parameter, "Value").text = self.pad(VALUES[path])
            return "200 OK", pc.soap_envelope(action, pc.CMS_TYPE, [("ParameterValueList", self.xml_argument(root))])
        return "500 Internal Server Error", pc.soap_fault(401, "Invalid Action")

    @staticmethod
    def content_paths(body: bytes) -> list[str] | None:
        import defusedxml.ElementTree as DET
        try:
            envelope = DET.fromstring(body, forbid_dtd=True)
            argument = next(e for e in envelope.iter() if e.tag.rsplit("}", 1)[-1] == "Parameters")
            inner = list(argument)[0] if len(argument) else DET.fromstring((argument.text or "").strip(), forbid_dtd=True)
            return [(c.text or "").strip() for c in inner if c.tag.rsplit("}", 1)[-1] == "ContentPath"]
        except Exception:  # noqa: BLE001 - any parse failure is the device's 702
            return None

    # ---- lifecycle -------------------------------------------------------------------------------------------------
    async def start(self) -> list[dict]:
        self.server = await pc.serve_http(self.args.address, self.port, self.handle)
        await self.ssdp.start()
        return [self.describe()]

    def describe(self) -> dict:
        return {"index": 0, "udn": self.udn, "location": f"{self.base}/description.xml", "http_port": self.port,
                "boot_id": 1, "serial": "SLOPPY0001", "quirks": sorted(self.quirks)}

    async def stop(self) -> None:
        await self.ssdp.stop()
        if self.server:
            self.server.close()

    async def command(self, words: list[str]) -> dict:
        if words[0] == "quirks" and len(words) == 3:
            self.quirks = self.parse_quirks(words[2])
            return {"quirks": sorted(self.quirks)}
        if words[0] == "status":
            return {"status": [self.describe()]}
        raise ValueError(f"unknown command {' '.join(words)!r}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--address", required=True)
    p.add_argument("--http-port", type=int, default=0)
    p.add_argument("--quirks", default="all", help=f"comma list of {', '.join(QUIRKS)}; or all / none")
    p.add_argument("--max-age", type=int, default=1800)
    p.add_argument("--announce-interval", type=float, default=30)
    args = p.parse_args()
    if args.address in ("0.0.0.0", ""):
        p.error("pin the device to an interface address")
    pc.unblock_signals()
    device = Sloppy(args)
    return asyncio.run(pc.run_peer(device.start, device.stop, device.command))


if __name__ == "__main__":
    sys.exit(main())
