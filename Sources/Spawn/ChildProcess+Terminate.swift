#if canImport(Glibc)
import Glibc
#endif

extension ChildProcess {
    /// SIGTERM to each process, then waits for all of them; one still running after
    /// `grace` gets SIGKILL. What every supervisor (`shoal up`, `shoal simulate`) needs to
    /// stop its children, in one place.
    public static func terminate(_ processes: [ChildProcess], grace: Duration) async {
        processes.forEach { $0.kill(SIGTERM) }
        await withTaskGroup(of: Void.self) { group in
            for process in processes {
                group.addTask {
                    await withTaskGroup(of: Void.self) { race in
                        race.addTask { _ = await process.wait() }
                        race.addTask {
                            // Upper bound only: a process that ignores SIGTERM is killed.
                            guard (try? await Task.sleep(for: grace)) != nil else { return }
                            process.kill(SIGKILL)
                        }
                        await race.next()
                        race.cancelAll()
                    }
                }
            }
        }
    }
}
