#ifndef CLINUX_H
#define CLINUX_H
/* Linux and glibc calls that Swift's Glibc module does not export: its umbrella
 * header leaves out <sys/epoll.h>, <sys/eventfd.h> and <malloc.h>, and is built
 * without _GNU_SOURCE (accept4, pthread_setname_np). The compiler lays out
 * struct epoll_event from the real header (packed on x86_64 only). */
#include <sys/epoll.h>
#include <sys/eventfd.h>

/// Caps glibc's malloc arenas (mallopt M_ARENA_MAX); returns 1 on success.
int bgpmesh_set_malloc_arena_max(int arenas);

/// Fixes glibc's mmap and trim thresholds (mallopt M_MMAP_THRESHOLD, M_TRIM_THRESHOLD) at
/// `bytes`, which also turns off their dynamic raising; returns 1 when both were set.
int bgpmesh_set_malloc_release_threshold(int bytes);

/// accept4(2); `address` is a struct sockaddr *, `length` a socklen_t *.
int bgpmesh_accept4(int fd, void *address, void *length, int flags);

/// pthread_setname_np(3) on a pthread_t.
int bgpmesh_set_thread_name(unsigned long thread, const char *name);
/// pipe2(2) (O_CLOEXEC, so a descriptor never leaks into a child another thread spawns).
int bgpmesh_pipe2(int fds[2], int flags);
#endif
