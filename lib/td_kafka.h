/* td_kafka: the project's thin layer over librdkafka (2.0.2 and later).
 *
 * What it adds to librdkafka, and nothing more:
 *  - td_kafka_props: the user's `kafka:` settings as key/value/origin, and
 *    td_kafka_conf_apply() that sets them and names the origin on rejection;
 *  - client configurations with the project's defaults (which the user's
 *    props may override) and its invariants (which they may not): exactly-once
 *    producers and read_committed consumers;
 *  - librdkafka's logs and errors routed into td_log (component "rdkafka");
 *  - topic creation that waits until the topics are usable, and admin
 *    requests that do not wait for a controller that may be down;
 *  - transactional calls with librdkafka's retriable / abortable / fatal
 *    error classes turned into return codes;
 *  - no call that holds up a stop request (td_signal.h): blocking calls are
 *    made in slices of at most a second or two; what only waits for Kafka
 *    ends at a stop request with -EINTR (RD_KAFKA_RESP_ERR__INTR), what
 *    finishes work (commit, abort, send offsets, producing into a full
 *    queue) goes on until the stop deadline at the latest (td_kafka.c,
 *    "Stops").
 *
 * Conventions (td_error.h): functions return 0 or a negative errno and write
 * out-parameters only on success; the human text goes into td_error. Nothing
 * here logs except the librdkafka callbacks installed on a conf. Ownership is
 * stated per function; librdkafka objects are freed only with librdkafka's
 * own destructors.
 *
 * Threads: the props functions and the conf builders touch only their
 * arguments. The transactional helpers must be called from the one thread
 * that drives the producer (librdkafka's transactional API is not meant for
 * concurrent callers).
 */
#ifndef TD_KAFKA_H
#define TD_KAFKA_H

#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stddef.h>

#include "td_error.h"

/* ---- user properties ---------------------------------------------------- */

/* One librdkafka property as the user wrote it. All strings are owned by the
 * td_kafka_props that holds the prop. */
typedef struct td_kafka_prop {
    char *key;
    char *value;
    char *origin; /* "file:line:col" or NULL */
} td_kafka_prop;

/* An ordered set of props, unique by key. Zero-initialise before first use
 * ({0} is the empty set). */
typedef struct td_kafka_props {
    td_kafka_prop *v;
    size_t n;
} td_kafka_props;

/* Frees the contents and leaves p empty; NULL is fine. */
void td_kafka_props_clear(td_kafka_props *p);

/* Copies key, value and origin (origin may be NULL) into p. A later add of a
 * key replaces the earlier one and moves it to the end, so that the order of
 * application is the order in which the user last wrote each key (this
 * matters for librdkafka's aliases, e.g. linger.ms / queue.buffering.max.ms).
 * Returns 0, -ENOMEM (p unchanged) or -EINVAL (p, key or value NULL). */
int td_kafka_props_add(td_kafka_props *p, const char *key, const char *value,
                       const char *origin);

/* The prop with exactly this key, or NULL. The pointer is valid until p is
 * next changed. */
const td_kafka_prop *td_kafka_props_find(const td_kafka_props *p, const char *key);
/* The first key whose value differs between a and b (or that only one
 * has), or NULL when they hold the same settings (order aside). For a
 * reload to say which setting waits for a restart; never show the value. */
const char *td_kafka_props_changed(const td_kafka_props *a, const td_kafka_props *b);

/* True for keys whose values must never be echoed: those containing
 * "password", "secret" or "key" (ssl.key.password, sasl.password,
 * sasl.oauthbearer.client.secret, ssl.keystore.*, ...) and
 * sasl.oauthbearer.config. Case-insensitive. */
bool td_kafka_key_is_secret(const char *key);

