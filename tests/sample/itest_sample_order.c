/* The same final queue whatever the arrival order (issue 15, item 4),
 * against the real Kafka broker named by KAFKA_BOOTSTRAP.
 *
 * One Huainan sample (tuodi-sample, as itest_sample) is loaded seven times,
 * each run under its own topic prefix, matchd group and state directory
 * (the configs of deploy/data/demo-config/, the real connectors):
 *   - the roster first, to its end;
 *   - then the department files one at a time, each finished (in the spool
 *     dir's finished/) before the next is put down: in the six runs
 *     "civil,medical,hr" ... "hr,medical,civil" a department's files all
 *     come before the next department's; in the run "interleaved" the
 *     departments alternate file by file (civil-01, medical-01, hr-01,
 *     medical-02). A department's own files come in the same order in
 *     every run (medical-01 before medical-02).
 * The runs go in lockstep (every run's roster, then every run's first file,
 * ...): the waits overlap, and a run's records are in its own topics.
 *
 * matchd starts after the last file, once per run. Its merged order is
 * then a function of the Kafka timestamps alone (docs/matchd-design.md,
 * "Determinism and time"), and the records of a file put down later have
 * later timestamps, so the load order is exactly the processing order, with
 * no fetch timing in it. A matchd running throughout would see the same
 * order plus the live-arrival path, which is the chaos test's business.
 *
 * The push day is fixed: before anything else each run's clock topic gets
 * one tick with the same time T (an hour after the test started, later than
 * every record's timestamp), so the stream clock is T for the whole run and
 * raised_at and the due dates cannot differ between runs.
 *
 * The final queue of a run is tuodictl's fold (tdt_queue_apply: state OPEN,
 * CLOSED or SUPERSEDED) of every <prefix>.alerts.* topic, with each alert's
 * content from its latest message (the schema's promise). Every run must
 * hold the alerts expected/alerts.csv counts, open; and all seven must be
 * equal alert by alert: the set of alert ids, and per alert its state, the
 * kind of its latest message, severity, rule, household and person, queue,
 * evidence (dataset, event type, person, date, amount, source record id,
 * file and row: not the topic, partition and offset, which are the run's
 * own), measure, raised_at, due dates and message. Differences are printed
 * alert by alert against the first run, identity numbers replaced by a
 * short hash. */
#include "td_avro.h"
#include "td_date.h"
#include "td_kafka.h"
#include "td_proc.h"
#include "td_time.h"
#include "tds_it.h"
#include "tdt.h"

#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define NDEPT 3
#define NFILES 4
#define NRUNS 7

static const char *const depts[NDEPT] = {"civil_affairs", "medical_insurance",
                                         "human_resources"};
static const char *const dept_short[NDEPT] = {"civil", "medical", "hr"};
static const struct {
    int dept;
    const char *name;
} files[NFILES] = {
    {0, "civil-01.csv"},
    {1, "medical-01.csv"},
    {1, "medical-02.csv"},
    {2, "hr-01.csv"},
};

/* ---------------------------------------------------------- the fold */

/* What is compared per alert, in this order. */
enum {
    F_STATE,
    F_KIND,
    F_SEVERITY,
    F_RULE,
    F_SUBJECT,
    F_QUEUE,
    F_EVIDENCE,
    F_MEASURE,
    F_RAISED_AT,
    F_VISIT_DUE,
    F_PROCEDURE_DUE,
    F_MESSAGE,
    NF
};
static const char *const field_name[NF] = {
    "state (tuodictl's fold)", "kind of the latest message", "severity", "rule",
    "household/person", "queue", "evidence", "measure", "raised_at", "visit due",
    "procedure due", "message",
};

typedef struct alert {
    char *id;
    char *f[NF];
} alert;

