// swift-tools-version:6.1
// package-benchmark suites for Needletail's hot path, one benchmark per stage, with malloc
// counts. A separate package so the main build and tests do not compile the benchmark stack.
//   cd Benchmarks && swift package --allow-writing-to-package-directory benchmark
import PackageDescription

let package = Package(
  name: "needletail-benchmarks",
  platforms: [.macOS(.v15)],
  dependencies: [
    .package(name: "needletail", path: ".."),
    .package(
      url: "https://github.com/ordo-one/package-benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
  ],
  targets: [
    .executableTarget(
      name: "HotPath",
      dependencies: [
        .product(name: "Benchmark", package: "package-benchmark"),
        .product(name: "FastBook", package: "needletail"),
        .product(name: "Connectors", package: "needletail"),
        .product(name: "CSimdJSON", package: "needletail"),
      ],
      path: "Benchmarks/HotPath",
      plugins: [.plugin(name: "BenchmarkPlugin", package: "package-benchmark")]
    )
  ]
)
