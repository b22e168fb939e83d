/* tdm_manifest: the batch manifest's text round-trips (idle partition, one
 * run, runs split by other partitions, the start -1); its length is counted
 * exactly, so the engine's early batch end keeps every text under the
 * broker's 4096 bytes (the worst case: a record alone in each run at the
 * largest positions); foreign and corrupt metadata are refused with a
 * reason, never read past their length; the plan of a batch from several
 * partitions, and overlaps and gaps refused. */
#include "tdm_manifest.h"
#include "td_test.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int add_all(tdm_manifest *m, const uint32_t *pos, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int r = tdm_manifest_add(m, pos[i]);
        if (r < 0)
            return r;
    }
    return 0;
}

/* encode m, check the length and the text, decode it back and compare */
static void roundtrip(const tdm_manifest *m, const char *want)
{
    char buf[TDM_MANIFEST_MAX + 64];
    tdm_manifest d = {0};
    td_error err = {0};
    int n = tdm_manifest_encode(m, buf, sizeof(buf));

    CU_ASSERT_EQUAL_FATAL(n, (int)m->len);
    if (want) {
        CU_ASSERT_EQUAL(n, (int)strlen(want));
        CU_ASSERT_EQUAL(memcmp(buf, want, strlen(want)), 0);
    }
    CU_ASSERT_EQUAL_FATAL(tdm_manifest_decode(buf, (size_t)n, &d, &err), 0);
    CU_ASSERT_EQUAL(d.start, m->start);
    CU_ASSERT_EQUAL(d.records, m->records);
    CU_ASSERT_EQUAL(d.len, m->len);
    CU_ASSERT_EQUAL_FATAL(d.nruns, m->nruns);
    for (size_t i = 0; i < d.nruns; i++) {
        CU_ASSERT_EQUAL(d.runs[i].pos, m->runs[i].pos);
        CU_ASSERT_EQUAL(d.runs[i].count, m->runs[i].count);
    }
    tdm_manifest_done(&d);
}

static void test_roundtrip(void)
{
    tdm_manifest m = {0};
    static const uint32_t split[] = {0, 1, 2, 5, 6, 9, 100000};
    char small[8];

    tdm_manifest_reset(&m, 1234);
    roundtrip(&m, "tdm1 1234"); /* an idle partition */
    CU_ASSERT_EQUAL(m.records, 0);
    CU_ASSERT_EQUAL(add_all(&m, split, sizeof(split) / sizeof(split[0])), 0);
    roundtrip(&m, "tdm1 1234 0+3 5+2 9+1 100000+1");
    CU_ASSERT_EQUAL(m.records, 7);
    CU_ASSERT_EQUAL(m.nruns, 4);
    /* too small a buffer: refused, nothing promised */
    CU_ASSERT_EQUAL(tdm_manifest_encode(&m, small, sizeof(small)), -ENOSPC);
    /* positions only go up */
    CU_ASSERT_EQUAL(tdm_manifest_add(&m, 100000), -EINVAL);
    CU_ASSERT_EQUAL(tdm_manifest_add(&m, 7), -EINVAL);
    CU_ASSERT_EQUAL(m.records, 7);
    /* a partition never committed: from the beginning */
    tdm_manifest_reset(&m, -1);
    CU_ASSERT_EQUAL(tdm_manifest_add(&m, 3), 0);
    roundtrip(&m, "tdm1 -1 3+1");
    /* the largest numbers */
    tdm_manifest_reset(&m, INT64_MAX);
    CU_ASSERT_EQUAL(tdm_manifest_add(&m, UINT32_MAX - 1), 0);
    CU_ASSERT_EQUAL(tdm_manifest_add(&m, UINT32_MAX), 0);
    roundtrip(&m, "tdm1 9223372036854775807 4294967294+2");
    tdm_manifest_done(&m);
    tdm_manifest_done(NULL);
}

/* The engine ends a batch once a partition's text is longer than
 * TDM_MANIFEST_SOFT_MAX; the worst case is a record alone in each run with
 * ten-digit positions: the text that crossed the line still fits in 4096
 * bytes, and it is exactly the length counted. */
static void test_size_cap(void)
{
    tdm_manifest m = {0};
    uint32_t pos = 4000000000u;
    size_t added = 0;

    tdm_manifest_reset(&m, INT64_MAX);
    while (m.len <= TDM_MANIFEST_SOFT_MAX) {
        CU_ASSERT_EQUAL_FATAL(tdm_manifest_add(&m, pos), 0);
        pos += 2; /* another partition's record between */
        added++;
    }
    CU_ASSERT_TRUE(m.len <= TDM_MANIFEST_SOFT_MAX + TDM_MANIFEST_RUN_MAX);
    CU_ASSERT_TRUE(m.len <= TDM_MANIFEST_MAX);
    CU_ASSERT_EQUAL(m.nruns, added);
    roundtrip(&m, NULL);
    printf("(%zu runs in %zu bytes) ", added, m.len);
    tdm_manifest_done(&m);
}

static int decode_str(const char *s, td_error *err)
{
    tdm_manifest m = {0};
    int r = tdm_manifest_decode(s, strlen(s), &m, err);
    if (r < 0) {
        CU_ASSERT_EQUAL(m.nruns, 0); /* left empty */
        CU_ASSERT_EQUAL(m.records, 0);
    }
    tdm_manifest_done(&m);
    return r;
}

