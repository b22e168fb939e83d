/* td_avro: the project's Avro codec, over Avro C 1.11's value API.
 *
 * Framing is the Avro specification's single-object encoding: C3 01, the
 * 8-byte little-endian CRC-64-AVRO fingerprint of the writer schema's Parsing
 * Canonical Form (td_avro_canon.h), then the Avro binary body.
 *
 * What this adds to Avro C 1.11:
 *  - schemas keep their original text and a compiled node tree that knows
 *    defaults, logical types, enum defaults and aliases (Avro C drops them);
 *  - a registry of schemas by fingerprint (current and historical versions);
 *  - a bounded walk that reads every body (Avro C 1.11.1's reader trusts the
 *    lengths and counts in its input): each length, count and index is
 *    checked against the bytes left before it is used, then the value is
 *    stored through the avro_value API into a reused generic value (no
 *    per-record allocation once warm; about twice avro_value_read's speed;
 *    the fuzz target checks it against avro_value_read);
 *  - schema resolution done here (Avro C's resolver fails when the reader adds
 *    a field with a default);
 *  - date and timestamp-millis helpers and a JSON renderer.
 *
 * Avro C 1.11.1 limits met on the way (measured):
 *  - its JSON parser refuses \u0000 in any string of a schema (a bytes
 *    default, a doc): it is given the canonical form, which has neither;
 *  - it cannot read a fixed of size 0 (malloc(0)), nor append to an array a
 *    record that holds no data (instance size 0): such schemas are refused;
 *  - it cannot write a bytes value that was never set, nor a union without a
 *    branch: td_avro_encode names the field;
 *  - resetting a union keeps its branch selected (its content is reset).
 *
 * Errors: every fallible function returns 0 or a negative errno and writes
 * its out-parameters only on success; texts go to the caller's td_error.
 *   -EBADMSG  the bytes are not a well-formed encoding (bad magic, truncated,
 *             over-long varint, negative or oversized length, index out of
 *             range, invalid UTF-8, trailing bytes, nesting too deep)
 *   -ENOENT   the writer fingerprint is not in the registry
 *   -EINVAL   a schema is invalid, two schemas are incompatible, a well-formed
 *             record cannot be read with the reader schema (an enum symbol the
 *             reader lacks and no enum default, a union branch the reader
 *             cannot take), or a value cannot be encoded
 *   -ENOMEM   out of memory
 *   (and -EEXIST from td_avro_registry_add, -EMSGSIZE from td_avro_encode,
 *   -errno when a file or directory cannot be read)
 * Texts never contain the values in records (no identity numbers): only
 * field paths, names from the schemas, JSON line:col, byte offsets, counts.
 *
 * Threads: a td_avro_schema is immutable once built, and so is a registry
 * once every schema is added; both may then be shared between threads. A
 * td_avro_decoder, a td_avro_buf and avro values are used by one thread at a
 * time.
 */
#ifndef TD_AVRO_H
#define TD_AVRO_H

#include "td_error.h"
#include "td_json.h"

#include <avro.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TD_AVRO_MAGIC_0 0xC3
#define TD_AVRO_MAGIC_1 0x01
#define TD_AVRO_HEADER_LEN 10

/* Nesting of records, arrays, maps and unions in one body (recursive schemas
 * could nest without end). */
#define TD_AVRO_MAX_DEPTH 128
/* Array items that encode in zero bytes (null, records of nulls) cost nothing in
 * the input, so their number per body is capped: every other item costs at
 * least one byte and is bounded by the body's length. */
#define TD_AVRO_MAX_ZERO_SIZE_ITEMS (1u << 20)
/* The largest body the encoder writes (an error, never a truncation). */
#define TD_AVRO_MAX_BODY ((size_t)1 << 30)

/* ---------------------------------------------------------------- buffers */

/* A growable byte buffer owned by the caller, reused from record to record so
 * that the hot path does not allocate. Start it as TD_AVRO_BUF_INIT and end it
 * with td_avro_buf_done(). Functions that write into it replace its contents
 * (len counts the bytes written; JSON output is also NUL-terminated, and the
 * NUL is not counted). */
typedef struct td_avro_buf {
    unsigned char *data;
    size_t len;
    size_t cap;
    avro_writer_t writer; /* private: the Avro C memory writer, reused */
} td_avro_buf;

