/* revoke.c: revokeCert (RFC 8555 section 7.6), signed with the account key
 * that ordered the certificate. */
#include "acme/acme.h"

#include "core/b64.h"

int acme_revoke(struct acme_client *c, const struct pki_cert *cert, int reason,
		struct moat_err *err)
{
	const struct acme_directory *d = acme_client_directory(c);
	struct moat_buf der = MOAT_BUF_INIT, b64 = MOAT_BUF_INIT;
	struct acme_resp r = {0};
	json_t *payload = NULL;
	int ret = -1;

	if (d->revoke_cert[0] == '\0') {
		moat_err_set(err, "this ACME server does not offer revocation (no revokeCert)");
		goto out;
	}
	if (pki_cert_to_der(cert, &der, err) != 0 || moat_b64url_encode(&b64, der.data, der.len) != 0)
		goto out;
	payload = json_pack("{s:s}", "certificate", (const char *)b64.data);
	if (payload != NULL && reason >= 0)
		json_object_set_new(payload, "reason", json_integer(reason));
	if (payload == NULL) {
		moat_err_set(err, "out of memory");
		goto out;
	}
	if (acme_post(c, d->revoke_cert, payload, "cannot revoke the certificate", &r, NULL, err) != 0)
		goto out;
	ret = 0;
out:
	acme_resp_clear(&r);
	json_decref(payload);
	moat_buf_free(&der);
	moat_buf_free(&b64);
	return ret;
}
