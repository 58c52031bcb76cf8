// The XML argument documents of ConfigurationManagement:2 (namespace urn:schemas-upnp-org:dm:cms).
//
// Shape (upnp-dm.md §2.4): the root is namespace-qualified (`cms:ParameterValueList`), its children are
// unqualified. Documents are built with the canonical prefix, namespace and schema location; documents read are
// matched on local names only, since devices differ (LARK used a default namespace of its own). Paths and values
// read are trimmed (see `DMXML.trimmed`).

/// A parameter path and its value (`<Parameter><ParameterPath/><Value/></Parameter>`).
public struct DMParameterValue: Hashable, Sendable {
    public var path: String
    public var value: String

    public init(path: String, value: String) {
        self.path = path
        self.value = value
    }
}

/// `A_ARG_TYPE_ChangeStatus`: whether a change is in effect now or only stored (e.g. until a reboot).
public enum DMChangeStatus: String, Hashable, Sendable {
    case changesApplied = "ChangesApplied"
    case changesCommitted = "ChangesCommitted"
}

/// One `SubTree` of `SupportedDataModels`: a data model mounted in the device's UPnP DM tree.
public struct DMSupportedDataModel: Hashable, Sendable {
    /// `urn:broadband-forum-org:tr-181-2-0`, `urn:schemas-upnp-org:dm:…`.
    public var uri: String
    /// Where it is mounted: `/BBF/`, `/UPnP/DM/`.
    public var location: String
    public var url: String?
    public var description: String?

    public init(uri: String, location: String, url: String? = nil, description: String? = nil) {
        self.uri = uri
        self.location = location
        self.url = url
        self.description = description
    }
}

/// A node and its attributes (`<Node><NodeAttributePath/><EventOnChange/>…</Node>`), attributes in document order.
/// Only `EventOnChange` is confirmed from implementations (TPV); others are carried by name as the device sent them.
public struct DMNodeAttributeValues: Hashable, Sendable {
    public struct Attribute: Hashable, Sendable {
        public var name: String
        public var value: String
        public init(name: String, value: String) { self.name = name; self.value = value }
    }

    public var path: String
    public var attributes: [Attribute]

    public init(path: String, attributes: [Attribute]) {
        self.path = path
        self.attributes = attributes
    }

    public subscript(attribute name: String) -> String? { attributes.first { $0.name == name }?.value }
}

/// The `ConfigurationUpdate` state variable: `<version>,<ISO 8601 time>[,<cms:ParameterValueList>]`.
public struct DMConfigurationUpdate: Hashable, Sendable {
    public var version: UInt32
    /// The time of the change as the device wrote it (ISO 8601, UTC).
    public var time: String
    /// Changed parameters that have EventOnChange set, when the device lists them (empty otherwise).
    public var changes: [DMParameterValue]

    public init(version: UInt32, time: String, changes: [DMParameterValue] = []) {
        self.version = version
        self.time = time
        self.changes = changes
    }
}

/// Builds and reads the CMS argument documents. `build…` methods throw `.invalidArgument` (text XML cannot carry),
/// `parse…` methods throw `.malformedXML`, `.forbiddenDocumentType` (a DTD), `.documentTooLarge`, `.documentTooDeep`,
/// or `.invalidResponse` (the wrong root element, an entry without its path).
public enum CMSDocuments {
    static let namespace: StaticString = "urn:schemas-upnp-org:dm:cms"
    static let schemaLocation: StaticString = "http://www.upnp.org/schemas/dm/cms.xsd"

    private static func build(_ root: StaticString, _ body: (DMXMLWriter) throws(UPnPDMError) -> Void) throws(UPnPDMError) -> String {
        try DMXML.document(prefix: "cms", root: root, namespace: namespace, schemaLocation: schemaLocation, body)
    }

    /// A document that is empty (or only white space) stands for an empty list: devices answer GetInstances on an
    /// empty table that way.
    private static func entries(_ text: String, root: String, entry: String, limits: DMDocumentLimits) throws(UPnPDMError) -> [DMXMLElement]? {
        if DMXML.trimmed(text).isEmpty { return nil }
        let tree = try DMXML.parse(text, root: root, limits: limits)
        return tree.children.filter { $0.name == entry }
    }

