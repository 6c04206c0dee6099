/* main.c: git-style subcommands. */
#include "cli/cli.h"

#include <getopt.h>
#include <string.h>
#include <sys/stat.h>

#include "moat_config.h"
#include "pki/pki.h"

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
};

static const struct command commands[] = {
	{"ca", cli_cmd_ca},         {"issue", cli_cmd_issue},   {"csr", cli_cmd_csr},
	{"sign", cli_cmd_sign},     {"revoke", cli_cmd_revoke}, {"crl", cli_cmd_crl},
	{"inspect", cli_cmd_inspect}, {"trust", cli_cmd_trust}, {"help", cli_cmd_help},
	{"acme", cli_cmd_acme},     {"config", cli_cmd_config}, {"fetch", cli_cmd_fetch},
	{"check", cli_cmd_check},   {"ocsp", cli_cmd_ocsp},     {"serve", cli_cmd_serve},
};

int main(int argc, char **argv)
{
	struct moat_err err;

	/* Files get the modes moat gives them (keys 0600, certificates 0644). */
	umask(022);
	if (argc < 2) {
		cli_help(NULL, stderr);
		return CLI_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return cli_help(NULL, stdout);
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
		printf("moat %s\n", MOAT_VERSION);
		return CLI_OK;
	}
	moat_err_clear(&err);
	if (pki_init(&err) != 0)
		return cli_fail(&err);
	opterr = 0; /* commands report bad options themselves */
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[1], commands[i].name) != 0)
			continue;
		/* ca and trust have subcommands and answer --help themselves */
		if (strcmp(argv[1], "ca") != 0 && strcmp(argv[1], "trust") != 0 &&
		    strcmp(argv[1], "acme") != 0 &&
		    strcmp(argv[1], "help") != 0 && cli_wants_help(argc - 1, argv + 1))
			return cli_help(argv[1], stdout);
		return commands[i].run(argc - 1, argv + 1);
	}
	return cli_usage_error(NULL, "unknown command \"%.40s\"", argv[1]);
}
