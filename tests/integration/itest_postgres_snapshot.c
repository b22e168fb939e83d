/* Integration tests of the postgres source's snapshot mode
 * (connectors/sources/tdc_postgres, mode: snapshot) against real PostgreSQL
 * 15 servers that this binary starts for itself (tests/support/td_pg.h).
 * Issue 20: a watermark that can never pass an uncommitted row.
 *
 *   config       snapshot is the default mode; hold_warning and
 *                updated_at_margin and their defaults
 *   order        rows in (updated_at, id) order within a range, batches of
 *                3; resuming at every row's position gives exactly the rest
 *   late_commit  the issue's scenario: A1-A3 committed; a transaction writes
 *                L1 and commits well after the settle delay and after B1-B3
 *                (written 1 s after L1) and C1 were read. Snapshot mode
 *                publishes all eight exactly once (L1, B1-B3, C1 held back
 *                until L commits); timestamp mode, on the same table at the
 *                same time, loses L1
 *   writers      ten writer threads (each its own connection), three of them
 *                slow (transactions open 2-4 s), one with savepoints, one
 *                rolling back: every committed row exactly once
 *   hold         (suite postgres_snapshot_hold, run beside the others)
 *                a transaction left open for a minute: nothing behind it is
 *                read meanwhile, one warning naming the table (no id), the
 *                held seconds in the stats and the gauge; after its commit
 *                every row exactly once and one "ended" notice
 *   view         a view (and a materialized view) is refused in snapshot
 *                mode, naming it and mode: timestamp; a partitioned table
 *                is read
 *   migration    a timestamp-mode position resumed in snapshot mode: the rows
 *                after it, and a row of a transaction still open at the
 *                switch (timestamp mode had already passed it); a
 *                snapshot-mode position in timestamp mode is refused
 *   lag          tdc_source_lag() in snapshot mode counts every committed row
 *                not yet read, those held back by a running transaction too
 *   bound_check  a row whose updated_at is older than its write by more than
 *                updated_at_margin is kept out by the polls' updated_at
 *                bound: the late-row check counts it and warns once; with
 *                updated_at_margin 0 it is read
 *   check_timeout the check (a scan) running into statement_timeout is
 *                skipped with a warning, not taken for an outage
 *   unbounded_scan after a start, a new range (no updated_at bound yet) in
 *                a table of a million rows, statement_timeout 50 ms: its
 *                row is read, no outage
 *   wraparound   a server whose transaction ids cross 2^32 (pg_resetwal):
 *                rows written before and after the wrap, and by a
 *                transaction open across it, each read once; the positions'
 *                xids are 64-bit; such a position on another server (a
 *                restored database) is refused, not waited on
 */
#include "td_config.h"
#include "td_log.h"
#include "td_pg.h"
#include "td_test.h"
#include "td_time.h"
#include "tdc_metrics.h"
#include "tdc_postgres.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static td_pg *server;
static PGconn *db;

/* ---- log capture ---------------------------------------------------------- */

#define LOG_MAX 256
static char log_lines[LOG_MAX][1024];
static size_t log_n;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static void log_sink(td_log_level level, const char *line, void *opaque)
{
    (void)level;
    (void)opaque;
    fprintf(stderr, "    [log] %s\n", line);
    pthread_mutex_lock(&log_lock);
    if (log_n < LOG_MAX)
        snprintf(log_lines[log_n++], sizeof(log_lines[0]), "%s", line);
    pthread_mutex_unlock(&log_lock);
}

static size_t log_count(const char *needle)
{
    size_t c = 0;

    for (size_t i = 0; i < log_n && i < LOG_MAX; i++)
        c += strstr(log_lines[i], needle) != NULL;
    return c;
}

/* ---- sources and rows ----------------------------------------------------- */

static struct tdc_postgres_config snap_cfg(const td_pg *srv, const char *table)
{
    struct tdc_postgres_config c = {
        .mode = TDC_PG_SNAPSHOT,
        .conninfo = (char *)td_pg_conninfo(srv),
        .table = (char *)table,
        .updated_at_column = "updated_at",
        .id_column = "id",
        .settle_delay_ms = 5000, /* unused in snapshot mode */
        .poll_interval_ms = 20,
        .batch_size = 1000,
        .statement_timeout_ms = 10000,
        .reconnect_max_backoff_ms = 200,
        .late_row_check_ms = 0,
        .hold_warning_ms = 60000,
        .updated_at_margin_ms = 300000,
    };
    return c;
}

static tdc_source *new_src(const struct tdc_postgres_config *c, const tdc_position *at)
{
    tdc_source *s = NULL;
    td_error err = {0};
    int r = tdc_postgres_new(c, &s, &err);

    if (r < 0)
        fprintf(stderr, "\n    tdc_postgres_new: %s\n", td_error_msg(&err));
    CU_ASSERT_FATAL(r == 0);
    r = tdc_source_resume(s, at, &err);
    if (r < 0)
        fprintf(stderr, "\n    resume: %s\n", td_error_msg(&err));
    CU_ASSERT_FATAL(r == 0);
    return s;
}

/* Rows as read: their ids and positions. */
#define GOT_MAX 4096
typedef struct got {
    char id[GOT_MAX][64];
    tdc_position after[GOT_MAX];
    size_t n;
} got;

static got *got_new(void)
{
    got *g = calloc(1, sizeof(*g));
    CU_ASSERT_FATAL(g != NULL);
    return g;
}

/* One next() call; a row goes to g. Returns next()'s result. */
static int step(tdc_source *s, got *g)
{
    td_error err = {0};
    tdc_row row;
    int r = tdc_source_next(s, &row, &err);

    if (r < 0) {
        fprintf(stderr, "\n    next: %s\n", td_error_msg(&err));
        CU_FAIL("next() failed");
        return r;
    }
    if (r == TDC_NEXT_ROW) {
        CU_ASSERT_FATAL(g->n < GOT_MAX);
        snprintf(g->id[g->n], sizeof(g->id[0]), "%s", row.source_record_id);
        g->after[g->n] = row.after;
        g->n++;
    }
    return r;
}

