/* revocation.c: OCSP, CRL and CA certificates on the HTTP port of moat ca
 * serve (see revocation.h).
 *
 * The hot path of a cached OCSP answer: the database's change number (one
 * prepared PRAGMA), the request parsed (pki_ocsp_request_parse, capped),
 * the issuer hashes compared with ones computed once, a hash-table lookup
 * by (CertID hash, serial), and the stored DER handed to the engine --
 * no signing, no query.
 *
 * A cache slot is FREE or HELD (serial, DER, refresh time); the table is
 * cleared whole (all FREE) when the CA changes or when it is 3/4 full, so
 * no slot is ever deleted alone and linear probing stays simple. */
#include "caserve/revocation.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/b64.h"
#include "core/buf.h"

#define CACHE_SLOTS 4096 /* a power of two */
#define CACHE_MAX (CACHE_SLOTS / 4 * 3)
#define GET_PREFIX "/ocsp/"
#define MAX_GET_TARGET (CASERVE_OCSP_MAX_REQUEST / 3 * 4 * 3 + 64) /* every byte %-encoded */

struct slot {
	bool held;
	enum pki_ocsp_hash hash;
	char serial[80];
	int64_t refresh_at; /* re-sign from then on: half the validity gone */
	int64_t next_update;
	struct moat_buf der;
};

struct caserve_revocation {
	struct ca *ca;
	int64_t version;        /* ca_db_version when the cache was last valid */
	const struct pki_cert *signer; /* borrowed from ca (ca_ocsp_signer) */
	const struct pki_key *signer_key;
	int64_t signer_checked; /* when ca_ocsp_signer was last asked */
	struct moat_buf root_der, int_der;
	struct moat_buf crl_der;
	int64_t crl_refresh_at; /* 0: make a new CRL on the next GET /crl */
	struct slot *slots;     /* CACHE_SLOTS */
	size_t held;
	struct moat_buf scratch; /* an answer signed for one request (nonce, several CertIDs) */
	struct caserve_revocation_stats st;
};

/* ---- the cache ---------------------------------------------------------- */

static size_t slot_index(enum pki_ocsp_hash h, const char *serial)
{
	uint32_t x = 2166136261u ^ (uint32_t)h; /* FNV-1a */

	for (const unsigned char *p = (const unsigned char *)serial; *p != '\0'; p++)
		x = (x ^ *p) * 16777619u;
	return x & (CACHE_SLOTS - 1);
}

/* The slot of (h, serial): held when cached, else the free slot where it goes. */
static struct slot *slot_find(struct caserve_revocation *r, enum pki_ocsp_hash h,
			      const char *serial)
{
	size_t i = slot_index(h, serial);

	for (;; i = (i + 1) & (CACHE_SLOTS - 1)) {
		struct slot *s = &r->slots[i];
		if (!s->held || (s->hash == h && strcmp(s->serial, serial) == 0))
			return s;
	}
}

static void cache_clear(struct caserve_revocation *r)
{
	for (size_t i = 0; i < CACHE_SLOTS && r->held > 0; i++) {
		if (!r->slots[i].held)
			continue;
		moat_buf_free(&r->slots[i].der);
		r->slots[i].held = false;
		r->held--;
	}
	r->held = 0;
}

/* Everything derived from the database is stale. */
static void invalidate(struct caserve_revocation *r)
{
	cache_clear(r);
	r->crl_refresh_at = 0;
	r->st.flushes++;
}

/* Another process committed to the CA database since we last looked? */
static void check_changed(struct caserve_revocation *r)
{
	int64_t v;

	if (ca_db_version(r->ca, &v, NULL) != 0 || v == r->version)
		return;
	r->version = v;
	invalidate(r);
}

/* ---- signing -------------------------------------------------------------- */

static int signer(struct caserve_revocation *r, int64_t now, struct moat_err *err)
{
	if (r->signer != NULL && now - r->signer_checked < 3600)
		return 0;
	if (ca_ocsp_signer(r->ca, &r->signer, &r->signer_key, err) != 0) {
		r->signer = NULL;
		return -1;
	}
	r->signer_checked = now;
	return 0;
}

