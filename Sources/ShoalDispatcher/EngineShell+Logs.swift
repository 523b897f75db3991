import ShoalCore

/// Log lines: the `logs.query` API and retention.
extension EngineShell {
    /// Text one `logs.query` reply carries at most: well under `Wire.maximumPayload` as JSON.
    static let logPageBytes = 1024 * 1024

    func queryLogs(_ request: LogQueryRequest) throws -> LogPage {
        try request.validate()
        let nodes = request.selector.isEmpty ? nil : try engine.nodeViews(matching: request.selector).map(\.id)
        return try store.logPage(nodes: nodes, source: request.source, since: request.since, after: request.after,
                                 limit: request.limit, maxBytes: Self.logPageBytes)
    }

    /// Deletes log lines `logRetention` no longer keeps, a slice at a time: every minute,
    /// or at the next tick while there is more to delete.
    func pruneLogs(at time: Double) {
        do {
            let deleted = try store.pruneLogs(logRetention, now: time)
            logPruneDue = deleted >= 10_000 ? time : time + 60
            if deleted > 0 {
                uncheckpointed = true
                logger.debug("Pruned log lines", metadata: ["log.lines": "\(deleted)"])
            }
        } catch {
            logPruneDue = time + 60
            logger.warning("Cannot prune log lines; will retry", metadata: ["error": "\(error)"])
        }
    }
}
