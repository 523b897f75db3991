// Why C: between clone3 and execve the child may run only async-signal-safe code, on the
// parent's memory (x86-64) or a copy of it; Swift code there could take a lock another
// thread held.
#define _GNU_SOURCE
#include "CSpawn.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

/// Everything the child needs, and where it leaves the error of a failed exec.
struct child_plan {
    const char *file;
    char *const *argv;
    char *const *envp;
    int out_fd;
    int err_fd;
    int new_process_group;
    /// Where a child on a copy of this memory writes its exec error (-1: memory is shared).
    int report_fd;
    volatile int error;
};

/// Runs in the child: never returns. With the parent's memory shared, `plan->error` is
/// seen by the parent once the child has exited (CLONE_VFORK keeps the parent waiting).
static void child_main(void *argument) {
    struct child_plan *plan = argument;
    // Default dispositions for every signal the parent handles (a server ignores SIGPIPE),
    // while all are still blocked, then the empty mask of a fresh process. The child has
    // its own copy of the handler table (no CLONE_SIGHAND): the parent's is untouched.
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP) continue;
        struct sigaction current;
        if (sigaction(sig, NULL, &current) == 0 && current.sa_handler != SIG_DFL) sigaction(sig, &dfl, NULL);
    }
    if (plan->new_process_group && setpgid(0, 0) != 0) goto failed;
    int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd < 0) goto failed;
    if (null_fd != 0) {
        if (dup2(null_fd, 0) < 0) goto failed;
        close(null_fd);
    }
    if (plan->out_fd >= 0 && dup2(plan->out_fd, 1) < 0) goto failed;
    if (plan->err_fd >= 0 && dup2(plan->err_fd, 2) < 0) goto failed;
    sigset_t empty;
    sigemptyset(&empty);
    sigprocmask(SIG_SETMASK, &empty, NULL);
    execvpe(plan->file, plan->argv, plan->envp);
failed:;
    int error = errno ? errno : ECHILD;
    plan->error = error;
    if (plan->report_fd >= 0) {
        while (write(plan->report_fd, &error, sizeof error) < 0 && errno == EINTR) {}
    }
    _exit(127);
}

#if defined(__x86_64__)
/// clone3 with the child on its own stack, calling `child_main(plan)` there: what glibc's
/// posix_spawn does (CLONE_VM | CLONE_VFORK: no copy of the page tables, which a fork of
/// the agent paid at every job), but with CLONE_INTO_CGROUP, which glibc 2.36 cannot ask
/// for. The child runs only the code below and `child_main`; it touches no stack of the
/// parent's (rsp is the new stack's top, 16-byte aligned as a call expects).
static long clone3_on_stack(struct clone_args *args, struct child_plan *plan) {
    long result;
    register void (*entry)(void *) __asm__("r12") = child_main;
    register struct child_plan *argument __asm__("r13") = plan;
    __asm__ volatile(
        "syscall\n\t"
        "test %%rax, %%rax\n\t"
        "jnz 1f\n\t"
        "xor %%ebp, %%ebp\n\t"
        "mov %%r13, %%rdi\n\t"
        "call *%%r12\n\t"
        "mov $127, %%edi\n\t"
        "mov %[exit], %%eax\n\t"
        "syscall\n\t"
        "hlt\n"
        "1:"
        : "=a"(result)
        : "0"((long)SYS_clone3), "D"(args), "S"(sizeof *args), "r"(entry), "r"(argument), [exit] "i"(SYS_exit)
        : "rcx", "r11", "memory");
    return result;
}
#endif

int shoal_spawn_into_cgroup(pid_t *pid, const char *file, char *const argv[], char *const envp[],
                            int cgroup_fd, int out_fd, int err_fd, int new_process_group) {
    struct child_plan plan = {
        .file = file, .argv = argv, .envp = envp, .out_fd = out_fd, .err_fd = err_fd,
        .new_process_group = new_process_group, .report_fd = -1, .error = 0,
    };
    struct clone_args args;
    memset(&args, 0, sizeof args);
    args.exit_signal = SIGCHLD;
    args.cgroup = (uint64_t)cgroup_fd;
    long result;
    int error = 0;
    sigset_t all, previous;
    sigfillset(&all);

#if defined(__x86_64__)
    // execvpe builds each candidate path, and for a script a new argv, on the stack.
    size_t argc = 0;
    while (argv[argc] != NULL) argc++;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t stack_size = (128 * 1024 + (argc + 2) * sizeof(char *) + page - 1) / page * page;
    void *stack = mmap(NULL, stack_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) return errno;
    args.flags = CLONE_VM | CLONE_VFORK | CLONE_INTO_CGROUP;
    args.stack = (uint64_t)(uintptr_t)stack;
    args.stack_size = stack_size;
    // No signal handler of the parent may run in the child before it resets them.
    pthread_sigmask(SIG_BLOCK, &all, &previous);
    result = clone3_on_stack(&args, &plan);
    pthread_sigmask(SIG_SETMASK, &previous, NULL);
    munmap(stack, stack_size);
    if (result < 0) return (int)-result;
    error = plan.error;
#else
    // Elsewhere the child runs on a copy of this memory (no CLONE_VM: no stack of its own
    // needed), and its exec error comes back through a pipe that a successful exec closes.
    int report[2];
    if (pipe2(report, O_CLOEXEC) != 0) return errno;
    plan.report_fd = report[1];
    args.flags = CLONE_VFORK | CLONE_INTO_CGROUP;
    pthread_sigmask(SIG_BLOCK, &all, &previous);
    result = syscall(SYS_clone3, &args, sizeof args);
    if (result == 0) child_main(&plan);
    int saved = errno;
    pthread_sigmask(SIG_SETMASK, &previous, NULL);
    close(report[1]);
    if (result < 0) {
        close(report[0]);
        return saved;
    }
    ssize_t count;
    do { count = read(report[0], &error, sizeof error); } while (count < 0 && errno == EINTR);
    close(report[0]);
    if (count != (ssize_t)sizeof error) error = 0;
#endif
    if (error != 0) {
        int status;
        while (waitpid((pid_t)result, &status, 0) < 0 && errno == EINTR) {}
        return error;
    }
    *pid = (pid_t)result;
    return 0;
}
