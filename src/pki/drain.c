/* drain.c: OpenSSL's error queue into a struct moat_err, and the wrappers
 * around OpenSSL objects. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <openssl/err.h>

#include "pki/internal.h"

/* The reason OpenSSL recorded first (the root cause, usually), or NULL. */
static const char *first_reason(void)
{
	unsigned long e;
	const char *first = NULL;

	while ((e = ERR_get_error()) != 0) {
		const char *r = ERR_reason_error_string(e);

		if (first == NULL && r != NULL)
			first = r;
	}
	return first;
}

static void vset(struct moat_err *err, bool detail, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

static void vset(struct moat_err *err, bool detail, const char *fmt, va_list ap)
{
	char msg[MOAT_ERR_MSG];
	const char *reason;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	reason = first_reason(); /* always drains the queue */
	if (err == NULL)
		return;
	if (detail && reason != NULL)
		moat_err_set(err, "%.380s: %.120s", msg, reason);
	else
		moat_err_set(err, "%s", msg);
}

void pki_err_drain(struct moat_err *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vset(err, true, fmt, ap);
	va_end(ap);
}

void pki_err_set(struct moat_err *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vset(err, false, fmt, ap);
	va_end(ap);
}

/* calloc(1, size), or NULL with err set: "no WHAT" (the OpenSSL error queue
 * drained) when obj is NULL, else "out of memory". */
static void *holder(const void *obj, size_t size, const char *what, struct moat_err *err)
{
	void *h;

	if (obj == NULL) {
		pki_err_drain(err, "no %s", what);
		return NULL;
	}
	if ((h = calloc(1, size)) == NULL)
		pki_err_set(err, "out of memory");
	return h;
}

struct pki_key *pki_key_wrap(EVP_PKEY *pkey, bool priv, struct moat_err *err)
{
	struct pki_key *k = holder(pkey, sizeof(*k), "key", err);

	if (k == NULL) {
		EVP_PKEY_free(pkey);
		return NULL;
	}
	k->pkey = pkey;
	k->priv = priv;
	return k;
}

struct pki_cert *pki_cert_wrap(X509 *x, struct moat_err *err)
{
	struct pki_cert *c = holder(x, sizeof(*c), "certificate", err);

	if (c == NULL)
		X509_free(x);
	else
		c->x = x;
	return c;
}

struct pki_csr *pki_csr_wrap(X509_REQ *req, struct moat_err *err)
{
	struct pki_csr *r = holder(req, sizeof(*r), "CSR", err);

	if (r == NULL)
		X509_REQ_free(req);
	else
		r->req = req;
	return r;
}

struct pki_crl *pki_crl_wrap(X509_CRL *crl, struct moat_err *err)
{
	struct pki_crl *c = holder(crl, sizeof(*c), "CRL", err);

	if (c == NULL)
		X509_CRL_free(crl);
	else
		c->crl = crl;
	return c;
}
