/* tdm_engine: tuodi-matchd's consume-transform-produce loop
 * (docs/matchd-design.md).
 *
 * One consumer in the group reads the roster, the department topics, the
 * verification outcomes and the daemon's own clock topic (read_committed).
 * Records are buffered per partition and processed in one merged order, the
 * smallest (Kafka timestamp, input, partition) first, once every partition
 * has a record buffered or is at its end: the order depends on the data, not
 * on fetch timing, so a restart re-processes the same records in the same
 * order (clock.max_idle bounds the wait for a partition that never fetches).
 *
 * A roster record updates the index (person -> household, household ->
 * record) and evaluates the household rules (income below the line); a
 * department record is joined to the index and evaluated; an outcome closes
 * its alert; a clock tick moves the stream clock. The stream clock is the
 * largest timestamp processed (or a tick's value); when it enters a new CST
 * day the due index yields the overdue warnings; states expire to it. The
 * daemon writes a tick with the wall-clock time when no input moved the
 * clock for clock.tick_interval; it is read back as an input, so wall-clock
 * time enters the decisions only through the log.
 *
 * A batch (transaction.max_records or max_interval) holds one LMDB write
 * transaction: the index, the alert index (alert id -> state key) and the due
 * index are written into it as records are processed, the changed states
 * (hashed by key) and the processed offsets at the end. Alerts and the
 * processed offsets commit in one Kafka transaction; the LMDB transaction
 * commits AFTER it. Each partition's offset in that commit carries the
 * batch manifest as its metadata (tdm_manifest.h: where its records fell in
 * the batch's processing order); a batch ends early when one would pass
 * TDM_MANIFEST_SOFT_MAX. A crash between the two commits leaves LMDB
 * behind: on assignment a partition whose LMDB offset is behind the group's
 * committed offset is re-read up to it in restore mode (states updated,
 * nothing produced), the partitions that are not behind waiting, and LMDB
 * alone is committed when every partition has caught up. When the
 * manifests start at LMDB's offsets, the records are replayed in the
 * manifests' order (the one that produced the committed alerts, whatever
 * live arrival did to it); otherwise (a rebuild, another store) merged,
 * with a notice.
 *
 * Limits (docs/matchd-design.md): one instance per group (the roster must be
 * whole on the instance); the merged order equals the first run's only when
 * the records were there to fetch (a partition at its end that later
 * receives records with older timestamps is ordered by arrival); the alert
 * index is never pruned. */
#ifndef TDM_ENGINE_H
#define TDM_ENGINE_H

#include "td_error.h"
#include "td_http.h"
#include "tdm_config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef struct tdm_engine tdm_engine;

/* For --check-config: checks what tdm_engine_new() and the start would use,
 * as the calling user, and creates, changes and connects to nothing: the
 * rules file (readable, valid; *ret_nrules, if not NULL, gets the number of
 * rules), schemas_dir (readable, with the schemas the inputs, the roster and
 * the alerts need), state_dir (a directory this user may write, or missing
 * and creatable; data.mdb and lock.mdb there readable and writable), the
 * Kafka producer and consumer settings and the files they name. With
 * connect (--connect) it also asks the brokers for their metadata
 * (td_kafka_probe(), up to 10 s) and checks that the input topics exist
 * (roster, the three departments'; the daemon creates the others and
 * reads the counties' verification topics that exist). Every problem is written to out as a line of its own (there may
 * be more than a td_error holds), with FILE:LINE:COL of the key where
 * config_path sets it (NULL: none). Returns 0 or the negative code of the
 * first problem (-EINVAL without cfg or out). */
int tdm_engine_check(const tdm_config *cfg, const char *config_path, bool connect,
                     size_t *ret_nrules, FILE *out);

/* Opens the state store, the schemas and the rules (no Kafka yet). Borrows
 * cfg (it outlives the engine). */
int tdm_engine_new(const tdm_config *cfg, tdm_engine **ret, td_error *err);
/* The http: endpoint (http NULL: off): before tdm_engine_run, makes the
 * metrics of docs/monitoring.md in reg (borrowed; NULL: none), counts the
 * open alerts of the state once, and from then on beats /health every turn
 * of the loop and says /ready: false with the reason (starting, roster
 * loading or restoring with the share done, all brokers down: librdkafka's
 * ALL_BROKERS_DOWN until a metadata request answers again), true once the
 * roster caught up. Both outlive the engine's run. */
int tdm_engine_serve(tdm_engine *e, td_http *http, td_metrics *reg, const char *version,
                     td_error *err);
/* Runs until SIGTERM/SIGINT or a fatal error (< 0). A stop ends start-up at
 * once, or commits the open batch if Kafka answers before the stop deadline
 * (td_signal_stop_deadline_ms; else the batch is read again at the next
 * start), and returns 0.
 * SIGHUP reloads the rules file and the holiday file (calendar:), keeping
 * the old one of each when the new one is bad. */
int tdm_engine_run(tdm_engine *e, td_error *err);
/* Accepts NULL; returns NULL. */
tdm_engine *tdm_engine_free(tdm_engine *e);

/* Fault injection, in test builds only (meson -Dfault_injection=true; off by
 * default and in the Debian package): with TDM_FAULT_ENV set to "reordered"
 * in its environment, the daemon exits with status TDM_FAULT_EXIT right
 * after the Kafka commit of a batch whose processing order was not the
 * merge's (live arrival reordered it) and before that batch's LMDB commit,
 * the crash a restore by batch manifest repairs; set to a probability P in
 * (0, 1], after each Kafka commit with probability P. A warning at start
 * says it is on; another names the batch before the exit. Without the
 * option the variable is ignored. True when this library was built with
 * it (the daemon links the same). */
#define TDM_FAULT_ENV "TDM_FAULT_AFTER_KAFKA_COMMIT"
#define TDM_FAULT_EXIT 86
bool tdm_engine_fault_injection(void);

#endif