#define TD_AVRO_BUF_INIT {NULL, 0, 0, NULL}

/* Makes room for at least n bytes (keeps the contents). 0 or -ENOMEM. */
int td_avro_buf_reserve(td_avro_buf *b, size_t n);
/* Frees what b holds and leaves it as TD_AVRO_BUF_INIT. Accepts NULL. */
void td_avro_buf_done(td_avro_buf *b);

/* ---------------------------------------------------------------- schemas */

typedef enum td_avro_type {
    TD_AVRO_NULL,
    TD_AVRO_BOOLEAN,
    TD_AVRO_INT,
    TD_AVRO_LONG,
    TD_AVRO_FLOAT,
    TD_AVRO_DOUBLE,
    TD_AVRO_BYTES,
    TD_AVRO_STRING,
    TD_AVRO_RECORD,
    TD_AVRO_ENUM,
    TD_AVRO_ARRAY,
    TD_AVRO_MAP,
    TD_AVRO_UNION,
    TD_AVRO_FIXED,
} td_avro_type;

typedef enum td_avro_logical {
    TD_AVRO_LOGICAL_NONE,
    TD_AVRO_LOGICAL_DATE,             /* int: days since 1970-01-01 */
    TD_AVRO_LOGICAL_TIMESTAMP_MILLIS, /* long: ms since 1970-01-01T00:00:00Z */
    TD_AVRO_LOGICAL_OTHER,            /* kept by name, handled as the base type */
} td_avro_logical;

typedef struct td_avro_node td_avro_node;

typedef struct td_avro_field {
    const char *name;
    const td_avro_node *type;
    const td_json *def;          /* the JSON default as written, NULL if none */
    const char *const *aliases;  /* naliases names */
    size_t naliases;
    const char *doc;             /* NULL if none */
} td_avro_field;

/* One node of a compiled schema: read-only, owned by its td_avro_schema. A
 * named type referred to again (or recursively) is the same node. */
struct td_avro_node {
    td_avro_type type;
    td_avro_logical logical;
    const char *logical_name;      /* logicalType as written, NULL if none */
    const char *fullname;          /* record, enum, fixed; NULL otherwise */
    const char *name;              /* the unqualified name; NULL if unnamed */
    const char *const *aliases;    /* named types: aliases as written */
    size_t naliases;
    const td_avro_field *fields;   /* record */
    size_t nfields;
    const char *const *symbols;    /* enum */
    size_t nsymbols;
    int enum_default;              /* enum: index of the default, -1 if none */
    size_t size;                   /* fixed */
    const td_avro_node *const *branches; /* union */
    size_t nbranches;
    const td_avro_node *items;     /* array items, map values */
    size_t min_size;               /* fewest bytes an encoding takes */
};

typedef struct td_avro_schema td_avro_schema;

/* Parses text[0..len) as a schema. name (a file name, say) starts error
 * texts ("name:line:col: ..."). Validates it beyond what Avro C checks (names,
 * duplicate fields and symbols, enum defaults, field defaults against their
 * types, union branches, logicalType date on int and timestamp-millis on
 * long; fixed of size 0 is refused because Avro C 1.11 cannot read it).
 * Returns 0 and a schema the caller frees with td_avro_schema_free(), or
 * -EINVAL / -ENOMEM. text is copied. */
int td_avro_schema_new(const char *name, const char *text, size_t len,
                       td_avro_schema **ret, td_error *err);
/* The same from a file (its path names it). -errno if unreadable. */
int td_avro_schema_load(const char *path, td_avro_schema **ret, td_error *err);
/* Accepts NULL; returns NULL. */
td_avro_schema *td_avro_schema_free(td_avro_schema *s);

uint64_t td_avro_schema_fingerprint(const td_avro_schema *s);
/* Fullname of a named top-level type, else the type's name ("int", "union"). */
const char *td_avro_schema_fullname(const td_avro_schema *s);
/* The name given to td_avro_schema_new (e.g. the file). */
const char *td_avro_schema_source(const td_avro_schema *s);
/* The original text, as given (with doc, default, logicalType). */
const char *td_avro_schema_text(const td_avro_schema *s, size_t *ret_len);
const char *td_avro_schema_canonical(const td_avro_schema *s);
const td_avro_node *td_avro_schema_root(const td_avro_schema *s);
/* Avro C's objects, borrowed: valid while s lives; incref to keep longer. */
avro_schema_t td_avro_schema_avro(const td_avro_schema *s);
avro_value_iface_t *td_avro_schema_iface(const td_avro_schema *s);
/* A new generic value of s; the caller avro_value_decref()s it. Unions have
 * no branch and bytes no value until set: set every field before encoding. */
