import Foundation
import PackagePlugin

/// Embeds every migration of the schema target (`Schema/NNNN_*.sql` for SQLite,
/// `Schema/postgres/NNNN_*.sql` for PostgreSQL) in a generated Swift file, as the bytes of each
/// file in the order of their names: adding a migration is adding its file, nothing else.
@main
struct SchemaMigrations: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        guard let target = target as? SourceModuleTarget else { return [] }
        let root = target.directoryURL.standardizedFileURL.path
        let files = target.sourceFiles(withSuffix: "sql").map(\.url.standardizedFileURL)
            .sorted { $0.path < $1.path }
        // Each argument pair: the list (`sqlite` or `postgres`) and the file.
        var arguments: [String] = []
        for file in files {
            let folder = file.deletingLastPathComponent().path
            switch folder {
            case root: arguments += ["sqlite", file.path]
            case root + "/postgres": arguments += ["postgres", file.path]
            default: throw PluginError.unexpectedFolder(file.path)
            }
        }
        let output = context.pluginWorkDirectoryURL.appending(path: "Migrations.swift")
        // Bytes as decimal literals (od), so no text of a migration can break the Swift file.
        let script = #"""
            out=$1; shift
            {
                echo '// Generated from the .sql files of the schema target: do not edit.'
                list=
                for argument in "$@"; do
                    if [ -z "$list" ]; then list=$argument; continue; fi
                    echo "private let ${list}_$(basename "$argument" .sql): [UInt8] = ["
                    od -An -v -tu1 "$argument" | awk 'NF { printf "   "; for (i = 1; i <= NF; i++) printf " %s,", $i; print "" }'
                    echo "]"
                    list=
                done
                echo 'extension Schema {'
                for wanted in sqlite postgres; do
                    echo "    static let ${wanted}Files: [(identifier: String, bytes: [UInt8])] = ["
                    list=
                    for argument in "$@"; do
                        if [ -z "$list" ]; then list=$argument; continue; fi
                        name=$(basename "$argument" .sql)
                        [ "$list" = "$wanted" ] && echo "        (\"$name\", ${list}_$name),"
                        list=
                    done
                    echo "    ]"
                done
                echo '}'
            } >"$out"
            """#
        return [
            .buildCommand(
                displayName: "Embedding the schema migrations",
                executable: URL(fileURLWithPath: "/bin/sh"),
                arguments: ["-c", script, "sh", output.path] + arguments,
                inputFiles: files,
                outputFiles: [output]
            )
        ]
    }

    enum PluginError: Error, CustomStringConvertible {
        case unexpectedFolder(String)
        var description: String {
            switch self {
            case .unexpectedFolder(let path):
                "\(path): a migration lives in Schema/ (SQLite) or Schema/postgres/ (PostgreSQL)"
            }
        }
    }
}