/* Sign an answer about ids (each naming our intermediate) into out. */
static int sign_answer(struct caserve_revocation *r, const struct pki_ocsp_request *q,
		       int64_t now, struct moat_buf *out, bool *all_known)
{
	struct pki_ocsp_answer a[PKI_OCSP_MAX_IDS];
	struct ca_cert_status cs;

	*all_known = true;
	for (size_t i = 0; i < q->nids; i++) {
		if (ca_cert_status(r->ca, q->ids[i].serial_hex, &cs, NULL) != 0)
			return -1;
		a[i].id = &q->ids[i];
		a[i].status = cs.status;
		a[i].revoked_at = cs.revoked_at;
		a[i].reason = cs.reason;
		*all_known &= cs.status != PKI_OCSP_UNKNOWN;
	}
	if (signer(r, now, NULL) != 0)
		return -1;
	r->st.ocsp_signed++;
	return pki_ocsp_response_build(ca_intermediate(r->ca), r->signer, r->signer_key, a, q->nids,
				       q->nonce, q->nonce_len, now, now + CASERVE_OCSP_VALIDITY, out,
				       NULL);
}

/* ---- replies -------------------------------------------------------------- */

static void reply_body(struct net_http_reply *reply, const char *type, const struct moat_buf *b)
{
	reply->status = 200;
	reply->content_type = type;
	reply->body = b->data;
	reply->len = b->len;
}

/* RFC 5019 6.2: cacheable for max-age seconds, at most until nextUpdate. */
static void cache_fields(struct net_http_reply *reply, int64_t next_update, int64_t now)
{
	char v[96];
	int64_t age = next_update - now;

	if (age > CASERVE_OCSP_MAX_AGE)
		age = CASERVE_OCSP_MAX_AGE;
	if (age < 0)
		age = 0;
	snprintf(v, sizeof(v), "max-age=%lld, public, no-transform, must-revalidate",
		 (long long)age);
	(void)net_http_reply_field(reply, "Cache-Control", v);
}

/* An unsuccessful OCSPResponse (1 malformedRequest, 2 internalError, 6
 * unauthorized): HTTP 200, as RFC 6960 answers them. */
static void reply_ocsp_error(struct caserve_revocation *r, struct net_http_reply *reply,
			     int status)
{
	r->scratch.len = 0;
	if (pki_ocsp_response_error(status, &r->scratch, NULL) != 0) {
		reply->status = 500;
		return;
	}
	reply_body(reply, "application/ocsp-response", &r->scratch);
	(void)net_http_reply_field(reply, "Cache-Control", "no-store");
}

static void answer_ocsp(struct caserve_revocation *r, const void *der, size_t len, bool get,
			struct net_http_reply *reply)
{
	struct pki_ocsp_request q;
	int64_t now = time(NULL);
	struct slot *s = NULL;
	bool known;

