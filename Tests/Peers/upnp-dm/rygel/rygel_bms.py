#!/usr/bin/env python3
"""Launcher for Rygel (Debian `rygel` 0.42) as a real BasicManagement:2 peer.

    rygel_bms.py --interface IFACE --address IP [--port 49160] [--timeout 30]

Writes rygel-bms.conf (with IFACE and PORT) into a fresh temporary XDG_CONFIG_HOME, starts `rygel` with HOME and the
XDG folders in that directory, waits until an M-SEARCH pinned to IP finds its BasicManagement:2 service, and prints
the same ready lines as dm_device.py ({"event": "ready", "udn", "location", "http_port", "bms_control_url", ...},
then {"event": "all-ready"}). Control on stdin: `status 0`, `stop`; EOF, SIGTERM and SIGINT stop Rygel (SIGTERM,
then SIGKILL after 5 s) and remove the temporary directory. Rygel's own output goes to our stderr.

Keep Ping and Traceroute targets inside the namespace: Rygel really runs ping (`iputils-ping` must be installed).
"""
import argparse
import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from urllib.parse import urljoin

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import peer_common as pc  # noqa: E402

BMS_TYPE = "urn:schemas-upnp-org:service:BasicManagement:2"


async def find_bms(address: str, timeout: float) -> dict | None:
    """M-SEARCH for BasicManagement:2 from `address` until Rygel answers (or `timeout`)."""
    from async_upnp_client.search import async_search
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        found: list[dict] = []

        async def callback(headers) -> None:
            found.append({key.upper(): value for key, value in headers.items()})
        await async_search(callback, timeout=1, search_target=BMS_TYPE, source=(address, 0))
        if found:
            return found[0]
    return None


async def describe(location: str) -> dict:
    """The BMS control and event URLs from Rygel's description (plain aiohttp GET, parsed with defusedxml)."""
    import aiohttp
    import defusedxml.ElementTree as DET
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        async with session.get(location) as response:
            text = await response.text()
    root = DET.fromstring(text)
    ns = {"d": "urn:schemas-upnp-org:device-1-0"}
    for service in root.iterfind(".//d:service", ns):
        if service.findtext("d:serviceType", namespaces=ns) == BMS_TYPE:
            return {"bms_control_url": urljoin(location, service.findtext("d:controlURL", namespaces=ns)),
                    "bms_event_url": urljoin(location, service.findtext("d:eventSubURL", namespaces=ns)),
                    "bms_scpd_url": urljoin(location, service.findtext("d:SCPDURL", namespaces=ns)),
                    "device_type": root.findtext(".//d:deviceType", namespaces=ns)}
    return {}


async def main(args: argparse.Namespace) -> int:
    rygel = shutil.which("rygel") or "/usr/bin/rygel"
    if not os.path.exists(rygel):
        print("rygel is not installed (apt-get install rygel iputils-ping)", file=sys.stderr)
        return 2
    home = tempfile.mkdtemp(prefix="cwmpt-rygel-")
    process: subprocess.Popen | None = None
    try:
        config_home = os.path.join(home, "config")
        os.makedirs(config_home)
        with open(os.path.join(HERE, "rygel-bms.conf")) as template:
            config = template.read().replace("@INTERFACE@", args.interface).replace("@PORT@", str(args.port))
        media = os.path.join(home, "media")
        os.makedirs(media)
        config = config.replace("@MEDIA@", media)
        with open(os.path.join(config_home, "rygel.conf"), "w") as out:
            out.write(config)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "DBUS_"))}
        env.update(HOME=home, XDG_CONFIG_HOME=config_home, XDG_CACHE_HOME=os.path.join(home, "cache"),
                   XDG_DATA_HOME=os.path.join(home, "data"), XDG_RUNTIME_DIR=home, GSETTINGS_BACKEND="memory")
        process = subprocess.Popen([rygel, "-n", args.interface, "-p", str(args.port)], env=env,
                                   stdin=subprocess.DEVNULL, stdout=sys.stderr, stderr=sys.stderr)
        headers = await find_bms(args.address, args.timeout)
        if headers is None or process.poll() is not None:
            print("rygel did not answer an M-SEARCH for BasicManagement:2", file=sys.stderr)
            return 1
        location = headers["LOCATION"]
        device = {"index": 0, "udn": headers["USN"].split("::")[0], "location": location, "http_port": args.port,
                  "boot_id": int(headers.get("BOOTID.UPNP.ORG", "0") or 0), "serial": "", "pid": process.pid,
                  "server": headers.get("SERVER", ""), **(await describe(location))}

        async def stop_rygel() -> None:
            if process and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                for _ in range(50):
                    if process.poll() is not None:
                        break
                    await asyncio.sleep(0.1)
                if process.poll() is None:
                    process.kill()
                process.wait()

        async def start() -> list[dict]:
            return [device]

        async def command(words: list[str]) -> dict:
            if words[0] == "status":
                return {"status": [{**device, "running": process.poll() is None}]}
            raise ValueError(f"unknown command {' '.join(words)!r}")
        return await pc.run_peer(start, stop_rygel, command)
    finally:
        if process and process.poll() is None:
            process.kill()
            process.wait()
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--interface", required=True, help="network interface Rygel attaches to")
    p.add_argument("--address", required=True, help="that interface's IPv4 address (the M-SEARCH source)")
    p.add_argument("--port", type=int, default=49160)
    p.add_argument("--timeout", type=float, default=30)
    pc.unblock_signals()  # Rygel inherits our (now unblocked) mask
    # Until run_peer installs its handlers, SIGTERM still runs the cleanup (the finally block stops Rygel).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    sys.exit(asyncio.run(main(p.parse_args())))
