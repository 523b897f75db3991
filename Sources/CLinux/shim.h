#ifndef SHOAL_CLINUX_SHIM_H
#define SHOAL_CLINUX_SHIM_H
// Linux headers that Swift's Glibc module leaves out: epoll and eventfd (MQTTSwarm's
// event loop) and prctl (simulator workers that end with their parent).
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <signal.h>

/// prctl is variadic, which Swift cannot call.
static inline int shoal_set_parent_death_signal(int signal) { return prctl(PR_SET_PDEATHSIG, (unsigned long)signal); }
#endif
