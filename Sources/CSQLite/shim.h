#include <sqlite3.h>

/// SQLITE_TRANSIENT is a cast macro Swift cannot import: "copy the bound bytes now".
static inline sqlite3_destructor_type csqlite_transient(void) { return (sqlite3_destructor_type)-1; }
