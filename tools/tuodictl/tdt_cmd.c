/* tdt_cmd: tuodictl's command line and its commands. */
#include "tdt.h"

#include "td_log.h"
#include "td_path.h"
#include "td_suggest.h"
#include "td_time.h"

#include <stdarg.h>

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#ifndef TUODI_VERSION
#define TUODI_VERSION "unknown"
#endif

/* Every message to the error stream goes through here: what the user typed
 * is echoed in some, and an identity number typed by mistake (as an alert
 * id, say) must not be repeated (td_log_redact masks it). */
static void tdt_errf(FILE *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tdt_errf(FILE *f, const char *fmt, ...)
{
    char buf[TD_ERROR_MSG_MAX + 1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    td_log_redact(buf);
    fputs(buf, f);
}

/* ---- the context every command shares ---- */

typedef struct tdt_ctx {
    const char *config_path;
    const char *prefix;
    bool verbose;      /* -v: librdkafka's own lines too */
    tdt_config cfg;
    FILE *out, *errf;
} tdt_ctx;

/* ---- option parsing (re-entrant: the tests call tdt_main many times) ---- */

typedef struct tdt_opt {
    const char *name;  /* long name without "--" */
    char shortc;       /* 0: none */
    const char **val;  /* takes an argument; NULL: a flag */
    bool *flag;
} tdt_opt;

/* The option of opts, then of common, that a names; *inl: its "=value". */
static const tdt_opt *tdt_opt_find(const tdt_opt *const *lists, const char *a, const char **inl,
                                   bool *bad_value)
{
    *inl = NULL;
    *bad_value = false;
    for (size_t l = 0; lists[l]; l++)
        for (const tdt_opt *p = lists[l]; p->name; p++) {
            size_t n = strlen(p->name);
            if (a[1] == '-' && strncmp(a + 2, p->name, n) == 0 &&
                (a[2 + n] == '\0' || a[2 + n] == '=')) {
                if (a[2 + n] == '=') {
                    *inl = a + 3 + n;
                    *bad_value = !p->val; /* a flag takes no value */
                }
                return p;
            }
            if (a[1] != '-' && p->shortc && a[1] == p->shortc && a[2] == '\0')
                return p;
        }
    return NULL;
}

/* The long option closest to a (--countyy: county), or NULL. */
static const char *tdt_opt_suggest(const tdt_opt *const *lists, const char *a)
{
    char word[64];
    const char *best = NULL;
    size_t best_d = 3;
    if (a[0] != '-' || a[1] != '-')
        return NULL;
    snprintf(word, sizeof(word), "%.*s", (int)strcspn(a + 2, "="), a + 2);
    for (size_t l = 0; lists[l]; l++)
        for (const tdt_opt *p = lists[l]; p->name; p++) {
            size_t d = td_edit_distance(word, p->name, 2);
            if (d < best_d && d < strlen(word)) {
                best = p->name;
                best_d = d;
            }
        }
    return best;
}

/* Parses argv[0..argc): options of opts, the options every command takes
 * (--config, --prefix, -v; also before the command), and up to maxpos
 * positionals. Returns -1 to go on, or an exit status after printing to
 * errf. */
static int tdt_parse(tdt_ctx *x, int argc, char **argv, const tdt_opt *opts, const char **pos,
                     size_t maxpos, size_t *npos, const char *cmd)
{
    const tdt_opt common[] = {{"config", 'c', &x->config_path, NULL},
                              {"prefix", 0, &x->prefix, NULL},
                              {"verbose", 'v', NULL, &x->verbose},
                              {NULL, 0, NULL, NULL}};
    const tdt_opt *const lists[] = {opts, common, NULL};
    FILE *errf = x->errf;
    bool only_pos = false;
    *npos = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const tdt_opt *o;
        const char *inl;
        bool bad_value;
        if (only_pos || a[0] != '-' || a[1] == '\0') {
            if (*npos >= maxpos) {
                tdt_errf(errf, "tuodictl %s: unexpected argument \"%s\" (see tuodictl %s "
                        "--help)\n", cmd, a, cmd);
                return TDT_EXIT_USAGE;
            }
            pos[(*npos)++] = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            only_pos = true;
            continue;
        }
        o = tdt_opt_find(lists, a, &inl, &bad_value);
        if (!o) {
            const char *near = tdt_opt_suggest(lists, a);
            tdt_errf(errf, "tuodictl %s: unknown option %s%s%s%s (see tuodictl %s --help)\n",
                    cmd, a, near ? "; did you mean --" : "", near ? near : "", near ? "?" : "",
                    cmd);
            return TDT_EXIT_USAGE;
        }
        if (bad_value) {
            tdt_errf(errf, "tuodictl %s: --%s takes no value (see tuodictl %s --help)\n", cmd,
                    o->name, cmd);
            return TDT_EXIT_USAGE;
        }
        if (o->val) {
            if (!inl) {
                const char *nx = i + 1 < argc ? argv[i + 1] : NULL;
                const char *ninl;
                bool nbad;
                /* "--county --all": the value is missing, not "--all" */
                if (!nx || (nx[0] == '-' && nx[1] != '\0' &&
                            (strcmp(nx, "--") == 0 || tdt_opt_find(lists, nx, &ninl, &nbad)))) {
                    tdt_errf(errf, "tuodictl %s: --%s needs a value (see tuodictl %s --help)\n",
                            cmd, o->name, cmd);
                    return TDT_EXIT_USAGE;
                }
                inl = argv[++i];
            }
            *o->val = inl;
        } else {
            *o->flag = true;
        }
    }
    return -1;
}

static int tdt_ctx_load(tdt_ctx *x)
{
    td_error err = {0};
    int r;
    if (x->prefix && (!*x->prefix || strchr(x->prefix, '/'))) {
        tdt_errf(x->errf, "tuodictl: --prefix must be a non-empty topic name part\n");
        return TDT_EXIT_USAGE;
    }
    memset(&x->cfg, 0, sizeof(x->cfg));
    r = tdt_config_load(x->config_path, &x->cfg, &err);
    if (r < 0) {
        tdt_errf(x->errf, "%s\n", err.msg);
        if (r != -EINVAL)
            tdt_errf(x->errf, "tuodictl: give the config file with --config FILE or "
                    "TUODI_CONFIG=FILE (default %s)\n", TDT_DEFAULT_CONFIG);
        return TDT_EXIT_USAGE;
    }
    x->cfg.verbose = x->verbose;
    /* --prefix wins over topic_prefix: in the config. */
    if (tdt_config_set_prefix(&x->cfg, x->prefix ? x->prefix : x->cfg.topic_prefix) < 0) {
        tdt_errf(x->errf, "tuodictl: out of memory\n");
        return TDT_EXIT_FAILURE;
    }
    return 0;
}

/* Status for a failed Kafka or file operation. */
static int tdt_fail(tdt_ctx *x, const td_error *err, int r)
{
    tdt_errf(x->errf, "tuodictl: %s\n", td_error_msg(err));
    return r == -EINVAL ? TDT_EXIT_USAGE : TDT_EXIT_FAILURE;
}

static bool tdt_county_ok(const char *s)
{
    if (strlen(s) != 6)
        return false;
    for (int i = 0; i < 6; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

static int tdt_today(tdt_ctx *x, const char *cmd, const char *s, int32_t *ret)
{
    td_error err = {0};
    if (!s) {
        *ret = tdt_day_cst(td_time_wall_ms());
        return 0;
    }
    if (tdt_date_arg("--today", s, ret, &err) < 0) {
        tdt_errf(x->errf, "tuodictl %s: %s\n", cmd, err.msg);
        return TDT_EXIT_USAGE;
    }
    return 0;
}

/* ---- county and township codes, against the places file ---- */

static const char *tdt_or(const char *s, const char *dflt)
{
    return s && *s ? s : dflt;
}

#define TDT_SUGGEST_MAX 5
#define TDT_LIST_MAX 12

/* The places file of the config, loaded without a word (NULL when the
 * config or the file cannot be read): only to suggest codes in a usage
 * error found before the config is loaded. */
static tdt_places *tdt_places_quiet(const tdt_ctx *x)
{
    tdt_config c;
    td_error err = {0};
    tdt_places *p = NULL;
    memset(&c, 0, sizeof(c));
    if (tdt_config_load(x->config_path, &c, &err) == 0)
        (void)tdt_places_load(c.places, &p, &err);
    tdt_config_free(&c);
    return p;
}

/* "340421 凤台县, 340422 寿县" (sep before the last: " or " or ", "). */
static void tdt_put_places(FILE *f, const tdt_places *p, const char *const *codes, size_t n,
                           const char *last_sep)
{
    for (size_t i = 0; i < n; i++) {
        const char *name = tdt_places_name(p, codes[i]);
        fprintf(f, "%s%s%s%s", i == 0 ? "" : i + 1 == n ? last_sep : ", ", codes[i],
                name ? " " : "", name ? name : "");
    }
}

/* "; did you mean ...?" with the counties (county NULL) or townships of
 * county closest to what, else "; the counties are ..." (all of them, or the
 * first TDT_LIST_MAX and how many more). */
static void tdt_put_suggestions(FILE *f, const tdt_places *p, const char *county, const char *what)
{
    const char *codes[TDT_LIST_MAX];
    size_t n, total;
    if (!p)
        return;
    n = tdt_places_suggest(p, county, what, codes, TDT_SUGGEST_MAX);
    if (n > 0) {
        fputs("; did you mean ", f);
        tdt_put_places(f, p, codes, n, " or ");
        fputc('?', f);
        return;
    }
    total = tdt_places_list(p, county, codes, TDT_LIST_MAX);
    if (total == 0)
        return;
    if (county)
        fprintf(f, "; the townships of %s %s are ", county, tdt_or(tdt_places_name(p, county), ""));
    else
        fputs("; the counties are ", f);
    n = total < TDT_LIST_MAX ? total : TDT_LIST_MAX;
    tdt_put_places(f, p, codes, n, total > n ? ", " : " and ");
    if (total > n)
        fprintf(f, " and %zu more (see %s)", total - n, tdt_places_path(p));
}

/* Prints the text of f (an open_memstream) to x->errf and closes it. */
static int tdt_usage_msg(tdt_ctx *x, FILE *f, char **buf)
{
    fputc('\n', f);
    fclose(f);
    tdt_errf(x->errf, "%s", *buf ? *buf : "");
    free(*buf);
    return TDT_EXIT_USAGE;
}

/* Checks a --county value as typed: 6 digits, and a county of places (NULL:
 * only the form is checked now; when it is wrong, the places file is read
 * quietly for suggestions). unrouted_ok: "unrouted" is a county too (the
 * queue of alerts without a village). Returns -1 to go on, else the exit
 * status, after saying what is wrong and which counties come close. */
static int tdt_county_arg(tdt_ctx *x, const char *cmd, const char *county, bool unrouted_ok,
                          const tdt_places *places)
{
    tdt_places *loaded = NULL;
    bool form = tdt_county_ok(county);
    size_t n = strlen(county);
    char *buf = NULL;
    size_t len = 0;
    FILE *f;

    if (unrouted_ok && strcmp(county, "unrouted") == 0)
        return -1;
    if (form && (!places || tdt_places_level(places, county) == TDT_LEVEL_COUNTY))
        return -1;
    if (!places)
        places = loaded = tdt_places_quiet(x);
    f = open_memstream(&buf, &len);
    if (!f) {
        tdt_places_free(loaded);
        return TDT_EXIT_FAILURE;
    }
    if (n == 0)
        fprintf(f, "tuodictl %s: --county needs a value: a county code (6 digits)%s", cmd,
                unrouted_ok ? " or unrouted" : "");
    else if (form)
        fprintf(f, "tuodictl %s: --county %s: no such county in the places file %s", cmd,
                county, tdt_places_path(places));
    else if (strspn(county, "0123456789") == n)
        fprintf(f, "tuodictl %s: --county %s: a county code has 6 digits, not %zu", cmd, county,
                n);
    else
        fprintf(f, "tuodictl %s: --county %s: expected a county code (6 digits, e.g. 340421)%s",
                cmd, county, unrouted_ok ? " or unrouted" : "");
    tdt_put_suggestions(f, places, NULL, county);
    tdt_places_free(loaded);
    return tdt_usage_msg(x, f, &buf);
}

/* Checks --township as typed: 9 digits, a township of county in places
 * (NULL: the form only, as tdt_county_arg). Returns -1 or the exit status. */
static int tdt_township_arg(tdt_ctx *x, const char *cmd, const char *county,
                            const char *township, const tdt_places *places)
{
    tdt_places *loaded = NULL;
    size_t n = strlen(township);
    bool form = n == 9 && strspn(township, "0123456789") == 9;
    char cname[160], *buf = NULL;
    size_t len = 0;
    FILE *f;

    if (strcmp(county, "unrouted") == 0) {
        tdt_errf(x->errf, "tuodictl %s: --township goes with a county code, not with "
                "--county unrouted (alerts and suspects without a village have no "
                "township)\n", cmd);
        return TDT_EXIT_USAGE;
    }
    if (form && strncmp(township, county, 6) == 0 &&
        (!places || tdt_places_level(places, township) == TDT_LEVEL_TOWNSHIP))
        return -1;
    if (!places)
        places = loaded = tdt_places_quiet(x);
    f = open_memstream(&buf, &len);
    if (!f) {
        tdt_places_free(loaded);
        return TDT_EXIT_FAILURE;
    }
    snprintf(cname, sizeof(cname), "%s%s%s", county, tdt_places_name(places, county) ? " " : "",
             tdt_or(tdt_places_name(places, county), ""));
    if (n == 0) {
        fprintf(f, "tuodictl %s: --township needs a value: a township code (9 digits)", cmd);
    } else if (form && tdt_places_level(places, township) == TDT_LEVEL_TOWNSHIP) {
        char other[7];
        snprintf(other, sizeof(other), "%.6s", township);
        fprintf(f, "tuodictl %s: --township %s (%s) is in %s %s, not in %s", cmd, township,
                tdt_places_name(places, township), other, tdt_or(tdt_places_name(places, other),
                ""), cname);
    } else if (form && strncmp(township, county, 6) != 0) {
        fprintf(f, "tuodictl %s: --township %s is not in %s: a township's code starts with "
                "its county's", cmd, township, cname);
    } else if (form) {
        fprintf(f, "tuodictl %s: --township %s: no such township of %s in the places file "
                "%s", cmd, township, cname, tdt_places_path(places));
    } else if (strspn(township, "0123456789") == n) {
        fprintf(f, "tuodictl %s: --township %s: a township code has 9 digits, not %zu",
                cmd, township, n);
    } else {
        fprintf(f, "tuodictl %s: --township %s: expected a township code (9 digits, e.g. "
                "340421100)", cmd, township);
    }
    tdt_put_suggestions(f, places, county, township);
    tdt_places_free(loaded);
    return tdt_usage_msg(x, f, &buf);
}

/* Checks --village as typed: 12 digits, in county (and in township when
 * given), a village of places (NULL: the form only). Returns -1 or the exit
 * status. */
static int tdt_village_arg(tdt_ctx *x, const char *cmd, const char *county,
                           const char *township, const char *village, const tdt_places *places)
{
    size_t n = strlen(village);
    bool form = n == 12 && strspn(village, "0123456789") == 12;

    if (!form) {
        tdt_errf(x->errf, "tuodictl %s: --village %s: expected a village code (12 digits, e.g. "
                "340421100001)\n", cmd, village);
        return TDT_EXIT_USAGE;
    }
    if (strncmp(village, county, 6) != 0 || (township && strncmp(village, township, 9) != 0)) {
        tdt_errf(x->errf, "tuodictl %s: --village %s is not in %s %s: a village's code starts "
                "with its township's and county's\n", cmd, village, township ? "township" :
                "county", township ? township : county);
        return TDT_EXIT_USAGE;
    }
    if (places && tdt_places_level(places, village) != TDT_LEVEL_VILLAGE) {
        tdt_errf(x->errf, "tuodictl %s: --village %s: no such village in the places file %s\n",
                cmd, village, tdt_places_path(places));
        return TDT_EXIT_USAGE;
    }
    return -1;
}

/* ---- topics ---- */

static void tdt_topics_usage(FILE *f)
{
    fprintf(f,
            "Usage: tuodictl [--config FILE] [--prefix P] topics create [--dry-run]\n"
            "                [--file TOPICS.yaml] [--replication-factor N]\n"
            "\n"
            "Creates every topic of the topics file (topics_file: in the config, e.g.\n"
            "/etc/tuodi/topics.yaml) with its partitions, replication factor, cleanup policy\n"
            "and retention. Idempotent: a topic that exists with the same partitions and\n"
            "cleanup policy is \"exists, ok\"; one with other partitions or another policy is\n"
            "a CONFLICT (reported, not changed; exit 1). A different retention is reported.\n"
            "\n"
            "  --dry-run                 ask the broker, say what would be created, create nothing\n"
            "  --file FILE               the topics file instead of topics_file:\n"
            "  --replication-factor N    override every topic's replication factor (e.g. 1\n"
            "                            on a single test broker)\n"
            "  --prefix P                (before the command) topic names start with P. instead\n"
            "                            of tuodi.\n"
            "\n"
            "Exit status: 0 every topic created or ok, 1 a conflict or Kafka failure,\n"
            "2 usage or config error.\n");
}

static int tdt_cmd_topics(tdt_ctx *x, int argc, char **argv)
{
    const char *file = NULL, *rf_s = NULL, *pos[1];
    bool dry = false, help = false;
    size_t npos;
    tdt_opt opts[] = {{"dry-run", 0, NULL, &dry},
                      {"file", 'f', &file, NULL},
                      {"replication-factor", 0, &rf_s, NULL},
                      {"help", 'h', NULL, &help},
                      {NULL, 0, NULL, NULL}};
    tdt_topics_file tf;
    tdt_topic_plan *plan = NULL;
    size_t nplan = 0;
    td_error err = {0};
    long rf = 0;
    int r;

    r = tdt_parse(x, argc, argv, opts, pos, 1, &npos, "topics");
    if (r >= 0)
        return r;
    if (help) {
        tdt_topics_usage(x->out);
        return TDT_EXIT_OK;
    }
    if (npos != 1 || strcmp(pos[0], "create") != 0) {
        if (npos == 0)
            tdt_errf(x->errf, "tuodictl topics: what to do? \"tuodictl topics create\" is the "
                    "one subcommand (see tuodictl topics --help)\n");
        else
            tdt_errf(x->errf, "tuodictl topics: unknown subcommand \"%s\": \"create\" is the "
                    "one there is (see tuodictl topics --help)\n", pos[0]);
        return TDT_EXIT_USAGE;
    }
    if (rf_s) {
        char *end;
        errno = 0;
        rf = strtol(rf_s, &end, 10);
        if (!*rf_s || *end || errno || rf < 1 || rf > 16) {
            tdt_errf(x->errf, "tuodictl topics create: --replication-factor %s: expected a "
                    "whole number from 1 to 16 (at most the number of brokers)\n", rf_s);
            return TDT_EXIT_USAGE;
        }
    }
    if ((r = tdt_ctx_load(x)) != 0)
        return r;
    if (!rf)
        rf = (long)x->cfg.replication_factor;
    memset(&tf, 0, sizeof(tf));
    r = tdt_topics_file_load(file ? file : x->cfg.topics_file, &tf, &err);
    if (r < 0) {
        tdt_errf(x->errf, "%s\n", err.msg);
        return TDT_EXIT_USAGE;
    }
    r = tdt_topics_plan(&tf, x->cfg.topic_prefix, (int)rf, &plan, &nplan, &err);
    if (r == 0)
        r = tdt_topics_create(&x->cfg, plan, nplan, dry, x->out, &err);
    if (r == 0)
        fprintf(x->out, "%zu topics %s\n", nplan, dry ? "checked (dry run: nothing created)" : "ok");
    else
        r = r == -EINVAL ? tdt_fail(x, &err, r) : tdt_fail(x, &err, -EIO);
    tdt_topics_plan_free(plan, nplan);
    tdt_topics_file_free(&tf);
    return r;
}

/* ---- acls ---- */

static void tdt_acls_usage(FILE *f)
{
    fprintf(f,
            "Usage: tuodictl [--config FILE] [--prefix P] acls apply [--dry-run]\n"
            "                [--file ACLS.yaml]\n"
            "\n"
            "Makes the brokers' ACLs equal to the access policy (acls_file: in the config,\n"
            "e.g. /etc/tuodi/acls.yaml; see docs/security.md): adds what the policy grants\n"
            "and the brokers lack, removes what the brokers hold and the policy does not\n"
            "(except ACLs of the users under keep:). Prints one line per change,\n"
            "\"+ allow User:x Write topic tuodi.y\" or \"- ...\", and a summary. Idempotent:\n"
            "a second run changes nothing. Run it as the admin (a super user).\n"
            "\n"
            "  --dry-run                 ask the brokers, print the changes, change nothing\n"
            "  --file FILE               the policy instead of acls_file:\n"
            "  --prefix P                (before the command) topic names start with P.\n"
            "                            instead of tuodi.\n"
            "\n"
            "Exit status: 0 done (or nothing to do), 1 refused or Kafka failure, 2 usage or\n"
            "policy error.\n");
}

static int tdt_cmd_acls(tdt_ctx *x, int argc, char **argv)
{
    const char *file = NULL, *pos[1];
    bool dry = false, help = false;
    size_t npos;
    tdt_opt opts[] = {{"dry-run", 0, NULL, &dry},
                      {"file", 'f', &file, NULL},
                      {"help", 'h', NULL, &help},
                      {NULL, 0, NULL, NULL}};
    tdt_acl_policy pol;
    td_error err = {0};
    int r;

    r = tdt_parse(x, argc, argv, opts, pos, 1, &npos, "acls");
    if (r >= 0)
        return r;
    if (help) {
        tdt_acls_usage(x->out);
        return TDT_EXIT_OK;
    }
    if (npos != 1 || strcmp(pos[0], "apply") != 0) {
        if (npos == 0)
            tdt_errf(x->errf, "tuodictl acls: what to do? \"tuodictl acls apply\" is the one "
                    "subcommand (see tuodictl acls --help)\n");
        else
            tdt_errf(x->errf, "tuodictl acls: unknown subcommand \"%s\": \"apply\" is the one "
                    "there is (see tuodictl acls --help)\n", pos[0]);
        return TDT_EXIT_USAGE;
    }
    if ((r = tdt_ctx_load(x)) != 0)
        return r;
    memset(&pol, 0, sizeof(pol));
    r = tdt_acl_policy_load(file ? file : x->cfg.acls_file, &pol, &err);
    if (r < 0) {
        tdt_errf(x->errf, "%s\n", err.msg);
        return TDT_EXIT_USAGE;
    }
    r = tdt_acl_apply(&x->cfg, &pol, dry, x->out, &err);
    tdt_acl_policy_free(&pol);
    if (r < 0)
        return tdt_fail(x, &err, r == -EINVAL ? -EINVAL : -EIO);
    return TDT_EXIT_OK;
}

/* ---- alerts ---- */

static const tdt_column tdt_alert_cols_table[] = {
    {"alert_id", "编号", false},     {"township", "乡镇", false},
    {"village", "村", false},        {"head_name", "户主", false},
    {"person_name", "涉及人员", false}, {"rule", "预警规则", false},
    {"risk", "风险", false},         {"severity", "程度", false},
    {"raised", "预警日期", false},   {"visit_due", "核查期限", false},
    {"procedure_due", "办结期限", false}, {"state", "状态", false},
};
#define TDT_NT (sizeof(tdt_alert_cols_table) / sizeof(tdt_alert_cols_table[0]))

static const tdt_column tdt_alert_cols_machine[] = {
    {"alert_id", "", false},       {"county_code", "", false},   {"township_code", "", false},
    {"township", "", false},       {"village_code", "", false},  {"village", "", false},
    {"household_id", "", false},   {"head_name", "", false},     {"person_name", "", false},
    {"rule_id", "", false},        {"rule_name", "", false},     {"risk_code", "", false},
    {"risk", "", false},           {"severity", "", false},      {"raised_at", "", false},
    {"visit_due_date", "", false}, {"procedure_due_date", "", false}, {"state", "", false},
    {"outcome", "", false},        {"category", "", false},      {"supersedes", "", false},
    {"superseded_by", "", false},  {"message", "", false},
};
#define TDT_NM (sizeof(tdt_alert_cols_machine) / sizeof(tdt_alert_cols_machine[0]))

/* Adds a's row to t in fmt's columns. */
static int tdt_alert_row(tdt_table *t, const tdt_alert *a, const tdt_places *places,
                         int32_t today, tdt_format fmt)
{
    char raised[TD_AVRO_TIMESTAMP_BUFSZ] = "", vdue[64] = "", pdue[TD_AVRO_DATE_BUFSZ] = "";
    char shortid[16], rday[TD_AVRO_DATE_BUFSZ] = "", risk[64], state[96];
    const char *tname = tdt_places_name(places, a->township_code);
    const char *vname = tdt_places_name(places, a->village_code);
    const char *rw = tdt_risk_words(a->risk_code);
    bool overdue = tdt_alert_overdue(a, today);
    const char *sym = "open";

    td_avro_timestamp_millis_format(a->raised_at, raised);
    td_avro_date_format(tdt_day_cst(a->raised_at), rday);
    td_avro_date_format(a->visit_due_date, vdue);
    td_avro_date_format(a->procedure_due_date, pdue);
    if (a->state == TDT_STATE_CLOSED)
        sym = "closed";
    else if (a->state == TDT_STATE_SUPERSEDED)
        sym = "superseded";
    else if (overdue)
        sym = "overdue";
    if (fmt != TDT_FMT_TABLE) {
        const char *cells[TDT_NM] = {
            a->alert_id, a->county_code, a->township_code, tname, a->village_code, vname,
            a->household_id, a->head_name, a->person_name, a->rule_id, a->rule_name,
            a->risk_code, rw, a->severity, raised, vdue, pdue, sym,
            a->state == TDT_STATE_CLOSED ? tdt_outcome_symbol(a->outcome) : NULL,
            a->category, a->supersedes, a->superseded_by, a->message};
        return tdt_table_add(t, cells);
    }
    snprintf(shortid, sizeof(shortid), "%.12s", a->alert_id);
    if (rw)
        snprintf(risk, sizeof(risk), "%s", rw);
    else
        snprintf(risk, sizeof(risk), "%s", tdt_or(a->risk_code, "-"));
    if (overdue)
        snprintf(vdue + strlen(vdue), sizeof(vdue) - strlen(vdue), " 逾期");
    if (a->state == TDT_STATE_CLOSED)
        snprintf(state, sizeof(state), "已办结:%s", tdt_outcome_words(a->outcome));
    else if (a->state == TDT_STATE_SUPERSEDED)
        snprintf(state, sizeof(state), "已升级");
    else
        snprintf(state, sizeof(state), "%s", overdue ? "逾期未核查" : "待核查");
    {
        const char *cells[TDT_NT] = {
            shortid, tdt_or(tname, tdt_or(a->township_code, "-")),
            tdt_or(vname, tdt_or(a->village_code, "-")), tdt_or(a->head_name, "-"),
            tdt_or(a->person_name, "-"), tdt_or(a->rule_name, "-"), risk,
            tdt_severity_words(a->severity), rday, vdue, pdue, state};
        return tdt_table_add(t, cells);
    }
}

typedef struct tdt_alerts_run {
    tdt_ctx *x;
    tdt_queue *q;
    td_avro_decoder *dec;
    const tdt_places *places;
    const char *township;
    bool all, caught;
    bool today_fixed; /* --today given; else today moves on during --follow */
    int32_t today;
    tdt_format fmt;
    size_t skipped;
} tdt_alerts_run;

static int tdt_alerts_print(tdt_alerts_run *a, const tdt_alert *one)
{
    tdt_table t;
    const tdt_alert **v = NULL;
    size_t n = 0;
    int r = 0;

    if (one) {
        v = &one;
        n = 1;
    } else if (tdt_queue_select(a->q, a->all, a->township, &v, &n) < 0) {
        return -ENOMEM;
    }
    if (a->fmt == TDT_FMT_TABLE)
        tdt_table_init(&t, tdt_alert_cols_table, TDT_NT);
    else
        tdt_table_init(&t, tdt_alert_cols_machine, TDT_NM);
    for (size_t i = 0; i < n && r == 0; i++)
        r = tdt_alert_row(&t, v[i], a->places, a->today, a->fmt);
    if (r == 0) {
        if (one)
            tdt_table_write_rows(&t, 0, a->fmt, a->x->out);
        else
            tdt_table_write(&t, a->fmt, a->x->out);
        if (!one && a->fmt == TDT_FMT_TABLE)
            fprintf(a->x->out, "%zu %s\n", n, a->all ? "alerts" : "open alerts");
    }
    fflush(a->x->out);
    tdt_table_done(&t);
    if (!one)
        free(v);
    return r;
}

static int tdt_alerts_msg(const rd_kafka_message_t *m, void *opaque)
{
    tdt_alerts_run *a = opaque;
    avro_value_t *v;
    tdt_alert_msg am;
    const tdt_alert *touched = NULL;
    td_error err = {0};

    if (!m->payload || td_avro_decode(a->dec, m->payload, m->len, &v, &err) < 0 ||
        tdt_alert_msg_from_avro(v, &am, &err) < 0) {
        tdt_errf(a->x->errf, "tuodictl: %s [%" PRId32 "] @%" PRId64 ": skipped: %s\n",
                rd_kafka_topic_name(m->rkt), m->partition, m->offset,
                m->payload ? err.msg : "no value");
        a->skipped++;
        return 0;
    }
    if (tdt_queue_apply(a->q, &am, &touched) < 0)
        return -ENOMEM;
    if (!a->caught || !touched ||
        (a->township && (!touched->township_code || strcmp(touched->township_code, a->township))))
        return 0;
    /* --follow: the change, and the alert an escalation replaced. */
    if (!a->today_fixed)
        a->today = tdt_day_cst(td_time_wall_ms());
    if (touched->supersedes && tdt_queue_find(a->q, touched->supersedes)) {
        int r = tdt_alerts_print(a, tdt_queue_find(a->q, touched->supersedes));
        if (r < 0)
            return r;
    }
    return tdt_alerts_print(a, touched);
}

static int tdt_alerts_caught_up(void *opaque)
{
    tdt_alerts_run *a = opaque;
    a->caught = true;
    return tdt_alerts_print(a, NULL);
}

static void tdt_alerts_usage(FILE *f)
{
    fprintf(f,
            "Usage: tuodictl [--config FILE] [--prefix P] alerts --county CODE\n"
            "                [--township CODE] [--all] [--follow] [--format table|csv|json]\n"
            "                [--today YYYY-MM-DD]\n"
            "\n"
            "Shows a county's verification queue: reads <alerts_prefix><county> from the\n"
            "beginning (committed messages only), keeps the latest state of every alert\n"
            "(ALERT opens, OVERDUE_WARNING marks it overdue, CLOSED closes it, an escalated\n"
            "alert replaces the one it supersedes) and lists the open ones by visit due date.\n"
            "Place names come from the places file; identity numbers are never shown.\n"
            "\n"
            "  --county CODE     6-digit county code, e.g. 340421 (凤台县); \"unrouted\" for\n"
            "                    alerts without a village\n"
            "  --township CODE   only this township (9 digits)\n"
            "  --all             every alert: open, closed and superseded\n"
            "  --follow          after the queue, print each change as it arrives (Ctrl-C stops)\n"
            "  --format F        table (people, default), csv or json (machines: full alert\n"
            "                    ids and codes)\n"
            "  --today DATE      judge overdue as of DATE (default: today, China time)\n"
            "\n"
            "Overdue (逾期): the visit due date has passed, or an OVERDUE_WARNING came.\n"
            "Exit status: 0 ok, 1 Kafka failure or no such topic, 2 usage or config error.\n");
}

/* The arguments every queue command (alerts, suspects) checks alike:
 * --county is required (a usage message with the places file's counties
 * when it is missing), a county code or "unrouted", and --township (if
 * given) a township of it; with places, against the places file. Returns
 * an exit code to return, or -1 to go on. */
static int tdt_queue_args(tdt_ctx *x, const char *cmd, const char *county,
                          const char *township, const tdt_places *places)
{
    int r;

    if (!county) {
        tdt_places *p = tdt_places_quiet(x);
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        if (!f) {
            tdt_places_free(p);
            return TDT_EXIT_FAILURE;
        }
        fprintf(f, "tuodictl %s: --county CODE is required: a county code (6 digits) such as "
                "340421%s", cmd, strcmp(cmd, "alerts") == 0 ? ", or unrouted" : "");
        tdt_put_suggestions(f, p, NULL, "");
        tdt_places_free(p);
        return tdt_usage_msg(x, f, &buf);
    }
    if ((r = tdt_county_arg(x, cmd, county, true, places)) >= 0)
        return r;
    if (township && (r = tdt_township_arg(x, cmd, county, township, places)) >= 0)
        return r;
    return -1;
}

static int tdt_cmd_alerts(tdt_ctx *x, int argc, char **argv)
{
    const char *county = NULL, *township = NULL, *fmt_s = NULL, *today_s = NULL, *pos[1];
    bool all = false, follow = false, help = false;
    size_t npos;
    tdt_opt opts[] = {{"county", 0, &county, NULL},   {"township", 0, &township, NULL},
                      {"format", 0, &fmt_s, NULL},    {"today", 0, &today_s, NULL},
                      {"all", 'a', NULL, &all},       {"follow", 'f', NULL, &follow},
                      {"help", 'h', NULL, &help},     {NULL, 0, NULL, NULL}};
    tdt_alerts_run a;
    td_avro_registry *reg = NULL;
    tdt_places *places = NULL;
    char *topic = NULL;
    td_error err = {0};
    int r;

    memset(&a, 0, sizeof(a));
    r = tdt_parse(x, argc, argv, opts, pos, 0, &npos, "alerts");
    if (r >= 0)
        return r;
    if (help) {
        tdt_alerts_usage(x->out);
        return TDT_EXIT_OK;
    }
    if ((r = tdt_queue_args(x, "alerts", county, township, NULL)) >= 0)
        return r;
    if (fmt_s && tdt_format_parse(fmt_s, &a.fmt) < 0) {
        tdt_errf(x->errf, "tuodictl alerts: --format %s: expected table, csv or json\n", fmt_s);
        return TDT_EXIT_USAGE;
    }
    if ((r = tdt_today(x, "alerts", today_s, &a.today)) != 0)
        return r;
    a.today_fixed = today_s != NULL;
    if ((r = tdt_ctx_load(x)) != 0)
        return r;
    a.x = x;
    a.all = all;
    a.township = township;
    if ((r = tdt_places_load(x->cfg.places, &places, &err)) < 0) {
        r = tdt_fail(x, &err, r == -ENOMEM ? -ENOMEM : -EINVAL);
        goto out;
    }
    /* before Kafka: a county or township the places file does not know */
    if ((r = tdt_queue_args(x, "alerts", county, township, places)) >= 0)
        goto out;
    if ((r = tdt_registry_load(&x->cfg, &reg, &err)) < 0 ||
        (r = td_avro_decoder_new(reg, td_avro_registry_find_name(reg, "cn.tuodi.Alert"), &a.dec,
                                 &err)) < 0 ||
        (r = tdt_queue_new(&a.q)) < 0) {
        /* the places file or the schemas: paths in the config */
        r = tdt_fail(x, &err, r == -ENOMEM ? -ENOMEM : -EINVAL);
        goto out;
    }
    a.places = places;
    topic = tdt_alert_topic(&x->cfg, county);
    {
        const char *topics[1] = {topic};
        r = tdt_kafka_read(&x->cfg, topics, 1, false, follow, tdt_alerts_msg,
                           tdt_alerts_caught_up, &a, &err);
    }
    if (r < 0)
        r = tdt_fail(x, &err, r);
    else if (a.skipped)
        tdt_errf(x->errf, "tuodictl: %zu messages skipped (see above)\n", a.skipped);
out:
    free(topic);
    tdt_queue_free(a.q);
    td_avro_decoder_free(a.dec);
    td_avro_registry_free(reg);
    tdt_places_free(places);
    return r;
}

/* ---- suspects (疑点数据清单) ---- */

/* The list as townships receive it (table, and csv for Excel: Chinese
 * headers), and for machines (json lines). Never a person key. */
static const tdt_column tdt_suspect_cols_people[] = {
    {"序号", "序号", true},         {"乡镇", "乡镇", false},     {"村", "村", false},
    {"户编号", "户编号", false},    {"户主", "户主", false},     {"成员姓名", "成员姓名", false},
    {"疑点指标", "疑点指标", false}, {"名册值", "名册值", false}, {"部门数据", "部门数据", false},
    {"整改提示", "整改提示", false}, {"发现日期", "发现日期", false},
    {"整改期限", "整改期限", false}, {"状态", "状态", false},    {"疑点编号", "疑点编号", false},
};
#define TDT_NSP (sizeof(tdt_suspect_cols_people) / sizeof(tdt_suspect_cols_people[0]))

static const tdt_column tdt_suspect_cols_machine[] = {
    {"seq", "", true},              {"suspect_id", "", false},     {"county_code", "", false},
    {"township_code", "", false},   {"township", "", false},       {"village_code", "", false},
    {"village", "", false},         {"household_id", "", false},   {"head_name", "", false},
    {"person_name", "", false},     {"indicator_id", "", false},   {"indicator_name", "", false},
    {"roster_value", "", false},    {"department_value", "", false}, {"fix_hint", "", false},
    {"raised_date", "", false},     {"fix_due_date", "", false},   {"state", "", false},
    {"resolved_date", "", false},   {"outcome", "", false},        {"reason", "", false},
};
#define TDT_NSM (sizeof(tdt_suspect_cols_machine) / sizeof(tdt_suspect_cols_machine[0]))

/* Adds s's row (number seq) to t in fmt's columns. */
static int tdt_suspect_row(tdt_table *t, size_t seq, const tdt_suspect *s,
                           const tdt_places *places, int32_t today, tdt_format fmt)
{
    char no[24], rday[TD_AVRO_DATE_BUFSZ] = "", due[64] = "", done[TD_AVRO_DATE_BUFSZ] = "";
    char shortid[16];
    const char *tname = tdt_places_name(places, s->township_code);
    const char *vname = tdt_places_name(places, s->village_code);

    snprintf(no, sizeof(no), "%zu", seq);
    td_avro_date_format(tdt_day_cst(s->raised_at), rday);
    td_avro_date_format(s->fix_due_date, due);
    if (s->state == TDT_SSTATE_RESOLVED)
        td_avro_date_format(tdt_day_cst(s->resolved_at), done);
    else if (s->state == TDT_SSTATE_CLOSED)
        td_avro_date_format(tdt_day_cst(s->recorded_at), done);
    if (fmt == TDT_FMT_JSON) {
        const char *cells[TDT_NSM] = {
            no, s->suspect_id, s->county_code, s->township_code, tname, s->village_code, vname,
            s->household_id, s->head_name, s->person_name, s->indicator_id, s->indicator_name,
            s->roster_value, s->department_value, s->fix_hint, rday, due,
            tdt_suspect_state_symbol(s, today), done[0] ? done : NULL,
            s->state == TDT_SSTATE_CLOSED ? tdt_outcome_symbol(s->outcome) : NULL,
            s->state == TDT_SSTATE_CLOSED ? s->reason : NULL};
        return tdt_table_add(t, cells);
    }
    if (tdt_suspect_overdue(s, today))
        snprintf(due + strlen(due), sizeof(due) - strlen(due), " 逾期");
    snprintf(shortid, sizeof(shortid), "%.*s", TDT_SUSPECT_PREFIX_MIN, s->suspect_id);
    {
        const char *cells[TDT_NSP] = {
            no, tdt_or(tname, tdt_or(s->township_code, "-")),
            tdt_or(vname, tdt_or(s->village_code, "-")), tdt_or(s->household_id, "-"),
            tdt_or(s->head_name, "-"), tdt_or(s->person_name, "-"),
            tdt_or(s->indicator_name, tdt_or(s->indicator_id, "-")),
            tdt_or(s->roster_value, "-"), tdt_or(s->department_value, "-"),
            tdt_or(s->fix_hint, "-"), rday, due, tdt_suspect_state_words(s, today),
            fmt == TDT_FMT_TABLE ? shortid : s->suspect_id};
        return tdt_table_add(t, cells);
    }
}

int tdt_suspects_write(const tdt_suspects *l, const tdt_places *places, const char *county,
                       const char *township, const char *village, bool all, int32_t today,
                       tdt_format fmt, FILE *out)
{
    const tdt_suspect **v = NULL;
    size_t n = 0;
    tdt_table t;
    int r = 0;

    if (tdt_suspects_select(l, all, township, village, &v, &n) < 0)
        return -ENOMEM;
    if (fmt == TDT_FMT_JSON)
        tdt_table_init(&t, tdt_suspect_cols_machine, TDT_NSM);
    else
        tdt_table_init(&t, tdt_suspect_cols_people, TDT_NSP);
    for (size_t i = 0; i < n && r == 0; i++)
        r = tdt_suspect_row(&t, i + 1, v[i], places, today, fmt);
    if (r == 0) {
        if (fmt == TDT_FMT_TABLE) {
            const char *code = village ? village : township ? township : county;
            char day[TD_AVRO_DATE_BUFSZ] = "";
            td_avro_date_format(today, day);
            /* 疑点数据清单 凤台县 城关镇 中山社区居委会 (340421100001, 未整改, 2024-03-10) */
            char town[10];
            snprintf(town, sizeof(town), "%.9s", township ? township : village ? village : "");
            fprintf(out, "疑点数据清单 %s", strcmp(county, "unrouted") == 0
                                                 ? "未定位"
                                                 : tdt_or(tdt_places_name(places, county), county));
            if (town[0])
                fprintf(out, " %s", tdt_or(tdt_places_name(places, town), town));
            if (village)
                fprintf(out, " %s", tdt_or(tdt_places_name(places, village), village));
            fprintf(out, " (%s, %s, %s)\n", code, all ? "全部" : "未整改", day);
            tdt_table_write(&t, fmt, out);
            fprintf(out, "%zu %s\n", n, all ? "suspects" : "open suspects");
        } else if (fmt == TDT_FMT_CSV) {
            fputs("\xEF\xBB\xBF", out);
            tdt_table_write(&t, fmt, out);
        } else {
            tdt_table_write_rows(&t, 0, fmt, out);
        }
    }
    fflush(out);
    tdt_table_done(&t);
    free(v);
    return r;
}

typedef struct tdt_suspects_run {
    tdt_ctx *x;              /* NULL: quiet (skipped messages only counted) */
    tdt_suspects *l;
    td_avro_decoder *dec;
    size_t skipped;
} tdt_suspects_run;

static int tdt_suspects_msg(const rd_kafka_message_t *m, void *opaque)
{
    tdt_suspects_run *a = opaque;
    avro_value_t *v;
    tdt_suspect_msg sm;
    td_error err = {0};

    if (!m->payload || td_avro_decode(a->dec, m->payload, m->len, &v, &err) < 0 ||
        tdt_suspect_msg_from_avro(v, &sm, &err) < 0) {
        if (a->x)
            tdt_errf(a->x->errf, "tuodictl: %s [%" PRId32 "] @%" PRId64 ": skipped: %s\n",
                    rd_kafka_topic_name(m->rkt), m->partition, m->offset,
                    m->payload ? err.msg : "no value");
        a->skipped++;
        return 0;
    }
    return tdt_suspects_apply(a->l, &sm, NULL) < 0 ? -ENOMEM : 0;
}

/* Reads county's suspect topic to its end into *ret (read_committed).
 * missing_ok: a topic that does not exist is an empty list. */
static int tdt_suspects_read(tdt_ctx *x, const td_avro_registry *reg, const char *county,
                             bool missing_ok, bool quiet, tdt_suspects **ret, size_t *skipped,
                             td_error *err)
{
    tdt_suspects_run a = {quiet ? NULL : x, NULL, NULL, 0};
    char *topic = tdt_suspect_topic(&x->cfg, county);
    const td_avro_schema *s = td_avro_registry_find_name(reg, "cn.tuodi.Suspect");
    int r;

    if (!topic)
        return td_error_set(err, -ENOMEM, "out of memory");
    if (!s) {
        free(topic);
        return td_error_set(err, -EINVAL, "no suspect.avsc in %s", x->cfg.schemas_dir);
    }
    if ((r = td_avro_decoder_new(reg, s, &a.dec, err)) < 0 || (r = tdt_suspects_new(&a.l)) < 0) {
        td_avro_decoder_free(a.dec);
        free(topic);
        return r == -ENOMEM ? td_error_set(err, -ENOMEM, "out of memory") : r;
    }
    {
        const char *topics[1] = {topic};
        r = tdt_kafka_read(&x->cfg, topics, 1, missing_ok, false, tdt_suspects_msg, NULL, &a,
                           err);
    }
    td_avro_decoder_free(a.dec);
    free(topic);
    if (r < 0) {
        tdt_suspects_free(a.l);
        return r;
    }
    if (skipped)
        *skipped += a.skipped;
    *ret = a.l;
    return 0;
}

static void tdt_suspects_usage(FILE *f)
{
    fprintf(f,
            "Usage: tuodictl [--config FILE] [--prefix P] suspects --county CODE\n"
            "                [--township CODE] [--village CODE] [--state open|all]\n"
            "                [--format table|csv|json] [--today YYYY-MM-DD]\n"
            "\n"
            "The suspicious-data list (疑点数据清单) of a county as its townships receive it:\n"
            "reads <suspects_prefix><county> to its end (committed messages only), keeps the\n"
            "latest message of every suspect (RAISED, RESOLVED 整改到位, CLOSED 部门数据有误)\n"
            "and lists the open ones grouped by township, then village, with the fix hint.\n"
            "Names only: no person key or identity number is ever shown.\n"
            "\n"
            "  --county CODE     6-digit county code, e.g. 340421 (凤台县); \"unrouted\" for\n"
            "                    suspects of households without a known village\n"
            "  --township CODE   only this township (9 digits)\n"
            "  --village CODE    only this village (12 digits)\n"
            "  --state S         open (default: 待整改 and 逾期未整改) or all (also 整改到位\n"
            "                    and 部门数据有误)\n"
            "  --format F        table (people, default), csv (for Excel: UTF-8 with a\n"
            "                    byte-order mark, the table's Chinese headers, full suspect\n"
            "                    ids) or json (machines: one object per line)\n"
            "  --today DATE      judge overdue as of DATE (default: today, China time)\n"
            "\n"
            "Overdue (逾期): open after its fix due date (整改期限, 20 working days).\n"
            "Exit status: 0 ok, 1 Kafka failure or no such topic, 2 usage or config error.\n");
}

static int tdt_cmd_suspects(tdt_ctx *x, int argc, char **argv)
{
    const char *county = NULL, *township = NULL, *village = NULL, *state = NULL;
    const char *fmt_s = NULL, *today_s = NULL, *pos[1];
    bool help = false, all = false;
    size_t npos, skipped = 0;
    tdt_opt opts[] = {{"county", 0, &county, NULL},   {"township", 0, &township, NULL},
                      {"village", 0, &village, NULL}, {"state", 0, &state, NULL},
                      {"format", 0, &fmt_s, NULL},    {"today", 0, &today_s, NULL},
                      {"help", 'h', NULL, &help},     {NULL, 0, NULL, NULL}};
    tdt_format fmt = TDT_FMT_TABLE;
    td_avro_registry *reg = NULL;
    tdt_places *places = NULL;
    tdt_suspects *l = NULL;
    td_error err = {0};
    int32_t today;
    int r;

    r = tdt_parse(x, argc, argv, opts, pos, 0, &npos, "suspects");
    if (r >= 0)
        return r;
    if (help) {
        tdt_suspects_usage(x->out);
        return TDT_EXIT_OK;
    }
    if ((r = tdt_queue_args(x, "suspects", county, township, NULL)) >= 0)
        return r;
    if (village && strcmp(county, "unrouted") == 0) {
        tdt_errf(x->errf, "tuodictl suspects: --village goes with a county code, not with "
                "--county unrouted (its suspects are of households without a known village)\n");
        return TDT_EXIT_USAGE;
    }
    if (village && (r = tdt_village_arg(x, "suspects", county, township, village, NULL)) >= 0)
        return r;
    if (state && strcmp(state, "all") == 0) {
        all = true;
    } else if (state && strcmp(state, "open") != 0) {
        tdt_errf(x->errf, "tuodictl suspects: --state %s: expected open (待整改, the default) or "
                "all\n", state);
        return TDT_EXIT_USAGE;
    }
    if (fmt_s && tdt_format_parse(fmt_s, &fmt) < 0) {
        tdt_errf(x->errf, "tuodictl suspects: --format %s: expected table, csv or json\n", fmt_s);
        return TDT_EXIT_USAGE;
    }
    if ((r = tdt_today(x, "suspects", today_s, &today)) != 0)
        return r;
    if ((r = tdt_ctx_load(x)) != 0)
        return r;
    if ((r = tdt_places_load(x->cfg.places, &places, &err)) < 0) {
        r = tdt_fail(x, &err, r == -ENOMEM ? -ENOMEM : -EINVAL);
        goto out;
    }
    if ((r = tdt_queue_args(x, "suspects", county, township, places)) >= 0 ||
        (village && (r = tdt_village_arg(x, "suspects", county, township, village, places)) >= 0))
        goto out;
    if ((r = tdt_registry_load(&x->cfg, &reg, &err)) < 0) {
        r = tdt_fail(x, &err, r == -ENOMEM ? -ENOMEM : -EINVAL);
        goto out;
    }
    if ((r = tdt_suspects_read(x, reg, county, false, false, &l, &skipped, &err)) < 0) {
        r = tdt_fail(x, &err, r);
        goto out;
    }
    if (tdt_suspects_write(l, places, county, township, village, all, today, fmt, x->out) < 0) {
        r = TDT_EXIT_FAILURE;
        goto out;
    }
    if (skipped)
        tdt_errf(x->errf, "tuodictl: %zu messages skipped (see above)\n", skipped);
    r = TDT_EXIT_OK;
out:
    tdt_suspects_free(l);
    td_avro_registry_free(reg);
    tdt_places_free(places);
    return r;
}

/* ---- verify ---- */

typedef struct tdt_fold_run {
    tdt_queue *q;
    td_avro_decoder *dec;
} tdt_fold_run;

static int tdt_fold_msg(const rd_kafka_message_t *m, void *opaque)
{
    tdt_fold_run *f = opaque;
    avro_value_t *v;
    tdt_alert_msg am;
    if (!m->payload || td_avro_decode(f->dec, m->payload, m->len, &v, NULL) < 0 ||
        tdt_alert_msg_from_avro(v, &am, NULL) < 0)
        return 0; /* not an alert: nothing to check against */
    return tdt_queue_apply(f->q, &am, NULL) < 0 ? -ENOMEM : 0;
}

static const char *tdt_state_word(const tdt_alert *a)
{
    switch (a->state) {
    case TDT_STATE_OPEN:
        return "open";
    case TDT_STATE_CLOSED:
        return "closed";
    case TDT_STATE_SUPERSEDED:
        return "escalated";
    }
    return "?";
}

/* With --county: the alert must be open on the county's queue, or matchd
 * would reject the outcome. A shortened id (a prefix of one id on the
 * queue) becomes the whole id in v. Returns -1 to go on, else the exit
 * status. */
static int tdt_verify_open(tdt_ctx *x, const td_avro_registry *reg, const char *county,
                           tdt_verification *v)
{
    tdt_fold_run f = {NULL, NULL};
    char *topic = tdt_alert_topic(&x->cfg, county);
    const char *alert_id = v->alert_id;
    const tdt_alert *a, *found[5];
    size_t nfound = 0;
    td_error err = {0};
    int r;

    if (!topic || tdt_queue_new(&f.q) < 0 ||
        td_avro_decoder_new(reg, td_avro_registry_find_name(reg, "cn.tuodi.Alert"), &f.dec,
                            &err) < 0) {
        r = TDT_EXIT_FAILURE;
        goto out;
    }
    {
        const char *topics[1] = {topic};
        r = tdt_kafka_read(&x->cfg, topics, 1, false, false, tdt_fold_msg, NULL, &f, &err);
    }
    if (r < 0) {
        r = tdt_fail(x, &err, r);
        goto out;
    }
    r = tdt_queue_resolve(f.q, alert_id, found, sizeof(found) / sizeof(found[0]), &nfound);
    a = r == 0 ? found[0] : NULL;
    if (r == -EINVAL || r == -ENOTUNIQ) {
        char *buf = NULL;
        size_t len = 0;
        FILE *m = open_memstream(&buf, &len);
        if (!m) {
            r = TDT_EXIT_FAILURE;
            goto out;
        }
        if (r == -EINVAL)
            fprintf(m, "tuodictl verify: alert id %s is too short to look up: give at least %d "
                    "characters (the table shows 12)", alert_id, TDT_ALERT_PREFIX_MIN);
        else
            fprintf(m, "tuodictl verify: alert id %s is ambiguous: give more characters", alert_id);
        if (nfound > 0)
            fprintf(m, "; %zu alert%s on %s start%s with it: ", nfound, nfound == 1 ? "" : "s",
                    topic, nfound == 1 ? "s" : "");
        for (size_t i = 0; i < nfound && i < sizeof(found) / sizeof(found[0]); i++)
            fprintf(m, "%s%s (%s)", i ? ", " : "", found[i]->alert_id, tdt_state_word(found[i]));
        if (nfound > sizeof(found) / sizeof(found[0]))
            fprintf(m, " and %zu more", nfound - sizeof(found) / sizeof(found[0]));
        fputs("; nothing was recorded", m);
        r = tdt_usage_msg(x, m, &buf);
        goto out;
    }
    r = TDT_EXIT_USAGE;
    if (!a)
        tdt_errf(x->errf, "tuodictl verify: alert %s is not on %s: check the id (tuodictl "
                "alerts --county %s --format csv shows full ids) and the county; nothing was "
                "recorded\n", alert_id, topic, county);
    else if (a->state == TDT_STATE_CLOSED)
        tdt_errf(x->errf, "tuodictl verify: alert %s is closed already (%s, outcome id %s); "
                "nothing was recorded\n", a->alert_id, tdt_outcome_words(a->outcome),
                tdt_or(a->outcome_id, "-"));
    else if (a->state == TDT_STATE_SUPERSEDED)
        tdt_errf(x->errf, "tuodictl verify: alert %s was escalated: verify the alert that "
                "replaced it, %s; nothing was recorded\n", a->alert_id,
                tdt_or(a->superseded_by, "-"));
    else
        r = -1;
    if (r == -1 && strcmp(a->alert_id, v->alert_id) != 0)
        snprintf(v->alert_id, sizeof(v->alert_id), "%s", a->alert_id); /* the whole id */
out:
    free(topic);
    tdt_queue_free(f.q);
    td_avro_decoder_free(f.dec);
    return r;
}

/* For a suspect id: the suspect must be open on the county's suspect list
 * (tuodi-matchd takes an outcome only for an open suspect of that county). A
 * shortened id becomes the whole id in v. Returns -1 to go on, else the exit
 * status. */
static int tdt_verify_open_suspect(tdt_ctx *x, const td_avro_registry *reg, const char *county,
                                   tdt_verification *v)
{
    tdt_suspects *l = NULL;
    const tdt_suspect *s, *found[5];
    char *topic = tdt_suspect_topic(&x->cfg, county);
    char day[TD_AVRO_DATE_BUFSZ] = "";
    size_t nfound = 0;
    td_error err = {0};
    int r;

    if (!topic)
        return TDT_EXIT_FAILURE;
    if ((r = tdt_suspects_read(x, reg, county, false, true, &l, NULL, &err)) < 0) {
        r = tdt_fail(x, &err, r);
        goto out;
    }
    r = tdt_suspects_resolve(l, v->alert_id, found, sizeof(found) / sizeof(found[0]), &nfound);
    s = r == 0 ? found[0] : NULL;
    if (r == -EINVAL || r == -ENOTUNIQ) {
        tdt_errf(x->errf, "tuodictl verify: suspect id %s is %s: give %s (tuodictl suspects "
                "--county %s --format csv shows whole ids); %zu suspects on %s start with it; "
                "nothing was recorded\n", v->alert_id, r == -EINVAL ? "too short to look up" :
                "ambiguous", r == -EINVAL ? "at least the 12 characters the table shows" :
                "more characters", county, nfound, topic);
        r = TDT_EXIT_USAGE;
        goto out;
    }
    r = TDT_EXIT_USAGE;
    if (!s) {
        tdt_errf(x->errf, "tuodictl verify: suspect %s is not on %s: check the id (tuodictl "
                "suspects --county %s --format csv shows full ids) and the county; nothing "
                "was recorded\n", v->alert_id, topic, county);
    } else if (s->state == TDT_SSTATE_RESOLVED) {
        td_avro_date_format(tdt_day_cst(s->resolved_at), day);
        tdt_errf(x->errf, "tuodictl verify: suspect %s is resolved already (整改到位 on %s: the "
                "roster and the department agree now); nothing was recorded\n", s->suspect_id,
                day);
    } else if (s->state == TDT_SSTATE_CLOSED) {
        tdt_errf(x->errf, "tuodictl verify: suspect %s is closed already (%s, outcome id %s); "
                "nothing was recorded\n", s->suspect_id, tdt_outcome_words(s->outcome),
                tdt_or(s->outcome_id, "-"));
    } else {
        r = -1;
        if (strcmp(s->suspect_id, v->alert_id) != 0)
            snprintf(v->alert_id, sizeof(v->alert_id), "%s", s->suspect_id); /* the whole id */
    }
out:
    tdt_suspects_free(l);
    free(topic);
    return r;
}

static void tdt_verify_usage(FILE *f)
{
    fprintf(f,
            "Usage: tuodictl [--config FILE] [--prefix P] verify ALERT_ID --outcome OUTCOME\n"
            "                --verifier NAME --reviewer NAME [--category CATEGORY]\n"
            "                --county CODE [--reason TEXT] [--visit-date YYYY-MM-DD]\n"
            "                [--outcome-id ID] [--dry-run]\n"
            "       tuodictl ... verify SUSPECT_ID --outcome department-data-wrong\n"
            "                --reason TEXT --verifier NAME --reviewer NAME --county CODE ...\n"
            "\n"
            "Records the outcome of a household visit (入户核查) on the alert's county's\n"
            "topic (topics.verifications_prefix + CODE, e.g. tuodi.verifications.340421),\n"
            "keyed by the alert id, for tuodi-matchd to close the alert. For a suspect of\n"
            "the suspicious-data list (an id starting sus-) the one outcome is\n"
            "department-data-wrong: the village re-checked and the roster is right, the\n"
            "department's record is wrong; it closes the suspect. A suspect fixed on the\n"
            "roster needs no outcome: it resolves itself with the next roster export.\n"
            "\n"
            "  ALERT_ID           the alert id, whole or its first 8 or more characters\n"
            "                     (tuodictl alerts --county CODE shows them)\n"
            "  SUSPECT_ID         the suspect id (sus-...), whole or its first 12 or more\n"
            "                     characters (tuodictl suspects --county CODE shows them)\n"
            "  --outcome O        alerts: identified (识别为监测对象), already-monitored\n"
            "                     (已是监测对象), dismissed (排除) or could-not-reach (无法联系);\n"
            "                     suspects: department-data-wrong (部门数据有误) only\n"
            "  --category C       with identified only, required: unstable-alleviated\n"
            "                     (脱贫不稳定户), marginal (边缘易致贫户), sudden-hardship\n"
            "                     (突发严重困难户)\n"
            "  --reason TEXT      required for dismissed and department-data-wrong; never an\n"
            "                     identity number\n"
            "  --verifier NAME    核查人, who collected the facts\n"
            "  --reviewer NAME    复核人, a second person who re-checked (two-person rule)\n"
            "  --visit-date DATE  the visit's date (default today, China time)\n"
            "  --outcome-id ID    the outcome's own id (default a new UUID)\n"
            "  --county CODE      required: the county of the alert or suspect (6 digits, or\n"
            "                     unrouted). The outcome goes to that county's\n"
            "                     topic, once the alert is found open on its queue (not\n"
            "                     closed, not escalated) or the suspect open on its list\n"
            "                     (<suspects_prefix>CODE: not resolved, not closed)\n"
            "  --dry-run          check and show the outcome, record nothing\n"
            "\n"
            "Exit status: 0 recorded, 1 Kafka failure (nothing recorded), 2 usage, config\n"
            "or an outcome tuodi-matchd would reject.\n");
}

static int tdt_cmd_verify(tdt_ctx *x, int argc, char **argv)
{
    tdt_verify_input in;
    const char *pos[1], *county = NULL;
    bool help = false, dry = false;
    size_t npos;
    tdt_opt opts[] = {{"outcome", 0, &in.outcome, NULL},
                      {"category", 0, &in.category, NULL},
                      {"reason", 0, &in.reason, NULL},
                      {"verifier", 0, &in.verifier, NULL},
                      {"reviewer", 0, &in.reviewer, NULL},
                      {"visit-date", 0, &in.visit_date, NULL},
                      {"outcome-id", 0, &in.outcome_id, NULL},
                      {"county", 0, &county, NULL},
                      {"dry-run", 0, NULL, &dry},
                      {"help", 'h', NULL, &help},
                      {NULL, 0, NULL, NULL}};
    tdt_verification v;
    td_avro_registry *reg = NULL;
    tdt_places *places = NULL;
    tdt_verify_sink *sink = NULL;
    char *topic = NULL;
    td_error err = {0};
    int32_t part = -1;
    int64_t off = -1;
    char day[TD_AVRO_DATE_BUFSZ], ts[TD_AVRO_TIMESTAMP_BUFSZ];
    int r;

    memset(&in, 0, sizeof(in));
    memset(&v, 0, sizeof(v));
    r = tdt_parse(x, argc, argv, opts, pos, 1, &npos, "verify");
    if (r >= 0)
        return r;
    if (help) {
        tdt_verify_usage(x->out);
        return TDT_EXIT_OK;
    }
    if (npos != 1) {
        tdt_errf(x->errf, "tuodictl verify: the alert id is required (see tuodictl verify "
                "--help)\n");
        return TDT_EXIT_USAGE;
    }
    in.alert_id = pos[0];
    in.now_ms = td_time_wall_ms();
    in.lookup = true;
    if (county && (r = tdt_county_arg(x, "verify", county, true, NULL)) >= 0)
        return r;
    if (tdt_verify_check(&in, &v, &err) < 0) {
        tdt_errf(x->errf, "tuodictl verify: %s\n", err.msg);
        return TDT_EXIT_USAGE;
    }
    if (!county) {
        tdt_errf(x->errf, "tuodictl verify: --county CODE is required: the county of the alert "
                "(tuodictl alerts --county CODE lists its queue); the outcome goes to that "
                "county's topic, e.g. tuodi.verifications.340421\n");
        r = TDT_EXIT_USAGE;
        goto out;
    }
    if ((r = tdt_ctx_load(x)) != 0)
        goto out;
    if (strcmp(county, "unrouted") != 0) {
        if ((r = tdt_places_load(x->cfg.places, &places, &err)) < 0) {
            r = tdt_fail(x, &err, r == -ENOMEM ? -ENOMEM : -EINVAL);
            goto out;
        }
        if ((r = tdt_county_arg(x, "verify", county, true, places)) >= 0)
            goto out;
    }
    if ((r = tdt_registry_load(&x->cfg, &reg, &err)) < 0) {
        r = tdt_fail(x, &err, r == -ENOMEM ? -ENOMEM : -EINVAL);
        goto out;
    }
    topic = tdt_verification_topic(&x->cfg, county);
    if (!topic) {
        r = TDT_EXIT_FAILURE;
        goto out;
    }
    /* May this user write the county's topic? Asked first, so that a county
     * office trying another county's alert hears that, not that it may not
     * read the other county's queue. */
    if (!dry && (r = tdt_verify_sink_open(&x->cfg, topic, &sink, &err)) < 0) {
        r = tdt_fail(x, &err, r == -EINVAL ? -EINVAL : -EIO);
        goto out;
    }
    if (tdt_suspect_id_is(v.alert_id) ? (r = tdt_verify_open_suspect(x, reg, county, &v)) >= 0
                                       : (r = tdt_verify_open(x, reg, county, &v)) >= 0)
        goto out;
    if (dry) {
        td_avro_buf b = TD_AVRO_BUF_INIT;
        r = tdt_verification_encode(reg, &v, &b, &err);
        td_avro_buf_done(&b);
        if (r < 0) {
            r = tdt_fail(x, &err, -EIO);
            goto out;
        }
    } else if ((r = tdt_verify_sink_send(sink, reg, &v, &part, &off, &err)) < 0) {
        r = tdt_fail(x, &err, r == -EINVAL ? -EINVAL : -EIO);
        goto out;
    }
    td_avro_date_format(v.visit_date, day);
    td_avro_timestamp_millis_format(v.recorded_at, ts);
    fprintf(x->out, "%s %s\n", dry ? "would record (dry run)" : "recorded", topic);
    if (!dry)
        fprintf(x->out, "  partition/offset %" PRId32 "/%" PRId64 "\n", part, off);
    fprintf(x->out, "  %s%s\n  outcome    %s (%s)\n",
            tdt_suspect_id_is(v.alert_id) ? "suspect    " : "alert      ", v.alert_id,
            tdt_outcome_words(v.outcome), tdt_outcome_symbol(v.outcome));
    if (v.category)
        fprintf(x->out, "  category   %s (%s)\n", tdt_category_words(v.category), v.category);
    if (v.reason)
        fprintf(x->out, "  reason     %s\n", v.reason);
    fprintf(x->out, "  verifier   %s\n  reviewer   %s\n  visit date %s\n  recorded   %s\n"
            "  outcome id %s\n", v.verifier, v.reviewer, day, ts, v.outcome_id);
    r = TDT_EXIT_OK;
out:
    tdt_verify_sink_free(sink);
    free(topic);
    td_avro_registry_free(reg);
    tdt_places_free(places);
    tdt_verification_done(&v);
    return r;
}

/* ---- report ---- */

typedef struct tdt_report_run {
    tdt_ctx *x;
    char **topics;       /* ncounties alert topics, unrouted, roster */
    size_t ncounties;
    tdt_queue **queues;  /* ncounties + 1 */
    tdt_roster *roster;
    td_avro_decoder *adec, *hdec;
    size_t skipped;
} tdt_report_run;

static int tdt_report_msg(const rd_kafka_message_t *m, void *opaque)
{
    tdt_report_run *rr = opaque;
    const char *tn = rd_kafka_topic_name(m->rkt);
    avro_value_t *v;
    td_error err = {0};

    if (strcmp(tn, rr->topics[rr->ncounties + 1]) == 0) {
        char key[256];
        const char *id, *village;
        int state;
        size_t persons = 0;
        if (!m->key || m->key_len == 0 || m->key_len >= sizeof(key)) {
            rr->skipped++;
            return 0;
        }
        memcpy(key, m->key, m->key_len);
        key[m->key_len] = '\0';
        if (!m->payload)
            return tdt_roster_apply(rr->roster, key, NULL, 0, 0) < 0 ? -ENOMEM : 0;
        if (td_avro_decode(rr->hdec, m->payload, m->len, &v, &err) < 0 ||
            tdt_household_from_avro(v, &id, &village, &state, &persons, &err) < 0) {
            tdt_errf(rr->x->errf, "tuodictl: %s [%" PRId32 "] @%" PRId64 ": skipped: %s\n", tn,
                    m->partition, m->offset, err.msg);
            rr->skipped++;
            return 0;
        }
        return tdt_roster_apply(rr->roster, key, village, state, persons) < 0 ? -ENOMEM : 0;
    }
    for (size_t i = 0; i <= rr->ncounties; i++) {
        tdt_alert_msg am;
        if (strcmp(tn, rr->topics[i]) != 0)
            continue;
        if (!m->payload || td_avro_decode(rr->adec, m->payload, m->len, &v, &err) < 0 ||
            tdt_alert_msg_from_avro(v, &am, &err) < 0) {
            tdt_errf(rr->x->errf, "tuodictl: %s [%" PRId32 "] @%" PRId64 ": skipped: %s\n", tn,
                    m->partition, m->offset, m->payload ? err.msg : "no value");
            rr->skipped++;
            return 0;
        }
        return tdt_queue_apply(rr->queues[i], &am, NULL) < 0 ? -ENOMEM : 0;
    }
    return 0;
}

static const tdt_column tdt_report_cols[] = {
    {"county_code", "县区代码", false}, {"county", "县区", false},
    {"raised", "预警", true},          {"open", "待核查", true},
    {"overdue", "逾期", true},         {"closed", "已办结", true},
    {"identified", "识别为监测对象", true}, {"already_monitored", "已是监测对象", true},
    {"dismissed", "排除", true},       {"could_not_reach", "无法联系", true},
    {"superseded", "已升级", true},    {"monitored_households", "监测户", true},
    {"risk_eliminated", "风险消除", true}, {"risk_eliminated_share", "风险消除占比", true},
};
#define TDT_NR (sizeof(tdt_report_cols) / sizeof(tdt_report_cols[0]))

static int tdt_report_row(tdt_table *t, const char *code, const char *name, const tdt_stats *s,
                          bool roster, tdt_format fmt)
{
    char n[13][24], share[24] = "";
    const size_t vals[12] = {s->raised, s->open, s->overdue, s->closed,
                             s->by_outcome[TDT_OUTCOME_IDENTIFIED],
                             s->by_outcome[TDT_OUTCOME_ALREADY_MONITORED],
                             s->by_outcome[TDT_OUTCOME_DISMISSED],
                             s->by_outcome[TDT_OUTCOME_COULD_NOT_REACH], s->superseded,
                             s->monitored, s->eliminated, 0};
    int64_t bp = tdt_share_bp(s->eliminated, s->monitored);
    for (int i = 0; i < 11; i++)
        snprintf(n[i], sizeof(n[i]), "%zu", vals[i]);
    if (!roster) {
        snprintf(n[9], sizeof(n[9]), "%s", fmt == TDT_FMT_TABLE ? "-" : "");
        snprintf(n[10], sizeof(n[10]), "%s", fmt == TDT_FMT_TABLE ? "-" : "");
    }
    if (roster && bp >= 0)
        snprintf(share, sizeof(share), fmt == TDT_FMT_TABLE ? "%" PRId64 ".%02" PRId64 "%%"
                                                             : "%" PRId64 ".%02" PRId64,
                 bp / 100, bp % 100);
    else if (fmt == TDT_FMT_TABLE)
        snprintf(share, sizeof(share), "-");
    {
        const char *cells[TDT_NR] = {code, name, n[0], n[1], n[2], n[3], n[4],
                                     n[5], n[6], n[7], n[8], n[9], n[10], share};
        return tdt_table_add(t, cells);
    }
}

/* ---- report --quality ---- */

typedef struct tdt_quality_run {
    tdt_ctx *x;
    char **topics;        /* ncounties suspect topics, then the roster */
    size_t ncounties;
    tdt_suspects **lists; /* ncounties */
    tdt_roster *roster;
    td_avro_decoder *sdec, *hdec;
    size_t skipped;
} tdt_quality_run;

static int tdt_quality_msg(const rd_kafka_message_t *m, void *opaque)
{
    tdt_quality_run *q = opaque;
    const char *tn = rd_kafka_topic_name(m->rkt);
    avro_value_t *v;
    td_error err = {0};

    if (strcmp(tn, q->topics[q->ncounties]) == 0) {
        char key[256];
        const char *id, *village;
        int state;
        size_t persons = 0;
        if (!m->key || m->key_len == 0 || m->key_len >= sizeof(key)) {
            tdt_errf(q->x->errf, "tuodictl: %s [%" PRId32 "] @%" PRId64 ": skipped: no "
                    "household id as key\n", tn, m->partition, m->offset);
            q->skipped++;
            return 0;
        }
        memcpy(key, m->key, m->key_len);
        key[m->key_len] = '\0';
        if (!m->payload)
            return tdt_roster_apply(q->roster, key, NULL, 0, 0) < 0 ? -ENOMEM : 0;
        if (td_avro_decode(q->hdec, m->payload, m->len, &v, &err) < 0 ||
            tdt_household_from_avro(v, &id, &village, &state, &persons, &err) < 0) {
            tdt_errf(q->x->errf, "tuodictl: %s [%" PRId32 "] @%" PRId64 ": skipped: %s\n", tn,
                    m->partition, m->offset, err.msg);
            q->skipped++;
            return 0;
        }
        return tdt_roster_apply(q->roster, key, village, state, persons) < 0 ? -ENOMEM : 0;
    }
    for (size_t i = 0; i < q->ncounties; i++) {
        tdt_suspect_msg sm;
        if (strcmp(tn, q->topics[i]) != 0)
            continue;
        if (!m->payload || td_avro_decode(q->sdec, m->payload, m->len, &v, &err) < 0 ||
            tdt_suspect_msg_from_avro(v, &sm, &err) < 0) {
            tdt_errf(q->x->errf, "tuodictl: %s [%" PRId32 "] @%" PRId64 ": skipped: %s\n", tn,
                    m->partition, m->offset, m->payload ? err.msg : "no value");
            q->skipped++;
            return 0;
        }
        return tdt_suspects_apply(q->lists[i], &sm, NULL) < 0 ? -ENOMEM : 0;
    }
    return 0;
}

static const tdt_column tdt_quality_cols[] = {
    {"level", "级别", false},            {"rank", "排名", true},
    {"county_code", "县区代码", false},  {"county", "县区", false},
    {"township_code", "乡镇代码", false}, {"township", "乡镇", false},
    {"raised", "新增疑点", true},        {"open", "未整改", true},
    {"resolved", "整改到位", true},      {"closed", "部门数据有误", true},
    {"resolved_in_time", "按期整改", true}, {"in_time_share", "按期整改率", true},
    {"roster_persons", "名册人数", true}, {"open_per_1000", "每千人未整改", true},
};
#define TDT_NQ (sizeof(tdt_quality_cols) / sizeof(tdt_quality_cols[0]))

/* One row: level "county", "township" or "total"; rank 0: none. */
static int tdt_quality_table_row(tdt_table *t, const char *level, const tdt_quality_row *row,
                                 const tdt_places *places, tdt_format fmt)
{
    bool people = fmt == TDT_FMT_TABLE, town = strlen(row->code) == 9;
    char county[7], rank[24] = "", n[6][24], share[32], rate[32];
    const size_t vals[6] = {row->q.raised, row->q.open, row->q.resolved, row->q.closed,
                            row->q.resolved_in_time, row->q.persons};
    int64_t bp = tdt_share_bp(row->q.resolved_in_time, row->q.resolved);
    const char *lw = level;

    snprintf(county, sizeof(county), "%.6s", row->code);
    if (row->rank)
        snprintf(rank, sizeof(rank), "%zu", row->rank);
    for (int i = 0; i < 6; i++)
        snprintf(n[i], sizeof(n[i]), "%zu", vals[i]);
    if (bp >= 0)
        snprintf(share, sizeof(share), people ? "%" PRId64 ".%02" PRId64 "%%"
                                              : "%" PRId64 ".%02" PRId64, bp / 100, bp % 100);
    else
        snprintf(share, sizeof(share), "%s", people ? "-" : "");
    if (row->rate >= 0)
        snprintf(rate, sizeof(rate), people ? "%" PRId64 ".%02" PRId64 "‰"
                                            : "%" PRId64 ".%02" PRId64,
                 row->rate / 100, row->rate % 100);
    else
        snprintf(rate, sizeof(rate), "%s", people ? "-" : "");
    if (people)
        lw = strcmp(level, "county") == 0     ? "县区"
             : strcmp(level, "township") == 0 ? "乡镇"
             : strcmp(level, "unrouted") == 0 ? "未定位"
                                              : "合计";
    {
        bool total = strcmp(level, "total") == 0, nowhere = strcmp(level, "unrouted") == 0;
        const char *cells[TDT_NQ] = {
            lw, people && !rank[0] ? "-" : rank, total ? NULL : nowhere ? "unrouted" : county,
            total ? "合计" : nowhere ? "未定位" : tdt_or(tdt_places_name(places, county), county),
            town ? row->code : NULL,
            town ? tdt_or(tdt_places_name(places, row->code), row->code) : NULL,
            n[0], n[1], n[2], n[3], n[4], share, n[5], rate};
        return tdt_table_add(t, cells);
    }
}

int tdt_quality_write(const tdt_quality_row *counties, tdt_quality_row *const *towns,
                      const size_t *ntowns, size_t n, const tdt_quality_row *unrouted,
                      const tdt_places *places, int32_t from, int32_t to, tdt_format fmt,
                      FILE *out)
{
    tdt_quality_row *ranked = calloc(n ? n : 1, sizeof(*ranked)), total;
    tdt_table t;
    bool ok = ranked != NULL;

    memset(&total, 0, sizeof(total));
    tdt_table_init(&t, tdt_quality_cols, TDT_NQ);
    for (size_t i = 0; ok && i < n; i++) {
        ranked[i] = counties[i];
        total.q.raised += counties[i].q.raised;
        total.q.open += counties[i].q.open;
        total.q.resolved += counties[i].q.resolved;
        total.q.resolved_in_time += counties[i].q.resolved_in_time;
        total.q.closed += counties[i].q.closed;
        total.q.persons += counties[i].q.persons;
    }
    if (unrouted) {
        total.q.raised += unrouted->q.raised;
        total.q.open += unrouted->q.open;
        total.q.resolved += unrouted->q.resolved;
        total.q.resolved_in_time += unrouted->q.resolved_in_time;
        total.q.closed += unrouted->q.closed;
    }
    /* the counties ranked, the total, then each county's townships (ranked)
     * in the counties' rank order */
    if (ok)
        tdt_quality_rank(ranked, n);
    for (size_t i = 0; ok && i < n; i++)
        ok = tdt_quality_table_row(&t, "county", &ranked[i], places, fmt) == 0;
    if (ok && unrouted)
        ok = tdt_quality_table_row(&t, "unrouted", unrouted, places, fmt) == 0;
    total.rate = tdt_per_mille_x100(total.q.open, total.q.persons);
    ok = ok && tdt_quality_table_row(&t, "total", &total, places, fmt) == 0;
    for (size_t i = 0; ok && i < n; i++) {
        size_t k = 0;
        while (k < n && strcmp(counties[k].code, ranked[i].code) != 0)
            k++;
        for (size_t j = 0; ok && k < n && j < ntowns[k]; j++)
            ok = tdt_quality_table_row(&t, "township", &towns[k][j], places, fmt) == 0;
    }
    if (ok && fmt == TDT_FMT_TABLE) {
        char a[TD_AVRO_DATE_BUFSZ] = "", b[TD_AVRO_DATE_BUFSZ] = "";
        if (from != INT32_MIN)
            td_avro_date_format(from, a);
        td_avro_date_format(to, b);
        fprintf(out, "疑点数据质量 %s 至 %s\n", a[0] ? a : "开始", b);
        tdt_table_write(&t, fmt, out);
        fprintf(out, "每千人未整改 = 期末未整改疑点 × 1000 ÷ 名册人数, 四舍五入到 0.01‰; "
                "按期整改率 = 期内整改到位中在整改期限内的占比\n");
    } else if (ok) {
        if (fmt == TDT_FMT_CSV)
            fputs("\xEF\xBB\xBF", out);
        tdt_table_write(&t, fmt, out);
    }
    fflush(out);
    tdt_table_done(&t);
    free(ranked);
    return ok ? 0 : -ENOMEM;
}

/* report --quality over counties (n of them, and the unrouted list when
 * with_unrouted): reads their suspect topics and the roster, writes the
 * ranking to x->out. */
static int tdt_report_quality(tdt_ctx *x, const td_avro_registry *reg, const tdt_places *places,
                              const char *const *counties, size_t n, bool with_unrouted,
                              int32_t from, int32_t to, tdt_format fmt)
{
    size_t nl = n + (with_unrouted ? 1 : 0);
    tdt_quality_row unrouted;
    tdt_quality_run q;
    tdt_quality_row *crows = NULL, **towns = NULL;
    size_t *ntowns = NULL;
    td_error err = {0};
    int r = TDT_EXIT_FAILURE;

    memset(&q, 0, sizeof(q));
    q.x = x;
    q.ncounties = nl;
    q.topics = calloc(nl + 1, sizeof(*q.topics));
    q.lists = calloc(nl ? nl : 1, sizeof(*q.lists));
    crows = calloc(n ? n : 1, sizeof(*crows));
    towns = calloc(n ? n : 1, sizeof(*towns));
    ntowns = calloc(n ? n : 1, sizeof(*ntowns));
    if (!q.topics || !q.lists || !crows || !towns || !ntowns || tdt_roster_new(&q.roster) < 0)
        goto out;
    if (!td_avro_registry_find_name(reg, "cn.tuodi.Suspect") ||
        td_avro_decoder_new(reg, td_avro_registry_find_name(reg, "cn.tuodi.Suspect"), &q.sdec,
                            &err) < 0 ||
        td_avro_decoder_new(reg, td_avro_registry_find_name(reg, "cn.tuodi.Household"), &q.hdec,
                            &err) < 0) {
        tdt_errf(x->errf, "tuodictl: no usable suspect.avsc or household.avsc in %s\n",
                x->cfg.schemas_dir);
        goto out;
    }
    for (size_t i = 0; i < nl; i++) {
        q.topics[i] = tdt_suspect_topic(&x->cfg, i < n ? counties[i] : "unrouted");
        if (!q.topics[i] || tdt_suspects_new(&q.lists[i]) < 0)
            goto out;
    }
    q.topics[nl] = strdup(x->cfg.topics.roster);
    if (!q.topics[nl])
        goto out;
    /* The roster first, and it must be there (and readable: a user without
     * Read on it would see no persons, and no rate, without a word); a
     * county without a suspect topic has no suspects (yet). */
    r = tdt_kafka_read(&x->cfg, (const char *const *)&q.topics[nl], 1, false, false,
                       tdt_quality_msg, NULL, &q, &err);
    if (r == 0)
        r = tdt_kafka_read(&x->cfg, (const char *const *)q.topics, nl, true, false,
                           tdt_quality_msg, NULL, &q, &err);
    if (r < 0) {
        r = tdt_fail(x, &err, r);
        goto out;
    }
    r = TDT_EXIT_FAILURE;
    for (size_t i = 0; i < n; i++) {
        if (tdt_quality_county(q.lists[i], q.roster, counties[i], from, to, &crows[i], &towns[i],
                               &ntowns[i]) < 0)
            goto out;
    }
    /* suspects of households without a known village: a row of their own,
     * not ranked (no county, no roster persons), counted in the total */
    memset(&unrouted, 0, sizeof(unrouted));
    snprintf(unrouted.code, sizeof(unrouted.code), "unrouted");
    unrouted.rate = -1;
    for (size_t i = 0; with_unrouted && i < tdt_suspects_count(q.lists[n]); i++)
        tdt_quality_add(&unrouted.q, tdt_suspects_at(q.lists[n], i), from, to);
    if (tdt_quality_write(crows, towns, ntowns, n,
                          with_unrouted && tdt_suspects_count(q.lists[n]) ? &unrouted : NULL,
                          places, from, to, fmt, x->out) < 0)
        goto out;
    if (q.skipped)
        tdt_errf(x->errf, "tuodictl: %zu messages skipped (see above)\n", q.skipped);
    r = TDT_EXIT_OK;
out:
    for (size_t i = 0; q.topics && i <= nl; i++)
        free(q.topics[i]);
    for (size_t i = 0; q.lists && i < nl; i++)
        tdt_suspects_free(q.lists[i]);
    for (size_t i = 0; towns && i < n; i++)
        free(towns[i]);
    free(q.topics);
    free(q.lists);
    free(crows);
    free(towns);
    free(ntowns);
    tdt_roster_free(q.roster);
    td_avro_decoder_free(q.sdec);
    td_avro_decoder_free(q.hdec);
    return r;
}

static void tdt_report_usage(FILE *f)
{
    fprintf(f,
            "Usage: tuodictl [--config FILE] [--prefix P] report [--county CODE]...\n"
            "                [--format table|csv|json] [--today YYYY-MM-DD]\n"
            "       tuodictl [--config FILE] [--prefix P] report --quality [--county CODE]...\n"
            "                [--quarter YYYYQn | --from YYYY-MM-DD --to YYYY-MM-DD]\n"
            "                [--format table|csv|json]\n"
            "\n"
            "Per county: alerts raised, open, overdue, closed by outcome, superseded, and\n"
            "the roster's monitored households (MONITORED or RISK_ELIMINATED) with the share\n"
            "whose risk is eliminated. Reads every county's alert topic, the unrouted one\n"
            "and the roster topic (latest value per household; a tombstone removes it) from\n"
            "the beginning. A county without an alert topic counts zero alerts.\n"
            "\n"
            "  --county CODE   only these counties (repeatable; default: counties: in the\n"
            "                  config, else every county of the places file)\n"
            "  --format F      table (default), csv or json (the share as a number, in %%)\n"
            "  --today DATE    count overdue as of DATE (default: today, China time)\n"
            "\n"
            "With --quality, the data quality of the suspicious-data list (疑点数据清单) per\n"
            "county and township over a period: suspects raised, open at its end, resolved\n"
            "(整改到位), closed as department data wrong (部门数据有误), resolved on or\n"
            "before the fix due date (20 working days) and that share, and the ranking of\n"
            "the province's quarterly notice: open suspects per 1,000 roster persons,\n"
            "best (lowest) first, in hundredths of a per mille rounded half up. Reads\n"
            "every county's <suspects_prefix><county> and the roster (members of the\n"
            "households on it now).\n"
            "  --quarter Q     the period: a quarter, e.g. 2024Q1 (2024-01-01 to 2024-03-31)\n"
            "  --from DATE     the period's first day (default: the beginning)\n"
            "  --to DATE       the period's last day (default: today, China time)\n"
            "\n"
            "Exit status: 0 ok, 1 Kafka failure, 2 usage or config error.\n");
}

static int tdt_cmd_report(tdt_ctx *x, int argc, char **argv)
{
    const char *fmt_s = NULL, *today_s = NULL, *county = NULL, *pos[1];
    const char *quarter = NULL, *from_s = NULL, *to_s = NULL;
    bool help = false, quality = false;
    size_t npos;
    tdt_opt opts[] = {{"format", 0, &fmt_s, NULL},
                      {"today", 0, &today_s, NULL},
                      {"county", 0, &county, NULL},
                      {"quality", 0, NULL, &quality},
                      {"quarter", 0, &quarter, NULL},
                      {"from", 0, &from_s, NULL},
                      {"to", 0, &to_s, NULL},
                      {"help", 'h', NULL, &help},
                      {NULL, 0, NULL, NULL}};
    int32_t from = INT32_MIN, to = 0;
    tdt_report_run rr;
    bool with_unrouted = false;
    tdt_format fmt = TDT_FMT_TABLE;
    td_avro_registry *reg = NULL;
    tdt_places *places = NULL;
    const char **counties = NULL;
    tdt_stats total;
    tdt_table t;
    td_error err = {0};
    int32_t today;
    int r;

    memset(&rr, 0, sizeof(rr));
    memset(&total, 0, sizeof(total));
    tdt_table_init(&t, tdt_report_cols, TDT_NR);
    /* --county may repeat: collect them first. */
    counties = calloc((size_t)argc + 1, sizeof(*counties));
    if (!counties)
        return TDT_EXIT_FAILURE;
    {
        int nc = 0, na = 0;
        char **rest = calloc((size_t)argc + 1, sizeof(*rest));
        if (!rest) {
            free(counties);
            return TDT_EXIT_FAILURE;
        }
        for (int i = 0; i < argc; i++) {
            const char *c = NULL;
            if (strcmp(argv[i], "--") == 0) {
                while (i < argc)
                    rest[na++] = argv[i++];
                break;
            }
            if (strcmp(argv[i], "--county") == 0 && i + 1 < argc &&
                strncmp(argv[i + 1], "--", 2) != 0)
                c = argv[++i];
            else if (strncmp(argv[i], "--county=", 9) == 0)
                c = argv[i] + 9;
            if (!c) {
                rest[na++] = argv[i];
                continue;
            }
            /* the same county twice is one row */
            bool dup = false;
            for (int k = 0; k < nc; k++)
                dup = dup || strcmp(counties[k], c) == 0;
            if (!dup)
                counties[nc++] = c;
        }
        r = tdt_parse(x, na, rest, opts, pos, 0, &npos, "report");
        free(rest);
        rr.ncounties = (size_t)nc;
        if (r >= 0)
            goto out;
    }
    if (help) {
        tdt_report_usage(x->out);
        r = TDT_EXIT_OK;
        goto out;
    }
    for (size_t i = 0; i < rr.ncounties; i++) {
        if (strcmp(counties[i], "unrouted") == 0) {
            tdt_errf(x->errf, "tuodictl report: --county unrouted: the alerts without a village "
                    "are the row 未定位 of the report without --county\n");
            r = TDT_EXIT_USAGE;
            goto out;
        }
        if ((r = tdt_county_arg(x, "report", counties[i], false, NULL)) >= 0)
            goto out;
    }
    if (fmt_s && tdt_format_parse(fmt_s, &fmt) < 0) {
        tdt_errf(x->errf, "tuodictl report: --format %s: expected table, csv or json\n", fmt_s);
        r = TDT_EXIT_USAGE;
        goto out;
    }
    if ((r = tdt_today(x, "report", today_s, &today)) != 0)
        goto out;
    if (!quality && (quarter || from_s || to_s)) {
        tdt_errf(x->errf, "tuodictl report: --%s goes with --quality\n",
                quarter ? "quarter" : from_s ? "from" : "to");
        r = TDT_EXIT_USAGE;
        goto out;
    }
    if (quality) {
        td_error qe = {0};
        to = today;
        if (quarter && (from_s || to_s)) {
            tdt_errf(x->errf, "tuodictl report: --quarter or --from/--to, not both\n");
            r = TDT_EXIT_USAGE;
            goto out;
        }
        if ((quarter && tdt_quarter_arg(quarter, &from, &to, &qe) < 0) ||
            (from_s && tdt_date_arg("--from", from_s, &from, &qe) < 0) ||
            (to_s && tdt_date_arg("--to", to_s, &to, &qe) < 0)) {
            tdt_errf(x->errf, "tuodictl report: %s\n", qe.msg);
            r = TDT_EXIT_USAGE;
            goto out;
        }
        if (from > to) {
            tdt_errf(x->errf, "tuodictl report: --from %s is after --to %s\n",
                    tdt_or(from_s, "?"), tdt_or(to_s, "(today)"));
            r = TDT_EXIT_USAGE;
            goto out;
        }
    }
    if ((r = tdt_ctx_load(x)) != 0)
        goto out;
    rr.x = x;
    if ((r = tdt_places_load(x->cfg.places, &places, &err)) < 0) {
        r = tdt_fail(x, &err, r == -ENOMEM ? -ENOMEM : -EINVAL);
        goto out;
    }
    /* Before Kafka: a county the places file does not know would be a row
     * of zeros that looks like a county without alerts. */
    for (size_t i = 0; i < rr.ncounties; i++)
        if ((r = tdt_county_arg(x, "report", counties[i], false, places)) >= 0)
            goto out;
    for (size_t i = 0; rr.ncounties == 0 && i < x->cfg.ncounties; i++)
        if (tdt_places_level(places, x->cfg.counties[i]) != TDT_LEVEL_COUNTY) {
            char *buf = NULL;
            size_t len = 0;
            FILE *f = open_memstream(&buf, &len);
            if (!f) {
                r = TDT_EXIT_FAILURE;
                goto out;
            }
            fprintf(f, "tuodictl report: %s: counties: %s is not a county of the places file "
                    "%s", x->config_path, x->cfg.counties[i], tdt_places_path(places));
            tdt_put_suggestions(f, places, NULL, x->cfg.counties[i]);
            r = tdt_usage_msg(x, f, &buf);
            goto out;
        }
    if ((r = tdt_registry_load(&x->cfg, &reg, &err)) < 0 ||
        (r = td_avro_decoder_new(reg, td_avro_registry_find_name(reg, "cn.tuodi.Alert"),
                                 &rr.adec, &err)) < 0) {
        r = tdt_fail(x, &err, r == -ENOMEM ? -ENOMEM : -EINVAL);
        goto out;
    }
    if (!td_avro_registry_find_name(reg, "cn.tuodi.Household") ||
        td_avro_decoder_new(reg, td_avro_registry_find_name(reg, "cn.tuodi.Household"),
                            &rr.hdec, &err) < 0) {
        tdt_errf(x->errf, "tuodictl: no usable household.avsc in %s\n", x->cfg.schemas_dir);
        r = TDT_EXIT_FAILURE;
        goto out;
    }
    /* the unrouted queue belongs to the whole city's report, not to a
     * report of the counties asked for */
    with_unrouted = rr.ncounties == 0;
    if (rr.ncounties == 0) {
        if (x->cfg.ncounties) {
            const char **nc = realloc(counties, (x->cfg.ncounties + 1) * sizeof(*nc));
            if (!nc) {
                r = TDT_EXIT_FAILURE;
                goto out;
            }
            counties = nc;
            for (size_t i = 0; i < x->cfg.ncounties; i++)
                counties[i] = x->cfg.counties[i];
            rr.ncounties = x->cfg.ncounties;
        } else {
            const char **nc = realloc(counties, (tdt_places_ncounties(places) + 1) *
                                                    sizeof(*nc));
            if (!nc) {
                r = TDT_EXIT_FAILURE;
                goto out;
            }
            counties = nc;
            for (size_t i = 0; i < tdt_places_ncounties(places); i++)
                counties[i] = tdt_places_county(places, i);
            rr.ncounties = tdt_places_ncounties(places);
        }
    }
    if (quality) {
        r = tdt_report_quality(x, reg, places, counties, rr.ncounties, with_unrouted, from, to,
                               fmt);
        rr.ncounties = 0; /* nothing of rr to free */
        goto out;
    }
    rr.topics = calloc(rr.ncounties + 2, sizeof(*rr.topics));
    rr.queues = calloc(rr.ncounties + 1, sizeof(*rr.queues));
    if (!rr.topics || !rr.queues || tdt_roster_new(&rr.roster) < 0) {
        r = TDT_EXIT_FAILURE;
        goto out;
    }
    for (size_t i = 0; i <= rr.ncounties; i++) {
        rr.topics[i] = tdt_alert_topic(&x->cfg, i < rr.ncounties ? counties[i] : "unrouted");
        if (!rr.topics[i] || tdt_queue_new(&rr.queues[i]) < 0) {
            r = TDT_EXIT_FAILURE;
            goto out;
        }
    }
    rr.topics[rr.ncounties + 1] = strdup(x->cfg.topics.roster);
    if (!rr.topics[rr.ncounties + 1]) {
        r = TDT_EXIT_FAILURE;
        goto out;
    }
    r = tdt_kafka_read(&x->cfg, (const char *const *)rr.topics, rr.ncounties + 2, true, false,
                       tdt_report_msg, NULL, &rr, &err);
    if (r < 0) {
        r = tdt_fail(x, &err, r);
        goto out;
    }
    for (size_t i = 0; i <= rr.ncounties; i++) {
        tdt_stats s;
        bool unrouted = i == rr.ncounties;
        const char *code = unrouted ? "unrouted" : counties[i];
        const char *name = unrouted ? "未定位" : tdt_or(tdt_places_name(places, code), code);
        memset(&s, 0, sizeof(s));
        tdt_queue_stats(rr.queues[i], today, &s);
        if (!unrouted)
            tdt_roster_stats(rr.roster, code, &s);
        if (unrouted && (s.raised == 0 || !with_unrouted))
            continue;
        total.raised += s.raised;
        total.open += s.open;
        total.overdue += s.overdue;
        total.closed += s.closed;
        total.superseded += s.superseded;
        for (int k = 0; k < TDT_OUTCOME_N; k++)
            total.by_outcome[k] += s.by_outcome[k];
        total.monitored += s.monitored;
        total.eliminated += s.eliminated;
        if (tdt_report_row(&t, code, name, &s, !unrouted, fmt) < 0) {
            r = TDT_EXIT_FAILURE;
            goto out;
        }
    }
    if (tdt_report_row(&t, "total", "合计", &total, true, fmt) < 0) {
        r = TDT_EXIT_FAILURE;
        goto out;
    }
    tdt_table_write(&t, fmt, x->out);
    if (rr.skipped)
        tdt_errf(x->errf, "tuodictl: %zu messages skipped (see above)\n", rr.skipped);
    r = TDT_EXIT_OK;
out:
    tdt_table_done(&t);
    for (size_t i = 0; rr.topics && i < rr.ncounties + 2; i++)
        free(rr.topics[i]);
    for (size_t i = 0; rr.queues && i <= rr.ncounties; i++)
        tdt_queue_free(rr.queues[i]);
    free(rr.topics);
    free(rr.queues);
    tdt_roster_free(rr.roster);
    td_avro_decoder_free(rr.adec);
    td_avro_decoder_free(rr.hdec);
    td_avro_registry_free(reg);
    tdt_places_free(places);
    free(counties);
    return r;
}

/* ---- dead-letters ---- */

typedef struct tdt_dlq_run {
    tdt_ctx *x;
    tdt_dlq_filter filter;
    bool keep_value;       /* --rows: the rows are written out */
    tdt_dead_letter *v;
    size_t n, cap;
    size_t total;          /* read, selected or not */
} tdt_dlq_run;

static int tdt_dlq_msg(const rd_kafka_message_t *m, void *opaque)
{
    tdt_dlq_run *a = opaque;
    rd_kafka_headers_t *h = NULL;
    tdt_dead_letter d;
    rd_kafka_timestamp_type_t tt;

    a->total++;
    if (rd_kafka_message_headers(m, &h) != RD_KAFKA_RESP_ERR_NO_ERROR)
        h = NULL;
    if (tdt_dead_letter_parse(h, NULL, 0, &d) < 0)
        return -ENOMEM;
    d.timestamp = rd_kafka_message_timestamp(m, &tt);
    d.dlq_partition = m->partition;
    d.dlq_offset = m->offset;
    if (!tdt_dlq_match(&d, &a->filter)) {
        tdt_dead_letter_done(&d);
        return 0;
    }
    if (a->keep_value && m->payload) {
        d.value = malloc(m->len + 1);
        if (!d.value) {
            tdt_dead_letter_done(&d);
            return -ENOMEM;
        }
        memcpy(d.value, m->payload, m->len);
        d.value[m->len] = '\0';
        d.value_len = m->len;
    }
    if (a->n == a->cap) {
        size_t nc = a->cap ? a->cap * 2 : 64;
        tdt_dead_letter *nv = realloc(a->v, nc * sizeof(*nv));
        if (!nv) {
            tdt_dead_letter_done(&d);
            return -ENOMEM;
        }
        a->v = nv;
        a->cap = nc;
    }
    a->v[a->n++] = d;
    return 0;
}

static void tdt_dlq_usage(FILE *f)
{
    fprintf(f,
            "Usage: tuodictl [--config FILE] [--prefix P] dead-letters\n"
            "                (--dataset NAME | --topic T) [--connector INSTANCE]\n"
            "                [--location FILE] [--since YYYY-MM-DD] [--format table|csv|json]\n"
            "                [--rows OUT.csv [--header-from FILE]]\n"
            "\n"
            "Lists the dead letters of a dataset, oldest first: the rows the connectors set\n"
            "aside (file and row number) and the records tuodi-matchd could not use (topic,\n"
            "partition, offset), with the column, stage and reason. Reads the DLQ topic from\n"
            "the beginning (committed messages only). The rows themselves hold personal data:\n"
            "they are never shown, only written to a file with --rows.\n"
            "\n"
            "  --dataset NAME       roster, medical_insurance, civil_affairs, human_resources or\n"
            "                       verifications: the topic topics.dlq_<NAME> of the config\n"
            "                       (default tuodi.dlq.<NAME>)\n"
            "  --topic T            this DLQ topic instead (a connector's topics.dlq)\n"
            "  --connector INSTANCE only the rows of this connector instance\n"
            "  --location FILE      only the rows of this file (its base name, as in the spool)\n"
            "  --since DATE         only dead letters written on or after DATE (China time)\n"
            "  --format F           table (people, default), csv or json (machines: every field)\n"
            "  --rows OUT.csv       also write the selected rows, as they were read (converted\n"
            "                       to UTF-8), to OUT.csv: a new file of mode 0600 (personal\n"
            "                       data; an existing file is never overwritten), UTF-8 with a\n"
            "                       byte-order mark, one row per line (CRLF), no header line\n"
            "                       unless --header-from. Fix them and drop the file into the\n"
            "                       spool again. (--export is the same option.)\n"
            "  --header-from FILE   put the first line of FILE (the original file, e.g. the\n"
            "                       spool's finished/NAME) first in OUT.csv, converted to UTF-8\n"
            "\n"
            "Identity numbers are masked in everything printed. A summary line ends the\n"
            "table (on stderr with csv and json).\n"
            "Exit status: 0 ok, 1 Kafka failure, no such topic or OUT.csv not written, 2 usage\n"
            "or config error.\n");
}

/* The dataset names as "a, b or c". */
static void tdt_put_datasets(FILE *f)
{
    for (size_t i = 0; tdt_dlq_datasets[i]; i++)
        fprintf(f, "%s%s", i == 0 ? "" : tdt_dlq_datasets[i + 1] ? ", " : " or ",
                tdt_dlq_datasets[i]);
}

static int tdt_cmd_dead_letters(tdt_ctx *x, int argc, char **argv)
{
    const char *dataset = NULL, *topic_s = NULL, *connector = NULL, *location = NULL,
               *since_s = NULL, *fmt_s = NULL, *rows = NULL, *export_s = NULL,
               *header_from = NULL, *pos[1];
    bool help = false;
    size_t npos;
    tdt_opt opts[] = {{"dataset", 0, &dataset, NULL},   {"topic", 0, &topic_s, NULL},
                      {"connector", 0, &connector, NULL}, {"location", 0, &location, NULL},
                      {"since", 0, &since_s, NULL},     {"format", 0, &fmt_s, NULL},
                      {"rows", 0, &rows, NULL},         {"export", 0, &export_s, NULL},
                      {"header-from", 0, &header_from, NULL},
                      {"help", 'h', NULL, &help},       {NULL, 0, NULL, NULL}};
    tdt_dlq_run a;
    tdt_format fmt = TDT_FMT_TABLE;
    tdt_table t;
    char *header = NULL;
    const char *topic;
    FILE *note;
    td_error err = {0};
    int r;

    memset(&a, 0, sizeof(a));
    a.filter.since_ms = INT64_MIN;
    tdt_table_init(&t, tdt_dlq_cols_table, tdt_dlq_ncols_table);
    r = tdt_parse(x, argc, argv, opts, pos, 0, &npos, "dead-letters");
    if (r >= 0)
        goto out;
    if (help) {
        tdt_dlq_usage(x->out);
        r = TDT_EXIT_OK;
        goto out;
    }
    r = TDT_EXIT_USAGE;
    if (!dataset == !topic_s) {
        if (dataset) {
            tdt_errf(x->errf, "tuodictl dead-letters: give --dataset or --topic, not both\n");
            goto out;
        }
        tdt_errf(x->errf, "tuodictl dead-letters: --dataset NAME or --topic T is required; the "
                "datasets are ");
        tdt_put_datasets(x->errf);
        fputs(" (see tuodictl dead-letters --help)\n", x->errf);
        goto out;
    }
    if (dataset) {
        size_t k = 0;
        while (tdt_dlq_datasets[k] && strcmp(tdt_dlq_datasets[k], dataset) != 0)
            k++;
        if (!tdt_dlq_datasets[k]) {
            const char *near = NULL;
            size_t best = 4;
            for (size_t i = 0; tdt_dlq_datasets[i]; i++) {
                size_t dd = td_edit_distance(dataset, tdt_dlq_datasets[i], 3);
                if (dd < best || (!near && *dataset &&
                                  strncmp(tdt_dlq_datasets[i], dataset, strlen(dataset)) == 0)) {
                    near = tdt_dlq_datasets[i];
                    best = dd < best ? dd : best;
                }
            }
            tdt_errf(x->errf, "tuodictl dead-letters: --dataset %s: no such dataset%s%s%s; the "
                    "datasets are ", dataset, near ? " (did you mean " : "", near ? near : "",
                    near ? "?)" : "");
            tdt_put_datasets(x->errf);
            fputs("\n", x->errf);
            goto out;
        }
    }
    if (topic_s && !*topic_s) {
        tdt_errf(x->errf, "tuodictl dead-letters: --topic needs a value: a DLQ topic name\n");
        goto out;
    }
    if (connector && !*connector) {
        tdt_errf(x->errf, "tuodictl dead-letters: --connector needs a value: a connector "
                "instance (instance: in its config)\n");
        goto out;
    }
    if (location) {
        const char *slash = strrchr(location, '/');
        if (slash)
            location = slash + 1; /* the header holds the file's base name */
        if (!*location) {
            tdt_errf(x->errf, "tuodictl dead-letters: --location needs a value: a file's name "
                    "as it was in the spool, e.g. 2023-05.csv\n");
            goto out;
        }
    }
    if (fmt_s && tdt_format_parse(fmt_s, &fmt) < 0) {
        tdt_errf(x->errf, "tuodictl dead-letters: --format %s: expected table, csv or json\n",
                fmt_s);
        goto out;
    }
    if (since_s) {
        int32_t day;
        if (tdt_date_arg("--since", since_s, &day, &err) < 0) {
            tdt_errf(x->errf, "tuodictl dead-letters: %s\n", err.msg);
            goto out;
        }
        a.filter.since_ms = tdt_day_cst_start_ms(day);
    }
    if (rows && export_s) {
        tdt_errf(x->errf, "tuodictl dead-letters: --rows and --export are one option: give it "
                "once\n");
        goto out;
    }
    rows = rows ? rows : export_s;
    if (header_from && !rows) {
        tdt_errf(x->errf, "tuodictl dead-letters: --header-from goes with --rows OUT.csv\n");
        goto out;
    }
    if (rows) {
        struct stat st;
        char dir[4096];
        const char *slash = strrchr(rows, '/');
        if (!*rows || (slash && !slash[1])) {
            tdt_errf(x->errf, "tuodictl dead-letters: --rows needs a file name (a new file)\n");
            goto out;
        }
        if (lstat(rows, &st) == 0) {
            tdt_errf(x->errf, "tuodictl dead-letters: --rows %s: the file exists; it is never "
                    "overwritten (it may hold rows of another export): give a new name, or "
                    "remove it first\n", rows);
            goto out;
        }
        snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - rows) + (slash == rows) : 1,
                 slash ? rows : ".");
        if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || access(dir, W_OK | X_OK) < 0) {
            tdt_errf(x->errf, "tuodictl dead-letters: --rows %s: cannot create a file in %s: "
                    "%s\n", rows, dir, stat(dir, &st) < 0 ? strerror(errno) :
                    !S_ISDIR(st.st_mode) ? "not a directory" : "not writable");
            goto out;
        }
        if (header_from && tdt_dlq_read_header(header_from, &header, &err) < 0) {
            tdt_errf(x->errf, "tuodictl dead-letters: --header-from %s\n", err.msg);
            goto out;
        }
    }
    a.filter.connector = connector;
    a.filter.location = location;
    a.keep_value = rows != NULL;
    a.x = x;
    if ((r = tdt_ctx_load(x)) != 0)
        goto out;
    topic = topic_s ? topic_s : tdt_dlq_topic(&x->cfg, dataset);
    {
        const char *topics[1] = {topic};
        r = tdt_kafka_read(&x->cfg, topics, 1, false, false, tdt_dlq_msg, NULL, &a, &err);
    }
    if (r == -ENOENT) {
        tdt_errf(x->errf, "tuodictl dead-letters: topic %s does not exist: check the name "
                "(topics.dlq_%s in the config, --prefix, or the connector's topics.dlq for "
                "--topic); a connector creates its DLQ topic when it starts, and 'tuodictl "
                "topics create' creates them all\n", topic, dataset ? dataset : "<dataset>");
        r = TDT_EXIT_FAILURE;
        goto out;
    }
    if (r < 0) {
        r = tdt_fail(x, &err, r);
        goto out;
    }
    tdt_dlq_sort(a.v, a.n);
    tdt_dlq_table_init(&t, fmt);
    for (size_t i = 0; i < a.n; i++)
        if (tdt_dead_letter_row(&t, &a.v[i], fmt) < 0) {
            tdt_errf(x->errf, "tuodictl: out of memory\n");
            r = TDT_EXIT_FAILURE;
            goto out;
        }
    tdt_table_write(&t, fmt, x->out);
    fflush(x->out);
    /* the summary ends the table; with csv and json stdout stays data */
    note = fmt == TDT_FMT_TABLE ? x->out : x->errf;
    tdt_dlq_summary(a.v, a.n, note);
    r = TDT_EXIT_OK;
    if (rows) {
        tdt_dlq_rows_stats st;
        bool any = false;
        for (size_t i = 0; i < a.n && !any; i++)
            any = !a.v[i].matchd && !a.v[i].record_id && !a.v[i].truncated && a.v[i].value;
        memset(&st, 0, sizeof(st));
        if (!any) {
            tdt_errf(note, "no rows to write: %s not created\n", rows);
        } else {
            int fd = open(rows, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
            FILE *f = fd >= 0 ? fdopen(fd, "wb") : NULL;
            int wr;
            if (!f) {
                tdt_errf(x->errf, "tuodictl dead-letters: --rows %s: %s; nothing written\n",
                        rows, strerror(errno));
                if (fd >= 0)
                    close(fd);
                r = TDT_EXIT_FAILURE;
                goto out;
            }
            wr = tdt_dlq_write_rows(a.v, a.n, header, f, &st);
            if (fclose(f) != 0 && wr == 0)
                wr = -(errno ? errno : EIO);
            if (wr < 0) {
                tdt_errf(x->errf, "tuodictl dead-letters: --rows %s: %s; the file is "
                        "incomplete: remove it\n", rows, strerror(-wr));
                r = TDT_EXIT_FAILURE;
                goto out;
            }
            tdt_errf(note, "wrote %zu row%s of %zu file%s to %s (mode 0600: personal data; "
                    "%s)\n", st.written, st.written == 1 ? "" : "s", st.locations,
                    st.locations == 1 ? "" : "s", rows,
                    header ? "the header line first" : "no header line: put the original "
                    "file's first, or use --header-from");
        }
        st.table = 0;
        for (size_t i = 0; i < a.n; i++)
            st.table += !a.v[i].matchd && a.v[i].record_id;
        if (st.table)
            tdt_errf(note, "not written: %zu row%s of a database table (JSON, with a record "
                    "id): fix %s in the database; the connector reads a row again when it "
                    "changes\n", st.table, st.table == 1 ? "" : "s", st.table == 1 ? "it" :
                    "them");
        for (size_t i = 0; i < a.n; i++) {
            if (a.v[i].truncated && !a.v[i].matchd && !a.v[i].record_id)
                tdt_errf(note, "not written: row %" PRId64 " of %s was cut (tuodi.truncated): "
                        "take it from the original file\n", a.v[i].row,
                        tdt_or(a.v[i].location, "?"));
        }
        st.matchd = 0; /* counted again: also when no file was written */
        for (size_t i = 0; i < a.n; i++)
            st.matchd += a.v[i].matchd;
        if (st.matchd)
            tdt_errf(note, "not written: %zu dead letter%s of tuodi-matchd (a record of a "
                    "topic, not a row of a file)\n", st.matchd, st.matchd == 1 ? "" : "s");
    }
out:
    tdt_table_done(&t);
    for (size_t i = 0; i < a.n; i++)
        tdt_dead_letter_done(&a.v[i]);
    free(a.v);
    free(header);
    return r;
}

/* ---- main ---- */

/* --check-config: the config, the topics file, the places file, the schemas
 * and the files kafka: names, as this user; creates, changes and connects
 * to nothing. Every problem on errf (exit 2), or one "ok" line. */
static int tdt_check_config(tdt_ctx *x)
{
    tdt_topics_file tf;
    tdt_places *places = NULL;
    td_avro_registry *reg = NULL;
    td_error step = {0};
    const char *cp = x->config_path;
    size_t ntopics = 0, ncounties = 0;
    bool bad = false;
    int r;

    r = tdt_ctx_load(x);
    if (r != 0)
        return r;
    /* each step's problems are printed at once: there may be more than one
     * td_error holds */
#define TDT_CHECK_REPORT()                          \
    do {                                            \
        if (step.msg[0]) {                          \
            tdt_errf(x->errf, "%s\n", step.msg);    \
            bad = true;                             \
        }                                           \
        td_error_clear(&step);                      \
    } while (0)
    memset(&tf, 0, sizeof(tf));
    if (td_path_check(cp, "topics_file", x->cfg.topics_file, TD_PATH_READ_FILE,
                      "tuodictl topics create reads it", &step) == 0) {
        tdt_topics_file_load(x->cfg.topics_file, &tf, &step);
        ntopics = tf.ntopics;
        tdt_topics_file_free(&tf);
    }
    TDT_CHECK_REPORT();
    if (td_path_check(cp, "places", x->cfg.places, TD_PATH_READ_FILE, NULL, &step) == 0) {
        tdt_places_load(x->cfg.places, &places, &step);
        if (places)
            ncounties = tdt_places_ncounties(places);
        tdt_places_free(places);
    }
    TDT_CHECK_REPORT();
    if (td_path_check(cp, "schemas_dir", x->cfg.schemas_dir, TD_PATH_READ_DIR,
                      "the Avro schemas are read from it", &step) == 0) {
        tdt_registry_load(&x->cfg, &reg, &step);
        td_avro_registry_free(reg);
    }
    TDT_CHECK_REPORT();
    /* the policy is the admin's: checked where it is, not required */
    if (x->cfg.acls_file && access(x->cfg.acls_file, F_OK) == 0) {
        tdt_acl_policy pol;
        memset(&pol, 0, sizeof(pol));
        if (tdt_acl_policy_load(x->cfg.acls_file, &pol, &step) == 0)
            tdt_acl_policy_free(&pol);
    }
    TDT_CHECK_REPORT();
    if (td_kafka_props_check_files(&x->cfg.kafka, cp, "kafka", x->errf) < 0)
        bad = true;
#undef TDT_CHECK_REPORT
    if (!bad)
        fprintf(x->out, "%s: ok (%zu topics in %s, %zu counties in %s)\n", cp, ntopics,
                x->cfg.topics_file, ncounties, x->cfg.places);
    tdt_config_free(&x->cfg);
    return bad ? TDT_EXIT_USAGE : TDT_EXIT_OK;
}

static void tdt_usage(FILE *f)
{
    fprintf(f,
            "Usage: tuodictl [--config FILE] [--prefix P] COMMAND [OPTIONS]\n"
            "       tuodictl [--config FILE] --check-config\n"
            "       tuodictl --version | --help\n"
            "\n"
            "Commands:\n"
            "  topics create   create every topic of the topics file (idempotent)\n"
            "  alerts          a county's verification queue\n"
            "  suspects        a county's suspicious-data list (疑点数据清单)\n"
            "  verify          record a verification outcome\n"
            "  report          per county: alerts, outcomes, risk-eliminated share;\n"
            "                  --quality: suspects and the per-1,000 ranking\n"
            "  dead-letters    the rows and records set aside, and why; their rows to a file\n"
            "  acls apply      make the brokers' ACLs equal to the access policy (admin)\n"
            "\n"
            "  -c, --config FILE  the config (default $TUODI_CONFIG, else %s)\n"
            "      --check-config load and validate the config and the files it names\n"
            "                     (topics file, places, schemas, kafka: TLS files) as this\n"
            "                     user, print every problem as file:line:col, exit; no\n"
            "                     command, and nothing is created or connected to\n"
            "      --prefix P     topic names start with P. instead of tuodi.\n"
            "  -v, --verbose      show librdkafka's own messages (hidden otherwise: a Kafka\n"
            "                     failure is summed up in one line)\n"
            "  -V, --version      print the version\n"
            "  -h, --help         this text; COMMAND --help for a command's\n"
            "\n"
            "Exit status: 0 ok, 1 failure (Kafka unreachable, topic conflict, ...),\n"
            "2 usage or config error. docs/tuodictl.md has examples.\n",
            TDT_DEFAULT_CONFIG);
}

int tdt_main(int argc, char **argv, FILE *out, FILE *errf)
{
    tdt_ctx x;
    int i, r;
    const char *cmd;
    bool check = false;

    memset(&x, 0, sizeof(x));
    x.out = out;
    x.errf = errf;
    x.config_path = getenv("TUODI_CONFIG");
    if (!x.config_path || !*x.config_path)
        x.config_path = TDT_DEFAULT_CONFIG;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0 || strcmp(a, "--prefix") == 0) {
            if (i + 1 >= argc) {
                tdt_errf(errf, "tuodictl: %s needs a value\n", a);
                return TDT_EXIT_USAGE;
            }
            if (a[2] == 'p')
                x.prefix = argv[++i];
            else
                x.config_path = argv[++i];
        } else if (strncmp(a, "--config=", 9) == 0) {
            x.config_path = a + 9;
        } else if (strncmp(a, "--prefix=", 9) == 0) {
            x.prefix = a + 9;
        } else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
            x.verbose = true;
        } else if (strcmp(a, "--check-config") == 0) {
            check = true;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            tdt_usage(out);
            return TDT_EXIT_OK;
        } else if (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0) {
            fprintf(out, "tuodictl %s\n", TUODI_VERSION);
            return TDT_EXIT_OK;
        } else if (a[0] == '-') {
            static const char *const cmd_opts[] = {
                "--county", "--township", "--village", "--state", "--quality", "--quarter",
                "--from", "--to", "--all", "--follow", "--format", "--today",
                "--outcome", "--category", "--reason", "--verifier", "--reviewer",
                "--visit-date", "--outcome-id", "--dry-run", "--file", "--replication-factor",
                "--dataset", "--topic", "--connector", "--location", "--since", "--rows",
                "--export", "--header-from"};
            size_t k = 0, n = sizeof(cmd_opts) / sizeof(cmd_opts[0]);
            while (k < n && strncmp(a, cmd_opts[k], strcspn(a, "=")) != 0)
                k++;
            if (k < n && strlen(cmd_opts[k]) == strcspn(a, "="))
                tdt_errf(errf, "tuodictl: %s goes after the command, e.g. tuodictl alerts "
                        "--county 340421 (see tuodictl --help)\n", cmd_opts[k]);
            else
                tdt_errf(errf, "tuodictl: unknown option %s (see tuodictl --help)\n", a);
            return TDT_EXIT_USAGE;
        } else {
            break;
        }
    }
    if (check) {
        if (i < argc) {
            tdt_errf(errf, "tuodictl: --check-config takes no command (see tuodictl --help)\n");
            return TDT_EXIT_USAGE;
        }
        return tdt_check_config(&x);
    }
    if (i >= argc) {
        tdt_errf(errf, "tuodictl: a command is required\n");
        tdt_usage(errf);
        return TDT_EXIT_USAGE;
    }
    cmd = argv[i];
    argc -= i + 1;
    argv += i + 1;
    if (strcmp(cmd, "topics") == 0)
        r = tdt_cmd_topics(&x, argc, argv);
    else if (strcmp(cmd, "alerts") == 0)
        r = tdt_cmd_alerts(&x, argc, argv);
    else if (strcmp(cmd, "suspects") == 0)
        r = tdt_cmd_suspects(&x, argc, argv);
    else if (strcmp(cmd, "verify") == 0)
        r = tdt_cmd_verify(&x, argc, argv);
    else if (strcmp(cmd, "report") == 0)
        r = tdt_cmd_report(&x, argc, argv);
    else if (strcmp(cmd, "dead-letters") == 0)
        r = tdt_cmd_dead_letters(&x, argc, argv);
    else if (strcmp(cmd, "acls") == 0)
        r = tdt_cmd_acls(&x, argc, argv);
    else if (strcmp(cmd, "help") == 0) {
        /* "tuodictl help alerts": the command's own text */
        const char *c = argc >= 1 ? argv[0] : "";
        if (strcmp(c, "topics") == 0)
            tdt_topics_usage(out);
        else if (strcmp(c, "alerts") == 0)
            tdt_alerts_usage(out);
        else if (strcmp(c, "suspects") == 0)
            tdt_suspects_usage(out);
        else if (strcmp(c, "verify") == 0)
            tdt_verify_usage(out);
        else if (strcmp(c, "report") == 0)
            tdt_report_usage(out);
        else if (strcmp(c, "dead-letters") == 0)
            tdt_dlq_usage(out);
        else if (strcmp(c, "acls") == 0)
            tdt_acls_usage(out);
        else
            tdt_usage(out);
        r = TDT_EXIT_OK;
    } else {
        static const char *const cmds[] = {"topics", "alerts", "suspects", "verify", "report",
                                           "dead-letters", "acls", "help"};
        const char *near = NULL;
        for (size_t k = 0; !near && k < sizeof(cmds) / sizeof(cmds[0]); k++)
            if (td_edit_distance(cmd, cmds[k], 2) <= 2)
                near = cmds[k];
        if (near)
            tdt_errf(errf, "tuodictl: unknown command \"%s\"; did you mean %s?\n", cmd, near);
        else
            tdt_errf(errf, "tuodictl: unknown command \"%s\"\n", cmd);
        tdt_usage(errf);
        r = TDT_EXIT_USAGE;
    }
    tdt_config_free(&x.cfg);
    return r;
}
