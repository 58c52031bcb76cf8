#!/usr/bin/env python3
"""Self-test of the ACS test peer (unittest, standard library only).

Drives acs_peer.py as a subprocess with a tiny CPE emulator (http.client keep-alive), and
validates every kind of envelope the peer writes with ../shared/tools/cwmp-validate when that
tree is present (skipped with a message otherwise; set CWMP_SHARED to point elsewhere).

Run: python3 Tests/Peers/acs/selftest.py [-v]
"""
from __future__ import annotations

import base64
import glob
import hashlib
import http.client
import http.server
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
PEER = os.path.join(HERE, "acs_peer.py")
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
SHARED = os.environ.get("CWMP_SHARED", os.path.join(REPO, "..", "shared"))
VALIDATOR = os.path.join(SHARED, "tools", "cwmp-validate")
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
NS12 = "urn:dslforum-org:cwmp-1-2"
PASSWORD = "s3cret-" + secrets.token_hex(4)


class Peer:
    """acs_peer.py as a subprocess; reads the LISTENING and CONTROL lines it prints."""

    def __init__(self, *flags: str, env: dict | None = None):
        self.proc = subprocess.Popen([sys.executable, PEER, *flags], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=env, text=True)
        # Read the two port lines in a thread: a buffered text pipe and select() don't mix.
        lines: list[list[str]] = []

        def reader() -> None:
            for _ in range(2):
                line = self.proc.stdout.readline()
                if not line:
                    return
                lines.append(line.split())

        t = threading.Thread(target=reader, daemon=True)
        t.start()
        t.join(10)
        if len(lines) < 2:
            self.proc.kill()
            raise RuntimeError(f"peer did not start: {self.proc.stderr.read()}")
        assert lines[0][0] == "LISTENING" and lines[1][0] == "CONTROL", lines
        self.port, self.cport = int(lines[0][2]), int(lines[1][2])

    def control(self, method: str, path: str, body: object = None) -> tuple[int, object]:
        c = http.client.HTTPConnection("127.0.0.1", self.cport, timeout=10)
        try:
            c.request(method, path, body=None if body is None else json.dumps(body),
                      headers={"Content-Type": "application/json"})
            r = c.getresponse()
            return r.status, json.loads(r.read() or b"null")
        finally:
            c.close()

    def ok(self, method: str, path: str, body: object = None) -> object:
        status, data = self.control(method, path, body)
        assert status == 200, (status, data)
        return data

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self.stderr = self.proc.stderr.read()
        self.proc.stderr.close()
        return self.proc.returncode


def inform(serial: str = "SN0001", ns: str = NS12, env_prefix: str = "soapenv", cwmp_prefix: str = "cwmp",
           events=(("1 BOOT", ""),), versions: str | None = None, cwmp_id: str = "inf-1", retry: int = 0,
           cr_url: str = "http://127.0.0.1:1/cr") -> bytes:
    ev = "".join(f"<EventStruct><EventCode>{c}</EventCode><CommandKey>{k}</CommandKey></EventStruct>"
                 for c, k in events)
    hdr = f'<{cwmp_prefix}:ID {env_prefix}:mustUnderstand="1">{cwmp_id}</{cwmp_prefix}:ID>'
    if versions is not None:
        hdr += (f'<{cwmp_prefix}:SupportedCWMPVersions {env_prefix}:mustUnderstand="0">{versions}'
                f"</{cwmp_prefix}:SupportedCWMPVersions>")
    return (f'<?xml version="1.0"?><{env_prefix}:Envelope xmlns:{env_prefix}="{SOAP_ENV}" '
            f'xmlns:enc="http://schemas.xmlsoap.org/soap/encoding/" xmlns:x="http://www.w3.org/2001/XMLSchema" '
            f'xmlns:xi="http://www.w3.org/2001/XMLSchema-instance" xmlns:{cwmp_prefix}="{ns}">'
            f"<{env_prefix}:Header>{hdr}</{env_prefix}:Header><{env_prefix}:Body><{cwmp_prefix}:Inform>"
            f"<DeviceId><Manufacturer>ExampleCo</Manufacturer><OUI>00D09E</OUI><ProductClass>Proxier</ProductClass>"
            f"<SerialNumber>{serial}</SerialNumber></DeviceId>"
            f'<Event enc:arrayType="{cwmp_prefix}:EventStruct[{len(events)}]">{ev}</Event>'
            f"<MaxEnvelopes>1</MaxEnvelopes><CurrentTime>2025-01-01T00:00:00Z</CurrentTime>"
            f"<RetryCount>{retry}</RetryCount>"
            f'<ParameterList enc:arrayType="{cwmp_prefix}:ParameterValueStruct[1]"><ParameterValueStruct>'
            f"<Name>Device.ManagementServer.ConnectionRequestURL</Name>"
            f'<Value xi:type="x:string">{cr_url}</Value></ParameterValueStruct></ParameterList>'
            f"</{cwmp_prefix}:Inform></{env_prefix}:Body></{env_prefix}:Envelope>").encode()


