/* td_avro_private: what the td_avro_*.c files share. Not for other modules. */
#ifndef TD_AVRO_PRIVATE_H
#define TD_AVRO_PRIVATE_H

#include "td_avro.h"

#include <stdbool.h>

struct td_avro_schema {
    char *source;         /* name given at creation, for error texts */
    char *text;           /* the original text, NUL-terminated */
    size_t text_len;
    td_json *json;        /* parsed text; nodes point into it */
    char *canonical;
    uint64_t fingerprint;
    const char *fullname; /* points into json, or a type name literal */
    avro_schema_t avro;
    avro_value_iface_t *iface;
    td_avro_node *root;
    td_avro_node **nodes; /* every node, in creation order */
    size_t nnodes, capnodes;
    void **allocs;        /* every block the nodes use, freed with s */
    size_t nallocs, capallocs;
};

/* A field path built while an error unwinds: each level prepends its part
 * (".field", "[3]"), so nothing is spent on paths unless something fails. */
typedef struct td_avro_trail {
    char buf[384];
    size_t pos;
    bool cut;
} td_avro_trail;

void td_avro_trail_init(td_avro_trail *t);
void td_avro_trail_field(td_avro_trail *t, const char *name);
void td_avro_trail_index(td_avro_trail *t, size_t i);
void td_avro_trail_key(td_avro_trail *t, const char *key);
/* The path so far, starting with "..." when it was cut. */
const char *td_avro_trail_str(td_avro_trail *t);

/* A name for messages: "int", "long (timestamp-millis)", "record a.B". */
const char *td_avro_node_describe(const td_avro_node *n, char *buf, size_t size);
const char *td_avro_type_name(td_avro_type t);

/* Is s[0..len) valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF) with
 * no NUL? Returns the offset of the first bad byte, or len when valid. */
size_t td_avro_utf8_bad(const unsigned char *s, size_t len);

typedef enum td_avro_json_mode {
    TD_AVRO_JSON_DEFAULT, /* a schema default: union means its first branch,
                             dates and timestamps are numbers */
    TD_AVRO_JSON_VALUE,   /* td_avro_value_from_json: union values wrapped as
                             {"type": v}, ISO dates and timestamps allowed */
} td_avro_json_mode;

/* Checks j against n and, when v is not NULL, sets v from it (v must be an
 * instance of n; containers are appended to, so reset them first). On error
 * returns -EINVAL and sets err to "line:col: path: problem" (or -ENOMEM);
 * path starts as `where`. */
int td_avro_json_set(const td_avro_node *n, const td_json *j, avro_value_t *v,
                     td_avro_json_mode mode, const char *where, td_error *err);

/* Compiled resolution of a writer schema to a reader schema. */
typedef struct td_avro_plan td_avro_plan;
typedef struct td_avro_planset td_avro_planset;

int td_avro_planset_build(const td_avro_schema *reader, const td_avro_schema *writer,
                          td_avro_planset **ret, td_error *err);
td_avro_planset *td_avro_planset_free(td_avro_planset *ps);
/* Resolves w (a value of the writer schema) into r (a reset value of the
 * reader schema). -EINVAL with the path when a record cannot be resolved
 * (enum symbol unknown without default, union branch without match). */
int td_avro_planset_apply(const td_avro_planset *ps, const avro_value_t *w, avro_value_t *r,
                          td_error *err);

#endif