/* Calls next() on each of n sources until ms passed, or (want > 0) until
 * g[0] holds want rows. */
static void pump(tdc_source **s, got **g, size_t n, int64_t ms, size_t want)
{
    int64_t deadline = td_time_mono_ms() + ms;

    while (td_time_mono_ms() < deadline && (!want || g[0]->n < want)) {
        bool idle = true;
        for (size_t i = 0; i < n; i++)
            if (step(s[i], g[i]) == TDC_NEXT_ROW)
                idle = false;
        if (idle)
            usleep(5000);
    }
}

static void read_for(tdc_source *s, got *g, int64_t ms)
{
    pump(&s, &g, 1, ms, 0);
}

static void read_until(tdc_source *s, got *g, size_t want, int64_t ms)
{
    pump(&s, &g, 1, ms, want);
}

static size_t got_count(const got *g, const char *id)
{
    size_t c = 0;

    for (size_t i = 0; i < g->n; i++)
        c += strcmp(g->id[i], id) == 0;
    return c;
}

static void expect_ids(const got *g, const char *const *ids, size_t n)
{
    CU_ASSERT_EQUAL(g->n, n);
    for (size_t i = 0; i < n && i < g->n; i++) {
        if (strcmp(g->id[i], ids[i]) != 0)
            fprintf(stderr, "\n    row %zu: id %s, want %s\n", i, g->id[i], ids[i]);
        CU_ASSERT_STRING_EQUAL(g->id[i], ids[i]);
    }
    if (g->n != n) {
        fprintf(stderr, "\n    got %zu rows:", g->n);
        for (size_t i = 0; i < g->n; i++)
            fprintf(stderr, " %s", g->id[i]);
        fprintf(stderr, "\n");
    }
}

/* Every id of the table exactly once in g, and nothing else. */
static void expect_table_once(PGconn *c, const char *table, const got *g)
{
    char sql[256];
    PGresult *res;
    size_t missing = 0, twice = 0;

    snprintf(sql, sizeof(sql), "SELECT id::text FROM %s", table);
    res = PQexec(c, sql);
    CU_ASSERT_FATAL(PQresultStatus(res) == PGRES_TUPLES_OK);
    for (int i = 0; i < PQntuples(res); i++) {
        size_t k = got_count(g, PQgetvalue(res, i, 0));
        if (k == 0 && missing++ < 10)
            fprintf(stderr, "\n    row %s was not read", PQgetvalue(res, i, 0));
        if (k > 1 && twice++ < 10)
            fprintf(stderr, "\n    row %s was read %zu times", PQgetvalue(res, i, 0), k);
    }
    fprintf(stderr, "\n    %s: %d rows in the table, %zu read, %zu missing, %zu repeated\n",
            table, PQntuples(res), g->n, missing, twice);
    CU_ASSERT_EQUAL(missing, 0);
    CU_ASSERT_EQUAL(twice, 0);
    CU_ASSERT_EQUAL(g->n, (size_t)PQntuples(res));
    PQclear(res);
}

#define SQL(...) CU_ASSERT_FATAL(td_pg_execf(db, __VA_ARGS__) == 0)

/* A table whose updated_at is set by the recommended trigger. */
static void make_touched(PGconn *c, const char *name, const char *idtype)
{
    CU_ASSERT_FATAL(td_pg_execf(c,
        "DROP TABLE IF EXISTS %s;"
        "CREATE TABLE %s (id %s PRIMARY KEY, note text, updated_at timestamptz NOT NULL);"
        "CREATE INDEX ON %s (updated_at, id);"
        "CREATE OR REPLACE FUNCTION tuodi_touch() RETURNS trigger LANGUAGE plpgsql AS"
        " $$ BEGIN NEW.updated_at := clock_timestamp(); RETURN NEW; END $$;"
        "CREATE TRIGGER %s_touch BEFORE INSERT OR UPDATE ON %s"
        " FOR EACH ROW EXECUTE FUNCTION tuodi_touch()",
        name, name, idtype, name, name, name) == 0);
}

/* ---- config --------------------------------------------------------------- */

static void test_config(void)
{
    struct tdc_postgres_config c = {0};
    td_error err = {0};
    int r;

    r = td_config_load_string(tdc_postgres_config_table, "pg.yaml",
                              "conninfo: host=db\n"
                              "table: public.settlement\n",
                              &c, &err);
    CU_ASSERT_FATAL(r == 0);
    CU_ASSERT_EQUAL(c.mode, TDC_PG_SNAPSHOT);
    CU_ASSERT_EQUAL(c.hold_warning_ms, 60000);
    CU_ASSERT_EQUAL(c.updated_at_margin_ms, 300000);
    td_config_free(tdc_postgres_config_table, &c);

    r = td_config_load_string(tdc_postgres_config_table, "pg.yaml",
                              "conninfo: host=db\n"
                              "table: public.settlement\n"
                              "mode: timestamp\n"
                              "hold_warning: 10m\n"
                              "updated_at_margin: 0s\n",
                              &c, &err);
    CU_ASSERT_FATAL(r == 0);
    CU_ASSERT_EQUAL(c.mode, TDC_PG_TIMESTAMP);
    CU_ASSERT_EQUAL(c.hold_warning_ms, 600000);
    CU_ASSERT_EQUAL(c.updated_at_margin_ms, 0);
    td_config_free(tdc_postgres_config_table, &c);
}

/* ---- order and positions -------------------------------------------------- */