def cpe_message(name: str, inner: str = "", cwmp_id: str = "cpe-1", ns: str = NS12) -> bytes:
    return (f'<?xml version="1.0"?><s:Envelope xmlns:s="{SOAP_ENV}" '
            f'xmlns:enc="http://schemas.xmlsoap.org/soap/encoding/" xmlns:x="http://www.w3.org/2001/XMLSchema" '
            f'xmlns:xi="http://www.w3.org/2001/XMLSchema-instance" xmlns:c="{ns}">'
            f'<s:Header><c:ID s:mustUnderstand="1">{cwmp_id}</c:ID></s:Header>'
            f"<s:Body><c:{name}>{inner}</c:{name}></s:Body></s:Envelope>").encode()


def cpe_fault(code: int, cwmp_id: str) -> bytes:
    return (f'<s:Envelope xmlns:s="{SOAP_ENV}" xmlns:c="{NS12}"><s:Header><c:ID s:mustUnderstand="1">{cwmp_id}'
            f"</c:ID></s:Header><s:Body><s:Fault><faultcode>Client</faultcode><faultstring>CWMP fault</faultstring>"
            f"<detail><c:Fault><FaultCode>{code}</FaultCode><FaultString>nope</FaultString>"
            f"<SetParameterValuesFault><ParameterName>Device.X</ParameterName><FaultCode>9007</FaultCode>"
            f"</SetParameterValuesFault></c:Fault></detail></s:Fault></s:Body></s:Envelope>").encode()


def parse(body: bytes) -> tuple[str, str | None, ET.Element, dict]:
    """(rpc local name, cwmp:ID, rpc element, cwmp header texts by local name)."""
    root = ET.fromstring(body)
    hdr = root.find(f"{{{SOAP_ENV}}}Header")
    headers = {h.tag.split("}")[1]: h.text for h in (hdr if hdr is not None else [])}
    rpc = root.find(f"{{{SOAP_ENV}}}Body")[0]
    return rpc.tag.split("}")[1], headers.get("ID"), rpc, headers


def h(alg: str, s: str) -> str:
    return (hashlib.sha256 if alg == "SHA-256" else hashlib.md5)(s.encode()).hexdigest()


