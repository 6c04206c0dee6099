/* dns.c: TXT lookups for dns-01, through the C library's resolver
 * (libresolv): the system's name servers, or one given server. */
#include "acme/dns.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdlib.h>
#include <string.h>

#include "core/parse.h"

#define ANSWER_MAX 8192

/* "IP" or "IP:PORT" into sa; IPv4 only (res_state takes IPv4 name servers
 * in nsaddr_list). */
static int parse_server(const char *s, struct sockaddr_in *sa, struct moat_err *err)
{
	struct moat_hostport hp;

	memset(sa, 0, sizeof(*sa));
	if (moat_parse_hostport(s, MOAT_HOSTPORT_NO_PORT, &hp, NULL) != 0 || hp.ipv6 ||
	    inet_pton(AF_INET, hp.host, &sa->sin_addr) != 1) {
		moat_err_set(err, "not a DNS server address (IPv4[:PORT]): %.60s", s);
		return -1;
	}
	sa->sin_family = AF_INET;
	sa->sin_port = htons(hp.has_port ? hp.port : 53);
	return 0;
}

int acme_dns_txt(const char *name, const char *server, struct acme_dns_txt *out,
		 struct moat_err *err)
{
	struct __res_state rs;
	unsigned char *ans = malloc(ANSWER_MAX);
	ns_msg msg;
	ns_rr rr;
	int len, ret = -1, count;

	memset(out, 0, sizeof(*out));
	memset(&rs, 0, sizeof(rs));
	if (ans == NULL) {
		moat_err_set(err, "out of memory");
		return -1;
	}
	if (res_ninit(&rs) != 0) {
		moat_err_set(err, "cannot initialise the DNS resolver");
		goto out;
	}
	rs.options &= ~(unsigned long)(RES_DNSRCH | RES_DEFNAMES);
	rs.retrans = 2;
	rs.retry = 2;
	if (server != NULL) {
		struct sockaddr_in sa;
		if (parse_server(server, &sa, err) != 0)
			goto out;
		rs.nsaddr_list[0] = sa;
		rs.nscount = 1;
	}
	len = res_nquery(&rs, name, ns_c_in, ns_t_txt, ans, ANSWER_MAX);
	if (len < 0) {
		/* NXDOMAIN / no data: no TXT records (yet). */
		ret = 0;
		goto out;
	}
	if (len > ANSWER_MAX || ns_initparse(ans, len, &msg) != 0) {
		moat_err_set(err, "unreadable DNS answer for %s", name);
		goto out;
	}
	count = ns_msg_count(msg, ns_s_an);
	for (int i = 0; i < count && out->n < ACME_DNS_MAX_TXT; i++) {
		const unsigned char *rd;
		size_t rdlen, pos = 0, used = 0;
		char *v;

		if (ns_parserr(&msg, ns_s_an, i, &rr) != 0 || ns_rr_type(rr) != ns_t_txt)
			continue;
		rd = ns_rr_rdata(rr);
		rdlen = ns_rr_rdlen(rr);
		v = out->values[out->n];
		/* A TXT record is one or more <length><bytes> strings, joined. */
		while (pos < rdlen) {
			size_t sl = rd[pos++];
			if (sl > rdlen - pos)
				break;
			for (size_t k = 0; k < sl && used + 1 < sizeof(out->values[0]); k++) {
				unsigned char c = rd[pos + k];
				v[used++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
			}
			pos += sl;
		}
		v[used] = '\0';
		out->n++;
	}
	ret = 0;
out:
	res_nclose(&rs);
	free(ans);
	return ret;
}
