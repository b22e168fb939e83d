/* tds_it: what the Huainan sample's integration tests share (itest_sample,
 * itest_sample_order): a failure count with CHECK and FATAL, string lists
 * compared as multisets, the variables of deploy/data/demo-config/, Kafka
 * consumers that read a run's topics to their end, whether matchd's group has
 * committed every input, and Avro field accessors.
 *
 * Single-threaded test code. Every function that cannot go on (out of
 * memory, a broker that does not answer metadata) exits the test with a
 * FATAL line; a CHECK counts a failure in tds_it_failures and goes on. */
#ifndef TDS_IT_H
#define TDS_IT_H

#include <avro.h>
#include <librdkafka/rdkafka.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

extern int tds_it_failures;

#define CHECK(c)                                                                        \
    do {                                                                                \
        if (!(c)) {                                                                     \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #c);       \
            tds_it_failures++;                                                          \
        }                                                                               \
    } while (0)
#define FATAL(c)                                                                        \
    do {                                                                                \
        if (!(c)) {                                                                     \
            fprintf(stderr, "%s:%d: FATAL: %s\n", __FILE__, __LINE__, #c);              \
            exit(1);                                                                    \
        }                                                                               \
    } while (0)

/* KAFKA_BOOTSTRAP, TD_SOURCE_ROOT (default "."), TD_BUILD_ROOT (default
 * "build"), as tds_it_init() read them. */
extern const char *tds_it_bootstrap;
extern char tds_it_src_root[4000], tds_it_build_root[4000];

/* Reads the environment above. Returns false (and says why) without
 * KAFKA_BOOTSTRAP. */
bool tds_it_init(void);

/* Sets the variables of deploy/data/demo-config/README.md for one run:
 * the sample directory data, the topic prefix, matchd's state directory, the
 * schemas and rules of the source tree, every /metrics endpoint on a free
 * port. A process spawned afterwards reads them. */
void tds_it_set_env(const char *data, const char *prefix, const char *state_dir);

/* ---- string lists ---- */

typedef struct tds_it_list {
    char **v;
    size_t n, cap;
} tds_it_list;

/* Appends a copy of s. */
void tds_it_list_add(tds_it_list *l, const char *s);
void tds_it_list_sort(tds_it_list *l);
/* Frees the strings and the array; l is empty afterwards. */
void tds_it_list_free(tds_it_list *l);
/* Compares want and got as multisets (sorts both); prints to stderr what is
 * missing and extra, and the counts. */
bool tds_it_same(const char *what, tds_it_list *want, tds_it_list *got);

/* The lines of a CSV file after its header, cut after the first keep fields
 * into out; what follows the cut (without its comma) into rest (may be
 * NULL). */
void tds_it_read_expected(const char *path, int keep, tds_it_list *out, tds_it_list *rest);

/* Waits until path exists; false after timeout_ms. */
bool tds_it_wait_file(const char *path, int timeout_ms);

/* ---- Kafka ---- */

/* A consumer of group (eof: enable.partition.eof); td_kafka_destroy() it. */
rd_kafka_t *tds_it_consumer(const char *group, bool eof);
/* The partitions of topic (0 when it does not exist). */
int tds_it_partitions(rd_kafka_t *rk, const char *topic);
/* True when the group of rk has committed every partition of the three
 * department topics under prefix to its end (the last message of a
 * transactional topic is the commit marker). */
bool tds_it_matchd_caught_up(rd_kafka_t *rk, const char *prefix);
/* Appends every topic whose name starts with start (e.g. "<prefix>.alerts.")
 * to out. group names the metadata consumer. */
void tds_it_topics_starting(const char *group, const char *start, tds_it_list *out);

/* Reads topics from the start to their end (read_committed, a group of its
 * own under prefix); each message goes to fn. A CHECK fails when a partition
 * was not read to its end within 60 s. */
typedef void (*tds_it_msg_fn)(const char *topic, rd_kafka_message_t *m, void *opaque);
void tds_it_read_all(const char *prefix, const tds_it_list *topics, tds_it_msg_fn fn,
                     void *opaque);

/* The last header name of m into buf (NUL-terminated); NULL when absent. */
const char *tds_it_header(rd_kafka_message_t *m, const char *name, char *buf, size_t size);

/* ---- Avro fields ---- */

/* An optional string field ("" for null or missing); borrowed from rec. */
const char *tds_it_opt_str(avro_value_t *rec, const char *name);
/* An enum field's symbol ("" when missing). */
const char *tds_it_enum_sym(avro_value_t *rec, const char *name);

#endif
