/* td_config: strict YAML config files, driven by one table per program.
 *
 * A program describes its config struct once, as an array of td_cfg_entry
 * built with the TD_CFG_* macros below and ended by TD_CFG_END. The same
 * table drives defaults, parsing, validation, td_config_free() and the
 * Markdown reference (td_config_write_reference()), so the docs cannot drift
 * from the code. docs/configuration.md describes the file format for users.
 *
 *   struct matchd_cfg {
 *       char *group_id;
 *       int64_t poll_ms;
 *       td_kafka_props kafka;
 *   };
 *   static const td_cfg_entry matchd_table[] = {
 *       TD_CFG_STRING("group_id", struct matchd_cfg, group_id, "tuodi-matchd",
 *                     "Consumer group id"),
 *       TD_CFG_DURATION("poll_interval", struct matchd_cfg, poll_ms, "250ms",
 *                       1, 60000, "How long one poll may block"),
 *       TD_CFG_KAFKA("kafka", struct matchd_cfg, kafka,
 *                    "librdkafka properties", TD_CFG_REQUIRED),
 *       TD_CFG_END,
 *   };
 *
 * The last macro argument is the doc text, optionally followed by flags
 * (TD_CFG_REQUIRED, TD_CFG_SECRET, or both or-ed). The macros check at
 * compile time that each member has the C type its kind stores (see
 * td_cfg_type).
 *
 * Loading happens in two steps: libyaml events become a tree of nodes that
 * remember their file:line:col, then the table walks the tree and fills the
 * struct. Every problem found in a file is reported (the first
 * TD_CONFIG_MAX_ERRORS, sorted by position), one per line, as
 * "FILE:LINE:COL: message" (1-based). Values of TD_CFG_SECRET entries and of
 * secret-looking librdkafka keys never appear in messages.
 *
 * Thread-safety: the loader reads the environment (getenv) for ${VAR}; do not
 * call it while another thread changes the environment. Otherwise functions
 * may run concurrently on different out structs; tables are read-only.
 */
#ifndef TD_CONFIG_H
#define TD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "td_error.h"
#include "td_kafka.h"

/* Bigger files (and ${file:...} contents bigger than 1 MiB) are refused. */
#define TD_CONFIG_MAX_BYTES (16u * 1024u * 1024u)
/* Deeper nesting of mappings and lists is a syntax error. */
#define TD_CONFIG_MAX_DEPTH 64
/* At most this many problems are listed; a last line counts the rest. */
#define TD_CONFIG_MAX_ERRORS 10

/* The kind of an entry, and the C type of the member it fills. */
typedef enum td_cfg_type {
    TD_CFG_TYPE_END = 0,   /* only in the terminator */
    TD_CFG_TYPE_STRING,    /* char *, malloc'd; NULL when unset */
    TD_CFG_TYPE_INT,       /* int64_t; decimal, within [min, max] */
    TD_CFG_TYPE_BOOL,      /* bool; true or false */
    TD_CFG_TYPE_ENUM,      /* int; index into enum_names */
    TD_CFG_TYPE_DURATION,  /* int64_t milliseconds; "30s", "5m", "1h30m" */
    TD_CFG_TYPE_SIZE,      /* int64_t bytes; "64MiB", "512k" */
    TD_CFG_TYPE_PATH,      /* char *, malloc'd; relative to the file's dir */
    TD_CFG_TYPE_SECTION,   /* a nested struct member, filled by sub */
    TD_CFG_TYPE_STRINGS,   /* char ** (malloc'd array of malloc'd strings)
                              plus a size_t count member */
    TD_CFG_TYPE_SECTIONS,  /* T * (malloc'd array of T, each filled by sub)
                              plus a size_t count member */
    TD_CFG_TYPE_KAFKA,     /* td_kafka_props: librdkafka passthrough */
    TD_CFG_TYPE_MAP,       /* td_cfg_map: any string keys -> string values */
    TD_CFG_TYPE_MAPS,      /* td_cfg_maps: any string keys -> td_cfg_map */
} td_cfg_type;

/* TD_CFG_TYPE_MAP: a mapping whose keys the program does not know in advance
 * (column names, code values), each key and value with where it was written,
 * so that the program's own checks can report "FILE:LINE:COL" too. */
typedef struct td_cfg_pair {
    char *key;          /* as written (no substitution in keys); may be "" */
    char *value;        /* after ${...} substitution; may be "" */
    char *origin;       /* "FILE:LINE:COL" of the key */
    char *value_origin; /* "FILE:LINE:COL" of the value */
} td_cfg_pair;

/* Pairs in file order; keys are unique (a duplicate key is an error). All
 * strings are owned by the map and freed by td_config_free(). {0} is empty. */
typedef struct td_cfg_map {
    td_cfg_pair *v;
    size_t n;
} td_cfg_map;

/* TD_CFG_TYPE_MAPS: a mapping of any string keys to such maps. */
typedef struct td_cfg_submap {
    char *key;
    char *origin;       /* "FILE:LINE:COL" of the key */
    td_cfg_map map;
} td_cfg_submap;

