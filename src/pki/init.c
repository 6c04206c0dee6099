/* init.c: process-wide OpenSSL setup, done once before any other pki call. */
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "pki/internal.h"

int pki_init(struct moat_err *err)
{
	if (OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CONFIG, NULL) != 1) {
		pki_err_drain(err, "cannot initialise OpenSSL");
		return -1;
	}
	/*
	 * The random generator moat draws keys and serials from: NIST SP 800-90A
	 * Hash_DRBG over SHA-256 (256-bit security strength), seeded from the
	 * operating system like OpenSSL's default CTR_DRBG over AES-256.  Both
	 * are approved; this one spares every moat run the set-up of OpenSSL's
	 * cipher table, which the first AES fetch triggers and which is about a
	 * tenth of the CPU time of `moat issue`.
	 */
	if (RAND_set_DRBG_type(NULL, "HASH-DRBG", NULL, NULL, "SHA256") != 1) {
		pki_err_drain(err, "cannot set up the random generator");
		return -1;
	}
	return 0;
}
