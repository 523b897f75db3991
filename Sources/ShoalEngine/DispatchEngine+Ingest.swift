import ShoalCore

/// What agents report: births, deaths, heartbeats, execution states and output. Each
/// handler changes memory and queues its writes in `pending`.
extension DispatchEngine {
    func ingestBirth(node: String, payload: [UInt8]) {
        do {
            let birth = try Wire.decode(BirthMessage.self, from: payload)
            guard birth.node == node, TopicTree.isValidLevel(node) else {
                throw WireError(description: "node id in payload does not match the topic")
            }
            try birth.validate()
            let time = now()
            let record = NodeRecord(
                id: node, labels: birth.labels, online: true, version: birth.version, bdSeq: Int64(clamping: birth.bdSeq),
                heartbeatInterval: max(0.1, birth.heartbeatInterval), firstSeen: nodes[node]?.firstSeen ?? time,
                lastSeen: time, clockOffset: birth.sentAt - time, admin: nodes[node]?.admin ?? .active,
                isolated: birth.isolated == true)
            if nodes[node]?.labels != record.labels { plannerRegistry = nil }
            nodes[node] = record
            if birth.signedOnly == true { signedOnly.insert(node) } else { signedOnly.remove(node) }
            watchSilence(of: record)
            pending.save(record, announce: true)
            convergeIsolation(of: record)
            // A birth is a new connection: what was sent to or reported by the node while
            // it was away (or while the broker was restarted) may be lost. Ask again.
            for job in active.values {
                if let execution = job.executions[node], !execution.state.isTerminal { resend(job.record, to: [node]) }
            }
        } catch {
            reject("a birth message", error, topic: topics.birth(node))
        }
    }

    func ingestDeath(node: String, payload: [UInt8]) {
        do {
            let death = try Wire.decode(DeathMessage.self, from: payload)
            // A death from an older connection than the last birth is stale: ignore it.
            guard var record = nodes[node], Int64(clamping: death.bdSeq) >= record.bdSeq, record.online else { return }
            record.online = false
            nodes[node] = record
            pending.save(record, announce: true)
            nodeWentOffline(node, cause: "its death message")
        } catch {
            reject("a death message", error, topic: topics.death(node))
        }
    }

    func ingestHeartbeat(node: String, payload: [UInt8]) {
        let time = now()
        var cameBack = false
        var malformed: WireError?
        // In place: copying the record (and retaining its labels) per beat showed in profiles.
        let known = updateNode(node) { record in
            cameBack = !record.online
            // A heartbeat's arrival is what matters; its body only refreshes the clock offset.
            // Decoding one beat a minute per node (and any that brings a node back) keeps
            // 2,000 beats a second at 10,000 nodes from costing a JSON decode each.
            if cameBack || time - (record.clockCheckedAt ?? 0) >= 60 {
                do throws(WireError) {
                    let beat = try Wire.decode(HeartbeatMessage.self, from: payload)
                    do throws(BoundsError) {
                        try beat.validate()
                    } catch {
                        throw WireError(description: error.description)
                    }
                    record.clockOffset = beat.sentAt - time
                    record.clockCheckedAt = time
                } catch {
                    malformed = error
                    return
                }
            }
            record.lastSeen = time
            record.online = true
        }
        guard known else {
            // A node we never saw born (its birth was published before we subscribed):
            // ask it to announce itself again.
            guard TopicTree.isValidLevel(node), (try? Wire.decode(HeartbeatMessage.self, from: payload))?.node == node else { return }
            publish(topics.nodeControl(node), Wire.encode(ControlMessage(op: .rebirth)))
            return
        }
        if let malformed {
            reject("a heartbeat", malformed, topic: topics.heartbeat(node))
        } else if cameBack, let record = nodes[node] {
            // Heartbeats update memory only; the row is written when the node's state changes,
            // which keeps thousands of heartbeats a second off the disk.
            watchSilence(of: record)
            pending.save(record, announce: true)
        }
    }

    /// Changes a registry entry where it is stored; false when the node is unknown.
    /// Through the index: `nodes[node]` as an inout `Optional` moves the record out and back
    /// (retaining and releasing its strings and labels), at every heartbeat and report.
    private func updateNode(_ node: String, _ change: (inout NodeRecord) -> Void) -> Bool {
        guard let index = nodes.index(forKey: node) else { return false }
        change(&nodes.values[index])
        return true
    }

