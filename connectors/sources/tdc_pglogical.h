/* tdc_pglogical: a tdc_source that reads one PostgreSQL table's inserts,
 * updates and deletes from a logical replication slot (postgres.mode:
 * logical), through libpq's replication protocol and the pgoutput plugin,
 * the way Debezium reads PostgreSQL. No settle delay and no updated_at
 * column: a transaction's changes arrive when, and in the order, it
 * commits, however long it stayed open.
 *
 * Connecting (the first next(), and after every outage):
 *
 *   1. a replication connection: the conninfo plus replication=database
 *      (the role needs the REPLICATION attribute, pg_hba.conf a line that
 *      allows it, the server wal_level=logical and a free max_wal_senders
 *      and max_replication_slots entry);
 *   2. the table resolved (schema.name; a table or partitioned table, not a
 *      view), the configured columns and id_column checked against it;
 *   3. the publication (postgres.publication) must exist and publish the
 *      table: else -ENOENT with the CREATE PUBLICATION (or ALTER
 *      PUBLICATION ... ADD TABLE) to run;
 *   4. the slot (postgres.slot, default tuodi_<instance>) must be a logical
 *      pgoutput slot of this database. A missing slot is created (pgoutput)
 *      only when there is nothing to continue from: no committed position,
 *      and none created by this process. With a committed position it is an
 *      error (-ENOENT) naming the slot and what to do: re-creating it "from
 *      now" would silently lose every change made since the slot went away;
 *      so is a slot invalidated by max_slot_wal_keep_size (its WAL is gone),
 *      found at START_REPLICATION, with the server's reason;
 *   5. START_REPLICATION SLOT ... LOGICAL <position's lsn>
 *      (proto_version '1', publication_names '<publication>').
 *
 * A slot created here sees the changes committed after its creation: rows
 * already in the table are not read (copy them once with mode: snapshot or
 * timestamp under another instance, or touch them).
 *
 * Rows (tdc_row), one per insert, update or delete of the table (changes of
 * the publication's other tables are skipped): unit = "schema.name"; row =
 * line = a running count from 1; fields = the configured columns (empty
 * config: every published column in table order) as text (PostgreSQL's
 * output format; SQL NULL is the empty field); columns = their names;
 * source_record_id = the id column's text (NULL when the change does not
 * carry it: a delete whose replica identity lacks it); raw = a JSON object
 * like the polling source's ({"id":"7","name":"张三","closed_on":null}).
 * A delete: deleted = true and the old row as the replica identity sends
 * it (the key columns, every column with REPLICA IDENTITY FULL; the others
 * empty and null in raw); the dataset decides what it becomes
 * (tdc_dataset.h: today a dead letter with its reason). An update whose new
 * row lacks a column's value (an unchanged TOASTed value, kind 'u') takes
 * it from the old row when PostgreSQL sent that (REPLICA IDENTITY FULL);
 * else the row comes with reject_reason naming the column and what to do,
 * and is dead-lettered. A TRUNCATE of the table is logged as a warning
 * (component "postgres", naming the table and the LSN) and counted: it
 * names no rows, so there is nothing to dead-letter.
 *
 * Positions (kind TDC_POSITION_POSTGRES, pg_mode TDC_PG_LOGICAL, table):
 * lsn = the commit LSN (Begin's final_lsn) of the transaction of the last
 * change handed out, lsn_changes = how many changes of the table in that
 * transaction were handed out, lsn_done = the transaction's Commit was
 * seen (all of it). Transactions arrive in commit order and a commit LSN
 * names one transaction, so resume(pos) skips every transaction whose
 * commit LSN is below pos.lsn, and of the one at pos.lsn all of it
 * (lsn_done) or its first lsn_changes changes of the table; the rows after
 * the position come again in the same order. A position of another mode or
 * table is refused with a clear error (-EINVAL).
 *
 * The slot's confirmed position (standby status updates, "flush") only
 * moves in committed(): to the end of the last transaction all of whose
 * rows Kafka holds, or, while a transaction is half published, to its
 * commit LSN (it is sent again from its start, and the handed-out part
 * skipped); when every row handed out is committed, also past the
 * transactions (and keepalives) seen since that carried none of the
 * table's changes, so other tables' traffic does not pin WAL. So the slot
 * never passes what Kafka holds, and a crash anywhere neither loses nor
 * repeats. Status updates also go out every 10 s and whenever the server
 * asks, so the walsender does not time the connection out.
 *
 * next() returns TDC_NEXT_ROW or TDC_NEXT_IDLE (nothing buffered: wait on
 * wait_fd(), the replication socket, -1 while not connected). While the
 * database is unreachable, or the connection or START_REPLICATION fails for
 * a passing reason (connection lost, server shutting down, the slot in use
 * by a walsender that is going away), next() returns IDLE and reconnects
 * with backoff (100 ms doubling up to reconnect_max_backoff), logging the
 * outage once when it begins and once when it ends. A negative return is a
 * configuration or state error with the reason in err (-ENOENT: table,
 * column, publication or slot missing; -EINVAL: wrong slot, position of
 * another mode, SQL error; -EPROTO: a message the parser refuses, named by
 * its LSN); the engine logs it and retries.
 *
 * Config keys used: conninfo, table, columns, id_column, slot,
 * publication, reconnect_max_backoff (tdc_postgres.h); updated_at_column,
 * settle_delay, poll_interval, batch_size, statement_timeout and
 * late_row_check do not apply.
 *
 * Meant for PostgreSQL 10 and newer; tested only against 15.
 * Threads: one source is used from one thread at a time.
 */
