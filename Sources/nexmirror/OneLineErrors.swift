import ArgumentParser

extension NexMirror {
    /// Like ArgumentParser's `main`, but a usage mistake (unknown option, bad value, missing argument)
    /// is one line on stderr, as SPEC §5 asks, instead of the error followed by help and usage.
    static func main() async {
        do {
            var command = try parseAsRoot(globalDatabaseMoved(Array(CommandLine.arguments.dropFirst())))
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            let code = exitCode(for: error)
            // --help, --version and bare exit codes (status --check's 3) keep ArgumentParser's handling.
            let message = fullMessage(for: error)
            guard code != .success, !message.isEmpty else { exit(withError: error) }
            Terminal.printError(Self.oneLine(message))
            exit(withError: ExitCode(code.rawValue))
        }
    }

    /// `--db` is global (SPEC §5): `nexmirror --db F query …` means `nexmirror query … --db F`.
    static func globalDatabaseMoved(_ arguments: [String]) -> [String] {
        var rest = arguments
        var moved: [String] = []
        while let first = rest.first {
            if first == "--db", rest.count >= 2 {
                moved += rest.prefix(2)
                rest.removeFirst(2)
            } else if first.hasPrefix("--db=") {
                moved.append(rest.removeFirst())
            } else {
                break
            }
        }
        guard !moved.isEmpty, !rest.isEmpty else { return arguments }
        let end = rest.firstIndex(of: "--") ?? rest.endIndex
        rest.insert(contentsOf: moved, at: end)
        return rest
    }

    /// Folds ArgumentParser's multi-line message into its first statement: a list of choices is
    /// joined with commas; `Help:` and `Usage:` lines give way to a pointer to `--help`.
    static func oneLine(_ message: String) -> String {
        var parts: [String] = []
        var choices: [String] = []
        var hint: String?
        for raw in message.split(whereSeparator: \.isNewline) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("- ") {
                choices.append(String(line.dropFirst(2)))
            } else if line.hasPrefix("See '"), let end = line.range(of: "' for more information") {
                hint = "see " + line[line.index(line.startIndex, offsetBy: 4)..<end.upperBound].dropLast(" for more information".count)
            } else if line.hasPrefix("Help:") || line.hasPrefix("Usage:") || line.isEmpty {
                continue
            } else {
                parts.append(line)
            }
        }
        var text = parts.joined(separator: " ")
        if !choices.isEmpty { text += " " + choices.joined(separator: ", ") }
        if let hint { text += " (\(hint))" }
        return text
    }
}
