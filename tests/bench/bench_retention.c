/* Benchmark: tuodi-matchd's state size over years of records, with the
 * bounded state (docs/matchd-design.md, "Bounded state") on and off.
 *
 *   bench_retention [PERSONS [YEARS [DIR]]]   (defaults 1000000 3 a tmpdir)
 *
 * Not through Kafka, and not tdm_engine itself (whose loop needs a broker):
 * a model of what the engine writes to LMDB, day by day of the stream clock,
 * with the same parts (tdm_window, tdm_store, tdm_prune) and the same
 * databases and key layouts: 'state' (household id -> tdm_window bytes),
 * 'alerts' (alert id -> state key, NUL, an ALERT of TDM_BENCH_ALERT_BYTES,
 * 900 bytes: bench_matchd measures about 1 KB per alert), 'due' (visit due
 * day + alert id -> state key), 'alerts_closed' and 'spent'. The roster
 * index is left out (the same in both modes; bench_matchd measures it).
 *
 * The population: PERSONS people in households of 3. Each year a household
 * is active with probability 30% (fresh draw per year, a fixed seed): an
 * active household gets 3 medical settlements on random days of the year
 * (a bucket per day in its out-of-pocket series, the medical signal). 4% of
 * the active households raise an alert on their last settlement's day; the
 * alert is closed by an outcome 30 days later (no suppression), as a
 * verified alert is. One write transaction per stream day.
 *
 * Mode off: the engine before the bounded state: closed alerts stay in the
 * index, and a state is deleted only when tdm_window_is_empty (never, once
 * expired). Mode on: closures noted and pruned after the retention (400
 * days), spent states deleted, the day's spent states swept. Expiry to the
 * stream clock (keep_days 730: the longest window 365 days plus the default
 * lateness 365 days) and the due index are the same in both.
 *
 * At the end of each year, per mode: data.mdb's size on disk, the bytes of
 * the pages in use, and entries and bytes per database. */
#include "tdm_prune.h"
#include "tdm_store.h"
#include "tdm_window.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define KEEP_DAYS 730
#define RETENTION_DAYS 400
#define ALERT_BYTES 900
#define SERIES "medical_insurance.out_of_pocket_fen"
#define DAY0 19723 /* 2024-01-01 */

typedef struct ev {
    int32_t day;
    uint32_t hh;
    uint8_t kind; /* 0 settlement, 1 settlement raising an alert, 2 outcome closing it */
} ev;

typedef struct dirty {
    uint32_t hh;
    tdm_window *w;
    int32_t spent; /* spent-index day as loaded, INT32_MAX: none */
} dirty;

typedef struct sim {
    bool on;
    tdm_store *s;
    tdm_db state, alerts, due, closed, spent;
    tdm_txn *txn;
    dirty *d;
    size_t nd, capd;
    int32_t *slot; /* household -> index into d + 1, 0: not in the batch */
    unsigned char *buf;
    size_t bufcap;
    char alert_val[64 + ALERT_BYTES];
    uint64_t raised, closed_n, pruned, deleted, swept;
} sim;

static uint64_t rng = 0x9e3779b97f4a7c15u;
static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 11);
}

static void die(const char *what, int r, const td_error *err)
{
    fprintf(stderr, "bench_retention: %s: %d %s\n", what, r, err ? err->msg : "");
    exit(1);
}

static size_t day_key(int32_t day, const char *s, unsigned char *buf)
{
    uint32_t u = (uint32_t)day ^ 0x80000000u;
    size_t n = strlen(s);
    buf[0] = (unsigned char)(u >> 24);
    buf[1] = (unsigned char)(u >> 16);
    buf[2] = (unsigned char)(u >> 8);
    buf[3] = (unsigned char)u;
    memcpy(buf + 4, s, n);
    return 4 + n;
}

static void hh_key(uint32_t hh, char *k)
{
    snprintf(k, 32, "H%010" PRIu32, hh);
}

static void alert_id(uint32_t hh, int32_t day, char *id)
{
    snprintf(id, 80, "%016" PRIx64 "%08" PRIx32 "%08" PRIx32, (uint64_t)hh * 0x9e3779b97f4a7c15u,
             hh, (uint32_t)day);
}