    private static func pathList(_ root: StaticString, entry: String, _ paths: [String]) throws(UPnPDMError) -> String {
        try build(root) { writer throws(UPnPDMError) in
            for path in paths { try writer.element(entry, path) }
        }
    }

    private static func parsePathList(_ text: String, root: String, entry: String, limits: DMDocumentLimits) throws(UPnPDMError) -> [String] {
        (try entries(text, root: root, entry: entry, limits: limits) ?? []).map { DMXML.trimmed($0.text) }
    }

    // MARK: Path lists

    /// `ContentPathList` (GetValues in): parameter paths and partial paths.
    public static func contentPathList(_ paths: [String]) throws(UPnPDMError) -> String {
        try pathList("ContentPathList", entry: "ContentPath", paths)
    }

    public static func parseContentPathList(_ text: String, limits: DMDocumentLimits = .init()) throws(UPnPDMError) -> [String] {
        try parsePathList(text, root: "ContentPathList", entry: "ContentPath", limits: limits)
    }

    /// `StructurePathList` (GetSupportedParameters Result): definition paths with `#` for instances.
    public static func structurePathList(_ paths: [String]) throws(UPnPDMError) -> String {
        try pathList("StructurePathList", entry: "StructurePath", paths)
    }

    public static func parseStructurePathList(_ text: String, limits: DMDocumentLimits = .init()) throws(UPnPDMError) -> [String] {
        try parsePathList(text, root: "StructurePathList", entry: "StructurePath", limits: limits)
    }

    /// `InstancePathList` (GetInstances Result): the instances that exist.
    public static func instancePathList(_ paths: [String]) throws(UPnPDMError) -> String {
        try pathList("InstancePathList", entry: "InstancePath", paths)
    }

    public static func parseInstancePathList(_ text: String, limits: DMDocumentLimits = .init()) throws(UPnPDMError) -> [String] {
        try parsePathList(text, root: "InstancePathList", entry: "InstancePath", limits: limits)
    }

    /// `NodeAttributePathList` (GetAttributes in).
    public static func nodeAttributePathList(_ paths: [String]) throws(UPnPDMError) -> String {
        try pathList("NodeAttributePathList", entry: "NodeAttributePath", paths)
    }

    public static func parseNodeAttributePathList(_ text: String, limits: DMDocumentLimits = .init()) throws(UPnPDMError) -> [String] {
        try parsePathList(text, root: "NodeAttributePathList", entry: "NodeAttributePath", limits: limits)
    }

    // MARK: Parameter values

    /// `ParameterValueList` (SetValues in; GetValues and GetSelectedValues out; ConfigurationUpdate's third field).
    public static func parameterValueList(_ values: [DMParameterValue]) throws(UPnPDMError) -> String {
        try parameterList("ParameterValueList", values)
    }

    public static func parseParameterValueList(_ text: String, limits: DMDocumentLimits = .init()) throws(UPnPDMError) -> [DMParameterValue] {
        try parseParameterList(text, root: "ParameterValueList", limits: limits)
    }

    /// `ParameterInitialValueList` (CreateInstance ChildrenInitialization); same entries as ParameterValueList.
    /// The root name follows the argument type's name (upnp-dm.md §2.4 marks it [R]: cms.xsd was not available).
    public static func parameterInitialValueList(_ values: [DMParameterValue]) throws(UPnPDMError) -> String {
        try parameterList("ParameterInitialValueList", values)
    }

    public static func parseParameterInitialValueList(_ text: String, limits: DMDocumentLimits = .init()) throws(UPnPDMError) -> [DMParameterValue] {
        try parseParameterList(text, root: "ParameterInitialValueList", limits: limits)
    }

    private static func parameterList(_ root: StaticString, _ values: [DMParameterValue]) throws(UPnPDMError) -> String {
        try build(root) { writer throws(UPnPDMError) in
            for value in values {
                try writer.startElement("Parameter")
                try writer.element("ParameterPath", value.path)
                try writer.element("Value", value.value)
                try writer.endElement()
            }
        }
    }

