#ifndef CBUILDINFO_H
#define CBUILDINFO_H
/// The git revision the binary was built from ("unknown" outside `make build`).
const char *bgpmesh_build_revision(void);
#endif
