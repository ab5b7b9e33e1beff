/*
 * etwhost: collect, decode, filter and ship Event Tracing for Windows events.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "config/config.h"
#include "platform/platform.h"
#include "platform/platform.h"

int main(int argc, char **argv)
{
    plat_utf8_args(&argc, &argv);
    plat_init();
    /* jansson allocates through the host's wrapper from the first use on. */
    cfg_global_init();
    if (argc < 2) {
        cli_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    const char *verb = argv[1];
    if (strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0 || strcmp(verb, "help") == 0) {
        cli_usage(stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(verb, "--version") == 0 || strcmp(verb, "version") == 0) {
        printf("etwhost %s\n", ETWHOST_VERSION);
        return CLI_EXIT_OK;
    }
    for (const struct cli_verb *v = cli_verbs; v->name; v++)
        if (strcmp(v->name, verb) == 0)
            return v->fn(argc - 1, argv + 1);
    fprintf(stderr, "etwhost: unknown command '%s' (try 'etwhost --help')\n", verb);
    return CLI_EXIT_USAGE;
}