	r->st.ocsp_requests++;
	if (pki_ocsp_request_parse(der, len, &q, NULL) != 0) {
		r->st.ocsp_malformed++;
		reply_ocsp_error(r, reply, 1);
		return;
	}
	/* A CertID of another issuer: we are not authoritative for it (RFC 6960 2.3,
	 * "unauthorized"), rather than "unknown", which would claim we are. */
	for (size_t i = 0; i < q.nids; i++) {
		if (!pki_ocsp_certid_issuer_is(&q.ids[i], ca_intermediate(r->ca))) {
			r->st.ocsp_unauthorized++;
			reply_ocsp_error(r, reply, 6);
			return;
		}
	}
	if (q.nids == 1 && q.nonce_len == 0) {
		s = slot_find(r, q.ids[0].hash, q.ids[0].serial_hex);
		if (s->held && now < s->refresh_at) {
			r->st.ocsp_cached++;
			reply_body(reply, "application/ocsp-response", &s->der);
			if (get)
				cache_fields(reply, s->next_update, now);
			return;
		}
	}
	r->scratch.len = 0;
	if (sign_answer(r, &q, now, &r->scratch, &known) != 0) {
		reply_ocsp_error(r, reply, 2);
		return;
	}
	if (s != NULL && known) {
		if (!s->held && r->held >= CACHE_MAX) {
			cache_clear(r);
			s = slot_find(r, q.ids[0].hash, q.ids[0].serial_hex);
		}
		if (!s->held) {
			s->held = true;
			s->hash = q.ids[0].hash;
			snprintf(s->serial, sizeof(s->serial), "%s", q.ids[0].serial_hex);
			r->held++;
		}
		/* Swap: the slot keeps the new answer, scratch the old bytes. */
		struct moat_buf old = s->der;
		s->der = r->scratch;
		r->scratch = old;
		s->refresh_at = now + CASERVE_OCSP_VALIDITY / 2;
		s->next_update = now + CASERVE_OCSP_VALIDITY;
		reply_body(reply, "application/ocsp-response", &s->der);
	} else {
		reply_body(reply, "application/ocsp-response", &r->scratch);
	}
	if (get && q.nonce_len == 0)
		cache_fields(reply, now + CASERVE_OCSP_VALIDITY, now);
	else
		(void)net_http_reply_field(reply, "Cache-Control", "no-store");
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* GET /ocsp/<url-encoded base64 of the DER> (RFC 6960 A.1). */
static void answer_ocsp_get(struct caserve_revocation *r, const char *enc,
			    struct net_http_reply *reply)
{
	size_t n = strlen(enc), o = 0;
	char *b64 = NULL;
	struct moat_buf der = MOAT_BUF_INIT;