typedef struct run {
    char label[64];
    int seq[NFILES]; /* indexes into files[], in load order */
    char dir[128], data[160], prefix[64];
    pid_t roster, conn[NDEPT], matchd;
    td_avro_decoder *dec;
    tdt_queue *queue; /* tuodictl's fold */
    alert *alerts;    /* latest message per alert id, sorted by id at the end */
    size_t n, cap;
    int undecodable;
} run;

static run runs[NRUNS];
static char base[64];

/* A copy of s with every identity number (a run of 15 or 18 digits, or of
 * 17 and an X) replaced by "id#" and 8 hex digits of its FNV-1a hash, so
 * that two alerts still compare as their numbers do and none is printed. */
static char *redact(const char *s)
{
    size_t n = strlen(s), o = 0;
    char *out = malloc(n + 1 + n / 15 * 12);
    FATAL(out);
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && s[j] >= '0' && s[j] <= '9')
            j++;
        size_t d = j - i, len = d;
        if (d == 17 && j < n && (s[j] == 'X' || s[j] == 'x'))
            len = 18;
        bool edge = i == 0 || !(s[i - 1] >= '0' && s[i - 1] <= '9');
        if (edge && (d == 15 || d == 18 || len == 18)) {
            uint32_t h = 2166136261u;
            for (size_t k = i; k < i + len; k++)
                h = (h ^ (unsigned char)s[k]) * 16777619u;
            o += (size_t)sprintf(out + o, "id#%08x", h);
            i += len;
        } else if (d > 0) {
            memcpy(out + o, s + i, d);
            o += d;
            i = j;
        } else {
            out[o++] = s[i++];
        }
    }
    out[o] = '\0';
    return out;
}

static const char *day_str(int32_t days, char *buf, size_t size)
{
    if (days == 0)
        snprintf(buf, size, "-");
    else
        td_date_format(days, buf, size);
    return buf;
}

/* A long or int field, unwrapping an optional; false for null or missing. */
static bool num_field(avro_value_t *rec, const char *name, int64_t *ret)
{
    avro_value_t f, b;
    int32_t i;
    if (avro_value_get_by_name(rec, name, &f, NULL) != 0)
        return false;
    if (avro_value_get_type(&f) == AVRO_UNION) {
        if (avro_value_get_current_branch(&f, &b) != 0)
            return false;
        f = b;
    }
    switch (avro_value_get_type(&f)) {
    case AVRO_INT32:
        if (avro_value_get_int(&f, &i) != 0)
            return false;
        *ret = i;
        return true;
    case AVRO_INT64:
        return avro_value_get_long(&f, ret) == 0;
    default:
        return false;
    }
}

/* A record field, unwrapping an optional; false for null or missing. */
static bool rec_field(avro_value_t *rec, const char *name, avro_value_t *ret)
{
    avro_value_t f;
    if (avro_value_get_by_name(rec, name, &f, NULL) != 0)
        return false;
    if (avro_value_get_type(&f) == AVRO_UNION)
        return avro_value_get_current_branch(&f, ret) == 0 &&
               avro_value_get_type(ret) == AVRO_RECORD;
    *ret = f;
    return avro_value_get_type(&f) == AVRO_RECORD;
}

/* The evidence without the run's own topic, partition and offset:
 * "DATASET event_type person date amount record_id file:row; ..." */
