/* SIGKILL chaos of tuodi-connector reading PostgreSQL while transactions
 * commit late (issue 20): the real connector on the real broker, against a
 * PostgreSQL server of this binary's own (tests/support/td_pg.h, with
 * wal_level=logical), killed at random moments at least 20 times while
 * writer threads insert rows:
 *
 *   - fast writers: a few rows per autocommit INSERT, every few tens of ms;
 *   - slow writers: a transaction that inserts a few rows, stays open 2 to
 *     5 s (longer than the timestamp mode's settle_delay of 1 s, so later
 *     rows of the fast writers are read before it commits) and commits; every
 *     fourth rolls back instead.
 *
 * Then the writers stop (the slow ones commit what they hold: a last late
 * commit), one run of the connector is left to catch up, and the records
 * topic, read with read_committed, must hold every committed row exactly
 * once and nothing else: no row of a rolled-back transaction, nothing on the
 * dead-letter topic. A row is known by its record id "F<writer>R<k>"
 * (column 结算单号, source.record_id of the Avro record).
 *
 *   itest_postgres_chaos snapshot|logical|timestamp
 *
 * meson runs snapshot and logical. timestamp (today's polling by updated_at
 * behind settle_delay) is the demonstration that the harness catches the
 * issue's loss: run by hand it fails, naming the late rows that never came
 * (the unit-level case is late_commit in itest_postgres_source.c).
 * TD_CHAOS_SEED repeats a run's random choices (the database's timing does
 * not repeat).
 */
#include "td_pg.h"
#include "td_proc.h"
#include "td_test.h"
#include "td_time.h"
#include "tdc_it.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define FAST_WRITERS 6
#define SLOW_WRITERS 4
#define WRITERS (FAST_WRITERS + SLOW_WRITERS)
#define MIN_KILLS 20
/* rows per writer at most (record ids F<w>R<k>, k below this) */
#define WRITER_ROWS 200000
/* the timestamp mode's settle_delay; the slow transactions stay open longer */
#define SETTLE_MS 1000
#define SLOW_MIN_MS 2000
#define SLOW_MAX_MS 5000

typedef struct writer {
    int w; /* the record ids' file number */
    bool slow;
    unsigned seed;
    PGconn *db;
    pthread_t thread;
    /* what happened to row k: 0 never written or rolled back, 1 committed */
    uint8_t *committed;
    int next; /* the next row number */
    int txns; /* slow: transactions begun */
    int64_t rows_committed, rows_rolled_back, txns_late;
    bool failed;
} writer;

static atomic_bool writers_stop;

/* The INSERT of rows [k0, k0 + n) of writer w into sql (size bytes). */
static void insert_sql(char *sql, size_t size, int w, int k0, int n)
{
    size_t len = (size_t)snprintf(sql, size,
                                  "INSERT INTO settlement (id, 身份证号, 姓名, 结算日期, 就诊类型, "
                                  "医疗总费用, 基金支付, 个人负担, 是否大病, 结算单号) VALUES ");
    for (int k = k0; k < k0 + n; k++) {
        char id[19];

        tdc_it_person_id(w, k, id);
        len += (size_t)snprintf(sql + len, size - len,
                                "%s(%lld, '%s', '王%d', '2023-06-%02d', '住院', '%d.00', "
                                "'100.00', '%d.50', '否', 'F%dR%d')",
                                k == k0 ? "" : ",", (long long)w * WRITER_ROWS + k + 1, id, k,
                                1 + k % 28, 2000 + k % 3000, 300 + k % 90, w, k);
    }
}

static bool exec_ok(writer *wr, const char *sql)
{
    if (td_pg_exec(wr->db, sql) == 0)
        return true;
    fprintf(stderr, "\n    writer %d: statement failed\n", wr->w);
    wr->failed = true;
    return false;
}