/* Applies every prop to conf with rd_kafka_conf_set, in order. On the first
 * rejection returns -EINVAL with err = "<origin>: kafka.<key>: <librdkafka's
 * own message>" (origin omitted if NULL); props before it stay applied. Values
 * of secret keys (td_kafka_key_is_secret) are never echoed: if librdkafka's
 * message quotes the value, it appears as "***". p may be NULL (nothing to
 * apply). conf stays owned by the caller. */
int td_kafka_conf_apply(rd_kafka_conf_t *conf, const td_kafka_props *p, td_error *err);

/* For --check-config: that the files the props name (ssl.ca.location, a
 * file or a directory; ssl.certificate.location, ssl.key.location,
 * ssl.keystore.location, ssl.crl.location, sasl.kerberos.keytab) are
 * readable by this user (td_path.h). section is where the props are in the
 * config file ("kafka"; NULL: "kafka"), config_path the file, for
 * FILE:LINE:COL (NULL: none). Every problem is written to out as a line of
 * its own (td_path_report(); out NULL: nowhere); returns 0 or the code of
 * the first. Connects to nothing. */
int td_kafka_props_check_files(const td_kafka_props *p, const char *config_path,
                               const char *section, FILE *out);

/* For --check-config --connect: connects with props (an idempotent, not
 * transactional producer that sends nothing and creates no topic), waits up
 * to timeout_ms for the cluster's metadata and, when ret_exists is not NULL,
 * sets ret_exists[i] to whether topics[i] exists. librdkafka's logs are not
 * shown; its last error goes into the message. Returns 0; -ECONNREFUSED or
 * -ETIMEDOUT (no broker answered: err names bootstrap.servers and why),
 * -EACCES at once when the brokers refuse the login or the certificate
 * (td_kafka_refused), -EINVAL (props refused) or -ENOMEM. */
int td_kafka_probe(const td_kafka_props *props, const char *const *topics, size_t n,
                   int timeout_ms, bool *ret_exists, td_error *err);

/* The most topics td_kafka_check_topics takes. */
#define TD_KAFKA_CHECK_TOPICS_MAX 16
/* For --check-config --connect: td_kafka_probe, then, for each of topics
 * that does not exist, one problem at keys[i] of config_path
 * ("topic T does not exist (hint)") in err. Returns 0, the first problem's
 * code, or a problem at kafka.bootstrap.servers when no broker answered. */
int td_kafka_check_topics(const td_kafka_props *props, const char *config_path,
                          const char *const *topics, const char *const *keys, size_t n,
                          int timeout_ms, const char *hint, td_error *err);

/* ---- refusals ------------------------------------------------------------ */

/* Errors that mean the brokers refused who this client is or what it asked:
 * authentication (RD_KAFKA_RESP_ERR__AUTHENTICATION, a wrong SASL user or
 * password) and the *_AUTHORIZATION_FAILED codes (no ACL for a topic, a
 * group, a transactional id, the cluster). Trying again does not help: a
 * person must change the credentials or the ACLs. librdkafka itself retries
 * a failed authentication for ever. */
bool td_kafka_err_is_refusal(rd_kafka_resp_err_t code);

/* Sets err (NULL: nowhere) to the one-line explanation of a refusal and
 * returns -EACCES. It names the principal (rk's sasl.username), and for an
 * authorisation failure the operation ("Write", "Read", ...; NULL: none)
 * and the resource ("topic tuodi.records.medical"; NULL: none), with
 * librdkafka's detail (NULL: none; secrets are never in it). code is
 * RD_KAFKA_RESP_ERR__AUTHENTICATION, RD_KAFKA_RESP_ERR__SSL (the brokers'
 * certificate did not verify) or an authorisation code. The first refusal
 * of the process is also remembered for td_kafka_refused(). Any thread. */
int td_kafka_refusal_error(const rd_kafka_t *rk, rd_kafka_resp_err_t code, const char *operation,
                           const char *resource, const char *detail, td_error *err);

