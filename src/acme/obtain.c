/* obtain.c: one certificate from start to finish -- account, challenge
 * responder, key, CSR, order, files -- for `moat acme issue` and for
 * renewals, which repeat what renewal/NAME.conf recorded. */
#include "acme/obtain.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acme/solve.h"

static int split_names(const char *list, struct moat_name **names, size_t *n,
		       struct moat_err *err)
{
	char *copy = strdup(list), *save = NULL;
	const char *parts[ACME_MAX_NAMES];
	size_t k = 0;
	int rc;

	if (copy == NULL) {
		moat_err_set(err, "out of memory");
		return -1;
	}
	for (char *t = strtok_r(copy, ",", &save); t != NULL && k < ACME_MAX_NAMES;
	     t = strtok_r(NULL, ",", &save))
		parts[k++] = t;
	if (k == 0) {
		free(copy);
		moat_err_set(err, "no names to certify");
		return -1;
	}
	rc = moat_names_parse(parts, k, names, n, err);
	free(copy);
	return rc;
}

int acme_obtain(const char *home, const struct acme_renewal *rn, const struct acme_obtain_opts *o,
		struct acme_obtained *res, struct moat_err *err)
{
	struct moat_name *names = NULL;
	size_t nnames = 0;
	struct acme_stored_account sa;
	struct acme_order_opts oo;
	struct acme_solver solver;
	struct acme_http01 *h01 = NULL;
	struct acme_dns01 *d01 = NULL;
	struct acme_manual_http *man = NULL;
	struct acme_tlsalpn01 *t01 = NULL;
	struct acme_client *c = NULL;
	struct pki_key *akey = NULL, *key = NULL;
	struct pki_csr *csr = NULL;
	struct moat_buf chain = MOAT_BUF_INIT, kpem = MOAT_BUF_INIT;
	enum pki_key_type kt;
	char dir[PATH_MAX];
	bool dns, tls;
	int ret = -1;

	memset(res, 0, sizeof(*res));
	memset(&oo, 0, sizeof(oo));
	if (split_names(rn->names, &names, &nnames, err) != 0 ||
	    pki_key_type_parse(rn->key_type[0] ? rn->key_type : "ec-p256", &kt, err) != 0)
		goto out;
	dns = strcmp(rn->challenge, "dns-01") == 0;
	tls = strcmp(rn->challenge, "tls-alpn-01") == 0;
	if (!dns && !tls && strcmp(rn->challenge, "http-01") != 0) {
		moat_err_set(err, "the %s challenge is not supported (http-01, dns-01 and "
				  "tls-alpn-01 are)",
			     rn->challenge);
		goto out;
	}
	for (size_t i = 0; i < nnames && !dns; i++) {
		if (names[i].type == MOAT_NAME_WILDCARD) {
			moat_err_set(err, "%s: a wildcard needs the dns-01 challenge", names[i].text);
			moat_err_hint(err, "add --challenge dns-01 --dns-hook CMD (or --manual)");
			goto out;
		}
	}
	if (acme_store_account_dir(home, rn->server, dir, sizeof(dir), err) != 0 ||
	    (akey = acme_store_account_load(dir, &sa, err)) == NULL)
		goto out;
	if ((c = acme_client_new(rn->server, rn->ca_bundle[0] ? rn->ca_bundle : NULL, err)) == NULL ||
	    acme_client_set_account(c, akey, sa.url, err) != 0)
		goto out;
	if (o->solver != NULL) {
		solver = *o->solver;
	} else if (dns) {
		if ((d01 = acme_dns01_new(rn->dns_hook[0] ? rn->dns_hook : NULL,
					  rn->dns_resolver[0] ? rn->dns_resolver : NULL, rn->dns_wait,
					  err)) == NULL)
			goto out;
		acme_dns01_solver(d01, &solver);
	} else if (tls) {
		if ((t01 = acme_tlsalpn01_standalone(rn->http_address[0] ? rn->http_address : NULL,
						     (uint16_t)(rn->tls_port > 0 ? rn->tls_port : 443),
						     err)) == NULL)
			goto out;
		acme_tlsalpn01_solver(t01, &solver);
	} else if (rn->manual) {
		if ((man = acme_manual_http_new(rn->manual_hook[0] ? rn->manual_hook : NULL,
						rn->http_port, err)) == NULL)
			goto out;
		acme_manual_http_solver(man, &solver);
	} else {
		if (rn->webroot[0] != '\0')
			h01 = acme_http01_webroot(rn->webroot, err);
		else
			h01 = acme_http01_standalone(rn->http_address[0] ? rn->http_address : NULL,
						     (uint16_t)(rn->http_port > 0 ? rn->http_port : 80),
						     err);
		if (h01 == NULL)
			goto out;
		acme_http01_solver(h01, &solver);
	}
	if ((key = pki_key_generate(kt, err)) == NULL ||
	    (csr = pki_csr_build(key, names, nnames, err)) == NULL ||
	    pki_key_to_pem(key, NULL, 0, &kpem, err) != 0)
		goto out;
	oo.names = names;
	oo.nnames = nnames;
	oo.solver = &solver;
	oo.csr = csr;
	oo.profile = rn->profile[0] ? rn->profile : NULL;
	oo.preferred_chain = rn->preferred_chain[0] ? rn->preferred_chain : NULL;
	oo.timeout_s = o->timeout_s;
	oo.replaces = o->replaces[0] ? o->replaces : NULL;
	oo.progress = o->progress;
	oo.progress_arg = o->progress_arg;
	if (acme_order_run(c, &oo, &chain, err) != 0)
		goto out;
	moat_name_lineage(&names[0], res->lineage, sizeof(res->lineage));
	if (o->dry_run) {
		ret = 0;
		goto out;
	}
	if (acme_store_lineage_save(home, res->lineage, &kpem, &chain, rn, o->force, &res->version,
				    err) != 0)
		goto out;
	if ((size_t)snprintf(res->live, sizeof(res->live), "%s/live/%s", home, res->lineage) >=
	    sizeof(res->live)) {
		moat_err_set(err, "path too long");
		goto out;
	}
	ret = 0;
out:
	acme_http01_free(h01);
	acme_dns01_free(d01);
	acme_manual_http_free(man);
	acme_tlsalpn01_free(t01);
	acme_client_free(c);
	pki_key_free(akey);
	pki_key_free(key);
	pki_csr_free(csr);
	moat_buf_free(&chain);
	moat_buf_wipe(&kpem);
	free(names);
	return ret;
}
