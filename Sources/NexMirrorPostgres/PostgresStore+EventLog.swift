import NIOCore
import NexMirrorCore
import NexMirrorStore
import PostgresNIO

extension PostgresStore {
    public func append(_ deliveries: [NewDelivery]) async throws -> [AppendResult] {
        guard !deliveries.isEmpty else { return [] }
        do {
            var results = [AppendResult?](repeating: nil, count: deliveries.count)
            var pending = Array(deliveries.indices)
            var erasedFor: [Int: Set<Int64>] = [:]
            // A delivery naming an erased subject comes back unwritten with the subjects to erase
            // it for; it is sent again erased. Twice more covers a forget between the rounds.
            for _ in 0..<3 where !pending.isEmpty {
                let answers = try await appendOnce(pending.map { index in (deliveries[index], erasedFor[index] ?? []) })
                var next: [Int] = []
                for (index, answer) in zip(pending, answers) {
                    switch answer {
                    case .appended(let result): results[index] = result
                    case .eraseFor(let subjects):
                        erasedFor[index, default: []].formUnion(subjects)
                        next.append(index)
                    }
                }
                pending = next
            }
            guard pending.isEmpty else {
                throw StoreError.unavailable("erasures kept changing the subjects a delivery names; try again")
            }
            return results.map { $0! }
        } catch let error as StoreError {
            throw error
        } catch {
            recover(after: error)
            throw StoreError.unavailable(Self.reason(error))
        }
    }

    private enum AppendAnswer {
        case appended(AppendResult)
        case eraseFor(Set<Int64>)
    }

    /// One call of the append function: parallel arrays, one round trip. The function takes the
    /// append lock, so it must not be held across round trips. '' stands for NULL (no field here
    /// is legitimately empty).
    private func appendOnce(_ batch: [(delivery: NewDelivery, erasedFor: Set<Int64>)]) async throws -> [AppendAnswer] {
        let deliveries = batch.map(\.delivery)
        let erased = batch.map { item in item.erasedFor.isEmpty ? nil : item.delivery.erased(for: item.erasedFor) }
        let receivedAt = deliveries.map(\.receivedAt.description)
        let actions = deliveries.map(\.action.name)
        let actionIds = deliveries.map { Int32($0.action.id) }
        let entityTypes = deliveries.map { $0.entityType ?? "" }
        let entityIds = deliveries.map { $0.entityId.map(String.init) ?? "" }
        let updatedOn = deliveries.map { $0.updatedOn?.description ?? "" }
        let bodies = zip(deliveries, erased).map { ByteBuffer(bytes: $1?.body ?? $0.body) }
        let hashes = deliveries.map(\.bodySHA256)
        let sources = deliveries.map(\.source.rawValue)
        let signatures = deliveries.map(\.signature.rawValue)
        let errors = deliveries.map { $0.problem ?? "" }
        let subjects = deliveries.map { $0.referencedCoworkers.map(String.init).joined(separator: ",") }
        // Sent even when the body held nothing of them to erase: it is then written as received.
        let erasedFor = batch.map { $0.erasedFor.sorted().map(String.init).joined(separator: ",") }
        let erasedHashes = erased.map { $0?.sha256 ?? "" }
        let query: PostgresQuery = """
            SELECT appended_seq, duplicate, erase_for FROM nexmirror_append_erasing(\(receivedAt), \(actions), \
            \(actionIds), \(entityTypes), \(entityIds), \(updatedOn), \(bodies), \(hashes), \(sources), \(signatures), \
            \(errors), \(subjects), \(erasedFor), \(erasedHashes))
            """
        return try await withDeadline(deadline, "commit") { [client] in
            var answers: [AppendAnswer] = []
            for try await (seq, duplicate, eraseFor) in try await client.query(query).decode((Int64?, Bool, String?).self) {
                if let seq {
                    answers.append(.appended(AppendResult(seq: seq, duplicate: duplicate)))
                } else {
                    answers.append(.eraseFor(Set((eraseFor ?? "").split(separator: ",").compactMap { Int64($0) })))
                }
            }
            return answers
        }
    }

    public func recordRejections(_ rejections: [Rejection]) async throws {
        guard !rejections.isEmpty else { return }
        let receivedAt = rejections.map(\.receivedAt.description)
        let actions = rejections.map(\.action)
        let sizes = rejections.map { Int32(clamping: $0.size) }
        let hashes = rejections.map(\.bodySHA256)
        let addresses = rejections.map { $0.remoteAddress ?? "" }
        let reasons = rejections.map(\.reason)
        // Diagnostics, not deliveries: no need to wait for the flush.
        _ = try await withDeadline(deadline, "record rejections") { [client] in
            try await client.query("""
                WITH added AS (
                    INSERT INTO rejections (received_at, action, size, body_sha256, remote_address, reason)
                    SELECT r, a, s, h, nullif(ip, ''), why
                    FROM unnest(\(receivedAt)::text[], \(actions)::text[], \(sizes)::integer[], \(hashes)::text[],
                                \(addresses)::text[], \(reasons)::text[]) AS t(r, a, s, h, ip, why)
                    RETURNING id)
                DELETE FROM rejections WHERE id <= (SELECT max(id) FROM added) - \(Int64(Self.rejectionsKept))
                """)
        }
    }

    public func isWritable() async -> Bool {
        guard !isRecovering else { return false }
        let writable: Bool
        do {
            writable = try await withDeadline(.seconds(2), "answer the readiness probe") { [client] in
                for try await (inRecovery, readOnly) in try await client.query(
                    "SELECT pg_is_in_recovery(), current_setting('transaction_read_only') = 'on'"
                ).decode((Bool, Bool).self) {
                    return !inRecovery && !readOnly
                }
                return false
            }
        } catch {
            recover(after: error)
            return false
        }
        // Reached, but a standby now (demoted, or a proxy that still points at it).
        if !writable { recover(.readOnly) }
        return writable
    }
}
