/* td_metrics and td_http: the Prometheus text (exactly, and as promtool
 * checks it), label values that would carry personal data refused, counts
 * from many threads, and the endpoint's pages and status codes over a real
 * socket. */
#include "td_http.h"
#include "td_metrics.h"
#include "td_test.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static char *render(td_metrics *m)
{
    char *text = NULL;
    size_t len = 0;
    CU_ASSERT_FATAL(td_metrics_render(m, &text, &len) == 0);
    CU_ASSERT_EQUAL(strlen(text), len);
    return text;
}

static void test_text(void)
{
    static const double b[] = {0.01, 0.1, 1};
    td_metrics *m = td_metrics_new("tuodi_test");
    td_metric *rows = td_metrics_counter(m, "rows_total", "Rows read", "dataset,reason");
    td_metric *lag = td_metrics_gauge(m, "lag_records", "Records\nbehind \\ end", NULL);
    td_metric *dur = td_metrics_histogram(m, "commit_duration_seconds", "Commit time", NULL, b, 3);
    char *text;

    CU_ASSERT_PTR_NOT_NULL_FATAL(rows);
    td_metric_add(rows, 2, "medical", "ok");
    td_metric_add(rows, 1, "medical", "say \"no\" \\ ok");
    td_metric_add(rows, -5, "medical", "ok"); /* a counter never falls */
    td_metric_set(lag, 7.5);
    td_metric_observe(dur, 0.005);
    td_metric_observe(dur, 0.05);
    td_metric_observe(dur, 3);
    text = render(m);
    CU_ASSERT_STRING_EQUAL(
        text,
        "# HELP tuodi_test_rows_total Rows read\n"
        "# TYPE tuodi_test_rows_total counter\n"
        "tuodi_test_rows_total{dataset=\"medical\",reason=\"ok\"} 2\n"
        "tuodi_test_rows_total{dataset=\"medical\",reason=\"say \\\"no\\\" \\\\ ok\"} 1\n"
        "# HELP tuodi_test_lag_records Records\\nbehind \\\\ end\n"
        "# TYPE tuodi_test_lag_records gauge\n"
        "tuodi_test_lag_records 7.5\n"
        "# HELP tuodi_test_commit_duration_seconds Commit time\n"
        "# TYPE tuodi_test_commit_duration_seconds histogram\n"
        "tuodi_test_commit_duration_seconds_bucket{le=\"0.01\"} 1\n"
        "tuodi_test_commit_duration_seconds_bucket{le=\"0.1\"} 2\n"
        "tuodi_test_commit_duration_seconds_bucket{le=\"1\"} 2\n"
        "tuodi_test_commit_duration_seconds_bucket{le=\"+Inf\"} 3\n"
        "tuodi_test_commit_duration_seconds_sum 3.055\n"
        "tuodi_test_commit_duration_seconds_count 3\n"
        "# HELP tuodi_test_metrics_refused_label_values_total Label values td_metrics refused "
        "(not printable ASCII, too long, or 15 digits in a row: an identity number)\n"
        "# TYPE tuodi_test_metrics_refused_label_values_total counter\n"
        "tuodi_test_metrics_refused_label_values_total 0\n");
    free(text);
    CU_ASSERT_EQUAL(td_metric_value(rows, "medical", "ok"), 2);
    CU_ASSERT(isnan(td_metric_value(rows, "civil", "ok")));
    CU_ASSERT_EQUAL(td_metric_value(dur), 3);
    /* the same family again; another type or labels: NULL */
    CU_ASSERT_PTR_EQUAL(td_metrics_counter(m, "rows_total", "x", "dataset,reason"), rows);
    CU_ASSERT_PTR_NULL(td_metrics_gauge(m, "rows_total", "x", "dataset,reason"));
    CU_ASSERT_PTR_NULL(td_metrics_counter(m, "rows_total", "x", "dataset"));
    CU_ASSERT_PTR_NULL(td_metrics_counter(m, "bad-name", "x", NULL));
    CU_ASSERT_PTR_NULL(td_metrics_counter(m, "x_total", "x", "le"));
    CU_ASSERT_PTR_NULL(td_metrics_histogram(m, "h", "x", NULL, (double[]){1, 1}, 2));
    td_metric_clear(rows);
    CU_ASSERT(isnan(td_metric_value(rows, "medical", "ok")));
    td_metric_add(NULL, 1); /* a family that could not be made: nothing */
    td_metrics_free(m);
}