    /// Read straight from the SAX events (`ParameterListReader`), not through a `DMXMLElement` tree: this is the
    /// answer to every GetValues. The rules are those of the tree readers above: root and entry by local name,
    /// the first `ParameterPath` and `Value` child of each `Parameter`, leaf text trimmed, other elements ignored.
    private static func parseParameterList(_ text: String, root: String, limits: DMDocumentLimits) throws(UPnPDMError) -> [DMParameterValue] {
        if DMXML.trimmed(text).isEmpty { return [] }
        let reader = ParameterListReader(limits: limits, what: root)
        try DMXML.read(text, root: root, handler: reader, limits: limits)
        guard let rootName = reader.rootName else {
            throw UPnPDMError(.malformedXML, "the \(root) document has no root element")
        }
        try DMXML.check(rootName: rootName, expected: root)
        var result: [DMParameterValue] = []
        result.reserveCapacity(reader.entries.count)
        for entry in reader.entries {
            guard let path = entry.path, !path.isEmpty else {
                throw UPnPDMError(.invalidResponse, "a Parameter of the \(root) document has no ParameterPath")
            }
            // An absent Value is an empty one (an empty string parameter written as <Value/> or left out).
            result.append(DMParameterValue(path: path, value: entry.value ?? ""))
        }
        return result
    }

    // MARK: Attributes

    /// `NodeAttributeValueList` (GetAttributes out, SetAttributes in).
    public static func nodeAttributeValueList(_ nodes: [DMNodeAttributeValues]) throws(UPnPDMError) -> String {
        try build("NodeAttributeValueList") { writer throws(UPnPDMError) in
            for node in nodes {
                try writer.startElement("Node")
                try writer.element("NodeAttributePath", node.path)
                for attribute in node.attributes {
                    guard Self.isElementName(attribute.name) else {
                        throw UPnPDMError(.invalidArgument, "\(attribute.name) is not an attribute name")
                    }
                    try writer.element(attribute.name, attribute.value)
                }
                try writer.endElement()
            }
        }
    }

    public static func parseNodeAttributeValueList(_ text: String, limits: DMDocumentLimits = .init()) throws(UPnPDMError) -> [DMNodeAttributeValues] {
        var result: [DMNodeAttributeValues] = []
        for entry in try entries(text, root: "NodeAttributeValueList", entry: "Node", limits: limits) ?? [] {
            guard let path = entry.child("NodeAttributePath"), !path.isEmpty else {
                throw UPnPDMError(.invalidResponse, "a Node of the NodeAttributeValueList document has no NodeAttributePath")
            }
            let attributes = entry.children.filter { $0.name != "NodeAttributePath" }.map {
                DMNodeAttributeValues.Attribute(name: $0.name, value: DMXML.trimmed($0.text))
            }
            result.append(DMNodeAttributeValues(path: path, attributes: attributes))
        }
        return result
    }

    /// Attribute names become element names: only ASCII letters, digits and `_` (the CMS names are all of that kind).
    private static func isElementName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first.properties.isAlphabetic, first.isASCII else { return false }
        return name.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_") }
    }

    // MARK: Supported data models

    /// `SupportedDataModels` (GetSupportedDataModels out).
    public static func supportedDataModels(_ models: [DMSupportedDataModel]) throws(UPnPDMError) -> String {
        try build("SupportedDataModels") { writer throws(UPnPDMError) in
            for model in models {
                try writer.startElement("SubTree")
                try writer.element("URI", model.uri)
                try writer.element("Location", model.location)
                if let url = model.url { try writer.element("URL", url) }
                if let description = model.description { try writer.element("Description", description) }
                try writer.endElement()
            }
        }
    }

    public static func parseSupportedDataModels(_ text: String, limits: DMDocumentLimits = .init()) throws(UPnPDMError) -> [DMSupportedDataModel] {
        var result: [DMSupportedDataModel] = []
        for entry in try entries(text, root: "SupportedDataModels", entry: "SubTree", limits: limits) ?? [] {
            guard let uri = entry.child("URI"), !uri.isEmpty, let location = entry.child("Location"), !location.isEmpty else {
                throw UPnPDMError(.invalidResponse, "a SubTree of the SupportedDataModels document lacks its URI or Location")
            }
            result.append(DMSupportedDataModel(uri: uri, location: location, url: entry.child("URL"),
                                               description: entry.child("Description")))
        }
        return result
    }

    // MARK: ConfigurationUpdate

    /// Reads the `ConfigurationUpdate` state variable (GetConfigurationUpdate, or a GENA event). Splits at the first
    /// two commas only: the ParameterValueList after them may itself contain commas.
    public static func parseConfigurationUpdate(_ text: String, limits: DMDocumentLimits = .init()) throws(UPnPDMError) -> DMConfigurationUpdate {
        let fields = text.split(separator: ",", maxSplits: 2, omittingEmptySubsequences: false)
        guard fields.count >= 2, let version = UInt32(DMXML.trimmed(String(fields[0]))) else {
            throw UPnPDMError(.invalidResponse, "ConfigurationUpdate is not <version>,<time>[,<ParameterValueList>]")
        }
        let changes = fields.count == 3 ? try parseParameterValueList(String(fields[2]), limits: limits) : []
        return DMConfigurationUpdate(version: version, time: DMXML.trimmed(String(fields[1])), changes: changes)
    }

    /// Writes the `ConfigurationUpdate` value (for peers and tests).
    public static func configurationUpdate(_ update: DMConfigurationUpdate) throws(UPnPDMError) -> String {
        var text = "\(update.version),\(update.time)"
        if !update.changes.isEmpty { text += "," + (try parameterValueList(update.changes)) }
        return text
    }
}

