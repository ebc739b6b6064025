import NexMirrorProjections

/// Which logged deliveries the fold still needs, stated once for every backend.
///
/// The replica is a function of the set of deliveries (SPEC §4.3): per entity, the row holds
/// its greatest version and the tombstone its greatest delete, and a history table holds one
/// row per delivery. Versions only ever lose, never win back, so a delivery that decides no
/// row now never will. Each row records its delivery's `seq`, so the deliveries that still
/// decide the replica are exactly the `seq`s found in these tables; every other delivery of an
/// entity that has one of them is a superseded version, and `rebuild` without it gives the same
/// replica. Quarantined deliveries decide nothing. Deliveries that fold into no table (no
/// entity id) are kept: the log is their only record.
public enum CompactionRule {
    /// Tables whose `seq` column names a delivery that decides the replica: each projection's
    /// main table and history table (child tables are made of their parent's delivery), and
    /// `tombstones`.
    public static var deciding: [String] {
        Projections.all.flatMap { projection in [projection.table] + [projection.historyTable?.name].compactMap { $0 } }
            + ["tombstones"]
    }
}
