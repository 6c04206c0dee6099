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

/* Ask server (or the system's resolvers) for name's records of type into
 * ans (ANSWER_MAX bytes): the answer's length, 0 when there is none
 * (NXDOMAIN, no data), -1 with err for errors that are not answers. */
static int query(const char *name, const char *server, int type, unsigned char *ans,
		 struct moat_err *err)
{
	struct __res_state rs;
	int len;

	memset(&rs, 0, sizeof(rs));
	if (res_ninit(&rs) != 0) {
		moat_err_set(err, "cannot initialise the DNS resolver");
		return -1;
	}
	rs.options &= ~(unsigned long)(RES_DNSRCH | RES_DEFNAMES);
	rs.retrans = 2;
	rs.retry = 2;
	if (server != NULL) {
		struct sockaddr_in sa;

		if (parse_server(server, &sa, err) != 0) {
			res_nclose(&rs);
			return -1;
		}
		rs.nsaddr_list[0] = sa;
		rs.nscount = 1;
	}
	len = res_nquery(&rs, name, ns_c_in, type, ans, ANSWER_MAX);
	res_nclose(&rs);
	if (len > ANSWER_MAX) {
		moat_err_set(err, "unreadable DNS answer for %s", name);
		return -1;
	}
	return len < 0 ? 0 : len;
}

int acme_dns_txt(const char *name, const char *server, struct acme_dns_txt *out,
		 struct moat_err *err)
{
	unsigned char *ans = malloc(ANSWER_MAX);
	ns_msg msg;
	ns_rr rr;
	int len, ret = -1, count;

	memset(out, 0, sizeof(*out));
	if (ans == NULL) {
		moat_err_set(err, "out of memory");
		return -1;
	}
	if ((len = query(name, server, ns_t_txt, ans, err)) <= 0) {
		ret = len; /* 0: no TXT records (yet) */
		goto out;
	}
	if (ns_initparse(ans, len, &msg) != 0) {
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
	free(ans);
	return ret;
}

int acme_dns_addr(const char *name, const char *server, char *out, size_t n,
		  struct moat_err *err)
{
	static const int types[2] = {ns_t_a, ns_t_aaaa};
	unsigned char *ans = malloc(ANSWER_MAX);
	int ret = -1;

	out[0] = '\0';
	if (ans == NULL) {
		moat_err_set(err, "out of memory");
		return -1;
	}
	for (int t = 0; t < 2 && out[0] == '\0'; t++) {
		ns_msg msg;
		ns_rr rr;
		int len = query(name, server, types[t], ans, err);

		if (len < 0)
			goto out;
		if (len == 0 || ns_initparse(ans, len, &msg) != 0)
			continue;
		for (int i = 0; i < ns_msg_count(msg, ns_s_an) && out[0] == '\0'; i++) {
			if (ns_parserr(&msg, ns_s_an, i, &rr) != 0 || (int)ns_rr_type(rr) != types[t] ||
			    ns_rr_rdlen(rr) != (t == 0 ? 4 : 16))
				continue;
			if (inet_ntop(t == 0 ? AF_INET : AF_INET6, ns_rr_rdata(rr), out,
				      (socklen_t)n) == NULL)
				out[0] = '\0';
		}
	}
	if (out[0] == '\0') {
		moat_err_set(err, "%s has no address in DNS", name);
		goto out;
	}
	ret = 0;
out:
	free(ans);
	return ret;
}