/* -EACCES with the explanation in err (NULL: nowhere) if any client of this
 * process was refused, 0 if not. Clients whose conf went through
 * td_kafka_conf_set_logging (all of td_kafka's builders) note a failed
 * authentication or an untrusted broker certificate as soon as librdkafka
 * logs it, from its own thread, and authorisation errors when their error
 * callback is served. td_kafka_topics_ensure and the transactional helpers
 * return this instead of retrying; long waits elsewhere should check it.
 * Any thread. */
int td_kafka_refused(td_error *err);

/* For a log callback of one's own (instead of td_kafka's): notes a refusal
 * that librdkafka's log line (fac, buf) reports, for td_kafka_refused().
 * Any thread. */
void td_kafka_note_log(const rd_kafka_t *rk, const char *fac, const char *buf);

/* ---- client configurations ---------------------------------------------- */

/* Installs td_kafka's log callback (librdkafka's logs go to td_log with
 * component "rdkafka", prefixed with the client's name) and error callback
 * (client errors go to td_log: fatal ones as errors, the rest, which
 * librdkafka recovers from by itself, as warnings). The conf builders below
 * do this already; use it for confs built by hand. */
void td_kafka_conf_set_logging(rd_kafka_conf_t *conf);
/* What td_kafka's error callback does with an error (logs it, notes a
 * refusal): for a program that installs an error callback of its own
 * (rd_kafka_conf_set_error_cb after td_kafka's builders) and still wants
 * that. From the thread that serves rk's callbacks. */
void td_kafka_error_log(rd_kafka_t *rk, int code, const char *reason);

/* A new conf for tuodi's producers. Layers, later wins:
 *  1. defaults: bootstrap.servers = bootstrap (if not NULL), linger.ms=20,
 *     batch.size=1000000, compression.type=lz4, log.connection.close=false,
 *     reconnect.backoff.max.ms=2000 and socket.connection.setup.timeout.ms=
 *     10000 (a crashed broker's successor is found sooner: see td_kafka.c),
 *     socket.nagle.disable=true (no delayed TLS records: see td_kafka.c);
 *  2. the user's props (may override every default);
 *  3. invariants: enable.idempotence=true, acks=all, partitioner=
 *     murmur2_random (Java's default partitioner, so that keys land where
 *     Java clients and co-partitioned topics expect them) and
 *     transactional.id = transactional_id (NULL: idempotent, not
 *     transactional).
 * A user prop that would change an invariant (also through an alias such as
 * request.required.acks, or by setting transactional.id at all) is rejected:
 * -EINVAL, "<origin>: kafka.<key>: ..." in err. Other rejections as in
 * td_kafka_conf_apply. Logging is installed (td_kafka_conf_set_logging).
 * On success *ret is a new conf owned by the caller, who passes it on to
 * td_kafka_new() or frees it with rd_kafka_conf_destroy(). Returns 0, -EINVAL
 * or -ENOMEM. */
int td_kafka_producer_conf_new(const char *bootstrap, const char *transactional_id,
                               const td_kafka_props *user, rd_kafka_conf_t **ret,
                               td_error *err);

/* A new conf for tuodi's consumers, which feed transactions. Layers as above:
 *  1. defaults: bootstrap.servers = bootstrap (if not NULL),
 *     auto.offset.reset=earliest, partition.assignment.strategy=roundrobin,
 *     log.connection.close=false, reconnect.backoff.max.ms=2000,
 *     socket.connection.setup.timeout.ms=10000, socket.nagle.disable=true;
 *  2. the user's props;
 *  3. invariants: group.id = group_id (required), isolation.level=
 *     read_committed, enable.auto.commit=false (offsets are committed only
 *     inside transactions, with td_kafka_txn_send_offsets).
 * partition.assignment.strategy may be changed only among the eager
 * strategies (range, roundrobin): cooperative-sticky is rejected, because
 * librdkafka 2.0.2's incremental rebalancing has known problems with commits
 * made during a rebalance, and because with eager rebalancing a revocation
 * simply ends the open transaction (see docs in td_kafka.c).
 * Ownership and errors as td_kafka_producer_conf_new. */
