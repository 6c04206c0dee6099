/* problem.c: RFC 7807 problem documents (RFC 8555 section 6.7) turned into
 * one line for the user, plus a hint where we know what helps. */
#include "acme/acme.h"

#include <stdio.h>
#include <string.h>

#define URN "urn:ietf:params:acme:error:"

/* The hints for the problem types where we know what helps. */
static const struct {
	const char *type;
	const char *hint;
} known[] = {
	{"accountDoesNotExist", "register first: moat acme register --email YOU --agree-tos"},
	{"badPublicKey", "this CA does not accept that kind of account key: register with "
			 "--key-type ec-p256 (accepted everywhere)"},
	{"badRevocationReason", "reasons: unspecified, keyCompromise, superseded, "
				"cessationOfOperation"},
	{"badSignatureAlgorithm", "try another account key type (ec-p256 works everywhere)"},
	{"caa", "a CAA record in DNS does not allow this CA to issue for the name"},
	{"connection", "the CA could not connect to your server for the challenge: is the name's "
		       "DNS pointing at it, and port 80 (http-01) or 443 (tls-alpn-01) open "
		       "from the internet?"},
	{"dns", "the CA could not look the name up in DNS: check the records"},
	{"externalAccountRequired", "this CA needs an external account binding: "
				    "--eab-kid KID --eab-hmac-key KEY from your CA account"},
	{"incorrectResponse", "the CA reached a server, but it answered something else: is "
			      "another web server or a proxy answering for this name?"},
	{"invalidContact", "use a real e-mail address with --email"},
	{"rejectedIdentifier", "this CA will not issue for that name"},
	{"serverInternal", "the CA had an internal error; try again later"},
	{"tls", "the CA could not complete a TLS handshake with your server for tls-alpn-01"},
	{"unauthorized", "the CA did not accept the proof of control over the name"},
	{"unsupportedIdentifier", "this CA does not issue for that kind of name (IP addresses "
				  "need a CA that supports RFC 8738)"},
	{"userActionRequired", "visit the CA's page to accept new terms: see the instance URL"},
};

/* A CA's text for the terminal: control and non-ASCII bytes as \xNN (as
 * moat_escape does), but quotes and backslashes as they are -- a CA's
 * 'Get "http://..."' must read as it was written.  moat_escape's \x22 and
 * \x5c are turned back: every backslash it writes starts an escape, so
 * this cannot misread the text. */
static void show_text(char *dst, size_t n, const char *src)
{
	char *w = dst;

	moat_escape(dst, n, src, strlen(src));
	for (const char *r = dst; *r != '\0';) {
		if (strncmp(r, "\\x22", 4) == 0 || strncmp(r, "\\x5c", 4) == 0) {
			*w++ = r[3] == '2' ? '"' : '\\';
			r += 4;
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
}

/* The type, escaped, in short form: "urn:ietf:params:acme:error:badNonce"
 * -> "badNonce"; others unchanged, NULL as "". */
static void short_type(char *out, size_t n, const char *type)
{
	if (type != NULL && strncmp(type, URN, sizeof(URN) - 1) == 0)
		type += sizeof(URN) - 1;
	else if (type == NULL)
		type = "";
	moat_escape(out, n, type, strlen(type));
}

static const char *hint_for(const char *shorttype)
{
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(known[i].type, shorttype) == 0)
			return known[i].hint;
	return NULL;
}

void acme_problem_parse(const json_t *doc, long status, long retry_after,
			struct acme_problem *p)
{
	const char *type = NULL, *detail = NULL;
	json_t *subs = NULL;

	memset(p, 0, sizeof(*p));
	p->status = status;
	if (json_is_object(doc)) {
		json_unpack((json_t *)doc, "{s?s, s?s, s?o}", "type", &type, "detail", &detail,
			    "subproblems", &subs);
	}
	short_type(p->type, sizeof(p->type), type);
	if (detail != NULL)
		show_text(p->detail, sizeof(p->detail), detail);
	p->retry_after = retry_after;
	if (json_is_array(subs)) {
		size_t i;
		json_t *s;
		json_array_foreach(subs, i, s) {
			const char *st = NULL, *sd = NULL, *iv = NULL;
			char t[64], d[256], v[128];
			if (p->nsub >= ACME_MAX_SUBPROBLEMS)
				break;
			json_unpack(s, "{s?s, s?s, s?{s?s}}", "type", &st, "detail", &sd, "identifier",
				    "value", &iv);
			short_type(t, sizeof(t), st);
			show_text(d, sizeof(d), sd != NULL ? sd : "");
			moat_escape(v, sizeof(v), iv != NULL ? iv : "", iv != NULL ? strlen(iv) : 0);
			snprintf(p->sub[p->nsub++], sizeof(p->sub[0]), "%.80s%s%.120s (%.40s)", v,
				 v[0] ? ": " : "", d, t);
		}
	}
}

void acme_problem_to_err(const struct acme_problem *p, const char *doing, struct moat_err *err)
{
	const char *hint = hint_for(p->type);
	char subs[MOAT_ERR_MSG] = "";

	for (size_t i = 0; i < p->nsub; i++) {
		size_t used = strlen(subs);
		snprintf(subs + used, sizeof(subs) - used, "%s%s", i ? "; " : " -- ", p->sub[i]);
	}
	if (p->type[0] == '\0' && p->detail[0] == '\0')
		moat_err_set(err, "%s: the ACME server answered HTTP %ld", doing, p->status);
	else
		moat_err_set(err, "%s: %s (%s)%.200s", doing,
			     p->detail[0] ? p->detail : "no detail given", p->type, subs);
	if (strcmp(p->type, "rateLimited") == 0) {
		if (p->retry_after > 0)
			moat_err_hint(err, "rate limited: try again in %ld minute%s", (p->retry_after + 59) / 60,
				      (p->retry_after + 59) / 60 == 1 ? "" : "s");
		else
			moat_err_hint(err, "rate limited: try again later (the CA did not say when)");
	} else if (hint != NULL) {
		moat_err_hint(err, "%s", hint);
	}
}
