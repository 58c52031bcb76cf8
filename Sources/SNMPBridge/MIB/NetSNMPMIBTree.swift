// The one owner of net-snmp's MIB parser state. net-snmp keeps the MIB tree, the module list, the textual-convention
// table and the parser's error counters in process-wide globals with no locking (Debian builds it without
// NETSNMP_REENTRANT), and the SNMP sessions read the same tree when they print or parse OIDs. So every call of this
// class runs on the SNMP I/O thread (`SNMPIOThread.run`), like every other net-snmp call of the process; callers get
// plain Swift values back (`SNMPMIBModule`, OIDs) and never a C pointer.
//
// net-snmp reports parse errors through `snmp_log`. Without a log handler they would go to stderr, unattributed; this
// class installs a handler that captures them while it parses (they become the reasons of SNMPBridgeError) and
// forwards anything logged at other times to stderr, as net-snmp did before.
import CNetSNMP
#if canImport(Glibc)
import Glibc
#endif

final class NetSNMPMIBTree: @unchecked Sendable {
    // @unchecked Sendable: the instance is only ever used on the SNMP I/O thread (see `perform`).

    /// The process's only instance: the state it owns is process-wide.
    private static let shared = NetSNMPMIBTree()

    /// Runs `body` with the MIB tree on the SNMP I/O thread.
    static func perform<T: Sendable>(_ body: @escaping @Sendable (NetSNMPMIBTree) throws(SNMPBridgeError) -> T) async throws(SNMPBridgeError) -> T {
        do {
            return try await SNMPIOThread.shared.run { () throws -> T in
                let tree = NetSNMPMIBTree.shared
                tree.setUp()
                return try body(tree)
            }
        } catch let error as SNMPBridgeError {
            throw error
        } catch {
            throw SNMPBridgeError(.netSNMPError, "MIB operation failed", underlying: error)
        }
    }

    /// Messages net-snmp logged while a capture was active.
    final class LogCapture {
        var messages: [(priority: Int32, text: String)] = []

        /// The error messages, one line each, without net-snmp's trailing newlines.
        var errors: [String] {
            messages.filter { $0.priority <= CNS_LOG_ERR }.map { $0.text.trimmingSuffix("\n") }
        }
    }

    private var logHandler: UnsafeMutablePointer<netsnmp_log_handler>?
    /// Modules that failed to load, with the error: net-snmp marks a module as read before parsing it, so a second
    /// `netsnmp_read_module` would silently return the partial tree of a broken module.
    private var failedModules: [String: SNMPBridgeError] = [:]

    private init() {}

    deinit {
        // Never runs for the shared instance; kept so the handler's lifetime is this object's.
        if let logHandler { netsnmp_remove_loghandler(logHandler) }
    }