int td_kafka_consumer_conf_new(const char *bootstrap, const char *group_id,
                               const td_kafka_props *user, rd_kafka_conf_t **ret,
                               td_error *err);

/* Creates a client of type from conf. Takes ownership of conf in every case
 * (unlike rd_kafka_new, which keeps it on failure): the caller must not touch
 * conf afterwards. A consumer gets its main queue redirected to the consumer
 * queue (rd_kafka_poll_set_consumer), so rd_kafka_consumer_poll() serves
 * everything. On success *ret is owned by the caller: free it with
 * td_kafka_destroy(). Returns 0 or -EINVAL (librdkafka's reason in err:
 * conflicting settings that only rd_kafka_new checks, such as an unknown
 * assignment strategy). */
int td_kafka_new(rd_kafka_type_t type, rd_kafka_conf_t *conf, rd_kafka_t **ret,
                 td_error *err);

/* Closes a consumer (leaving its group; nothing is committed, as auto commit
 * is off) and destroys any client. It does not flush a producer: commit or
 * abort its transaction, or rd_kafka_flush(), first. After a stop request
 * (td_signal) a consumer is destroyed without closing it
 * (RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE), since a close waits for the group
 * coordinator for up to session.timeout.ms while the broker is away.
 * Accepts NULL; returns NULL. */
rd_kafka_t *td_kafka_destroy(rd_kafka_t *rk);

/* ---- topics --------------------------------------------------------------- */

/* Partitions of a connector's compacted positions topic
 * (tuodi.connect.offsets.<instance>).
 * Fixed: a key's partition must never change while the topic holds records.
 * The connector creates it so and refuses another count; deploy/topics.yaml
 * agrees (tests/ctl checks). */
#define TD_KAFKA_OFFSETS_TOPIC_PARTITIONS 5

typedef struct td_kafka_topic_spec {
    const char *name;
    int partitions;           /* >= 1 */
    int replication_factor;   /* >= 1, or -1 for the broker's default */
    const td_kafka_props *config; /* topic configs (cleanup.policy=compact, ...), or NULL */
} td_kafka_topic_spec;

/* Makes sure the n topics of specs exist, through rk (any client type), and
 * waits until the metadata shows every partition of each with a leader. The
 * topics are looked up in a Metadata response first, and only the missing
 * ones are created (CreateTopics, sent to the broker that has just answered,
 * not to the controller: see td_kafka.c for why), so that starting needs no
 * controller when the topics exist. A topic that exists with a different
 * number of partitions is an error (-EEXIST), since the key to partition
 * mapping depends on it; its config is not compared. Retries what may pass
 * (no broker answers, a timeout, no leader yet) until timeout_ms has passed
 * in total. Returns 0, -EINVAL (bad spec, or the broker rejected it),
 * -EEXIST, -EACCES, -ETIMEDOUT (with the last reason), -EIO (other broker
 * errors), -EINTR (a stop was requested) or -ENOMEM, with the topic named
 * in err. */
int td_kafka_topics_ensure(rd_kafka_t *rk, const td_kafka_topic_spec *specs, size_t n,
                           int timeout_ms, td_error *err);

/* The max.message.bytes of each of the n topics: the largest record batch
 * (after compression) their brokers accept, read with DescribeConfigs (the
 * topic's own setting, else the broker's message.max.bytes). ret[i] is
 * topics[i]'s. DescribeConfigs goes to a broker that has just answered a
 * Metadata request (td_kafka_metadata), not to the cached controller, and
 * no answer or a timeout is tried again, in all for at most timeout_ms.
 * Returns 0, -ETIMEDOUT (with the last reason), -EINTR (a stop was
 * requested), -EACCES (not allowed to describe), -ENOENT (a topic does not exist), -EIO (other broker
 * errors, or the answer lacks the setting) or -ENOMEM, with the topic named
 * in err; ret is written only on success. */
