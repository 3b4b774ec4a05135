/* Compiled with _GNU_SOURCE, so glibc's own prototypes are used here and the
 * header stays free of <sys/socket.h> and <pthread.h> (Swift's Glibc has those). */
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>
#include "CLinux.h"

int bgpmesh_set_malloc_arena_max(int arenas) { return mallopt(M_ARENA_MAX, arenas); }

int bgpmesh_set_malloc_release_threshold(int bytes) {
    return mallopt(M_MMAP_THRESHOLD, bytes) && mallopt(M_TRIM_THRESHOLD, bytes);
}

int bgpmesh_accept4(int fd, void *address, void *length, int flags) {
    return accept4(fd, (struct sockaddr *)address, (socklen_t *)length, flags);
}

int bgpmesh_set_thread_name(unsigned long thread, const char *name) {
    return pthread_setname_np((pthread_t)thread, name);
}

int bgpmesh_pipe2(int fds[2], int flags) { return pipe2(fds, flags); }
