/* va.c: challenge validation (RFC 8555 section 8) on threads of its own,
 * so that a slow or silent server being validated never holds up the
 * request loop.
 *
 * A bounded queue of (authorization, challenge index); the thread reads
 * the challenge from the database with a connection of its own, validates
 * it -- tls-alpn-01 through moat check's TLS client, http-01 through src/fetch (redirects followed, at most 10, http or
 * https, certificates not checked as section 8.3 says; the name resolved
 * through --dns-resolver when given), dns-01 through acme/dns.c's TXT
 * lookups -- and writes the outcome (caserve_authz_settle).  Network
 * failures are tried again (VA_ATTEMPTS in all); a wrong answer is final. */
#include "caserve/internal.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "acme/acme.h"
#include "acme/dns.h"
#include "check/tls_probe.h"
#include "core/b64.h"
#include "fetch/fetch.h"

#define VA_QUEUE 1024
#define VA_THREADS 4 /* validations at once */
#define VA_ATTEMPTS 3
#define VA_RETRY_MS 500
#define VA_TIMEOUT_MS 10000
#define VA_MAX_BODY 8192

struct job {
	int64_t authz;
	int index;
};

struct caserve_va {
	struct caserve_va_opts o;
	char db_path[4200];
	char resolver[64];
	pthread_t threads[VA_THREADS];
	size_t nthreads;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop;
	struct job q[VA_QUEUE];
	size_t head, len;
};

static void va_log(struct caserve_va *va, const char *fmt, ...) MOAT_PRINTF(2, 3);

