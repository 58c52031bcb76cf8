#ifndef CNETSNMP_SHIM_H
#define CNETSNMP_SHIM_H

/* net-snmp-config.h does "#define _GNU_SOURCE 1". If glibc's <features.h> is first seen after that, fd_set gets
 * member `fds_bits` here but `__fds_bits` in Swift's Glibc/Dispatch modules, and clean debug builds of every
 * Swift file that sees both fail ("'__fds_bits' from module 'CDispatch' is not present in definition of 'fd_set'
 * in module 'CNetSNMP'"). So let glibc settle its feature macros first. */
#include <sys/types.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
/* Order matters: the configuration header first, then the umbrella include. */
#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <net-snmp/library/large_fd_set.h>

/* Cast-expression macros do not import into Swift ("structure not supported"): constants with the same values. */
static const int CNS_MSG_GET = SNMP_MSG_GET;
static const int CNS_MSG_GETNEXT = SNMP_MSG_GETNEXT;
static const int CNS_MSG_SET = SNMP_MSG_SET;
static const int CNS_MSG_GETBULK = SNMP_MSG_GETBULK;
static const int CNS_MSG_RESPONSE = SNMP_MSG_RESPONSE;
static const int CNS_MSG_REPORT = SNMP_MSG_REPORT;

static const unsigned char CNS_ASN_INTEGER = ASN_INTEGER;
static const unsigned char CNS_ASN_OCTET_STR = ASN_OCTET_STR;
static const unsigned char CNS_ASN_NULL = ASN_NULL;
static const unsigned char CNS_ASN_OBJECT_ID = ASN_OBJECT_ID;
static const unsigned char CNS_ASN_IPADDRESS = ASN_IPADDRESS;
static const unsigned char CNS_ASN_COUNTER = ASN_COUNTER;
static const unsigned char CNS_ASN_GAUGE = ASN_GAUGE;
static const unsigned char CNS_ASN_TIMETICKS = ASN_TIMETICKS;
static const unsigned char CNS_ASN_OPAQUE = ASN_OPAQUE;
static const unsigned char CNS_ASN_COUNTER64 = ASN_COUNTER64;
static const unsigned char CNS_NOSUCHOBJECT = SNMP_NOSUCHOBJECT;
static const unsigned char CNS_NOSUCHINSTANCE = SNMP_NOSUCHINSTANCE;
static const unsigned char CNS_ENDOFMIBVIEW = SNMP_ENDOFMIBVIEW;

/* snmp_errno is a C global: Swift 6 rejects references to mutable C globals under strict concurrency. */
static inline int cns_snmp_errno(void) { return snmp_errno; }

/* The session's UDP socket, which the I/O thread polls itself (select(2)'s FD_SETSIZE would cap the number of
 * sessions; poll(2) has no such limit). -1 when the session has no transport. */
static inline int cns_sess_socket(void *sessp) {
    netsnmp_transport *transport = snmp_sess_transport(sessp);
    return transport ? transport->sock : -1;
}

/* SNMPv3 isolation. net-snmp keeps ONE process-wide USM user list keyed by (engineID, securityName), and every
 * outgoing request, retransmission and incoming response is authenticated and encrypted with the keys of the
 * list's entry, not the session's. A second session for the same user and engine with another password would
 * silently reuse the first one's keys. Callers (all on the one SNMP I/O thread) call this before touching a
 * session whose credentials do not own the entry: it drops the entry and rebuilds it from this session's
 * (Ku) keys, localized to the session's discovered engine ID by net-snmp itself. Returns an SNMPERR_* code. */
static inline int cns_usm_install_session_user(void *sessp) {
    netsnmp_session *session = snmp_sess_session(sessp);
    if (session == NULL || session->securityEngineIDLen == 0) return SNMPERR_GENERR;
    struct usmUser *existing = usm_get_user(session->securityEngineID, session->securityEngineIDLen,
                                            session->securityName);
    if (existing != NULL) {
        usm_remove_user(existing);
        usm_free_user(existing);
    }
    session->flags &= ~SNMP_FLAGS_USER_CREATED;
    return usm_create_user_from_session(session);
}

/* Drops the USM list entry of (engineID, securityName), when the session owning it closes. */
static inline void cns_usm_remove_user(const unsigned char *engineID, size_t engineIDLength, const char *name) {
    struct usmUser *existing = usm_get_user(engineID, engineIDLength, name);
    if (existing != NULL) {
        usm_remove_user(existing);
        usm_free_user(existing);
    }
}


