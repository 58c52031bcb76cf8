#!/usr/bin/env python3
# `snmpwalk -On -Ox -Oe` output (stdin) to snmpsim's .snmprec format (stdout): one `OID|TAG|VALUE` line per
# variable, tags by BER type (2 INTEGER, 4 OCTET STRING, 6 OBJECT IDENTIFIER, 64 IpAddress, 65 Counter32,
# 66 Gauge32, 67 TimeTicks, 68 Opaque, 70 Counter64). Printable strings are written as text, others as `4x|HEX`.
# Used by record-fixtures.sh; see README.md.
import re
import sys

records = []
for raw in sys.stdin.read().splitlines():
    match = re.match(r"^\.?([0-9.]+) = (.*)$", raw)
    if not match:
        # A Hex-STRING spread over several lines: the rest of the previous value.
        if records and records[-1][1] == "hex":
            records[-1][2] += " " + raw.strip()
        continue
    oid, text = match.groups()
    if text == '""':
        records.append([oid, "hex", ""])
    elif text.startswith("Hex-STRING: "):
        records.append([oid, "hex", text[len("Hex-STRING: "):]])
    elif text.startswith("STRING: "):
        records.append([oid, "4", text[len("STRING: "):].strip('"')])
    elif text.startswith("INTEGER: "):
        records.append([oid, "2", text[len("INTEGER: "):]])
    elif text.startswith("OID: "):
        records.append([oid, "6", text[len("OID: "):].lstrip(".")])
    elif text.startswith("IpAddress: "):
        records.append([oid, "64", text[len("IpAddress: "):]])
    elif text.startswith("Counter32: "):
        records.append([oid, "65", text[len("Counter32: "):]])
    elif text.startswith("Gauge32: "):
        records.append([oid, "66", text[len("Gauge32: "):]])
    elif text.startswith("Timeticks: ("):
        records.append([oid, "67", text[len("Timeticks: ("):text.index(")")]])
    elif text.startswith("Counter64: "):
        records.append([oid, "70", text[len("Counter64: "):]])
    elif text.startswith("OPAQUE: ") or text.startswith("Opaque: "):
        records.append([oid, "68x", text.split(": ", 1)[1].replace(" ", "")])
    elif text.startswith("No more variables") or text.startswith("No Such"):
        continue
    else:
        sys.exit(f"snmpwalk-to-snmprec: cannot convert {raw!r}")

for oid, tag, value in records:
    if tag == "hex":
        data = bytes(int(byte, 16) for byte in value.split())
        if all(0x20 <= byte < 0x7F for byte in data):
            print(f"{oid}|4|{data.decode('ascii')}")
        else:
            print(f"{oid}|4x|{data.hex()}")
    else:
        print(f"{oid}|{tag}|{value}")
