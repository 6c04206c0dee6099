/* buf.h: a growable byte buffer, always NUL-terminated for convenience. */
#ifndef MOAT_CORE_BUF_H
#define MOAT_CORE_BUF_H

#include <stddef.h>

#include "core/err.h"

struct moat_buf {
	unsigned char *data; /* NULL while empty */
	size_t len;
	size_t cap;
};

#define MOAT_BUF_INIT {NULL, 0, 0}

/* Room for extra more bytes (and the NUL) in one allocation, for a
 * writer that knows about how much is coming.  0, or -1 out of memory. */
int moat_buf_reserve(struct moat_buf *b, size_t extra);
int moat_buf_append(struct moat_buf *b, const void *data, size_t len);
int moat_buf_puts(struct moat_buf *b, const char *s);
int moat_buf_printf(struct moat_buf *b, const char *fmt, ...) MOAT_PRINTF(2, 3);
/* Zero the contents before freeing (for key material). */
void moat_buf_wipe(struct moat_buf *b);
void moat_buf_free(struct moat_buf *b);
/* Hand the bytes over to the caller (NUL-terminated); b becomes empty. */
char *moat_buf_steal(struct moat_buf *b);

#endif