	if (n == 0 || n > MAX_GET_TARGET || (b64 = malloc(n + 1)) == NULL) {
		r->st.ocsp_requests++;
		r->st.ocsp_malformed++;
		reply_ocsp_error(r, reply, 1);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		int hi, lo;
		if (enc[i] != '%') {
			b64[o++] = enc[i];
			continue;
		}
		if (i + 2 >= n || (hi = hexval((unsigned char)enc[i + 1])) < 0 ||
		    (lo = hexval((unsigned char)enc[i + 2])) < 0) {
			o = 0;
			break;
		}
		b64[o++] = (char)(hi << 4 | lo);
		i += 2;
	}
	b64[o] = '\0';
	if (o == 0 || moat_b64_decode(&der, b64, o) != 0 || der.len > CASERVE_OCSP_MAX_REQUEST) {
		r->st.ocsp_requests++;
		r->st.ocsp_malformed++;
		reply_ocsp_error(r, reply, 1);
	} else {
		answer_ocsp(r, der.data, der.len, true, reply);
	}
	moat_buf_free(&der);
	free(b64);
}

static int make_crl(struct caserve_revocation *r, int64_t now)
{
	struct pki_crl_info info;
	struct moat_buf der = MOAT_BUF_INIT;

	memset(&info, 0, sizeof(info));
	if (ca_crl_der(r->ca, &der, &info, NULL) != 0) {
		moat_buf_free(&der);
		return -1;
	}
	moat_buf_free(&r->crl_der);
	r->crl_der = der;
	/* A new one when two thirds of its validity have passed. */
	r->crl_refresh_at = now + (info.next_update - info.this_update) * 2 / 3;
	r->st.crl_built++;
	return 0;
}

static void answer_crl(struct caserve_revocation *r, struct net_http_reply *reply)
{
	int64_t now = time(NULL);

	if ((r->crl_der.len == 0 || now >= r->crl_refresh_at) && make_crl(r, now) != 0 &&
	    r->crl_der.len == 0) {
		reply->status = 503;
		return;
	}
	reply_body(reply, "application/pkix-crl", &r->crl_der);
	(void)net_http_reply_field(reply, "Cache-Control", "max-age=300, public, no-transform");
}

/* Only the media type counts ("application/ocsp-request; x=y" too). */
static bool is_ocsp_request_type(const char *ct)
{
	static const char want[] = "application/ocsp-request";
	size_t n = sizeof(want) - 1;

	return strncasecmp(ct, want, n) == 0 && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

static void method_not_allowed(struct net_http_reply *reply, const char *allow)
{
	reply->status = 405;
	(void)net_http_reply_field(reply, "Allow", allow);
}

/* The OCSP paths: POST /ocsp, GET /ocsp/<base64>. */
static void route_ocsp(struct caserve_revocation *r, const struct net_http_request *req, bool get,
		       struct net_http_reply *reply)
{
	if (strncmp(req->target, GET_PREFIX, sizeof(GET_PREFIX) - 1) == 0 &&
	    req->target[sizeof(GET_PREFIX) - 1] != '\0') {
		if (get)
			answer_ocsp_get(r, req->target + sizeof(GET_PREFIX) - 1, reply);
		else
			method_not_allowed(reply, "GET, HEAD");
	} else if (strcmp(req->method, "POST") != 0) {
		method_not_allowed(reply, "POST");
	} else if (!is_ocsp_request_type(req->content_type)) {
		reply->status = 415;
	} else if (req->body_len > CASERVE_OCSP_MAX_REQUEST) {
		reply->status = 413;
	} else {
		answer_ocsp(r, req->body, req->body_len, false, reply);
	}
}

void caserve_revocation_handle(void *arg, const struct net_http_request *req,
			       struct net_http_reply *reply)
{
	struct caserve_revocation *r = arg;
	const char *t = req->target;
	bool get = strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;
	const struct moat_buf *cert = NULL;

	check_changed(r);
	if (strcmp(t, "/ocsp") == 0 || strncmp(t, GET_PREFIX, sizeof(GET_PREFIX) - 1) == 0) {
		route_ocsp(r, req, get, reply);
		return;
	}
	if (strcmp(t, "/ca/root.der") == 0)
		cert = &r->root_der;
	else if (strcmp(t, "/ca/intermediate.der") == 0)
		cert = &r->int_der;
	else if (strcmp(t, "/crl") != 0) {
		reply->status = 404;
		return;
	}
	if (!get) {
		method_not_allowed(reply, "GET, HEAD");
	} else if (cert == NULL) {
		answer_crl(r, reply);
	} else {
		reply_body(reply, "application/pkix-cert", cert);
		(void)net_http_reply_field(reply, "Cache-Control", "max-age=86400, public");
	}
}

/* ---- life ------------------------------------------------------------------ */

struct caserve_revocation *caserve_revocation_new(struct ca *ca, struct moat_err *err)
{
	struct caserve_revocation *r = calloc(1, sizeof(*r));
	int64_t now = time(NULL);

	if (r == NULL || (r->slots = calloc(CACHE_SLOTS, sizeof(*r->slots))) == NULL) {
		moat_err_set(err, "out of memory");
		goto fail;
	}
	r->ca = ca;
	if (ca_db_version(ca, &r->version, err) != 0 ||
	    pki_cert_to_der(ca_root(ca), &r->root_der, err) != 0 ||
	    pki_cert_to_der(ca_intermediate(ca), &r->int_der, err) != 0 ||
	    signer(r, now, err) != 0)
		goto fail;
	if (ca_crl_der(ca, &r->crl_der, NULL, err) != 0) {
		moat_err_prefix(err, "cannot make the CRL");
		goto fail;
	}
	r->crl_refresh_at = now + (int64_t)CA_CRL_DAYS * 86400 * 2 / 3;
	r->st.crl_built = 1;
	return r;
fail:
	caserve_revocation_free(r);
	return NULL;
}

void caserve_revocation_free(struct caserve_revocation *r)
{
	if (r == NULL)
		return;
	if (r->slots != NULL)
		cache_clear(r);
	free(r->slots);
	moat_buf_free(&r->root_der);
	moat_buf_free(&r->int_der);
	moat_buf_free(&r->crl_der);
	moat_buf_free(&r->scratch);
	free(r);
}

void caserve_revocation_changed(struct caserve_revocation *r)
{
	invalidate(r);
	(void)ca_db_version(r->ca, &r->version, NULL);
	(void)make_crl(r, time(NULL));
}

void caserve_revocation_stats(const struct caserve_revocation *r,
			      struct caserve_revocation_stats *out)
{
	*out = r->st;
}
