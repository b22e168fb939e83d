/* bench_metrics: what the /metrics endpoint costs a daemon, measured as CPU
 * rather than as throughput (a throughput difference of 2% is far below this
 * shared machine's noise; CPU per scrape is not).
 *
 * A registry shaped like tuodi-matchd's at a city's scale (7 counties x 12
 * rules x 3 kinds of alerts, open and overdue per county, records and dead
 * letters per input, lag for 60 partitions, a transaction histogram) is
 * served by td_http on a free port; a child process scrapes it SCRAPES
 * times; this process's CPU time (all threads: libmicrohttpd's serves the
 * scrapes) over that while is the cost. Beside it, the cost of one counter
 * update (td_metric_add) on the hot path.
 *
 *   bench_metrics [SCRAPES]
 *
 * Prints "cost of a scrape: X us CPU; at one scrape per second that is
 * X/10^4 % of one core", the figure to hold against the 2% of issue 13 (a
 * daemon at full throughput uses a core). */
#include "td_http.h"
#include "td_metrics.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

static double wall_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* One GET /metrics; the bytes of the answer, -1 on failure. */
static long scrape(int port)
{
    struct sockaddr_in sa = {0};
    static char buf[1 << 20];
    const char req[] = "GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n";
    long got = 0;
    ssize_t k;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        write(fd, req, sizeof(req) - 1) < 0) {
        close(fd);
        return -1;
    }
    while ((k = read(fd, buf, sizeof(buf))) > 0)
        got += k;
    close(fd);
    return got;
}

int main(int argc, char **argv)
{
    static const char *const counties[] = {"340402", "340403", "340404", "340405",
                                           "340406", "340421", "340422"};
    static const char *const kinds[] = {"alert", "overdue_warning", "closed"};
    static const char *const inputs[] = {"roster", "medical_insurance", "civil_affairs",
                                         "human_resources", "verifications", "clock"};
    int scrapes = argc > 1 ? atoi(argv[1]) : 2000;
    td_metrics *m = td_metrics_new("tuodi_matchd");
    td_http_config cfg = {.listen = "127.0.0.1:0", .stall_after_ms = 60000};
    td_http *h = NULL;
    td_error err = {0};
    td_metric *raised, *open, *overdue, *rec, *dlq, *lag, *txn, *hot;
    char name[64], part[16];
    double c0, c1, w0, w1, t0, t1;
    long bytes;
    pid_t pid;
    int st;

    raised = td_metrics_counter(m, "alerts_raised_total", "Alerts", "rule,county,kind");
    open = td_metrics_gauge(m, "alerts_open", "Open", "county");
    overdue = td_metrics_gauge(m, "alerts_overdue", "Overdue", "county");
    rec = td_metrics_counter(m, "records_total", "Records", "input");
    dlq = td_metrics_counter(m, "dead_letters_total", "Dead letters", "input");
    lag = td_metrics_gauge(m, "consumer_lag_records", "Lag", "topic,partition");
    txn = td_metrics_histogram(m, "transaction_duration_seconds", "Txn", NULL,
                               td_metrics_seconds_buckets, TD_METRICS_SECONDS_NB);
    for (size_t c = 0; c < 7; c++) {
        for (int r = 0; r < 12; r++)
            for (size_t k = 0; k < 3; k++) {
                snprintf(name, sizeof(name), "rule-%02d", r);
                td_metric_add(raised, 1000 + r, name, counties[c], kinds[k]);
            }
        td_metric_set(open, 120, counties[c]);
        td_metric_set(overdue, 3, counties[c]);
    }
    for (size_t i = 0; i < 6; i++) {
        td_metric_add(rec, 1e6, inputs[i]);
        td_metric_add(dlq, 17, inputs[i]);
        for (int p = 0; p < 10; p++) {
            snprintf(part, sizeof(part), "%d", p);
            td_metric_set(lag, 0, inputs[i], part);
        }
    }
    for (int i = 0; i < 1000; i++)
        td_metric_observe(txn, 0.001 * i);
    if (td_http_start(&cfg, m, &h, &err) < 0 || !h) {
        fprintf(stderr, "bench_metrics: %s\n", err.msg);
        return 1;
    }
    bytes = scrape(td_http_port(h));
    if (bytes <= 0) {
        fprintf(stderr, "bench_metrics: cannot scrape\n");
        return 1;
    }

    /* the scrapes, from another process: this one only serves */
    c0 = cpu_seconds();
    w0 = wall_seconds();
    pid = fork();
    if (pid == 0) {
        for (int i = 0; i < scrapes; i++)
            if (scrape(td_http_port(h)) <= 0)
                _exit(1);
        _exit(0);
    }
    waitpid(pid, &st, 0);
    w1 = wall_seconds();
    c1 = cpu_seconds();
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "bench_metrics: a scrape failed\n");
        return 1;
    }

    /* the hot path: one counter update */
    hot = td_metrics_counter(m, "hot_total", "Hot", "input");
    t0 = cpu_seconds();
    for (int i = 0; i < 2000000; i++)
        td_metric_add(hot, 1, "medical_insurance");
    t1 = cpu_seconds();

    {
        double per_scrape_us = (c1 - c0) / scrapes * 1e6;
        double per_add_ns = (t1 - t0) / 2000000 * 1e9;
        printf("registry: %ld bytes of text per scrape\n", bytes);
        printf("%d scrapes in %.2f s wall, %.3f s CPU of the serving process\n", scrapes,
               w1 - w0, c1 - c0);
        printf("cost of a scrape: %.1f us CPU; at one scrape per second that is %.4f%% of "
               "one core\n", per_scrape_us, per_scrape_us / 1e4);
        printf("cost of a counter update: %.0f ns CPU\n", per_add_ns);
        printf("summary metrics scrape_us=%.1f per_second_share=%.4f%% add_ns=%.0f\n",
               per_scrape_us, per_scrape_us / 1e4, per_add_ns);
    }
    td_http_stop(h);
    td_metrics_free(m);
    return 0;
}
