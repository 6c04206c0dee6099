/* fuzz_objects: pki_objects_parse on arbitrary bytes, then every reading
 * moat makes of what it found (as `moat inspect` does). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "pki/pki.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void look_at_key(const struct pki_key *k)
{
	struct moat_err err;
	char text[128];

	pki_key_describe(k, text, sizeof(text));
	(void)pki_key_spki_sha256(k, text, sizeof(text), &err);
	(void)pki_key_is_rsa(k);
}

static void look_at_cert(const struct pki_cert *c)
{
	struct moat_err err;
	struct pki_cert_info info;
	struct pki_key *pub;

	if (pki_cert_info(c, &info, &err) == 0)
		pki_cert_info_clear(&info);
	pub = pki_cert_pubkey(c, &err);
	if (pub != NULL)
		look_at_key(pub);
	pki_key_free(pub);
	(void)pki_cert_signed_by(c, c);
}

static void look_at_csr(const struct pki_csr *r)
{
	struct moat_err err;
	struct pki_csr_info info;
	struct moat_name *names = NULL;
	size_t n = 0;
	char cn[256];

	(void)pki_csr_verify(r, &err);
	if (pki_csr_info(r, &info, &err) == 0)
		pki_csr_info_clear(&info);
	if (pki_csr_names(r, &names, &n, cn, sizeof(cn), &err) == 0)
		free(names);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct moat_err err;
	struct pki_object *objs = NULL;
	size_t n = 0;

	(void)pki_key_pem_is_encrypted(data, size);
	if (pki_objects_parse(data, size, &objs, &n, &err) != 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		struct pki_crl_info ci;

		if (objs[i].cert != NULL)
			look_at_cert(objs[i].cert);
		if (objs[i].csr != NULL)
			look_at_csr(objs[i].csr);
		if (objs[i].crl != NULL)
			(void)pki_crl_info(objs[i].crl, &ci, &err);
		if (objs[i].key != NULL)
			look_at_key(objs[i].key);
	}
	pki_objects_free(objs, n);
	return 0;
}