    private func setUp() {
        guard logHandler == nil else { return }
        // Descriptions are dropped by default; the drafted profile quotes the first line of each.
        netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_SAVE_MIB_DESCRS, 1)
        // Errors on (they are captured, not printed); warnings (level 0) off: they are about style, not meaning.
        netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_MIB_ERRORS, 1)
        netsnmp_ds_set_int(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_MIB_WARNINGS, 0)
        guard let handler = netsnmp_register_loghandler(NETSNMP_LOGHANDLER_CALLBACK, LOG_DEBUG) else { return }
        handler.pointee.handler = { handler, priority, message in
            guard let message else { return 1 }
            if let context = handler?.pointee.magic {
                let capture = Unmanaged<LogCapture>.fromOpaque(context).takeUnretainedValue()
                capture.messages.append((priority, String(cString: message)))
            } else {
                fputs(message, cns_stderr())
            }
            return 1
        }
        logHandler = handler
    }

    /// Runs `body` with net-snmp's log captured.
    private func capturingLog<T>(_ body: () throws(SNMPBridgeError) -> T) throws(SNMPBridgeError) -> (T, LogCapture) {
        let capture = LogCapture()
        logHandler?.pointee.magic = Unmanaged.passUnretained(capture).toOpaque()
        defer { logHandler?.pointee.magic = nil }
        let result = try withExtendedLifetime(capture) { () throws(SNMPBridgeError) -> T in try body() }
        return (result, capture)
    }

    // MARK: Search path

    /// Makes the modules of the search path's directories known to net-snmp (a file is only parsed when its module
    /// is loaded). As in net-snmp's own `init_mib`, the last directory to name a module wins (`new_module`);
    /// re-adding the directories on every call keeps that order for modules not loaded yet. A directory that cannot
    /// be opened is an error only when `required` (named with --mib-dir).
    func addDirectories(_ searchPath: SNMPMIBSearchPath) throws(SNMPBridgeError) {
        for directory in searchPath.directories {
            let count = add_mibdir(directory)
            if count < 0, searchPath.required.contains(directory) {
                throw SNMPBridgeError(.invalidArgument, "MIB directory \(directory) cannot be read")
            }
        }
    }

    // MARK: Modules

    /// Loads `name` (and what it imports) into the tree.
    func loadModule(_ name: String, searchPath: SNMPMIBSearchPath) throws(SNMPBridgeError) {
        if let failure = failedModules[name] { throw failure }
        let errorsBefore = get_mib_parse_error_count()
        let (_, log) = try capturingLog { () throws(SNMPBridgeError) in _ = netsnmp_read_module(name) }
        let modid = which_module(name)
        if modid < 0 {
            // Not in any directory: net-snmp only remembers modules whose files it has seen.
            let error = SNMPBridgeError(.mibModuleNotFound, "MIB module \(name) not found in the MIB search path "
                                        + "(\(searchPath.directories.joined(separator: ":")))"
                                        + Self.suffix(log.errors))
            throw error
        }
        if get_mib_parse_error_count() != errorsBefore {
            let messages = log.errors
            let missing = messages.contains { $0.hasPrefix("Cannot find module") }
            let error = SNMPBridgeError(missing ? .mibModuleNotFound : .mibParseError,
                                        "MIB module \(name) could not be loaded" + Self.suffix(messages))
            failedModules[name] = error
            throw error
        }
    }

    private static func suffix(_ messages: [String]) -> String {
        messages.isEmpty ? "" : ": " + messages.joined(separator: "; ")
    }

    /// Every node that module `name` (loaded) defines, in OID order.
    func nodes(ofModule name: String) -> [SNMPMIBNode] {
        let modid = which_module(name)
        guard modid >= 0, let head = get_tree_head() else { return [] }
        var result: [SNMPMIBNode] = []
        var stack: [UnsafeMutablePointer<tree>] = [head]
        // Depth-first, children in sub-identifier order (net-snmp keeps peers sorted).
        while let node = stack.popLast() {
            var child = node.pointee.child_list
            var children: [UnsafeMutablePointer<tree>] = []
            while let current = child {
                children.append(current)
                child = current.pointee.next_peer
            }
            stack.append(contentsOf: children.sorted { $0.pointee.subid > $1.pointee.subid })
            let modules = (0..<Int(node.pointee.number_modules)).compactMap { node.pointee.module_list?[$0] }
            guard modules.contains(modid) else { continue }
            result.append(Self.makeNode(node, module: name, tcName: Self.tcName(node.pointee.tc_index)))
        }
        return result.sorted { $0.oid < $1.oid }
    }

    private static func tcName(_ index: Int32) -> String? {
        guard index >= 0, let text = get_tc_descriptor(index) else { return nil }
        return String(cString: text)
    }

    private static func string(_ pointer: UnsafeMutablePointer<CChar>?) -> String? {
        pointer.map { String(cString: $0) }
    }

    private static func makeNode(_ node: UnsafeMutablePointer<tree>, module: String, tcName: String?) -> SNMPMIBNode {
        var arcs: [UInt32] = []
        var cursor: UnsafeMutablePointer<tree>? = node
        while let current = cursor {
            arcs.append(UInt32(truncatingIfNeeded: current.pointee.subid))
            cursor = current.pointee.parent
        }
        let value = node.pointee
        var enums: [SNMPMIBNode.EnumValue] = []
        var enumCursor = value.enums
        while let current = enumCursor {
            enums.append(.init(value: Int64(current.pointee.value), label: string(current.pointee.label) ?? ""))
            enumCursor = current.pointee.next
        }
        var ranges: [ClosedRange<Int64>] = []
        var rangeCursor = value.ranges
        while let current = rangeCursor {
            let low = Int64(current.pointee.low), high = Int64(current.pointee.high)
            ranges.append(min(low, high)...max(low, high))
            rangeCursor = current.pointee.next
        }
        var indexes: [SNMPMIBNode.IndexPart] = []
        var indexCursor = value.indexes
        while let current = indexCursor {
            indexes.append(.init(name: string(current.pointee.ilabel) ?? "", implied: current.pointee.isimplied != 0))
            indexCursor = current.pointee.next
        }
        return SNMPMIBNode(
            name: string(value.label) ?? "",
            module: module,
            parent: value.parent.flatMap { string($0.pointee.label) },
            oid: SNMPObjectIdentifier(arcs.reversed()),
            syntax: SNMPMIBNode.Syntax(netSNMPType: value.type),
            access: SNMPMIBNode.Access(netSNMPAccess: value.access),
            status: SNMPMIBNode.Status(netSNMPStatus: value.status),
            textualConvention: tcName,
            displayHint: string(value.hint),
            units: string(value.units),
            enumerations: enums.sorted { $0.value < $1.value },
            ranges: ranges,
            index: indexes,
            augments: string(value.augments),
            description: string(value.description))
    }

    // MARK: Names

    /// `IF-MIB::ifDescr`, `SNMPv2-MIB::sysName.0`, `ifDescr.3` (with the module loaded) → the OID, through
    /// `snmp_parse_oid`, which also loads the module a `MODULE::` prefix names.
    func resolve(_ name: String) throws(SNMPBridgeError) -> SNMPObjectIdentifier {
        if let separator = name.firstRange(of: "::") {
            let module = String(name[..<separator.lowerBound])
            if let failure = failedModules[module] {
                throw SNMPBridgeError(.unknownMIBSymbol, "\(name): \(failure.reason)", underlying: failure)
            }
        }
        var buffer = [oid](repeating: 0, count: Int(MAX_OID_LEN))
        var length = buffer.count
        let (parsed, log) = try capturingLog { () throws(SNMPBridgeError) -> Bool in
            snmp_parse_oid(name, &buffer, &length) != nil
        }
        guard parsed, length > 0 else {
            let messages = log.errors
            let missing = messages.contains { $0.hasPrefix("Cannot find module") }
            throw SNMPBridgeError(missing ? .mibModuleNotFound : .unknownMIBSymbol,
                                  "unknown MIB symbol \(name)" + Self.suffix(messages))
        }
        return SNMPObjectIdentifier(buffer[..<length].map { UInt32(truncatingIfNeeded: $0) })
    }
}

extension String {
    fileprivate func trimmingSuffix(_ suffix: String) -> String {
        var text = self
        while text.hasSuffix(suffix) { text.removeLast(suffix.count) }
        return text
    }
}
