/*
 * cli: the etwhost verbs.  Each verb is a function taking the arguments
 * after the verb name (argv[0] is the verb) and returning the process exit
 * status: 0 success, 1 runtime failure, 2 usage or configuration error.
 */
#ifndef ETWHOST_CLI_H
#define ETWHOST_CLI_H

struct cli_verb {
    const char *name;
    const char *summary;
    int (*fn)(int argc, char **argv);
};

/* The verb table (cli_verbs.c), terminated by a NULL name. */
extern const struct cli_verb cli_verbs[];

/* Print the top-level usage to f (stdout for --help, stderr on errors). */
void cli_usage(void *f);

/* Verbs (one file each). */
int cli_run(int argc, char **argv);
int cli_plugins(int argc, char **argv);
int cli_dump(int argc, char **argv);
int cli_convert(int argc, char **argv);

#define CLI_EXIT_OK 0
#define CLI_EXIT_FAIL 1
#define CLI_EXIT_USAGE 2

#endif