static void *writer_main(void *arg)
{
    writer *wr = arg;
    char sql[16384];

    while (!atomic_load(&writers_stop) && wr->next + 8 < WRITER_ROWS) {
        int n = 1 + (int)(rand_r(&wr->seed) % 5), k0 = wr->next;

        if (!wr->slow) {
            insert_sql(sql, sizeof(sql), wr->w, k0, n);
            if (!exec_ok(wr, sql))
                break;
            memset(wr->committed + k0, 1, (size_t)n);
            wr->next += n;
            wr->rows_committed += n;
            usleep((useconds_t)(10 + rand_r(&wr->seed) % 60) * 1000);
            continue;
        }
        /* slow: open, insert, wait longer than the settle delay, end. Each
         * row its own statement: their updated_at (clock_timestamp()) lie
         * apart, all of them before the commit. */
        {
            int64_t open_ms = SLOW_MIN_MS + rand_r(&wr->seed) % (SLOW_MAX_MS - SLOW_MIN_MS);
            bool rollback = ++wr->txns % 4 == 2; /* the 2nd, 6th, ... */
            int64_t until;

            if (!exec_ok(wr, "BEGIN"))
                break;
            for (int k = k0; k < k0 + n; k++) {
                insert_sql(sql, sizeof(sql), wr->w, k, 1);
                if (!exec_ok(wr, sql))
                    goto out;
                usleep(100 * 1000);
            }
            wr->next += n;
            /* the stop does not cut a transaction short: its late commit
             * is the last thing the final run must pick up */
            until = td_time_mono_ms() + open_ms;
            while (td_time_mono_ms() < until)
                usleep(50 * 1000);
            if (!exec_ok(wr, rollback ? "ROLLBACK" : "COMMIT"))
                break;
            if (rollback) {
                wr->rows_rolled_back += n;
            } else {
                memset(wr->committed + k0, 1, (size_t)n);
                wr->rows_committed += n;
                wr->txns_late++;
            }
        }
    }
out:
    return NULL;
}

typedef struct chaos {
    const char *mode;
    const char *bootstrap;
    td_pg *pg;
    PGconn *db;
    char *dir, *prefix;
    char config[4096], log[4096], schemas[4096], records[300], dlq[300];
    writer wr[WRITERS];
} chaos;

static void show_log(const chaos *c)
{
    td_proc_show_log(c->log, 40);
}

static void write_config(chaos *c)
{
    FILE *f = fopen(c->config, "w");

    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fprintf(f,
            "instance: %s\n"
            "dataset: medical_insurance\n"
            "schemas_dir: %s/schemas\n"
            "log_level: info\n"
            "kafka:\n"
            "  bootstrap.servers: \"%s\"\n"
            "  transaction.timeout.ms: 30000\n"
            "  message.timeout.ms: 30000\n"
            "  reconnect.backoff.max.ms: 1000\n"
            "topics:\n"
            "  records: %s\n"
            "  dlq: %s\n"
            "  offsets: %s.offsets\n"
            "  partitions: 3\n"
            "source:\n"
            "  postgres:\n"
            "    conninfo: \"%s\"\n"
            "    table: public.settlement\n"
            "    mode: %s\n"
            "    poll_interval: 200ms\n"
            "    batch_size: 300\n",
            c->prefix, td_test_source_root(), c->bootstrap, c->records, c->dlq, c->prefix,
            td_pg_conninfo(c->pg), c->mode);
    if (strcmp(c->mode, "timestamp") == 0)
        fprintf(f, "    settle_delay: %dms\n", SETTLE_MS);
    if (strcmp(c->mode, "logical") == 0)
        fprintf(f, "    slot: tuodi_chaos\n    publication: tuodi_chaos\n");
    fprintf(f,
            "transaction:\n"
            "  max_records: 500\n"
            "  max_interval: 300ms\n"
            "  timeout: 10s\n");
    CU_ASSERT_EQUAL_FATAL(fclose(f), 0);
}

static void chaos_setup(chaos *c, const char *mode)
{
    static const char *const settings[] = {"wal_level=logical", "max_wal_senders=4",
                                           "max_replication_slots=4", NULL};

    memset(c, 0, sizeof(*c));
    c->mode = mode;
    c->bootstrap = td_test_bootstrap();
    c->dir = td_test_tmpdir();
    c->prefix = td_test_unique("pgchaos");
    CU_ASSERT_FATAL(c->dir && c->prefix);
    snprintf(c->config, sizeof(c->config), "%s/connector.yaml", c->dir);
    snprintf(c->log, sizeof(c->log), "%s/connector.log", c->dir);
    snprintf(c->schemas, sizeof(c->schemas), "%s/schemas", td_test_source_root());
    snprintf(c->records, sizeof(c->records), "%s.records", c->prefix);
    snprintf(c->dlq, sizeof(c->dlq), "%s.dlq", c->prefix);
    CU_ASSERT_EQUAL_FATAL(td_pg_new(settings, &c->pg), 0);
    c->db = td_pg_connect(c->pg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c->db);
    /* the recommended table: updated_at stamped by the database at the
     * statement's moment, not the commit's */
    CU_ASSERT_EQUAL_FATAL(td_pg_exec(c->db,
        "CREATE TABLE settlement (id bigint PRIMARY KEY,"
        " updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),"
        " 身份证号 text, 姓名 text, 结算日期 text, 就诊类型 text, 医疗总费用 text,"
        " 基金支付 text, 个人负担 text, 是否大病 text, 结算单号 text);"
        "CREATE INDEX ON settlement (updated_at, id);"
        "CREATE PUBLICATION tuodi_chaos FOR TABLE settlement"), 0);
    write_config(c);
}

