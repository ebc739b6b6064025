import Foundation
import NexMirrorCore

/// Turns import files into deliveries, keeping each body's exact bytes.
public enum ImportSource {
    public typealias Report = (String) -> Void

    /// JSON Lines `{"action": …, "body": …}`, read in chunks so a large file streams.
    /// `deliver` also gets how many bytes of the file have been read, for a progress bar.
    public static func lines(
        of file: String, report: Report, deliver: (NewDelivery, Int) async throws -> Void
    ) async throws {
        let descriptor = file == "-" ? STDIN_FILENO : open(file, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw ImportError.cannotRead(String(cString: strerror(errno))) }
        defer { if descriptor != STDIN_FILENO { close(descriptor) } }
        var reader = LineReader(descriptor: descriptor)
        var number = 0
        while let line = try reader.next() {
            number += 1
            guard line.contains(where: { !Self.isWhitespace($0) }) else { continue }
            switch delivery(fromLine: line) {
            case .success(let delivery): try await deliver(delivery, reader.consumed)
            case .failure(let problem): report("\(number): \(problem.description)")
            }
        }
    }

    public static func delivery(fromLine line: [UInt8]) -> Result<NewDelivery, ImportError> {
        let value: JSONValue
        do {
            value = try JSONParser.parse(line)
        } catch {
            return .failure(.syntax(error.description))
        }
        guard case .object(let members) = value else {
            // A JSON array of DTOs is the other import form; it needs the action they were sent as.
            if case .array = value { return .failure(.notADelivery(found: value.typeName, arrayHint: true)) }
            return .failure(.notADelivery(found: value.typeName, arrayHint: false))
        }
        let ranges = valueRanges(ofObject: line)
        let actionText: String
        switch members["action"] {
        case .string(let text): actionText = text
        case .number(let text): actionText = text
        case nil: return .failure(.missingAction)
        case let other?: return .failure(.actionNotNameOrId(found: other.typeName))
        }
        guard let action = ActionCatalog.action(named: actionText) else {
            return .failure(.unknownAction(actionText))
        }
        let body: [UInt8]
        switch members["body"] {
        case .string(let text):
            body = Array(text.utf8)
        case .array:
            guard let range = ranges["body"] else { return .failure(.missingBody) }
            body = Array(line[range])
        case .object:
            guard let range = ranges["body"] else { return .failure(.missingBody) }
            body = [UInt8(ascii: "[")] + line[range] + [UInt8(ascii: "]")]
        case nil:
            return .failure(.missingBody)
        case let other?:
            return .failure(.badBody(found: other.typeName))
        }
        return .success(NewDelivery(action: action, body: body, source: .import, signature: .imported))
    }

    /// A JSON array of DTOs (or `{"Records": [...]}`), one delivery per element.
    public static func array(
        _ bytes: [UInt8], action: WebhookAction, report: Report, deliver: (NewDelivery, Int) async throws -> Void
    ) async throws {
        var parsed: (value: JSONValue, elementRanges: [Range<Int>])
        do {
            parsed = try JSONParser.parseTopLevel(bytes)
        } catch {
            throw ImportError.syntax("\(lineNumber(at: error.offset, in: bytes)): \(error.description)")
        }
        var offset = 0
        if case .object(let members) = parsed.value, case .array? = members["Records"],
           let range = valueRanges(ofObject: bytes)["Records"] {
            do {
                parsed = try JSONParser.parseTopLevel(bytes[range])
            } catch {
                throw ImportError.syntax("\(lineNumber(at: range.lowerBound + error.offset, in: bytes)): \(error.description)")
            }
            offset = range.lowerBound
        }
        guard case .array(let elements) = parsed.value else {
            throw ImportError.notAnArray(found: parsed.value.typeName)
        }
        for (index, element) in elements.enumerated() {
            let range = (parsed.elementRanges[index].lowerBound + offset)..<(parsed.elementRanges[index].upperBound + offset)
            guard case .object = element else {
                report("\(lineNumber(at: range.lowerBound, in: bytes)): element \(index + 1) is a JSON \(element.typeName), expected a DTO object")
                continue
            }
            let body = [UInt8(ascii: "[")] + bytes[range] + [UInt8(ascii: "]")]
            try await deliver(
                NewDelivery(action: action, body: body, source: .import, signature: .imported), range.upperBound)
        }
    }