class Cpe:
    """A tiny CPE: one keep-alive HTTP connection, cookies, Basic/Digest answers to 401."""

    def __init__(self, port: int, user: str | None = None, password: str | None = None,
                 algorithm: str = "MD5", timeout: float = 10):
        self.port, self.user, self.password, self.algorithm = port, user, password, algorithm
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        self.cookies: dict[str, str] = {}
        self.auth: str | None = None
        self.digest: dict | None = None
        self.nc = 0
        self.statuses: list[int] = []

    def close(self) -> None:
        self.conn.close()

    def _digest_header(self) -> str:
        d = self.digest
        self.nc += 1
        nc, cnonce = f"{self.nc:08x}", secrets.token_hex(8)
        ha1 = h(self.algorithm, f"{self.user}:{d['realm']}:{self.password}")
        ha2 = h(self.algorithm, "POST:/acs")
        resp = h(self.algorithm, f"{ha1}:{d['nonce']}:{nc}:{cnonce}:auth:{ha2}")
        return (f'Digest username="{self.user}", realm="{d["realm"]}", nonce="{d["nonce"]}", uri="/acs", '
                f'algorithm={self.algorithm}, qop=auth, nc={nc}, cnonce="{cnonce}", response="{resp}", '
                f'opaque="{d.get("opaque", "")}"')

    def raw(self, body: bytes, auth: str | None = None, cookies: bool = True) -> http.client.HTTPResponse:
        hdrs = {"Content-Type": 'text/xml; charset="utf-8"', "SOAPAction": ""}
        if cookies and self.cookies:
            hdrs["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if auth:
            hdrs["Authorization"] = auth
        self.conn.request("POST", "/acs", body=body, headers=hdrs)
        r = self.conn.getresponse()
        r.data = r.read()
        self.statuses.append(r.status)
        for c in r.headers.get_all("Set-Cookie") or []:
            k, _, v = c.split(";", 1)[0].partition("=")
            self.cookies[k.strip()] = v.strip()
        return r

    def post(self, body: bytes = b"", cookies: bool = True) -> http.client.HTTPResponse:
        """POST; on 401 answer the challenge once (a second 401 is a failed session)."""
        auth = self._digest_header() if self.digest else self.auth
        r = self.raw(body, auth, cookies)
        if r.status != 401 or self.user is None:
            return r
        challenges = r.headers.get_all("WWW-Authenticate") or []
        for c in challenges:
            scheme, _, rest = c.partition(" ")
            params = dict((m[0].lower(), m[1] or m[2]) for m in re.findall(r'(\w+)=(?:"([^"]*)"|([^\s,]+))', rest))
            if scheme == "Digest" and params.get("algorithm", "MD5") == self.algorithm:
                self.digest, self.nc = params, 0
                return self.raw(body, self._digest_header(), cookies)
            if scheme == "Basic":
                self.auth = "Basic " + base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
                return self.raw(body, self.auth, cookies)
        return r


class PeerTest(unittest.TestCase):
    flags: tuple[str, ...] = ()

    def start(self, *flags: str) -> Peer:
        env = dict(os.environ, ACS_PEER_PASSWORD=PASSWORD)
        p = Peer(*flags, env=env)
        self.addCleanup(self._stop, p)
        return p

    def _stop(self, p: Peer) -> None:
        rc = p.stop()
        self.assertEqual(rc, 0, f"peer exit status {rc}")
        self.assertNotIn(PASSWORD, p.stderr, "the password leaked into the log")

    def cpe(self, peer: Peer, **kw) -> Cpe:
        c = Cpe(peer.port, **kw)
        self.addCleanup(c.close)
        return c


class SessionTests(PeerTest):
    def test_inform_informresponse_204(self):
        p = self.start()
        c = self.cpe(p)
        r = c.post(inform(versions="1.0,1.1,1.2,1.3,1.4", cwmp_id="abc&lt;1"))
        self.assertEqual(r.status, 200)
        name, cid, rpc, hdrs = parse(r.data)
        self.assertEqual((name, cid), ("InformResponse", "abc<1"))
        self.assertEqual(rpc.tag, f"{{{NS12}}}InformResponse")
        self.assertEqual(rpc.find("MaxEnvelopes").text, "1")
        self.assertEqual(hdrs.get("UseCWMPVersion"), "1.4")
        self.assertIn("session", c.cookies)
        r = c.post(b"")
        self.assertEqual(r.status, 204)
        self.assertEqual(r.data, b"")
        st = p.ok("GET", "/stats")
        self.assertEqual((st["sessions_started"], st["sessions_completed"], st["sessions_failed"]), (1, 1, 0))
        self.assertEqual(st["informs_by_event"], {"1 BOOT": 1})
        devs = p.ok("GET", "/devices")
        self.assertEqual(devs[0]["id"], "00D09E-Proxier-SN0001")
        li = devs[0]["last_inform"]
        self.assertEqual(li["parameters"]["Device.ManagementServer.ConnectionRequestURL"], "http://127.0.0.1:1/cr")
        self.assertEqual(li["retry_count"], 0)
        # A second session on the same keep-alive connection is a new session.
        r = c.post(inform(events=(("2 PERIODIC", ""),), retry=3))
        self.assertEqual(r.status, 200)
        self.assertEqual(c.post(b"").status, 204)
        self.assertEqual(p.ok("GET", "/devices/SN0001/inform")["retry_count"], 3)

    def test_namespaces_prefixes_and_versions(self):
        p = self.start()
        for ns, pre in (("urn:dslforum-org:cwmp-1-0", ("SOAP-ENV", "cwmp")),
                        ("urn:dslforum-org:cwmp-1-1", ("e", "c")), (NS12, ("soap", "tr"))):
            c = self.cpe(p)
            r = c.post(inform(ns=ns, env_prefix=pre[0], cwmp_prefix=pre[1]))
            name, _, rpc, hdrs = parse(r.data)
            self.assertEqual(rpc.tag, f"{{{ns}}}InformResponse")
            self.assertNotIn("UseCWMPVersion", hdrs)  # the CPE sent no SupportedCWMPVersions
            self.assertEqual(c.post(b"").status, 204)
        p.ok("POST", "/config", {"cwmp_version": "1.2"})
        c = self.cpe(p)
        _, _, _, hdrs = parse(c.post(inform(versions="1.0,1.1,1.2,1.3,1.4")).data)
        self.assertEqual(hdrs.get("UseCWMPVersion"), "1.2")
        c.post(b"")
        p.ok("POST", "/config", {"cwmp_version": "none"})  # an old ACS ignores the header
        _, _, _, hdrs = parse(c.post(inform(versions="1.0,1.4")).data)
        self.assertNotIn("UseCWMPVersion", hdrs)
        c.post(b"")
        p.ok("POST", "/config", {"cwmp_version": "1.4"})
        name, _, rpc, _ = parse(c.post(inform(versions="2.0")).data)
        self.assertEqual(name, "Fault")
        self.assertEqual(rpc.find(f"detail/{{{NS12}}}Fault/FaultCode").text, "8006")

    def test_session_is_bound_to_its_connection(self):
        p = self.start()
        a = self.cpe(p)
        self.assertEqual(a.post(inform()).status, 200)
        b = self.cpe(p)
        b.cookies = dict(a.cookies)
        self.assertEqual(b.post(b"").status, 400)  # GenieACS: no session on this connection
        b2 = self.cpe(p)
        self.assertEqual(b2.post(cpe_message("TransferComplete")).status, 400)  # must start with an Inform
        self.assertEqual(a.post(b"").status, 204)
        a.close()
        self.assertEqual(p.ok("GET", "/stats")["rejected_bad_session"], 2)

    def test_resume_with_cookie_option(self):
        p = self.start("--resume-with-cookie")
        a = self.cpe(p)
        a.post(inform())
        a.close()
        time.sleep(0.1)
        b = self.cpe(p)
        b.cookies = dict(a.cookies)
        self.assertEqual(b.post(b"").status, 204)
        self.assertEqual(p.ok("GET", "/stats")["sessions_completed"], 1)

    def test_cookie_required(self):
        p = self.start("--cookie", "require")
        c = self.cpe(p)
        c.post(inform())
        self.assertEqual(c.post(b"", cookies=False).status, 400)
        c2 = self.cpe(p)
        c2.post(inform())
        self.assertEqual(c2.post(b"").status, 204)
        st = p.ok("GET", "/stats")
        self.assertEqual((st["sessions_completed"], st["sessions_failed"]), (1, 1))

    def test_session_timeout(self):
        p = self.start("--session-timeout", "0.5")
        c = self.cpe(p)
        c.post(inform())
        time.sleep(1.0)
        with self.assertRaises((ConnectionError, http.client.HTTPException, OSError)):
            c.post(b"")
        self.assertEqual(p.ok("GET", "/stats")["sessions_failed"], 1)

    def test_busy_503(self):
        p = self.start("--max-sessions", "2")
        held = [self.cpe(p) for _ in range(2)]
        for i, c in enumerate(held):
            self.assertEqual(c.post(inform(serial=f"B{i}")).status, 200)
        c = self.cpe(p)
        r = c.post(inform(serial="B9"))
        self.assertEqual(r.status, 503)
        self.assertEqual(r.headers["Retry-After"], "60")
        self.assertEqual(p.ok("GET", "/stats")["sessions_in_progress"], 2)
        self.assertEqual(held[0].post(b"").status, 204)
        c = self.cpe(p)
        self.assertEqual(c.post(inform(serial="B9")).status, 200)
        self.assertEqual(p.ok("GET", "/stats")["rejected_busy"], 1)


class AuthTests(PeerTest):
    def check_digest(self, alg: str):
        p = self.start("--auth", "digest", "--digest-algorithms", f"{alg}")
        c = self.cpe(p, user="acs", password=PASSWORD, algorithm=alg)
        r = c.post(inform())
        self.assertEqual(c.statuses, [401, 200])
        self.assertEqual(parse(r.data)[0], "InformResponse")
        self.assertEqual(c.post(b"").status, 204)  # later POSTs carry nc=2 on the same nonce
        # Replaying the same nonce count is rejected.
        c2 = self.cpe(p, user="acs", password=PASSWORD, algorithm=alg)
        c2.post(inform())
        hdr = c2._digest_header()  # nc=2, not yet used
        c3 = self.cpe(p)
        self.assertEqual(c3.raw(inform(serial="R3"), auth=hdr).status, 200)
        c4 = self.cpe(p)
        self.assertEqual(c4.raw(inform(serial="R4"), auth=hdr).status, 401)  # nc=2 again: replay
        self.assertEqual(c2.post(b"").status, 204)  # nc=3 from the rightful client still works
        # Wrong password: 401, the CPE answers the challenge, 401 again → the session fails.
        bad = self.cpe(p, user="acs", password="wrong", algorithm=alg)
        r = bad.post(inform())
        self.assertEqual(bad.statuses, [401, 401])
        st = p.ok("GET", "/stats")
        self.assertEqual(st["sessions_completed"], 2)
        self.assertGreaterEqual(st["auth_failures"], 4)

    def test_digest_md5(self):
        self.check_digest("MD5")

    def test_digest_sha256(self):
        self.check_digest("SHA-256")

    def test_digest_offers_both(self):
        p = self.start("--auth", "digest", "--digest-algorithms", "SHA-256,MD5")
        r = self.cpe(p).raw(inform())
        algs = [re.search(r"algorithm=([\w-]+)", c).group(1) for c in r.headers.get_all("WWW-Authenticate")]
        self.assertEqual(algs, ["SHA-256", "MD5"])
        c = self.cpe(p, user="acs", password=PASSWORD, algorithm="MD5")
        self.assertEqual(c.post(inform()).status, 200)

    def test_stale_nonce(self):
        p = self.start("--auth", "digest", "--nonce-lifetime", "0.3")
        c = self.cpe(p, user="acs", password=PASSWORD)
        c.post(inform())
        c.post(b"")
        time.sleep(0.5)
        r = c.raw(inform(), c._digest_header())
        self.assertEqual(r.status, 401)
        self.assertIn("stale=true", r.headers["WWW-Authenticate"])

    def test_basic(self):
        p = self.start("--auth", "basic")
        c = self.cpe(p, user="acs", password=PASSWORD)
        self.assertEqual(c.post(inform()).status, 200)
        self.assertEqual(c.statuses, [401, 200])
        bad = self.cpe(p, user="acs", password="nope")
        bad.post(inform())
        self.assertEqual(bad.statuses, [401, 401])


class RpcTests(PeerTest):
    def test_queued_gpv_in_batches_of_32(self):
        p = self.start()
        names = [f"Device.X.{i}" for i in range(40)]
        q = p.ok("POST", "/devices/SN0001/rpcs", {"method": "GetParameterValues", "names": names})
        self.assertEqual([x["method"] for x in q["queued"]], ["GetParameterValues"] * 2)
        c = self.cpe(p)
        c.post(inform())
        r = c.post(b"")
        for expect in (32, 8):
            name, cid, rpc, _ = parse(r.data)
            self.assertEqual(name, "GetParameterValues")
            pn = rpc.find("ParameterNames")
            self.assertEqual(len(pn), expect)
            self.assertEqual(pn.get("{http://schemas.xmlsoap.org/soap/encoding/}arrayType"), f"xsd:string[{expect}]")
            pvs = "".join(f"<ParameterValueStruct><Name>{n.text}</Name><Value xi:type=\"x:string\">v{n.text[-2:]}"
                          f"</Value></ParameterValueStruct>" for n in pn)
            r = c.post(cpe_message("GetParameterValuesResponse",
                                   f'<ParameterList enc:arrayType="c:ParameterValueStruct[{expect}]">{pvs}'
                                   "</ParameterList>", cwmp_id=cid))
        self.assertEqual(r.status, 204)
        resp = p.ok("GET", "/devices/SN0001/responses")
        self.assertEqual(len(resp), 2)
        self.assertTrue(all(x["matched"] for x in resp))
        self.assertEqual(resp[1]["values"]["Device.X.39"], "v39")
        self.assertEqual(resp[0]["response"]["ParameterList"][0]["Type"], "x:string")
        self.assertEqual(p.ok("GET", "/devices/SN0001/responses?since=1")[0]["seq"], 2)

    def test_fault_recorded_and_bad_rpc_rejected(self):
        p = self.start()
        status, err = p.control("POST", "/devices/SN0001/rpcs", {"method": "AddObject", "object": "Device.X"})
        self.assertEqual(status, 400)
        p.ok("POST", "/devices/SN0001/rpcs", {"method": "SetParameterValues", "values": [["Device.X", 5]]})
        c = self.cpe(p)
        c.post(inform())
        _, cid, rpc, _ = parse(c.post(b"").data)
        self.assertEqual(rpc.find("ParameterList/ParameterValueStruct/Value").get(
            "{http://www.w3.org/2001/XMLSchema-instance}type"), "xsd:int")
        self.assertEqual(c.post(cpe_fault(9003, cid)).status, 204)
        f = p.ok("GET", "/devices/SN0001/responses")[0]["fault"]
        self.assertEqual((f["code"], f["set_parameter_values_faults"][0]["code"]), (9003, "9007"))

    def test_cpe_requests_and_8005(self):
        p = self.start("--fault-8005", "1")
        c = self.cpe(p)
        c.post(inform(events=(("7 TRANSFER COMPLETE", ""), ("M Download", "dl1"))))
        tc = cpe_message("TransferComplete", "<CommandKey>dl1</CommandKey><FaultStruct><FaultCode>0</FaultCode>"
                         "<FaultString></FaultString></FaultStruct><StartTime>2025-01-01T00:00:00Z</StartTime>"
                         "<CompleteTime>2025-01-01T00:00:01Z</CompleteTime>", cwmp_id="tc1")
        name, cid, rpc, _ = parse(c.post(tc).data)
        self.assertEqual((name, cid), ("Fault", "tc1"))
        self.assertEqual(rpc.find(f"detail/{{{NS12}}}Fault/FaultCode").text, "8005")
        name, cid, _, _ = parse(c.post(tc).data)  # 8005 means: send it again
        self.assertEqual((name, cid), ("TransferCompleteResponse", "tc1"))
        name, _, rpc, _ = parse(c.post(cpe_message("GetRPCMethods", cwmp_id="g")).data)
        self.assertIn("TransferComplete", [s.text for s in rpc.find("MethodList")])
        name, _, rpc, _ = parse(c.post(cpe_message("Kicked", cwmp_id="k")).data)
        self.assertEqual(rpc.find(f"detail/{{{NS12}}}Fault/FaultCode").text, "8000")
        self.assertEqual(c.post(b"").status, 204)
        self.assertEqual([r["method"] for r in p.ok("GET", "/devices/SN0001/requests")],
                         ["TransferComplete", "TransferComplete", "GetRPCMethods", "Kicked"])


class InjectionTests(PeerTest):
    def test_inform_500_close_and_delay(self):
        p = self.start("--fail-inform", "1")
        c = self.cpe(p)
        self.assertEqual(c.post(inform()).status, 500)
        c = self.cpe(p)
        self.assertEqual(c.post(inform()).status, 200)
        c.post(b"")
        p.ok("POST", "/inject", {"close_mid_session": 1})
        c = self.cpe(p)
        c.post(inform())
        with self.assertRaises((ConnectionError, http.client.HTTPException)):
            c.post(b"")
        p.ok("POST", "/inject", {"delay_count": 1, "delay_seconds": 1.0, "delay_on": "inform"})
        c = self.cpe(p, timeout=0.3)
        with self.assertRaises((TimeoutError, socket.timeout)):
            c.post(inform())
        st = p.ok("GET", "/stats")
        self.assertEqual(st["injected"], {"inform_500": 1, "close_mid_session": 1, "delay": 1})
        self.assertEqual(st["sessions_completed"], 1)


class StubCpeHandler(http.server.BaseHTTPRequestHandler):
    """A CPE's connection-request listener requiring Digest (cwmp.md §7)."""
    protocol_version = "HTTP/1.1"
    user, password, realm = "cr-user", "cr-" + secrets.token_hex(4), "cpe"
    hits: list[int] = []

    def log_message(self, *a):  # keep the test output quiet
        pass

    def do_GET(self):
        auth = self.headers.get("Authorization", "")
        p = dict((m[0], m[1] or m[2]) for m in re.findall(r'(\w+)=(?:"([^"]*)"|([^\s,]+))', auth))
        ok = False
        if auth.startswith("Digest ") and p.get("nonce") == "n0nce":
            alg = p.get("algorithm", "MD5")
            ha1 = h(alg, f"{self.user}:{self.realm}:{self.password}")
            ha2 = h(alg, f"GET:{p.get('uri')}")
            ok = p.get("response") == h(alg, f"{ha1}:n0nce:{p.get('nc')}:{p.get('cnonce')}:auth:{ha2}")
        if ok:
            self.hits.append(200)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self.send_response(401)
            self.send_header("WWW-Authenticate", f'Digest realm="{self.realm}", qop="auth", nonce="n0nce", '
                             'algorithm=MD5')
            self.send_header("Content-Length", "0")
            self.end_headers()


class ConnectionRequestTests(PeerTest):
    def test_connection_request(self):
        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), StubCpeHandler)
        t = threading.Thread(target=srv.serve_forever, daemon=True)
        t.start()
        self.addCleanup(srv.server_close)
        self.addCleanup(srv.shutdown)
        url = f"http://127.0.0.1:{srv.server_address[1]}/cr/abc"
        p = self.start()
        c = self.cpe(p)
        c.post(inform(cr_url=url))
        c.post(b"")
        res = p.ok("POST", "/devices/SN0001/connection-request",
                   {"username": StubCpeHandler.user, "password": StubCpeHandler.password})
        self.assertEqual((res["status"], res["statuses"], res["ok"]), (200, [401, 200], True))
        res = p.ok("POST", "/devices/00D09E-Proxier-SN0001/connection-request",
                   {"username": StubCpeHandler.user, "password": "wrong"})
        self.assertEqual((res["status"], res["ok"]), (401, False))
        res = p.ok("POST", "/devices/SN0001/connection-request", {"url": "http://127.0.0.1:1/x", "timeout": 1})
        self.assertIsNone(res["status"])
        status, err = p.control("POST", "/devices/SN0001/connection-request", {"url": "http://192.0.2.1/x"})
        self.assertEqual(status, 400)  # never sent anywhere but loopback


