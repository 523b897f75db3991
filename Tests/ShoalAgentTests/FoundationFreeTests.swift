import Foundation
import Testing

/// The modules `shoal-agent` links use FoundationEssentials, never full Foundation (which
/// brings ICU and CoreFoundation: megabytes of resident memory; bench/README.md,
/// agent-rss). The agent would still link if one did, only bigger, so this test is what
/// notices.
@Suite struct FoundationFreeTests {
    static let agentModules = ["ShoalCore", "Spawn", "Mosquitto", "ShoalAgent", "ShoalCommandLine", "shoal-agent"]
    static let heavyModules: Set<String> = [
        "Foundation", "FoundationInternationalization", "FoundationNetworking", "FoundationXML", "CoreFoundation",
    ]

    @Test func theAgentModulesImportOnlyFoundationEssentials() throws {
        let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources")
        var checked = 0
        for module in Self.agentModules {
            let directory = sources.appendingPathComponent(module)
            let files = FileManager.default.enumerator(atPath: directory.path)?
                .compactMap { $0 as? String }.filter { $0.hasSuffix(".swift") } ?? []
            #expect(!files.isEmpty, "no sources found in \(directory.path)")
            for file in files {
                let text = try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
                for violation in Self.heavyImports(in: text) {
                    Issue.record("Sources/\(module)/\(file):\(violation.line): imports \(violation.module); use `#if canImport(FoundationEssentials) import FoundationEssentials #else import Foundation #endif`")
                }
                checked += 1
            }
        }
        #expect(checked > 20)
    }

    /// Imports of a heavy module, except `import Foundation` as the `#else` of
    /// `#if canImport(FoundationEssentials)` (the fallback for platforms without it).
    static func heavyImports(in text: String) -> [(line: Int, module: String)] {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces) }
        var found: [(line: Int, module: String)] = []
        var inFallback = false
        for (index, line) in lines.enumerated() {
            if line.hasPrefix("#if") { inFallback = false }
            if line == "#else" {
                inFallback = index >= 2 && lines[index - 2] == "#if canImport(FoundationEssentials)"
            }
            if line == "#endif" { inFallback = false }
            let words = line.split(separator: " ")
            guard let position = words.firstIndex(of: "import"), position + 1 < words.count else { continue }
            // `import struct Foundation.Date` names the module after the kind.
            let named = words[(position + 1)...].first { !["struct", "class", "enum", "func", "var", "let", "protocol", "typealias"].contains($0) }
            guard let module = named?.split(separator: ".").first.map(String.init),
                  heavyModules.contains(module) else { continue }
            if module == "Foundation" && inFallback { continue }
            found.append((index + 1, module))
        }
        return found
    }

    @Test func theCheckFindsWhatItLooksFor() {
        #expect(Self.heavyImports(in: "import Foundation\n").map(\.module) == ["Foundation"])
        #expect(Self.heavyImports(in: "@preconcurrency import FoundationNetworking\n").map(\.line) == [1])
        #expect(Self.heavyImports(in: "import struct Foundation.Date\n").count == 1)
        #expect(Self.heavyImports(in: """
            #if canImport(FoundationEssentials)
            import FoundationEssentials
            #else
            import Foundation
            #endif
            import Glibc
            """).isEmpty)
        #expect(Self.heavyImports(in: "#if os(Linux)\nimport Glibc\n#else\nimport Foundation\n#endif\n").count == 1)
    }
}