int td_kafka_topics_max_message_bytes(rd_kafka_t *rk, const char *const *topics, size_t n,
                                      int timeout_ms, int64_t *ret, td_error *err);

/* Kafka's default max.message.bytes (the broker's message.max.bytes): what
 * a topic takes when nothing else is known. */
#define TD_KAFKA_BROKER_DEFAULT_MAX_MESSAGE_BYTES 1048588

/* What a record batch of up to n bytes of records can grow to on the way to
 * the broker: the batch header (61 bytes) and the worst case of lz4 on
 * incompressible data. A producer whose batches (batch.size and
 * message.max.bytes) stay below max.message.bytes minus this never has a
 * batch refused for its size. */
size_t td_kafka_batch_overhead(size_t n);

/* ---- producing ------------------------------------------------------------ */

/* The size librdkafka compares with the producer's message.max.bytes for
 * one message (its largest per-record framing, 35 bytes, plus the key, the
 * value and the headers as they are serialised; hdrs may be NULL). A message
 * at most this big is never refused with "Message size too large" by a
 * producer whose message.max.bytes is at least this. */
size_t td_kafka_message_size(size_t key_len, size_t value_len, const rd_kafka_headers_t *hdrs);

/* Produces one message to topic (partitioned by key, or by the partitioner
 * when key is NULL) with rd_kafka_produceva() and RD_KAFKA_MSG_F_COPY: key
 * and value stay the caller's. (produceva, not producev: producev's
 * RD_KAFKA_V_* macros are GNU statement expressions, which clang refuses
 * under -Wpedantic -Werror.) A full local queue is waited out, serving rk's
 * callbacks meanwhile; after a stop request only until the stop deadline
 * (then RD_KAFKA_RESP_ERR__QUEUE_FULL). hdrs: NULL, or headers that the message owns on
 * success (on failure they stay the caller's). Returns librdkafka's code:
 * RD_KAFKA_RESP_ERR_NO_ERROR, or e.g. RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE
 * (see td_kafka_message_size), RD_KAFKA_RESP_ERR__FATAL. */
rd_kafka_resp_err_t td_kafka_produce(rd_kafka_t *rk, const char *topic, const void *key,
                                     size_t key_len, const void *value, size_t value_len,
                                     rd_kafka_headers_t *hdrs);

/* rd_kafka_metadata() for every topic (which never auto-creates one), asking
 * again (at most 3 times in all) while the answer comes from a bootstrap
 * broker whose node id librdkafka does not know yet, so that
 * (*ret)->orig_broker_id names a broker that is up whenever it can. Admin
 * requests that any broker serves (CreateTopics under KRaft, DescribeConfigs
 * of topics) should go there with rd_kafka_AdminOptions_set_broker rather
 * than to librdkafka 2.0.2's cached controller, which may be a dead node.
 * A stop request ends it with RD_KAFKA_RESP_ERR__INTR.
 * On success *ret is owned by the caller (rd_kafka_metadata_destroy). */
rd_kafka_resp_err_t td_kafka_metadata(rd_kafka_t *rk, int timeout_ms,
                                      const struct rd_kafka_metadata **ret);

/* rd_kafka_metadata() for the one topic (not all of them), which never
 * auto-creates it, in slices: a stop request ends it with
 * RD_KAFKA_RESP_ERR__INTR. On success *ret is owned by the caller
 * (rd_kafka_metadata_destroy); its one topic may carry an error such as
 * RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART. */
rd_kafka_resp_err_t td_kafka_topic_metadata(rd_kafka_t *rk, const char *topic, int timeout_ms,
                                            const struct rd_kafka_metadata **ret);

/* ---- transactions --------------------------------------------------------- */