class RecordAndValidateTests(PeerTest):
    """Every kind of envelope the peer writes, recorded, then checked against the BBF XSDs."""

    def test_every_written_envelope_validates(self):
        tmp = tempfile.mkdtemp(prefix="acs-peer-rec-")
        self.addCleanup(shutil.rmtree, tmp, True)
        p = self.start()
        p.ok("POST", "/record", {"dir": tmp})
        rpcs = [
            {"method": "GetParameterValues", "names": ["Device.DeviceInfo.", "Device.ManagementServer.URL"]},
            {"method": "SetParameterValues", "values": [
                {"name": "Device.A", "value": "x&<y"}, {"name": "Device.B", "value": True},
                {"name": "Device.C", "value": 4294967295, "type": "unsignedInt"},
                {"name": "Device.D", "value": "2025-01-01T00:00:00Z", "type": "xsd:dateTime"}],
             "parameter_key": "pk1"},
            {"method": "GetParameterNames", "path": "Device.", "next_level": True},
            {"method": "GetParameterAttributes", "names": ["Device.A"]},
            {"method": "SetParameterAttributes", "attributes": [
                {"name": "Device.A", "notification": 2}, {"name": "Device.B", "access_list": ["Subscriber"]}]},
            {"method": "AddObject", "object": "Device.NAT.PortMapping.", "parameter_key": "k"},
            {"method": "DeleteObject", "object": "Device.NAT.PortMapping.3."},
            {"method": "Reboot", "command_key": "r1"},
            {"method": "FactoryReset"},
            {"method": "Download", "command_key": "d1", "url": "http://127.0.0.1/fw.bin", "username": "u",
             "password": "p", "file_size": 10, "target_file_name": "fw.bin", "delay_seconds": 0},
            {"method": "ScheduleInform", "delay_seconds": 30, "command_key": "s1"},
            {"method": "GetRPCMethods"},
        ]
        q = p.ok("POST", "/devices/SN0001/rpcs", {"rpcs": rpcs})
        self.assertEqual(len(q["queued"]), len(rpcs))
        c = self.cpe(p)
        c.post(inform(versions="1.0,1.4"))
        c.post(cpe_message("TransferComplete", "<CommandKey/><FaultStruct><FaultCode>0</FaultCode><FaultString/>"
                           "</FaultStruct><StartTime>2025-01-01T00:00:00Z</StartTime>"
                           "<CompleteTime>2025-01-01T00:00:00Z</CompleteTime>"))
        for name in ("AutonomousTransferComplete", "DUStateChangeComplete", "AutonomousDUStateChangeComplete",
                     "RequestDownload", "GetRPCMethods", "Kicked"):
            self.assertEqual(c.post(cpe_message(name, cwmp_id=name)).status, 200)
        p.ok("POST", "/inject", {"fault_8005": 1})
        c.post(cpe_message("RequestDownload", cwmp_id="x"))
        r = c.post(b"")
        seen = []
        for _ in range(len(rpcs)):
            name, cid, _, _ = parse(r.data)
            seen.append(name)
            r = c.post(cpe_message(f"{name}Response", cwmp_id=cid))
        self.assertEqual(r.status, 204)
        self.assertEqual(seen, [x["method"] for x in rpcs])
        for ns in ("urn:dslforum-org:cwmp-1-0", "urn:dslforum-org:cwmp-1-1"):
            c = self.cpe(p)
            p.ok("POST", "/devices/OLD/rpcs", {"method": "GetParameterNames", "path": ""})
            c.post(inform(ns=ns, serial="OLD"))
            c.post(cpe_message("GetRPCMethods", ns=ns))
            c.post(cpe_message("TransferComplete", ns=ns))
            c.post(b"")
            c.post(b"")
        c = self.cpe(p)
        c.post(inform(versions="3.0", serial="NEW"))  # 8006
        written = sorted(glob.glob(os.path.join(tmp, "*-acs-*.xml")))
        kinds = {os.path.basename(f).split("-")[2] for f in written}
        for k in ["InformResponse", "Fault", "TransferCompleteResponse", "GetRPCMethodsResponse",
                  "AutonomousTransferCompleteResponse", "DUStateChangeCompleteResponse",
                  "AutonomousDUStateChangeCompleteResponse", "RequestDownloadResponse"] + [x["method"] for x in rpcs]:
            self.assertIn(k, kinds)
        received = glob.glob(os.path.join(tmp, "*-cpe-*.xml"))
        self.assertGreater(len(received), 10)
        if not os.access(VALIDATOR, os.X_OK) or shutil.which("xmllint") is None:
            self.skipTest(f"cwmp-validate not found at {VALIDATOR} (or no xmllint): XSD check skipped")
        res = subprocess.run([VALIDATOR, *written], capture_output=True, text=True, timeout=120)
        self.assertEqual(res.returncode, 0, res.stderr[-3000:])
        print(f"\n  cwmp-validate: {len(written)} envelopes written by the peer "
              f"({len(kinds)} kinds) validate", file=sys.stderr)


