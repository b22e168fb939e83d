/* td_avro_canon: the Avro specification's Parsing Canonical Form and the
 * CRC-64-AVRO (Rabin) fingerprint, which Avro C 1.11 lacks.
 *
 * The canonical form keeps only what decoding depends on: fullnames instead
 * of short names, only the attributes type, name, fields, symbols, items,
 * values and size, in that order, primitives in their short form, no
 * whitespace. Two schemas with the same canonical form read and write the
 * same bytes; the fingerprint of that text identifies the schema in the
 * single-object encoding (C3 01 + 8-byte little-endian fingerprint + body).
 */
#ifndef TD_AVRO_CANON_H
#define TD_AVRO_CANON_H

#include "td_error.h"
#include "td_json.h"

#include <stddef.h>
#include <stdint.h>

/* The canonical form of the schema in `schema` (a parsed JSON tree). Returns
 * 0 and a malloc'd NUL-terminated text in *ret (the caller frees it), or
 * -EINVAL with err naming the node's line:col when the tree is not a schema. */
int td_avro_canonical(const td_json *schema, char **ret, td_error *err);

/* CRC-64-AVRO of len bytes at buf. */
uint64_t td_avro_crc64(const void *buf, size_t len);

/* Parses schema text (name is used in error texts), computes its canonical
 * form and fingerprint. ret_canonical may be NULL. */
int td_avro_fingerprint_text(const char *name, const char *text, size_t len,
                             uint64_t *ret_fingerprint, char **ret_canonical,
                             td_error *err);

#endif