/* --- Notification receiver (Sources/SNMPBridge/Traps) --- */
static const int CNS_MSG_TRAP = SNMP_MSG_TRAP;
static const int CNS_MSG_TRAP2 = SNMP_MSG_TRAP2;
static const int CNS_MSG_INFORM = SNMP_MSG_INFORM;

/* Opens a server transport on `endpoint` ("udp:ADDR:PORT") and a single-session handle over it whose callback sees
 * every unsolicited PDU, as snmptrapd does: any version, authoritative or not as the PDU demands (a v3 inform makes
 * us the authoritative engine; a v3 trap's sender is). Returns the handle (NULL on failure, the transport freed by
 * net-snmp) and its socket in *sock. */
static inline void *cns_notification_session_open(const char *endpoint, netsnmp_callback callback, void *magic,
                                                   int *sock) {
    netsnmp_transport *transport = netsnmp_transport_open_server("snmptrap", endpoint);
    if (transport == NULL) return NULL;
    netsnmp_session session;
    snmp_sess_init(&session);
    session.peername = SNMP_DEFAULT_PEERNAME;
    session.version = SNMP_DEFAULT_VERSION;
    session.community_len = SNMP_DEFAULT_COMMUNITY_LEN;
    session.retries = SNMP_DEFAULT_RETRIES;
    session.timeout = SNMP_DEFAULT_TIMEOUT;
    session.callback = callback;
    session.callback_magic = magic;
    session.isAuthoritative = SNMP_SESS_UNKNOWNAUTH;
    *sock = transport->sock;
    return snmp_sess_add(&session, transport, NULL, NULL);
}

/* Answers an InformRequest with a Response carrying the same request-id and varbinds (RFC 3416 §4.2.7), back to
 * the transport address it came from (the clone keeps the PDU's transport data). Returns 1 when sent. */
static inline int cns_send_inform_response(void *sessp, netsnmp_pdu *pdu) {
    netsnmp_pdu *reply = snmp_clone_pdu(pdu);
    if (reply == NULL) return 0;
    reply->command = SNMP_MSG_RESPONSE;
    reply->errstat = 0;
    reply->errindex = 0;
    if (snmp_sess_send(sessp, reply) == 0) {
        snmp_free_pdu(reply);
        return 0;
    }
    return 1;
}

/* The source address of a received PDU: the UDP transports keep a netsnmp_indexed_addr_pair whose first member is
 * the remote sockaddr. Writes the numeric address into `buffer` and returns the port, or -1 when unknown. */
static inline int cns_pdu_source(const netsnmp_pdu *pdu, char *buffer, socklen_t size) {
    if (pdu->transport_data == NULL || pdu->transport_data_length < (int)sizeof(struct sockaddr_in)) return -1;
    const struct sockaddr *address = (const struct sockaddr *)pdu->transport_data;
    if (address->sa_family == AF_INET) {
        const struct sockaddr_in *v4 = (const struct sockaddr_in *)address;
        if (inet_ntop(AF_INET, &v4->sin_addr, buffer, size) == NULL) return -1;
        return ntohs(v4->sin_port);
    }
    if (address->sa_family == AF_INET6 && pdu->transport_data_length >= (int)sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)address;
        if (inet_ntop(AF_INET6, &v6->sin6_addr, buffer, size) == NULL) return -1;
        return ntohs(v6->sin6_port);
    }
    return -1;
}

/* Adds an SNMPv3 USM user for receiving notifications through net-snmp's own `createUser` parser (key derivation and
 * localization to the engine ID after -e, or to our local engine for informs). `line` holds passwords: callers wipe
 * it; it is never logged. */
static inline void cns_usm_create_user_line(char *line) { usm_parse_create_usmUser("createUser", line); }

/* How many received messages net-snmp could not parse (snmpInASNParseErrs), process-wide. */
static inline unsigned int cns_stat_parse_errors(void) { return snmp_get_statistic(STAT_SNMPINASNPARSEERRS); }


/* --- MIB parser (Sources/SNMPBridge/MIB) --- */
/* stderr is a mutable C global (Swift 6 rejects it): the MIB log handler forwards messages it does not capture. */
static inline FILE *cns_stderr(void) { return stderr; }
static const int CNS_LOG_ERR = LOG_ERR;
static const int CNS_LOG_WARNING = LOG_WARNING;
/* net-snmp's default MIB search path ("$HOME/.snmp/mibs:/usr/share/snmp/mibs:..."), as its tools use it. */
static inline const char *cns_default_mib_directories(void) { return NETSNMP_DEFAULT_MIBDIRS; }

#endif /* CNETSNMP_SHIM_H */
