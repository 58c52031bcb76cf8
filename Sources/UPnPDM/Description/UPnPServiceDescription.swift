// Service descriptions (SCPD, UDA 1.1 §2.5): actions with their arguments in order, and the state variables.
// Every text value is trimmed. A proxier must not depend on the SCPD for the standard DM services (gwsim serves a
// placeholder), so callers use it to check and order arguments when it is there, not to decide whether to talk.

/// A parsed SCPD.
public struct UPnPServiceDescription: Sendable, Hashable {
    public var specVersionMajor: Int
    public var specVersionMinor: Int
    public var actions: [UPnPActionDescription]
    public var stateVariables: [UPnPStateVariable]

    public func action(named name: String) -> UPnPActionDescription? { actions.first { $0.name == name } }
    public func stateVariable(named name: String) -> UPnPStateVariable? { stateVariables.first { $0.name == name } }

    public init(parsing bytes: [UInt8], maximumBytes: Int = 512 * 1024) throws(UPnPDMError) {
        let root = try UPnPXML.parse(bytes, limits: .init(maximumBytes: maximumBytes, maximumDepth: 16,
                                                          maximumElements: 50_000), what: "service description")
        guard root.localName == "scpd" else {
            throw UPnPDMError(.invalidDescription, "the service description's root element is <\(root.localName)>, not <scpd>")
        }
        let spec = root.child("specVersion")
        specVersionMajor = spec?.childText("major").flatMap { Int($0) } ?? 1
        specVersionMinor = spec?.childText("minor").flatMap { Int($0) } ?? 0
        var actions: [UPnPActionDescription] = []
        for element in root.child("actionList")?.children ?? [] where element.localName == "action" {
            guard let name = element.childText("name"), !name.isEmpty else {
                throw UPnPDMError(.invalidDescription, "an action of the service description has no name")
            }
            var arguments: [UPnPArgumentDescription] = []
            for argument in element.child("argumentList")?.children ?? [] where argument.localName == "argument" {
                guard let argumentName = argument.childText("name"), !argumentName.isEmpty else {
                    throw UPnPDMError(.invalidDescription, "an argument of action \(name) has no name")
                }
                let directionText = argument.childText("direction")?.lowercased() ?? ""
                guard let direction = UPnPArgumentDescription.Direction(rawValue: directionText) else {
                    throw UPnPDMError(.invalidDescription,
                                      "argument \(argumentName) of \(name) has direction \(directionText.debugDescription)")
                }
                arguments.append(UPnPArgumentDescription(
                    name: argumentName, direction: direction,
                    relatedStateVariable: argument.childText("relatedStateVariable") ?? "",
                    isReturnValue: argument.child("retval") != nil))
            }
            actions.append(UPnPActionDescription(name: name, arguments: arguments,
                                                 isOptional: element.child("Optional") != nil))
        }
        self.actions = actions
        var variables: [UPnPStateVariable] = []
        for element in root.child("serviceStateTable")?.children ?? [] where element.localName == "stateVariable" {
            guard let name = element.childText("name"), !name.isEmpty else {
                throw UPnPDMError(.invalidDescription, "a state variable of the service description has no name")
            }
            // `sendEvents` is an attribute in UDA 1.0+, a child element in some pre-1.0 documents; "yes" is the default.
            let sendEvents = (element.attributes["sendEvents"].map { String($0.trimmingWhitespace()) }
                ?? element.childText("sendEventsAttribute") ?? "yes").lowercased() != "no"
            let range = element.child("allowedValueRange").map {
                UPnPStateVariable.AllowedRange(minimum: $0.childText("minimum") ?? "", maximum: $0.childText("maximum") ?? "",
                                               step: $0.childText("step"))
            }
            variables.append(UPnPStateVariable(
                name: name, dataType: element.childText("dataType") ?? "string", sendEvents: sendEvents,
                defaultValue: element.childText("defaultValue"),
                allowedValues: element.child("allowedValueList")?.children
                    .filter { $0.localName == "allowedValue" }.map(\.trimmedText) ?? [],
                allowedRange: range))
        }
        stateVariables = variables
    }
}

public struct UPnPActionDescription: Sendable, Hashable {
    public var name: String
    /// In SCPD order (the order a request must use).
    public var arguments: [UPnPArgumentDescription]
    /// `<Optional/>` in the standard's SCPD templates.
    public var isOptional: Bool

    public var inArguments: [UPnPArgumentDescription] { arguments.filter { $0.direction == .in } }
    public var outArguments: [UPnPArgumentDescription] { arguments.filter { $0.direction == .out } }
}

public struct UPnPArgumentDescription: Sendable, Hashable {
    public enum Direction: String, Sendable, Hashable {
        case `in`, out
    }

    public var name: String
    public var direction: Direction
    public var relatedStateVariable: String
    /// `<retval/>`: the out argument that is the action's return value.
    public var isReturnValue: Bool
}

public struct UPnPStateVariable: Sendable, Hashable {
    public struct AllowedRange: Sendable, Hashable {
        public var minimum: String
        public var maximum: String
        public var step: String?
    }

    public var name: String
    /// `string`, `ui4`, `boolean`, ... as written.
    public var dataType: String
    public var sendEvents: Bool
    public var defaultValue: String?
    public var allowedValues: [String]
    public var allowedRange: AllowedRange?
}