static void test_order(void)
{
    struct tdc_postgres_config c = snap_cfg(server, "public.orders");
    static const char *const want[] = {"9", "1", "3", "5", "7", "12", "20", "30"};
    tdc_source *s;
    tdc_postgres_stats st;
    got *all = got_new();

    SQL("DROP TABLE IF EXISTS orders;"
        "CREATE TABLE orders (id bigint PRIMARY KEY, updated_at timestamptz NOT NULL);"
        "INSERT INTO orders VALUES (7, '2024-11-28 12:00:01Z'), (20, '2024-11-28 12:00:03Z'),"
        " (3, '2024-11-28 12:00:01Z'), (12, '2024-11-28 12:00:01Z');"
        "INSERT INTO orders VALUES (9, '2024-11-28 11:59:59Z'), (5, '2024-11-28 12:00:01Z'),"
        " (1, '2024-11-28 12:00:01Z'), (30, '2024-11-28 12:00:05Z')");
    c.batch_size = 3;
    s = new_src(&c, NULL);
    CU_ASSERT_STRING_EQUAL(tdc_source_status(s), "public.orders from the beginning");
    read_until(s, all, 8, 10000);
    read_for(s, all, 200);
    expect_ids(all, want, 8);
    CU_ASSERT_FATAL(all->n == 8);
    for (size_t i = 0; i < 8; i++) {
        CU_ASSERT_EQUAL(all->after[i].kind, TDC_POSITION_POSTGRES);
        CU_ASSERT_EQUAL(all->after[i].pg_mode, TDC_PG_SNAPSHOT);
        CU_ASSERT(all->after[i].xid_until > all->after[i].xid_from || i == 7);
    }
    /* the last row of the short batch closes the range */
    CU_ASSERT_EQUAL(all->after[7].xid_from, all->after[7].xid_until);
    CU_ASSERT_EQUAL(all->after[7].last_updated_at_us, INT64_MIN);
    CU_ASSERT_STRING_EQUAL(all->after[7].last_id, "");
    CU_ASSERT(all->after[6].xid_from < all->after[6].xid_until);
    CU_ASSERT_STRING_EQUAL(all->after[6].last_id, "20");
    CU_ASSERT(tdc_postgres_stats_get(s, &st) == 0);
    CU_ASSERT(st.snapshot);
    CU_ASSERT(!st.late_check_active);
    CU_ASSERT(st.ranges >= 1);
    CU_ASSERT(strstr(tdc_source_status(s), "public.orders: transactions before ") != NULL);
    tdc_source_free(s);

    /* Resuming at each row's position yields exactly the rows after it. */
    for (size_t k = 1; k <= 8; k++) {
        got *g = got_new();

        s = new_src(&c, &all->after[k - 1]);
        read_until(s, g, 8 - k, 10000);
        read_for(s, g, 100);
        expect_ids(g, want + k, 8 - k);
        tdc_source_free(s);
        free(g);
    }
    free(all);
}

/* ---- the issue's late commit ---------------------------------------------- */

static void test_late_commit(void)
{
    struct tdc_postgres_config cs = snap_cfg(server, "public.ledger");
    struct tdc_postgres_config ct = snap_cfg(server, "public.ledger");
    static const char *const snap_want[] = {"A1", "A2", "A3", "L1", "B1", "B2", "B3", "C1"};
    static const char *const ts_want[] = {"A1", "A2", "A3", "B1", "B2", "B3", "C1"};
    tdc_source *s[2];
    got *g[2] = {got_new(), got_new()};
    tdc_postgres_stats st;
    PGconn *l;
    int64_t t0;

    make_touched(db, "ledger", "text");
    ct.mode = TDC_PG_TIMESTAMP;
    ct.settle_delay_ms = 1500; /* the issue's 5 s, scaled down with the gaps */
    s[0] = new_src(&cs, NULL);
    s[1] = new_src(&ct, NULL);
    pump(s, g, 2, 100, 0);

    SQL("INSERT INTO ledger (id, note) VALUES ('A1', 'a'), ('A2', 'a'), ('A3', 'a')");
    t0 = td_time_mono_ms();
    l = td_pg_connect(server);
    CU_ASSERT_FATAL(l != NULL);
    /* The batch job: writes L1, commits much later. */
    CU_ASSERT_FATAL(td_pg_exec(l, "BEGIN; INSERT INTO ledger (id, note) VALUES ('L1', 'batch')") == 0);
    pump(s, g, 2, 1000, 0);
    SQL("INSERT INTO ledger (id, note) VALUES ('B1', 'b'), ('B2', 'b'), ('B3', 'b')");
    /* the timestamp source reads B1-B3 once settled, then C1 */
    pump(&s[1], &g[1], 1, 4000, 6);
    CU_ASSERT_EQUAL(g[1]->n, 6);
    SQL("INSERT INTO ledger (id, note) VALUES ('C1', 'c')");
    pump(s, g, 2, 2500, 0);
    CU_ASSERT_EQUAL(g[1]->n, 7); /* C1 read by the timestamp source */
    /* the snapshot source has read A1-A3 only: L holds the rest back */
    {
        static const char *const a[] = {"A1", "A2", "A3"};
        expect_ids(g[0], a, 3);
    }
    CU_ASSERT(tdc_postgres_stats_get(s[0], &st) == 0);
    CU_ASSERT(st.held_seconds > 2.0);
    fprintf(stderr, "\n    L commits %.1f s after it wrote L1 (settle_delay 1.5 s)\n",
            (double)(td_time_mono_ms() - t0) / 1000.0);
    CU_ASSERT_FATAL(td_pg_exec(l, "COMMIT") == 0);
    PQfinish(l);
    pump(s, g, 2, 3000, 0);

    /* snapshot: every row once, in (updated_at, id) order within a range */
    expect_ids(g[0], snap_want, 8);
    expect_table_once(db, "ledger", g[0]);
    /* timestamp: L1 is lost */
    expect_ids(g[1], ts_want, 7);
    CU_ASSERT_EQUAL(got_count(g[1], "L1"), 0);
    CU_ASSERT(tdc_postgres_stats_get(s[0], &st) == 0);
    CU_ASSERT_EQUAL(st.held_seconds, 0.0);
    tdc_source_free(s[0]);
    tdc_source_free(s[1]);
    free(g[0]);
    free(g[1]);
}

/* ---- ten concurrent writers ----------------------------------------------- */

#define WRITERS 10
#define WRITER_TXNS 9

typedef struct writer {
    int no;
    int rc;
} writer;

