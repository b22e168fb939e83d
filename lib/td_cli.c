#include "td_cli.h"

#include <getopt.h>
#include <stddef.h>

int td_cli_parse(int argc, char **argv, const char *program, const char *version,
                 void (*usage)(FILE *f), td_cli *ret)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"check-config", no_argument, NULL, 'k'},
        {"connect", no_argument, NULL, 'n'},
        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    td_cli cli = {NULL, false, false};
    int opt;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "c:Vh", opts, NULL)) != -1) {
        switch (opt) {
        case 'c': cli.config = optarg; break;
        case 'k': cli.check = true; break;
        case 'n': cli.connect = true; break;
        case 'V': printf("%s %s\n", program, version); return 0;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (!cli.config || optind != argc || (cli.connect && !cli.check)) {
        usage(stderr);
        return 2;
    }
    *ret = cli;
    return -1;
}
