/*
 * cli_check: the "etwhost check" verb, which validates a config folder
 * without running anything.
 */
#ifndef ETWHOST_CLI_CHECK_H
#define ETWHOST_CLI_CHECK_H

#include <stdio.h>

struct cfg;

/* The verb: "etwhost check -c DIR".  Exit status 0 (valid), 2 (usage or config error). */
int cli_check(int argc, char **argv);

/*
 * Print what a loaded configuration amounts to (files, directories, host
 * settings, sources, instances in chain order) to f.  Never prints setting
 * values, which may hold secrets expanded from the environment.  Call from
 * the control thread.
 */
void cli_check_summary(const struct cfg *c, FILE *f);

#endif
