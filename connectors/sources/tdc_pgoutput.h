/* tdc_pgoutput: a bounds-checked parser of PostgreSQL's streaming
 * replication messages (the CopyData payloads of START_REPLICATION) and of
 * pgoutput's logical replication messages, protocol version 1
 * (https://www.postgresql.org/docs/15/protocol-replication.html and
 * protocol-logicalrep-message-formats.html).
 *
 * Input comes from the network: every length, count and string is checked
 * against the message's end before it is used, a string must end (NUL)
 * inside the message, counts are bounded (columns: TDC_PGO_MAX_COLUMNS,
 * truncated relations: TDC_PGO_MAX_TRUNCATE), and a message with bytes left
 * over is refused. A refusal returns -EPROTO with why (a sentence naming the
 * message kind and the byte offset) and never reads outside [buf, buf+len).
 *
 * Results point into the caller's buffer (strings, column values) or into
 * the parser's arrays (columns, values, relation ids): valid until the
 * buffer is freed or the parser parses again. Column values are not
 * NUL-terminated (len bytes at data).
 *
 * Threads: a parser is used by one thread at a time.
 */
#ifndef TDC_PGOUTPUT_H
#define TDC_PGOUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* PostgreSQL's MaxTupleAttributeNumber. */
#define TDC_PGO_MAX_COLUMNS 1664
/* Relations one TRUNCATE may name (more than any real statement). */
#define TDC_PGO_MAX_TRUNCATE 65536

/* ---- the CopyData envelope (walsender -> client) ------------------------- */

typedef enum tdc_pgo_copy_kind {
    TDC_PGO_XLOGDATA = 'w',  /* a logical message */
    TDC_PGO_KEEPALIVE = 'k', /* primary keepalive */
} tdc_pgo_copy_kind;

typedef struct tdc_pgo_copy {
    tdc_pgo_copy_kind kind;
    uint64_t wal_start;      /* 'w': where the data starts */
    uint64_t wal_end;        /* the server's current end of WAL ('w', 'k') */
    int64_t send_time;       /* µs since 2000-01-01 */
    bool reply_requested;    /* 'k': answer at once or be timed out */
    const char *data;        /* 'w': the logical message */
    size_t len;
} tdc_pgo_copy;

/* Parses one CopyData payload. 0, or -EPROTO (why in why[whysize]). */
int tdc_pgo_parse_copy(const char *buf, size_t len, tdc_pgo_copy *ret, char *why,
                       size_t whysize);

/* Writes a standby status update ('r', 34 bytes) into out. */
#define TDC_PGO_STATUS_LEN 34
void tdc_pgo_status_update(uint8_t out[TDC_PGO_STATUS_LEN], uint64_t written,
                           uint64_t flushed, uint64_t applied, int64_t now_pg_us,
                           bool reply_requested);

/* Microseconds since 2000-01-01 (PostgreSQL's epoch) from Unix µs. */
int64_t tdc_pgo_time_from_unix_us(int64_t unix_us);

/* ---- pgoutput's logical messages ------------------------------------------ */

typedef enum tdc_pgo_kind {
    TDC_PGO_BEGIN = 'B',
    TDC_PGO_COMMIT = 'C',
    TDC_PGO_ORIGIN = 'O',
    TDC_PGO_RELATION = 'R',
    TDC_PGO_TYPE = 'Y',
    TDC_PGO_INSERT = 'I',
    TDC_PGO_UPDATE = 'U',
    TDC_PGO_DELETE = 'D',
    TDC_PGO_TRUNCATE = 'T',
} tdc_pgo_kind;

/* One column value of a tuple: kind 'n' (SQL NULL), 'u' (an unchanged
 * TOASTed value PostgreSQL did not send), 't' (text) or 'b' (binary). */
typedef struct tdc_pgo_value {
    char kind;
    const char *data; /* 't', 'b': len bytes; else NULL */
    uint32_t len;
} tdc_pgo_value;

typedef struct tdc_pgo_tuple {
    size_t ncols;
    const tdc_pgo_value *cols;
} tdc_pgo_tuple;

typedef struct tdc_pgo_relcol {
    bool key;          /* part of the replica identity */
    const char *name;
    uint32_t type_oid;
    int32_t typmod;
} tdc_pgo_relcol;

typedef struct tdc_pgo_msg {
    tdc_pgo_kind kind;
    /* BEGIN: final_lsn (the commit's LSN), commit_time, xid.
     * COMMIT: flags, commit_lsn, end_lsn, commit_time.
     * ORIGIN: origin_lsn, name. */
    uint64_t final_lsn, commit_lsn, end_lsn, origin_lsn;
    int64_t commit_time;
    uint32_t xid;
    uint8_t flags;
    /* RELATION, INSERT, UPDATE, DELETE: the relation's oid.
     * TYPE: the type's oid in type_oid. */
    uint32_t relid, type_oid;
    /* RELATION: nspname, name, replica identity ('d', 'n', 'f', 'i'), the
     * columns. TYPE: nspname, name. ORIGIN: name. */
    const char *nspname, *name;
    char replident;
    size_t ncolumns;
    const tdc_pgo_relcol *columns;
    /* UPDATE, DELETE: old_kind 0 (none sent: UPDATE only), 'K' (the key
     * columns, others 'n') or 'O' (the whole old row), and old.
     * INSERT, UPDATE: new. */
    char old_kind;
    tdc_pgo_tuple old_tuple, new_tuple;
    /* TRUNCATE: options (1 CASCADE, 2 RESTART IDENTITY) and the relations. */
    uint8_t truncate_options;
    size_t nrelids;
    const uint32_t *relids;
} tdc_pgo_msg;

typedef struct tdc_pgo_parser tdc_pgo_parser;

/* 0 and *ret, or -ENOMEM. */
int tdc_pgo_parser_new(tdc_pgo_parser **ret);
/* Accepts NULL; returns NULL. */
tdc_pgo_parser *tdc_pgo_parser_free(tdc_pgo_parser *p);

/* Parses one logical message (tdc_pgo_copy.data of an XLogData). 0 and
 * *ret; -EPROTO (a malformed or unknown message; why says which and where)
 * or -ENOMEM. */
int tdc_pgo_parse(tdc_pgo_parser *p, const char *buf, size_t len, tdc_pgo_msg *ret,
                  char *why, size_t whysize);

/* "16/B374D848" (PostgreSQL's LSN text) into buf (at least 20 bytes). */
const char *tdc_pgo_lsn_text(uint64_t lsn, char *buf, size_t size);

/* Parses PostgreSQL's LSN text ("16/B374D848"). 0 or -EINVAL. */
int tdc_pgo_lsn_parse(const char *s, uint64_t *ret);

#endif
