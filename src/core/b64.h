/* b64.h: base64 (RFC 4648 section 4), for plists and PEM-free output, and
 * base64url without padding (section 5), as JOSE and ACME use it. */
#ifndef MOAT_CORE_B64_H
#define MOAT_CORE_B64_H

#include <stddef.h>

#include "core/buf.h"

/* Append the base64 of data to out; line_len > 0 wraps lines with "\n"
 * after that many characters (0: one line).  Returns 0 or -1 (ENOMEM). */
int moat_b64_encode(struct moat_buf *out, const void *data, size_t len, size_t line_len);
/* Decode; whitespace is skipped; -1 on any invalid character or padding. */
int moat_b64_decode(struct moat_buf *out, const char *in, size_t len);

/* base64url, no padding, one line. */
int moat_b64url_encode(struct moat_buf *out, const void *data, size_t len);
/* Strict: no padding, no whitespace, no '+' or '/'; -1 otherwise. */
int moat_b64url_decode(struct moat_buf *out, const char *in, size_t len);

#endif