/* No identity number, no name: refused and counted, never rendered. */
static void test_personal_data_refused(void)
{
    td_metrics *m = td_metrics_new("tuodi_test");
    td_metric *c = td_metrics_counter(m, "x_total", "x", "v");
    char *text;
    td_metric_add(c, 1, "340421199001011234");
    td_metric_add(c, 1, "34042119900101123");  /* 17 digits: still refused */
    td_metric_add(c, 1, "张三");
    td_metric_add(c, 1, "340421");            /* a county code: fine */
    text = render(m);
    CU_ASSERT_PTR_NULL(strstr(text, "19900101"));
    CU_ASSERT_PTR_NULL(strstr(text, "张"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "tuodi_test_x_total{v=\"340421\"} 1\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "tuodi_test_metrics_refused_label_values_total 3\n"));
    free(text);
    td_metrics_free(m);
}

static td_metric *shared;
static void *adder(void *arg)
{
    (void)arg;
    for (int i = 0; i < 20000; i++)
        td_metric_add(shared, 1, i % 2 ? "a" : "b");
    return NULL;
}

static void test_threads(void)
{
    td_metrics *m = td_metrics_new("tuodi_test");
    pthread_t t[4];
    shared = td_metrics_counter(m, "n_total", "n", "k");
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, adder, NULL);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    CU_ASSERT_EQUAL(td_metric_value(shared, "a"), 40000);
    CU_ASSERT_EQUAL(td_metric_value(shared, "b"), 40000);
    td_metrics_free(m);
}

static int collected;
static void collect(td_metrics *m, void *opaque)
{
    (void)opaque;
    collected++;
    td_metric_set(td_metrics_gauge(m, "files_waiting", "Files waiting", NULL), 42);
}

/* promtool check metrics accepts the text (Debian's prometheus package;
 * deploy/setup installs it). */
static void test_promtool(void)
{
    static const double b[] = {0.5, 1};
    td_metrics *m = td_metrics_new("tuodi_test");
    char *text, path[4200], cmd[8400];
    char *dir = td_test_tmpdir();
    td_metric_add(td_metrics_counter(m, "rows_read_total", "Rows read", "dataset"), 3, "medical");
    td_metric_observe(td_metrics_histogram(m, "commit_duration_seconds", "Commit", NULL, b, 2),
                      0.7);
    CU_ASSERT(td_metrics_on_collect(m, collect, NULL) == 0);
    text = render(m);
    CU_ASSERT_EQUAL(collected, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "tuodi_test_files_waiting 42\n"));
    snprintf(path, sizeof(path), "%s/metrics.txt", dir);
    CU_ASSERT_FATAL(td_test_write_file(path, text) == 0);
    snprintf(cmd, sizeof(cmd), "promtool check metrics <%s >%s/promtool.out 2>&1", path, dir);
    CU_ASSERT_EQUAL(system(cmd), 0);
    free(text);
    td_test_rmtree(dir);
    free(dir);
    td_metrics_free(m);
}

/* ---- td_http over a socket ---- */

/* GET (or method) path from 127.0.0.1:port; the status, and the body into
 * body. */
static int get(int port, const char *method, const char *path, char *body, size_t size)
{
    struct sockaddr_in sa = {0};
    char req[512], resp[65536];
    size_t got = 0;
    int fd = socket(AF_INET, SOCK_STREAM, 0), status = -1;
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return -1;
    }
    snprintf(req, sizeof(req), "%s %s HTTP/1.0\r\nHost: x\r\n\r\n", method, path);
    if (write(fd, req, strlen(req)) < 0) {
        close(fd);
        return -1;
    }
    for (ssize_t k; got < sizeof(resp) - 1 && (k = read(fd, resp + got, sizeof(resp) - 1 - got)) > 0;)
        got += (size_t)k;
    resp[got] = 0;
    close(fd);
    sscanf(resp, "HTTP/1.%*d %d", &status);
    {
        char *b = strstr(resp, "\r\n\r\n");
        snprintf(body, size, "%s", b ? b + 4 : "");
    }
    return status;
}

