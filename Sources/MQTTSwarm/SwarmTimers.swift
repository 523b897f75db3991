import Mosquitto
/// A timer scheduled on a swarm's loop; pass it to `SwarmLoop.cancel(_:)`.
public struct SwarmTimer: Hashable, Sendable {
    let id: UInt64
}

/// The loop's timers: a binary min-heap of deadlines (CLOCK_MONOTONIC nanoseconds), ties
/// broken by scheduling order, plus the actions by id. Cancelling drops the action at
/// once and leaves its heap entry to be skipped when it comes up (lazy deletion).
///
/// Not thread-safe: owned by `SwarmLoop`, used on its thread only.
struct TimerHeap {
    typealias Action = (SwarmLoop) -> Void

    private struct Entry {
        var deadline: UInt64
        var id: UInt64

        func isBefore(_ other: Entry) -> Bool {
            deadline != other.deadline ? deadline < other.deadline : id < other.id
        }
    }

    private var heap: [Entry] = []
    private var actions: [UInt64: Action] = [:]
    private var lastID: UInt64 = 0

    /// Live timers (cancelled ones excluded).
    var count: Int { actions.count }

    mutating func schedule(at deadline: UInt64, _ action: @escaping Action) -> SwarmTimer {
        lastID += 1
        actions[lastID] = action
        heap.append(Entry(deadline: deadline, id: lastID))
        siftUp(heap.count - 1)
        return SwarmTimer(id: lastID)
    }

    mutating func cancel(_ timer: SwarmTimer) {
        actions[timer.id] = nil
    }

    /// The earliest live deadline, discarding cancelled entries on the way.
    mutating func nextDeadline() -> UInt64? {
        while let top = heap.first {
            if actions[top.id] != nil { return top.deadline }
            removeTop()
        }
        return nil
    }

    /// Removes and returns the earliest live action whose deadline is at or before `now`.
    mutating func popDue(now: UInt64) -> Action? {
        while let top = heap.first, top.deadline <= now {
            removeTop()
            if let action = actions.removeValue(forKey: top.id) { return action }
        }
        return nil
    }

    mutating func removeAll() {
        heap.removeAll()
        actions.removeAll()
    }

    private mutating func removeTop() {
        let last = heap.removeLast()
        guard !heap.isEmpty else { return }
        heap[0] = last
        siftDown(0)
    }

    private mutating func siftUp(_ start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].isBefore(heap[parent]) else { return }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            guard left < heap.count else { return }
            var first = left
            if left + 1 < heap.count, heap[left + 1].isBefore(heap[left]) { first = left + 1 }
            guard heap[first].isBefore(heap[parent]) else { return }
            heap.swapAt(first, parent)
            parent = first
        }
    }
}
