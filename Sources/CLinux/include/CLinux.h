#ifndef CLINUX_H
#define CLINUX_H
/* Linux and glibc calls that Swift's Glibc module does not export. */
#include <malloc.h>

/// Caps glibc's malloc arenas (mallopt M_ARENA_MAX); returns 1 on success.
static inline int bgpmesh_set_malloc_arena_max(int arenas) { return mallopt(M_ARENA_MAX, arenas); }
#endif
