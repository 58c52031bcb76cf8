/// A credential (ACS or connection-request password, SNMP community or key). Its descriptions never show the
/// value, so a secret that ends up in a log line, an error or a `print` stays a secret; code that needs the
/// value asks for `revealed` explicitly.
public struct Secret: Hashable, Sendable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable, ExpressibleByStringLiteral {
    private let value: String

    public init(_ value: String) { self.value = value }
    public init(stringLiteral value: String) { self.value = value }

    /// The secret's value, for the one place that must use it (computing a Digest response, say).
    public var revealed: String { value }
    public var isEmpty: Bool { value.isEmpty }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
    public var customMirror: Mirror { Mirror(self, children: [:]) }
}
