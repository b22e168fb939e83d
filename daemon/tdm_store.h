/* tdm_store: tuodi-matchd's state, one LMDB environment under the state
 * directory (docs/matchd-design.md).
 *
 * The environment holds named databases (tdm_store_db) and a 'meta' database
 * with the format version ("format" -> uint32 little-endian) and the input
 * offsets ("<topic>/<partition>" -> int64 little-endian). It is written in one
 * write transaction per Kafka transaction, after the Kafka commit, and that
 * transaction stores the offsets it reflects, so state and offsets always
 * agree.
 *
 * Recovery: when the environment cannot be opened as LMDB (garbage, truncated
 * meta pages, another LMDB version), its meta database is unreadable, or its
 * format version differs from TDM_STORE_FORMAT, the store removes data.mdb and
 * lock.mdb (nothing else in the directory), creates a fresh environment and
 * says so through tdm_store_was_reset(): the caller then rebuilds from Kafka.
 * A missing directory or environment is simply created (no offsets: the
 * caller reads from the beginning). LMDB has no page checksums, so damage
 * past the meta pages may go unnoticed until a read fails with -EIO.
 *
 * The map grows by itself. LMDB maps the data file into memory with a fixed
 * size (address space, not memory or disk: the file grows only as pages are
 * written). The store opens it with map_size and, when a write transaction
 * finds the map full (MDB_MAP_FULL), aborts that LMDB transaction, doubles
 * the map (up to max_map_size), begins a new one and redoes the writes made
 * so far: every put and delete of the open write transaction is kept in a
 * redo log (a copy of its key and value, freed at its end), so the caller
 * sees neither the abort nor the redo, and the transaction commits all of
 * its writes exactly once or none. The redo starts from the state the
 * aborted transaction started from and repeats the same writes in the same
 * order, so the reads made between them saw what they will see after it.
 * A map that cannot grow (max_map_size reached, a read-only transaction open,
 * no address space left) fails the write with -ENOSPC and a text saying
 * which limit to raise. A failed resize leaves the environment unmapped: the
 * store then refuses everything (-EIO) until it is closed and reopened.
 *
 * Pointers from tdm_store_get and tdm_store_first are valid until the next
 * write in the transaction (a put or delete may move the map).
 *
 * A full disk: LMDB writes the pages of a transaction at commit; a short
 * write (the filesystem ran out of space half-way) comes back as EIO. A
 * commit or an open that fails with ENOSPC or EDQUOT, or with EIO while the
 * filesystem of the state directory has less room than the transaction
 * needs, is -ENOSPC "no space left on device" with the state directory, the
 * room needed (an upper bound: a page per write plus the bytes written) and
 * the room free. tdm_store_open refuses a filesystem with less than
 * TDM_STORE_MIN_FREE bytes free (LMDB would then fault on its memory-mapped
 * lock file instead of reporting an error).
 *
 * Errors: 0 or a negative errno, out-parameters written only on success, the
 * text (with mdb_strerror's text for LMDB errors) in the caller's td_error.
 * LMDB codes map to: MDB_NOTFOUND -ENOENT, MDB_MAP_FULL -ENOSPC (the map
 * cannot grow, above), MDB_BAD_VALSIZE -EINVAL (key longer than
 * tdm_store_max_key_len or empty), MDB_KEYEXIST -EEXIST, MDB_DBS_FULL -EMFILE,
 * MDB_READERS_FULL and MDB_MAP_RESIZED -EAGAIN, MDB_TXN_FULL -E2BIG,
 * corruption and the other LMDB codes -EIO; LMDB's errno values pass through
 * negated.
 *
 * Threads: a store is opened with MDB_NOTLS; a transaction is used by one
 * thread at a time. One write transaction is open at a time per store
 * (tdm_store_begin refuses a second with -EBUSY rather than deadlock);
 * read-only transactions may run beside it.
 */
#ifndef TDM_STORE_H
#define TDM_STORE_H

