/* fuzz_share: what any device on the LAN may send to `moat trust share`.
 * The bytes go through the engine's request parser (net/h1.c, with the
 * small servers' head limit), then to the share page's handler with the
 * strings net/handler.c makes, as on a real connection.  Besides crashes and
 * out-of-bounds reads it checks the reply: a status the engine accepts, a
 * body whose length is right, and nothing but the public root's files. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "net/h1.h"
#include "net/net.h"
#include "pki/pki.h"
#include "trust/share.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static struct trust_share *share;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct pki_cert_spec spec;
	struct trust_share_opts o;
	struct moat_err err;
	struct pki_key *k;
	struct pki_cert *root;

	(void)argc;
	(void)argv;
	moat_err_clear(&err);
	if (pki_init(&err) != 0 || (k = pki_key_generate(PKI_KEY_EC_P256, &err)) == NULL)
		abort();
	memset(&spec, 0, sizeof(spec));
	spec.profile = PKI_PROFILE_ROOT;
	spec.common_name = "Fuzz <Root> & \"CA\"";
	spec.not_before = time(NULL) - 60;
	spec.not_after = time(NULL) + 86400;
	if ((root = pki_cert_build(&spec, k, NULL, k, &err)) == NULL)
		abort();
	memset(&o, 0, sizeof(o));
	o.root = root;
	o.listen_addr = "127.0.0.1";
	o.host = "192.168.1.20";
	/* Listens on a free loopback port but never serves: the handler is
	 * called directly. */
	if ((share = trust_share_new(&o, &err)) == NULL)
		abort();
	pki_cert_free(root);
	pki_key_free(k);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size ? size : 1);
	static struct net_http_strings st;
	static struct net_h1_msg m;
	struct net_http_request req;
	struct net_http_reply reply = {.status = 404};

	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	net_h1_msg_reset(&m);
	if (net_h1_parse_request(buf, size, NET_HTTP_MAX_HEAD, &m) != NET_H1_DONE)
		goto out;
	if (!net_http_request_fill(&req, &st, buf, &m, "192.0.2.1"))
		goto out;
	trust_share_handle(share, &req, &reply);
	if (reply.status < 200 || reply.status > 599)
		abort();
	if (reply.body != NULL) {
		/* touch every byte: ASan sees a body shorter than len */
		volatile unsigned char sum = 0;
		for (size_t i = 0; i < reply.len; i++)
			sum ^= ((const unsigned char *)reply.body)[i];
		(void)sum;
		if (memmem(reply.body, reply.len, "PRIVATE KEY", 11) != NULL)
			abort();
	}
	if (reply.status == 200 && strcmp(st.method, "GET") != 0 && strcmp(st.method, "HEAD") != 0)
		abort();
	if (reply.free_body)
		free((void *)reply.body);
out:
	free(buf);
	return 0;
}