/* What the caller must do about a transactional API error. */
typedef enum td_kafka_txn_class {
    TD_KAFKA_TXN_OK = 0,     /* no error */
    TD_KAFKA_TXN_RETRIABLE,  /* call the same operation again */
    TD_KAFKA_TXN_ABORTABLE,  /* abort the transaction, rewind, start over */
    TD_KAFKA_TXN_FATAL,      /* destroy the producer (fenced, or unknown) */
} td_kafka_txn_class;

/* Classifies error (NULL: TD_KAFKA_TXN_OK). Fatal wins over abortable, which
 * wins over retriable; an error with none of librdkafka's flags is fatal, as
 * librdkafka's documentation recommends. */
td_kafka_txn_class td_kafka_txn_classify(const rd_kafka_error_t *error);

/* The transactional helpers below share their return codes:
 *   0                 done;
 *   -ECANCELED        abortable: call td_kafka_txn_abort(), rewind the
 *                     consumer to its committed offsets, and redo the work;
 *   -ENOTRECOVERABLE  fatal (e.g. fenced by a newer instance with the same
 *                     transactional.id): destroy the producer;
 *   -ETIMEDOUT        only retriable errors until timeout_ms ran out, or (commit,
 *                     abort, send offsets) until the stop deadline
 *                     (td_signal_stop_deadline_ms) if that came first. The
 *                     operation may go on in the background; calling the same
 *                     helper again resumes it (init, commit) or repeats it
 *                     (send_offsets), or the caller may abort instead;
 *   -EINTR            (init only) a stop was requested: nothing to finish.
 * Each librdkafka call gets at most the stop grace, 2 s (a call that times
 * out is resumed by calling it again, as librdkafka documents), so that a
 * stop request is seen. Retriable errors are retried after a short pause until
 * timeout_ms (> 0) has passed in total. The text in err names the operation and carries
 * librdkafka's error name and message. */

/* rd_kafka_init_transactions(): fences older instances with the same
 * transactional.id and aborts their open transaction. */
int td_kafka_txn_init(rd_kafka_t *producer, int timeout_ms, td_error *err);

/* rd_kafka_begin_transaction(). */
int td_kafka_txn_begin(rd_kafka_t *producer, td_error *err);

/* Adds consumer's current positions (next offset to read, for each assigned
 * partition it has a position for) and its group metadata to the producer's
 * open transaction (rd_kafka_send_offsets_to_transaction); they become the
 * group's committed offsets if and only if the transaction commits. A retry
 * sends the identical offsets and metadata. If ret_offsets is not NULL, on
 * success *ret_offsets is the list sent (possibly empty), owned by the
 * caller (rd_kafka_topic_partition_list_destroy). Returns also -EIO if the
 * consumer's assignment or position cannot be read. */
int td_kafka_txn_send_offsets(rd_kafka_t *producer, rd_kafka_t *consumer, int timeout_ms,
                              rd_kafka_topic_partition_list_t **ret_offsets,
                              td_error *err);

/* The same with the offsets given (next offset to read per partition), for a
 * consumer whose application buffers ahead of what it has processed (its
 * position is not the commit point). An empty list sends nothing. */
int td_kafka_txn_send_offset_list(rd_kafka_t *producer, rd_kafka_t *consumer,
                                  const rd_kafka_topic_partition_list_t *offsets,
                                  int timeout_ms, td_error *err);

/* rd_kafka_commit_transaction(): flushes the transaction's messages and
 * commits it. -ECANCELED means the caller must abort (a message failed, or
 * the coordinator rejected the commit). */
int td_kafka_txn_commit(rd_kafka_t *producer, int timeout_ms, td_error *err);

/* rd_kafka_abort_transaction(): purges unsent messages and aborts. Never
 * returns -ECANCELED: an abort that cannot complete is -ENOTRECOVERABLE. */
int td_kafka_txn_abort(rd_kafka_t *producer, int timeout_ms, td_error *err);

#endif