static void test_malformed(void)
{
    static const char *const foreign[] = {"", "tdm", "tdm1", "tdm2 5 0+1", "{\"partition_time\":5}",
                                          "TDM1 5", "\x01\x02\x03"};
    static const char *const corrupt[] = {
        "tdm1 ",            /* no start */
        "tdm1 x",           /* not a number */
        "tdm1 -2",          /* only -1 is negative */
        "tdm1 -1x",
        "tdm1 05",          /* a leading zero */
        "tdm1 5 ",          /* a trailing space */
        "tdm1 5  0+1",      /* two spaces */
        "tdm1 5 0+0",       /* an empty run */
        "tdm1 5 0+",        /* no count */
        "tdm1 5 0",         /* no + */
        "tdm1 5 +1",        /* no position */
        "tdm1 5 0-1",
        "tdm1 5 3+2 4+1",   /* overlapping */
        "tdm1 5 3+2 1+1",   /* out of order */
        "tdm1 5 4294967296+1", /* past 2^32 */
        "tdm1 5 4294967295+2",
        "tdm1 99999999999999999999", /* past int64 */
        "tdm1 5 0+1\n",     /* trailing bytes */
    };
    td_error err = {0};
    tdm_manifest m = {0};
    char big[TDM_MANIFEST_MAX + 16];
    size_t n;

    for (size_t i = 0; i < sizeof(foreign) / sizeof(foreign[0]); i++) {
        memset(&err, 0, sizeof(err));
        CU_ASSERT_EQUAL(decode_str(foreign[i], &err), -EPROTO);
        CU_ASSERT_TRUE(strstr(err.msg, "not a batch manifest") != NULL);
    }
    for (size_t i = 0; i < sizeof(corrupt) / sizeof(corrupt[0]); i++) {
        memset(&err, 0, sizeof(err));
        if (decode_str(corrupt[i], &err) != -EINVAL)
            fprintf(stderr, "accepted or misjudged: \"%s\"\n", corrupt[i]);
        CU_ASSERT_EQUAL(decode_str(corrupt[i], &err), -EINVAL);
        CU_ASSERT_TRUE(strstr(err.msg, "batch manifest") != NULL);
    }
    /* NULL, and not read past the length given: "tdm1 5 0+1" cut to "tdm1 5 0" */
    CU_ASSERT_EQUAL(tdm_manifest_decode(NULL, 0, &m, &err), -EPROTO);
    CU_ASSERT_EQUAL(tdm_manifest_decode("tdm1 5 0+1", 8, &m, &err), -EINVAL);
    CU_ASSERT_EQUAL(tdm_manifest_decode("tdm1 5 0+1", 10, &m, &err), 0);
    CU_ASSERT_EQUAL(m.records, 1);
    /* over the broker's limit */
    n = (size_t)snprintf(big, sizeof(big), "tdm1 5");
    while (n + 6 < sizeof(big) - 1)
        n += (size_t)snprintf(big + n, sizeof(big) - n, " %zu+1", n);
    CU_ASSERT_TRUE(n > TDM_MANIFEST_MAX);
    CU_ASSERT_EQUAL(tdm_manifest_decode(big, n, &m, &err), -EINVAL);
    CU_ASSERT_TRUE(strstr(err.msg, "more than 4096") != NULL);
    tdm_manifest_done(&m);
}

static void test_plan(void)
{
    tdm_manifest a = {0}, b = {0}, c = {0};
    const tdm_manifest *v[3] = {&a, &b, &c};
    static const uint32_t pa[] = {0, 1, 4, 7}, pb[] = {2, 3, 5, 6};
    uint32_t *order = NULL;
    size_t total = 0;
    td_error err = {0};

    tdm_manifest_reset(&a, 10);
    tdm_manifest_reset(&b, 0);
    tdm_manifest_reset(&c, 7); /* idle */
    CU_ASSERT_EQUAL(add_all(&a, pa, 4), 0);
    CU_ASSERT_EQUAL(add_all(&b, pb, 4), 0);
    CU_ASSERT_EQUAL_FATAL(tdm_manifest_plan(v, 3, &order, &total, &err), 0);
    CU_ASSERT_EQUAL_FATAL(total, 8);
    {
        static const uint32_t want[] = {0, 0, 1, 1, 0, 1, 1, 0};
        CU_ASSERT_EQUAL(memcmp(order, want, sizeof(want)), 0);
    }
    free(order);
    order = NULL;
    /* a partition of the batch missing: b's positions are a gap */
    CU_ASSERT_EQUAL(tdm_manifest_plan(v, 1, &order, &total, &err), -EINVAL);
    CU_ASSERT_TRUE(strstr(err.msg, "missing") != NULL);
    /* two partitions claiming position 1 */
    tdm_manifest_reset(&c, 7);
    CU_ASSERT_EQUAL(tdm_manifest_add(&c, 1), 0);
    CU_ASSERT_EQUAL(tdm_manifest_plan(v, 3, &order, &total, &err), -EINVAL);
    CU_ASSERT_PTR_NULL(order);
    /* nothing at all */
    CU_ASSERT_EQUAL(tdm_manifest_plan(v + 2, 0, &order, &total, &err), 0);
    CU_ASSERT_EQUAL(total, 0);
    CU_ASSERT_PTR_NULL(order);
    tdm_manifest_done(&a);
    tdm_manifest_done(&b);
    tdm_manifest_done(&c);
}

static void add_suites(void)
{
    td_test_suite("manifest", NULL, NULL);
    TD_TEST(test_roundtrip);
    TD_TEST(test_size_cap);
    TD_TEST(test_malformed);
    TD_TEST(test_plan);
}

TD_TEST_MAIN(add_suites)
