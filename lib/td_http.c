/* td_http: see td_http.h. */
#include "td_http.h"

#include "td_log.h"
#include "td_time.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

const td_cfg_entry td_http_config_table[] = {
    TD_CFG_STRING("listen", td_http_config, listen, "",
                  "ADDRESS:PORT of /metrics, /health and /ready (\"\": no endpoint; e.g. "
                  "127.0.0.1:9464)"),
    TD_CFG_DURATION("stall_after", td_http_config, stall_after_ms, "60s", 1000, 3600000,
                    "/health answers 503 when the main loop has not turned for this long"),
    TD_CFG_END,
};

struct td_http {
    struct MHD_Daemon *d;
    td_metrics *m;
    int64_t stall_after_ms;
    _Atomic int64_t beat_ms;
    _Atomic bool ready;
    pthread_mutex_t mu;
    char why[256];
    int port;
};

static enum MHD_Result td_http_reply(struct MHD_Connection *c, unsigned int status,
                                     const char *type, char *body, size_t len)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    enum MHD_Result ret;
    if (!r) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result td_http_text(struct MHD_Connection *c, unsigned int status,
                                    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static enum MHD_Result td_http_text(struct MHD_Connection *c, unsigned int status,
                                    const char *fmt, ...)
{
    char *body = NULL;
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vasprintf(&body, fmt, ap);
    va_end(ap);
    if (n < 0)
        return MHD_NO;
    return td_http_reply(c, status, "text/plain; charset=utf-8", body, (size_t)n);
}

static enum MHD_Result td_http_handle(void *cls, struct MHD_Connection *c, const char *url,
                                      const char *method, const char *version,
                                      const char *upload, size_t *upload_size, void **state)
{
    td_http *h = cls;
    (void)version;
    (void)upload;
    (void)upload_size;
    (void)state;
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return td_http_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "GET or HEAD only\n");
    if (strcmp(url, "/metrics") == 0) {
        char *text = NULL;
        size_t len = 0;
        if (!h->m || td_metrics_render(h->m, &text, &len) < 0)
            return td_http_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
        return td_http_reply(c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", text,
                             len);
    }
    if (strcmp(url, "/health") == 0) {
        int64_t idle = td_time_mono_ms() - atomic_load(&h->beat_ms);
        if (idle > h->stall_after_ms)
            return td_http_text(c, MHD_HTTP_SERVICE_UNAVAILABLE,
                                "stalled: the main loop has not turned for %lld ms\n",
                                (long long)idle);
        return td_http_text(c, MHD_HTTP_OK, "ok\n");
    }
    if (strcmp(url, "/ready") == 0) {
        char why[256];
        if (atomic_load(&h->ready))
            return td_http_text(c, MHD_HTTP_OK, "ready\n");
        pthread_mutex_lock(&h->mu);
        snprintf(why, sizeof(why), "%s", h->why[0] ? h->why : "starting");
        pthread_mutex_unlock(&h->mu);
        return td_http_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "not ready: %s\n", why);
    }
    return td_http_text(c, MHD_HTTP_NOT_FOUND, "no such page: /metrics, /health, /ready\n");
}

static void td_http_log(void *cls, const char *fmt, va_list ap)
{
    char line[512];
    (void)cls;
    vsnprintf(line, sizeof(line), fmt, ap);
    line[strcspn(line, "\n")] = 0;
    td_log_warning("http: %s", line);
}

int td_http_start(const td_http_config *cfg, td_metrics *m, td_http **ret, td_error *err)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    char host[256];
    const char *colon;
    long port;
    char *end;
    td_http *h;

    *ret = NULL;
    if (!cfg || !cfg->listen || !*cfg->listen)
        return 0;
    colon = strrchr(cfg->listen, ':');
    if (!colon || (size_t)(colon - cfg->listen) >= sizeof(host))
        return td_error_set(err, -EINVAL, "http.listen %s: expected ADDRESS:PORT",
                            cfg->listen);
    port = strtol(colon + 1, &end, 10);
    if (!colon[1] || *end || port < 0 || port > 65535)
        return td_error_set(err, -EINVAL, "http.listen %s: the port must be 0 to 65535",
                            cfg->listen);
    memcpy(host, cfg->listen, (size_t)(colon - cfg->listen));
    host[colon - cfg->listen] = 0;
    if (host[0] == '[' && host[strlen(host) - 1] == ']') {
        memmove(host, host + 1, strlen(host));
        host[strlen(host) - 1] = 0;
    }
    memset(&ss, 0, sizeof(ss));
    if (inet_pton(AF_INET, host, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
        ((struct sockaddr_in *)&ss)->sin_family = AF_INET;
        ((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
        sl = sizeof(struct sockaddr_in);
    } else if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
        ((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
        ((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)port);
        sl = sizeof(struct sockaddr_in6);
    } else {
        return td_error_set(err, -EINVAL, "http.listen %s: the address must be an IP address "
                            "(127.0.0.1, 0.0.0.0, ::1)", cfg->listen);
    }
    (void)sl;
    h = calloc(1, sizeof(*h));
    if (!h)
        return td_error_set(err, -ENOMEM, "out of memory");
    h->m = m;
    h->stall_after_ms = cfg->stall_after_ms > 0 ? cfg->stall_after_ms : 60000;
    atomic_store(&h->beat_ms, td_time_mono_ms());
    pthread_mutex_init(&h->mu, NULL);
    h->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG |
                                (ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0),
                            (uint16_t)port, NULL, NULL, td_http_handle, h,
                            MHD_OPTION_EXTERNAL_LOGGER, td_http_log, NULL,
                            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned int)16,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)10, MHD_OPTION_END);
    if (!h->d) {
        int e = errno ? errno : EADDRINUSE;
        pthread_mutex_destroy(&h->mu);
        free(h);
        return td_error_set(err, -e, "http.listen %s: cannot listen: %s", cfg->listen,
                            strerror(e));
    }
    {
        const union MHD_DaemonInfo *di = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
        h->port = di ? di->port : (int)port;
    }
    td_log_info("http: listening on %s%s%s:%d (/metrics, /health, /ready)",
                ss.ss_family == AF_INET6 ? "[" : "", host, ss.ss_family == AF_INET6 ? "]" : "",
                h->port);
    *ret = h;
    return 0;
}

void td_http_stop(td_http *h)
{
    if (!h)
        return;
    MHD_stop_daemon(h->d);
    pthread_mutex_destroy(&h->mu);
    free(h);
}

void td_http_beat(td_http *h)
{
    if (h)
        atomic_store(&h->beat_ms, td_time_mono_ms());
}

void td_http_set_ready(td_http *h, bool ready, const char *why)
{
    if (!h)
        return;
    pthread_mutex_lock(&h->mu);
    snprintf(h->why, sizeof(h->why), "%s", why ? why : "");
    pthread_mutex_unlock(&h->mu);
    atomic_store(&h->ready, ready);
}

int td_http_port(const td_http *h)
{
    return h ? h->port : 0;
}
