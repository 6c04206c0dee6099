/* cmd_trust_share.c: moat trust share (stub, being written). */
#include "cli/cli.h"

int cli_trust_share(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cli_usage_error("trust share", "not yet");
}
