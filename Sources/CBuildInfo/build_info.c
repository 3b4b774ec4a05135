#include "CBuildInfo.h"

/* `make` writes revision.h (gitignored) before building; a plain `swift build`
 * has none and reports "unknown". Only this file recompiles when it changes. */
#if __has_include("revision.h")
#include "revision.h"
#endif
#ifndef BGPMESH_REVISION
#define BGPMESH_REVISION "unknown"
#endif

const char *bgpmesh_build_revision(void) { return BGPMESH_REVISION; }
