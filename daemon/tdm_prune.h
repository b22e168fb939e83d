/* tdm_prune: closed alerts and suspects leave their indexes after a
 * retention (docs/matchd-design.md, "Size of the state").
 *
 * The alert index (alert id -> state key and the ALERT) and the suspect index
 * (suspect id -> state key and county) would otherwise grow with every alert
 * and suspect ever raised. Beside each index the engine keeps a 'closed'
 * database: key the day the id closed (4 bytes big-endian, offset so that
 * days sort) then the id, value empty. tdm_prune_note records a closure;
 * tdm_prune_run, called when the stream clock enters a new day, removes every
 * id that closed on a day <= today - retention_days from the index and its
 * entry from the closed database, oldest first. Both write into the caller's
 * write transaction, so pruning commits (or aborts) with the batch whose
 * stream clock drove it, and a restore that replays the same records prunes
 * the same ids: the store does not depend on the wall clock.
 *
 * Errors: 0 or a negative errno with the text in err (tdm_store's codes).
 */
#ifndef TDM_PRUNE_H
#define TDM_PRUNE_H

#include "tdm_store.h"
#include "td_error.h"

#include <stddef.h>
#include <stdint.h>

/* The longest id a closed database holds (alert and suspect ids). */
#define TDM_PRUNE_ID_MAX 128

/* Records in closed that id (1..TDM_PRUNE_ID_MAX bytes) closed on day.
 * Noting the same closure again changes nothing. -EINVAL for a bad id. */
int tdm_prune_note(tdm_txn *txn, tdm_db closed, int32_t day, const char *id, td_error *err);

/* Removes from index the ids that closed on a day <= today - retention_days
 * (retention_days >= 1), and their entries from closed. *ret_n (may be NULL)
 * gets the number of ids removed from closed. An id already gone from index
 * only leaves closed. */
int tdm_prune_run(tdm_txn *txn, tdm_db closed, tdm_db index, int32_t today, int retention_days,
                  size_t *ret_n, td_error *err);

#endif
