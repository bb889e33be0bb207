import Foundation
import VaultSimCore

/// How a driver process is started: `vaultsim run --driver "CMD ARGS"`, or the bundled Python driver.
public struct DriverCommand: Sendable, CustomStringConvertible {
    public var executable: String
    public var arguments: [String]
    public var environment: [String: String]

    public init(executable: String, arguments: [String] = [], environment: [String: String] = [:]) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
    }

    /// Splits a command line on spaces, honouring single and double quotes.
    public static func parse(_ line: String) throws -> DriverCommand {
        var words: [String] = []
        var current = ""
        var quote: Character?
        var inWord = false
        for c in line {
            if let q = quote {
                if c == q { quote = nil } else { current.append(c) }
            } else if c == "\"" || c == "'" {
                quote = c
                inWord = true
            } else if c == " " || c == "\t" {
                if inWord { words.append(current); current = ""; inWord = false }
            } else {
                current.append(c)
                inWord = true
            }
        }
        guard quote == nil else { throw DriverCommandError(message: "unbalanced quote in driver command: \(line)") }
        if inWord { words.append(current) }
        guard let first = words.first else { throw DriverCommandError(message: "the driver command is empty") }
        return DriverCommand(executable: first, arguments: Array(words.dropFirst()))
    }

    public var description: String { ([executable] + arguments).joined(separator: " ") }

    /// The executable's path if it is a file that can be run (a bare name is looked up in `PATH`).
    /// A folder does not count, though it has the execute bit.
    public func resolvedExecutable() -> String? {
        if executable.contains("/") { return Self.isRunnableFile(executable) ? executable : nil }
        let path = environment["PATH"] ?? ProcessInfo.processInfo.environment["PATH"] ?? ""
        return path.split(separator: ":").map { "\($0)/\(executable)" }.first(where: Self.isRunnableFile)
    }

    /// Why the executable cannot be run, said for the user; nil when it can.
    public var executableProblem: String? {
        guard resolvedExecutable() == nil else { return nil }
        guard executable.contains("/") else { return "'\(executable)' is not a program on PATH" }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: executable, isDirectory: &isDirectory) else {
            return "'\(executable)' does not exist"
        }
        return isDirectory.boolValue
            ? "'\(executable)' is a folder, not a program"
            : "'\(executable)' is not executable (chmod +x it, or name its interpreter first)"
    }

    static func isRunnableFile(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && !isDirectory.boolValue
            && FileManager.default.isExecutableFile(atPath: path)
    }
}

public struct DriverCommandError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// A driver's answer to one command.
public enum DriverReply: Sendable {
    /// The SDK call returned this result.
    case result(JSONValue)
    /// The SDK raised.
    case sdkError(SDKError)
    /// The driver could not carry out the command.
    case protocolError(String)

    /// As a step record keeps it: `{"result": …}`, `{"error": {class, ancestors, message, attributes}}`
    /// or `{"protocol_error": …}`.
    public var json: JSONValue {
        switch self {
        case .result(let value): ["result": value]
        case .sdkError(let error):
            ["error": ["class": .string(error.className), "ancestors": .array(error.ancestors.map(JSONValue.string)),
                       "message": .string(error.message), "attributes": error.attributes]]
        case .protocolError(let text): ["protocol_error": .string(text)]
        }
    }
}

/// An exception the SDK raised, as the driver reports it.
public struct SDKError: Sendable, Equatable {
    public var className: String
    /// The language-neutral kind, when the driver reports one (`grant_not_found`).
    public var kind: String?
    public var ancestors: [String]
    public var message: String
    public var attributes: JSONValue

    init?(_ value: JSONValue) {
        guard let className = value["class"]?.stringValue else { return nil }
        self.className = className
        self.kind = value["kind"]?.stringValue
        self.ancestors = (value["ancestors"]?.arrayValue ?? []).compactMap(\.stringValue)
        self.message = value["message"]?.stringValue ?? value["str"]?.stringValue ?? ""
        self.attributes = value["attributes"] ?? .object([:])
    }

    /// `GrantNotFoundError (BackendError > AlterSDKError): message`.
    public var summary: String {
        "\(className) (\(ancestors.prefix(3).joined(separator: " > "))): \(message)"
    }
}

/// Why a driver could not be used: it would not start, crashed, hung or wrote garbage.
public struct DriverFailure: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
