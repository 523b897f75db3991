#ifndef SHOAL_CLINUX_SHIM_H
#define SHOAL_CLINUX_SHIM_H
// Linux headers that Swift's Glibc module leaves out: epoll and eventfd, for MQTTSwarm's
// event loop. Nothing else belongs here.
#include <sys/epoll.h>
#include <sys/eventfd.h>
#endif
