// The data-model provider for one UPnP DM device: the engine's batched provider calls become CMS actions.
//
//   instances(of:)   → GetInstances(<table>/, SearchDepth 1) per table; each direct child's UPnP instance number
//                      is the instance's key (the engine maps keys to CWMP numbers, see DMPathMapping)
//   values(of:)      → one GetValues for the whole batch
//   setValues        → one SetValues (atomic on the device); ChangesCommitted → Status 1 (applied later)
//   addInstance      → CreateInstance(<table>/#/); the InstanceIdentifier's number is the new key
//   deleteInstance   → DeleteInstance(<table>/<n>/)
//
// Faults: 703 No Such Name becomes ProxierError(.unknownPath) where the provider contract asks for it (values, add,
// delete; a table the device does not have simply has no instances). SetValues' 703/704/705/706 become per-parameter
// SetParameterValuesFault entries (9005/9006/9007/9008). Everything else propagates as the UPnPDMError it is and
// becomes a CWMP fault in UPnPDMError.cwmpFault.

import CWMPClient
import Logging
import Proxier

public final class UPnPDMProvider: DataModelProvider {
    public let cms: ConfigurationManagementClient
    public let mapping: DMPathMapping
    private let logger: Logger

    /// The parameter templates the device implements (`supportedParameterTemplates`), or nil to serve every
    /// parameter of the schema below the mount.
    public let supportedTemplates: Set<String>?

    public init(cms: ConfigurationManagementClient, mapping: DMPathMapping = DMPathMapping(),
                supportedTemplates: Set<String>? = nil, logger: Logger) {
        self.cms = cms
        self.mapping = mapping
        self.supportedTemplates = supportedTemplates
        var logger = logger
        logger[metadataKey: "upnp.control_url"] = "\(cms.service.controlURL)"
        self.logger = logger
    }

    /// Runs a provider call's actions on the device's event loop (`ConfigurationManagementClient.preferredExecutor`):
    /// a call may make several actions, and none of them then crosses threads.
    private func onDevice<T>(_ body: () async throws -> T) async throws -> T {
        try await withTaskExecutorPreference(cms.preferredExecutor, operation: body)
    }

    static func isFault(_ error: any Error, _ code: Int) -> UPnPDMError? {
        guard let error = error as? UPnPDMError, error.code == .actionFailed, error.upnpErrorCode == code else { return nil }
        return error
    }

    public func instances(of tables: [ProviderPath]) async throws -> [[ProviderInstance]] {
        try await onDevice {
            var result: [[ProviderInstance]] = []
            result.reserveCapacity(tables.count)
            for table in tables {
                let tablePath = try mapping.upnpPath(table)
                let paths: [String]
                do {
                    paths = try await cms.getInstances(startingNode: tablePath, searchDepth: 1)
                } catch {
                    if Self.isFault(error, 703) != nil {
                        logger.debug("UPnP DM device has no such table", metadata: ["upnp.path": "\(tablePath)"])
                        result.append([])
                        continue
                    }
                    throw error
                }
                // SearchDepth semantics differ between devices (some list the whole subtree): keep direct children only,
                // once each, in the device's order.
                var seen: Set<String> = []
                result.append(paths.compactMap { path in
                    guard let key = DMPathMapping.instanceKey(of: path, inTable: tablePath), seen.insert(key).inserted else { return nil }
                    return ProviderInstance(key: key)
                })
            }
            return result
        }
    }

    public func values(of parameters: [ProviderPath]) async throws -> [String] {
        try await onDevice {
            var upnpPaths: [String] = []
            upnpPaths.reserveCapacity(parameters.count)
            for parameter in parameters { upnpPaths.append(try mapping.upnpPath(parameter)) }
            var unique: [String] = []
            var seen: Set<String> = []
            for path in upnpPaths where seen.insert(path).inserted { unique.append(path) }
            let answer: [DMParameterValue]
            do {
                answer = try await cms.getValues(unique)
            } catch {
                if let fault = Self.isFault(error, 703) {
                    throw ProxierError(.unknownPath, "the device has no such parameter: \(fault.upnpErrorDescription ?? "703")",
                                       underlying: fault)
                }
                throw error
            }
            var byPath: [String: String] = [:]
            for entry in answer where byPath[entry.path] == nil { byPath[entry.path] = entry.value }
            var values: [String] = []
            values.reserveCapacity(parameters.count)
            for (index, path) in upnpPaths.enumerated() {
                guard let value = byPath[path] else {
                    throw ProxierError(.unknownPath, "the device answered GetValues without \(parameters[index]) (\(path))")
                }
                values.append(value)
            }
            return values
        }
    }