static void *writer_main(void *arg)
{
    writer *w = arg;
    PGconn *c = td_pg_connect(server);
    bool slow = w->no % 4 == 1; /* writers 1, 5, 9 */
    int seq = 0;

    if (!c) {
        w->rc = -EIO;
        return NULL;
    }
    for (int t = 0; t < WRITER_TXNS && w->rc == 0; t++) {
        int rows = 1 + (t + w->no) % 3;

        w->rc |= td_pg_exec(c, "BEGIN");
        for (int k = 0; k < rows; k++) {
            w->rc |= td_pg_execf(c, "INSERT INTO busy (id, note) VALUES (%d, 'w%d')",
                                 w->no * 1000 + seq++, w->no);
            if (slow && t % 3 == 0)
                usleep(1000 * 1000); /* open 2-4 s in all */
        }
        if (w->no == 2 && t % 2 == 0) { /* a savepoint, half of it undone */
            w->rc |= td_pg_exec(c, "SAVEPOINT s");
            w->rc |= td_pg_execf(c, "INSERT INTO busy (id, note) VALUES (%d, 'kept')",
                                 w->no * 1000 + seq++);
            w->rc |= td_pg_exec(c, "SAVEPOINT u");
            w->rc |= td_pg_execf(c, "INSERT INTO busy (id, note) VALUES (%d, 'undone')",
                                 w->no * 1000 + seq++);
            w->rc |= td_pg_exec(c, "ROLLBACK TO SAVEPOINT u");
            w->rc |= td_pg_exec(c, "RELEASE SAVEPOINT s");
        }
        if (slow && t % 3 == 0)
            usleep(1000 * 1000);
        /* writer 3 rolls every third transaction back */
        w->rc |= td_pg_exec(c, w->no == 3 && t % 3 == 0 ? "ROLLBACK" : "COMMIT");
        usleep((useconds_t)(20000 + 17000 * ((t * 7 + w->no) % 5)));
    }
    PQfinish(c);
    return NULL;
}

static void test_writers(void)
{
    struct tdc_postgres_config c = snap_cfg(server, "public.busy");
    pthread_t th[WRITERS];
    writer w[WRITERS];
    bool joined[WRITERS] = {false};
    tdc_source *s;
    got *g = got_new();
    int64_t t0 = td_time_mono_ms();
    char *n;

    make_touched(db, "busy", "int");
    c.batch_size = 4; /* many batch boundaries */
    s = new_src(&c, NULL);
    for (int i = 0; i < WRITERS; i++) {
        w[i] = (writer){.no = i};
        CU_ASSERT_FATAL(pthread_create(&th[i], NULL, writer_main, &w[i]) == 0);
    }
    /* read while they write */
    for (int left = WRITERS; left > 0 && td_time_mono_ms() - t0 < 120000;) {
        read_for(s, g, 200);
        for (int i = 0; i < WRITERS; i++)
            if (!joined[i] && pthread_tryjoin_np(th[i], NULL) == 0) {
                joined[i] = true;
                left--;
            }
    }
    for (int i = 0; i < WRITERS; i++) {
        CU_ASSERT_FATAL(joined[i]);
        CU_ASSERT_EQUAL(w[i].rc, 0);
    }
    fprintf(stderr, "\n    writers done after %.1f s, %zu rows read so far",
            (double)(td_time_mono_ms() - t0) / 1000.0, g->n);
    n = td_pg_query_value(db, "SELECT count(*) FROM busy");
    CU_ASSERT_FATAL(n != NULL);
    read_until(s, g, (size_t)atoi(n), 10000);
    read_for(s, g, 300);
    free(n);
    expect_table_once(db, "busy", g);
    tdc_source_free(s);
    free(g);
}

/* ---- a transaction open for a minute -------------------------------------- */

static void test_hold(void)
{
    struct tdc_postgres_config c = snap_cfg(server, "public.held");
    tdc_source *s;
    tdc_postgres_stats st;
    got *g = got_new();
    PGconn *h;
    size_t warn0 = log_count("holds back reading"), end0 = log_count("has ended");
    tdc_metrics *m;
    char *text = NULL;
    size_t len = 0;
    int64_t t0;

    make_touched(db, "held", "text");
    c.hold_warning_ms = 2000;
    s = new_src(&c, NULL);
    read_for(s, g, 100);
    h = td_pg_connect(server);
    CU_ASSERT_FATAL(h != NULL);
    /* an identity-number-like id: must never reach a log line */
    CU_ASSERT_FATAL(td_pg_exec(h, "BEGIN; INSERT INTO held (id, note) VALUES"
                                  " ('110101199003077777', 'held')") == 0);
    t0 = td_time_mono_ms();
    SQL("INSERT INTO held (id, note) VALUES ('D1', 'd')");
    SQL("INSERT INTO held (id, note) VALUES ('D2', 'd'), ('D3', 'd')");
    while (td_time_mono_ms() - t0 < 60000) {
        read_for(s, g, 1000);
        CU_ASSERT_EQUAL_FATAL(g->n, 0);
    }
    CU_ASSERT(tdc_postgres_stats_get(s, &st) == 0);
    fprintf(stderr, "\n    held for %.1f s (observed)\n", st.held_seconds);
    CU_ASSERT(st.held_seconds >= 55.0);
    CU_ASSERT_EQUAL(st.holds, 1);
    CU_ASSERT_EQUAL(log_count("holds back reading") - warn0, 1);
    CU_ASSERT_EQUAL(log_count("public.held: a transaction on the database server has been "
                              "running for at least"), 1);
    CU_ASSERT(strstr(tdc_source_status(s), "; held back ") != NULL);
    CU_ASSERT_EQUAL(log_count("1101011990"), 0);
    /* the gauge the connector sets from these stats */
    m = tdc_metrics_new("t", "medical_insurance", "0");
    CU_ASSERT_FATAL(m != NULL);
    CU_ASSERT_FATAL(td_metrics_render(tdc_metrics_registry(m), &text, &len) == 0);
    CU_ASSERT(strstr(text, "# TYPE tuodi_connector_source_held_seconds gauge\n") != NULL);
    CU_ASSERT(strstr(text, "\ntuodi_connector_source_held_seconds ") == NULL);
    free(text);
    tdc_metrics_source_held(m, st.held_seconds);
    CU_ASSERT_FATAL(td_metrics_render(tdc_metrics_registry(m), &text, &len) == 0);
    {
        const char *v = strstr(text, "\ntuodi_connector_source_held_seconds ");
        CU_ASSERT(v != NULL && atof(v + 37) >= 55.0);
    }
    free(text);
    tdc_metrics_free(m);

    CU_ASSERT_FATAL(td_pg_exec(h, "COMMIT") == 0);
    PQfinish(h);
    read_until(s, g, 4, 10000);
    read_for(s, g, 300);
    /* one range, (updated_at, id) order: the held row was written first */
    {
        static const char *const order[] = {"110101199003077777", "D1", "D2", "D3"};
        expect_ids(g, order, 4);
    }
    expect_table_once(db, "held", g);
    CU_ASSERT_EQUAL(log_count("has ended") - end0, 1);
    CU_ASSERT(tdc_postgres_stats_get(s, &st) == 0);
    CU_ASSERT_EQUAL(st.held_seconds, 0.0);
    CU_ASSERT_EQUAL(log_count("1101011990"), 0);
    tdc_source_free(s);
    free(g);
}

