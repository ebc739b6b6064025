// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "nexmirror",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "nexmirror", targets: ["nexmirror"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.1"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/swiftlang/swift-subprocess.git", from: "1.0.2"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        // Already in the graph through postgres-nio; named here because the PostgreSQL backend
        // builds its TLS settings (sslmode) with it.
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
    ],
    targets: [
        // Action catalog, signatures, JSON and timestamps: pure functions, no I/O.
        .target(
            name: "NexMirrorCore",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")]
        ),
        // Versioned SQL migrations, embedded in the binary so a copied binary still migrates.
        .target(
            name: "NexMirrorSchema",
            path: "Schema",
            resources: [
                .embedInCode("0001_event_log.sql"),
                .embedInCode("0002_replica.sql"),
                .embedInCode("0003_sync.sql"),
                .embedInCode("0004_activity_index.sql"),
                .embedInCode("0005_sync_fetch_mode.sql"),
                .embedInCode("0006_erasure.sql"),
                .embedInCode("0007_compaction.sql"),
                .embedInCode("postgres/0001_pg_event_log.sql"),
                .embedInCode("postgres/0002_pg_replica.sql"),
                .embedInCode("postgres/0003_pg_append_batch.sql"),
                .embedInCode("postgres/0004_pg_append_on_conflict.sql"),
                .embedInCode("postgres/0005_pg_replica_index_names.sql"),
                .embedInCode("postgres/0006_pg_sync_fetch_mode.sql"),
                .embedInCode("postgres/0007_pg_erasure.sql"),
                .embedInCode("postgres/0008_pg_compaction.sql"),
            ]
        ),
        // The projection modules: what each delivery means for the replica's tables.
        .target(
            name: "NexMirrorProjections",
            dependencies: ["NexMirrorCore"],
            path: "Projections"
        ),
        // The backend-neutral store: protocols, domain types and the fold rule every backend runs.
        .target(
            name: "NexMirrorStore",
            dependencies: [
                "NexMirrorCore", "NexMirrorProjections",
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // The embedded SQLite backend: the only importer of GRDB and the SQLite C API.
        .target(
            name: "NexMirrorSQLite",
            dependencies: [
                "NexMirrorCore", "NexMirrorSchema", "NexMirrorProjections", "NexMirrorStore",
                .product(name: "GRDB", package: "GRDB.swift"),
                // SQLite's C API, for the fold's and the CSV writer's hot loops.
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // The row writers of query, events and export: CSV, TSV, JSON, JSONL, Markdown, table.
        .target(
            name: "NexMirrorOutput",
            dependencies: ["NexMirrorStore"]
        ),
        // The PostgreSQL backend (SPEC §6): several receivers append to one log, projectors fenced
        // in the database.
        .target(
            name: "NexMirrorPostgres",
            dependencies: [
                "NexMirrorCore", "NexMirrorSchema", "NexMirrorProjections", "NexMirrorStore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // HTTP receiver, metrics and the background projector.
        .target(
            name: "NexMirrorServer",
            dependencies: [
                "NexMirrorCore", "NexMirrorStore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The Nexudus REST API client and `sync`/`webhooks` logic (SPEC §7).
        .target(
            name: "NexMirrorSync",
            dependencies: [
                "NexMirrorCore", "NexMirrorStore", "NexMirrorProjections",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "nexmirror",
            dependencies: [
                "NexMirrorCore", "NexMirrorProjections", "NexMirrorStore", "NexMirrorSQLite", "NexMirrorServer",
                "NexMirrorSync", "NexMirrorOutput", "NexMirrorPostgres",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            plugins: ["BuildCommit"]
        ),
        // Stamps the commit a binary is built from into `nexmirror --version`.
        .plugin(name: "BuildCommit", capability: .buildTool()),
        // The Nexudus fixtures, and what every test target shares: polling, child processes.
        .target(name: "NexudusFixtures", path: "Tests/FixtureSupport"),
        // A stand-in of the Nexudus REST API (from nexudus/REST-API.md) for tests and benchmarks.
        .target(
            name: "NexudusStandIn",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
            ],
            path: "Tests/NexudusStandIn"
        ),
        .testTarget(
            name: "NexMirrorCoreTests",
            dependencies: ["NexMirrorCore", "NexudusFixtures", .product(name: "Crypto", package: "swift-crypto")]
        ),
        .testTarget(
            name: "NexMirrorStoreTests",
            dependencies: [
                "NexMirrorCore", "NexMirrorStore", "NexudusFixtures",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]
        ),
        .testTarget(
            name: "NexMirrorSQLiteTests",
            dependencies: [
                "NexMirrorCore", "NexMirrorStore", "NexMirrorSQLite", "NexMirrorProjections", "NexudusFixtures",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]
        ),
        .testTarget(
            name: "NexMirrorOutputTests",
            dependencies: ["NexMirrorOutput", "NexMirrorStore"]
        ),
        .testTarget(
            name: "NexMirrorSyncTests",
            dependencies: [
                "NexMirrorSync", "NexMirrorCore", "NexMirrorStore", "NexudusStandIn",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The receiver in-process (HummingbirdTesting) on a real temporary SQLite store: every
        // HTTP outcome without starting the binary.
        .testTarget(
            name: "NexMirrorServerTests",
            dependencies: [
                "NexMirrorServer", "NexMirrorStore", "NexMirrorSQLite", "NexMirrorCore", "NexudusFixtures",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // What only PostgreSQL has, against a throwaway cluster (scripts/pg): several stores and
        // receivers on one database, PostgreSQL down and up, concurrent migrations, collation.
        .testTarget(
            name: "PostgresTests",
            dependencies: [
                "nexmirror", "NexMirrorCore", "NexMirrorStore", "NexMirrorSQLite", "NexMirrorPostgres",
                "NexMirrorProjections", "NexudusFixtures", "NexudusStandIn",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The contract (SPEC §3–§6) written once and run on both backends: every test takes a
        // `Backend` (a fresh SQLite file, a fresh PostgreSQL database) and drives the real binary
        // or the store protocols; outputs for the same log are compared between the two.
        .testTarget(
            name: "ContractTests",
            dependencies: [
                "nexmirror", "NexMirrorCore", "NexMirrorStore", "NexMirrorSQLite", "NexMirrorPostgres", "NexudusFixtures",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]
        ),
        // Drives the real binary: the live server on a loopback port, the CLI, kill -9.
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "nexmirror", "NexMirrorCore", "NexudusFixtures", "NexudusStandIn",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Subprocess", package: "swift-subprocess"),
            ]
        ),
    ]
)
