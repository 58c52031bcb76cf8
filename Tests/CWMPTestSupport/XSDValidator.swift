// Validation of encoded envelopes against the Broadband Forum XSDs with ../shared/tools/cwmp-validate
// (xmllint underneath). Tests may use Foundation (for Process); the library never does.
import Foundation
import CWMPClient

public enum XSDValidator {
    /// `<repo>/../shared`, found from this file's path (Tests/CWMPTestSupport/XSDValidator.swift).
    public static let sharedFolder: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
        .appendingPathComponent("shared")

    public static var tool: URL { sharedFolder.appendingPathComponent("tools/cwmp-validate") }
    public static var schemaFolder: URL { sharedFolder.appendingPathComponent("data/bbf") }

    /// The validator script, the XSDs and xmllint are all present.
    public static let isAvailable: Bool = {
        let files = FileManager.default
        guard files.isExecutableFile(atPath: tool.path),
              files.fileExists(atPath: schemaFolder.appendingPathComponent("cwmp-1-4.xsd").path) else { return false }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").contains { files.isExecutableFile(atPath: "\($0)/xmllint") }
    }()

    public struct Failure: CustomStringConvertible {
        public var name: String
        public var output: String
        public var description: String { "\(name):\n\(output)" }
    }

    /// Validates every document with one validator run and returns the ones that failed, with the
    /// validator's messages about each. Names label the documents in failures; they need not be unique.
    public static func validate(_ documents: [(name: String, bytes: [UInt8])]) throws -> [Failure] {
        let folder = FileManager.default.temporaryDirectory
            .appendingPathComponent("cwmp-encoder-xsd-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }

        var paths: [String] = []
        for (index, document) in documents.enumerated() {
            let safe = document.name.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." ? $0 : "_" }
            let file = folder.appendingPathComponent(String(format: "%04d-", index) + String(safe) + ".xml")
            try Data(document.bytes).write(to: file)
            paths.append(file.path)
        }

        let process = Process()
        process.executableURL = tool
        process.arguments = paths
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        // Read before waiting: a full pipe would otherwise block the validator forever.
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()

        // xmllint prints "<file> validates" per good file and "<file> fails to validate" (after the
        // errors, each prefixed with the file name) per bad one. A file with neither line is a failure too.
        let lines = output.split(separator: "\n", omittingEmptySubsequences: true)
        var failures: [Failure] = []
        for (index, path) in paths.enumerated() {
            let about = lines.filter { $0.hasPrefix(path) }
            if about.contains(where: { $0 == "\(path) validates" }) && !about.contains(where: { $0.hasSuffix("fails to validate") }) {
                continue
            }
            let text = about.isEmpty ? "no verdict from the validator; its whole output:\n\(output)" : about.joined(separator: "\n")
            failures.append(Failure(name: documents[index].name, output: text))
        }
        if failures.isEmpty && process.terminationStatus != 0 {
            failures.append(Failure(name: "(validator)", output: "exit status \(process.terminationStatus):\n\(output)"))
        }
        return failures
    }

    /// The top-level elements a namespace's schema declares. The SOAP Body is validated laxly, so an
    /// element the schema does not declare (a misspelt RPC name, say) would pass validation unchecked;
    /// the tests compare body element names against this list to close that gap.
    public static func declaredElements(for namespace: CWMPNamespace) throws -> Set<String> {
        let files = switch namespace {
        case .cwmp10: ["cwmp-1-0.xsd"]
        case .cwmp11: ["cwmp-1-1.xsd"]
        case .cwmp12: ["cwmp-1-2.xsd", "cwmp-1-3.xsd", "cwmp-1-4.xsd"]
        }
        var names: Set<String> = []
        for file in files {
            let text = try String(contentsOf: schemaFolder.appendingPathComponent(file), encoding: .utf8)
            // Top-level declarations are the children of xs:schema, indented by two spaces in these files.
            for line in text.split(separator: "\n") where line.hasPrefix("  <xs:element name=\"") {
                let rest = line.dropFirst("  <xs:element name=\"".count)
                if let quote = rest.firstIndex(of: "\"") { names.insert(String(rest[..<quote])) }
            }
        }
        return names
    }
}