/* ---- a view is refused ---------------------------------------------------- */

static void test_view(void)
{
    struct tdc_postgres_config c = snap_cfg(server, "public.held_view");
    tdc_source *s;
    td_error err = {0};
    tdc_row row;
    int r;

    make_touched(db, "viewed", "int");
    SQL("CREATE OR REPLACE VIEW held_view AS SELECT id, updated_at FROM viewed");
    s = new_src(&c, NULL);
    r = tdc_source_next(s, &row, &err);
    fprintf(stderr, "\n    %d: %s\n", r, td_error_msg(&err));
    CU_ASSERT_EQUAL(r, -EINVAL);
    CU_ASSERT(strstr(td_error_msg(&err), "public.held_view is a view") != NULL);
    CU_ASSERT(strstr(td_error_msg(&err), "mode: timestamp") != NULL);
    tdc_source_free(s);
    /* a materialized view too (its rows get new xmins at every refresh) */
    SQL("DROP MATERIALIZED VIEW IF EXISTS frozen_view;"
        "CREATE MATERIALIZED VIEW frozen_view AS SELECT id, updated_at FROM viewed");
    c.table = "public.frozen_view";
    s = new_src(&c, NULL);
    CU_ASSERT_EQUAL(tdc_source_next(s, &row, &err), -EINVAL);
    CU_ASSERT(strstr(td_error_msg(&err), "public.frozen_view is a materialized view") != NULL);
    tdc_source_free(s);
    /* a partitioned table is a table: read */
    SQL("DROP TABLE IF EXISTS parted;"
        "CREATE TABLE parted (id int, updated_at timestamptz NOT NULL DEFAULT"
        " clock_timestamp()) PARTITION BY RANGE (id);"
        "CREATE TABLE parted_low PARTITION OF parted FOR VALUES FROM (0) TO (100);"
        "CREATE TABLE parted_high PARTITION OF parted FOR VALUES FROM (100) TO (200);"
        "INSERT INTO parted (id) VALUES (150), (5)");
    c.table = "public.parted";
    s = new_src(&c, NULL);
    {
        got *g = got_new();
        static const char *const want[] = {"150", "5", "6"};

        read_until(s, g, 2, 5000);
        SQL("INSERT INTO parted (id) VALUES (6)");
        read_until(s, g, 3, 5000);
        read_for(s, g, 100);
        expect_ids(g, want, 3);
        free(g);
    }
    tdc_source_free(s);
    c.table = "public.held_view";
    /* the same view in timestamp mode reads */
    c.mode = TDC_PG_TIMESTAMP;
    c.settle_delay_ms = 0;
    SQL("INSERT INTO viewed (id) VALUES (1)");
    s = new_src(&c, NULL);
    {
        got *g = got_new();
        read_until(s, g, 1, 5000);
        CU_ASSERT_EQUAL(g->n, 1);
        free(g);
    }
    tdc_source_free(s);
}

/* ---- from a timestamp-mode position --------------------------------------- */

static void test_migration(void)
{
    struct tdc_postgres_config ct = snap_cfg(server, "public.moved");
    struct tdc_postgres_config cs = snap_cfg(server, "public.moved");
    tdc_source *s;
    got *g = got_new(), *h = got_new();
    tdc_position pos;
    PGconn *m;
    td_error err = {0};

    make_touched(db, "moved", "int");
    ct.mode = TDC_PG_TIMESTAMP;
    ct.settle_delay_ms = 0;
    SQL("INSERT INTO moved (id) VALUES (1), (2), (3)");
    SQL("INSERT INTO moved (id) VALUES (4), (5)");
    s = new_src(&ct, NULL);
    read_until(s, g, 5, 5000);
    CU_ASSERT_FATAL(g->n == 5);
    tdc_source_free(s);

    /* Plain: resumed after row 3, rows 4 and 5, then a new one. */
    CU_ASSERT_EQUAL(g->after[2].pg_mode, TDC_PG_TIMESTAMP);
    s = new_src(&cs, &g->after[2]);
    read_until(s, h, 2, 5000);
    SQL("INSERT INTO moved (id) VALUES (6)");
    read_until(s, h, 3, 5000);
    read_for(s, h, 200);
    {
        static const char *const want[] = {"4", "5", "6"};
        expect_ids(h, want, 3);
    }
    tdc_source_free(s);

    /* A transaction open across the switch: timestamp mode (settle 0) reads
     * past its row; snapshot mode, resumed from that position, reads it once
     * it commits. Rows committed after it began are read again (documented:
     * they belong to the next transaction range). */
    m = td_pg_connect(server);
    CU_ASSERT_FATAL(m != NULL);
    CU_ASSERT_FATAL(td_pg_exec(m, "BEGIN; INSERT INTO moved (id) VALUES (100)") == 0);
    SQL("INSERT INTO moved (id) VALUES (7)");
    s = new_src(&ct, &g->after[4]);
    h->n = 0;
    read_until(s, h, 2, 5000); /* 6 and 7 */
    read_for(s, h, 100);
    CU_ASSERT_FATAL(h->n == 2);
    CU_ASSERT_STRING_EQUAL(h->id[1], "7");
    pos = h->after[1];
    tdc_source_free(s);
    CU_ASSERT_EQUAL(pos.pg_mode, TDC_PG_TIMESTAMP);

    s = new_src(&cs, &pos);
    h->n = 0;
    read_for(s, h, 300);
    CU_ASSERT_EQUAL(h->n, 0);
    CU_ASSERT_FATAL(td_pg_exec(m, "COMMIT") == 0);
    PQfinish(m);
    SQL("INSERT INTO moved (id) VALUES (8)");
    read_until(s, h, 3, 5000);
    read_for(s, h, 300);
    {
        static const char *const want[] = {"100", "7", "8"};
        expect_ids(h, want, 3);
    }
    CU_ASSERT_EQUAL(h->after[h->n - 1].pg_mode, TDC_PG_SNAPSHOT);
    pos = h->after[h->n - 1];
    tdc_source_free(s);

    /* Back to timestamp mode from a snapshot position: refused. */
    {
        tdc_source *t = NULL;
        CU_ASSERT_FATAL(tdc_postgres_new(&ct, &t, &err) == 0);
        CU_ASSERT_EQUAL(tdc_source_resume(t, &pos, &err), -EINVAL);
        CU_ASSERT(strstr(td_error_msg(&err), "snapshot mode") != NULL);
        tdc_source_free(t);
    }
    free(g);
    free(h);
}

