/*
 * cli_live: the live-ETW verbs (`etwhost sessions`, `stop`, `providers`,
 * `autologger`, `service`).  They work through etw_api_get(); without
 * Windows they print one line saying so and exit 2 (except the static
 * tables: `providers --system` and `providers --kernel-flags`).
 *
 * cli_live_verb() is the body of every verb with explicit output streams,
 * so tests run the verbs in-process against a fake etw_api.
 */
#ifndef ETWHOST_CLI_LIVE_H
#define ETWHOST_CLI_LIVE_H

#include <stdio.h>

/* Run verb ("sessions", "stop", ...) with argv[0] the verb; exit status (cli.h). */
int cli_live_verb(const char *verb, int argc, char **argv, FILE *out, FILE *err);

int cli_sessions(int argc, char **argv);
int cli_stop(int argc, char **argv);
int cli_providers(int argc, char **argv);
int cli_autologger(int argc, char **argv);
int cli_service(int argc, char **argv);

#endif