static void test_http(void)
{
    td_metrics *m = td_metrics_new("tuodi_test");
    td_http_config cfg = {.listen = "127.0.0.1:0", .stall_after_ms = 1000};
    td_http *h = NULL, *h2 = NULL;
    td_error err = {0};
    char body[65536], addr[64];
    int port;

    td_metric_add(td_metrics_counter(m, "rows_read_total", "Rows", NULL), 5);
    CU_ASSERT_FATAL(td_http_start(&cfg, m, &h, &err) == 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    port = td_http_port(h);
    CU_ASSERT(port > 0);
    CU_ASSERT_EQUAL(get(port, "GET", "/metrics", body, sizeof(body)), 200);
    CU_ASSERT_PTR_NOT_NULL(strstr(body, "tuodi_test_rows_read_total 5\n"));
    CU_ASSERT_EQUAL(get(port, "GET", "/health", body, sizeof(body)), 200);
    CU_ASSERT_EQUAL(get(port, "GET", "/ready", body, sizeof(body)), 503);
    CU_ASSERT_STRING_EQUAL(body, "not ready: starting\n");
    td_http_set_ready(h, false, "roster catching up (12%)");
    CU_ASSERT_EQUAL(get(port, "GET", "/ready", body, sizeof(body)), 503);
    CU_ASSERT_STRING_EQUAL(body, "not ready: roster catching up (12%)\n");
    td_http_set_ready(h, true, NULL);
    CU_ASSERT_EQUAL(get(port, "GET", "/ready", body, sizeof(body)), 200);
    CU_ASSERT_EQUAL(get(port, "POST", "/metrics", body, sizeof(body)), 405);
    CU_ASSERT_EQUAL(get(port, "GET", "/nothing", body, sizeof(body)), 404);
    /* the loop stops beating: /health turns 503 after stall_after, and back */
    usleep(1300 * 1000);
    CU_ASSERT_EQUAL(get(port, "GET", "/health", body, sizeof(body)), 503);
    CU_ASSERT_PTR_NOT_NULL(strstr(body, "stalled: the main loop has not turned for "));
    td_http_beat(h);
    CU_ASSERT_EQUAL(get(port, "GET", "/health", body, sizeof(body)), 200);

    /* the same port twice: refused, naming the address */
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
    cfg.listen = addr;
    CU_ASSERT(td_http_start(&cfg, m, &h2, &err) < 0);
    CU_ASSERT_PTR_NULL(h2);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, addr));
    td_http_stop(h);
    CU_ASSERT_EQUAL(get(port, "GET", "/health", body, sizeof(body)), -1);

    /* off, and bad addresses */
    cfg.listen = "";
    CU_ASSERT(td_http_start(&cfg, m, &h2, &err) == 0 && h2 == NULL);
    cfg.listen = "localhost:9464";
    CU_ASSERT(td_http_start(&cfg, m, &h2, &err) == -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "must be an IP address"));
    cfg.listen = "127.0.0.1:99999";
    CU_ASSERT(td_http_start(&cfg, m, &h2, &err) == -EINVAL);
    cfg.listen = "127.0.0.1";
    CU_ASSERT(td_http_start(&cfg, m, &h2, &err) == -EINVAL);
    td_metrics_free(m);
}

static void add_suites(void)
{
    td_test_suite("metrics", NULL, NULL);
    TD_TEST(test_text);
    TD_TEST(test_personal_data_refused);
    TD_TEST(test_threads);
    TD_TEST(test_promtool);
    td_test_suite("http", NULL, NULL);
    TD_TEST(test_http);
}

TD_TEST_MAIN(add_suites)