static void evidence_str(avro_value_t *v, char *buf, size_t size)
{
    avro_value_t ev, item, src;
    size_t n = 0, o = 0;
    int64_t count = 0;
    buf[0] = '\0';
    if (avro_value_get_by_name(v, "evidence", &ev, NULL) != 0 || avro_value_get_size(&ev, &n))
        return;
    num_field(v, "evidence_count", &count);
    o += (size_t)snprintf(buf + o, size - o, "(%" PRId64 ")", count);
    for (size_t i = 0; i < n && o < size; i++) {
        char date[16] = "-", amount[32] = "-";
        int64_t x;
        const char *loc = "", *slash;
        FATAL(avro_value_get_by_index(&ev, i, &item, NULL) == 0);
        if (num_field(&item, "event_date", &x))
            day_str((int32_t)x, date, sizeof(date));
        if (num_field(&item, "amount_fen", &x))
            snprintf(amount, sizeof(amount), "%" PRId64 "fen", x);
        o += (size_t)snprintf(buf + o, size - o, " %s %s %s %s %s",
                              tds_it_enum_sym(&item, "dataset"),
                              *tds_it_opt_str(&item, "event_type")
                                  ? tds_it_opt_str(&item, "event_type")
                                  : "-",
                              *tds_it_opt_str(&item, "person_key")
                                  ? tds_it_opt_str(&item, "person_key")
                                  : "household",
                              date, amount);
        if (o < size && rec_field(&item, "source", &src)) {
            loc = tds_it_opt_str(&src, "location");
            slash = strrchr(loc, '/');
            o += (size_t)snprintf(buf + o, size - o, " %s %s", tds_it_opt_str(&src, "record_id"),
                                  slash ? slash + 1 : loc);
            if (o < size && num_field(&src, "row", &x))
                o += (size_t)snprintf(buf + o, size - o, ":%" PRId64, x);
        }
        if (o < size && i + 1 < n)
            o += (size_t)snprintf(buf + o, size - o, ";");
    }
}

static void measure_str(avro_value_t *v, char *buf, size_t size)
{
    avro_value_t m;
    int64_t value = 0, threshold = 0;
    if (!rec_field(v, "measure", &m)) {
        snprintf(buf, size, "-");
        return;
    }
    num_field(&m, "value", &value);
    num_field(&m, "threshold", &threshold);
    snprintf(buf, size, "%" PRId64 " %s %" PRId64 " %s", value, tds_it_enum_sym(&m, "comparison"),
             threshold, tds_it_enum_sym(&m, "unit"));
}

static alert *find_alert(run *r, const char *id)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->alerts[i].id, id) == 0)
            return &r->alerts[i];
    return NULL;
}

/* One message of r's alert topics, in topic order: into tuodictl's fold,
 * and as the latest content of its alert id. */
static void on_alert(const char *topic, rd_kafka_message_t *m, void *opaque)
{
    run *r = opaque;
    avro_value_t *v;
    td_error err = {0};
    tdt_alert_msg am;
    char buf[8192];
    int64_t x = 0;
    if (td_avro_decode(r->dec, m->payload, m->len, &v, &err) < 0 ||
        tdt_alert_msg_from_avro(v, &am, &err) < 0) {
        fprintf(stderr, "%s: undecodable alert in %s [%" PRId32 "] @%" PRId64 ": %s\n", r->label,
                topic, m->partition, m->offset, err.msg);
        r->undecodable++;
        return;
    }
    FATAL(tdt_queue_apply(r->queue, &am, NULL) == 0);
    alert *a = find_alert(r, am.alert_id);
    if (!a) {
        if (r->n == r->cap) {
            r->cap = r->cap ? r->cap * 2 : 64;
            r->alerts = realloc(r->alerts, r->cap * sizeof(*r->alerts));
            FATAL(r->alerts);
        }
        a = &r->alerts[r->n++];
        memset(a, 0, sizeof(*a));
        a->id = strdup(am.alert_id);
        FATAL(a->id);
    }
    for (int f = F_KIND; f < NF; f++) {
        char date[16];
        const char *hid = tds_it_opt_str(v, "household_id"),
                   *pk = tds_it_opt_str(v, "person_key");
        switch (f) {
        case F_KIND:
            snprintf(buf, sizeof(buf), "%s", tds_it_enum_sym(v, "kind"));
            break;
        case F_SEVERITY:
            snprintf(buf, sizeof(buf), "%s", tds_it_enum_sym(v, "severity"));
            break;
        case F_RULE:
            snprintf(buf, sizeof(buf), "%s %s", tds_it_opt_str(v, "rule_id"),
                     tds_it_opt_str(v, "rule_version"));
            break;
        case F_SUBJECT:
            snprintf(buf, sizeof(buf), "household %s, person %s", *hid ? hid : "-",
                     *pk ? pk : "-");
            break;
        case F_QUEUE:
            snprintf(buf, sizeof(buf), "%s", topic + strlen(r->prefix) + strlen(".alerts."));
            break;
        case F_EVIDENCE:
            evidence_str(v, buf, sizeof(buf));
            break;
        case F_MEASURE:
            measure_str(v, buf, sizeof(buf));
            break;
        case F_RAISED_AT:
            num_field(v, "raised_at", &x);
            /* as CST: the day and the time of day */
            x += 8 * 3600000LL;
            snprintf(buf, sizeof(buf), "%s %02d:%02d:%02d.%03d CST",
                     day_str((int32_t)(x / 86400000), date, sizeof(date)),
                     (int)(x % 86400000 / 3600000), (int)(x % 3600000 / 60000),
                     (int)(x % 60000 / 1000), (int)(x % 1000));
            break;
        case F_VISIT_DUE:
            x = 0;
            num_field(v, "visit_due_date", &x);
            day_str((int32_t)x, buf, sizeof(buf));
            break;
        case F_PROCEDURE_DUE:
            x = 0;
            num_field(v, "procedure_due_date", &x);
            day_str((int32_t)x, buf, sizeof(buf));
            break;
        case F_MESSAGE:
            snprintf(buf, sizeof(buf), "%s", tds_it_opt_str(v, "message"));
            break;
        }
        free(a->f[f]);
        a->f[f] = redact(buf);
    }
}

