/* tuodi-sample: Huainan sample data with known answers (tools/sample,
 * docs/sample-data.md). A thin main over tds_sample. */
#include "tds_sample.h"

#include "td_date.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef TUODI_VERSION
#define TUODI_VERSION "0"
#endif

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: tuodi-sample --out DIR [--seed N] [--households N] [--today YYYY-MM-DD]\n"
            "       tuodi-sample --version | --help\n"
            "\n"
            "Writes Huainan sample data with known answers into DIR: the roster and the\n"
            "civil affairs, medical insurance and human resources files (with their .done\n"
            "markers) and DIR/expected/{alerts,rejected,scenarios}.csv. The same seed,\n"
            "households and today give byte-identical files (docs/sample-data.md).\n"
            "\n"
            "  --out DIR          output directory (created; files in it are replaced)\n"
            "  --seed N           random seed (default 1)\n"
            "  --households N     roster households, at least %d (default 500)\n"
            "  --today DATE       the date event dates are relative to (default: today in\n"
            "                     China, UTC+8)\n"
            "\n"
            "Exit status: 0 done, 1 failure while writing, 2 usage error.\n",
            TDS_MIN_HOUSEHOLDS);
}

static int parse_i64(const char *s, int64_t *ret)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < 0)
        return -1;
    *ret = v;
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"out", required_argument, NULL, 'o'},   {"seed", required_argument, NULL, 's'},
        {"households", required_argument, NULL, 'n'}, {"today", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    tds_options opt = {.seed = 1, .households = 500};
    tds_stats st;
    td_error err = {0};
    int64_t v;
    int c;

    opt.today = (int32_t)((time(NULL) + 8 * 3600) / 86400);
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'o':
            opt.out_dir = optarg;
            break;
        case 's':
            if (parse_i64(optarg, &v) < 0) {
                fprintf(stderr, "tuodi-sample: --seed: not a number: %s\n", optarg);
                return 2;
            }
            opt.seed = (uint64_t)v;
            break;
        case 'n':
            if (parse_i64(optarg, &v) < 0 || v < TDS_MIN_HOUSEHOLDS || v > 10000000) {
                fprintf(stderr, "tuodi-sample: --households: give %d to 10000000\n",
                        TDS_MIN_HOUSEHOLDS);
                return 2;
            }
            opt.households = v;
            break;
        case 't':
            if (td_date_parse(optarg, strlen(optarg), &opt.today) < 0) {
                fprintf(stderr, "tuodi-sample: --today: not a date (YYYY-MM-DD): %s\n", optarg);
                return 2;
            }
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("tuodi-sample %s\n", TUODI_VERSION);
            return 0;
        default:
            fprintf(stderr, "tuodi-sample: unknown or incomplete option: %s\n",
                    argv[optind - 1]);
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc || !opt.out_dir) {
        fprintf(stderr, "tuodi-sample: %s\n",
                optind < argc ? "unexpected argument" : "--out DIR is required");
        usage(stderr);
        return 2;
    }
    if (tds_generate(&opt, &st, &err) < 0) {
        fprintf(stderr, "tuodi-sample: %s\n", err.msg);
        return err.code == -EINVAL ? 2 : 1;
    }
    printf("tuodi-sample: %" PRId64 " households, %" PRId64 " people, %" PRId64
           " department rows; expected %" PRId64 " alerts, %" PRId64 " suspects and %" PRId64
           " rejected rows\n",
           st.households, st.people, st.records, st.alerts, st.suspects, st.rejected);
    return 0;
}
