/* tdc_it: what the connector's integration tests share: department files
 * with known contents, the connector as a child process, and reading a topic
 * back with a read_committed consumer. */
#ifndef TDC_IT_H
#define TDC_IT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define TDC_IT_MAX_FILES 16
#define TDC_IT_MAX_ROWS 1000000

/* Writes a medical-insurance CSV (header + nrows rows) to dir/name, then the
 * name.done marker. Row k (data rows count from 0) carries record id
 * "F<file>R<k>"; every bad_every-th row (0: none) has a wrong check
 * character. gb18030: the file in GB18030 (else UTF-8 with a BOM). Returns
 * the number of bad rows, or -1. */
int tdc_it_write_medical(const char *dir, const char *name, int file, int nrows, int bad_every,
                         bool gb18030);
/* The valid identity number of person k of file f (as the rows of
 * tdc_it_write_medical carry them). */
void tdc_it_person_id(int f, int k, char out[19]);

/* The header of the identity number column in the files written next
 * (default 身份证号). */
extern const char *tdc_it_id_column;

/* Lines added to the kafka: section of the connector configs written next
 * (each "  key: value\n"), or NULL (default): a benchmark's TLS and SASL. */
extern const char *tdc_it_kafka_lines;

/* Writes a connector config for a spool dir to path. */
int tdc_it_write_config(const char *path, const char *instance, const char *bootstrap,
                        const char *spool_dir, const char *topic_prefix, int max_records);

/* Starts build/connectors/tuodi-connector --config path, stderr to log. */
pid_t tdc_it_spawn(const char *config, const char *log);
/* Sends sig, waits; returns the exit status (as from waitpid) or -1. */
int tdc_it_stop(pid_t pid, int sig, int timeout_ms);
/* Waits until every name is in dir/finished; true if so within timeout. */
bool tdc_it_wait_finished(const char *spool, const char *const *names, size_t n, int timeout_ms);

/* What a topic holds: per (file, row) how often it appeared. */
typedef struct tdc_it_seen {
    uint8_t *count;      /* [file * TDC_IT_MAX_ROWS + row] */
    int64_t total;
    int64_t unparsed;    /* messages that named no known file/row */
    int64_t bad_headers; /* DLQ messages without the required headers */
    int64_t id_in_reason;/* DLQ reasons that contain an identity number */
    char first_reason[512]; /* the first dead letter's reason, for failures */
} tdc_it_seen;

/* Reads topic from the start to its end (read_committed). dlq: the messages
 * are dead letters (file and row from headers), else MedicalSettlement
 * records (file and row from source.record_id). 0 or -1. */
int tdc_it_read(const char *bootstrap, const char *topic, bool dlq, const char *schemas_dir,
                tdc_it_seen *seen);
/* The same for records of another schema (fullname), counted by
 * source.record_id; members_out (may be NULL) receives, per row index of
 * file 0, the size of the record's "members" array when it has one. */
int tdc_it_read_records(const char *bootstrap, const char *topic, const char *record,
                        const char *schemas_dir, tdc_it_seen *seen, int *members_out);
void tdc_it_seen_free(tdc_it_seen *seen);

/* The value of config key of topic (DescribeConfigs) into buf. 0 or -1. */
int tdc_it_topic_config(const char *bootstrap, const char *topic, const char *key, char *buf,
                        size_t size);

/* The connector binary. */
const char *tdc_it_connector_bin(void);

#endif
