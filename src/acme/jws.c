/* jws.c: the flattened JWS JSON serialization (RFC 7515 section 7.2.2)
 * that every ACME request, and the external account binding, is sent in. */
#include "acme/acme.h"

#include <stdlib.h>
#include <string.h>

#include "core/b64.h"

int acme_jws_input(const json_t *prot, const char *payload, struct moat_buf *input)
{
	char *prot_s = json_dumps(prot, JSON_COMPACT);
	int rc = -1;

	if (prot_s != NULL && moat_b64url_encode(input, prot_s, strlen(prot_s)) == 0 &&
	    moat_buf_append(input, ".", 1) == 0 &&
	    moat_b64url_encode(input, payload, strlen(payload)) == 0)
		rc = 0;
	free(prot_s);
	return rc;
}

json_t *acme_jws_flat(const struct moat_buf *input, const void *sig, size_t siglen)
{
	const char *text = (const char *)input->data;
	const char *dot = text != NULL ? strchr(text, '.') : NULL;
	struct moat_buf sig64 = MOAT_BUF_INIT;
	json_t *out = NULL;

	if (dot != NULL && moat_b64url_encode(&sig64, sig, siglen) == 0)
		out = json_pack("{s:s%, s:s, s:s}", "protected", text, (size_t)(dot - text), "payload",
				dot + 1, "signature", (const char *)sig64.data);
	moat_buf_free(&sig64);
	return out;
}
