// swift-tools-version: 6.0
import PackageDescription

/// What the static Foundation libraries need named on Linux: the modules were compiled
/// against the shared ones, whose link lists omit the libraries they absorb.
let staticFoundationLibraries: [LinkerSetting] = ["_FoundationCollections", "_FoundationCShims", "CoreFoundation", "_FoundationICU"]
    .map { .linkedLibrary($0, .when(platforms: [.linux])) }

let package = Package(
    name: "Shoal",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "shoal", targets: ["shoal"]),
        .executable(name: "shoal-agent", targets: ["shoal-agent"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        // Already built for swift-async-algorithms; its `Heap` replaces a hand-written one.
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.1.0"),
        // `-o yaml`: a real emitter (quoting, multi-line strings) for ~20 s of build.
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        // `--metrics-listen`: the Prometheus text format (escaping, TYPE/HELP lines, families)
        // from the Swift server group's client; with swift-metrics' CoreMetrics and
        // swift-atomics it adds little to the build, and it is the format's reference in Swift.
        .package(url: "https://github.com/swift-server/swift-prometheus.git", exact: "2.4.1"),
    ],
    targets: [
        // libmosquitto through pkg-config; the shim holds only what Swift cannot import.
        .systemLibrary(
            name: "CMosquitto",
            pkgConfig: "libmosquitto",
            providers: [.apt(["libmosquitto-dev"])]
        ),
        // Linux headers Glibc's module map leaves out (epoll, eventfd): MQTTSwarm's event loop.
        .systemLibrary(name: "CLinux"),
        // clone3 into a cgroup: C, because the child may run only async-signal-safe code.
        .target(name: "CSpawn"),
        // Child processes with their own process group, output pipes and a reaper thread.
        .target(name: "Spawn", dependencies: ["CSpawn"]),
        // Shoal-agnostic MQTT v5 client over libmosquitto: what the agent links.
        .target(
            name: "Mosquitto",
            dependencies: [
                "CMosquitto", "Spawn",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Thousands of MQTT clients on one epoll thread: the simulator's and the benchmarks'.
        .target(
            name: "MQTTSwarm",
            dependencies: [
                "CMosquitto", "CLinux", "Mosquitto", "Spawn",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "HeapModule", package: "swift-collections"),
            ]
        ),
        // Runs a mosquitto child process: for `shoal up`, the tests and the benchmarks.
        .target(
            name: "BrokerLauncher",
            dependencies: ["Mosquitto", "Spawn", .product(name: "Logging", package: "swift-log")]
        ),
        // Pure Shoal: topics, messages, selectors, execution state machine, signatures. No I/O.
        // Ed25519 and SHA-256 from Debian's libsodium: an agent that verifies signatures stays
        // small (swift-crypto cost it 1.3 MiB of RSS, OpenSSL 3's EVP 2 MiB; bench/README.md,
        // agent-rss) and the build spends no minutes on it.
        .target(name: "CEd25519", linkerSettings: [.linkedLibrary("sodium")]),
        .target(name: "ShoalCore", dependencies: ["CEd25519"]),
        .target(
            name: "ShoalAgent",
            dependencies: [
                "ShoalCore", "Mosquitto", "Spawn",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The `agent` command and the options it shares with the other commands: all the
        // standalone `shoal-agent` needs. No full Foundation here or below (see bench/README.md).
        .target(
            name: "ShoalCommandLine",
            dependencies: [
                "ShoalAgent", "ShoalCore", "Mosquitto",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The dispatcher's rules as a state machine: no database, no broker, no clock.
        .target(
            name: "ShoalEngine",
            dependencies: ["ShoalCore", .product(name: "Logging", package: "swift-log")]
        ),
        .target(
            name: "ShoalDispatcher",
            dependencies: [
                "ShoalCore", "ShoalEngine", "Mosquitto", "BrokerLauncher",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        // Thousands of simulated agents in one process, through the agent's decisions
        // (JobAdmission) and wire format; only the task is synthetic.
        .target(
            name: "ShoalSimulator",
            dependencies: ["ShoalCore", "Mosquitto", "MQTTSwarm", .product(name: "Logging", package: "swift-log")]
        ),
        // Supervision of child processes for `shoal up` (a local fleet) and `shoal simulate`
        // (its worker processes): start, show progress, forward signals, stop with a grace.
        .target(
            name: "FleetSupervision",
            dependencies: [
                "BrokerLauncher", "Mosquitto", "ShoalSimulator", "Spawn",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        // The dispatcher's API as seen by a client: request/response and job events.
        .target(
            name: "ShoalClient",
            dependencies: ["ShoalCore", "Mosquitto", .product(name: "Logging", package: "swift-log")]
        ),
        .executableTarget(
            name: "shoal",
            dependencies: [
                "ShoalCore", "Mosquitto", "MQTTSwarm", "BrokerLauncher", "ShoalAgent", "ShoalCommandLine", "ShoalDispatcher",
                "ShoalClient", "ShoalSimulator", "Spawn", "FleetSupervision", "ShoalTerminal",
                .product(name: "Yams", package: "Yams"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            // Every `shoal` command is a short-lived process, so its start counts: with the
            // static Swift runtime only the pages it uses are mapped, instead of loading and
            // relocating Foundation's shared libraries (bench/README.md, run-latency).
            linkerSettings: [
                .unsafeFlags(["-static-stdlib", "-use-ld=lld", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs"],
                             .when(platforms: [.linux])),
            ] + staticFoundationLibraries
        ),
        // The agent alone, for the machines of the fleet: half of `shoal agent`'s resident
        // memory (bench/README.md, agent-rss, says what each step below bought).
        // - The static Swift runtime: only the pages it uses are mapped, instead of whole
        //   shared libraries with their relocations.
        // - The modules were compiled against the shared Foundation libraries, whose link
        //   lists omit the libraries they absorb; the static ones need them named. The
        //   last two are only for full Foundation, which an incremental debug build can
        //   still name (objects compiled before a file dropped it are not rebuilt): the
        //   agent links either way (archives add only what is used). FoundationFreeTests
        //   and bench/agent-rss catch a real import.
        // - lld, because gold warns about `mktemp` in the static FoundationEssentials.
        // - Compact relative relocations (RELR, glibc >= 2.36) instead of 1 MB of RELA that
        //   the loader reads at every start.
        // - No export of the executable's own symbols (`-static-stdlib` asks for it; nothing
        //   looks them up): a smaller dynamic symbol table.
        // - The functions the agent runs packed together (scripts/agent-order-file), so that
        //   the kernel's 64 KiB fault-around maps them and not the code around them.
        .executableTarget(
            name: "shoal-agent",
            dependencies: [
                "ShoalCommandLine", "ShoalAgent",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            exclude: ["hot-functions.order"],
            linkerSettings: [
                .unsafeFlags([
                    "-static-stdlib", "-use-ld=lld",
                    "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs",
                    "-Xlinker", "--no-export-dynamic",
                    "-Xlinker", "--symbol-ordering-file=\(Context.packageDirectory)/Sources/shoal-agent/hot-functions.order",
                    // Names missing from this build (another toolchain, changed code) are expected.
                    "-Xlinker", "--no-warn-symbol-ordering",
                ], .when(platforms: [.linux])),
            ] + staticFoundationLibraries
        ),
        // Mutated payloads for every decoder, the signature verifier and the selector parser:
        // `shoal-bench fuzz` (scripts/fuzz) and a quick run in ShoalCoreTests.
        .target(name: "ShoalFuzzing", dependencies: ["ShoalCore"]),
        // Benchmark drivers (raw MQTT baselines) and the fuzzer, used by bench/ and scripts/fuzz.
        .executableTarget(
            name: "shoal-bench",
            dependencies: ["Mosquitto", "MQTTSwarm", "ShoalCore", "ShoalFuzzing", "Spawn", .product(name: "Logging", package: "swift-log")]
        ),
        .target(
            name: "ShoalTestSupport",
            dependencies: ["Mosquitto", "BrokerLauncher", "Spawn", "ShoalCore", "ShoalClient", .product(name: "Logging", package: "swift-log")]
        ),
        // The CLI's pure text renderers: tables, sparklines, `shoal top`'s frame.
        .target(name: "ShoalTerminal", dependencies: ["ShoalCore"]),
        .testTarget(name: "ShoalCoreTests", dependencies: ["ShoalCore", "ShoalFuzzing"]),
        .testTarget(name: "MosquittoTests", dependencies: ["Mosquitto", "MQTTSwarm", "BrokerLauncher", "ShoalTestSupport"]),
        .testTarget(name: "ShoalAgentTests", dependencies: ["ShoalAgent", "BrokerLauncher", "ShoalTestSupport"]),
        .testTarget(name: "ShoalDispatcherTests", dependencies: ["ShoalDispatcher", "ShoalEngine", "ShoalTestSupport"]),
        .testTarget(name: "ShoalEngineTests", dependencies: ["ShoalEngine", "ShoalCore"]),
        .testTarget(name: "ShoalTerminalTests", dependencies: ["ShoalTerminal", "ShoalCore"]),
        .testTarget(
            name: "ShoalEndToEndTests",
            dependencies: [
                "ShoalCore", "Mosquitto", "BrokerLauncher", "ShoalClient", "ShoalCommandLine", "ShoalSimulator",
                "ShoalTestSupport", "Spawn",
                .product(name: "Yams", package: "Yams"),
            ]
        ),
    ]
)