int td_avro_schema_value_new(const td_avro_schema *s, avro_value_t *ret, td_error *err);

/* --------------------------------------------------------------- registry */

typedef struct td_avro_registry td_avro_registry;

int td_avro_registry_new(td_avro_registry **ret);
/* Frees the registry and every schema in it. Accepts NULL; returns NULL. */
td_avro_registry *td_avro_registry_free(td_avro_registry *r);
/* Adds s. Takes ownership of s in every case: on error s has been freed.
 * -EEXIST when a schema with the same fingerprint is there already. */
int td_avro_registry_add(td_avro_registry *r, td_avro_schema *s, td_error *err);
/* Borrowed pointers, NULL when absent. */
const td_avro_schema *td_avro_registry_find(const td_avro_registry *r, uint64_t fingerprint);
/* The first schema added with that fullname (load the current schemas before
 * the historical ones and this is the current version). */
const td_avro_schema *td_avro_registry_find_name(const td_avro_registry *r, const char *fullname);
size_t td_avro_registry_count(const td_avro_registry *r);
const td_avro_schema *td_avro_registry_at(const td_avro_registry *r, size_t i);
/* Adds every *.avsc file directly in dir, in name order. A file whose
 * canonical form is already registered is skipped (a doc-only change); a
 * different schema with the same fingerprint is an error. Every problem is
 * reported (one line each); the first code is returned. ret_added may be
 * NULL. Schemas added before an error stay in r. */
int td_avro_registry_load_dir(td_avro_registry *r, const char *dir, size_t *ret_added,
                              td_error *err);

/* ------------------------------------------------------------- the bytes */

/* Checks the single-object header of data[0..len): magic and length. Returns
 * 0 and the fingerprint; the body starts at data + TD_AVRO_HEADER_LEN. */
int td_avro_frame_parse(const void *data, size_t len, uint64_t *ret_fingerprint,
                        td_error *err);
/* The bounded validation walk alone: is body[0..len) exactly one well-formed
 * encoding of writer? 0 or -EBADMSG (byte offsets in the text count from the
 * start of body; the decoder's count from the start of the frame). Allocates
 * nothing. What it checks: varints of at most 10 bytes (5 for int) within
 * 64 bits (int: 32); lengths >= 0 and within the bytes left; union and enum
 * indices in range; booleans 0 or 1; strings and map keys UTF-8 without NUL;
 * array and map block counts bounded by the bytes left (or, for items of zero
 * size, by TD_AVRO_MAX_ZERO_SIZE_ITEMS per body); a negative block count's
 * byte size equal to what its items take; nesting within TD_AVRO_MAX_DEPTH;
 * no trailing bytes. */
int td_avro_validate(const td_avro_schema *writer, const void *body, size_t len,
                     td_error *err);

/* Encodes value (an instance of s, e.g. from td_avro_schema_value_new) as a
 * single-object encoding into out, replacing its contents. The body is checked
 * with the validation walk, so nothing is written that the decoder refuses
 * (enum out of range, invalid UTF-8 or NUL in a string, ...). -EINVAL with the
 * field path when the value cannot be encoded; -EMSGSIZE above
 * TD_AVRO_MAX_BODY. */
int td_avro_encode(const td_avro_schema *s, avro_value_t *value, td_avro_buf *out,
                   td_error *err);

/* ------------------------------------------------------------- resolution */

/* Can records written with writer be read with reader? 0, or -EINVAL with a
 * text naming the field path ("Sample.count: writer long cannot be read as
 * int"). Refused: a reader field without default missing in the writer; types
 * neither equal nor promotable (int->long/float/double, long->float/double,
 * float->double, string<->bytes); named types whose unqualified names differ
 * (unless a reader alias names the writer's); fixed sizes that differ; a
 * writer union none of whose branches the reader can take.
 * Accepted, and checked per record when decoding (-EINVAL then): an enum
 * symbol the reader lacks while the reader enum has no default; a writer
 * union branch the reader cannot take while others can. */
