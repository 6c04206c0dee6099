/* fuzz_csr: what `moat sign` does with a CSR it is handed: read, check the
 * signature, take the names, describe. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "pki/pki.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct moat_err err;
	struct pki_csr *r;
	struct pki_csr_info info;
	struct pki_key *pub;
	struct moat_name *names = NULL;
	size_t n = 0;
	char cn[256];

	r = pki_csr_from_pem(data, size, &err);
	if (r == NULL)
		return 0;
	(void)pki_csr_verify(r, &err);
	if (pki_csr_names(r, &names, &n, cn, sizeof(cn), &err) == 0)
		free(names);
	if (pki_csr_info(r, &info, &err) == 0)
		pki_csr_info_clear(&info);
	pub = pki_csr_pubkey(r, &err);
	pki_key_free(pub);
	pki_csr_free(r);
	return 0;
}
