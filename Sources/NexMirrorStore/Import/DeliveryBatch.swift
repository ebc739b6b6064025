import NexMirrorCore

/// Deliveries gathered into one durable commit per `size`.
public struct DeliveryBatch {
    let store: any EventStore
    let size: Int
    private var pending: [NewDelivery] = []

    public init(store: any EventStore, size: Int) {
        self.store = store
        self.size = size
    }

    public mutating func add(_ delivery: NewDelivery) async throws -> [(delivery: NewDelivery, result: AppendResult)] {
        pending.append(delivery)
        return pending.count >= size ? try await flush() : []
    }

    public mutating func flush() async throws -> [(delivery: NewDelivery, result: AppendResult)] {
        guard !pending.isEmpty else { return [] }
        let deliveries = pending
        pending = []
        do {
            return Array(zip(deliveries, try await store.append(deliveries)).map { ($0, $1) })
        } catch {
            throw ImportFailure.cannotAppend("\(error)")
        }
    }
}

/// A failure of the store, not of the input: it stops the import (an `ImportError` only skips
/// the entry or file).
public enum ImportFailure: Error, CustomStringConvertible {
    case cannotAppend(String)

    public var description: String {
        switch self {
        case .cannotAppend(let reason): "cannot append to the event log: \(reason)"
        }
    }
}
