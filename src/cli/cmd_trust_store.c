/* cmd_trust_store.c: stub. */
#include "cli/cli.h"

int cli_trust_install(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cli_usage_error("trust install", "not yet");
}

int cli_trust_status(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cli_usage_error("trust status", "not yet");
}