typedef struct td_cfg_maps {
    td_cfg_submap *v;
    size_t n;
} td_cfg_maps;

/* The pair or submap with exactly this key, or NULL. Accept NULL maps. */
const td_cfg_pair *td_cfg_map_find(const td_cfg_map *m, const char *key);
const td_cfg_submap *td_cfg_maps_find(const td_cfg_maps *m, const char *key);

/* Entry flags. */
#define TD_CFG_REQUIRED 0x1u /* the key must be present (default ignored) */
#define TD_CFG_SECRET   0x2u /* the value never appears in any message */
#define TD_CFG_OPTIONAL 0x4u /* SECTION: when the key is absent, the section
                                keeps its defaults and its own required keys
                                are not asked for (one of several
                                alternatives, e.g. source.spooldir or
                                source.postgres) */

typedef struct td_cfg_entry {
    const char *key;               /* NULL ends the table */
    td_cfg_type type;
    size_t offset;                 /* of the member in the struct */
    const char *def;               /* default as YAML text, parsed by the same
                                      rules (no ${} substitution); NULL: the
                                      zero value (NULL, 0, false, index 0) */
    int64_t min, max;              /* INT, DURATION, SIZE: inclusive range */
    const char *const *enum_names; /* ENUM: NULL-terminated, case-sensitive */
    const struct td_cfg_entry *sub;/* SECTION, SECTIONS: the nested table */
    size_t sub_size;               /* SECTIONS: sizeof one element */
    size_t count_offset;           /* STRINGS, SECTIONS: the size_t count */
    unsigned flags;                /* TD_CFG_REQUIRED | TD_CFG_SECRET */
    const char *doc;               /* one line for the reference */
} td_cfg_entry;

/* Loads the YAML file at path into out, following table.
 *
 * out must be zeroed (or have been through td_config_free()) on entry; its
 * fields that the table describes are overwritten without being freed. The
 * loader fills every default first, then what the file sets.
 *
 * Returns 0 on success: out then owns strings, arrays and props that the
 * caller releases with td_config_free(table, out).
 * On failure returns -EINVAL (bad file, or a bad default in the table),
 * -ENOENT/-EACCES/... (file unreadable), -EFBIG (file too big) or -ENOMEM,
 * with every problem in err (see the file comment); out then holds nothing
 * that needs freeing: every field the table describes is zero. Calling
 * td_config_free() on it anyway is harmless.
 *
 * Messages name the file as path is spelled. Relative TD_CFG_TYPE_PATH values
 * and ${file:...} references are resolved against the directory of path,
 * made absolute, so the program may chdir later. */
int td_config_load_file(const td_cfg_entry *table, const char *path,
                        void *out, td_error *err);

/* Like td_config_load_file() on the NUL-terminated text yaml. name is used in
 * messages (NULL: "<string>"); if name contains a '/', its directory part is
 * the base for relative paths (as given, not made absolute), otherwise
 * relative paths are kept relative. */
int td_config_load_string(const td_cfg_entry *table, const char *name,
                          const char *yaml, void *out, td_error *err);

/* Where key_path ("source.spooldir.input_dir"; a kafka: property as
 * "kafka.ssl.ca.location") is written in the config file at path, for
 * messages about a value that loaded fine but is unusable (a directory the
 * user cannot write): "FILE:LINE:COL" of the key into buf (size bytes,
 * cut to fit). Reads and parses the file again, so call it only to report a
 * problem. Returns 0; or -ENOENT when the file does not set the key (its
 * default applies) and other -errno when the file cannot be read or parsed,
 * with buf then holding path alone. List items are not looked into. */
int td_config_origin(const char *path, const char *key_path, char *buf, size_t size);

/* Frees everything the table owns in out (strings, arrays, sections in
 * lists, kafka props) and zeroes every field the table describes; out itself
 * belongs to the caller. Accepts a zeroed struct and a NULL out. */
void td_config_free(const td_cfg_entry *table, void *out);

/* Writes the Markdown reference of table to f: one row per key path
 * ("kafka_settings.client_id", "sources[].name") with type, default, allowed
 * values and doc, after a header row. Returns 0, -EINVAL (NULL argument) or
 * -EIO (writing failed). */
int td_config_write_reference(const td_cfg_entry *table, FILE *f);

/* --- Table macros. Each checks the member's type at compile time. ---- */

#define TD_CFG__OFF(T, m, ctype) _Generic(&((T *)0)->m, ctype *: offsetof(T, m))
#define TD_CFG__TAIL(...) TD_CFG__TAIL2(__VA_ARGS__, 0u, 0)
#define TD_CFG__TAIL2(doc_, flags_, ...) .doc = (doc_), .flags = (flags_)

/* STRING: char *member. */
#define TD_CFG_STRING(key_, T, m, def_, ...)                                   \
    { .key = (key_), .type = TD_CFG_TYPE_STRING,                              \
      .offset = TD_CFG__OFF(T, m, char *), .def = (def_),                      \
      TD_CFG__TAIL(__VA_ARGS__) }