    func ingestStatus(node: String, job: String, payload: [UInt8]) {
        let status: ExecutionStatusMessage
        do {
            status = try Wire.decode(ExecutionStatusMessage.self, from: payload)
            guard status.node == node, status.job == job else {
                throw WireError(description: "job or node in payload does not match the topic")
            }
            try status.validate()
        } catch {
            reject("an execution status", error, topic: topics.execStatus(node: node, job: job))
            return
        }
        touch(node)
        guard let entry = active[job], var execution = entry.executions[node] else { return }
        guard let next = execution.state.advanced(to: status.state) else { return }
        execution.state = next
        execution.exitCode = status.exitCode ?? execution.exitCode
        execution.reason = status.reason ?? execution.reason
        execution.startedAt = status.startedAt ?? execution.startedAt ?? (next == .running ? status.at : nil)
        execution.updatedAt = now()
        if next.isTerminal {
            execution.finishedAt = status.at
            entry.unfinished -= 1
        }
        entry.executions[node] = execution
        pending.save(execution)
        if next.isTerminal { executionEnded(execution) }
        // A quick job's output travels inside its terminal report: store it as chunks 1-2.
        // (Most reports carry none, or empty strings: nothing to collect then.)
        if status.stdout?.isEmpty == false || status.stderr?.isEmpty == false {
            var collected = entry.output[node] ?? CollectedOutput()
            for (seq, stream, text) in [(UInt32(1), OutputChannel.stdout, status.stdout), (2, .stderr, status.stderr)] {
                guard let text, !text.isEmpty else { continue }
                collect(text, seq: seq, stream: stream, into: &collected, job: job, node: node)
            }
            entry.output[node] = collected
        }
        if next.isTerminal, let output = entry.output.removeValue(forKey: node) {
            finishedOutput[ExecutionKey(job: job, node: node)] = (output.stdout, output.stderr)
        }
        if entry.unfinished == 0 {
            finish(job, entry, at: now())
        } else if next.isTerminal && entry.rollout != nil && entry.mayAdvanceRollout(after: node, ended: next) {
            advanceRollout(job)
        }
    }

    func ingestOutput(node: String, job: String, payload: [UInt8]) {
        do {
            let chunk = try Wire.decode(OutputChunkMessage.self, from: payload)
            guard chunk.node == node, chunk.job == job else {
                throw WireError(description: "job or node in payload does not match the topic")
            }
            try chunk.validate()
            guard let entry = active[job], let execution = entry.executions[node], !execution.state.isTerminal else { return }
            var collected = entry.output[node] ?? CollectedOutput()
            let stored = pending.chunks.count
            collect(chunk.data, seq: chunk.seq, stream: chunk.stream, into: &collected, job: job, node: node)
            entry.output[node] = collected
            // What was kept, for the job's followers (replays and output past the limit are not).
            for kept in pending.chunks[stored...] {
                pending.liveOutput[job, default: []].append(OutputChunkView(
                    node: kept.node, seq: kept.seq, stream: OutputChannel(rawValue: kept.stream) ?? .stderr, data: kept.data))
            }
        } catch {
            reject("an output chunk", error, topic: topics.execOutput(node: node, job: job))
        }
    }

    /// Keeps a piece of output (once per sequence number) up to `Limits.storedOutputBytes`
    /// per execution; past it, one marker says where it was cut and the rest is dropped, so
    /// a chatty or hostile node cannot grow the database or this process without bound.
    private func collect(_ text: String, seq: UInt32, stream: OutputChannel, into collected: inout CollectedOutput,
                         job: String, node: String) {
        guard !collected.truncated, collected.seen.insert(seq).inserted else { return }
        let room = Limits.storedOutputBytes - collected.bytes
        var kept = text
        if text.utf8.count > room {
            kept = Bounds.prefix(text, maxBytes: room).text
            collected.truncated = true
        }
        collected.bytes += kept.utf8.count
        if stream == .stdout { collected.stdout += kept } else { collected.stderr += kept }
        pending.chunks.append(OutputChunkRecord(job: job, node: node, seq: Int64(seq), stream: stream.rawValue, data: kept))
        if collected.truncated {
            let marker = OutputMarker.storedLimit
            collected.stderr += marker
            // After every sequence number an agent can send, so it sorts last.
            pending.chunks.append(OutputChunkRecord(job: job, node: node, seq: Int64(UInt32.max) + 1,
                                                    stream: OutputChannel.stderr.rawValue, data: marker))
        }
    }

    /// Any report proves the node is alive.
    private func touch(_ node: String) {
        let time = now()
        var cameBack = false
        _ = updateNode(node) { record in
            cameBack = !record.online
            record.lastSeen = time
            record.online = true
        }
        if cameBack, let record = nodes[node] {
            watchSilence(of: record)
            pending.save(record, announce: true)
        }
    }
}