static void va_log(struct caserve_va *va, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (va->o.log == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	va->o.log(va->o.log_arg, line);
}

static json_t *problem(const char *type, const char *detail)
{
	char full[96];

	snprintf(full, sizeof(full), "urn:ietf:params:acme:error:%s", type);
	return json_pack("{s:s, s:s, s:i}", "type", full, "detail", detail, "status", 400);
}

/* http-01: the key authorization at http://host/.well-known/acme-challenge/token. */
static json_t *http01(struct caserve_va *va, const char *host, bool ip, const char *token,
		      const char *keyauth, bool *retry)
{
	char url[600], connect_to[128] = "", addr[64], shown[300];
	uint16_t port = va->o.http01_port != 0 ? va->o.http01_port : 80;
	struct fetch_resp r;
	struct moat_err err;
	json_t *p = NULL;
	size_t n;

	memset(&r, 0, sizeof(r));
	moat_escape(shown, sizeof(shown), host, strlen(host));
	*retry = false;
	snprintf(url, sizeof(url), "http://%s%s%s/.well-known/acme-challenge/%s",
		 ip && strchr(host, ':') != NULL ? "[" : "", host,
		 ip && strchr(host, ':') != NULL ? "]" : "", token);
	if (!ip && va->resolver[0] != '\0') {
		if (acme_dns_addr(host, va->resolver, addr, sizeof(addr), &err) != 0) {
			*retry = true;
			p = problem("dns", err.msg);
			goto out;
		}
		snprintf(connect_to, sizeof(connect_to), "::%s%s%s:%u", strchr(addr, ':') ? "[" : "",
			 addr, strchr(addr, ':') ? "]" : "", port);
	} else if (port != 80) {
		snprintf(connect_to, sizeof(connect_to), ":::%u", port);
	}
	{
		const struct fetch_req q = {
			.url = url,
			.method = FETCH_GET,
			.user_agent = "moat-ca-validation",
			.insecure = true, /* RFC 8555 8.3: a redirect to https is not verified */
			.no_proxy = true,
			.max_redirects = 10,
			.connect_to = connect_to[0] != '\0' ? connect_to : NULL,
			.timeout_ms = VA_TIMEOUT_MS,
			.max_body = VA_MAX_BODY,
		};

		if (fetch_once(&q, &r, &err) != 0) {
			char d[400];

			*retry = r.fail == FETCH_FAIL_CONNECT || r.fail == FETCH_FAIL_TIMEOUT ||
				 r.fail == FETCH_FAIL_RESOLVE;
			snprintf(d, sizeof(d), "http-01 for %.120s: %.250s", shown, r.reason[0] ? r.reason : err.msg);
			p = problem(r.fail == FETCH_FAIL_RESOLVE ? "dns" : "connection", d);
			goto out;
		}
	}
	if (r.status != 200) {
		char d[300];

		snprintf(d, sizeof(d), "http-01 for %.120s: the server answered %ld", shown, r.status);
		p = problem("unauthorized", d);
		goto out;
	}
	n = r.body.len;
	while (n > 0 && (r.body.data[n - 1] == '\n' || r.body.data[n - 1] == '\r' ||
			 r.body.data[n - 1] == ' ' || r.body.data[n - 1] == '\t'))
		n--; /* RFC 8555 8.3: trailing white space is allowed */
	if (n != strlen(keyauth) || memcmp(r.body.data, keyauth, n) != 0) {
		char d[300];

		snprintf(d, sizeof(d), "http-01 for %.120s: the answer is not the key authorization",
			 shown);
		p = problem("unauthorized", d);
	}
out:
	fetch_resp_clear(&r);
	return p;
}

/* The reverse-DNS name of an IP address (RFC 8738 section 6), the SNI a
 * tls-alpn-01 validation of an IP identifier sends. */
static void reverse_name(const char *ip, char *out, size_t n)
{
	unsigned char a[16];
	size_t used = 0;

	out[0] = '\0';
	if (inet_pton(AF_INET, ip, a) == 1) {
		snprintf(out, n, "%u.%u.%u.%u.in-addr.arpa", a[3], a[2], a[1], a[0]);
	} else if (inet_pton(AF_INET6, ip, a) == 1) {
		for (int i = 15; i >= 0 && used + 4 < n; i--)
			used += (size_t)snprintf(out + used, n - used, "%x.%x.", a[i] & 15, a[i] >> 4);
		snprintf(out + used, n - used, "ip6.arpa");
	}
}

/* tls-alpn-01 (RFC 8737): a handshake for acme-tls/1 with the name as SNI
 * whose certificate names exactly the identifier and carries the digest. */
static json_t *tlsalpn01(struct caserve_va *va, const char *host, bool ip, const char *keyauth,
			 bool *retry)
{
	struct check_tls_probe_opts o = {0};
	struct check_tls_probe pr;
	struct pki_cert_info info;
	struct moat_err err;
	unsigned char want[32], got[32];
	char sni[80], addr[64], shown[300], d[400], san[300];
	json_t *p = NULL;

	memset(&pr, 0, sizeof(pr));
	memset(&info, 0, sizeof(info));
	moat_err_clear(&err);
	*retry = false;
	moat_escape(shown, sizeof(shown), host, strlen(host));
	if (ip)
		reverse_name(host, sni, sizeof(sni));
	o.host = host;
	o.port = va->o.tls_alpn_port != 0 ? va->o.tls_alpn_port : 443;
	o.servername = ip ? sni : host;
	o.alpn = "acme-tls/1";
	o.timeout_ms = VA_TIMEOUT_MS;
	if (!ip && va->resolver[0] != '\0') {
		if (acme_dns_addr(host, va->resolver, addr, sizeof(addr), &err) != 0) {
			*retry = true;
			return problem("dns", err.msg);
		}
		o.connect_to = addr;
	}
	if (pki_sha256(keyauth, strlen(keyauth), want) != 0)
		return problem("serverInternal", "cannot compute the digest");
	if (check_tls_probe(&o, &pr, &err) != 0) {
		*retry = pr.stage == CHECK_PROBE_CONNECT || pr.stage == CHECK_PROBE_RESOLVE;
		snprintf(d, sizeof(d), "tls-alpn-01 for %.120s: %.250s", shown, err.msg);
		p = problem(pr.stage == CHECK_PROBE_RESOLVE ? "dns" : pr.stage == CHECK_PROBE_CONNECT
								       ? "connection" : "tls", d);
		goto out;
	}
	snprintf(san, sizeof(san), "%s:%s", ip ? "IP" : "DNS", host);
	if (strcmp(pr.alpn, "acme-tls/1") != 0 || pr.nchain == 0 ||
	    pki_cert_info(pr.chain[0], &info, &err) != 0 || info.nsan != 1 ||
	    strcasecmp(info.san[0], san) != 0 || pki_cert_acme_identifier(pr.chain[0], got) != 0 ||
	    !pki_mem_equal(want, got, sizeof(want))) {
		snprintf(d, sizeof(d), "tls-alpn-01 for %.120s: %s", shown,
			 strcmp(pr.alpn, "acme-tls/1") != 0
				 ? "the server did not choose the acme-tls/1 protocol"
				 : "the certificate does not name exactly the identifier with the "
				   "key authorization's digest");
		p = problem("unauthorized", d);
	}
out:
	pki_cert_info_clear(&info);
	check_tls_probe_clear(&pr);
	return p;
}

/* dns-01: a TXT record at _acme-challenge.<name> with the digest. */
static json_t *dns01(struct caserve_va *va, const char *host, const char *keyauth, bool *retry)
{
	unsigned char md[32];
	struct moat_buf want = MOAT_BUF_INIT;
	struct acme_dns_txt txt;
	struct moat_err err;
	char name[300], d[400], shown[300];
	json_t *p = NULL;

	*retry = false;
	moat_escape(shown, sizeof(shown), host, strlen(host));
	snprintf(name, sizeof(name), "_acme-challenge.%s", host);
	if (pki_sha256(keyauth, strlen(keyauth), md) != 0 ||
	    moat_b64url_encode(&want, md, sizeof(md)) != 0)
		return problem("serverInternal", "cannot compute the digest");
	if (acme_dns_txt(name, va->resolver[0] != '\0' ? va->resolver : NULL, &txt, &err) != 0) {
		*retry = true;
		snprintf(d, sizeof(d), "dns-01 for %.120s: %.250s", shown, err.msg);
		p = problem("dns", d);
		goto out;
	}
	for (size_t i = 0; i < txt.n; i++)
		if (strcmp(txt.values[i], (const char *)want.data) == 0)
			goto out;
	*retry = txt.n == 0; /* maybe not there yet */
	snprintf(d, sizeof(d), "dns-01 for %.120s: no TXT record at _acme-challenge with the digest",
		 shown);
	p = problem("unauthorized", d);
out:
	moat_buf_free(&want);
	return p;
}

int caserve_authz_settle(struct caserve_store *st, int64_t authz, int index, const json_t *error,
			 struct moat_err *err)
{
	json_t *a = NULL, *c = NULL;
	char now[32];
	int ret = -1;

	if (caserve_store_begin(st, err) != 0)
		return -1;
	if ((a = caserve_store_get(st, "authz", authz, NULL, NULL, err)) == NULL ||
	    (c = json_array_get(json_object_get(a, "challenges"), (size_t)index)) == NULL)
		goto fail;
	if (strcmp(json_string_value(json_object_get(a, "status")), "pending") != 0) {
		caserve_store_rollback(st); /* deactivated meanwhile: leave it */
		ret = 0;
		goto out;
	}
	caserve_time(time(NULL), now);
	if (error == NULL) {
		json_object_set_new(c, "status", json_string("valid"));
		json_object_set_new(c, "validated", json_string(now));
		json_object_set_new(a, "status", json_string("valid"));
	} else {
		json_object_set_new(c, "status", json_string("invalid"));
		json_object_set(c, "error", (json_t *)error);
		json_object_set_new(a, "status", json_string("invalid"));
	}
	if (caserve_store_put(st, authz, a, err) != 0 || caserve_store_commit(st, err) != 0)
		goto fail;
	ret = 0;
	goto out;
fail:
	caserve_store_rollback(st);
out:
	json_decref(a);
	return ret;
}

/* The key authorization of the challenge: token "." thumbprint of the
 * authorization's account key. */
static int keyauth_of(struct caserve_store *st, int64_t account, const char *token, char *out,
		      size_t n, struct moat_err *err)
{
	json_t *acct = caserve_store_get(st, "account", account, NULL, NULL, err);
	struct pki_key *key = NULL;
	struct pki_jwk j;
	char tp[64];
	int ret = -1;

	memset(&j, 0, sizeof(j));
	if (acct != NULL &&
	    (key = caserve_jwk_key(json_object_get(acct, "key"), &j, tp, sizeof(tp), err)) != NULL &&
	    (size_t)snprintf(out, n, "%s.%s", token, tp) < n)
		ret = 0;
	pki_jwk_clear(&j);
	pki_key_free(key);
	json_decref(acct);
	return ret;
}

static void validate(struct caserve_va *va, struct caserve_store *st, const struct job *jb)
{
	struct moat_err err;
	json_t *a, *c, *p = NULL;
	int64_t account = 0;
	char keyauth[256];
	const char *type, *token, *host, *itype;
	bool retry = false;

	moat_err_clear(&err);
	if ((a = caserve_store_get(st, "authz", jb->authz, NULL, &account, &err)) == NULL ||
	    (c = json_array_get(json_object_get(a, "challenges"), (size_t)jb->index)) == NULL) {
		va_log(va, "validation of authorization %lld: %s", (long long)jb->authz,
		       err.msg[0] ? err.msg : "gone");
		json_decref(a);
		return;
	}
	type = json_string_value(json_object_get(c, "type"));
	token = json_string_value(json_object_get(c, "token"));
	host = json_string_value(json_object_get(json_object_get(a, "identifier"), "value"));
	itype = json_string_value(json_object_get(json_object_get(a, "identifier"), "type"));
	if (type == NULL || token == NULL || host == NULL || itype == NULL ||
	    keyauth_of(st, account, token, keyauth, sizeof(keyauth), &err) != 0) {
		p = problem("serverInternal", "the challenge cannot be read");
	} else {
		for (int attempt = 0; attempt < VA_ATTEMPTS; attempt++) {
			json_decref(p);
			if (strcmp(type, "http-01") == 0)
				p = http01(va, host, strcmp(itype, "ip") == 0, token, keyauth, &retry);
			else if (strcmp(type, "dns-01") == 0)
				p = dns01(va, host, keyauth, &retry);
			else if (strcmp(type, "tls-alpn-01") == 0)
				p = tlsalpn01(va, host, strcmp(itype, "ip") == 0, keyauth, &retry);
			else
				p = problem("unauthorized", "this challenge type is not validated yet");
			if (p == NULL || !retry)
				break;
			usleep(VA_RETRY_MS * 1000);
		}
	}
	if (p != NULL)
		va_log(va, "validation failed: authorization %lld (%s %s), account %lld: %s",
		       (long long)jb->authz, type != NULL ? type : "?", host != NULL ? host : "?",
		       (long long)account, json_string_value(json_object_get(p, "detail")));
	if (va->o.counters != NULL)
		caserve_count(va->o.counters, p == NULL ? CASERVE_C_VALID : CASERVE_C_INVALID);
	if (caserve_authz_settle(st, jb->authz, jb->index, p, &err) != 0)
		va_log(va, "cannot record a validation: %s", err.msg);
	json_decref(p);
	json_decref(a);
}

static void *run(void *arg)
{
	struct caserve_va *va = arg;
	struct moat_err err;
	struct caserve_store *st = caserve_store_open(va->db_path, &err);

	if (st == NULL)
		va_log(va, "validation thread: %s", err.msg);
	pthread_mutex_lock(&va->mu);
	for (;;) {
		struct job jb;

		while (!va->stop && va->len == 0)
			pthread_cond_wait(&va->cv, &va->mu);
		if (va->stop)
			break;
		jb = va->q[va->head];
		va->head = (va->head + 1) % VA_QUEUE;
		va->len--;
		pthread_mutex_unlock(&va->mu);
		if (st != NULL)
			validate(va, st, &jb);
		pthread_mutex_lock(&va->mu);
	}
	pthread_mutex_unlock(&va->mu);
	caserve_store_free(st);
	return NULL;
}

struct caserve_va *caserve_va_new(const struct caserve_va_opts *o, struct moat_err *err)
{
	struct caserve_va *va = calloc(1, sizeof(*va));

	if (va == NULL) {
		moat_err_set(err, "out of memory");
		return NULL;
	}
	va->o = *o;
	snprintf(va->db_path, sizeof(va->db_path), "%s", o->db_path);
	snprintf(va->resolver, sizeof(va->resolver), "%s", o->dns_resolver ? o->dns_resolver : "");
	va->o.db_path = va->db_path;
	pthread_mutex_init(&va->mu, NULL);
	pthread_cond_init(&va->cv, NULL);
	for (; va->nthreads < VA_THREADS; va->nthreads++)
		if (pthread_create(&va->threads[va->nthreads], NULL, run, va) != 0) {
			moat_err_set(err, "cannot start the validation threads");
			caserve_va_free(va);
			return NULL;
		}
	return va;
}

int caserve_va_queue(struct caserve_va *va, int64_t authz, int index)
{
	int ret = -1;

	pthread_mutex_lock(&va->mu);
	if (va->len < VA_QUEUE) {
		va->q[(va->head + va->len) % VA_QUEUE] = (struct job){authz, index};
		va->len++;
		pthread_cond_signal(&va->cv);
		ret = 0;
	}
	pthread_mutex_unlock(&va->mu);
	return ret;
}

void caserve_va_free(struct caserve_va *va)
{
	if (va == NULL)
		return;
	pthread_mutex_lock(&va->mu);
	va->stop = true;
	pthread_cond_broadcast(&va->cv);
	pthread_mutex_unlock(&va->mu);
	for (size_t i = 0; i < va->nthreads; i++)
		pthread_join(va->threads[i], NULL);
	pthread_mutex_destroy(&va->mu);
	pthread_cond_destroy(&va->cv);
	free(va);
}