/* ---- lag ------------------------------------------------------------------ */

static int64_t lag_of(tdc_source *s)
{
    td_error err = {0};
    int64_t rows = -1;
    int r = tdc_source_lag(s, &rows, &err);

    if (r < 0)
        fprintf(stderr, "\n    tdc_source_lag: %s\n", td_error_msg(&err));
    CU_ASSERT_EQUAL(r, 0);
    return rows;
}

static void test_lag(void)
{
    struct tdc_postgres_config c = snap_cfg(server, "public.lagging");
    tdc_source *s;
    got *g = got_new();
    PGconn *h;

    make_touched(db, "lagging", "int");
    SQL("INSERT INTO lagging (id) SELECT generate_series(1, 7)");
    c.batch_size = 3;
    s = new_src(&c, NULL);
    CU_ASSERT_EQUAL(lag_of(s), 7);
    read_until(s, g, 1, 5000);
    CU_ASSERT_EQUAL(lag_of(s), 6);
    read_until(s, g, 4, 5000);
    CU_ASSERT_EQUAL(lag_of(s), 3);
    read_until(s, g, 7, 5000);
    CU_ASSERT_EQUAL(lag_of(s), 0);
    /* held back rows count: they are committed, waiting for h */
    h = td_pg_connect(server);
    CU_ASSERT_FATAL(h != NULL);
    CU_ASSERT_FATAL(td_pg_exec(h, "BEGIN; INSERT INTO lagging (id) VALUES (100)") == 0);
    SQL("INSERT INTO lagging (id) VALUES (8), (9)");
    read_for(s, g, 300);
    CU_ASSERT_EQUAL(g->n, 7);
    CU_ASSERT_EQUAL(lag_of(s), 2);
    CU_ASSERT_FATAL(td_pg_exec(h, "COMMIT") == 0);
    PQfinish(h);
    CU_ASSERT_EQUAL(lag_of(s), 3);
    read_until(s, g, 10, 5000);
    CU_ASSERT_EQUAL(lag_of(s), 0);
    tdc_source_free(s);
    free(g);
}

/* ---- the updated_at bound and its check ----------------------------------- */

/* A row whose updated_at is far older than its write (set by hand here; in
 * life DEFAULT now() in a transaction that waited, or an application's
 * clock) is kept out by the poll's updated_at bound: the late-row check
 * counts it and warns once. Without the bound (updated_at_margin 0) it is
 * read. */
static void test_bound_check(void)
{
    struct tdc_postgres_config c = snap_cfg(server, "public.stamped");
    tdc_source *s;
    tdc_postgres_stats st;
    got *g = got_new();
    size_t warn0 = log_count("kept out of the polls by the updated_at bound");

    SQL("DROP TABLE IF EXISTS stamped;"
        "CREATE TABLE stamped (id int PRIMARY KEY,"
        " updated_at timestamptz NOT NULL DEFAULT clock_timestamp());"
        "CREATE INDEX ON stamped (updated_at, id)");
    c.updated_at_margin_ms = 1000;
    c.late_row_check_ms = 300;
    s = new_src(&c, NULL);
    read_for(s, g, 200);
    SQL("INSERT INTO stamped (id) VALUES (1)");
    read_until(s, g, 1, 5000);
    read_for(s, g, 200);
    SQL("INSERT INTO stamped VALUES (2, '2020-01-01 00:00:00Z')");
    SQL("INSERT INTO stamped (id) VALUES (3)");
    read_until(s, g, 2, 5000);
    read_for(s, g, 1000);
    {
        static const char *const want[] = {"1", "3"};
        expect_ids(g, want, 2);
    }
    CU_ASSERT(tdc_postgres_stats_get(s, &st) == 0);
    CU_ASSERT(st.late_check_active);
    CU_ASSERT(st.late_checks >= 2);
    CU_ASSERT_EQUAL(st.late_rows, 1);
    CU_ASSERT_EQUAL(log_count("kept out of the polls by the updated_at bound") - warn0, 1);
    CU_ASSERT_EQUAL(log_count("public.stamped: 1 row(s) with updated_at before"), 1);
    tdc_source_free(s);

    /* without a bound: every row, row 2 first (its updated_at) */
    c.updated_at_margin_ms = 0;
    g->n = 0;
    s = new_src(&c, NULL);
    read_until(s, g, 3, 5000);
    read_for(s, g, 500);
    {
        static const char *const want[] = {"2", "1", "3"};
        expect_ids(g, want, 3);
    }
    CU_ASSERT(tdc_postgres_stats_get(s, &st) == 0);
    CU_ASSERT(!st.late_check_active);
    CU_ASSERT_EQUAL(st.late_rows, 0);
    tdc_source_free(s);
    free(g);
}

