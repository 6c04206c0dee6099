/* tls_ticket.c: TLS session tickets under keys of moat's own (see
 * tls_server.h, net_tls_opts.ticket_rotate_s): a key for new tickets, the one
 * before it still accepted, rotated by age, each ticket used once. */
#include "net/tls_int.h"

#include <pthread.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/rand.h>

static int64_t now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec;
}

/* A new key for new tickets; the current one becomes the previous one
 * (tickets under the one before that stop working). */
static void rotate_locked(struct net_tls_ctx *c)
{
	struct net_tls_ticket_key k = {0};

	if (RAND_bytes(k.name, sizeof(k.name)) != 1 || RAND_bytes(k.aes, sizeof(k.aes)) != 1 ||
	    RAND_bytes(k.hmac, sizeof(k.hmac)) != 1) {
		ERR_clear_error();
		OPENSSL_cleanse(&k, sizeof(k));
		return; /* keep the current key */
	}
	k.born = now_s();
	k.set = true;
	c->tk[1] = c->tk[0];
	c->tk[0] = k;
	OPENSSL_cleanse(&k, sizeof(k));
}

/* 1: use this key (encrypting: key_name and iv filled); 2: decrypts, and
 * a new ticket is to be issued; 0: unknown key; -1 error. */
int net_tls_ticket_cb(SSL *ssl, unsigned char *key_name, unsigned char *iv,
		     EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx, int enc)
{
	struct net_tls_conn *t = SSL_get_app_data(ssl);
	struct net_tls_ctx *c = t->c;
	struct net_tls_ticket_key k;
	char digest[] = "SHA256";
	OSSL_PARAM params[3];
	int ret = 0;

	pthread_mutex_lock(&c->tk_mu);
	if (enc) {
		if (now_s() - c->tk[0].born >= c->rotate_s)
			rotate_locked(c);
		k = c->tk[0];
		ret = 1;
	} else if (memcmp(key_name, c->tk[0].name, sizeof(k.name)) == 0) {
		/* 2 even for the current key: a fresh ticket after every
		 * resumption, since clients use each TLS 1.3 ticket once (RFC
		 * 8446 C.4) and would otherwise have none for the next time. */
		k = c->tk[0];
		ret = 2;
	} else if (c->tk[1].set && memcmp(key_name, c->tk[1].name, sizeof(k.name)) == 0) {
		k = c->tk[1];
		ret = 2;
	}
	pthread_mutex_unlock(&c->tk_mu);
	if (ret == 0)
		return 0;
	if (enc) {
		memcpy(key_name, k.name, sizeof(k.name));
		if (RAND_bytes(iv, 16) != 1)
			ret = -1;
	}
	params[0] = OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, k.hmac, sizeof(k.hmac));
	params[1] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0);
	params[2] = OSSL_PARAM_construct_end();
	if (ret > 0 && (EVP_MAC_CTX_set_params(hctx, params) != 1 ||
			(enc ? EVP_EncryptInit_ex2(cctx, c->aes, k.aes, iv, NULL)
			     : EVP_DecryptInit_ex2(cctx, c->aes, k.aes, iv, NULL)) != 1))
		ret = -1;
	OPENSSL_cleanse(&k, sizeof(k));
	return ret;
}
void net_tls_ctx_rotate_tickets(struct net_tls_ctx *c)
{
	pthread_mutex_lock(&c->tk_mu);
	rotate_locked(c);
	pthread_mutex_unlock(&c->tk_mu);
}
