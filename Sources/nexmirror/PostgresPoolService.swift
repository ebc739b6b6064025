import NexMirrorPostgres
import ServiceLifecycle

/// `serve`'s PostgreSQL connection pools as a service of its group. It comes first in the group,
/// which stops its services in reverse order, so a graceful shutdown closes the pools only once
/// the receiver has drained and the background services are done with the store.
struct PostgresPoolService: Service {
    let store: PostgresStore

    func run() async {
        await cancelWhenGracefulShutdown { await store.runPools() }
    }
}