static void chaos_free(chaos *c)
{
    for (int i = 0; i < WRITERS; i++) {
        PQfinish(c->wr[i].db);
        free(c->wr[i].committed);
    }
    PQfinish(c->db);
    td_pg_free(c->pg);
    if (getenv("TD_KEEP_TMP"))
        fprintf(stderr, "kept %s\n", c->dir);
    else
        td_test_rmtree(c->dir);
    free(c->dir);
    free(c->prefix);
}

static void writers_start(chaos *c, unsigned seed)
{
    atomic_store(&writers_stop, false);
    for (int i = 0; i < WRITERS; i++) {
        writer *wr = &c->wr[i];

        wr->w = i;
        wr->slow = i >= FAST_WRITERS;
        wr->seed = seed + (unsigned)i * 7919u;
        wr->committed = calloc(WRITER_ROWS, 1);
        wr->db = td_pg_connect(c->pg);
        CU_ASSERT_FATAL(wr->committed && wr->db);
        CU_ASSERT_EQUAL_FATAL(pthread_create(&wr->thread, NULL, writer_main, wr), 0);
    }
}

static void writers_join(chaos *c)
{
    atomic_store(&writers_stop, true);
    for (int i = 0; i < WRITERS; i++) {
        CU_ASSERT_EQUAL(pthread_join(c->wr[i].thread, NULL), 0);
        CU_ASSERT_FALSE(c->wr[i].failed);
    }
}

static int64_t committed_rows(const chaos *c)
{
    int64_t n = 0;

    for (int i = 0; i < WRITERS; i++)
        n += c->wr[i].rows_committed;
    return n;
}

/* Reads the records topic until it holds want records, or until it has not
 * grown for quiet_ms (a row that never comes: the test then says which). */
static void wait_records(const chaos *c, int64_t want, int quiet_ms, int max_ms)
{
    int64_t last = -1, since = td_time_mono_ms(), until = td_time_mono_ms() + max_ms;

    for (;;) {
        tdc_it_seen rec;
        int64_t n = -1;

        if (tdc_it_read(c->bootstrap, c->records, false, c->schemas, &rec) == 0)
            n = rec.total;
        tdc_it_seen_free(&rec);
        if (n >= want || td_time_mono_ms() > until)
            return;
        if (n != last) {
            last = n;
            since = td_time_mono_ms();
        } else if (td_time_mono_ms() - since > quiet_ms) {
            return;
        }
        usleep(500 * 1000);
    }
}

/* Every committed row once on the records topic, nothing else anywhere. */
static void verify(const chaos *c)
{
    tdc_it_seen rec, dlq;
    int64_t want = 0, missing = 0, dup = 0, extra = 0, rolled_back = 0, late = 0, late_rows = 0;
    int shown = 0;

    CU_ASSERT_EQUAL_FATAL(tdc_it_read(c->bootstrap, c->records, false, c->schemas, &rec), 0);
    CU_ASSERT_EQUAL_FATAL(tdc_it_read(c->bootstrap, c->dlq, true, c->schemas, &dlq), 0);
    for (int i = 0; i < WRITERS; i++) {
        const writer *wr = &c->wr[i];

        rolled_back += wr->rows_rolled_back;
        late += wr->txns_late;
        late_rows += wr->slow ? wr->rows_committed : 0;
        for (int k = 0; k < WRITER_ROWS; k++) {
            uint8_t got = rec.count[(size_t)i * TDC_IT_MAX_ROWS + (size_t)k];

            want += wr->committed[k];
            if (wr->committed[k] && got == 0) {
                missing++;
                if (shown++ < 10)
                    printf("    missing: F%dR%d (a %s writer's row)\n", i, k,
                           wr->slow ? "slow, late-committing" : "fast");
            } else if (wr->committed[k] && got > 1) {
                dup++;
                if (shown++ < 10)
                    printf("    %u times: F%dR%d\n", got, i, k);
            } else if (!wr->committed[k] && got) {
                extra++;
                if (shown++ < 10)
                    printf("    never committed, yet published: F%dR%d\n", i, k);
            }
        }
    }
    printf("    rows committed %lld (%lld of them in %lld late commits of slow writers), "
           "rolled back %lld; records %lld: missing %lld, duplicated %lld, not committed "
           "%lld, unparsed %lld; dead letters %lld\n",
           (long long)want, (long long)late_rows, (long long)late,
           (long long)rolled_back, (long long)rec.total, (long long)missing, (long long)dup,
           (long long)extra, (long long)rec.unparsed, (long long)dlq.total);
    CU_ASSERT(late >= 5);
    CU_ASSERT(rolled_back >= 1);
    CU_ASSERT_EQUAL(missing, 0);
    CU_ASSERT_EQUAL(dup, 0);
    CU_ASSERT_EQUAL(extra, 0);
    CU_ASSERT_EQUAL(rec.total, want);
    CU_ASSERT_EQUAL(rec.unparsed, 0);
    CU_ASSERT_EQUAL(dlq.total, 0);
    if (dlq.total)
        printf("    first dead letter: %s\n", dlq.first_reason);
    tdc_it_seen_free(&rec);
    tdc_it_seen_free(&dlq);
}