int td_avro_check_compat(const td_avro_schema *reader, const td_avro_schema *writer,
                         td_error *err);

/* ---------------------------------------------------------------- decoder */

typedef struct td_avro_decoder td_avro_decoder;

/* A decoder for records of any writer schema in reg, read as reader. Borrows
 * reg and reader: both must outlive the decoder (reader need not be in reg).
 * Writer schemas are checked against reader on first sight and the outcome
 * cached; the cache is bounded by the registry's size. */
int td_avro_decoder_new(const td_avro_registry *reg, const td_avro_schema *reader,
                        td_avro_decoder **ret, td_error *err);
td_avro_decoder *td_avro_decoder_free(td_avro_decoder *d);
/* Decodes data[0..len): the header, then one walk that validates the body
 * (as td_avro_validate) and stores it, into the reader's value when the writer
 * is the reader, else into a cached value of the writer schema that is then
 * resolved into the reader's. On success *ret_value points to the decoder's
 * reader value, valid (and changed by nobody else) until the next decode or
 * td_avro_decoder_free(); do not decref it. A failed decode leaves that value
 * unspecified. Errors: see the top. */
int td_avro_decode(td_avro_decoder *d, const void *data, size_t len,
                   avro_value_t **ret_value, td_error *err);
/* The writer schema of the last successful decode, NULL before. */
const td_avro_schema *td_avro_decoder_writer(const td_avro_decoder *d);

/* ---------------------------------------------------------- logical types */

#define TD_AVRO_DATE_BUFSZ 11      /* "YYYY-MM-DD" + NUL */
#define TD_AVRO_TIMESTAMP_BUFSZ 25 /* "YYYY-MM-DDTHH:MM:SS.mmmZ" + NUL */

/* Days since 1970-01-01 (proleptic Gregorian, td_date's calendar) as
 * "YYYY-MM-DD". Years 0001 to 9999 only: -ERANGE outside. */
int td_avro_date_format(int32_t days, char out[TD_AVRO_DATE_BUFSZ]);
/* Exactly "YYYY-MM-DD", a real calendar date (2026-02-29 is refused). */
int td_avro_date_parse(const char *s, size_t len, int32_t *ret_days, td_error *err);
/* ms since the epoch as "YYYY-MM-DDTHH:MM:SS.mmmZ" (always three fraction
 * digits, UTC). -ERANGE outside years 0001 to 9999. */
int td_avro_timestamp_millis_format(int64_t ms, char out[TD_AVRO_TIMESTAMP_BUFSZ]);
/* "YYYY-MM-DDTHH:MM:SS[.f{1,3}]Z": UTC only, no leap second. */
int td_avro_timestamp_millis_parse(const char *s, size_t len, int64_t *ret_ms,
                                   td_error *err);

/* ------------------------------------------------------------------- JSON */

/* Renders value (an instance of s) as JSON into out, replacing its contents
 * (NUL-terminated). The Avro JSON encoding (records as objects, enums as
 * symbols, bytes and fixed as strings of code points 0-255, a non-null union
 * value as {"<branch type name>": value}, null branch as null), except:
 *  - int with logicalType date is "YYYY-MM-DD" and long with
 *    timestamp-millis "YYYY-MM-DDTHH:MM:SS.mmmZ" (the number itself when the
 *    year is outside 0001-9999);
 *  - money stays an integer count of fen (a long, no yuan conversion);
 *  - float and double NaN and infinities are the strings "NaN", "Infinity",
 *    "-Infinity" (JSON has no such numbers).
 * Strings are written as UTF-8 (invalid sequences, which the decoder never
 * lets through, become U+FFFD); bytes and fixed use \u00XX escapes for
 * everything outside printable ASCII. */
int td_avro_value_to_json(const td_avro_schema *s, const avro_value_t *value,
                          td_avro_buf *out, td_error *err);
/* The inverse: sets value (an instance of s, reset first) from JSON text in
 * the form td_avro_value_to_json writes (dates and timestamps as ISO strings
 * or as numbers). -EINVAL naming the JSON line:col and the field path. */
int td_avro_value_from_json(const td_avro_schema *s, const char *text, size_t len,
                            avro_value_t *value, td_error *err);

#endif
