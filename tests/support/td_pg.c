#include "td_pg.h"

#include "td_test.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct td_pg {
    char *dir;
    char *script;
    char conninfo[256];
};

/* Runs dev-postgres with args (NULL-terminated, after the script); its
 * stdout (first line) goes to out when out is not NULL, its stderr to ours.
 * Returns 0 or a negative errno. */
static int run_script(const td_pg *pg, const char *const *args, char *out, size_t out_size)
{
    const char *argv[32];
    int fds[2], status;
    size_t n = 0, got = 0;
    pid_t pid;
    char buf[512];
    ssize_t r;

    argv[n++] = "bash";
    argv[n++] = pg->script;
    for (size_t i = 0; args[i] && n < 31; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    if (pipe(fds) < 0)
        return -errno;
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    if (pid < 0) {
        int e = -errno;
        close(fds[0]);
        close(fds[1]);
        return e;
    }
    if (pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        /* Nothing else of the test (its database sockets above all) must
         * leak into the server that the script starts. */
        close_range(3, ~0u, 0);
        execvp("bash", (char *const *)argv);
        _exit(127);
    }
    close(fds[1]);
    while ((r = read(fds[0], buf, sizeof(buf))) != 0) {
        if (r < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (out && got + 1 < out_size) {
            size_t take = (size_t)r < out_size - 1 - got ? (size_t)r : out_size - 1 - got;
            memcpy(out + got, buf, take);
            got += take;
        }
    }
    close(fds[0]);
    if (out) {
        out[got] = '\0';
        out[strcspn(out, "\n")] = '\0';
    }
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -errno;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "td_pg: dev-postgres %s failed (status %d)\n", args[0], status);
        return -EIO;
    }
    return 0;
}

const char *const td_pg_logical_settings[] = {
    "wal_level=logical",
    "max_wal_senders=10",
    "max_replication_slots=10",
    NULL,
};

int td_pg_new(const char *const *settings, td_pg **ret)
{
    td_pg *pg = calloc(1, sizeof(*pg));
    const char *args[32];
    char pidbuf[32];
    size_t n = 0;
    int r;

    if (!pg)
        return -ENOMEM;
    pg->dir = td_test_tmpdir();
    if (asprintf(&pg->script, "%s/deploy/postgres/dev-postgres", td_test_source_root()) < 0)
        pg->script = NULL;
    if (!pg->dir || !pg->script) {
        r = -ENOMEM;
        goto fail;
    }
    snprintf(pidbuf, sizeof(pidbuf), "%ld", (long)getpid());
    args[n++] = "start";
    args[n++] = "--dir";
    args[n++] = pg->dir;
    args[n++] = "--exit-with";
    args[n++] = pidbuf;
    for (size_t i = 0; settings && settings[i] && n < 29; i++) {
        args[n++] = "--set";
        args[n++] = settings[i];
    }
    args[n] = NULL;
    r = run_script(pg, args, pg->conninfo, sizeof(pg->conninfo));
    if (r < 0)
        goto fail;
    if (strncmp(pg->conninfo, "host=", 5) != 0) {
        fprintf(stderr, "td_pg: dev-postgres start printed '%s', not a conninfo\n",
                pg->conninfo);
        r = -EIO;
        goto fail;
    }
    *ret = pg;
    return 0;

fail:
    td_pg_free(pg);
    return r;
}

const char *td_pg_conninfo(const td_pg *pg)
{
    return pg->conninfo;
}

const char *td_pg_dir(const td_pg *pg)
{
    return pg->dir;
}

int td_pg_stop(td_pg *pg)
{
    const char *args[] = {"stop", "--dir", pg->dir, NULL};
    return run_script(pg, args, NULL, 0);
}

int td_pg_start(td_pg *pg)
{
    const char *args[] = {"start", "--dir", pg->dir, NULL};
    char ci[256];
    int r = run_script(pg, args, ci, sizeof(ci));

    if (r == 0 && strcmp(ci, pg->conninfo) != 0) {
        fprintf(stderr, "td_pg: the server came back as '%s', not '%s'\n", ci, pg->conninfo);
        return -EIO;
    }
    return r;
}

td_pg *td_pg_free(td_pg *pg)
{
    if (!pg)
        return NULL;
    if (pg->dir && pg->script) {
        const char *args[] = {"remove", "--dir", pg->dir, NULL};
        if (run_script(pg, args, NULL, 0) < 0)
            td_test_rmtree(pg->dir);
    } else if (pg->dir) {
        td_test_rmtree(pg->dir);
    }
    free(pg->dir);
    free(pg->script);
    free(pg);
    return NULL;
}

PGconn *td_pg_connect(const td_pg *pg)
{
    PGconn *c = PQconnectdb(pg->conninfo);

    if (!c || PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "td_pg: cannot connect to %s: %s", pg->conninfo,
                c ? PQerrorMessage(c) : "out of memory\n");
        PQfinish(c);
        return NULL;
    }
    /* Quiet: no NOTICE for DROP ... IF EXISTS in the test output. */
    PQclear(PQexec(c, "SET client_min_messages = warning"));
    return c;
}

int td_pg_exec(PGconn *c, const char *sql)
{
    PGresult *res = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(res);
    int r = 0;

    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        fprintf(stderr, "td_pg: SQL failed: %s    in: %s\n", PQerrorMessage(c), sql);
        r = -EIO;
    }
    PQclear(res);
    return r;
}

int td_pg_execf(PGconn *c, const char *fmt, ...)
{
    va_list ap;
    char *sql = NULL;
    int r;

    va_start(ap, fmt);
    r = vasprintf(&sql, fmt, ap);
    va_end(ap);
    if (r < 0)
        return -ENOMEM;
    r = td_pg_exec(c, sql);
    free(sql);
    return r;
}

char *td_pg_query_value(PGconn *c, const char *sql)
{
    PGresult *res = PQexec(c, sql);
    char *v = NULL;

    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        fprintf(stderr, "td_pg: query failed: %s    in: %s\n", PQerrorMessage(c), sql);
    else if (PQntuples(res) > 0 && PQnfields(res) > 0)
        v = strdup(PQgetvalue(res, 0, 0));
    PQclear(res);
    return v;
}
