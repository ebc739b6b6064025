import NexMirrorCore

/// A logged delivery that may hold a subject's data, as an erasure reads it back on every backend.
public struct ErasureCandidate: Sendable {
    public let seq: Int64
    public let action: String
    public let entityType: String?
    public let body: [UInt8]
    public let status: String
    public let error: String?
    public let signature: String?

    public init(
        seq: Int64, action: String, entityType: String?, body: [UInt8], status: String, error: String?, signature: String?
    ) {
        self.seq = seq
        self.action = action
        self.entityType = entityType
        self.body = body
        self.status = status
        self.error = error
        self.signature = signature
    }

    /// The kind `forget` counts it under: its entity type, or its action when it has none.
    public var kind: String { entityType ?? action }

    /// The same delivery with another body (a rewritten one).
    public func with(body: [UInt8]) -> ErasureCandidate {
        ErasureCandidate(seq: seq, action: action, entityType: entityType, body: body, status: status, error: error, signature: signature)
    }

    func erased(for subjects: ErasureSubjects) -> ErasedBody? {
        guard let action = ActionCatalog.action(named: action) else { return nil }
        return BodyEraser.erase(body, action: action, entityType: entityType, subjects: subjects)
    }
}

/// What one subject's erasure rewrites, decided the same on every backend from the deliveries
/// the store found: its own Coworker deliveries first (they give the values to look for), then
/// every other candidate twice (the first pass learns the names the others spell), so that each
/// rewritten body is erased with everything known of the subject.
public struct ErasurePlan: Sendable {
    public struct Rewrite: Sendable {
        public let delivery: ErasureCandidate
        public let erased: ErasedBody
        /// The delivery's error text with the subject's values masked (a quarantine reason may
        /// quote the body).
        public let error: String?
    }

    public let rewrites: [Rewrite]

    /// What the subject's own deliveries teach: the values the store searches other bodies for.
    public static func learn(subject id: Int64, own: [ErasureCandidate]) -> ErasureSubjects {
        var subjects = ErasureSubjects(ids: [id])
        for delivery in own {
            if let erased = delivery.erased(for: subjects) { subjects.learn(from: erased) }
        }
        return subjects
    }

    /// The byte strings a store searches the log's bodies for: the id's digits and the
    /// subject's identifying values (the eraser then decides what really refers to it).
    public static func needles(for subjects: ErasureSubjects) -> [[UInt8]] {
        subjects.ids.sorted().map { Array(String($0).utf8) }
            + subjects.identifying.filter { $0.utf8.count >= PersonalData.shortestSearchedValue }.sorted().map { Array($0.utf8) }
    }

    public init(subject id: Int64, own: [ErasureCandidate], others: [ErasureCandidate]) {
        var subjects = Self.learn(subject: id, own: own)
        for delivery in others {
            if let erased = delivery.erased(for: subjects) { subjects.learn(from: erased) }
        }
        let masked = subjects.values.union(subjects.identifying)
        rewrites = (own + others).compactMap { delivery in
            guard let erased = delivery.erased(for: subjects) else { return nil }
            let error = delivery.error.map { String(decoding: BodyEraser.maskOccurrences(Array($0.utf8), of: masked), as: UTF8.self) }
            return Rewrite(delivery: delivery, erased: erased, error: error)
        }
    }

    /// Deliveries rewritten, per kind.
    public var deliveries: [String: Int] {
        rewrites.reduce(into: [:]) { counts, rewrite in counts[rewrite.delivery.kind, default: 0] += 1 }
    }

    /// The fold plans of the rewritten deliveries, from their new bodies.
    public var foldPlans: [FoldPlan] {
        rewrites.compactMap { rewrite in
            let delivery = rewrite.delivery
            guard case .fold(let plan) = FoldPreparation.of(
                seq: delivery.seq, action: delivery.action, entityType: delivery.entityType, body: rewrite.erased.body,
                status: delivery.status, signature: delivery.signature)
            else { return nil }
            return plan
        }
    }
}