/* The check scans the table: one that runs into statement_timeout (here a
 * lock holds it) is skipped with a warning, not taken for an outage (which
 * would retry it for ever and stop the reading). */
static void test_check_timeout(void)
{
    struct tdc_postgres_config c = snap_cfg(server, "public.locked");
    tdc_source *s;
    tdc_postgres_stats st;
    got *g = got_new();
    PGconn *l;
    size_t warn0 = log_count("late-row check took longer than statement_timeout");

    SQL("DROP TABLE IF EXISTS locked;"
        "CREATE TABLE locked (id int PRIMARY KEY,"
        " updated_at timestamptz NOT NULL DEFAULT clock_timestamp())");
    c.updated_at_margin_ms = 1000;
    c.late_row_check_ms = 1000;
    c.statement_timeout_ms = 500;
    c.poll_interval_ms = 3000; /* no poll while the check runs into the lock */
    s = new_src(&c, NULL);
    read_for(s, g, 100);
    SQL("INSERT INTO locked (id) VALUES (0)");
    read_until(s, g, 1, 10000);
    read_for(s, g, 1200); /* its check, if its range had a bound */
    SQL("INSERT INTO locked (id) VALUES (1)");
    read_until(s, g, 2, 10000);
    CU_ASSERT_FATAL(g->n == 2);
    /* the range of row 1 had a bound: its check is due in a second */
    l = td_pg_connect(server);
    CU_ASSERT_FATAL(l != NULL);
    CU_ASSERT_FATAL(td_pg_exec(l, "BEGIN; LOCK TABLE locked IN ACCESS EXCLUSIVE MODE") == 0);
    read_for(s, g, 1800);
    CU_ASSERT_FATAL(td_pg_exec(l, "COMMIT") == 0);
    PQfinish(l);
    CU_ASSERT_EQUAL(log_count("late-row check took longer than statement_timeout") - warn0, 1);
    CU_ASSERT(tdc_postgres_stats_get(s, &st) == 0);
    CU_ASSERT_EQUAL(st.outages, 0);
    CU_ASSERT(st.connected);
    SQL("INSERT INTO locked (id) VALUES (2)");
    read_until(s, g, 3, 10000);
    read_for(s, g, 200);
    expect_table_once(db, "locked", g);
    tdc_source_free(s);
    free(g);
}

/* After a start no (next xid, time) pair is known: a new range is read
 * without the updated_at bound, a scan of the table to find its few rows.
 * It runs without statement_timeout (once), so a table that takes longer to
 * scan than the timeout is still read, not retried as an outage for ever. */
static void test_unbounded_scan(void)
{
    struct tdc_postgres_config c = snap_cfg(server, "public.big");
    tdc_source *s;
    tdc_postgres_stats st;
    tdc_position pos = {.kind = TDC_POSITION_POSTGRES, .pg_mode = TDC_PG_SNAPSHOT,
                        .table = "public.big", .last_updated_at_us = INT64_MIN,
                        .next_row = 1};
    got *g = got_new();
    char *v;
    int64_t t0;

    SQL("DROP TABLE IF EXISTS big;"
        "CREATE TABLE big (id int PRIMARY KEY,"
        " updated_at timestamptz NOT NULL DEFAULT clock_timestamp());"
        "CREATE INDEX ON big (updated_at, id);"
        "INSERT INTO big (id) SELECT generate_series(1, 1000000);"
        "ANALYZE big");
    /* the position of a source that had read all of them */
    v = td_pg_query_value(db, "SELECT pg_snapshot_xmin(pg_current_snapshot())::text");
    CU_ASSERT_FATAL(v != NULL);
    pos.xid_from = pos.xid_until = strtoll(v, NULL, 10);
    free(v);
    SQL("INSERT INTO big (id) VALUES (0)");
    c.statement_timeout_ms = 50;
    s = new_src(&c, &pos);
    t0 = td_time_mono_ms();
    read_until(s, g, 1, 20000);
    fprintf(stderr, "\n    the new row after %.2f s\n", (double)(td_time_mono_ms() - t0) / 1000.0);
    read_for(s, g, 300);
    CU_ASSERT_EQUAL(g->n, 1);
    if (g->n == 1)
        CU_ASSERT_STRING_EQUAL(g->id[0], "0");
    CU_ASSERT(tdc_postgres_stats_get(s, &st) == 0);
    CU_ASSERT_EQUAL(st.outages, 0);
    tdc_source_free(s);
    SQL("DROP TABLE big");
    free(g);
}

/* ---- transaction ids across 2^32 ------------------------------------------ */

/* Runs a shell command; 0 when it exits 0. */
static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    int r;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    fflush(stderr);
    r = system(cmd);
    if (r != 0)
        fprintf(stderr, "\n    '%s' failed (%d)\n", cmd, r);
    return r;
}

