/* fuzz_ocsp_req: what the OCSP responder of moat ca serve does with the
 * bytes of a request (POST body, or GET path decoded):
 * pki_ocsp_request_parse, then for a request it takes,
 * pki_ocsp_certid_issuer_is and a signed answer about every CertID
 * (pki_ocsp_response_build: the CertIDs rebuilt from their serials, the
 * nonce echoed).  The issuer and the signer are made once, in
 * LLVMFuzzerInitialize.  Seeds (fuzz/corpus/ocsp_req): requests from
 * `openssl ocsp -reqout` -- SHA-1 with a nonce, SHA-256 without, two
 * CertIDs. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "pki/pki.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct pki_key *issuer_key, *signer_key;
static struct pki_cert *issuer, *signer;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct moat_err err = {0};
	int64_t now = (int64_t)time(NULL);
	struct pki_cert_spec is = {.profile = PKI_PROFILE_ROOT, .common_name = "Fuzz Issuer",
				   .not_before = now - 60, .not_after = now + 86400};
	struct pki_cert_spec ss = {.profile = PKI_PROFILE_OCSP_SIGNER, .common_name = "Fuzz OCSP",
				   .not_before = now - 60, .not_after = now + 86400};

	(void)argc;
	(void)argv;
	if (pki_init(&err) != 0 || (issuer_key = pki_key_generate(PKI_KEY_EC_P256, &err)) == NULL ||
	    (signer_key = pki_key_generate(PKI_KEY_EC_P256, &err)) == NULL ||
	    (issuer = pki_cert_build(&is, issuer_key, NULL, issuer_key, &err)) == NULL ||
	    (signer = pki_cert_build(&ss, signer_key, issuer, issuer_key, &err)) == NULL)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pki_ocsp_request q;
	struct pki_ocsp_answer a[PKI_OCSP_MAX_IDS];
	struct moat_buf out = MOAT_BUF_INIT;
	struct moat_err err = {0};

	if (pki_ocsp_request_parse(data, size, &q, &err) != 0)
		return 0;
	if (q.nids < 1 || q.nids > PKI_OCSP_MAX_IDS || q.nonce_len > PKI_OCSP_NONCE_MAX)
		abort(); /* the parser's contract */
	for (size_t i = 0; i < q.nids; i++) {
		(void)pki_ocsp_certid_issuer_is(&q.ids[i], issuer);
		a[i] = (struct pki_ocsp_answer){.id = &q.ids[i], .status = (enum pki_ocsp_status)(i % 3),
						.revoked_at = 1700000000, .reason = (int)i};
	}
	if (pki_ocsp_response_build(issuer, signer, signer_key, a, q.nids, q.nonce, q.nonce_len,
				    1700000000, 1700003600, &out, &err) == 0 &&
	    out.len == 0)
		abort();
	moat_buf_free(&out);
	return 0;
}
