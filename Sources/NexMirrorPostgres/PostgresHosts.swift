import Logging
import PostgresNIO

extension PostgresURL {
    /// What a server said of itself when it was tried.
    struct ServerRole: Sendable {
        let inRecovery: Bool
        let readOnly: Bool

        func satisfies(_ wanted: TargetSessionAttributes) -> Bool {
            switch wanted {
            case .any, .preferStandby: true
            case .readWrite: !readOnly
            case .primary: !inRecovery
            case .readOnly: readOnly
            case .standby: inRecovery
            }
        }

        var description: String {
            inRecovery ? "a standby (in recovery)" : readOnly ? "read-only (default_transaction_read_only)" : "a writable primary"
        }
    }

    /// No host took a connection that `target_session_attrs` accepts: each host's reason.
    struct NoServer: Error, CustomStringConvertible {
        let reasons: [(endpoint: Endpoint, reason: String)]
        var description: String {
            // One host: its reason alone, as it always read.
            reasons.count == 1 ? reasons[0].reason : reasons.map { "\($0.endpoint): \($0.reason)" }.joined(separator: "; ")
        }
    }

    /// Tries the hosts in order, as libpq does, each bounded by `connect_timeout`, and returns an
    /// open connection to the first that `target_session_attrs` accepts (for `prefer-standby`,
    /// a standby in a first pass and any in a second).
    func connectToTarget(id: Int, logger: Logger) async throws -> (connection: PostgresConnection, endpoint: Endpoint) {
        var reasons: [(endpoint: Endpoint, reason: String)] = []
        let passes: [TargetSessionAttributes] =
            targetSessionAttributes == .preferStandby ? [.standby, .any] : [targetSessionAttributes]
        for wanted in passes {
            for endpoint in endpoints {
                let connection: PostgresConnection
                do {
                    let configuration = try connectionConfiguration(endpoint)
                    connection = try await withDeadline(connectTimeout, "accept a connection") {
                        try await PostgresConnection.connect(configuration: configuration, id: id, logger: logger)
                    }
                } catch {
                    reasons.append((endpoint, PostgresStore.connectReason(error, url: self)))
                    continue
                }
                if wanted == .any { return (connection, endpoint) }
                do {
                    let role = try await Self.role(of: connection, logger: logger)
                    if role.satisfies(wanted) { return (connection, endpoint) }
                    reasons.append((endpoint, "\(role.description), not what target_session_attrs=\(wanted.rawValue) asks for"))
                } catch {
                    reasons.append((endpoint, PostgresStore.reason(error)))
                }
                try? await connection.close()
            }
        }
        throw NoServer(reasons: reasons)
    }

    static func role(of connection: PostgresConnection, logger: Logger) async throws -> ServerRole {
        let rows = try await connection.query(
            "SELECT pg_is_in_recovery(), current_setting('transaction_read_only') = 'on'", logger: logger)
        for try await (inRecovery, readOnly) in rows.decode((Bool, Bool).self) {
            return ServerRole(inRecovery: inRecovery, readOnly: readOnly)
        }
        throw PostgresStatementError.recoveryStateUnknown
    }
}
