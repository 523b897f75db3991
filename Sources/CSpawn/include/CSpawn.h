#ifndef SHOAL_CSPAWN_H
#define SHOAL_CSPAWN_H
#include <sys/types.h>

/// Starts `file` (looked up on PATH when it has no slash) with `argv` and `envp` directly
/// inside the cgroup v2 whose directory is open as `cgroup_fd` (clone3 CLONE_INTO_CGROUP,
/// Linux 5.7+): the child is a member before it runs a single instruction of the job, so
/// nothing it forks can escape, and no joining step (an extra exec) is needed.
///
/// stdin is /dev/null; stdout and stderr are `out_fd` and `err_fd` (or inherited when -1).
/// Signals the parent handles or blocks are reset to their defaults in the child; with
/// `new_process_group` the child leads a new process group.
///
/// Returns 0 and sets `*pid`, or an errno: ENOSYS, EINVAL, EOPNOTSUPP or EBADF when this
/// kernel or cgroup cannot take the child that way (the caller falls back), or the error
/// of `execve` (ENOENT, EACCES...), in which case the child has already been reaped.
int shoal_spawn_into_cgroup(pid_t *pid, const char *file, char *const argv[], char *const envp[],
                            int cgroup_fd, int out_fd, int err_fd, int new_process_group);

#endif