#ifndef TDC_PGLOGICAL_H
#define TDC_PGLOGICAL_H

#include "tdc_postgres.h"

/* Creates a logical-replication source from cfg (copied). instance: the
 * connector's instance name, for the default slot name tuodi_<instance>
 * (lowercased, characters other than a-z, 0-9 and _ as _, cut to 63 bytes);
 * NULL: "tuodi". No I/O: the first next() connects. Returns 0 and *ret, or
 * -EINVAL (a slot name PostgreSQL would refuse, conninfo that does not
 * parse, columns repeated) / -ENOMEM. */
int tdc_pglogical_new(const struct tdc_postgres_config *cfg, const char *instance,
                      tdc_source **ret, td_error *err);

/* Counters since tdc_pglogical_new(), for logs, metrics and tests. */
typedef struct tdc_pglogical_stats {
    uint64_t rows;       /* rows returned by next() */
    uint64_t deletes;    /* of them, deletes */
    uint64_t skipped;    /* changes skipped on resume (already consumed) */
    uint64_t other;      /* changes of the publication's other tables */
    uint64_t truncates;  /* TRUNCATEs of the table */
    uint64_t outages;
    uint64_t status_updates; /* standby status updates sent */
    uint64_t flush_lsn;  /* the last flush position reported to the server */
    bool connected;      /* streaming */
    bool slot_created;   /* by this process */
} tdc_pglogical_stats;

/* Fills *ret for a source made by tdc_pglogical_new(). 0, or -EINVAL. */
int tdc_pglogical_stats_get(const tdc_source *src, tdc_pglogical_stats *ret);

/* The WAL the server keeps for the slot beyond its confirmed position, in
 * bytes (pg_current_wal_lsn() - confirmed_flush_lsn): what is still to read
 * plus what is read but not yet committed in Kafka; for the gauge
 * tuodi_connector_source_lag_bytes. Asked on a second, ordinary connection
 * (the replication one is streaming), made when first needed and only
 * while the stream is up; one short statement. 0, -EINVAL (not a logical
 * source), -EAGAIN (not streaming now) or -EIO (the query failed; text in
 * err). Called on the engine's thread between transactions. */
int tdc_pglogical_lag_bytes(tdc_source *src, int64_t *bytes, td_error *err);

/* The default slot name for instance into buf (at least 64 bytes). */
void tdc_pglogical_default_slot(const char *instance, char *buf, size_t size);

#endif
