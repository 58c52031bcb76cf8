#!/usr/bin/env python3
"""Throughput check of the ACS test peer: Inform → InformResponse → empty POST → 204 sessions.

Loopback only, bounded by --sessions and --seconds. Each worker process runs blocking sockets,
one TCP connection per session (as a CPE does), so the client stays cheap and the peer is what
is measured. With --spawn it starts acs_peer.py itself and stops it afterwards.

  python3 Tests/Peers/acs/loadgen.py --spawn minimal --seconds 5
  python3 Tests/Peers/acs/loadgen.py --spawn full --seconds 5
  python3 Tests/Peers/acs/loadgen.py --port 41234 --seconds 5      # a peer already running
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"


def inform_request(serial: str, cwmp_id: int) -> bytes:
    body = (f'<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="{SOAP_ENV}" '
            'xmlns:soapenc="http://schemas.xmlsoap.org/soap/encoding/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:cwmp="urn:dslforum-org:cwmp-1-2">'
            f'<soapenv:Header><cwmp:ID soapenv:mustUnderstand="1">{cwmp_id}</cwmp:ID>'
            '<cwmp:SupportedCWMPVersions soapenv:mustUnderstand="0">1.0,1.1,1.2,1.3,1.4</cwmp:SupportedCWMPVersions>'
            "</soapenv:Header><soapenv:Body><cwmp:Inform><DeviceId><Manufacturer>ExampleCo</Manufacturer>"
            f"<OUI>00D09E</OUI><ProductClass>Load</ProductClass><SerialNumber>{serial}</SerialNumber></DeviceId>"
            '<Event soapenc:arrayType="cwmp:EventStruct[1]"><EventStruct><EventCode>2 PERIODIC</EventCode>'
            "<CommandKey></CommandKey></EventStruct></Event><MaxEnvelopes>1</MaxEnvelopes>"
            "<CurrentTime>2025-01-01T00:00:00Z</CurrentTime><RetryCount>0</RetryCount>"
            '<ParameterList soapenc:arrayType="cwmp:ParameterValueStruct[2]">'
            "<ParameterValueStruct><Name>Device.RootDataModelVersion</Name>"
            '<Value xsi:type="xsd:string">2.17</Value></ParameterValueStruct>'
            "<ParameterValueStruct><Name>Device.ManagementServer.ConnectionRequestURL</Name>"
            '<Value xsi:type="xsd:string">http://127.0.0.1:7547/cr</Value></ParameterValueStruct>'
            "</ParameterList></cwmp:Inform></soapenv:Body></soapenv:Envelope>").encode()
    return (b"POST /acs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/xml; charset=\"utf-8\"\r\n"
            b"SOAPAction: \"\"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)


def read_response(sock: socket.socket, buf: bytearray) -> tuple[int, bytes, bytes]:
    """(status, head, body) of one HTTP response; a 204 has no body."""
    for _ in range(10000):
        i = buf.find(b"\r\n\r\n")
        if i >= 0:
            break
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("peer closed")
        buf += chunk
    else:
        raise ConnectionError("no response head")
    head = bytes(buf[:i])
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    while len(buf) < i + 4 + length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("peer closed mid-body")
        buf += chunk
    body = bytes(buf[i + 4:i + 4 + length])
    del buf[:i + 4 + length]
    return status, head, body


EMPTY_POST = b"POST /acs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n"


def worker(idx: int, port: int, count: int, deadline: float, out: mp.Queue) -> None:
    reqs = [inform_request(f"LG{idx}-{i}", i) for i in range(200)]
    done = errors = 0
    lat: list[float] = []
    for n in range(count):
        if time.time() >= deadline:
            break
        t0 = time.perf_counter()
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                buf = bytearray()
                s.sendall(reqs[n % len(reqs)])
                status, _, body = read_response(s, buf)
                if status != 200 or b"InformResponse" not in body:
                    raise ConnectionError(f"Inform answered {status}")
                s.sendall(EMPTY_POST)
                status, _, _ = read_response(s, buf)
                if status != 204:
                    raise ConnectionError(f"empty POST answered {status}")
            done += 1
            if n % 10 == 0:
                lat.append(time.perf_counter() - t0)
        except (OSError, ValueError) as e:
            errors += 1
            if errors > 100:
                out.put((done, errors, lat, f"{type(e).__name__}: {e}"))
                return
    out.put((done, errors, lat, None))


def spawn_peer(mode: str, extra: list[str]) -> tuple[subprocess.Popen, int, int]:
    flags = ["--minimal"] if mode == "minimal" else ["--max-sessions", "1000"]
    proc = subprocess.Popen([sys.executable, os.path.join(HERE, "acs_peer.py"), *flags, *extra],
                            stdout=subprocess.PIPE, text=True)
    lines: list[list[str]] = []

    def reader() -> None:
        for _ in range(2):
            lines.append(proc.stdout.readline().split())

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    t.join(10)
    if len(lines) < 2 or not lines[1]:
        proc.kill()
        raise SystemExit("peer did not start")
    return proc, int(lines[0][2]), int(lines[1][2])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, help="CWMP port of a running peer")
    ap.add_argument("--control-port", type=int, help="its control port (for /stats)")
    ap.add_argument("--spawn", choices=("minimal", "full"), help="start a peer in this mode")
    ap.add_argument("--workers", type=int, default=4, help="client processes (each one session at a time)")
    ap.add_argument("--sessions", type=int, default=200000, help="upper bound on sessions in total")
    ap.add_argument("--seconds", type=float, default=5.0, help="upper bound on run time (max 60)")
    a = ap.parse_args()
    proc = None
    if a.spawn:
        proc, a.port, a.control_port = spawn_peer(a.spawn, [])
    elif a.port is None:
        ap.error("give --port or --spawn")
    seconds = min(a.seconds, 60.0)
    try:
        out: mp.Queue = mp.Queue()
        t0 = time.time()
        deadline = t0 + seconds
        per = max(1, a.sessions // a.workers)
        ps = [mp.Process(target=worker, args=(i, a.port, per, deadline, out)) for i in range(a.workers)]
        for p in ps:
            p.start()
        results = [out.get(timeout=seconds + 60) for _ in ps]
        elapsed = time.time() - t0
        for p in ps:
            p.join(10)
        done = sum(r[0] for r in results)
        errors = sum(r[1] for r in results)
        lat = sorted(x for r in results for x in r[2])
        report = {"mode": a.spawn or "external", "workers": a.workers, "sessions": done, "errors": errors,
                  "seconds": round(elapsed, 2), "sessions_per_s": round(done / elapsed, 1),
                  "latency_ms_p50": round(1000 * lat[len(lat) // 2], 2) if lat else None,
                  "latency_ms_p99": round(1000 * lat[int(len(lat) * 0.99)], 2) if lat else None,
                  "first_error": next((r[3] for r in results if r[3]), None)}
        if a.control_port:
            with urllib.request.urlopen(f"http://127.0.0.1:{a.control_port}/stats", timeout=10) as r:
                st = json.load(r)
            report["peer_sessions_completed"] = st["sessions_completed"]
        print(json.dumps(report))
        return 0 if done and not errors else 1
    finally:
        if proc is not None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(10)


if __name__ == "__main__":
    sys.exit(main())
