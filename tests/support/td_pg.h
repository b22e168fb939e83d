/* td_pg: a throwaway PostgreSQL server for integration tests.
 *
 * td_pg_new() runs deploy/postgres/dev-postgres (found under
 * td_test_source_root()) to create a server in a fresh directory under
 * TMPDIR, on a free 127.0.0.1 port, with trust authentication and speed over
 * durability; as root the server runs as the `postgres` system user. It needs
 * Debian's postgresql package and nothing from the environment, so every test
 * binary gets its own server (about a second to create) and may stop and
 * restart it. The server also goes away when the test process dies without
 * cleaning up (dev-postgres --exit-with).
 *
 * Functions print what went wrong on stderr and return a negative errno;
 * tests treat that as a failure (integration tests never skip).
 */
#ifndef TD_PG_H
#define TD_PG_H

#include <libpq-fe.h>

typedef struct td_pg td_pg;

/* Creates and starts a server. settings: NULL or a NULL-terminated list of
 * "key=value" lines for postgresql.conf (value as PostgreSQL writes it, e.g.
 * "timezone='Asia/Shanghai'"). Returns 0 and *ret, or a negative errno. */
int td_pg_new(const char *const *settings, td_pg **ret);

/* settings for td_pg_new() that allow logical replication (postgres.mode:
 * logical): wal_level=logical and room for 10 walsenders and 10 slots.
 * initdb's pg_hba.conf already lets the test user make replication
 * connections from 127.0.0.1 (trust), and the user is a superuser (so it
 * has REPLICATION). */
extern const char *const td_pg_logical_settings[];

/* The libpq conninfo ("host=127.0.0.1 port=P user=tuodi dbname=postgres");
 * the same across td_pg_stop()/td_pg_start(). */
const char *td_pg_conninfo(const td_pg *pg);

/* The server's directory (its data directory is DIR/data, owned by the
 * `postgres` system user when the test runs as root). */
const char *td_pg_dir(const td_pg *pg);

/* Stops the server (fast shutdown: sessions are disconnected), keeping its
 * data and port. 0 or a negative errno. */
int td_pg_stop(td_pg *pg);

/* Starts a stopped server again, on the same port. 0 or a negative errno. */
int td_pg_start(td_pg *pg);

/* Stops the server and removes its directory. Accepts NULL; returns NULL. */
td_pg *td_pg_free(td_pg *pg);

/* A new connection to the server, or NULL (reason on stderr). */
PGconn *td_pg_connect(const td_pg *pg);

/* Runs the SQL text (several statements allowed) on c. 0, or -EIO with the
 * server's message on stderr. */
int td_pg_exec(PGconn *c, const char *sql);

/* Like td_pg_exec() on printf-formatted text (tests only: never for values
 * that come from outside the test). */
int td_pg_execf(PGconn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The first column of the first row of a query, as a malloc'd string, or
 * NULL (error on stderr, or no row). */
char *td_pg_query_value(PGconn *c, const char *sql);

#endif