static int cmp_alert(const void *x, const void *y)
{
    return strcmp(((const alert *)x)->id, ((const alert *)y)->id);
}

/* Reads r's alert topics into its fold; the state of each alert from it. */
static void fold_run(run *r, td_avro_registry *reg)
{
    tds_it_list topics = {0};
    td_error err = {0};
    char group[128], ap[128];
    static const char *const states[] = {"OPEN", "CLOSED", "SUPERSEDED"};
    FATAL(td_avro_decoder_new(reg, td_avro_registry_find_name(reg, "cn.tuodi.Alert"), &r->dec,
                              &err) == 0);
    FATAL(tdt_queue_new(&r->queue) == 0);
    snprintf(group, sizeof(group), "%s-meta", r->prefix);
    snprintf(ap, sizeof(ap), "%s.alerts.", r->prefix);
    tds_it_topics_starting(group, ap, &topics);
    tds_it_read_all(r->prefix, &topics, on_alert, r);
    tds_it_list_free(&topics);
    for (size_t i = 0; i < r->n; i++) {
        const tdt_alert *t = tdt_queue_find(r->queue, r->alerts[i].id);
        FATAL(t);
        r->alerts[i].f[F_STATE] = strdup(states[t->state]);
        FATAL(r->alerts[i].f[F_STATE]);
    }
    if (r->n > 1)
        qsort(r->alerts, r->n, sizeof(*r->alerts), cmp_alert);
}

static size_t count_open(const run *r)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n; i++)
        n += strcmp(r->alerts[i].f[F_STATE], "OPEN") == 0;
    return n;
}

/* "1a2b3c4d5e6f (rule; household/person; severity)" */
static void describe(const alert *a, char *buf, size_t size)
{
    snprintf(buf, size, "%.12s (%s; %s; %s)", a->id, a->f[F_RULE], a->f[F_SUBJECT],
             a->f[F_SEVERITY]);
}

/* Prints the fields in which x (of run rx) and y (of run ry) differ. */
static void print_fields(const alert *x, const run *rx, const alert *y, const run *ry)
{
    for (int f = 0; f < NF; f++)
        if (strcmp(x->f[f], y->f[f]) != 0)
            fprintf(stderr, "    %s: [%s] %s\n    %*s  [%s] %s\n", field_name[f], rx->label,
                    x->f[f], (int)strlen(field_name[f]), "", ry->label, y->f[f]);
}

