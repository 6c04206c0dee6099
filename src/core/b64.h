/* b64.h: standard base64 (RFC 4648 section 4), for plists and PEM-free output. */
#ifndef MOAT_CORE_B64_H
#define MOAT_CORE_B64_H

#include <stddef.h>

#include "core/buf.h"

/* Append the base64 of data to out; line_len > 0 wraps lines with "\n"
 * after that many characters (0: one line).  Returns 0 or -1 (ENOMEM). */
int moat_b64_encode(struct moat_buf *out, const void *data, size_t len, size_t line_len);
/* Decode; whitespace is skipped; -1 on any invalid character or padding. */
int moat_b64_decode(struct moat_buf *out, const char *in, size_t len);

#endif
