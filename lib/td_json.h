/* td_json: a small, strict JSON reader (RFC 8259) for schema files and rules.
 *
 * Builds a tree; every node remembers its line and column (1-based) so that
 * callers can report problems as name:line:col. Bounded: nesting deeper than
 * TD_JSON_MAX_DEPTH is refused; duplicate object keys are refused (Avro and
 * our configs give them no meaning). Strings are decoded to UTF-8 (escapes,
 * surrogate pairs); invalid UTF-8 and lone surrogates are refused.
 *
 * Ownership: td_json_parse() returns a tree the caller frees with
 * td_json_free(); pointers into it stay valid until then.
 */
#ifndef TD_JSON_H
#define TD_JSON_H

#include "td_error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TD_JSON_MAX_DEPTH 64

typedef enum td_json_type {
    TD_JSON_NULL,
    TD_JSON_BOOL,
    TD_JSON_NUMBER,
    TD_JSON_STRING,
    TD_JSON_ARRAY,
    TD_JSON_OBJECT,
} td_json_type;

typedef struct td_json td_json;

struct td_json {
    td_json_type type;
    int line, col;
    bool boolean;       /* TD_JSON_BOOL */
    bool is_integer;    /* TD_JSON_NUMBER without fraction or exponent that fits int64 */
    int64_t integer;    /* when is_integer */
    double number;      /* TD_JSON_NUMBER, always */
    char *text;         /* TD_JSON_STRING: decoded UTF-8, NUL-terminated
                           (len excludes the NUL; may contain NUL bytes) */
    size_t len;         /* string length, or number of items / members */
    td_json **items;    /* TD_JSON_ARRAY items, TD_JSON_OBJECT values */
    char **keys;        /* TD_JSON_OBJECT keys (decoded), parallel to items */
};

/* Parses text[0..len). name is used in error texts ("name:line:col: ...").
 * Returns 0 and *ret, or -EINVAL / -ENOMEM with err. */
int td_json_parse(const char *name, const char *text, size_t len, td_json **ret,
                  td_error *err);
td_json *td_json_free(td_json *j);

/* The member value for key in object o, NULL if o is not an object or has no
 * such key. */
const td_json *td_json_get(const td_json *o, const char *key);
/* The string value of member key, NULL if absent or not a string. */
const char *td_json_get_string(const td_json *o, const char *key);

const char *td_json_type_name(td_json_type t);

#endif