/// Reads `<Root><Parameter><ParameterPath>…</ParameterPath><Value>…</Value></Parameter>…</Root>` from SAX events:
/// for each `Parameter` child of the root, the trimmed text of its first `ParameterPath` and first `Value` child
/// ("" when that child has child elements, as a tree reader's leaf rule gives). Checks nothing but the caps;
/// `parseParameterList` validates the entries after the whole document parsed, so a malformed document is reported
/// as malformed whatever its first entries hold.
final class ParameterListReader: UPnPXMLStreamHandler {
    struct Entry {
        var path: String?
        var value: String?
    }

    private enum Field { case path, value }

    private var caps: DMElementCaps
    private(set) var rootName: String?
    private(set) var entries: [Entry] = []
    private var inParameter = false
    /// The field whose element is open at depth 3, if it is the first of its name in this Parameter.
    private var field: Field?
    private var fieldHasChildren = false
    private var text: [UInt8] = []

    init(limits: DMDocumentLimits, what: String) {
        caps = DMElementCaps(limits: limits, what: what)
    }

    func startElement(_ localName: UnsafeRawBufferPointer, depth: Int) -> UPnPDMError? {
        if let error = caps.admit(depth: depth) { return error }
        switch depth {
        case 1:
            rootName = String(decoding: localName, as: UTF8.self)
        case 2:
            inParameter = Self.equals(localName, "Parameter")
            if inParameter { entries.append(Entry()) }
        case 3:
            guard inParameter else { return nil }
            if Self.equals(localName, "ParameterPath"), entries[entries.count - 1].path == nil {
                field = .path
            } else if Self.equals(localName, "Value"), entries[entries.count - 1].value == nil {
                field = .value
            } else {
                field = nil
            }
            fieldHasChildren = false
            text.removeAll(keepingCapacity: true)
        default:
            if depth == 4, field != nil { fieldHasChildren = true }
        }
        return nil
    }

    func characters(_ bytes: UnsafeRawBufferPointer, depth: Int) -> UPnPDMError? {
        if depth == 3, field != nil { text.append(contentsOf: bytes) }
        return nil
    }

    func endElement(depth: Int) -> UPnPDMError? {
        switch depth {
        case 3:
            guard let field else { return nil }
            let value = fieldHasChildren ? "" : Self.trimmedText(text)
            switch field {
            case .path: entries[entries.count - 1].path = value
            case .value: entries[entries.count - 1].value = value
            }
            self.field = nil
        case 2:
            inParameter = false
        default:
            break
        }
        return nil
    }

    /// A local name compared with a literal, byte for byte (no String on either side).
    private static func equals(_ name: UnsafeRawBufferPointer, _ literal: StaticString) -> Bool {
        name.count == literal.utf8CodeUnitCount
            && name.elementsEqual(UnsafeRawBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
    }

    /// The text without leading and trailing ASCII whitespace, as `DMXML.trimmed`.
    private static func trimmedText(_ bytes: [UInt8]) -> String {
        guard let first = bytes.firstIndex(where: { !isASCIIWhitespace($0) }),
              let last = bytes.lastIndex(where: { !isASCIIWhitespace($0) }) else { return "" }
        return String(decoding: bytes[first...last], as: UTF8.self)
    }
}
