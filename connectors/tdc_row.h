/* tdc_row: one row read from a department's source, and where it came from.
 *
 * Sources (spooldir, postgres) produce rows; datasets map rows to Avro
 * records or reject them; the engine (tdc_connector) puts records, rejections
 * and the source position into one Kafka transaction. This header is the
 * contract between those three parts.
 */
#ifndef TDC_ROW_H
#define TDC_ROW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TDC_UNIT_MAX 256   /* a file's base name or a schema-qualified table */
#define TDC_ID_MAX 128     /* a PostgreSQL id in text form */
#define TDC_SHA256_HEX 65  /* 64 hex characters and a NUL */

/* Where a source stands: what the engine commits with each transaction (as
 * a ConnectorOffset record, schemas/connector_offset.avsc) and what a
 * restarted connector resumes from. */
typedef enum tdc_position_kind {
    TDC_POSITION_NONE = 0,
    TDC_POSITION_SPOOLDIR,
    TDC_POSITION_POSTGRES,
} tdc_position_kind;

typedef enum tdc_file_state {
    TDC_FILE_IN_PROGRESS = 1,
    TDC_FILE_FINISHED,
    TDC_FILE_ERROR,
} tdc_file_state;

/* How a postgres source reads its table (config postgres.mode). */
typedef enum tdc_pg_mode {
    TDC_PG_TIMESTAMP = 0, /* by (updated_at, id), behind settle_delay */
    TDC_PG_SNAPSHOT,      /* by finished transaction ranges (xid8) */
    TDC_PG_LOGICAL,       /* a replication slot, pgoutput */
} tdc_pg_mode;

typedef struct tdc_position {
    tdc_position_kind kind;
    /* spooldir: the file and the first byte/row not yet consumed */
    char file_name[TDC_UNIT_MAX];
    int64_t device, inode, size, mtime_ns;
    char content_sha256[TDC_SHA256_HEX]; /* "" when not computed */
    int64_t next_byte_offset;
    int64_t next_row;                    /* header is row 1 */
    tdc_file_state state;
    char error[256];                     /* reason for TDC_FILE_ERROR, masked */
    /* postgres: the (updated_at, id) of the last row consumed */
    char table[TDC_UNIT_MAX];
    int64_t last_updated_at_us;
    char last_id[TDC_ID_MAX];
    tdc_pg_mode pg_mode;
    /* postgres, TDC_PG_SNAPSHOT: the transactions [xid_from, xid_until)
     * (64-bit xid8) whose rows are being read, every one of them finished;
     * (last_updated_at_us, last_id) is how far into that range */
    int64_t xid_from, xid_until;
    /* postgres, TDC_PG_LOGICAL: the commit LSN of the transaction of the
     * last change consumed, how many of its changes were consumed, and
     * whether that was all of them */
    int64_t lsn;
    int64_t lsn_changes;
    bool lsn_done;
} tdc_position;

/* One row. Everything is borrowed from the source and valid until the
 * source's next call. Field texts are UTF-8 (converted from the file's
 * encoding), NUL-terminated, with their lengths. */
typedef struct tdc_row {
    const char *unit;          /* file base name, or table */
    int64_t row;               /* record number in the unit, header = row 1 (CSV);
                                  running count of rows read (postgres) */
    int64_t line;              /* physical line the row starts on (CSV), else = row */
    size_t nfields;
    const char *const *fields;
    const size_t *lens;
    const char *const *columns; /* column names, ncolumns of them (header / result) */
    size_t ncolumns;
    const char *raw;           /* the row as read, converted to UTF-8, without its
                                  line ending: the dead-letter value */
    size_t raw_len;
    bool raw_cut;              /* raw is only the row's beginning: the row was
                                  longer than the source's row limit */
    int64_t source_bytes;      /* the row's size in the source: CSV, its bytes in
                                  the file, line end included; postgres, raw_len.
                                  0: unknown (then raw_len stands for it) */
    const char *source_record_id; /* postgres: the id column; CSV: NULL (the
                                     dataset takes it from a mapped column) */
    const char *reject_reason; /* NULL, or why the source could not read the
                                  row (bad encoding, unclosed quote, row too
                                  long): the dataset rejects it with this
                                  reason (and the roster its household) */
    bool deleted;              /* postgres logical: the row was deleted in the
                                  source; fields hold the old row as the
                                  replica identity sends it (the key columns,
                                  or every column with REPLICA IDENTITY FULL;
                                  the others empty) */
    tdc_position after;        /* the position just after this row */
} tdc_row;

#endif
