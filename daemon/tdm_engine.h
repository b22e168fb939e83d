/* tdm_engine: tuodi-matchd's consume-transform-produce loop
 * (docs/matchd-design.md).
 *
 * The roster topic is read by a plain consumer assigned to all its partitions
 * from the offsets stored in LMDB, to the end before READY=1, and then kept
 * applied as it changes. Department records and verification outcomes are
 * read by a read_committed consumer in the group; alerts and the consumer
 * offsets commit in one Kafka transaction; the changed household states, the
 * alert index (alert id -> state key) and the consumed offsets are written
 * to LMDB in one transaction AFTER the Kafka commit. On assignment, a
 * partition whose LMDB offset is behind the group's committed offset (or has
 * none while the group has one: LMDB lost) is re-read from the LMDB offset
 * (or the beginning) up to the committed offset in restore mode: states are
 * updated, nothing is produced, and no Kafka transaction commits until every
 * partition has caught up (LMDB alone is written meanwhile).
 *
 * Not done (yet): roster updates do not run tdm_eval_household (income below
 * the line), overdue warnings are not evaluated, and windows are not expired.
 * The 'alerts' database (alert id -> state key, for verification outcomes)
 * is never pruned. A person's state ("person:<key>") does not move to the
 * household when the person later joins the roster. The interleaving of
 * roster updates with department records (and of the department topics with
 * each other) is not deterministic across restarts.
 */
#ifndef TDM_ENGINE_H
#define TDM_ENGINE_H

#include "td_error.h"
#include "tdm_config.h"

typedef struct tdm_engine tdm_engine;

/* Opens the state store, the schemas and the rules (no Kafka yet). Borrows
 * cfg (it outlives the engine). */
int tdm_engine_new(const tdm_config *cfg, tdm_engine **ret, td_error *err);
/* Runs until SIGTERM/SIGINT (commits, returns 0) or a fatal error (< 0).
 * SIGHUP reloads the rules file, keeping the old rules when it is bad. */
int tdm_engine_run(tdm_engine *e, td_error *err);
/* Accepts NULL; returns NULL. */
tdm_engine *tdm_engine_free(tdm_engine *e);

#endif