    public static func lineNumber(at offset: Int, in bytes: [UInt8]) -> Int {
        bytes[..<min(offset, bytes.count)].reduce(1) { $1 == 0x0A ? $0 + 1 : $0 }
    }

    static func isWhitespace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0D || byte == 0x0A }

    /// Where each member's value of a top-level JSON object lies in its bytes (the last of a
    /// repeated name, as in the parsed object), so a value can be kept exactly as written.
    /// Empty when the bytes are not one valid object.
    static func valueRanges(ofObject bytes: [UInt8]) -> [String: Range<Int>] {
        guard let scan = try? bytes.withUnsafeBufferPointer({ buffer throws(JSONSyntaxError) in try JSONParser.scan(buffer) }),
              scan.kind == .object
        else { return [:] }
        var ranges: [String: Range<Int>] = [:]
        for member in scan.firstElementMembers {
            if member.keyEscaped {
                // The key's raw bytes sit between its quotes; decode the escapes.
                let quoted = bytes[(member.key.lowerBound - 1)..<(member.key.upperBound + 1)]
                guard case .string(let key)? = try? JSONParser.parse(quoted) else { continue }
                ranges[key] = member.value
            } else {
                ranges[String(decoding: bytes[member.key], as: UTF8.self)] = member.value
            }
        }
        return ranges
    }
}

/// Why an import entry or file was skipped; each message is one line after `FILE:LINE`.
public enum ImportError: Error, Equatable, CustomStringConvertible {
    case cannotRead(String)
    /// Invalid JSON, as the parser describes it (with the line, for a whole-file array).
    case syntax(String)
    case notADelivery(found: String, arrayHint: Bool)
    case missingAction
    case actionNotNameOrId(found: String)
    case unknownAction(String)
    case missingBody
    case badBody(found: String)
    case notAnArray(found: String)
    /// The whole file could not be read.
    case cannotReadFile(String)
    // Refusals before anything is appended, and the command's outcome.
    case unknownActionOption(String)
    case noFiles
    case missingFile(String)
    case unreadableFile(String, isDirectory: Bool)
    case skipped(Int)
    case foldFailed(String)

    public var description: String {
        switch self {
        case .cannotRead(let reason): "cannot read: \(reason)"
        case .syntax(let message): message
        case .notADelivery(let found, let arrayHint):
            "expected an object {\"action\": …, \"body\": …}, found a JSON \(found)"
                + (arrayHint ? " (for a JSON array of DTOs, pass --action A)" : "")
        case .missingAction: "missing \"action\""
        case .actionNotNameOrId(let found): "\"action\" must be a name or id, found a JSON \(found)"
        case .unknownAction(let action): "unknown action '\(action)'"
        case .missingBody: "missing \"body\""
        case .badBody(let found): "\"body\" must be the body text, an array or a DTO object, found a JSON \(found)"
        case .notAnArray(let found): "expected a JSON array of DTOs (or an object with \"Records\"), found a JSON \(found)"
        case .cannotReadFile(let path): "cannot read \(path)"
        case .unknownActionOption(let action): "unknown action '\(action)'; `nexmirror actions` lists them"
        case .noFiles: "name at least one FILE to import"
        case .missingFile(let file): "cannot read \(file): no such file; nothing was imported"
        case .unreadableFile(let file, let isDirectory):
            "cannot read \(file): \(isDirectory ? "a directory" : "permission denied"); nothing was imported"
        case .skipped(let count):
            "\(count) bad \(count == 1 ? "entry was" : "entries were") skipped (see above); the rest was imported"
        case .foldFailed(let reason):
            "deliveries were imported but folding failed (`nexmirror rebuild` retries): \(reason)"
        }
    }
}
