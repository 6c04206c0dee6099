/* cmd_trust_store.c: moat trust install | uninstall | status -- the root
 * in this computer's trust stores (system, NSS, Java), one report line
 * per place. */
#include "cli/cli.h"

#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "ca/ca.h"
#include "core/home.h"
#include "trust/trust.h"

#define MAX_NSSDBS 16

enum mode { MODE_INSTALL, MODE_UNINSTALL, MODE_STATUS };

struct args {
	struct trust_opts o;
	const char *nssdbs[MAX_NSSDBS];
	bool json;
	char sudo_env[PATH_MAX + 32];
};

static int parse(const char *cmd, enum mode m, int argc, char **argv, struct args *a)
{
	static const struct option lopts[] = {
		{"store", required_argument, NULL, 's'},
		{"sysroot", required_argument, NULL, 'r'},
		{"nssdb", required_argument, NULL, 'n'},
		{"replace", no_argument, NULL, 'R'},
		{"json", no_argument, NULL, 'j'},
		{NULL, 0, NULL, 0},
	};
	struct moat_err err;
	bool have_store = false, named = false;
	int c;

	moat_err_clear(&err);
	optind = 0;
	while ((c = getopt_long(argc, argv, ":", lopts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (trust_store_parse(optarg, &a->o.stores, &err) != 0) {
				cli_fail(&err);
				return CLI_USAGE;
			}
			have_store = true;
			if (strstr(optarg, "all") == NULL)
				named = true;
			break;
		case 'r': a->o.sysroot = optarg; break;
		case 'n':
			if (a->o.nnssdbs == MAX_NSSDBS)
				return cli_usage_error(cmd, "at most %d --nssdb", MAX_NSSDBS);
			a->nssdbs[a->o.nnssdbs++] = optarg;
			break;
		case 'R':
			if (m != MODE_INSTALL)
				return cli_usage_error(cmd, "--replace is for moat trust install");
			a->o.replace = true;
			break;
		case 'j': a->json = true; break;
		default: return cli_bad_option(cmd, c, argv);
		}
	}
	if (optind != argc)
		return cli_usage_error(cmd, "unexpected argument \"%.40s\"", argv[optind]);
	if (!have_store) {
		/* Everything found; with --sysroot the image's stores (NSS
		 * databases belong to users, not to an image), plus --nssdb. */
		a->o.stores = a->o.sysroot != NULL ? TRUST_STORE_SYSTEM | TRUST_STORE_JAVA
						   : TRUST_STORE_ALL;
		if (a->o.nnssdbs > 0)
			a->o.stores |= TRUST_STORE_NSS;
	}
	a->o.strict = have_store;
	a->o.named = named;
	a->o.nssdbs = a->nssdbs;
	a->o.home = getenv("HOME");
	return CLI_OK;
}

/* "MOAT_HOME=..." for hints that run moat under sudo (whose HOME differs). */
static void sudo_env(struct args *a)
{
	/* what a shell takes as it is, unquoted */
	static const char plain[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				    "0123456789/._-+:@%,";
	char home[PATH_MAX];
	struct moat_err e;

	moat_err_clear(&e);
	if (moat_home_dir(home, sizeof(home), &e) != 0 || home[strspn(home, plain)] != '\0')
		return;
	snprintf(a->sudo_env, sizeof(a->sudo_env), "MOAT_HOME=%.*s", PATH_MAX, home);
	a->o.sudo_env = a->sudo_env;
}

static const char *label(enum mode m, const struct trust_place *p)
{
	/* the state in the words of the JSON "state" (docs/trust.md) */
	if (m == MODE_STATUS || p->outcome == TRUST_NONE)
		return trust_state_name(p->state);
	switch (p->outcome) {
	case TRUST_ADDED: return "added";
	case TRUST_ALREADY: return m == MODE_INSTALL ? "already" : "absent";
	case TRUST_REMOVED: return "removed";
	case TRUST_SKIPPED: return "skipped";
	case TRUST_FAILED: return "FAILED";
	case TRUST_NOT_DONE: return "not done";
	case TRUST_UNDONE: return "undone";
	case TRUST_NONE: break;
	}
	return "?";
}

static void print_human(enum mode m, const struct trust_set *s, const char *ca)
{
	printf("Root \"%s\"  SHA-256 %s\n", ca, trust_set_fingerprint(s));
	for (size_t i = 0; i < trust_set_count(s); i++) {
		const struct trust_place *p = trust_set_place(s, i);
		bool problem = p->outcome == TRUST_SKIPPED || p->outcome == TRUST_FAILED ||
			       (m == MODE_STATUS && p->state == TRUST_UNAVAILABLE);

		printf("  %-6s %-8s %-11s %s", trust_store_name(p->store), p->kind, label(m, p),
		       p->path);
		if (problem && p->why[0] != '\0')
			printf(": %s", p->why);
		else if (p->detail[0] != '\0' && p->state == TRUST_FOREIGN)
			printf(" (holds another certificate, SHA-256 %.23s...)", p->detail);
		else if (p->detail[0] != '\0')
			printf(" (%s)", p->detail);
		putchar('\n');
		if (problem && p->hint[0] != '\0')
			printf("  %-6s %-8s %-11s hint: %s\n", "", "", "", p->hint);
	}
}

static json_t *to_json(enum mode m, const struct trust_set *s, const char *ca, bool ok)
{
	json_t *places = json_array();

	for (size_t i = 0; places != NULL && i < trust_set_count(s); i++) {
		const struct trust_place *p = trust_set_place(s, i);
		json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
				      "store", trust_store_name(p->store), "kind", p->kind,
				      "path", p->path, "state", trust_state_name(p->state),
				      "outcome", m == MODE_STATUS ? "none" : trust_outcome_name(p->outcome),
				      "detail", p->detail, "reason", p->why, "hint", p->hint);
		if (o == NULL || json_array_append_new(places, o) != 0) {
			json_decref(places);
			return NULL;
		}
	}
	if (places == NULL)
		return NULL;
	return json_pack("{s:{s:s, s:s, s:s}, s:o, s:b, s:b}",
			 "root", "name", ca, "sha256", trust_set_fingerprint(s),
			 "nickname", trust_set_nickname(s), "places", places, "ok", ok,
			 "trusted", trust_set_trusted(s));
}

int cli_trust_store(int argc, char **argv)
{
	enum mode m = strcmp(argv[0], "install") == 0     ? MODE_INSTALL
		      : strcmp(argv[0], "uninstall") == 0 ? MODE_UNINSTALL
							  : MODE_STATUS;
	char cmd[32];
	struct args a;
	struct moat_err err;
	struct ca *ca = NULL;
	struct trust_set *s = NULL;
	int rc = 0, ret = CLI_FAIL;

	memset(&a, 0, sizeof(a));
	moat_err_clear(&err);
	snprintf(cmd, sizeof(cmd), "trust %.20s", argv[0]);
	if ((rc = parse(cmd, m, argc, argv, &a)) != CLI_OK)
		return rc;
	if (m != MODE_STATUS)
		sudo_env(&a);
	if (cli_ca_open(false, NULL, &ca, &err) != 0 ||
	    (s = trust_set_scan(&a.o, ca_root(ca), ca_name(ca), &err)) == NULL)
		goto out;
	if (m != MODE_STATUS)
		rc = m == MODE_INSTALL ? trust_set_install(s, &err) : trust_set_uninstall(s, &err);
	if (a.json) {
		ret = cli_json_print(to_json(m, s, ca_name(ca), rc == 0));
		moat_err_clear(&err); /* the document says what failed */
	} else {
		print_human(m, s, ca_name(ca));
		ret = CLI_OK;
	}
	/* status: 0 when trusted in every store found, 1 otherwise (for scripts). */
	if (ret == CLI_OK && (rc != 0 || (m == MODE_STATUS && !trust_set_trusted(s))))
		ret = CLI_FAIL;
out:
	trust_set_free(s);
	ca_free(ca);
	return ret == CLI_OK ? CLI_OK : (err.msg[0] ? cli_fail(&err) : ret);
}