static void test_wraparound(void)
{
    /* 200 transaction ids before 2^32: pg_resetwal -x, with the commit-log
     * segment of that id zero-filled (pg_resetwal's documentation) */
    const int64_t start = INT64_C(4294967296) - 200;
    td_pg *srv = NULL;
    PGconn *c, *w;
    struct tdc_postgres_config cfg;
    tdc_source *s;
    got *g = got_new();
    char *v;
    const char *as = geteuid() == 0 ? "runuser -u postgres -- " : "";

    CU_ASSERT_FATAL(td_pg_new(NULL, &srv) == 0);
    c = td_pg_connect(srv);
    CU_ASSERT_FATAL(c != NULL);
    make_touched(c, "wrapped", "text");
    CU_ASSERT_FATAL(td_pg_exec(c, "INSERT INTO wrapped (id) VALUES ('before-reset')") == 0);
    /* every row (the catalogs' too) frozen: the wrap recycles the commit
     * log of the first transaction ids */
    CU_ASSERT_FATAL(td_pg_exec(c, "VACUUM FREEZE") == 0);
    PQfinish(c);
    CU_ASSERT_FATAL(td_pg_stop(srv) == 0);
    CU_ASSERT_FATAL(sh("cd '%s/data' && %shead -c 262144 /dev/zero > pg_xact/%04" PRIX64
                       " && %sbash -c 'b=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin | sort -V"
                       " | tail -n 1)}; \"$b/pg_resetwal\" -x %" PRId64 " -D . >/dev/null'",
                       td_pg_dir(srv), as, start / 1048576, as, start) == 0);
    CU_ASSERT_FATAL(td_pg_start(srv) == 0);
    c = td_pg_connect(srv);
    CU_ASSERT_FATAL(c != NULL);
    v = td_pg_query_value(c, "SELECT pg_current_xact_id()::text");
    fprintf(stderr, "\n    next xid after pg_resetwal: %s\n", v ? v : "?");
    CU_ASSERT(v && strtoll(v, NULL, 10) >= start && strtoll(v, NULL, 10) < start + 10);
    free(v);

    cfg = snap_cfg(srv, "public.wrapped");
    cfg.batch_size = 2;
    s = new_src(&cfg, NULL);
    CU_ASSERT_FATAL(td_pg_exec(c, "INSERT INTO wrapped (id) VALUES ('epoch0-a'), ('epoch0-b')") == 0);
    read_until(s, g, 3, 5000);
    CU_ASSERT_EQUAL(g->n, 3);
    /* a transaction open across the wrap */
    w = td_pg_connect(srv);
    CU_ASSERT_FATAL(w != NULL);
    CU_ASSERT_FATAL(td_pg_exec(w, "BEGIN; INSERT INTO wrapped (id) VALUES ('across')") == 0);
    for (int i = 0; i < 260; i++) {
        CU_ASSERT_FATAL(td_pg_exec(c, i % 50 == 0 ? "INSERT INTO wrapped (id) VALUES"
                                                    " ('burn-' || clock_timestamp()::text)"
                                                  : "SELECT pg_current_xact_id()") == 0);
        if (i % 20 == 0)
            read_for(s, g, 20);
    }
    CU_ASSERT_FATAL(td_pg_exec(c, "INSERT INTO wrapped (id) VALUES ('epoch1-a')") == 0);
    v = td_pg_query_value(c, "SELECT xmin::text FROM wrapped WHERE id = 'epoch1-a'");
    fprintf(stderr, "    epoch1-a has xmin %s\n", v ? v : "?");
    CU_ASSERT(v && strtoll(v, NULL, 10) < 1000); /* past the wrap */
    free(v);
    read_for(s, g, 300);
    CU_ASSERT_EQUAL(got_count(g, "epoch1-a"), 0); /* held back by 'across' */
    CU_ASSERT_FATAL(td_pg_exec(w, "COMMIT") == 0);
    PQfinish(w);
    CU_ASSERT_FATAL(td_pg_exec(c, "INSERT INTO wrapped (id) VALUES ('epoch1-b')") == 0);
    v = td_pg_query_value(c, "SELECT count(*) FROM wrapped");
    CU_ASSERT_FATAL(v != NULL);
    read_until(s, g, (size_t)atoi(v), 10000);
    read_for(s, g, 300);
    free(v);
    expect_table_once(c, "wrapped", g);
    CU_ASSERT_FATAL(g->n > 0);
    CU_ASSERT(g->after[g->n - 1].xid_from > INT64_C(4294967296));
    tdc_source_free(s);

    /* resuming after the first row: the rest, once */
    {
        got *h = got_new();
        s = new_src(&cfg, &g->after[0]);
        read_until(s, h, g->n - 1, 10000);
        read_for(s, h, 300);
        CU_ASSERT_EQUAL(h->n, g->n - 1);
        for (size_t i = 1; i < g->n; i++)
            CU_ASSERT_EQUAL(got_count(h, g->id[i]), 1);
        tdc_source_free(s);
        free(h);
    }
    /* that position on another server (ids far below it): refused */
    {
        struct tdc_postgres_config other = snap_cfg(server, "public.wrapped");
        td_error err = {0};
        tdc_row row;

        make_touched(db, "wrapped", "text");
        s = new_src(&other, &g->after[g->n - 1]);
        CU_ASSERT_EQUAL(tdc_source_next(s, &row, &err), -EINVAL);
        fprintf(stderr, "    %s\n", td_error_msg(&err));
        CU_ASSERT(strstr(td_error_msg(&err), "public.wrapped: the committed position starts "
                                             "at transaction 42949") != NULL);
        CU_ASSERT(strstr(td_error_msg(&err), "give the source a new id") != NULL);
        tdc_source_free(s);
    }
    PQfinish(c);
    td_pg_free(srv);
    free(g);
}

/* ---- suite ---------------------------------------------------------------- */

static int suite_init(void)
{
    int64_t t0 = td_time_mono_ms();

    if (td_pg_new(NULL, &server) < 0)
        return 1;
    fprintf(stderr, "PostgreSQL up in %.2f s: %s\n",
            (double)(td_time_mono_ms() - t0) / 1000.0, td_pg_conninfo(server));
    db = td_pg_connect(server);
    return db ? 0 : 1;
}

static int suite_clean(void)
{
    PQfinish(db);
    db = NULL;
    server = td_pg_free(server);
    return 0;
}

static void add_suites(void)
{
    td_log_setup("itest_postgres_snapshot", NULL, TD_LOG_INFO, TD_LOG_TARGET_STDERR);
    td_log_set_sink(log_sink, NULL);
    td_test_suite("postgres_snapshot", suite_init, suite_clean);
    /* TD_TEST_ONLY=test_x,test_y: only those (when working on them) */
#define ADD(fn)                                                         \
    if (!getenv("TD_TEST_ONLY") || strstr(getenv("TD_TEST_ONLY"), #fn)) \
    TD_TEST(fn)
    ADD(test_config);
    ADD(test_order);
    ADD(test_late_commit);
    ADD(test_writers);
    ADD(test_view);
    ADD(test_migration);
    ADD(test_lag);
    ADD(test_bound_check);
    ADD(test_check_timeout);
    ADD(test_unbounded_scan);
    ADD(test_wraparound);
    /* a minute: a suite (and a meson test) of its own, run beside the rest */
    td_test_suite("postgres_snapshot_hold", suite_init, suite_clean);
    ADD(test_hold);
#undef ADD
}

TD_TEST_MAIN(add_suites)
