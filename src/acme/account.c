/* account.c: newAccount (RFC 8555 section 7.3), with external account
 * binding (section 7.3.4). */
#include "acme/acme.h"

#include <string.h>

#include "core/b64.h"

/* The externalAccountBinding JWS: HS256 over the account's JWK, keyed with
 * the MAC key the CA handed out. */
static json_t *eab_jws(struct acme_client *c, const struct acme_account_opts *o,
		       const json_t *jwk, struct moat_err *err)
{
	const struct acme_directory *d = acme_client_directory(c);
	struct moat_buf key = MOAT_BUF_INIT, input = MOAT_BUF_INIT;
	json_t *prot = NULL, *out = NULL;
	char *jwk_s = NULL;
	unsigned char mac[32];

	if (moat_b64url_decode(&key, o->eab_hmac_key, strlen(o->eab_hmac_key)) != 0 ||
	    key.len == 0) {
		moat_err_set(err, "--eab-hmac-key is not base64url");
		moat_err_hint(err, "paste the key exactly as your CA shows it");
		goto out;
	}
	prot = json_pack("{s:s, s:s, s:s}", "alg", "HS256", "kid", o->eab_kid, "url",
			 d->new_account);
	if (prot == NULL || (jwk_s = json_dumps(jwk, JSON_COMPACT | JSON_SORT_KEYS)) == NULL ||
	    acme_jws_input(prot, jwk_s, &input) != 0) {
		moat_err_set(err, "out of memory");
		goto out;
	}
	if (pki_hmac_sha256(key.data, key.len, input.data, input.len, mac, err) != 0)
		goto out;
	if ((out = acme_jws_flat(&input, mac, sizeof(mac))) == NULL)
		moat_err_set(err, "out of memory");
out:
	moat_buf_wipe(&key);
	moat_buf_free(&input);
	json_decref(prot);
	free(jwk_s);
	return out;
}

int acme_account_register(struct acme_client *c, const struct acme_account_opts *o,
			  bool *created, json_t **account, struct moat_err *err)
{
	const struct acme_directory *d = acme_client_directory(c);
	json_t *payload = NULL, *contacts = NULL, *acct = NULL, *jwk = NULL, *eab = NULL;
	struct acme_resp r = {0};
	const char *status;
	int ret = -1;

	if (account != NULL)
		*account = NULL;
	if (d->eab_required && o->eab_kid == NULL && !o->only_existing) {
		moat_err_set(err, "this ACME server requires an external account binding");
		moat_err_hint(err, "get a key ID and HMAC key from your CA's web console, then add "
				   "--eab-kid KID --eab-hmac-key KEY");
		goto out;
	}
	if (d->terms[0] != '\0' && !o->agree_tos && !o->only_existing) {
		char show[200];
		moat_escape(show, sizeof(show), d->terms, strlen(d->terms));
		moat_err_set(err, "the CA's terms of service must be accepted: %s", show);
		moat_err_hint(err, "read them, then add --agree-tos");
		goto out;
	}
	if ((payload = json_object()) == NULL || (contacts = json_array()) == NULL) {
		moat_err_set(err, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < o->ncontacts; i++)
		json_array_append_new(contacts, json_string(o->contacts[i]));
	if (o->ncontacts > 0)
		json_object_set(payload, "contact", contacts);
	if (o->agree_tos)
		json_object_set_new(payload, "termsOfServiceAgreed", json_true());
	if (o->only_existing)
		json_object_set_new(payload, "onlyReturnExisting", json_true());
	if (o->eab_kid != NULL && !o->only_existing) {
		if ((jwk = acme_client_jwk(c)) == NULL || (eab = eab_jws(c, o, jwk, err)) == NULL) {
			if (!moat_err_isset(err))
				moat_err_set(err, "out of memory");
			goto out;
		}
		json_object_set(payload, "externalAccountBinding", eab);
	}
	/* Register with the JWK (no kid yet). */
	if (acme_client_set_account(c, acme_client_key(c), NULL, err) != 0)
		goto out;
	if (acme_post(c, d->new_account, payload,
		      o->only_existing ? "cannot find the account" : "cannot register the account",
		      &r, &acct, err) != 0)
		goto out;
	if (r.location[0] == '\0' || acct == NULL) {
		moat_err_set(err, "the ACME server did not say where the account is (no Location)");
		goto out;
	}
	status = acme_json_str(acct, "status");
	if (status != NULL && strcmp(status, "valid") != 0) {
		char show[32];
		moat_escape(show, sizeof(show), status, strlen(status));
		moat_err_set(err, "the account is %s", show);
		moat_err_hint(err, "a deactivated or revoked account cannot be used again: "
				   "register a new one with a new key");
		goto out;
	}
	if (acme_client_set_account(c, acme_client_key(c), r.location, err) != 0)
		goto out;
	if (created != NULL)
		*created = r.status == 201;
	if (account != NULL) {
		*account = acct;
		acct = NULL;
	}
	ret = 0;
out:
	acme_resp_clear(&r);
	json_decref(payload);
	json_decref(contacts);
	json_decref(acct);
	json_decref(jwk);
	json_decref(eab);
	return ret;
}
