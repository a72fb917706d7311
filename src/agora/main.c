/* agora: the administration tool. Parses the global options and hands the
 * rest to the command dispatcher (cmd.c). */
#include "agora/cmd.h"
#include "lib/log.h"

#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	const char *config_path = AGORA_DEFAULT_CONFIG;
	int opt;

	log_set_role("agora");
	/* '+': options end at the command, so its own arguments may start
	 * with '-' without getopt taking them. */
	while ((opt = getopt(argc, argv, "+C:h")) != -1) {
		switch (opt) {
		case 'C':
			config_path = optarg;
			break;
		case 'h':
			return cmd_dispatch(config_path, 1, (char *[]){ "help", NULL });
		default:
			fprintf(stderr, "usage: agora [-C FILE] COMMAND SUBCOMMAND [ARGS...] (agora help)\n");
			return CMD_BAD_INPUT;
		}
	}
	return cmd_dispatch(config_path, argc - optind, argv + optind);
}
