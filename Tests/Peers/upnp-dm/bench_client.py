#!/usr/bin/env python3
"""The benchmark baseline of issue 4: async-upnp-client's *client* doing GetValues round trips against a
dm_device.py, reporting this process's own CPU time per action (build, send, parse), so the Swift control point's
CPU per action can be given as a ratio to it in the same run. The device is a separate process: its CPU is not
counted (it is the shared bottleneck, so wall time says little).

    bench_client.py --location http://10.77.x.2:PORT/device.xml [--calls 2000] [--warmup 50]
                    [--path /UPnP/DM/DeviceInfo/] [--path …]

Prints one JSON line: {"calls", "cpu_seconds", "cpu_per_call_us", "wall_seconds", "parameters_per_call"}.
Each call also parses the returned ParameterValueList with xml.etree, as the Swift side parses its result.
"""
import argparse
import asyncio
import json
import sys
import time
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape

CMS = "urn:schemas-upnp-org:service:ConfigurationManagement:2"
NS = "urn:schemas-upnp-org:dm:cms"


async def main(args: argparse.Namespace) -> int:
    from async_upnp_client.aiohttp import AiohttpSessionRequester
    from async_upnp_client.client_factory import UpnpFactory
    import aiohttp

    paths = args.path or ["/UPnP/DM/DeviceInfo/"]
    document = f'<cms:ContentPathList xmlns:cms="{NS}">' + "".join(
        f"<ContentPath>{escape(p)}</ContentPath>" for p in paths) + "</cms:ContentPathList>"
    # One keep-alive session, as a real control point (and the Swift client) would use.
    async with aiohttp.ClientSession() as session:
        requester = AiohttpSessionRequester(session, with_sleep=False, timeout=10)
        device = await UpnpFactory(requester).async_create_device(args.location)
        action = device.service(CMS).action("GetValues")
        count = 0

        async def one() -> None:
            nonlocal count
            result = await action.async_call(Parameters=document)
            count = len(ET.fromstring(result["ParameterValueList"]))
        for _ in range(args.warmup):
            await one()
        cpu = time.process_time()
        wall = time.perf_counter()
        for _ in range(args.calls):
            await one()
        cpu = time.process_time() - cpu
        wall = time.perf_counter() - wall
    print(json.dumps({"calls": args.calls, "cpu_seconds": round(cpu, 6),
                      "cpu_per_call_us": round(cpu / args.calls * 1e6, 1), "wall_seconds": round(wall, 6),
                      "parameters_per_call": count}), flush=True)
    return 0


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--location", required=True)
    p.add_argument("--calls", type=int, default=2000)
    p.add_argument("--warmup", type=int, default=50)
    p.add_argument("--path", action="append")
    sys.exit(asyncio.run(main(p.parse_args())))
