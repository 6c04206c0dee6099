/* nonce.c: ACME's anti-replay nonces (RFC 8555 section 6.5).
 *
 * A nonce is base64url(counter || HMAC-SHA256(key, counter)[0..16]) with a
 * 64-bit counter and a random key made at start: it cannot be forged, and
 * the server keeps no list -- only one bit per nonce of the last
 * CASERVE_NONCE_WINDOW issued, set when the nonce is used.  A nonce older
 * than the window, used twice, or from before a restart is bad. */
#include "caserve/internal.h"

#include <stdlib.h>
#include <string.h>

#include "core/b64.h"

#define MAC_LEN 16

struct caserve_nonces {
	unsigned char key[32];
	uint64_t next;                                /* the counter of the next nonce */
	unsigned char used[CASERVE_NONCE_WINDOW / 8]; /* bit (counter % WINDOW) */
	unsigned char spare[CASERVE_NONCE_WINDOW / 8]; /* never refused by chaos */
	unsigned reject;                              /* percent of good nonces refused */
	uint64_t rng;                                 /* for reject only: not secret */
};

struct caserve_nonces *caserve_nonces_new(unsigned reject_percent)
{
	struct caserve_nonces *n = calloc(1, sizeof(*n));

	if (n == NULL)
		return NULL;
	if (pki_random(n->key, sizeof(n->key)) != 0 || pki_random(&n->rng, sizeof(n->rng)) != 0) {
		free(n);
		return NULL;
	}
	n->next = 1;
	n->reject = reject_percent > 100 ? 100 : reject_percent;
	return n;
}

void caserve_nonces_free(struct caserve_nonces *n)
{
	if (n == NULL)
		return;
	memset(n->key, 0, sizeof(n->key));
	free(n);
}

static void mac(const struct caserve_nonces *n, const unsigned char ctr[8], unsigned char out[32])
{
	struct moat_err err;

	if (pki_hmac_sha256(n->key, sizeof(n->key), ctr, 8, out, &err) != 0)
		memset(out, 0, 32); /* cannot happen with a 32-byte key; never valid then */
}

void caserve_nonce_new(struct caserve_nonces *n, char out[CASERVE_NONCE_LEN + 1], bool spare)
{
	unsigned char raw[8 + 32];
	uint64_t c = n->next++;
	struct moat_buf b = MOAT_BUF_INIT;

	for (int i = 0; i < 8; i++)
		raw[i] = (unsigned char)(c >> (56 - 8 * i));
	mac(n, raw, raw + 8);
	n->used[(c % CASERVE_NONCE_WINDOW) / 8] &= (unsigned char)~(1u << (c % 8));
	if (spare)
		n->spare[(c % CASERVE_NONCE_WINDOW) / 8] |= (unsigned char)(1u << (c % 8));
	else
		n->spare[(c % CASERVE_NONCE_WINDOW) / 8] &= (unsigned char)~(1u << (c % 8));
	out[0] = '\0';
	if (moat_b64url_encode(&b, raw, 8 + MAC_LEN) == 0 && b.len == CASERVE_NONCE_LEN)
		memcpy(out, b.data, CASERVE_NONCE_LEN + 1);
	moat_buf_free(&b);
}

bool caserve_nonce_take(struct caserve_nonces *n, const char *s)
{
	struct moat_buf b = MOAT_BUF_INIT;
	unsigned char want[32];
	uint64_t c = 0;
	bool ok = false;

	if (s == NULL || strlen(s) != CASERVE_NONCE_LEN ||
	    moat_b64url_decode(&b, s, CASERVE_NONCE_LEN) != 0 || b.len != 8 + MAC_LEN)
		goto out;
	mac(n, b.data, want);
	if (pki_mem_equal(want, b.data + 8, MAC_LEN) == false)
		goto out;
	for (int i = 0; i < 8; i++)
		c = c << 8 | b.data[i];
	if (c == 0 || c >= n->next || n->next - c > CASERVE_NONCE_WINDOW)
		goto out;
	if (n->used[(c % CASERVE_NONCE_WINDOW) / 8] & (1u << (c % 8)))
		goto out;
	n->used[(c % CASERVE_NONCE_WINDOW) / 8] |= (unsigned char)(1u << (c % 8));
	ok = true;
	if (n->reject > 0 && !(n->spare[(c % CASERVE_NONCE_WINDOW) / 8] & (1u << (c % 8)))) {
		/* chaos testing: a good nonce refused now and then -- but never
		 * one from newNonce or a badNonce answer, so that a client
		 * that retries once, as RFC 8555 6.5 expects, gets through */
		n->rng = n->rng * 6364136223846793005ull + 1442695040888963407ull;
		if ((n->rng >> 33) % 100 < n->reject)
			ok = false;
	}
out:
	moat_buf_free(&b);
	return ok;
}