#include "td_error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bump when the layout of any database changes: the store is then rebuilt
 * from Kafka on the next start. 4: window states of format 2 (signals per
 * rule, the open alert's anchor day) and alert ids of the rule's own
 * severity. 5: window states of format 3 (counts of raised window alerts)
 * and window alert ids of (anchor day, count), not of a record. */
#define TDM_STORE_FORMAT 5u
/* The map a store opens with, and the most it grows to, unless the caller
 * says otherwise (tuodi-matchd: store.map_size, store.max_map_size). 32 GiB
 * holds a province's roster of 30 million persons with its states and alerts
 * about three times over (docs/benchmarks.md); it costs address space only. */
#define TDM_STORE_DEFAULT_MAP_SIZE ((size_t)32 << 30)
#define TDM_STORE_DEFAULT_MAX_MAP_SIZE ((size_t)1 << 40)
/* Free bytes the state directory's filesystem must have for an open. */
#define TDM_STORE_MIN_FREE ((size_t)1 << 20)
/* Named databases a store can hold, 'meta' included. */
#define TDM_STORE_MAX_DBS 32

typedef struct tdm_store tdm_store;
typedef struct tdm_txn tdm_txn;
/* A named database's handle, valid while its store is open. */
typedef unsigned int tdm_db;

/* Opens (creating dir and the environment if missing) the store under dir,
 * with a map of map_size bytes (0: TDM_STORE_DEFAULT_MAP_SIZE; at least what
 * the data file holds already) that grows up to max_map_size (0:
 * TDM_STORE_DEFAULT_MAX_MAP_SIZE; never below the map). Resets a corrupt or
 * foreign-format environment as described above. The caller frees *ret with
 * tdm_store_close(). */
int tdm_store_open(const char *dir, size_t map_size, size_t max_map_size, tdm_store **ret,
                   td_error *err);
/* tdm_store_open, for the state of one owner: a string naming what the
 * state is built from (tuodi-matchd: its group and input and output topics).
 * A store that holds another owner's state is reset like a foreign format
 * (tdm_store_was_reset, and tdm_store_previous_owner says whose it was); one
 * without an owner (new, or from before owners) takes this one. NULL owner:
 * no check, as tdm_store_open. owner is not kept after the call. */
int tdm_store_open_owned(const char *dir, size_t map_size, size_t max_map_size,
                         const char *owner, tdm_store **ret, td_error *err);
/* The owner of the state tdm_store_open_owned found and reset, or NULL (no
 * reset, or a reset for another reason). Valid until tdm_store_close. */
const char *tdm_store_previous_owner(const tdm_store *s);
/* Aborts an open transaction, closes the environment. Accepts NULL; returns
 * NULL. */
tdm_store *tdm_store_close(tdm_store *s);
/* True when tdm_store_open wiped the environment (its state must be rebuilt
 * from Kafka). */
bool tdm_store_was_reset(const tdm_store *s);
/* The longest key LMDB accepts (511 bytes for Debian's LMDB 0.9.24). */
size_t tdm_store_max_key_len(const tdm_store *s);
/* The size of the map now (it grows; see above). */
size_t tdm_store_map_size(const tdm_store *s);
/* For the metrics: the bytes of the data file (data.mdb) on disk and the
 * bytes of its pages in use (up to the last page LMDB wrote, free pages
 * inside included). No transaction needed; cheap (a stat and
 * mdb_env_info). -errno when the file cannot be stat'ed. */
int tdm_store_usage(tdm_store *s, uint64_t *ret_file_bytes, uint64_t *ret_used_bytes);

/* The handle of the named database name (created if missing), in a short
 * transaction of its own: call it at set-up, not while a write transaction
 * is open (-EBUSY). "meta" is refused (-EINVAL): offsets have their own
 * functions. */
int tdm_store_db(tdm_store *s, const char *name, tdm_db *ret, td_error *err);

/* A write transaction; the caller ends it with tdm_store_commit or
 * tdm_store_abort (both free it). -EBUSY while another is open. */
int tdm_store_begin(tdm_store *s, tdm_txn **ret, td_error *err);
/* A read-only transaction (a snapshot); ended by tdm_store_abort or commit. */
int tdm_store_begin_read(tdm_store *s, tdm_txn **ret, td_error *err);
/* Commits and frees txn; on failure the transaction is aborted (and freed)
 * all the same. */
int tdm_store_commit(tdm_txn *txn, td_error *err);
/* Aborts and frees txn. Accepts NULL. */
void tdm_store_abort(tdm_txn *txn);

/* Looks key up in db. 0 and *ret_val, *ret_len pointing into the map (valid
 * until the next write in txn or its end; do not write through it), or
 * -ENOENT. */
int tdm_store_get(tdm_txn *txn, tdm_db db, const void *key, size_t key_len,
                  const void **ret_val, size_t *ret_len, td_error *err);
/* The first entry of db in key order (keys compare as bytes, shorter first
 * on a common prefix): 0 and pointers as tdm_store_get, or -ENOENT when db is
 * empty. */
int tdm_store_first(tdm_txn *txn, tdm_db db, const void **ret_key, size_t *ret_key_len,
                    const void **ret_val, size_t *ret_len, td_error *err);
/* Calls fn for every entry of db in key order (pointers as
 * tdm_store_get, valid during the call), until fn returns non-zero (that
 * value is returned) or the end (0). */
typedef int (*tdm_store_each_fn)(const void *key, size_t key_len, const void *val,
                                 size_t val_len, void *opaque);
int tdm_store_foreach(tdm_txn *txn, tdm_db db, tdm_store_each_fn fn, void *opaque,
                      td_error *err);
/* Stores key -> val[0..val_len), replacing any value (write txn only). */
int tdm_store_put(tdm_txn *txn, tdm_db db, const void *key, size_t key_len,
                  const void *val, size_t val_len, td_error *err);
/* Removes key: 0, or -ENOENT when it was not there. */
int tdm_store_del(tdm_txn *txn, tdm_db db, const void *key, size_t key_len, td_error *err);
/* Number of entries in db as seen by txn. */
int tdm_store_count(tdm_txn *txn, tdm_db db, size_t *ret, td_error *err);

/* Bytes of the pages db occupies as seen by txn (branch, leaf and overflow
 * pages; not the free pages of the file). */
int tdm_store_db_bytes(tdm_txn *txn, tdm_db db, size_t *ret, td_error *err);

/* The stored offset of topic/partition (by convention the next offset to
 * consume), or -ENOENT when none is stored. */
int tdm_store_offset_get(tdm_txn *txn, const char *topic, int32_t partition, int64_t *ret,
                         td_error *err);
/* Stores the offset of topic/partition in txn (a write transaction), so it
 * commits with the state it reflects. */
int tdm_store_offset_set(tdm_txn *txn, const char *topic, int32_t partition, int64_t offset,
                         td_error *err);

#endif
