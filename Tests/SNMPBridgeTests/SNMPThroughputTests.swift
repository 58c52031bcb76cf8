// A quick throughput figure (not the issue's full benchmark): GETs through the bridge against a raw net-snmp loop
// in C (`snmp_sess_synch_response`, compiled here from the source below) against the same snmpd, in the same run.
// Opt-in (SNMP_BENCHMARK=1): it prints figures and asserts only that every answer was right; no timing assertions.
import CWMPClient
import CWMPTestSupport
import Foundation
@testable import SNMPBridge
import Testing

private let rawLoopSource = #"""
/* N sequential v2c GETs of sysDescr.0 with net-snmp's synchronous single-session API; prints the elapsed ns. */
#include <sys/types.h>
#include <sys/select.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
int main(int argc, char **argv) {
    int count = atoi(argv[2]);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_LOAD, 1);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_SAVE, 1);
    init_snmp("rawloop");
    netsnmp_session s; snmp_sess_init(&s);
    s.peername = argv[1]; s.version = SNMP_VERSION_2c;
    s.community = (u_char *)"public"; s.community_len = 6;
    void *h = snmp_sess_open(&s);
    if (!h) return 2;
    oid name[] = {1, 3, 6, 1, 2, 1, 1, 1, 0};
    struct timespec a, b; clock_gettime(CLOCK_MONOTONIC, &a);
    int ok = 0;
    for (int i = 0; i < count; i++) {
        netsnmp_pdu *pdu = snmp_pdu_create(SNMP_MSG_GET), *response = NULL;
        snmp_add_null_var(pdu, name, 9);
        if (snmp_sess_synch_response(h, pdu, &response) == STAT_SUCCESS && response->errstat == 0) ok++;
        if (response) snmp_free_pdu(response);
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("%d %lld\n", ok, (long long)(b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec));
    snmp_sess_close(h);
    return 0;
}
"""#

@Suite(.enabled(if: snmpdAvailable && ProcessInfo.processInfo.environment["SNMP_BENCHMARK"] == "1",
                "opt-in: SNMP_BENCHMARK=1 (needs snmpd and cc)"))
struct SNMPThroughputTests {
    @Test func bridgeGETsAgainstARawNetSNMPLoop() async throws {
        let peer = try SNMPDaemonPeer()
        defer { peer.stop() }
        let source = peer.directory.appendingPathComponent("rawloop.c")
        let binary = peer.directory.appendingPathComponent("rawloop").path
        try rawLoopSource.write(to: source, atomically: true, encoding: .utf8)
        let compiled = try SNMPDaemonPeer.run("/usr/bin/cc", ["-O2", "-o", binary, source.path, "-lnetsnmp"],
                                              environment: ProcessInfo.processInfo.environment)
        try #require(compiled.status == 0, "cc failed: \(compiled.output)")
        let count = 3_000
        let manager = SNMPManager()
        defer { manager.shutdown() }
        let session = manager.session(for: peer.v2cPublic)
        _ = try await session.get([MIB2.sysDescr])  // warm-up (session open)

        // Interleave the two measurements so that load from other jobs on the machine hits both alike.
        var rawNanoseconds: [Double] = []
        var bridgeNanoseconds: [Double] = []
        for _ in 0..<3 {
            let raw = try SNMPDaemonPeer.run(binary, ["udp:\(peer.address)", String(count)],
                                             environment: ["MIBS": "", "SNMPCONFPATH": "/nonexistent"])
            let fields = raw.output.split(separator: " ").compactMap { Double($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            try #require(fields.count == 2 && Int(fields[0]) == count, "raw loop: \(raw.output)")
            rawNanoseconds.append(fields[1])
            let start = ContinuousClock.now
            var answered = 0
            for _ in 0..<count where try await session.get([MIB2.sysDescr]).count == 1 { answered += 1 }
            let elapsed = ContinuousClock.now - start
            #expect(answered == count)
            bridgeNanoseconds.append(Double(elapsed.components.seconds) * 1e9 + Double(elapsed.components.attoseconds) / 1e9)
        }
        let rawBest = rawNanoseconds.min()!
        let bridgeBest = bridgeNanoseconds.min()!

        // Many agents at once: 100 sessions (distinct communities would need a config; distinct timeouts make
        // distinct sessions to the same snmpd) × 50 GETs, all in flight together.
        let sessions = (0..<100).map { manager.session(for: peer.agent(.v2c(community: "public"),
                                                                        timeout: .milliseconds(5_000 + $0))) }
        let concurrentStart = ContinuousClock.now
        let concurrentAnswers = try await withThrowingTaskGroup(of: Int.self) { group in
            for session in sessions {
                group.addTask {
                    var answered = 0
                    for _ in 0..<50 where try await session.get([MIB2.sysDescr]).count == 1 { answered += 1 }
                    return answered
                }
            }
            return try await group.reduce(0, +)
        }
        let concurrentElapsed = ContinuousClock.now - concurrentStart
        #expect(concurrentAnswers == 5_000)
        let concurrentSeconds = Double(concurrentElapsed.components.seconds) + Double(concurrentElapsed.components.attoseconds) / 1e18
        print("""
            SNMP throughput (\(count) sequential v2c GETs of sysDescr.0, best of 3, this build's configuration):
              raw net-snmp loop (C, -O2): \(Int(rawBest / Double(count) / 1_000)) µs/GET, \(Int(Double(count) / (rawBest / 1e9))) GET/s
              bridge (sequential await):  \(Int(bridgeBest / Double(count) / 1_000)) µs/GET, \(Int(Double(count) / (bridgeBest / 1e9))) GET/s
              ratio bridge/raw latency:   \(String(format: "%.2f", bridgeBest / rawBest))
              bridge, 100 sessions x 50 GETs in flight together: \(Int(5_000 / concurrentSeconds)) GET/s
            """)
    }
}