static dirty *load(sim *m, uint32_t hh, bool create, int32_t today)
{
    td_error err = {0};
    char k[32];
    const void *v;
    size_t n;
    dirty *d;
    int r;

    if (m->slot[hh])
        return &m->d[m->slot[hh] - 1];
    hh_key(hh, k);
    r = tdm_store_get(m->txn, m->state, k, strlen(k), &v, &n, &err);
    if (r == -ENOENT && !create)
        return NULL;
    if (m->nd == m->capd) {
        m->capd = m->capd ? m->capd * 2 : 4096;
        m->d = realloc(m->d, m->capd * sizeof(*m->d));
        if (!m->d)
            die("realloc", -ENOMEM, NULL);
    }
    d = &m->d[m->nd];
    d->hh = hh;
    d->spent = INT32_MAX;
    d->w = NULL;
    if (r == 0) {
        r = tdm_window_decode(v, n, &d->w, &err);
        if (r < 0)
            die("decode", r, &err);
        d->spent = tdm_window_spent_day(d->w, KEEP_DAYS);
    } else if (r == -ENOENT) {
        d->w = tdm_window_new();
    } else {
        die("get", r, &err);
    }
    if (tdm_window_floor(d->w) < today - KEEP_DAYS &&
        (r = tdm_window_expire(d->w, today, KEEP_DAYS)) < 0)
        die("expire", r, NULL);
    m->slot[hh] = (int32_t)++m->nd;
    return d;
}

static void put_bytes(sim *m, tdm_db db, const void *k, size_t kl, const void *v, size_t vl)
{
    td_error err = {0};
    int r = tdm_store_put(m->txn, db, k, kl, v, vl, &err);
    if (r < 0)
        die("put", r, &err);
}

static void del_bytes(sim *m, tdm_db db, const void *k, size_t kl)
{
    td_error err = {0};
    int r = tdm_store_del(m->txn, db, k, kl, &err);
    if (r < 0 && r != -ENOENT)
        die("del", r, &err);
}

static void commit(sim *m)
{
    td_error err = {0};
    char k[32];
    unsigned char sk[64];
    int r;

    for (size_t i = 0; i < m->nd; i++) {
        dirty *d = &m->d[i];
        hh_key(d->hh, k);
        if (m->on) {
            int32_t day = tdm_window_is_spent(d->w) ? INT32_MAX
                                                    : tdm_window_spent_day(d->w, KEEP_DAYS);
            if (day != d->spent) {
                if (d->spent != INT32_MAX)
                    del_bytes(m, m->spent, sk, day_key(d->spent, k, sk));
                if (day != INT32_MAX)
                    put_bytes(m, m->spent, sk, day_key(day, k, sk), "", 0);
            }
        }
        if (m->on ? tdm_window_is_spent(d->w) : tdm_window_is_empty(d->w)) {
            del_bytes(m, m->state, k, strlen(k));
            m->deleted++;
        } else {
            size_t n = tdm_window_encoded_size(d->w);
            if (n > m->bufcap) {
                m->bufcap = n * 2;
                m->buf = realloc(m->buf, m->bufcap);
                if (!m->buf)
                    die("realloc", -ENOMEM, NULL);
            }
            if ((r = tdm_window_encode(d->w, m->buf, n)) < 0)
                die("encode", r, NULL);
            put_bytes(m, m->state, k, strlen(k), m->buf, n);
        }
        m->slot[d->hh] = 0;
        tdm_window_free(d->w);
    }
    m->nd = 0;
    r = tdm_store_commit(m->txn, &err);
    m->txn = NULL;
    if (r < 0)
        die("commit", r, &err);
}

/* What a new stream day does before its records: the due scan, and with
 * the bounded state the pruning and the sweep. */