    public func setValues(_ values: [ProviderParameterValue]) async throws -> ApplyStatus {
        try await onDevice {
            var upnpValues: [DMParameterValue] = []
            upnpValues.reserveCapacity(values.count)
            for value in values { upnpValues.append(DMParameterValue(path: try mapping.upnpPath(value.path), value: value.value)) }
            let status: DMChangeStatus
            do {
                status = try await cms.setValues(upnpValues)
            } catch let error as UPnPDMError {
                throw Self.setValuesError(error, paths: upnpValues.map(\.path)) ?? error
            }
            return status == .changesCommitted ? .appliedLater : .applied
        }
    }

    /// The CWMP per-parameter fault a SetValues fault stands for (upnp-dm.md §7).
    static func setParameterFault(forUPnPError code: Int?) -> CWMPFault.Code? {
        switch code {
        case 703: .invalidParameterName
        case 704: .invalidParameterType
        case 705: .invalidParameterValue
        case 706: .attemptToSetNonWritableParameter
        default: nil
        }
    }

    /// SetValues faults do not say which parameter failed, except in the description some devices write. The entry
    /// goes to every parameter whose UPnP path the description names; when it names none, to every parameter of
    /// the set (the device refused the set as a whole, and the ACS learns the fault code for each).
    static func setValuesError(_ error: UPnPDMError, paths: [String]) -> ProviderSetValuesError? {
        guard error.code == .actionFailed, let faultCode = setParameterFault(forUPnPError: error.upnpErrorCode) else { return nil }
        let description = error.upnpErrorDescription ?? ""
        let named = paths.indices.filter { !paths[$0].isEmpty && description.contains(paths[$0]) }
        let indices = named.isEmpty ? Array(paths.indices) : named
        let reason = "UPnP error \(error.upnpErrorCode ?? 0): \(description.isEmpty ? "SetValues refused" : description)"
        return ProviderSetValuesError(entries: indices.map { .init(index: $0, faultCode: faultCode, reason: reason) })
    }

    /// A provider that serves exactly the parameters the device reports (`supportedParameterTemplates`): the engine
    /// then never asks the device for a parameter it lacks, so partial-path reads (`Device.`) work on a device that
    /// implements a small part of TR-181.
    public static func discovering(cms: ConfigurationManagementClient, mapping: DMPathMapping = DMPathMapping(),
                                   logger: Logger) async throws -> UPnPDMProvider {
        let probe = UPnPDMProvider(cms: cms, mapping: mapping, logger: logger)
        return UPnPDMProvider(cms: cms, mapping: mapping, supportedTemplates: try await probe.supportedParameterTemplates(),
                              logger: logger)
    }

    public func servesParameter(template: String) -> Bool { supportedTemplates?.contains(template) ?? true }

    /// The parameter templates the device implements under this provider's subtree, from one GetSupportedParameters
    /// of the BBF Location (SearchDepth 0: everything) plus the identity leaves the device has.
    public func supportedParameterTemplates() async throws -> Set<String> {
        try await onDevice {
            var templates: Set<String> = []
            for path in try await cms.getSupportedParameters(startingNode: mapping.location, searchDepth: 0) where !path.hasSuffix("/") {
                if let template = mapping.template(ofStructurePath: path) { templates.insert(template) }
            }
            do {
                for entry in try await cms.getValues([DMPathMapping.upnpDeviceInfoLocation]) {
                    if let template = mapping.template(ofStructurePath: entry.path) { templates.insert(template) }
                }
            } catch {
                if Self.isFault(error, 703) == nil { throw error }
            }
            return templates
        }
    }

    public func addInstance(to table: ProviderPath, instanceNumber: UInt32) async throws -> (key: String, status: ApplyStatus) {
        try await onDevice {
            // The device numbers its instances itself; `instanceNumber` (the engine's CWMP number) is not sent.
            let tablePath = try mapping.upnpPath(table)
            let created: (instanceIdentifier: String, status: DMChangeStatus)
            do {
                created = try await cms.createInstance(multiInstanceName: try mapping.multiInstanceName(table: table))
            } catch {
                if let fault = Self.isFault(error, 703) {
                    throw ProxierError(.unknownPath, "the device has no table \(tablePath)", underlying: fault)
                }
                throw error
            }
            guard let key = DMPathMapping.instanceKey(of: created.instanceIdentifier, inTable: tablePath) else {
                throw UPnPDMError(.invalidResponse,
                                  "CreateInstance on \(tablePath) answered \(created.instanceIdentifier), not an instance of that table")
            }
            logger.debug("UPnP DM instance created", metadata: ["upnp.path": "\(created.instanceIdentifier)"])
            return (key, created.status == .changesCommitted ? .appliedLater : .applied)
        }
    }

    public func deleteInstance(_ instance: ProviderPath) async throws -> ApplyStatus {
        try await onDevice {
            let path = try mapping.upnpPath(instance)
            do {
                return try await cms.deleteInstance(path) == .changesCommitted ? .appliedLater : .applied
            } catch {
                if let fault = Self.isFault(error, 703) {
                    throw ProxierError(.unknownPath, "the device has no instance \(path)", underlying: fault)
                }
                throw error
            }
        }
    }
}
