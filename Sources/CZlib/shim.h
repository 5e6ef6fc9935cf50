// CZlib: zlib's gzip reader, for the compressed market-data captures.
#ifndef CZLIB_SHIM_H
#define CZLIB_SHIM_H
#include <zlib.h>
#endif
