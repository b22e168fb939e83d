/* td_http: the HTTP endpoint of a daemon (libmicrohttpd, one thread of its
 * own): GET /metrics (td_metrics in Prometheus' text format), /health (200
 * while the daemon's loop beats, 503 when it has not beaten for
 * stall_after) and /ready (200 when the daemon says it is ready, 503 with
 * the reason otherwise). HEAD as GET; other methods 405; other paths 404.
 *
 * Configured by a daemon's `http:` section (td_http_config_table): listen
 * "ADDRESS:PORT" ("" : off, the default; port 0 picks a free one, for
 * tests). The address it listens on is logged ("http: listening on ...").
 *
 * Threads: td_http_beat and td_http_set_ready from any thread (atomics and
 * a mutex for the reason); start and stop from one.
 */
#ifndef TD_HTTP_H
#define TD_HTTP_H

#include "td_config.h"
#include "td_error.h"
#include "td_metrics.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct td_http_config {
    char *listen;         /* "127.0.0.1:9464"; "" or NULL: off */
    int64_t stall_after_ms;
} td_http_config;

extern const td_cfg_entry td_http_config_table[];

typedef struct td_http td_http;

/* Starts listening (cfg->listen not empty) and serving m. *ret NULL when
 * off. -EINVAL (a bad address), -EADDRINUSE and the like with err naming
 * the address. */
int td_http_start(const td_http_config *cfg, td_metrics *m, td_http **ret, td_error *err);
/* Stops the thread and frees h (NULL: nothing). */
void td_http_stop(td_http *h);

/* The daemon's loop is alive. Cheap: call it every turn. h NULL: nothing. */
void td_http_beat(td_http *h);
/* Ready or not, with why not (copied; NULL: none). */
void td_http_set_ready(td_http *h, bool ready, const char *why);
/* The port it listens on (for tests with port 0). */
int td_http_port(const td_http *h);

#endif
