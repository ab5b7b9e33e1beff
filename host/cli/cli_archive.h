/*
 * cli_archive: the `archive` verb (verify, repair, info; see cli_archive.c).
 * Returns the process exit status like every verb (cli.h).
 */
#ifndef ETWHOST_CLI_ARCHIVE_H
#define ETWHOST_CLI_ARCHIVE_H

int cli_archive(int argc, char **argv);

#endif