static void run_chaos(const char *mode)
{
    chaos c;
    unsigned seed = (unsigned)td_time_wall_ms();
    int kills = 0, st;
    int64_t t0 = td_time_mono_ms();
    pid_t pid;

    if (getenv("TD_CHAOS_SEED"))
        seed = (unsigned)atoi(getenv("TD_CHAOS_SEED"));
    printf("\n    mode %s, chaos seed %u (TD_CHAOS_SEED to repeat)\n", mode, seed);
    srand(seed);
    chaos_setup(&c, mode);

    /* the first run gets going before any row is written (logical: its
     * slot then holds every change from the first row on) */
    pid = tdc_it_spawn(c.config, c.log);
    CU_ASSERT_FATAL(pid > 0);
    if (!td_proc_wait_log(c.log, ": running (", 1, 60000)) {
        show_log(&c);
        CU_FAIL_FATAL("the connector did not start");
    }
    if (strcmp(mode, "logical") == 0) {
        /* the slot is made at the first read after the start: changes
         * committed before it are not in it (tdc_pglogical.h) */
        int64_t until = td_time_mono_ms() + 30000;
        char *n = NULL;

        for (; td_time_mono_ms() < until; usleep(100 * 1000)) {
            free(n);
            n = td_pg_query_value(c.db, "SELECT count(*) FROM pg_replication_slots "
                                        "WHERE slot_name = 'tuodi_chaos'");
            if (n && strcmp(n, "1") == 0)
                break;
        }
        CU_ASSERT_FATAL(n && strcmp(n, "1") == 0);
        free(n);
    }
    writers_start(&c, seed);
    while (kills < MIN_KILLS) {
        usleep((useconds_t)(300 + rand() % 2700) * 1000);
        if (waitpid(pid, &st, WNOHANG) == pid) {
            show_log(&c);
            CU_FAIL_FATAL("the connector ended by itself");
        }
        tdc_it_stop(pid, SIGKILL, 10000);
        kills++;
        pid = tdc_it_spawn(c.config, c.log);
        CU_ASSERT_FATAL(pid > 0);
    }
    writers_join(&c);
    printf("    %d SIGKILLs in %.1f s; %lld rows committed\n", kills,
           (double)(td_time_mono_ms() - t0) / 1000.0, (long long)committed_rows(&c));
    /* the last run catches up: the quiet time covers a poll interval and
     * a transaction (and timestamp's settle delay) many times over */
    wait_records(&c, committed_rows(&c), 15000, 120000);
    if (waitpid(pid, &st, WNOHANG) == pid) {
        show_log(&c);
        CU_FAIL("the last run of the connector ended by itself");
    } else {
        st = tdc_it_stop(pid, SIGTERM, 30000);
        CU_ASSERT(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    {
        /* the kills came while positions were being committed, not only
         * at start-up: runs resumed from one (the rest were killed before
         * they had read it) */
        int resumed = td_proc_log_count(c.log, "resuming ");
        printf("    %d of %d runs resumed from a committed position; %.1f s in all\n", resumed,
               kills + 1, (double)(td_time_mono_ms() - t0) / 1000.0);
        CU_ASSERT(resumed >= 5);
    }
    verify(&c);
    if (CU_get_number_of_failures())
        show_log(&c);
    chaos_free(&c);
}

static void test_chaos_snapshot(void)
{
    run_chaos("snapshot");
}

static void test_chaos_logical(void)
{
    run_chaos("logical");
}

static void test_chaos_timestamp(void)
{
    run_chaos("timestamp");
}

static void add_suites(void)
{
    td_test_suite("snapshot", NULL, NULL);
    TD_TEST(test_chaos_snapshot);
    td_test_suite("logical", NULL, NULL);
    TD_TEST(test_chaos_logical);
    td_test_suite("timestamp", NULL, NULL);
    TD_TEST(test_chaos_timestamp);
}

TD_TEST_MAIN(add_suites)