static bool same_lead(const alert *x, const alert *y)
{
    return strcmp(x->f[F_RULE], y->f[F_RULE]) == 0 &&
           strcmp(x->f[F_SUBJECT], y->f[F_SUBJECT]) == 0 &&
           strcmp(x->f[F_EVIDENCE], y->f[F_EVIDENCE]) == 0;
}

/* Prints how r differs from ref, alert by alert; returns how many alerts
 * differ. An alert id of one run that the other lacks is shown beside the
 * other's alert of the same rule, subject and evidence, when there is one
 * (the same lead under another id). */
static int compare_runs(const run *ref, const run *r)
{
    size_t i = 0, j = 0, nx = 0, ny = 0;
    int ndiff = 0;
    char d[1024];
    const alert **only_ref = calloc(ref->n + 1, sizeof(*only_ref));
    const alert **only_r = calloc(r->n + 1, sizeof(*only_r));
    FATAL(only_ref && only_r);
    while (i < ref->n || j < r->n) {
        int c = i == ref->n ? 1 : j == r->n ? -1 : strcmp(ref->alerts[i].id, r->alerts[j].id);
        if (c < 0) {
            only_ref[nx++] = &ref->alerts[i++];
        } else if (c > 0) {
            only_r[ny++] = &r->alerts[j++];
        } else {
            bool differs = false;
            for (int f = 0; f < NF; f++)
                differs = differs || strcmp(ref->alerts[i].f[f], r->alerts[j].f[f]) != 0;
            if (differs) {
                describe(&ref->alerts[i], d, sizeof(d));
                fprintf(stderr, "  alert %s differs:\n", d);
                print_fields(&ref->alerts[i], ref, &r->alerts[j], r);
                ndiff++;
            }
            i++;
            j++;
        }
    }
    for (size_t x = 0; x < nx; x++) {
        for (size_t y = 0; y < ny; y++) {
            if (!only_r[y] || !same_lead(only_ref[x], only_r[y]))
                continue;
            fprintf(stderr, "  %s for %s, evidence %s:\n    id: [%s] %.12s\n        [%s] %.12s\n",
                    only_ref[x]->f[F_RULE], only_ref[x]->f[F_SUBJECT],
                    only_ref[x]->f[F_EVIDENCE], ref->label, only_ref[x]->id, r->label,
                    only_r[y]->id);
            print_fields(only_ref[x], ref, only_r[y], r);
            only_ref[x] = only_r[y] = NULL;
            ndiff++;
            break;
        }
    }
    for (size_t x = 0; x < nx; x++) {
        if (!only_ref[x])
            continue;
        describe(only_ref[x], d, sizeof(d));
        fprintf(stderr, "  alert %s only in [%s]: %s, evidence %s\n", d, ref->label,
                only_ref[x]->f[F_STATE], only_ref[x]->f[F_EVIDENCE]);
        ndiff++;
    }
    for (size_t y = 0; y < ny; y++) {
        if (!only_r[y])
            continue;
        describe(only_r[y], d, sizeof(d));
        fprintf(stderr, "  alert %s only in [%s]: %s, evidence %s\n", d, r->label,
                only_r[y]->f[F_STATE], only_r[y]->f[F_EVIDENCE]);
        ndiff++;
    }
    free(only_ref);
    free(only_r);
    return ndiff;
}

/* ---------------------------------------------------------- loading */

static void make_dir(const char *path)
{
    FATAL(mkdir(path, 0755) == 0);
}

