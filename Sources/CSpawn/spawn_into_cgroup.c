// Why C: between clone3 and execve the child may run only async-signal-safe code on a
// copy of the parent's memory; Swift code there could take a lock another thread held.
#define _GNU_SOURCE
#include "CSpawn.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

static void report_and_exit(int fd, int error) {
    while (write(fd, &error, sizeof error) < 0 && errno == EINTR) {}
    _exit(127);
}

static void child(const char *file, char *const argv[], char *const envp[], int out_fd, int err_fd,
                  int new_process_group, int report_fd, const sigset_t *parent_mask) {
    // Default dispositions for every signal the parent handles (a server ignores SIGPIPE),
    // while all are still blocked, then the empty mask of a fresh process.
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP) continue;
        struct sigaction current;
        if (sigaction(sig, NULL, &current) == 0 && current.sa_handler != SIG_DFL) sigaction(sig, &dfl, NULL);
    }
    (void)parent_mask;
    if (new_process_group && setpgid(0, 0) != 0) report_and_exit(report_fd, errno);
    int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd < 0) report_and_exit(report_fd, errno);
    if (null_fd != 0) {
        if (dup2(null_fd, 0) < 0) report_and_exit(report_fd, errno);
        close(null_fd);
    }
    if (out_fd >= 0 && dup2(out_fd, 1) < 0) report_and_exit(report_fd, errno);
    if (err_fd >= 0 && dup2(err_fd, 2) < 0) report_and_exit(report_fd, errno);
    sigset_t empty;
    sigemptyset(&empty);
    sigprocmask(SIG_SETMASK, &empty, NULL);
    execvpe(file, argv, envp);
    report_and_exit(report_fd, errno);
}

int shoal_spawn_into_cgroup(pid_t *pid, const char *file, char *const argv[], char *const envp[],
                            int cgroup_fd, int out_fd, int err_fd, int new_process_group) {
    // The child's exec error comes back through this pipe; a successful exec closes it.
    int report[2];
    if (pipe2(report, O_CLOEXEC) != 0) return errno;

    // No signal handler of the parent may run in the child before it resets them.
    sigset_t all, previous;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &previous);

    struct clone_args args;
    memset(&args, 0, sizeof args);
    // CLONE_VFORK: this thread waits until the child has exec'd or exited, like posix_spawn.
    // No CLONE_VM: the child runs on a copy of this memory, so it needs no stack of its own.
    args.flags = CLONE_VFORK | CLONE_INTO_CGROUP;
    args.exit_signal = SIGCHLD;
    args.cgroup = (uint64_t)cgroup_fd;
    long result = syscall(SYS_clone3, &args, sizeof args);
    if (result == 0) child(file, argv, envp, out_fd, err_fd, new_process_group, report[1], &previous);

    int saved = errno;
    pthread_sigmask(SIG_SETMASK, &previous, NULL);
    close(report[1]);
    if (result < 0) {
        close(report[0]);
        return saved;
    }
    int error = 0;
    ssize_t count;
    do { count = read(report[0], &error, sizeof error); } while (count < 0 && errno == EINTR);
    close(report[0]);
    if (count == (ssize_t)sizeof error) {
        int status;
        while (waitpid((pid_t)result, &status, 0) < 0 && errno == EINTR) {}
        return error ? error : ECHILD;
    }
    *pid = (pid_t)result;
    return 0;
}
