// swift-tools-version:6.1
// Needletail: a low-latency market-making and trading engine for Linux.
// The module graph is the dependency graph of ../shared/DESIGN.md: C lives only in C* targets,
// FastBook imports nothing but the standard library, only Connectors touches the decoders.
import Foundation
import PackageDescription

// The `needletail` executable runs on jemalloc (DESIGN.md's allocator): linked in, so it replaces
// malloc for the whole process. NEEDLETAIL_MALLOC=glibc builds it on glibc's malloc instead (the
// comparison in perf/run-layouts.sh).
let jemalloc: [LinkerSetting] =
  ProcessInfo.processInfo.environment["NEEDLETAIL_MALLOC"] == "glibc" ? [] : [.linkedLibrary("jemalloc")]

// Release builds of the engine's modules drop Swift's run-time exclusivity checks (debug builds,
// which the tests run, keep them and catch any violation): on the strategy thread and in a
// backtest every access to a class's stored property paid a check, a fifth of a backtest's time.
let releaseUnchecked: [SwiftSetting] = [
  .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))
]

let package = Package(
  name: "needletail",
  platforms: [.macOS(.v15)],
  products: [
    .executable(name: "needletail", targets: ["needletail"]),
    .library(name: "FastBook", targets: ["FastBook"]),
    .library(name: "Connectors", targets: ["Connectors"]),
    .library(name: "Wire", targets: ["Wire"]),
    .library(name: "Venue", targets: ["Venue"]),
    .library(name: "Engine", targets: ["Engine"]),
    .library(name: "Strategies", targets: ["Strategies"]),
    .library(name: "Persistence", targets: ["Persistence"]),
    .library(name: "CRing", targets: ["CRing"]),
    .library(name: "CPlatform", targets: ["CPlatform"]),
    .library(name: "CSimdJSON", targets: ["CSimdJSON"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
    .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
  ],
  targets: [
    // The spin-wait hint, CPU pinning and the monotonic clock: what Swift cannot spell.
    .target(name: "CPlatform"),
    // liburing: the network layer's io_uring.
    .target(
      name: "CRing",
      linkerSettings: [.linkedLibrary("uring")]
    ),
    // simdjson On-Demand behind a plain C API: one message into a caller-provided struct.
    .target(
      name: "CSimdJSON",
      cxxSettings: [
        .define("SIMDJSON_THREADS_ENABLED", to: "1"),
        .unsafeFlags(["-O3"]),
      ],
      linkerSettings: [.linkedLibrary("simdjson")]
    ),
    // OpenSSL 3 (libssl/libcrypto) for TLS and request signing; used from the Wire issue on.
    .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
    // SQLite 3, for the trade history (libsqlite3-dev).
    .systemLibrary(name: "CSQLite", providers: [.apt(["libsqlite3-dev"])]),
    // zlib, to read gzip captures.
    .systemLibrary(name: "CZlib", providers: [.apt(["zlib1g-dev"])]),
    .target(name: "FastBook", dependencies: ["CPlatform"], swiftSettings: releaseUnchecked),
    .target(name: "Wire", dependencies: ["CRing", "COpenSSL", "CPlatform"]),
    .target(name: "Engine", dependencies: ["FastBook", "CPlatform"], swiftSettings: releaseUnchecked),
    // Market-making strategies on the Strategy protocol (pure MM, …), run on the strategy thread.
    .target(
      name: "Strategies", dependencies: ["Engine", "FastBook", "CPlatform"], swiftSettings: releaseUnchecked),
    // The backtest: a simulated exchange (hftbacktest's queue and fill rules) on data time.
    .target(
      name: "Backtest", dependencies: ["Connectors", "CSimdJSON", "Engine", "FastBook"],
      swiftSettings: releaseUnchecked),
    // The trade history in SQLite: the journal writer (side thread), reload after a restart, history.
    .target(name: "Persistence", dependencies: ["Engine", "FastBook", "CSQLite", "CPlatform"]),
    .target(name: "Venue", dependencies: ["FastBook", "Wire", "COpenSSL", "CPlatform"]),
    .target(
      name: "Connectors",
      dependencies: ["FastBook", "CSimdJSON", "CZlib", "Engine", "Wire"],
      exclude: ["Binance/Harness"],
      swiftSettings: releaseUnchecked
    ),
    .executableTarget(
      name: "needletail",
      dependencies: [
        "FastBook", "Connectors", "CRing", "CPlatform", "Venue", "Wire", "Engine", "Strategies",
        "Persistence", "Backtest",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "Yams", package: "Yams"),
        .product(name: "Logging", package: "swift-log"),
      ],
      linkerSettings: jemalloc
    ),
    .target(name: "TestSupport", path: "Tests/TestSupport"),
    // The connector conformance checks (venue-neutral) and Binance spot driven against the Venue:
    // the conformance harnesses and the shared venue fixture; the order-tracking soaks (a CI test
    // runs them small, perf/soak.sh at 100,000); tick-to-trade (perf/t2t.sh). Each its own module.
    .target(name: "Conformance", dependencies: ["Engine", "FastBook"]),
    .target(
      name: "BinanceHarness",
      dependencies: ["Connectors", "Conformance", "Engine", "FastBook", "Venue", "Wire"],
      path: "Sources/Connectors/Binance/Harness/Conformance"),
    .target(
      name: "BinanceSoak",
      dependencies: ["BinanceHarness", "Connectors", "Engine", "FastBook", "Venue", "Wire"],
      path: "Sources/Connectors/Binance/Harness/Soak"),
    .target(
      name: "BinanceTickToTrade",
      dependencies: ["BinanceHarness", "Connectors", "Engine", "FastBook", "Strategies", "Venue", "Wire"],
      path: "Sources/Connectors/Binance/Harness/TickToTrade"),
    // The Swift side of the perf/ comparisons (see perf/run.sh).
    .executableTarget(
      name: "needletail-perf",
      dependencies: [
        "FastBook", "Connectors", "CSimdJSON", "CPlatform", "COpenSSL", "Wire", "Venue", "BinanceSoak",
        "BinanceTickToTrade",
        "Engine", "Strategies", "Backtest", "CZlib",
        .product(name: "Histogram", package: "hdrhistogram-swift"),
      ]
    ),
    .testTarget(name: "FastBookTests", dependencies: ["FastBook", "CPlatform", "TestSupport"]),
    .testTarget(name: "CSimdJSONTests", dependencies: ["CSimdJSON", "FastBook", "TestSupport"]),
    .testTarget(name: "CRingTests", dependencies: ["CRing"]),
    .testTarget(name: "WireTests", dependencies: ["Wire", "CPlatform", "TestSupport"]),
    .testTarget(
      name: "VenueTests", dependencies: ["Venue", "FastBook", "Connectors", "CSimdJSON", "TestSupport"]),
    .testTarget(name: "EngineTests", dependencies: ["Engine", "TestSupport"]),
    .testTarget(name: "StrategiesTests", dependencies: ["Strategies", "Engine", "FastBook"]),
    .testTarget(
      name: "BacktestTests", dependencies: ["Backtest", "Connectors", "Engine", "FastBook", "TestSupport"],
      exclude: ["Peers"]),
    .testTarget(
      name: "NeedletailTests",
      dependencies: ["needletail", "Persistence", "Venue", "Engine", "FastBook", "Wire", "TestSupport"],
      exclude: ["Peers"]),
    .testTarget(name: "PersistenceTests", dependencies: ["Persistence", "Engine", "FastBook"]),
    .testTarget(
      name: "ConnectorsTests",
      dependencies: [
        "Connectors", "FastBook", "TestSupport", "Engine", "Wire", "Venue", "BinanceHarness", "BinanceSoak",
        "BinanceTickToTrade", "Conformance",
        "Strategies",
      ]),
  ],
  cxxLanguageStandard: .cxx17
)