/* Copies sample/<dept>/<name> into run r's spool dir, then its marker. */
static void put_file(const run *r, const char *dept, const char *name)
{
    char cmd[1200];
    snprintf(cmd, sizeof(cmd), "cp %s/sample/%s/%s %s/%s/%s && touch %s/%s/%s.done", base, dept,
             name, r->data, dept, name, r->data, dept, name);
    FATAL(system(cmd) == 0);
}

/* Waits until <dept>/finished/<name> of every run is there. */
static void wait_finished(int step)
{
    char path[400];
    for (int k = 0; k < NRUNS; k++) {
        const run *r = &runs[k];
        int fi = step < 0 ? -1 : r->seq[step];
        if (fi < 0)
            snprintf(path, sizeof(path), "%s/roster/finished/huainan-roster.csv", r->data);
        else
            snprintf(path, sizeof(path), "%s/%s/finished/%s", r->data, depts[files[fi].dept],
                     files[fi].name);
        if (!tds_it_wait_file(path, 180000)) {
            fprintf(stderr, "[%s]: %s not finished (logs in %s)\n", r->label, path, r->dir);
            exit(1);
        }
    }
}

/* One tick with time t_ms on run r's clock topic (the name matchd gives it:
 * tuodi.matchd.<group_id>.clock), created with one partition as matchd
 * creates it. */
static void tick(rd_kafka_t *producer, const run *r, int64_t t_ms)
{
    char topic[200], val[32];
    td_error err = {0};
    td_kafka_topic_spec spec = {0};
    snprintf(topic, sizeof(topic), "tuodi.matchd.%s-matchd.clock", r->prefix);
    spec.name = topic;
    spec.partitions = 1;
    spec.replication_factor = -1;
    if (td_kafka_topics_ensure(producer, &spec, 1, 30000, &err) < 0) {
        fprintf(stderr, "%s: %s\n", topic, err.msg);
        exit(1);
    }
    snprintf(val, sizeof(val), "%" PRId64, t_ms);
    FATAL(td_kafka_produce(producer, topic, "tick", 4, val, strlen(val), NULL) == 0);
}

static pid_t spawn(const run *r, const char *bin, const char *config, const char *logname)
{
    char cfg[4200], log[300], state[200];
    snprintf(cfg, sizeof(cfg), "%s/deploy/data/demo-config/%s.yaml", tds_it_src_root, config);
    snprintf(log, sizeof(log), "%s/%s.log", r->dir, logname);
    snprintf(state, sizeof(state), "%s/state", r->dir);
    tds_it_set_env(r->data, r->prefix, state);
    return td_proc_spawn_config(bin, cfg, log);
}

