/* tdc_pgconn: libpq helpers of the postgres source. The contract is in
 * tdc_pgconn.h. */
#include "tdc_pgconn.h"

#include "td_log.h"
#include "td_signal.h"
#include "td_time.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_COMPONENT "postgres"

#define TDC_PG_STR2(x) #x
#define TDC_PG_STR(x) TDC_PG_STR2(x)

/* ---- conninfo -------------------------------------------------------------- */

bool tdc_pg_conninfo_has_keys(const char *ci)
{
    return strchr(ci, '=') || strncmp(ci, "postgresql://", 13) == 0 ||
           strncmp(ci, "postgres://", 11) == 0;
}

int tdc_pg_conninfo_check(const char *ci, td_error *err)
{
    PQconninfoOption *opts;
    char *msg = NULL;

    if (!ci || !*ci)
        return td_error_set(err, -EINVAL, "postgres: conninfo is empty");
    if (!tdc_pg_conninfo_has_keys(ci))
        return 0;
    opts = PQconninfoParse(ci, &msg);
    PQfreemem(msg);
    if (!opts)
        return td_error_set(err, -EINVAL,
                            "postgres: conninfo is not a valid libpq connection string "
                            "(key=value pairs or a postgresql:// URI); its text is not shown "
                            "because it may hold a password");
    PQconninfoFree(opts);
    return 0;
}

void tdc_pg_conninfo_free(char *ci)
{
    if (ci) {
        memset(ci, 0, strlen(ci));
        free(ci);
    }
}

/* ---- the columns setting --------------------------------------------------- */

int tdc_pg_columns_check(const char *table, char *const *columns, size_t n,
                         td_error *err)
{
    for (size_t i = 0; i < n; i++) {
        if (!columns[i] || !*columns[i])
            return td_error_set(err, -EINVAL, "postgres: %s: columns[%zu] is empty", table,
                                i);
        for (size_t j = 0; j < i; j++)
            if (strcmp(columns[i], columns[j]) == 0)
                return td_error_set(err, -EINVAL,
                                    "postgres: %s: column \"%s\" is listed twice", table,
                                    columns[i]);
    }
    return 0;
}

int tdc_pg_columns_dup(char *const *columns, size_t n, char ***ret, size_t *nret)
{
    char **c;

    if (!n) {
        *ret = NULL;
        *nret = 0;
        return 0;
    }
    c = calloc(n, sizeof(*c));
    if (!c)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        c[i] = strdup(columns[i]);
        if (!c[i]) {
            tdc_pg_columns_free(c, i);
            return -ENOMEM;
        }
    }
    *ret = c;
    *nret = n;
    return 0;
}

void tdc_pg_columns_free(char **columns, size_t n)
{
    if (!columns)
        return;
    for (size_t i = 0; i < n; i++)
        free(columns[i]);
    free(columns);
}

/* ---- connecting ------------------------------------------------------------ */

bool tdc_pg_wait_socket(int fd, short events, int64_t deadline)
{
    while (!td_signal_stop_requested() && td_time_mono_ms() < deadline) {
        struct pollfd p = {.fd = fd, .events = events};
        int n = poll(&p, 1, 100);

        if (n > 0 || (n < 0 && errno != EINTR))
            return true; /* ready, or an error libpq will report */
    }
    return false;
}

PGconn *tdc_pg_connect(const char *conninfo, const char *replication, bool *cut_short)
{
    /* Before dbname: defaults the conninfo may override; after: forced (a
     * NULL value, replication for an ordinary connection, is passed over). */
    static const char *const keys[] = {
        "application_name", "connect_timeout", "keepalives", "keepalives_idle",
        "keepalives_interval", "keepalives_count", "dbname", "client_encoding",
        "replication", NULL,
    };
    const char *vals[] = {
        "tuodi-connector", TDC_PG_STR(TDC_PG_CONNECT_TIMEOUT_S), "1", "30", "10", "3",
        conninfo, "UTF8", replication, NULL,
    };
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;
    int64_t deadline = td_time_mono_ms() + TDC_PG_CONNECT_TIMEOUT_S * 1000;
    PGconn *c = PQconnectStartParams(keys, vals, /* expand_dbname= */ 1);

    *cut_short = false;
    if (!c || PQstatus(c) == CONNECTION_BAD)
        return c;
    while (st != PGRES_POLLING_OK && st != PGRES_POLLING_FAILED) {
        if (!tdc_pg_wait_socket(PQsocket(c), st == PGRES_POLLING_READING ? POLLIN : POLLOUT,
                                deadline)) {
            PQfinish(c);
            *cut_short = true;
            return NULL;
        }
        st = PQconnectPoll(c);
    }
    return c;
}

void tdc_pg_notice_to_log(void *arg, const char *message)
{
    char line[512];

    (void)arg;
    tdc_pg_one_line(line, sizeof(line), message);
    td_log_component(TD_LOG_DEBUG, LOG_COMPONENT, "server notice: %s", line);
}

