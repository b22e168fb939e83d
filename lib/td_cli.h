/* td_cli: the command line every tuodi program shares:
 *
 *   PROGRAM --config FILE [--check-config [--connect]]
 *   PROGRAM --version | --help
 *
 * usage(f) prints the program's own text (for --help on stdout, for a usage
 * error on stderr). Exit status convention: 0 fine, 1 runtime failure,
 * 2 usage or config error.
 */
#ifndef TD_CLI_H
#define TD_CLI_H

#include <stdbool.h>
#include <stdio.h>

typedef struct td_cli {
    const char *config; /* the --config argument (points into argv) */
    bool check;         /* --check-config */
    bool connect;       /* --connect: with --check-config only; also reach
                           the brokers and look for the topics */
} td_cli;

/* Parses argv into *ret. Returns -1 when the program should go on, or the
 * exit status to return at once: 0 after --help or --version (printed as
 * "<program> <version>"), 2 on a usage error (usage printed to stderr;
 * --connect without --check-config is one). */
int td_cli_parse(int argc, char **argv, const char *program, const char *version,
                 void (*usage)(FILE *f), td_cli *ret);

#endif
