/* tls_probe.c: one TLS client handshake that records what the server
 * sends (see tls_probe.h).  Certificates are not verified here: the
 * handshake must complete for a broken chain too, so that moat check can
 * say what is wrong with it. */
#include "check/tls_probe.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "pki/ossl.h"
#include "pki/pki.h"

#define DEFAULT_TIMEOUT_MS 10000

int64_t check_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int left_ms(int64_t deadline)
{
	int64_t l = (deadline - check_now_us()) / 1000;
	return l <= 0 ? 0 : (int)l;
}

/* Wait for fd to become readable/writable before the deadline. */
static bool wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd p = {fd, events, 0};
	int r;

	do
		r = poll(&p, 1, left_ms(deadline));
	while (r < 0 && errno == EINTR);
	return r > 0;
}

static bool is_ip(const char *s)
{
	unsigned char b[16];
	return inet_pton(AF_INET, s, b) == 1 || inet_pton(AF_INET6, s, b) == 1;
}

/* A non-blocking TCP connection to host:port; -1 with err and stage. */
static int tcp_connect(const char *host, uint16_t port, int64_t deadline, char *addr_out,
		       size_t addr_n, enum check_probe_stage *stage, struct moat_err *err)
{
	struct addrinfo hints, *res = NULL, *ai;
	char portstr[8], shown[128];
	int fd = -1, last = 0, r;

	moat_escape(shown, sizeof(shown), host, strlen(host));
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(portstr, sizeof(portstr), "%u", port);
	if ((r = getaddrinfo(host, portstr, &hints, &res)) != 0) {
		*stage = CHECK_PROBE_RESOLVE;
		moat_err_set(err, "cannot resolve %s: %s", shown, gai_strerror(r));
		moat_err_hint(err, "check the name, or give an IP address");
		return -1;
	}
	for (ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
		int s = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			       ai->ai_protocol);
		int soerr = 0;
		socklen_t sl = sizeof(soerr);

		if (s < 0) {
			last = errno;
			continue;
		}
		if (connect(s, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) {
			last = errno;
			close(s);
			continue;
		}
		if (!wait_fd(s, POLLOUT, deadline)) {
			last = ETIMEDOUT;
			close(s);
			continue;
		}
		if (getsockopt(s, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 || soerr != 0) {
			last = soerr != 0 ? soerr : errno;
			close(s);
			continue;
		}
		fd = s;
		if (getnameinfo(ai->ai_addr, ai->ai_addrlen, addr_out, (socklen_t)addr_n, NULL, 0,
				NI_NUMERICHOST) != 0)
			snprintf(addr_out, addr_n, "?");
	}
	freeaddrinfo(res);
	if (fd < 0) {
		*stage = CHECK_PROBE_CONNECT;
		if (last == ETIMEDOUT) {
			moat_err_set(err, "no answer from %s port %u", shown, port);
			moat_err_hint(err, "a firewall may drop the packets, or the host is down");
		} else {
			moat_err_set(err, "cannot connect to %s port %u: %s", shown, port,
				     strerror(last));
			moat_err_hint(err, "is the server running, and on this port?");
		}
	}
	return fd;
}

/* After a failed handshake: does the port speak plain HTTP? */
static bool speaks_http(const char *host, uint16_t port, int64_t deadline)
{
	static const char req[] = "HEAD / HTTP/1.0\r\n\r\n";
	enum check_probe_stage st;
	char addr[64], buf[8];
	ssize_t n;
	size_t got = 0;
	int fd;

	if ((fd = tcp_connect(host, port, deadline, addr, sizeof(addr), &st, NULL)) < 0)
		return false;
	if (send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) != (ssize_t)(sizeof(req) - 1)) {
		close(fd);
		return false;
	}
	while (got < 5 && wait_fd(fd, POLLIN, deadline)) {
		n = recv(fd, buf + got, 5 - got, 0);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	return got == 5 && memcmp(buf, "HTTP/", 5) == 0;
}

/* Did the handshake fail on bytes that are not TLS records at all (not on
 * an alert, which only a TLS peer sends)? */
static bool looks_plain(void)
{
	unsigned long e = ERR_peek_last_error();
	int reason = ERR_GET_REASON(e);

	return ERR_GET_LIB(e) == ERR_LIB_SSL &&
	       (reason == SSL_R_WRONG_VERSION_NUMBER || reason == SSL_R_PACKET_LENGTH_TOO_LONG ||
		reason == SSL_R_RECORD_LENGTH_MISMATCH || reason == SSL_R_UNEXPECTED_RECORD);
}

static int record(SSL *ssl, struct check_tls_probe *out, struct moat_err *err)
{
	STACK_OF(X509) *sk = SSL_get_peer_cert_chain(ssl);
	const SSL_CIPHER *c = SSL_get_current_cipher(ssl);
	const unsigned char *st = NULL;
	long stlen;
	int nid;

	for (int i = 0; sk != NULL && i < sk_X509_num(sk); i++) {
		X509 *x = sk_X509_value(sk, i);
		if (out->nchain == CHECK_PROBE_MAX_CHAIN) {
			out->chain_truncated = true;
			break;
		}
		if ((out->chain[out->nchain] = pki_cert_from_x509(x, err)) == NULL)
			return -1;
		out->nchain++;
	}
	snprintf(out->version, sizeof(out->version), "%s", SSL_get_version(ssl));
	{
		const unsigned char *sel = NULL;
		unsigned int sl = 0;

		SSL_get0_alpn_selected(ssl, &sel, &sl);
		if (sel != NULL && sl < sizeof(out->alpn))
			moat_escape(out->alpn, sizeof(out->alpn), (const char *)sel, sl);
	}
	snprintf(out->cipher, sizeof(out->cipher), "%s", c != NULL ? SSL_CIPHER_get_name(c) : "");
	nid = SSL_get_negotiated_group(ssl);
	if (nid != 0) {
		const char *g = SSL_group_to_name(ssl, nid);
		snprintf(out->group, sizeof(out->group), "%s", g != NULL ? g : "");
	}
	stlen = SSL_get_tlsext_status_ocsp_resp(ssl, &st);
	if (st != NULL && stlen > 0 && (size_t)stlen <= CHECK_PROBE_MAX_STAPLE) {
		if ((out->staple = malloc((size_t)stlen)) == NULL) {
			moat_err_set(err, "out of memory");
			return -1;
		}
		memcpy(out->staple, st, (size_t)stlen);
		out->staple_len = (size_t)stlen;
	}
	return 0;
}

int check_tls_probe(const struct check_tls_probe_opts *o, struct check_tls_probe *out,
		    struct moat_err *err)
{
	int64_t deadline = check_now_us() + (int64_t)(o->timeout_ms > 0 ? o->timeout_ms
								 : DEFAULT_TIMEOUT_MS) * 1000;
	const char *sni = o->servername != NULL ? o->servername
						 : (is_ip(o->host) ? NULL : o->host);
	const char *target = o->connect_to != NULL ? o->connect_to : o->host;
	const char *alpn = o->alpn != NULL ? o->alpn : "http/1.1";
	unsigned char wire[33];
	SSL_CTX *ctx = NULL;
	SSL *ssl = NULL;
	char shown[128];
	int fd = -1, ret = -1;

	memset(out, 0, sizeof(*out));
	moat_escape(shown, sizeof(shown), o->host, strlen(o->host));
	if (strlen(alpn) == 0 || strlen(alpn) >= sizeof(wire) - 1) {
		moat_err_set(err, "cannot offer this ALPN protocol");
		return -1;
	}
	wire[0] = (unsigned char)strlen(alpn);
	memcpy(wire + 1, alpn, wire[0]);
	if ((fd = tcp_connect(target, o->port, deadline, out->address, sizeof(out->address),
			      &out->stage, err)) < 0)
		goto out;
	out->stage = CHECK_PROBE_HANDSHAKE;
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		pki_err_drain(err, "cannot set up TLS");
		goto out;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	if ((o->min_version != CHECK_TLS_ANY &&
	     !SSL_CTX_set_min_proto_version(ctx, (int)o->min_version)) ||
	    (o->max_version != CHECK_TLS_ANY &&
	     !SSL_CTX_set_max_proto_version(ctx, (int)o->max_version))) {
		pki_err_drain(err, "this OpenSSL cannot speak the TLS version asked for");
		goto out;
	}
	if (o->min_version != CHECK_TLS_ANY && o->min_version < CHECK_TLS_1_2)
		SSL_CTX_set_security_level(ctx, 0); /* old versions need SHA-1 and friends */
	if ((ssl = SSL_new(ctx)) == NULL || !SSL_set_fd(ssl, fd) ||
	    (sni != NULL && !SSL_set_tlsext_host_name(ssl, sni)) ||
	    (o->want_staple && !SSL_set_tlsext_status_type(ssl, TLSEXT_STATUSTYPE_ocsp)) ||
	    SSL_set_alpn_protos(ssl, wire, (unsigned)wire[0] + 1) != 0) {
		pki_err_drain(err, "cannot set up TLS");
		goto out;
	}
	for (;;) {
		int r = SSL_connect(ssl), e;
		if (r == 1)
			break;
		e = SSL_get_error(ssl, r);
		if ((e == SSL_ERROR_WANT_READ && wait_fd(fd, POLLIN, deadline)) ||
		    (e == SSL_ERROR_WANT_WRITE && wait_fd(fd, POLLOUT, deadline)))
			continue;
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			ERR_clear_error();
			moat_err_set(err, "%s port %u accepted the connection but did not complete "
					  "a TLS handshake in time", shown, o->port);
			moat_err_hint(err, "is this a TLS port?");
			goto out;
		}
		if (looks_plain() && speaks_http(target, o->port, deadline)) {
			ERR_clear_error();
			out->stage = CHECK_PROBE_NOT_TLS;
			out->plain_http = true;
			moat_err_set(err, "%s port %u speaks plain HTTP, not TLS", shown, o->port);
			moat_err_hint(err, "use http:// for this port, or put TLS in front of it "
					   "(the HTTPS port is usually 443)");
			goto out;
		}
		pki_err_drain(err, "TLS handshake with %s port %u failed", shown, o->port);
		if (o->min_version != CHECK_TLS_ANY || o->max_version != CHECK_TLS_ANY)
			moat_err_hint(err, "the server may not accept the TLS versions asked for");
		goto out;
	}
	if (record(ssl, out, err) != 0)
		goto out;
	out->stage = CHECK_PROBE_OK;
	ret = 0;
out:
	if (ssl != NULL) {
		(void)SSL_shutdown(ssl);
		SSL_free(ssl);
	}
	SSL_CTX_free(ctx);
	if (fd >= 0)
		close(fd);
	ERR_clear_error();
	if (ret != 0) {
		enum check_probe_stage st = out->stage;
		bool plain = out->plain_http;
		check_tls_probe_clear(out);
		out->stage = st;
		out->plain_http = plain;
	}
	return ret;
}

void check_tls_probe_clear(struct check_tls_probe *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->nchain; i++)
		pki_cert_free(p->chain[i]);
	free(p->staple);
	memset(p, 0, sizeof(*p));
}