class RealCaptureTests(PeerTest):
    """Informs from real CPEs (../shared/data/captures/vendor-informs) must be understood."""

    def test_vendor_informs(self):
        files = sorted(glob.glob(os.path.join(SHARED, "data", "captures", "vendor-informs", "*.xml")))
        if not files:
            self.skipTest("no ../shared/data/captures/vendor-informs: real-capture check skipped")
        p = self.start()
        for f in files:
            with open(f, "rb") as fh:
                body = fh.read()
            c = self.cpe(p)
            r = c.post(body)
            if "bogus" in f:  # deliberately malformed
                self.assertEqual(r.status, 400, f)
                continue
            self.assertEqual(r.status, 200, f)
            name, cid, _, _ = parse(r.data)
            self.assertEqual(name, "InformResponse", f)
            self.assertEqual(cid, re.search(rb"<[\w-]*:?ID[^>]*>([^<]*)<", body).group(1).decode(), f)
            self.assertEqual(c.post(b"").status, 204, f)
        self.assertEqual(len(p.ok("GET", "/devices")), len([f for f in files if "bogus" not in f]))


class MinimalAndLifecycleTests(PeerTest):
    def test_minimal_mode(self):
        p = self.start("--minimal")
        c = self.cpe(p)
        for _ in range(3):
            name, cid, rpc, hdrs = parse(c.post(inform(versions="1.0,1.4", cwmp_id="m&amp;1")).data)
            self.assertEqual((name, cid, hdrs.get("UseCWMPVersion")), ("InformResponse", "m&1", "1.4"))
            self.assertEqual(c.post(b"").status, 204)
        name, _, rpc, hdrs = parse(c.post(inform(ns="urn:dslforum-org:cwmp-1-0")).data)
        self.assertEqual(rpc.tag, "{urn:dslforum-org:cwmp-1-0}InformResponse")
        self.assertNotIn("UseCWMPVersion", hdrs)
        name, _, _, _ = parse(c.post(cpe_message("TransferComplete")).data)
        self.assertEqual(name, "TransferCompleteResponse")
        self.assertEqual(c.post(b"").status, 204)
        st = p.ok("GET", "/stats")
        self.assertEqual((st["informs"], st["sessions_completed"]), (4, 4))

    def test_refuses_non_loopback(self):
        r = subprocess.run([sys.executable, PEER, "--host", "0.0.0.0"], capture_output=True, text=True, timeout=20)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("loopback", r.stderr)

    def test_exit_with_parent(self):
        # A short-lived parent starts the peer and exits; the peer must notice and stop.
        code = ("import subprocess,sys,time;"
                f"p=subprocess.Popen([sys.executable,{PEER!r},'--exit-with-parent'],stdout=subprocess.PIPE);"
                "sys.stdout.write(str(p.pid)+'\\n');sys.stdout.flush();p.stdout.readline();time.sleep(0.2)")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=20).stdout
        pid = int(out.split()[0])
        for _ in range(50):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)
        os.kill(pid, signal.SIGKILL)
        self.fail("peer outlived its parent")


if __name__ == "__main__":
    unittest.main()