static void stop(const run *r, pid_t pid, const char *what)
{
    int status = td_proc_stop(pid, SIGTERM, 60000);
    if (!(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
        fprintf(stderr, "[%s]: %s did not exit 0 on SIGTERM (status %d; logs in %s)\n", r->label,
                what, status, r->dir);
        tds_it_failures++;
    }
}

/* ---------------------------------------------------------- main */

int main(void)
{
    char cmd[9000], bin_conn[4200], bin_matchd[4200], path[4200];
    int64_t t0 = td_time_mono_ms(), tick_ms = td_time_wall_ms() + 3600000;
    td_error err = {0};

    if (!tds_it_init())
        return 1;
    snprintf(base, sizeof(base), "/tmp/itest-order-XXXXXX");
    FATAL(mkdtemp(base));
    snprintf(bin_conn, sizeof(bin_conn), "%s/connectors/tuodi-connector", tds_it_build_root);
    snprintf(bin_matchd, sizeof(bin_matchd), "%s/daemon/tuodi-matchd", tds_it_build_root);

    /* 1. the one sample every run loads */
    snprintf(cmd, sizeof(cmd),
             "%s/tools/sample/tuodi-sample --out %s/sample --households 300 --seed 6",
             tds_it_build_root, base);
    FATAL(system(cmd) == 0);

    /* 2. the runs: the six orders of the departments, then the interleaved one */
    {
        static const int perms[6][NDEPT] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2},
                                            {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
        static const int interleaved[NFILES] = {0, 1, 3, 2}; /* civil, medical, hr, medical */
        for (int k = 0; k < NRUNS; k++) {
            run *r = &runs[k];
            int n = 0;
            if (k < 6) {
                snprintf(r->label, sizeof(r->label), "%s,%s,%s", dept_short[perms[k][0]],
                         dept_short[perms[k][1]], dept_short[perms[k][2]]);
                for (int d = 0; d < NDEPT; d++)
                    for (int f = 0; f < NFILES; f++)
                        if (files[f].dept == perms[k][d])
                            r->seq[n++] = f;
            } else {
                snprintf(r->label, sizeof(r->label), "interleaved");
                memcpy(r->seq, interleaved, sizeof(r->seq));
            }
            snprintf(r->dir, sizeof(r->dir), "%s/run%d", base, k);
            snprintf(r->data, sizeof(r->data), "%s/data", r->dir);
            snprintf(r->prefix, sizeof(r->prefix), "tdo%d-%" PRId64 "-%d", (int)getpid(),
                     t0 % 1000000, k);
            make_dir(r->dir);
            make_dir(r->data);
            snprintf(path, sizeof(path), "%s/roster", r->data);
            make_dir(path);
            for (int d = 0; d < NDEPT; d++) {
                snprintf(path, sizeof(path), "%s/%s", r->data, depts[d]);
                make_dir(path);
            }
        }
    }

    /* 3. the push day: one tick at T on every run's clock topic, ahead of
     * every record (its Kafka timestamp is the smallest of the run) */
    {
        rd_kafka_conf_t *conf = NULL;
        rd_kafka_t *producer = NULL;
        FATAL(td_kafka_producer_conf_new(tds_it_bootstrap, NULL, NULL, &conf, &err) == 0);
        FATAL(td_kafka_new(RD_KAFKA_PRODUCER, conf, &producer, &err) == 0);
        for (int k = 0; k < NRUNS; k++)
            tick(producer, &runs[k], tick_ms);
        FATAL(rd_kafka_flush(producer, 30000) == RD_KAFKA_RESP_ERR_NO_ERROR);
        td_kafka_destroy(producer);
    }

    /* 4. the rosters, to their end */
    for (int k = 0; k < NRUNS; k++) {
        runs[k].roster = spawn(&runs[k], bin_conn, "roster", "roster");
        put_file(&runs[k], "roster", "huainan-roster.csv");
    }
    wait_finished(-1);
    for (int k = 0; k < NRUNS; k++)
        stop(&runs[k], runs[k].roster, "the roster connector");
    fprintf(stderr, "rosters published (%.1fs)\n", (double)(td_time_mono_ms() - t0) / 1000.0);

    /* 5. the department files, one step at a time */
    for (int k = 0; k < NRUNS; k++)
        for (int d = 0; d < NDEPT; d++)
            runs[k].conn[d] = spawn(&runs[k], bin_conn, depts[d], depts[d]);
    for (int step = 0; step < NFILES; step++) {
        for (int k = 0; k < NRUNS; k++) {
            int f = runs[k].seq[step];
            put_file(&runs[k], depts[files[f].dept], files[f].name);
        }
        wait_finished(step);
    }
    for (int k = 0; k < NRUNS; k++)
        for (int d = 0; d < NDEPT; d++)
            stop(&runs[k], runs[k].conn[d], depts[d]);
    fprintf(stderr, "department files published (%.1fs)\n",
            (double)(td_time_mono_ms() - t0) / 1000.0);

    /* 6. matchd per run, until it has committed every input */
    for (int k = 0; k < NRUNS; k++)
        runs[k].matchd = spawn(&runs[k], bin_matchd, "matchd", "matchd");
    for (int k = 0; k < NRUNS; k++) {
        run *r = &runs[k];
        char group[128];
        snprintf(group, sizeof(group), "%s-matchd", r->prefix);
        rd_kafka_t *c = tds_it_consumer(group, false);
        int64_t until = td_time_mono_ms() + 180000;
        bool ok = false;
        while (!(ok = tds_it_matchd_caught_up(c, r->prefix)) && td_time_mono_ms() < until &&
               td_proc_alive(r->matchd))
            usleep(300000);
        if (!ok) {
            fprintf(stderr, "[%s]: matchd did not catch up (logs in %s)\n", r->label, r->dir);
            tds_it_failures++;
        }
        td_kafka_destroy(c);
    }
    fprintf(stderr, "matchd caught up in every run (%.1fs)\n",
            (double)(td_time_mono_ms() - t0) / 1000.0);
    for (int k = 0; k < NRUNS; k++)
        stop(&runs[k], runs[k].matchd, "matchd");

    /* 7. the final queues, each with every expected alert open */
    td_avro_registry *reg = NULL;
    tds_it_list want = {0};
    snprintf(path, sizeof(path), "%s/schemas", tds_it_src_root);
    FATAL(td_avro_registry_new(&reg) == 0);
    FATAL(td_avro_registry_load_dir(reg, path, NULL, &err) == 0);
    snprintf(path, sizeof(path), "%s/sample/expected/alerts.csv", base);
    tds_it_read_expected(path, 4, &want, NULL);
    char push_day[64], day[16];
    snprintf(push_day, sizeof(push_day), "%s 00:00:00.000 CST",
             day_str((int32_t)((tick_ms + 8 * 3600000LL) / 86400000), day, sizeof(day)));
    for (int k = 0; k < NRUNS; k++) {
        run *r = &runs[k];
        fold_run(r, reg);
        fprintf(stderr, "[%s]: %zu alerts, %zu open\n", r->label, r->n, count_open(r));
        CHECK(r->undecodable == 0);
        /* the tick set the push day */
        for (size_t i = 0; i < r->n; i++)
            if (strcmp(r->alerts[i].f[F_RAISED_AT], push_day) != 0) {
                fprintf(stderr, "[%s]: alert %.12s raised at %s, not on the tick's day %s\n",
                        r->label, r->alerts[i].id, r->alerts[i].f[F_RAISED_AT], push_day);
                tds_it_failures++;
            }
        if (count_open(r) != want.n) {
            fprintf(stderr, "[%s]: %zu open alerts, expected/alerts.csv has %zu\n", r->label,
                    count_open(r), want.n);
            tds_it_failures++;
        }
    }

    /* 8. all equal to the first, alert by alert */
    for (int k = 1; k < NRUNS; k++) {
        fprintf(stderr, "[%s] against [%s]:\n", runs[k].label, runs[0].label);
        int ndiff = compare_runs(&runs[0], &runs[k]);
        fprintf(stderr, "  %d alerts differ\n", ndiff);
        if (ndiff)
            tds_it_failures++;
    }

    for (int k = 0; k < NRUNS; k++) {
        run *r = &runs[k];
        for (size_t i = 0; i < r->n; i++) {
            free(r->alerts[i].id);
            for (int f = 0; f < NF; f++)
                free(r->alerts[i].f[f]);
        }
        free(r->alerts);
        tdt_queue_free(r->queue);
        td_avro_decoder_free(r->dec);
    }
    tds_it_list_free(&want);
    td_avro_registry_free(reg);
    fprintf(stderr, "sample in every order: %d failures (%.1fs)%s%s\n", tds_it_failures,
            (double)(td_time_mono_ms() - t0) / 1000.0,
            tds_it_failures ? "; logs and data in " : "", tds_it_failures ? base : "");
    if (!tds_it_failures) {
        snprintf(cmd, sizeof(cmd), "rm -rf %s", base);
        CHECK(system(cmd) == 0);
    }
    return tds_it_failures ? 1 : 0;
}
