/* fixture.h: helpers the PKI unit tests share (include after <cmocka.h>). */
#ifndef MOAT_TEST_FIXTURE_H
#define MOAT_TEST_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/names.h"
#include "pki/pki.h"

/* A fresh key of type t; fails the test if it cannot be made. */
struct pki_key *fx_key(enum pki_key_type t);
/* A parsed name; fails the test if s is not one. */
struct moat_name fx_name(const char *s);
/* Is the openssl command there (for cross-checks)? */
bool fx_have_openssl(void);
void fx_write_file(const char *path, const void *data, size_t len);
/* The bytes of the first PEM block's body in pem (at most n). */
size_t fx_unbase64(const char *pem, unsigned char *out, size_t n);

#endif
