/*
 * cli_verbs: the table of verbs and the top-level usage text.
 */
#include <stdio.h>

#include "cli.h"

#include "cli_archive.h"
#include "cli_check.h"
#include "cli_live.h"

const struct cli_verb cli_verbs[] = {
    {"run", "run a config folder: sources -> filters -> sinks", cli_run},
    {"plugins", "list plugins and their ABI; --check FILE validates one", cli_plugins},
    {"dump", "decode .etl files or archives to canonical JSON lines on stdout", cli_dump},
    {"convert", "convert .etl files or archives to JSON lines or an archive", cli_convert},
    {"check", "validate a config folder and show what it sets up", cli_check},
    {"archive", "verify, repair or describe an event archive (.etwa)", cli_archive},
    {"sessions", "list running ETW sessions, their buffers and losses (Windows)", cli_sessions},
    {"stop", "stop an ETW session by name (Windows)", cli_stop},
    {"providers", "list registered ETW providers; --system, --kernel-flags", cli_providers},
    {"autologger", "create, delete, show or list AutoLogger sessions (Windows)", cli_autologger},
    {"service", "install, uninstall or run etwhost as a Windows service", cli_service},
    {NULL, NULL, NULL},
};

void cli_usage(void *fp)
{
    FILE *f = fp;
    fprintf(f, "usage: etwhost <command> [options]\n\ncommands:\n");
    for (const struct cli_verb *v = cli_verbs; v->name; v++)
        fprintf(f, "  %-12s %s\n", v->name, v->summary);
    fprintf(f, "\nRun 'etwhost <command> --help' for the options of a command.\n");
}
