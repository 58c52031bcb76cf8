// Reading the out-arguments of an action and writing UPnP-typed in-arguments (UDA 1.1 §2.5 data types).

/// Out-arguments of one action answer, looked up by name. UDA wants them in SCPD order, but devices differ, and a
/// name lookup costs nothing for a handful of arguments; a missing one is `.invalidResponse`.
struct DMActionAnswer {
    let action: String
    let arguments: [UPnPActionArgument]

    func string(_ name: String) throws(UPnPDMError) -> String {
        guard let argument = arguments.first(where: { $0.name == name }) else {
            throw UPnPDMError(.invalidResponse, "\(action) answered without its \(name) argument")
        }
        return argument.value
    }

    /// The trimmed text (for enumerations, numbers, CSV lists).
    func token(_ name: String) throws(UPnPDMError) -> String { DMXML.trimmed(try string(name)) }

    func ui4(_ name: String) throws(UPnPDMError) -> UInt32 {
        let text = try token(name)
        guard let value = UInt32(text) else { throw UPnPDMError(.invalidResponse, "\(action) \(name) is not a ui4: \(text)") }
        return value
    }

    func boolean(_ name: String) throws(UPnPDMError) -> Bool {
        let text = try token(name)
        guard let value = DMValues.boolean(text) else {
            throw UPnPDMError(.invalidResponse, "\(action) \(name) is not a boolean: \(text)")
        }
        return value
    }

    /// A comma-separated list of ui4 (TestIDs, DUIDs, OperationIDs, TargetedIDs); empty text is an empty list.
    func ui4List(_ name: String) throws(UPnPDMError) -> [UInt32] {
        let text = try token(name)
        var result: [UInt32] = []
        for item in DMValues.csv(text) {
            guard let value = UInt32(item) else { throw UPnPDMError(.invalidResponse, "\(action) \(name) holds \(item), not a ui4") }
            result.append(value)
        }
        return result
    }
}

enum DMValues {
    /// UPnP `boolean`: `0`/`1`, and the `false`/`true`/`no`/`yes` spellings UDA allows on input.
    static func boolean(_ text: String) -> Bool? {
        switch text.lowercased() {
        case "1", "true", "yes": true
        case "0", "false", "no": false
        default: nil
        }
    }

    /// What this control point sends for a boolean (UDA recommends `0`/`1`).
    static func text(_ value: Bool) -> String { value ? "1" : "0" }

    /// Items of a comma-separated list, trimmed, empty items dropped.
    static func csv(_ text: String) -> [String] {
        text.split(separator: ",").map { DMXML.trimmed(String($0)) }.filter { !$0.isEmpty }
    }
}

extension UPnPActionInvoking {
    /// Invokes and wraps the answer for typed reading.
    func call(_ action: String, _ arguments: [(String, String)], on service: UPnPServiceEndpoint) async throws -> DMActionAnswer {
        let out = try await invoke(action, arguments: arguments.map { UPnPActionArgument(name: $0.0, value: $0.1) }, on: service)
        return DMActionAnswer(action: action, arguments: out)
    }
}