/* PATH: char *member. */
#define TD_CFG_PATH(key_, T, m, def_, ...)                                     \
    { .key = (key_), .type = TD_CFG_TYPE_PATH,                                \
      .offset = TD_CFG__OFF(T, m, char *), .def = (def_),                      \
      TD_CFG__TAIL(__VA_ARGS__) }
/* INT: int64_t member; def is text ("9092"); min..max inclusive. */
#define TD_CFG_INT(key_, T, m, def_, min_, max_, ...)                          \
    { .key = (key_), .type = TD_CFG_TYPE_INT,                                 \
      .offset = TD_CFG__OFF(T, m, int64_t), .def = (def_),                     \
      .min = (min_), .max = (max_), TD_CFG__TAIL(__VA_ARGS__) }
/* BOOL: bool member; def "true", "false" or NULL (false). */
#define TD_CFG_BOOL(key_, T, m, def_, ...)                                     \
    { .key = (key_), .type = TD_CFG_TYPE_BOOL,                                \
      .offset = TD_CFG__OFF(T, m, bool), .def = (def_),                        \
      TD_CFG__TAIL(__VA_ARGS__) }
/* ENUM: int member (not a C enum type); names is a NULL-terminated
 * `static const char *const names[]`; def is one of the names. */
#define TD_CFG_ENUM(key_, T, m, def_, names_, ...)                             \
    { .key = (key_), .type = TD_CFG_TYPE_ENUM,                                \
      .offset = TD_CFG__OFF(T, m, int), .def = (def_),                         \
      .enum_names = (names_), TD_CFG__TAIL(__VA_ARGS__) }
/* DURATION: int64_t member in ms; def and range in ms, def as text ("30s"). */
#define TD_CFG_DURATION(key_, T, m, def_, min_, max_, ...)                     \
    { .key = (key_), .type = TD_CFG_TYPE_DURATION,                            \
      .offset = TD_CFG__OFF(T, m, int64_t), .def = (def_),                     \
      .min = (min_), .max = (max_), TD_CFG__TAIL(__VA_ARGS__) }
/* SIZE: int64_t member in bytes; def as text ("64MiB"). */
#define TD_CFG_SIZE(key_, T, m, def_, min_, max_, ...)                         \
    { .key = (key_), .type = TD_CFG_TYPE_SIZE,                                \
      .offset = TD_CFG__OFF(T, m, int64_t), .def = (def_),                     \
      .min = (min_), .max = (max_), TD_CFG__TAIL(__VA_ARGS__) }
/* SECTION: a struct member, described by the table sub_. */
#define TD_CFG_SECTION(key_, T, m, sub_, ...)                                  \
    { .key = (key_), .type = TD_CFG_TYPE_SECTION,                             \
      .offset = offsetof(T, m), .sub = (sub_), TD_CFG__TAIL(__VA_ARGS__) }
/* STRINGS: char **m plus size_t count_. Defaults to empty. */
#define TD_CFG_STRINGS(key_, T, m, count_, ...)                                \
    { .key = (key_), .type = TD_CFG_TYPE_STRINGS,                             \
      .offset = TD_CFG__OFF(T, m, char **),                                    \
      .count_offset = TD_CFG__OFF(T, count_, size_t),                          \
      TD_CFG__TAIL(__VA_ARGS__) }
/* SECTIONS: ET *m plus size_t count_; each element is an ET described by
 * the table sub_. Defaults to empty. */
#define TD_CFG_SECTIONS(key_, T, m, count_, ET, sub_, ...)                     \
    { .key = (key_), .type = TD_CFG_TYPE_SECTIONS,                            \
      .offset = TD_CFG__OFF(T, m, ET *),                                       \
      .count_offset = TD_CFG__OFF(T, count_, size_t),                          \
      .sub = (sub_), .sub_size = sizeof(ET), TD_CFG__TAIL(__VA_ARGS__) }
/* KAFKA: td_kafka_props member. Every key is checked against librdkafka. */
#define TD_CFG_KAFKA(key_, T, m, ...)                                          \
    { .key = (key_), .type = TD_CFG_TYPE_KAFKA,                               \
      .offset = TD_CFG__OFF(T, m, td_kafka_props),                             \
      TD_CFG__TAIL(__VA_ARGS__) }
/* MAP: td_cfg_map member. Keys are any strings (not checked against a
 * table: that is the program's job, with the origins); values are strings,
 * with ${...} substitution. A null value of the whole key means empty. */
#define TD_CFG_MAP(key_, T, m, ...)                                            \
    { .key = (key_), .type = TD_CFG_TYPE_MAP,                                 \
      .offset = TD_CFG__OFF(T, m, td_cfg_map), TD_CFG__TAIL(__VA_ARGS__) }
/* MAPS: td_cfg_maps member: any string keys, each to a mapping as in MAP
 * (a null value there means an empty mapping). */
#define TD_CFG_MAPS(key_, T, m, ...)                                           \
    { .key = (key_), .type = TD_CFG_TYPE_MAPS,                                \
      .offset = TD_CFG__OFF(T, m, td_cfg_maps), TD_CFG__TAIL(__VA_ARGS__) }
#define TD_CFG_END { .key = NULL }

#endif
