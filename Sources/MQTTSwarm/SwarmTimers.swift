import HeapModule
import Mosquitto
/// A timer scheduled on a swarm's loop; pass it to `SwarmLoop.cancel(_:)`.
public struct SwarmTimer: Hashable, Sendable {
    let id: UInt64
}

/// The loop's timers: a min-heap (swift-collections' `Heap`) of deadlines (CLOCK_MONOTONIC nanoseconds), ties
/// broken by scheduling order, plus the actions by id. Cancelling drops the action at
/// once and leaves its heap entry to be skipped when it comes up (lazy deletion).
///
/// Not thread-safe: owned by `SwarmLoop`, used on its thread only.
struct TimerHeap {
    typealias Action = (SwarmLoop) -> Void

    private struct Entry: Comparable {
        var deadline: UInt64
        var id: UInt64

        static func < (lhs: Entry, rhs: Entry) -> Bool {
            (lhs.deadline, lhs.id) < (rhs.deadline, rhs.id)
        }
    }

    private var heap = Heap<Entry>()
    private var actions: [UInt64: Action] = [:]
    private var lastID: UInt64 = 0

    /// Live timers (cancelled ones excluded).
    var count: Int { actions.count }

    mutating func schedule(at deadline: UInt64, _ action: @escaping Action) -> SwarmTimer {
        lastID += 1
        actions[lastID] = action
        heap.insert(Entry(deadline: deadline, id: lastID))
        return SwarmTimer(id: lastID)
    }

    mutating func cancel(_ timer: SwarmTimer) {
        actions[timer.id] = nil
    }

    /// The earliest live deadline, discarding cancelled entries on the way.
    mutating func nextDeadline() -> UInt64? {
        while let top = heap.min {
            if actions[top.id] != nil { return top.deadline }
            heap.removeMin()
        }
        return nil
    }

    /// Removes and returns the earliest live action whose deadline is at or before `now`.
    mutating func popDue(now: UInt64) -> Action? {
        while let top = heap.min, top.deadline <= now {
            heap.removeMin()
            if let action = actions.removeValue(forKey: top.id) { return action }
        }
        return nil
    }

    mutating func removeAll() {
        heap = Heap()
        actions.removeAll()
    }
}
