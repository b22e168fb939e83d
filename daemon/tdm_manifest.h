/* tdm_manifest: the batch manifest (docs/matchd-design.md, "Exactly once and
 * recovery"): where one input partition's records fell in a batch's
 * processing order, written as that partition's metadata in the batch's
 * transactional offset commit, so that a restore replays the batch in the
 * order that produced its committed alerts, not in the merge's.
 *
 * The text (one partition):
 *
 *     tdm1 <start> <pos>+<count> <pos>+<count> ...
 *
 * <start> is the partition's offset where the batch began (LMDB's stored
 * offset when the batch committed to Kafka only; -1: the beginning of the
 * partition). Each run says that the partition's next <count> records (in
 * offset order, as a read_committed consumer reads them from <start>) were
 * processed at positions <pos> .. <pos>+<count>-1 of the batch (positions
 * count every record of the batch, all partitions, from 0). Runs are in
 * increasing position and do not overlap; a partition without records in
 * the batch has none ("tdm1 <start>"). Decimal ASCII, single spaces, no
 * terminator. Kafka keeps at most offset.metadata.max.bytes (4096 by
 * default) per partition; the engine ends a batch early once a partition's
 * text passes TDM_MANIFEST_SOFT_MAX, so the text stays below
 * TDM_MANIFEST_MAX.
 *
 * Pure: no I/O, no logging. Errors: 0 or a negative errno with the reason
 * in the caller's td_error.
 */
#ifndef TDM_MANIFEST_H
#define TDM_MANIFEST_H

#include "td_error.h"

#include <stddef.h>
#include <stdint.h>

/* The broker's default offset.metadata.max.bytes: no text is longer. */
#define TDM_MANIFEST_MAX 4096
/* A batch ends (commits) once a partition's text is longer than this: one
 * more run adds at most TDM_MANIFEST_RUN_MAX bytes. */
#define TDM_MANIFEST_SOFT_MAX 3000
/* The longest run: " 4294967295+4294967295". */
#define TDM_MANIFEST_RUN_MAX 22

typedef struct tdm_manifest_run {
    uint32_t pos, count;
} tdm_manifest_run;

/* One partition's manifest. Zero-initialised or tdm_manifest_reset before
 * use; tdm_manifest_done frees it. */
typedef struct tdm_manifest {
    int64_t start;
    tdm_manifest_run *runs;
    size_t nruns, cap;
    uint64_t records;  /* the sum of the counts */
    size_t len;        /* the length of the text */
} tdm_manifest;

/* Empties m for a batch that starts at offset start (>= -1); keeps its
 * memory. */
void tdm_manifest_reset(tdm_manifest *m, int64_t start);
/* Frees m's runs and empties it. Accepts NULL. */
void tdm_manifest_done(tdm_manifest *m);

/* The partition's next record was processed at position pos (greater than
 * any position added since the reset; the last run grows when pos follows
 * it). -EINVAL for a position not after the last, -ENOMEM. */
int tdm_manifest_add(tdm_manifest *m, uint32_t pos);

/* The text of m into buf (not NUL-terminated). Returns its length, or
 * -ENOSPC when size is smaller (m->len bytes are needed). */
int tdm_manifest_encode(const tdm_manifest *m, char *buf, size_t size);

/* Parses a partition's committed metadata (len bytes, not NUL-terminated)
 * into m (reset first). Strict: -EPROTO when it is not a manifest (empty,
 * another program's metadata: no "tdm1 " at the start); -EINVAL for a
 * manifest that is malformed (a bad number, a count of 0, runs out of order
 * or overlapping, a position past 2^32, trailing bytes) or longer than
 * TDM_MANIFEST_MAX; -ENOMEM. err says which. m is left empty on failure. */
int tdm_manifest_decode(const void *text, size_t len, tdm_manifest *m, td_error *err);

/* The replay order of a batch from its partitions' manifests: (*ret_order)[pos]
 * is the index (0 .. n-1) of the manifest whose record was processed at pos,
 * for pos < *ret_total (the sum of their records). -EINVAL when two
 * manifests claim the same position or a position is claimed by none (the
 * batch had a partition not among them); err names the position. The
 * caller frees *ret_order (NULL when the total is 0). */
int tdm_manifest_plan(const tdm_manifest *const *m, size_t n, uint32_t **ret_order,
                      size_t *ret_total, td_error *err);

#endif
