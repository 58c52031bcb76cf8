#!/bin/bash
# Re-records the snmpsim fixtures of this directory (switch.snmprec, host.snmprec) from Debian's snmpd, so that
# the simulated devices answer exactly as a real net-snmp agent does. Needs root (a network and a PID namespace),
# snmpd, iproute2, util-linux's unshare and Tests/Peers/.venv (scripts/install-deps --tests). See README.md.
#
# Each device is a real snmpd in a network namespace of its own (its interfaces are veths created here, with fixed
# MAC addresses) and a PID namespace of its own (its HOST-RESOURCES process table is snmpd alone, not this
# machine's processes). net-snmp's snmpwalk (-On -Ox -Oe: numeric OIDs, strings in hex, enumerations as numbers)
# walks it from inside the namespace and snmpwalk-to-snmprec.py turns that into snmpsim's format. (snmpsim's own
# recorder, snmpsim-record-commands 1.2.2, fails on pysnmp 7's var-bind rows: ValueError in cmd2rec.py.)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
recorder="$here/../../Peers/.venv/bin/snmpsim-record-commands"
[ -x "$recorder" ] || { echo "record-fixtures: $recorder missing (scripts/install-deps --tests)" >&2; exit 1; }
work="$(mktemp -d /tmp/cwmp-record.XXXXXX)"
ns="cwmp-rec-$$"
pid=""
cleanup() {
    [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# record NAME CONFIG-LINES-FILE SUBTREE... : starts snmpd with the extra configuration, walks every subtree (in
# increasing OID order: snmpsim answers GETNEXT in file order), writes $here/NAME.snmprec.
record() {
    local name="$1" extra="$2"; shift 2
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    # Interfaces come from the caller's setup function (below).
    "setup_$name"
    {
        echo "agentAddress udp:127.0.0.1:161"
        echo "rocommunity public 127.0.0.1"
        cat "$extra"
    } > "$work/snmpd.conf"
    # A second process (sleep) so that the process table has more than one row; --kill-child: killing unshare
    # kills the namespace's init (the shell, then snmpd) and with it the sleep.
    ip netns exec "$ns" unshare --pid --fork --kill-child --mount-proc /bin/sh -c \
        'sleep 600 & exec /usr/sbin/snmpd -f -Lf "$0/snmpd.log" -C -c "$0/snmpd.conf" -p "$0/snmpd.pid"' "$work" &
    pid=$!
    for _ in $(seq 50); do
        MIBS= MIBDIRS=/nonexistent ip netns exec "$ns" snmpget -v2c -c public -t 0.2 -r 0 127.0.0.1 1.3.6.1.2.1.1.3.0 \
            >/dev/null 2>&1 && break
        sleep 0.1
    done
    # snmpd fills hrProcessorLoad from a one-minute history of /proc/stat: give it that minute when asked.
    [ -n "${settle:-}" ] && sleep "$settle"
    : > "$work/$name.walk"
    while [ $# -gt 0 ]; do
        MIBS= MIBDIRS=/nonexistent ip netns exec "$ns" snmpwalk -v2c -c public -On -Ox -Oe 127.0.0.1 "$1" >> "$work/$name.walk"
        shift
    done
    python3 "$here/snmpwalk-to-snmprec.py" < "$work/$name.walk" > "$work/$name.snmprec"
    kill -9 "$pid"; wait "$pid" 2>/dev/null || true; pid=""
    ip netns del "$ns"
    # Host-specific text: the temporary directory in snmpd's command line becomes a fixed path, this machine's
    # sandbox and namespace mount points (hrStorageDescr, hrFSMountPoint) become ordinary server ones. Check the
    # result for others when recording on another machine.
    sed -e "s|$work|/var/lib/snmp|g" -e "s|/mnt/sandboxing/[^|]*|/srv/files|" -e "s|/run/netns|/var/log|" \
        "$work/$name.snmprec" > "$here/$name.snmprec"
    echo "record-fixtures: $here/$name.snmprec: $(wc -l < "$here/$name.snmprec") records" >&2
}

# A 12-port access switch: six veth pairs port1..port12 (MACs 02:00:5e:10:00:01..0c), ports 11 and 12 down, an
# ENTITY-MIB chassis with two modules and one port entity (Linux's snmpd has no entPhysicalTable: `override` rows).
setup_switch() {
    for i in 1 3 5 7 9 11; do
        j=$((i + 1))
        ip -n "$ns" link add "port$i" address "$(printf '02:00:5e:10:00:%02x' "$i")" type veth \
            peer name "port$j" address "$(printf '02:00:5e:10:00:%02x' "$j")"
        ip -n "$ns" link set "port$i" mtu 9000
        ip -n "$ns" link set "port$j" mtu 9000
        if [ "$i" -lt 11 ]; then ip -n "$ns" link set "port$i" up; ip -n "$ns" link set "port$j" up; fi
    done
    ip -n "$ns" addr add 192.0.2.200/24 dev port1
}
cat > "$work/switch.conf" <<'CONF'
sysName access-sw-01
sysDescr Acme AX-100 12-port access switch, firmware 7.1.2
sysContact noc@example.net
sysLocation Rack 4, Building B
sysObjectID .1.3.6.1.4.1.32473.1.100
sysServices 2
override .1.3.6.1.2.1.47.1.1.1.1.2.1 octet_str "AX-100 chassis"
override .1.3.6.1.2.1.47.1.1.1.1.2.2 octet_str "AX-100 uplink module"
override .1.3.6.1.2.1.47.1.1.1.1.2.3 octet_str "AX-100 power supply"
override .1.3.6.1.2.1.47.1.1.1.1.4.1 integer 0
override .1.3.6.1.2.1.47.1.1.1.1.4.2 integer 1
override .1.3.6.1.2.1.47.1.1.1.1.4.3 integer 1
override .1.3.6.1.2.1.47.1.1.1.1.5.1 integer 3
override .1.3.6.1.2.1.47.1.1.1.1.5.2 integer 9
override .1.3.6.1.2.1.47.1.1.1.1.5.3 integer 6
override .1.3.6.1.2.1.47.1.1.1.1.7.1 octet_str "chassis"
override .1.3.6.1.2.1.47.1.1.1.1.7.2 octet_str "uplink"
override .1.3.6.1.2.1.47.1.1.1.1.7.3 octet_str "psu"
override .1.3.6.1.2.1.47.1.1.1.1.8.1 octet_str "rev B"
override .1.3.6.1.2.1.47.1.1.1.1.8.2 octet_str "rev A"
override .1.3.6.1.2.1.47.1.1.1.1.10.1 octet_str "7.1.2"
override .1.3.6.1.2.1.47.1.1.1.1.11.1 octet_str "AX100-000123"
override .1.3.6.1.2.1.47.1.1.1.1.11.2 octet_str "UPL-4711"
override .1.3.6.1.2.1.47.1.1.1.1.11.3 octet_str "PSU-0815"
override .1.3.6.1.2.1.47.1.1.1.1.12.1 octet_str "Acme Networks"
override .1.3.6.1.2.1.47.1.1.1.1.12.2 octet_str "Acme Networks"
override .1.3.6.1.2.1.47.1.1.1.1.12.3 octet_str "PowerCo"
override .1.3.6.1.2.1.47.1.1.1.1.13.1 octet_str "AX-100"
override .1.3.6.1.2.1.47.1.1.1.1.13.2 octet_str "AX-UPL-2"
override .1.3.6.1.2.1.47.1.1.1.1.13.3 octet_str "PS-150"
CONF

# A Linux server: one uplink (veth eth0/eth1, 198.51.100.7/24), HOST-RESOURCES-MIB from the real kernel, snmpd as the
# only process of its PID namespace.
setup_host() {
    ip -n "$ns" link add eth0 address 02:00:5e:20:00:01 type veth peer name eth1 address 02:00:5e:20:00:02
    ip -n "$ns" addr add 198.51.100.7/24 dev eth0
    ip -n "$ns" link set eth0 up
    ip -n "$ns" link set eth1 up
}
cat > "$work/host.conf" <<'CONF'
sysName files-01
sysDescr Linux files-01 6.1.0-amd64 #1 SMP Debian 6.1 x86_64
sysContact ops@example.net
sysLocation Server room 1
sysServices 72
CONF

record switch "$work/switch.conf" 1.3.6.1.2.1.1 1.3.6.1.2.1.2 1.3.6.1.2.1.4.20 1.3.6.1.2.1.31 1.3.6.1.2.1.47
# HOST-RESOURCES without hrSWInstalled (25.6: this machine's Debian package list, thousands of rows).
settle=65 record host "$work/host.conf" 1.3.6.1.2.1.1 1.3.6.1.2.1.2 1.3.6.1.2.1.4.20 1.3.6.1.2.1.25.1 1.3.6.1.2.1.25.2 \
    1.3.6.1.2.1.25.3 1.3.6.1.2.1.25.4 1.3.6.1.2.1.25.5 1.3.6.1.2.1.31
