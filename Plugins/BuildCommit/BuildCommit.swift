import Foundation
import PackagePlugin

/// Writes the commit the binary is built from (`buildCommit`, shown by `nexmirror --version`)
/// into a generated Swift file. The command runs again whenever git moves HEAD (commit,
/// checkout, reset) and rewrites the file only when the commit changed, so an unchanged tree
/// recompiles nothing. Sources that are not a git checkout say "unknown".
@main
struct BuildCommit: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let package = context.package.directoryURL
        let output = context.pluginWorkDirectoryURL.appending(path: "BuildCommit.swift")
        let script = #"""
            commit=$(git -C "$1" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
            text="let buildCommit = \"$commit\""
            [ "$(cat "$2" 2>/dev/null)" = "$text" ] || printf '%s\n' "$text" >"$2"
            """#
        return [
            .buildCommand(
                displayName: "Stamping the commit into nexmirror --version",
                executable: URL(fileURLWithPath: "/bin/sh"),
                arguments: ["-c", script, "sh", package.path, output.path],
                inputFiles: gitFiles(package),
                outputFiles: [output]
            )
        ]
    }

    /// HEAD and its reflog in the repository's git directory (a worktree's `.git` is a file
    /// naming it); none when the sources are not a git checkout.
    private func gitFiles(_ package: URL) -> [URL] {
        var gitDirectory = package.appending(path: ".git")
        if let pointer = try? String(contentsOf: gitDirectory, encoding: .utf8), pointer.hasPrefix("gitdir:") {
            let path = pointer.dropFirst("gitdir:".count).trimmingCharacters(in: .whitespacesAndNewlines)
            gitDirectory = URL(fileURLWithPath: path, relativeTo: package)
        }
        return ["HEAD", "logs/HEAD"].map { gitDirectory.appending(path: $0) }
            .filter { FileManager.default.fileExists(atPath: $0.path) }
    }
}
