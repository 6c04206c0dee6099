/* account_manage.c: an existing account -- read it, change its contacts,
 * roll its key over (RFC 8555 section 7.3.5), deactivate it (7.3.6). */
#include "acme/acme.h"

#include <stdlib.h>
#include <string.h>

int acme_account_fetch(struct acme_client *c, json_t **account, struct moat_err *err)
{
	struct acme_resp r = {0};
	int ret;

	ret = acme_post(c, acme_client_kid(c), NULL, "cannot read the account", &r, account, err);
	acme_resp_clear(&r);
	if (ret == 0 && *account == NULL) {
		moat_err_set(err, "the ACME server's account answer is not JSON");
		ret = -1;
	}
	return ret;
}

int acme_account_update(struct acme_client *c, const char *const *contacts, size_t n,
			json_t **account, struct moat_err *err)
{
	json_t *payload = json_object(), *list = json_array();
	struct acme_resp r = {0};
	int ret = -1;

	if (payload == NULL || list == NULL) {
		moat_err_set(err, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		json_array_append_new(list, json_string(contacts[i]));
	json_object_set(payload, "contact", list);
	ret = acme_post(c, acme_client_kid(c), payload, "cannot update the account", &r, account,
			err);
out:
	acme_resp_clear(&r);
	json_decref(payload);
	json_decref(list);
	return ret;
}

int acme_account_deactivate(struct acme_client *c, struct moat_err *err)
{
	json_t *payload = json_pack("{s:s}", "status", "deactivated"), *acct = NULL;
	struct acme_resp r = {0};
	int ret = -1;

	if (payload == NULL) {
		moat_err_set(err, "out of memory");
		return -1;
	}
	ret = acme_post(c, acme_client_kid(c), payload, "cannot deactivate the account", &r, &acct,
			err);
	acme_resp_clear(&r);
	json_decref(payload);
	json_decref(acct);
	return ret;
}

int acme_account_rollover(struct acme_client *c, const struct pki_key *new_key,
			  struct moat_err *err)
{
	const struct acme_directory *d = acme_client_directory(c);
	const struct pki_key *old_key = acme_client_key(c);
	json_t *old_jwk = NULL, *inner_payload = NULL, *inner_prot = NULL, *inner = NULL;
	json_t *new_jwk = NULL;
	struct moat_buf input = MOAT_BUF_INIT, sig = MOAT_BUF_INIT;
	struct acme_resp r = {0};
	char kid[ACME_HTTP_MAX_URL], *payload_s = NULL;
	struct pki_jwk nj;
	int ret = -1;

	memset(&nj, 0, sizeof(nj));
	if (d->key_change[0] == '\0') {
		moat_err_set(err, "this ACME server does not offer key rollover (no keyChange)");
		goto out;
	}
	snprintf(kid, sizeof(kid), "%s", acme_client_kid(c));
	/* inner JWS: signed by the new key, carrying its JWK; payload names
	 * the account and its old key */
	if ((old_jwk = acme_client_jwk(c)) == NULL || pki_key_jwk(new_key, &nj, err) != 0)
		goto out;
	if (acme_client_set_account(c, new_key, NULL, err) != 0 ||
	    (new_jwk = acme_client_jwk(c)) == NULL)
		goto restore;
	inner_payload = json_pack("{s:s, s:O}", "account", kid, "oldKey", old_jwk);
	inner_prot = json_pack("{s:s, s:s, s:O}", "alg", nj.alg, "url", d->key_change, "jwk", new_jwk);
	if (inner_payload == NULL || inner_prot == NULL ||
	    (payload_s = json_dumps(inner_payload, JSON_COMPACT)) == NULL ||
	    acme_jws_input(inner_prot, payload_s, &input) != 0) {
		moat_err_set(err, "out of memory");
		goto restore;
	}
	if (pki_jws_sign(new_key, input.data, input.len, &sig, err) != 0)
		goto restore;
	if ((inner = acme_jws_flat(&input, sig.data, sig.len)) == NULL) {
		moat_err_set(err, "out of memory");
		goto restore;
	}
	/* outer JWS: the old key, by kid */
	if (acme_client_set_account(c, old_key, kid, err) != 0 ||
	    acme_post(c, d->key_change, inner, "cannot roll the account key over", &r, NULL, err) != 0)
		goto restore;
	/* From now on the account answers to the new key. */
	ret = acme_client_set_account(c, new_key, kid, err);
	goto out;
restore:
	(void)acme_client_set_account(c, old_key, kid, NULL);
out:
	acme_resp_clear(&r);
	pki_jwk_clear(&nj);
	json_decref(old_jwk);
	json_decref(new_jwk);
	json_decref(inner_payload);
	json_decref(inner_prot);
	json_decref(inner);
	free(payload_s);
	moat_buf_free(&input);
	moat_buf_free(&sig);
	return ret;
}