/* ---- errors and outages ---------------------------------------------------- */

void tdc_pg_one_line(char *dst, size_t size, const char *msg)
{
    size_t n = 0;

    for (const char *p = msg ? msg : ""; *p && n + 1 < size; p++) {
        char c = (*p == '\n' || *p == '\t' || *p == '\r') ? ' ' : *p;
        if (c == ' ' && (n == 0 || dst[n - 1] == ' '))
            continue;
        dst[n++] = c;
    }
    while (n > 0 && dst[n - 1] == ' ')
        n--;
    dst[n] = '\0';
}

const char *tdc_pg_error_text(PGconn *conn, const PGresult *res)
{
    const char *m = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;

    if (m && *m)
        return m;
    m = res ? PQresultErrorMessage(res) : NULL;
    if (m && *m)
        return m;
    return conn ? PQerrorMessage(conn) : "no connection";
}

bool tdc_pg_transient(PGconn *conn, const PGresult *res)
{
    const char *st;

    if (!conn || PQstatus(conn) == CONNECTION_BAD)
        return true;
    st = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    if (!st)
        return true; /* no answer from the server at all */
    return strncmp(st, "08", 2) == 0 || strncmp(st, "53", 2) == 0 ||
           strncmp(st, "57", 2) == 0 || strncmp(st, "58", 2) == 0 ||
           strcmp(st, "40001") == 0 || strcmp(st, "40P01") == 0 ||
           strcmp(st, "55P03") == 0 || strcmp(st, "55006") == 0;
}

int64_t tdc_pg_backoff_next(int64_t backoff_ms, int64_t max_ms)
{
    return backoff_ms * 2 > max_ms ? max_ms : backoff_ms * 2;
}

/* ---- SQL text -------------------------------------------------------------- */

char *tdc_pg_quote_ident(PGconn *conn, const char *name)
{
    return PQescapeIdentifier(conn, name, strlen(name));
}

/* ---- the raw value of a row ------------------------------------------------ */

static int raw_reserve(tdc_pg_raw *raw, size_t more)
{
    if (raw->len + more + 1 > raw->cap) {
        size_t cap = raw->cap ? raw->cap : 1024;
        char *np;

        while (cap < raw->len + more + 1)
            cap *= 2;
        np = realloc(raw->buf, cap);
        if (!np)
            return -ENOMEM;
        raw->buf = np;
        raw->cap = cap;
    }
    return 0;
}

static int raw_add(tdc_pg_raw *raw, const char *s)
{
    size_t n = strlen(s);

    if (raw_reserve(raw, n) < 0)
        return -ENOMEM;
    memcpy(raw->buf + raw->len, s, n + 1);
    raw->len += n;
    return 0;
}

/* Appends len bytes at s as a JSON string. */
static int raw_json_string(tdc_pg_raw *raw, const char *s, size_t len)
{
    /* Worst case: every byte becomes \u00XX. */
    if (raw_reserve(raw, len * 6 + 2) < 0)
        return -ENOMEM;
    raw->buf[raw->len++] = '"';
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"': raw->buf[raw->len++] = '\\'; raw->buf[raw->len++] = '"'; break;
        case '\\': raw->buf[raw->len++] = '\\'; raw->buf[raw->len++] = '\\'; break;
        case '\n': raw->buf[raw->len++] = '\\'; raw->buf[raw->len++] = 'n'; break;
        case '\r': raw->buf[raw->len++] = '\\'; raw->buf[raw->len++] = 'r'; break;
        case '\t': raw->buf[raw->len++] = '\\'; raw->buf[raw->len++] = 't'; break;
        default:
            if (c < 0x20)
                raw->len += (size_t)snprintf(raw->buf + raw->len, 7, "\\u%04x", c);
            else
                raw->buf[raw->len++] = (char)c;
        }
    }
    raw->buf[raw->len++] = '"';
    raw->buf[raw->len] = '\0';
    return 0;
}

int tdc_pg_raw_begin(tdc_pg_raw *raw)
{
    raw->len = 0;
    return raw_add(raw, "{");
}

int tdc_pg_raw_field(tdc_pg_raw *raw, const char *name, const char *value, size_t len,
                     bool null)
{
    /* after "{" alone: the first field */
    if ((raw->len > 1 && raw_add(raw, ",") < 0) ||
        raw_json_string(raw, name, strlen(name)) < 0 || raw_add(raw, ":") < 0)
        return -ENOMEM;
    return null ? raw_add(raw, "null") : raw_json_string(raw, value, len);
}

int tdc_pg_raw_end(tdc_pg_raw *raw)
{
    return raw_add(raw, "}");
}

void tdc_pg_raw_free(tdc_pg_raw *raw)
{
    if (!raw)
        return;
    free(raw->buf);
    raw->buf = NULL;
    raw->len = raw->cap = 0;
}