static void new_day(sim *m, int32_t today)
{
    td_error err = {0};
    int r;

    for (;;) { /* the due index: entries whose day passed leave */
        const void *k, *v;
        size_t kl, vl;
        unsigned char key[128];
        r = tdm_store_first(m->txn, m->due, &k, &kl, &v, &vl, &err);
        if (r == -ENOENT)
            break;
        if (r < 0)
            die("due", r, &err);
        const unsigned char *b = k;
        int32_t day = (int32_t)(((uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
                                 (uint32_t)b[2] << 8 | b[3]) ^ 0x80000000u);
        if (day >= today)
            break;
        memcpy(key, k, kl);
        del_bytes(m, m->due, key, kl);
    }
    if (!m->on)
        return;
    size_t n = 0;
    r = tdm_prune_run(m->txn, m->closed, m->alerts, today, RETENTION_DAYS, &n, &err);
    if (r < 0)
        die("prune", r, &err);
    m->pruned += n;
    for (;;) {
        const void *k, *v;
        size_t kl, vl;
        unsigned char key[64];
        r = tdm_store_first(m->txn, m->spent, &k, &kl, &v, &vl, &err);
        if (r == -ENOENT)
            break;
        if (r < 0)
            die("spent", r, &err);
        if (kl >= sizeof(key))
            die("spent key", -EIO, NULL);
        memcpy(key, k, kl);
        key[kl] = '\0';
        int32_t day = (int32_t)(((uint32_t)key[0] << 24 | (uint32_t)key[1] << 16 |
                                 (uint32_t)key[2] << 8 | key[3]) ^ 0x80000000u);
        if (day > today)
            break;
        del_bytes(m, m->spent, key, kl);
        uint32_t hh = (uint32_t)strtoul((const char *)key + 5, NULL, 10);
        dirty *d = load(m, hh, false, today);
        if (d && d->spent == day)
            d->spent = INT32_MAX;
        m->swept++;
    }
}

static void apply(sim *m, const ev *e)
{
    char k[32], id[80];
    unsigned char dk[128];
    dirty *d;
    int r;

    hh_key(e->hh, k);
    alert_id(e->hh, e->kind == 2 ? e->day - 30 : e->day, id);
    if (e->kind == 2) {
        d = load(m, e->hh, true, e->day);
        if ((r = tdm_window_close_alert(d->w, id, e->day, 0)) < 0)
            die("close", r, NULL);
        m->closed_n++;
        if (m->on) {
            td_error err = {0};
            if ((r = tdm_prune_note(m->txn, m->closed, e->day, id, &err)) < 0)
                die("note", r, &err);
        }
        return;
    }
    d = load(m, e->hh, true, e->day);
    if ((r = tdm_window_add(d->w, SERIES, e->day, 80000 + (int64_t)(rnd() % 100000))) < 0 ||
        (r = tdm_window_signal(d->w, "medical-oop-365d", TDM_DEPT_MEDICAL_INSURANCE, e->day)) < 0)
        die("add", r, NULL);
    if (e->kind == 1) {
        tdm_open_alert a;
        size_t kl = strlen(k);
        memset(&a, 0, sizeof(a));
        snprintf(a.alert_id, sizeof(a.alert_id), "%s", id);
        a.raised_day = e->day;
        a.severity = TDM_SEVERITY_MEDIUM;
        a.visit_due_day = e->day + 7;
        a.procedure_due_day = e->day + 28;
        strcpy(a.village_code, "340421100201");
        if ((r = tdm_window_open_alert(d->w, "medical-oop-365d", &a)) < 0)
            die("open", r, NULL);
        memcpy(m->alert_val, k, kl + 1);
        put_bytes(m, m->alerts, id, strlen(id), m->alert_val, kl + 1 + ALERT_BYTES);
        put_bytes(m, m->due, dk, day_key(a.visit_due_day, id, dk), k, kl);
        m->raised++;
    }
}

static int ev_cmp(const void *a, const void *b)
{
    const ev *x = a, *y = b;
    if (x->day != y->day)
        return x->day < y->day ? -1 : 1;
    if (x->hh != y->hh)
        return x->hh < y->hh ? -1 : 1;
    return x->kind < y->kind ? -1 : x->kind > y->kind;
}

static void report(sim *m, const char *dir, int year, double secs)
{
    static const char *const names[] = {"state", "alerts", "due", "alerts_closed", "spent"};
    tdm_db dbs[] = {m->state, m->alerts, m->due, m->closed, m->spent};
    uint64_t file = 0, used = 0;
    tdm_txn *t = NULL;
    td_error err = {0};

    (void)dir;
    if (tdm_store_usage(m->s, &file, &used) < 0 || tdm_store_begin_read(m->s, &t, &err) < 0)
        die("usage", -EIO, &err);
    size_t live = 0;
    for (size_t i = 0; i < sizeof(dbs) / sizeof(dbs[0]); i++) {
        size_t b = 0;
        tdm_store_db_bytes(t, dbs[i], &b, &err);
        live += b;
    }
    printf("%-3s year %d: data.mdb %.1f MiB on disk, %.1f MiB used, %.1f MiB in the databases;",
           m->on ? "on" : "off", year, file / 1048576.0, used / 1048576.0, live / 1048576.0);
    for (size_t i = 0; i < sizeof(dbs) / sizeof(dbs[0]); i++) {
        size_t n = 0, b = 0;
        tdm_store_count(t, dbs[i], &n, &err);
        tdm_store_db_bytes(t, dbs[i], &b, &err);
        printf(" %s %zu (%.1f MiB)", names[i], n, b / 1048576.0);
    }
    printf("; raised %" PRIu64 " closed %" PRIu64 " pruned %" PRIu64 " deleted %" PRIu64
           " swept %" PRIu64 " (%.0f s)\n",
           m->raised, m->closed_n, m->pruned, m->deleted, m->swept, secs);
    fflush(stdout);
    tdm_store_abort(t);
}

int main(int argc, char **argv)
{
    uint64_t persons = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
    int years = argc > 2 ? atoi(argv[2]) : 3;
    char root[4096], dir[4200];
    uint32_t nhh = (uint32_t)((persons + 2) / 3);
    ev *evs = NULL;
    size_t nev = 0, cap = 0;

    if (argc > 3)
        snprintf(root, sizeof(root), "%s", argv[3]);
    else
        snprintf(root, sizeof(root), "/tmp/bench-retention-%d", (int)getpid());
    if (persons < 3 || years < 1) {
        fprintf(stderr, "usage: bench_retention [PERSONS [YEARS [DIR]]]\n");
        return 2;
    }
    mkdir(root, 0700);
    /* the events of every year, the same for both modes */
    for (int y = 0; y < years; y++)
        for (uint32_t h = 0; h < nhh; h++) {
            if (rnd() % 100 >= 30)
                continue;
            int32_t days[3];
            int li = 0;
            for (int i = 0; i < 3; i++) {
                days[i] = DAY0 + y * 365 + (int32_t)(rnd() % 365);
                if (days[i] > days[li])
                    li = i;
            }
            bool alert = rnd() % 100 < 4;
            for (int i = 0; i < 4; i++) {
                if (nev == cap) {
                    cap = cap ? cap * 2 : 1 << 20;
                    evs = realloc(evs, cap * sizeof(*evs));
                    if (!evs)
                        die("realloc", -ENOMEM, NULL);
                }
                if (i < 3) {
                    evs[nev++] = (ev){days[i], h, (uint8_t)(alert && i == li)};
                } else if (alert) {
                    evs[nev++] = (ev){days[li] + 30, h, 2};
                }
            }
        }
    qsort(evs, nev, sizeof(*evs), ev_cmp);
    printf("bench_retention: %" PRIu64 " persons, %" PRIu32 " households, %d years, %zu events "
           "(settlements and outcomes)\n", persons, nhh, years, nev);
    for (int mode = 0; mode < 2; mode++) {
        sim m = {.on = mode == 1};
        td_error err = {0};
        int r;
        struct timespec t0, t1;

        snprintf(dir, sizeof(dir), "%s/%s", root, m.on ? "on" : "off");
        if ((r = tdm_store_open(dir, (size_t)4 << 30, 0, &m.s, &err)) < 0 ||
            (r = tdm_store_db(m.s, "state", &m.state, &err)) < 0 ||
            (r = tdm_store_db(m.s, "alerts", &m.alerts, &err)) < 0 ||
            (r = tdm_store_db(m.s, "due", &m.due, &err)) < 0 ||
            (r = tdm_store_db(m.s, "alerts_closed", &m.closed, &err)) < 0 ||
            (r = tdm_store_db(m.s, "spent", &m.spent, &err)) < 0)
            die("open", r, &err);
        m.slot = calloc(nhh, sizeof(*m.slot));
        memset(m.alert_val, 'x', sizeof(m.alert_val));
        clock_gettime(CLOCK_MONOTONIC, &t0);
        size_t i = 0;
        int year = 0;
        for (int32_t today = DAY0; year < years; today++) {
            if ((r = tdm_store_begin(m.s, &m.txn, &err)) < 0)
                die("begin", r, &err);
            new_day(&m, today);
            for (; i < nev && evs[i].day == today; i++)
                apply(&m, &evs[i]);
            commit(&m);
            if ((today - DAY0 + 1) % 365 == 0) {
                clock_gettime(CLOCK_MONOTONIC, &t1);
                report(&m, dir, ++year,
                       (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
            }
        }
        tdm_store_close(m.s);
        free(m.slot);
        free(m.d);
        free(m.buf);
    }
    free(evs);
    return 0;
}
