/* tdt: the library behind tuodictl (docs/tuodictl.md). main.c only calls
 * tdt_main(); the tests in tests/ctl call the parts.
 *
 * Conventions (td_error.h): functions return 0 or a negative errno and write
 * out-parameters only on success; the human text goes into a td_error.
 * Nothing here logs; the commands print to the FILEs they are given. No
 * identity number is ever printed: alerts are shown by names, person keys are
 * never output (not even in csv or json), and texts the user types (a
 * verification reason) are refused when they hold one.
 *
 * Threads: one thread. The queue, roster and table objects are used by one
 * caller at a time.
 */
#ifndef TDT_H
#define TDT_H

#include "td_avro.h"
#include "td_config.h"
#include "td_error.h"
#include "td_kafka.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Exit status of every command. */
#define TDT_EXIT_OK 0
#define TDT_EXIT_FAILURE 1 /* Kafka unreachable, a topic conflict, ... */
#define TDT_EXIT_USAGE 2   /* bad arguments, bad config, invalid input */

/* The whole command line: "tuodictl [--config FILE] [--prefix P] COMMAND
 * ...". Prints to out and errf; returns the exit status. */
int tdt_main(int argc, char **argv, FILE *out, FILE *errf);

/* ---- configuration (tdt_config.c) ---------------------------------------- */

#define TDT_DEFAULT_CONFIG "/etc/tuodi/tuodictl.yaml"

/* Topic names: the same keys and defaults as tuodi-matchd's topics: section,
 * plus the connectors' offsets topic and the DLQ prefix. */
typedef struct tdt_topic_names {
    char *roster;
    char *medical_insurance;
    char *civil_affairs;
    char *human_resources;
    char *verifications_prefix; /* + county code, or + "unrouted" */
    char *dlq_roster;      /* dead letters: the connectors' and tuodi-matchd's */
    char *dlq_medical_insurance;
    char *dlq_civil_affairs;
    char *dlq_human_resources;
    char *dlq_verifications;
    char *alerts_prefix;   /* + county code, or + "unrouted" */
    char *suspects_prefix; /* + county code: tuodi-matchd's suspect lists */
    char *connect_offsets_prefix; /* + instance: tdc_config's topics.offsets default */
} tdt_topic_names;

typedef struct tdt_config {
    td_kafka_props kafka;
    char *schemas_dir;
    char *places;              /* the divisions CSV */
    char *topics_file;         /* deploy/topics.yaml, installed */
    char *acls_file;           /* deploy/acls.yaml, installed */
    char *topic_prefix;        /* "tuodi": names starting "tuodi." are renamed */
    int64_t replication_factor;/* 0: as the topics file says */
    int64_t timeout_ms;
    bool verbose;              /* not a key: -v shows librdkafka's own lines */
    tdt_topic_names topics;
    char **counties;           /* empty: every county of the places file */
    size_t ncounties;
} tdt_config;

extern const td_cfg_entry tdt_config_table[];
/* Where the build installs shared data (<prefix>/share/tuodi): the default
 * places file and schemas directory are under it. */
extern const char tdt_data_dir[];

/* Loads path into *out (zeroed on entry); _string: the YAML text yaml named
 * name (for tests). Checks county codes (6 digits). Errors as td_config:
 * every problem as FILE:LINE:COL. Topic names are as written: the caller
 * applies topic_prefix (or its --prefix) with tdt_config_set_prefix. */
int tdt_config_load(const char *path, tdt_config *out, td_error *err);
int tdt_config_load_string(const char *name, const char *yaml, tdt_config *out, td_error *err);
void tdt_config_free(tdt_config *c);

/* "tuodi.x" -> "<prefix>.x" (malloc'd). Names not starting with "tuodi."
 * are copied unchanged, and so is everything when prefix is "tuodi" or NULL.
 * NULL on ENOMEM. */
char *tdt_topic_rename(const char *name, const char *prefix);
/* Renames every name in c->topics under prefix (and records it in
 * c->topic_prefix). 0 or -ENOMEM. */
int tdt_config_set_prefix(tdt_config *c, const char *prefix);
/* The alert topic of a county ("340421") or "unrouted" (malloc'd). */
char *tdt_alert_topic(const tdt_config *c, const char *county);
/* The suspect topic of a county: topics.suspects_prefix + county, e.g.
 * tuodi.suspects.340421 (malloc'd; NULL on ENOMEM). */
char *tdt_suspect_topic(const tdt_config *c, const char *county);

/* The topics file (deploy/topics.yaml). */
enum { TDT_CLEANUP_DELETE = 0, TDT_CLEANUP_COMPACT = 1 };

typedef struct tdt_topic_def {
    char *name;
    int64_t partitions;
    int64_t replication_factor;
    int cleanup_policy;   /* TDT_CLEANUP_* */
    int64_t retention_ms; /* 0: the broker's default; -1 is not written */
    int64_t min_compaction_lag_ms; /* min.compaction.lag.ms; 0: the broker's default */
    char *doc;
    td_cfg_map config;    /* further topic configs, passed as written */
} tdt_topic_def;

typedef struct tdt_topics_file {
    tdt_topic_def *topics;
    size_t ntopics;
} tdt_topics_file;

extern const td_cfg_entry tdt_topics_file_table[];

/* Loads and checks the topics file: names unique (after prefix renaming in
 * tdt_topics_plan), compacted topics without retention, min_compaction_lag
 * on compacted topics only, config keys not repeating cleanup.policy,
 * retention.ms or min.compaction.lag.ms. */
int tdt_topics_file_load(const char *path, tdt_topics_file *out, td_error *err);
int tdt_topics_file_load_string(const char *name, const char *yaml, tdt_topics_file *out,
                                td_error *err);
void tdt_topics_file_free(tdt_topics_file *f);

/* ---- ACLs: the policy file and its tool (tdt_acl.c, tdt_kwire.c) --------- */

/* Kafka's codes (the protocol's, not librdkafka's enums: librdkafka 2.0.2
 * has no transactional id, see tdt_kwire.c). */
enum {
    TDT_ACL_TOPIC = 2,
    TDT_ACL_GROUP = 3,
    TDT_ACL_CLUSTER = 4,
    TDT_ACL_TRANSACTIONAL_ID = 5,
    TDT_ACL_LITERAL = 3,  /* pattern types */
    TDT_ACL_PREFIXED = 4,
    TDT_ACL_DENY = 2,     /* permission types */
    TDT_ACL_ALLOW = 3,
};

/* One ACL binding. Strings malloc'd, owned by the array holding it. */
typedef struct tdt_acl {
    int8_t restype;  /* TDT_ACL_TOPIC ... */
    char *name;      /* "kafka-cluster" for the cluster */
    int8_t pattern;  /* TDT_ACL_LITERAL or TDT_ACL_PREFIXED */
    char *principal; /* "User:name" */
    char *host;      /* "*" */
    int8_t op;       /* Kafka's operation code: 3 Read, 4 Write, 8 Describe ... */
    int8_t perm;     /* TDT_ACL_ALLOW or TDT_ACL_DENY */
} tdt_acl;

void tdt_acls_free(tdt_acl *a, size_t n);
const char *tdt_acl_op_name(int8_t op);
const char *tdt_acl_type_name(int8_t restype);

/* The policy file (deploy/acls.yaml): what each principal may do. */
enum { TDT_PATTERN_LITERAL = 0, TDT_PATTERN_PREFIXED = 1 };

typedef struct tdt_acl_rule {
    char *topic, *group, *transactional_id; /* exactly one of these ... */
    bool cluster;                           /* ... or this */
    int pattern;                            /* TDT_PATTERN_* */
    char **ops;
    size_t nops;
} tdt_acl_rule;

typedef struct tdt_acl_principal {
    char *user;       /* may hold {county} (with each_county) */
    char *doc;
    bool each_county;
    tdt_acl_rule *allow;
    size_t nallow;
} tdt_acl_principal;

typedef struct tdt_acl_policy {
    char **counties;
    size_t ncounties;
    char **keep;        /* users whose ACLs are left alone */
    size_t nkeep;
    char **super_users; /* documentation: the brokers' super.users */
    size_t nsuper_users;
    tdt_acl_principal *principals;
    size_t nprincipals;
} tdt_acl_policy;

extern const td_cfg_entry tdt_acl_policy_table[];

/* Loads and checks the policy (zero *out first): unknown operations (with
 * a suggestion), a rule naming no or two resources, users repeated or also
 * kept, {county} without each_county, county codes. FILE:LINE:COL for what
 * td_config finds, FILE: principals[i] (user) allow[j] for the rest. */
int tdt_acl_policy_load(const char *path, tdt_acl_policy *out, td_error *err);
int tdt_acl_policy_load_string(const char *name, const char *yaml, tdt_acl_policy *out,
                               td_error *err);
void tdt_acl_policy_free(tdt_acl_policy *p);

/* Every binding the policy grants, topic names under prefix (as
 * tdt_topic_rename), sorted and without repeats. */
int tdt_acl_policy_expand(const tdt_acl_policy *p, const char *prefix, tdt_acl **ret,
                          size_t *ret_n, td_error *err);

/* What to add (in want, not in have) and remove (in have, not in want, not
 * of a kept user). Sorts have. The plan points into want and have. */
typedef struct tdt_acl_plan_t {
    tdt_acl **add, **remove;
    size_t nadd, nremove, same, kept;
} tdt_acl_plan_t;
int tdt_acl_plan(const tdt_acl_policy *p, tdt_acl *want, size_t nwant, tdt_acl *have,
                 size_t nhave, tdt_acl_plan_t *plan, td_error *err);
void tdt_acl_plan_free(tdt_acl_plan_t *plan);
/* "+ allow User:x Write topic tuodi.y" ("*" after a prefixed name). */
void tdt_acl_print(FILE *out, char sign, const tdt_acl *a);

/* tuodictl acls apply: prints the plan (+ and - lines and a summary line)
 * and, unless dry, makes the brokers' ACLs equal to the policy. -EACCES
 * when the user may not (the admin must run it). */
int tdt_acl_apply(const tdt_config *cfg, const tdt_acl_policy *p, bool dry, FILE *out,
                  td_error *err);

/* The Kafka connection of tuodictl acls (tdt_kwire.c): cfg's kafka:
 * settings (bootstrap.servers, security.protocol, sasl.* with PLAIN,
 * ssl.*). Blocking, timeout_ms per step. */
typedef struct tdt_kwire tdt_kwire;
int tdt_kwire_open(const td_kafka_props *props, int timeout_ms, tdt_kwire **ret, td_error *err);
void tdt_kwire_close(tdt_kwire *w);
const char *tdt_kwire_user(const tdt_kwire *w);
/* Every ACL of the cluster. */
int tdt_kwire_describe_acls(tdt_kwire *w, tdt_acl **ret, size_t *ret_n, td_error *err);
int tdt_kwire_create_acls(tdt_kwire *w, const tdt_acl *a, size_t n, td_error *err);
/* Deletes exactly these bindings (one exact filter each). */
int tdt_kwire_delete_acls(tdt_kwire *w, const tdt_acl *a, size_t n, td_error *err);

/* ---- places (tdt_places.c) ------------------------------------------------ */

typedef struct tdt_places tdt_places;

/* Reads the divisions CSV (header code,name,parent_code,level,county_code,
 * county_name; 12-digit codes). -ENOENT etc. if unreadable, -EINVAL with
 * file:line for a bad row. */
int tdt_places_load(const char *path, tdt_places **ret, td_error *err);
tdt_places *tdt_places_free(tdt_places *p);
/* The name of a division: code of 6 (county), 9 (township) or 12 digits
 * (padded with zeros to 12). NULL when unknown (or p NULL). */
const char *tdt_places_name(const tdt_places *p, const char *code);
/* The county codes (6 digits) in file order. */
size_t tdt_places_ncounties(const tdt_places *p);
const char *tdt_places_county(const tdt_places *p, size_t i);
/* The file it was read from. */
const char *tdt_places_path(const tdt_places *p);

typedef enum tdt_level {
    TDT_LEVEL_NONE = 0, /* not in the file, or another level (city) */
    TDT_LEVEL_COUNTY,   /* level "county": code of 6 digits */
    TDT_LEVEL_TOWNSHIP, /* level "town": 9 digits */
    TDT_LEVEL_VILLAGE,  /* level "village": 12 digits */
} tdt_level;

/* What code (6, 9 or 12 digits, as tdt_places_name takes it) is in the file:
 * a county only as 6 digits, a township only as 9. */
tdt_level tdt_places_level(const tdt_places *p, const char *code);

/* The counties (county NULL) or the townships of county whose code or name
 * comes close to what a user typed: a code that what starts or that starts
 * with what, a name that holds what or that what holds, else a code one
 * edit from what. Writes up to max of their codes (6 or 9 digits, borrowed
 * from p) into ret, closest first, then in file order; returns how many. */
size_t tdt_places_suggest(const tdt_places *p, const char *county, const char *what,
                          const char **ret, size_t max);
/* Every county (county NULL) or township of county, in file order: up to max
 * codes into ret; returns how many there are (which may be more). */
size_t tdt_places_list(const tdt_places *p, const char *county, const char **ret, size_t max);

/* ---- the alert fold (tdt_fold.c) ------------------------------------------ */

typedef enum tdt_kind {
    TDT_KIND_UNKNOWN = 0,
    TDT_KIND_ALERT,
    TDT_KIND_OVERDUE_WARNING,
    TDT_KIND_CLOSED,
} tdt_kind;

/* The VerificationResult symbols, in schema order. */
typedef enum tdt_outcome {
    TDT_OUTCOME_UNKNOWN = 0,
    TDT_OUTCOME_IDENTIFIED,
    TDT_OUTCOME_ALREADY_MONITORED,
    TDT_OUTCOME_DISMISSED,
    TDT_OUTCOME_COULD_NOT_REACH,
    TDT_OUTCOME_DEPARTMENT_DATA_WRONG, /* suspects only (tuodictl verify sus-...) */
    TDT_OUTCOME_N,
} tdt_outcome;

/* One Alert message as read; strings borrowed (NULL: Avro null). */
typedef struct tdt_alert_msg {
    const char *alert_id;
    tdt_kind kind;
    const char *rule_id;
    const char *rule_name;
    const char *risk_code;
    const char *severity;    /* symbol: LOW, MEDIUM, HIGH, UNKNOWN */
    const char *household_id;
    const char *person_name;
    const char *head_name;
    const char *village_code;
    const char *township_code;
    const char *county_code;
    int64_t raised_at;
    int32_t visit_due_date;
    int32_t procedure_due_date;
    const char *message;
    bool has_closure;
    tdt_outcome outcome;
    const char *category;    /* symbol or NULL */
    const char *reason;
    const char *outcome_id;
    int32_t visit_date;
    int64_t recorded_at;
    const char *supersedes_alert_id;
} tdt_alert_msg;

typedef enum tdt_state {
    TDT_STATE_OPEN = 0,
    TDT_STATE_CLOSED,
    TDT_STATE_SUPERSEDED,
} tdt_state;

/* One alert as folded from its messages; strings owned by the queue. */
typedef struct tdt_alert {
    char *alert_id;
    char *rule_id, *rule_name, *risk_code, *severity;
    char *household_id, *person_name, *head_name;
    char *village_code, *township_code, *county_code;
    char *message;
    int64_t raised_at;        /* of the first ALERT message seen */
    int32_t visit_due_date, procedure_due_date;
    tdt_state state;
    bool overdue_warned;      /* an OVERDUE_WARNING came */
    bool seen_alert;          /* an ALERT message came (else only later kinds) */
    tdt_outcome outcome;      /* when CLOSED */
    char *category, *reason, *outcome_id;
    int32_t visit_date;
    int64_t recorded_at;
    char *supersedes;         /* this one replaced that one */
    char *superseded_by;      /* that one replaced this one */
    size_t order;             /* first-seen order */
} tdt_alert;

typedef struct tdt_queue tdt_queue;

int tdt_queue_new(tdt_queue **ret);
tdt_queue *tdt_queue_free(tdt_queue *q);
/* Folds one message (in topic order): ALERT opens (or refreshes) the alert,
 * and with supersedes_alert_id marks the older one SUPERSEDED;
 * OVERDUE_WARNING marks it overdue; CLOSED closes it with the outcome. Every
 * message is a full snapshot, so a later kind for an alert never seen opens
 * it from its own fields. UNKNOWN kinds are ignored (return 0, *ret NULL).
 * *ret (may be NULL) is the alert touched, valid until the next apply.
 * -EINVAL without alert_id; -ENOMEM. */
int tdt_queue_apply(tdt_queue *q, const tdt_alert_msg *m, const tdt_alert **ret);
size_t tdt_queue_count(const tdt_queue *q);
const tdt_alert *tdt_queue_at(const tdt_queue *q, size_t i);
const tdt_alert *tdt_queue_find(const tdt_queue *q, const char *alert_id);

/* tuodi-matchd's alert ids are 64 lower-case hex characters; the table shows
 * the first 12. A shortened id is looked up on the queue as a prefix of at
 * least TDT_ALERT_PREFIX_MIN characters. */
#define TDT_ALERT_ID_LEN 64
#define TDT_ALERT_PREFIX_MIN 8
/* True when id is 1 to 63 lower-case hex digits: the start of one of
 * tuodi-matchd's ids, not a whole one. */
bool tdt_alert_id_shortened(const char *id);
/* The alert that id names on q: the one with exactly that id, else the only
 * one whose id starts with id. Returns 0 (*ret_n 1), -ENOENT (none),
 * -ENOTUNIQ (*ret_n alerts start with id) or -EINVAL (no exact match, some
 * start with id, but it is shorter than TDT_ALERT_PREFIX_MIN: not guessed;
 * *ret_n as for -ENOTUNIQ). Up to max of the alerts found go to ret
 * (borrowed, valid until the next apply). */
int tdt_queue_resolve(const tdt_queue *q, const char *id, const tdt_alert **ret, size_t max,
                      size_t *ret_n);

/* Open and past its visit due date on today, or an OVERDUE_WARNING came. */
bool tdt_alert_overdue(const tdt_alert *a, int32_t today);

/* The alerts to show: open ones (all states when all), of township (9
 * digits, NULL: any), sorted by visit due date, then raised_at, then id.
 * *ret is a malloc'd array of borrowed pointers (free() it). */
int tdt_queue_select(const tdt_queue *q, bool all, const char *township,
                     const tdt_alert ***ret, size_t *ret_n);

/* Reads an Alert value (current alert.avsc as reader) into *ret; strings
 * borrowed from v. -EINVAL naming the field when the value is not an Alert. */
int tdt_alert_msg_from_avro(const avro_value_t *v, tdt_alert_msg *ret, td_error *err);

/* Today's date in China Standard Time (UTC+8) at wall_ms. */
int32_t tdt_day_cst(int64_t wall_ms);
/* The first millisecond of day (days since 1970-01-01) in China Standard
 * Time: 00:00 CST, 16:00 UTC the day before. */
int64_t tdt_day_cst_start_ms(int32_t day);

/* Words for people. */
const char *tdt_risk_words(const char *risk_code);          /* "因病"; NULL unknown */
const char *tdt_severity_words(const char *symbol);         /* 高 中 低 未知 */
const char *tdt_outcome_symbol(tdt_outcome o);
const char *tdt_outcome_words(tdt_outcome o);               /* 排除 ... */
const char *tdt_category_words(const char *symbol);         /* 边缘易致贫户 ... */

/* Per county report figures. */
typedef struct tdt_stats {
    size_t raised;      /* alerts seen (superseded ones included) */
    size_t open;        /* open (overdue included) */
    size_t overdue;     /* open and overdue */
    size_t closed;
    size_t superseded;
    size_t by_outcome[TDT_OUTCOME_N]; /* closed, by outcome */
    size_t monitored;   /* roster households MONITORED or RISK_ELIMINATED */
    size_t eliminated;  /* RISK_ELIMINATED */
} tdt_stats;

/* Adds q's alerts to *s (counts as of today). */
void tdt_queue_stats(const tdt_queue *q, int32_t today, tdt_stats *s);

/* The roster's monitoring state and persons per household: last value per
 * key, a tombstone deletes. */
enum { TDT_MON_UNKNOWN = 0, TDT_MON_NOT_MONITORED, TDT_MON_MONITORED, TDT_MON_ELIMINATED };

typedef struct tdt_roster tdt_roster;
int tdt_roster_new(tdt_roster **ret);
tdt_roster *tdt_roster_free(tdt_roster *r);
/* village_code NULL: tombstone. persons: the household's members on the
 * roster. 0 or -ENOMEM. */
int tdt_roster_apply(tdt_roster *r, const char *household_id, const char *village_code,
                     int state, size_t persons);
/* Adds the county's households (first 6 digits of village) to s. */
void tdt_roster_stats(const tdt_roster *r, const char *county, tdt_stats *s);
size_t tdt_roster_count(const tdt_roster *r);
/* Persons (members) of the households on the roster whose village code
 * starts with code (a county's 6 digits, a township's 9, a village's 12). */
size_t tdt_roster_persons(const tdt_roster *r, const char *code);
/* Calls fn for every household on the roster (tombstoned ones not), in
 * first-seen order, with its village code and persons. */
void tdt_roster_each(const tdt_roster *r,
                     void (*fn)(const char *village, size_t persons, void *opaque), void *opaque);
/* Reads a Household value's household_id, village_code, monitoring state
 * and (ret_persons, may be NULL) the number of its members. */
int tdt_household_from_avro(const avro_value_t *v, const char **ret_id, const char **ret_village,
                            int *ret_state, size_t *ret_persons, td_error *err);

/* Share in basis points (1/100 %) of part in whole, rounded half up; -1 when
 * whole is 0. */
int64_t tdt_share_bp(size_t part, size_t whole);


/* ---- output (tdt_format.c) ------------------------------------------------ */

typedef enum tdt_format {
    TDT_FMT_TABLE = 0,
    TDT_FMT_CSV,
    TDT_FMT_JSON,
} tdt_format;

/* "table", "csv", "json". 0 or -EINVAL. */
int tdt_format_parse(const char *s, tdt_format *ret);

/* Columns a terminal gives the UTF-8 text s: 2 for East Asian wide and
 * full-width characters (CJK, Hangul, full-width forms), 0 for combining
 * marks, 1 otherwise (invalid bytes count 1 each). */
size_t tdt_display_width(const char *s);

typedef struct tdt_column {
    const char *key;    /* json member and csv header */
    const char *header; /* table header, for people */
    bool number;        /* json: written as a number when the cell is one */
} tdt_column;

typedef struct tdt_table {
    const tdt_column *cols;
    size_t ncols;
    char **cells;       /* nrows * ncols, owned */
    size_t nrows, cap;
} tdt_table;

void tdt_table_init(tdt_table *t, const tdt_column *cols, size_t ncols);
/* Copies ncols cells (NULL is written as ""). 0 or -ENOMEM. */
int tdt_table_add(tdt_table *t, const char *const *cells);
void tdt_table_done(tdt_table *t);
/* Writes the table: aligned text with a header (table), RFC 4180 csv with a
 * header row and CRLF line ends (csv), or a JSON array of objects (json:
 * an empty cell is null, a number column's numeric cell a number, every
 * other cell a string). */
void tdt_table_write(const tdt_table *t, tdt_format fmt, FILE *f);
/* Writes rows [from, nrows) without a header: table rows aligned to widths
 * computed over the whole table, csv rows, or one JSON object per line. */
void tdt_table_write_rows(const tdt_table *t, size_t from, tdt_format fmt, FILE *f);
void tdt_csv_field(FILE *f, const char *s);
void tdt_json_string(FILE *f, const char *s);

/* ---- dates on the command line (tdt_fold.c) -------------------------------- */

/* Parses a YYYY-MM-DD date given as option opt (e.g. "--visit-date") into
 * days since 1970-01-01. -EINVAL saying what is wrong: the form ("expected
 * YYYY-MM-DD, e.g. 2023-05-06"), or the date ("2023-02-30 is not a date:
 * February 2023 has 28 days"). */
int tdt_date_arg(const char *opt, const char *s, int32_t *ret, td_error *err);

/* ---- the suspicious-data list, 疑点数据清单 (tdt_fold.c) -------------------- */

typedef enum tdt_suspect_kind {
    TDT_SUSPECT_UNKNOWN = 0,  /* a symbol newer than schemas/suspect.avsc: ignored */
    TDT_SUSPECT_RAISED,
    TDT_SUSPECT_RESOLVED,
    TDT_SUSPECT_CLOSED,
} tdt_suspect_kind;

/* One Suspect message as read (schemas/suspect.avsc); strings borrowed (NULL:
 * Avro null). The person key is not read: it is never shown. */
typedef struct tdt_suspect_msg {
    const char *suspect_id;
    tdt_suspect_kind kind;
    const char *indicator_id, *indicator_name, *fix_hint;
    const char *household_id, *village_code, *township_code, *county_code;
    const char *head_name, *person_name, *roster_value, *department_value;
    int64_t raised_at;          /* ms since 1970 */
    int32_t fix_due_date;       /* days since 1970 */
    bool has_resolution;        /* RESOLVED */
    int64_t resolved_at;
    bool has_closure;           /* CLOSED */
    tdt_outcome outcome;
    const char *reason, *outcome_id;
    int64_t recorded_at;
} tdt_suspect_msg;

typedef enum tdt_suspect_state {
    TDT_SSTATE_OPEN = 0,   /* RAISED: 待整改 (逾期未整改 past the fix due date) */
    TDT_SSTATE_RESOLVED,   /* 整改到位: a later roster or department record agrees */
    TDT_SSTATE_CLOSED,     /* 部门数据有误: closed by a verified outcome */
} tdt_suspect_state;

/* One suspect: its latest message (every message is a full snapshot).
 * Strings owned by the list. */
typedef struct tdt_suspect {
    char *suspect_id;
    char *indicator_id, *indicator_name, *fix_hint;
    char *household_id, *village_code, *township_code, *county_code;
    char *head_name, *person_name, *roster_value, *department_value;
    int64_t raised_at;
    int32_t fix_due_date;
    tdt_suspect_state state;
    int64_t resolved_at;      /* RESOLVED */
    tdt_outcome outcome;      /* CLOSED */
    char *reason, *outcome_id;
    int64_t recorded_at;      /* CLOSED: when the outcome was recorded */
    size_t order;             /* first-seen order */
} tdt_suspect;

typedef struct tdt_suspects tdt_suspects;

int tdt_suspects_new(tdt_suspects **ret);
tdt_suspects *tdt_suspects_free(tdt_suspects *l);
/* Folds one message (in topic order): the latest message per suspect_id
 * wins, whole (RAISED opens, RESOLVED and CLOSED end it; a RAISED after
 * the end opens it again, as the topic says). UNKNOWN kinds are ignored
 * (0, *ret NULL). *ret (may be NULL) is the suspect touched, valid until
 * the next apply. -EINVAL without suspect_id; -ENOMEM. */
int tdt_suspects_apply(tdt_suspects *l, const tdt_suspect_msg *m, const tdt_suspect **ret);
size_t tdt_suspects_count(const tdt_suspects *l);
const tdt_suspect *tdt_suspects_at(const tdt_suspects *l, size_t i);
/* The suspect that id names on l: exactly, else the only one whose id starts
 * with id when id has at least TDT_SUSPECT_PREFIX_MIN characters. Returns as
 * tdt_queue_resolve. */
#define TDT_SUSPECT_PREFIX_MIN 12 /* "sus-" and 8 hex: what the table shows */
int tdt_suspects_resolve(const tdt_suspects *l, const char *id, const tdt_suspect **ret,
                         size_t max, size_t *ret_n);
/* True when id names a suspect (starts with "sus-"), not an alert. */
bool tdt_suspect_id_is(const char *id);

/* Open and today is after its fix due date. */
bool tdt_suspect_overdue(const tdt_suspect *s, int32_t today);

/* The list townships receive: open suspects (every state when all), of
 * township (9 digits) and village (12 digits) when not NULL, grouped: sorted
 * by township code, village code, household id, person name, raised_at, id.
 * *ret is a malloc'd array of borrowed pointers (free() it). */
int tdt_suspects_select(const tdt_suspects *l, bool all, const char *township,
                        const char *village, const tdt_suspect ***ret, size_t *ret_n);

/* Reads a Suspect value (current suspect.avsc as reader) into *ret; strings
 * borrowed from v. -EINVAL naming the field when the value is not one. */
int tdt_suspect_msg_from_avro(const avro_value_t *v, tdt_suspect_msg *ret, td_error *err);

/* Words for people: 待整改, 逾期未整改, 整改到位, 部门数据有误. */
const char *tdt_suspect_state_words(const tdt_suspect *s, int32_t today);
/* Machine symbols: open, overdue, resolved, closed. */
const char *tdt_suspect_state_symbol(const tdt_suspect *s, int32_t today);

/* The data-quality figures of a county or township over the days [from, to]
 * (China time; INT32_MIN: from the beginning):
 *  - raised: suspects raised in the period;
 *  - open: raised on or before `to` and neither resolved nor closed on or
 *    before `to` (open at the end of the period);
 *  - resolved: RESOLVED in the period (整改到位), resolved_in_time those of
 *    them resolved on or before their fix due date (20 working days);
 *  - closed: CLOSED in the period (department data wrong), by the day its
 *    outcome was recorded;
 *  - persons: members of the roster's households there (the roster as it is
 *    now: latest per household, tombstones removed). */
typedef struct tdt_quality {
    size_t raised, open, resolved, resolved_in_time, closed;
    size_t persons;
} tdt_quality;

/* Adds s to q as the comment above says. */
void tdt_quality_add(tdt_quality *q, const tdt_suspect *s, int32_t from, int32_t to);

/* part per 1,000 of whole in hundredths of a per mille (123 is 1.23‰),
 * rounded half up: (part * 100000 * 2 + whole) / (2 * whole); -1 when whole
 * is 0. */
int64_t tdt_per_mille_x100(size_t part, size_t whole);

/* One row of the quality ranking: a county (6 digits) or a township (9). */
typedef struct tdt_quality_row {
    char code[13];
    tdt_quality q;
    int64_t rate;   /* open per 1,000 roster persons, tdt_per_mille_x100 */
    size_t rank;    /* 1 is best; equal rates share a rank (1, 1, 3) */
} tdt_quality_row;

/* Sets rate and sorts v best first (the province's quarterly notice): the
 * lowest rate first, rows without roster persons (rate -1) last; equal
 * rates by fewer open suspects, then by code. Sets rank. */
void tdt_quality_rank(tdt_quality_row *v, size_t n);

/* The county's row and its townships' rows (those with roster persons or
 * suspects) from the county's suspect list l (may be NULL) and the roster r
 * over [from, to]; the township rows ranked. *ret_towns malloc'd. */
int tdt_quality_county(const tdt_suspects *l, const tdt_roster *r, const char *county,
                       int32_t from, int32_t to, tdt_quality_row *ret_county,
                       tdt_quality_row **ret_towns, size_t *ret_ntowns);

/* Writes the report --quality rows (tdt_cmd.c): the counties ranked (n of
 * them, counties[i]'s townships towns[i], ntowns[i] of them, ranked), the
 * row of the suspects without a village (unrouted, code "unrouted", not
 * ranked; NULL: none), the total (unrouted included), then each county's
 * townships in the counties' rank order. table:
 * a title with the period [from, to] (from INT32_MIN: the beginning), the
 * rows, a line stating the formulas; csv: a UTF-8 byte-order mark (Excel),
 * RFC 4180; json: an array of objects. 0 or -ENOMEM. */
int tdt_quality_write(const tdt_quality_row *counties, tdt_quality_row *const *towns,
                      const size_t *ntowns, size_t n, const tdt_quality_row *unrouted,
                      const tdt_places *places, int32_t from, int32_t to, tdt_format fmt,
                      FILE *out);

/* Writes the list of l that tuodictl suspects shows (tdt_cmd.c): the
 * suspects tdt_suspects_select picks (all, township, village), numbered
 * 序号 1.. in that order. table: a title (疑点数据清单, the place, today), the
 * Chinese columns, the suspect id shortened to 12 characters, a count line;
 * csv (for Excel): a UTF-8 byte-order mark, the same Chinese headers, the
 * whole ids, CRLF; json: one object per line with English keys. Place names
 * from places (codes when unknown). Never a person key. 0 or -ENOMEM. */
int tdt_suspects_write(const tdt_suspects *l, const tdt_places *places, const char *county,
                       const char *township, const char *village, bool all, int32_t today,
                       tdt_format fmt, FILE *out);

/* "2024Q1" -> 2024-01-01 and 2024-03-31 (days since 1970). -EINVAL with the
 * form expected. */
int tdt_quarter_arg(const char *s, int32_t *ret_from, int32_t *ret_to, td_error *err);

/* ---- dead letters (tdt_dlq.c) ---------------------------------------------- */

/* The datasets whose dead letters are on a topic of their own: the topic is
 * the config's topics.dlq_<name>. NULL-terminated. */
extern const char *const tdt_dlq_datasets[];
/* The topic of dataset (a name of tdt_dlq_datasets) in c; NULL if unknown. */
const char *tdt_dlq_topic(const tdt_config *c, const char *dataset);

/* One dead letter as read (docs/connector.md, "Dead letters"): written by a
 * connector (tuodi.connector: a row of a file or table) or by tuodi-matchd
 * (tuodi.matchd: a record of topic/partition/offset). Strings are owned, as
 * the headers hold them (NULL: header absent), NOT masked: every text
 * printed goes through tdt_dead_letter_row or tdt_dlq_summary, which mask
 * identity numbers. value is the row as read (personal data), owned. */
typedef struct tdt_dead_letter {
    int64_t timestamp;        /* the Kafka record's, ms since 1970 */
    int32_t dlq_partition;
    int64_t dlq_offset;
    bool matchd;              /* tuodi.matchd; else tuodi.connector */
    char *instance;           /* tuodi.connector or tuodi.matchd */
    char *dataset, *location, *column, *reason, *stage, *record_id;
    int64_t row, line;        /* -1: absent or not a number */
    char *topic;              /* matchd's: where the record was */
    int32_t partition;        /* -1: absent */
    int64_t offset;           /* -1: absent */
    int64_t source_bytes;     /* -1: absent */
    bool truncated;           /* tuodi.truncated: true */
    char *value;              /* NUL-terminated copy; NULL: none */
    size_t value_len;
} tdt_dead_letter;

/* Fills *ret (zeroed on entry) from a dead letter's headers h (may be NULL)
 * and its value (may be NULL). 0 or -ENOMEM (then *ret is freed). */
int tdt_dead_letter_parse(const rd_kafka_headers_t *h, const void *value, size_t value_len,
                          tdt_dead_letter *ret);
void tdt_dead_letter_done(tdt_dead_letter *d);

/* The selection of dead-letters: NULL / INT64_MIN fields select all. */
typedef struct tdt_dlq_filter {
    const char *connector;    /* tuodi.connector equal to this (matchd's never) */
    const char *location;     /* tuodi.location equal to this (matchd's never) */
    int64_t since_ms;         /* timestamp >= this */
} tdt_dlq_filter;

bool tdt_dlq_match(const tdt_dead_letter *d, const tdt_dlq_filter *f);

/* Sorts v oldest first: by timestamp, then DLQ partition and offset. */
void tdt_dlq_sort(tdt_dead_letter *v, size_t n);

/* The columns of the table (people) and of csv and json (machines). Neither
 * holds the row itself. */
extern const tdt_column tdt_dlq_cols_table[];
extern const size_t tdt_dlq_ncols_table;
extern const tdt_column tdt_dlq_cols_machine[];
extern const size_t tdt_dlq_ncols_machine;

/* Initialises t with fmt's columns (tdt_table_done frees it). */
void tdt_dlq_table_init(tdt_table *t, tdt_format fmt);
/* Adds d's row in fmt's columns, every text masked with td_log_redact. The
 * table shows time in China Standard Time (YYYY-MM-DD HH:MM:SS), csv and
 * json in UTC (ISO 8601 with ms). 0 or -ENOMEM. */
int tdt_dead_letter_row(tdt_table *t, const tdt_dead_letter *d, tdt_format fmt);

/* "N dead letters: a.csv 3, b.csv 1, tuodi-matchd 2" (the counts by
 * location, in order of first appearance, the first 10 by name and the
 * rest as ", K more files M"; matchd's together) and a line end, masked. */
void tdt_dlq_summary(const tdt_dead_letter *v, size_t n, FILE *f);

/* What tdt_dlq_write_rows wrote and left out. */
typedef struct tdt_dlq_rows_stats {
    size_t written;
    size_t matchd;      /* tuodi-matchd's: a record, not a row of a file */
    size_t table;       /* a row of a database table (tuodi.record_id): JSON */
    size_t truncated;   /* only the row's beginning is in the topic */
    size_t no_value;
    size_t locations;   /* distinct locations of the rows written */
} tdt_dlq_rows_stats;

/* Writes the rows of v to f as a CSV file: a UTF-8 byte-order mark, then
 * header_line (without its line end; NULL: none) and CRLF, then every
 * connector dead letter's value exactly as in the topic (the row as read,
 * converted to UTF-8, without its line end) and CRLF. Left out and counted:
 * matchd's, rows of a database table (they have a tuodi.record_id and are
 * JSON, fixed in the database), truncated ones, those without a value.
 * 0 or -errno of a failed write. */
int tdt_dlq_write_rows(const tdt_dead_letter *v, size_t n, const char *header_line, FILE *f,
                       tdt_dlq_rows_stats *ret);

/* The header line of a department's file at path (e.g. the spool's
 * finished/NAME): its first line without the line end, a UTF-8 BOM dropped,
 * converted from GB18030 when it is not valid UTF-8 (as the connector's
 * encoding: auto). *ret malloc'd. 0, -ENOENT etc., or -EINVAL (empty, no
 * line end within 64 KiB, not convertible), with the text in err. */
int tdt_dlq_read_header(const char *path, char **ret, td_error *err);

/* ---- Kafka (tdt_kafka.c) -------------------------------------------------- */

/* librdkafka's own log lines and client errors, for one client: shown
 * through td_log (as the other programs show them) only when verbose (-v);
 * the last error or warning is kept either way for the one-line summary of a
 * failure. The callbacks run on librdkafka's threads; the struct must outlive
 * the client. */
typedef struct tdt_kafka_diag {
    pthread_mutex_t lock;
    bool verbose;
    char last[320];  /* the last error librdkafka reported; "" none */
    bool following;  /* --follow after the catch-up (the polling thread's) */
    bool told_down;  /* "every broker is down" said since the last message */
} tdt_kafka_diag;

void tdt_kafka_diag_init(tdt_kafka_diag *d, bool verbose);
/* Whether a client error (code: rd_kafka_resp_err_t) is told without -v:
 * only that every broker is down while following, once until a message
 * comes again (d->told_down cleared). Called on the polling thread. */
bool tdt_kafka_diag_notice(tdt_kafka_diag *d, int code);
void tdt_kafka_diag_done(tdt_kafka_diag *d);
/* Puts d's log and error callbacks on conf instead of td_kafka's (and d as
 * the conf's opaque). */
void tdt_kafka_diag_install(tdt_kafka_diag *d, rd_kafka_conf_t *conf);
/* The summary of a broker that did not answer, as -ETIMEDOUT: what failed
 * (head, formatted), librdkafka's last error, what to check (the bootstrap
 * address, the broker, the network, TLS or SASL, in an order the error
 * suggests), that -v shows librdkafka's lines, then tail (may be NULL). */
int tdt_kafka_unreachable(tdt_kafka_diag *d, const char *tail, td_error *err,
                          const char *head, ...)
    __attribute__((format(printf, 4, 5)));

/* td_kafka_metadata() in short tries until timeout_ms has passed, so that
 * a refusal (td_kafka_refused: a wrong password, an untrusted certificate)
 * ends the wait at once. */
rd_kafka_resp_err_t tdt_kafka_metadata(rd_kafka_t *rk, int64_t timeout_ms,
                                       const struct rd_kafka_metadata **ret);
/* For a topic missing from a Metadata answer of all topics: asks for it by
 * name and returns -EACCES if this user may not Describe it (saying so with
 * the user, operation and the topic, td_kafka_refusal_error: operation is
 * what the caller meant to do, "Read" or "Write", which Kafka's ACLs make
 * imply Describe; NULL: "Describe"), else -ENOENT, "topic TOPIC does not
 * exist: what_to_do". */
int tdt_kafka_topic_missing(rd_kafka_t *rk, const tdt_config *c, const char *topic,
                            const char *operation,
                            const char *what_to_do, td_error *err);

/* The schemas (schemas_dir and its history/). */
int tdt_registry_load(const tdt_config *c, td_avro_registry **ret, td_error *err);

typedef int (tdt_msg_fn)(const rd_kafka_message_t *m, void *opaque);
typedef int (tdt_caught_up_fn)(void *opaque);

/* Reads topics from the beginning, read_committed, without a consumer group
 * commit: every partition assigned, each message to fn (a non-zero return
 * stops the read and is returned). When every partition is at its end,
 * caught_up (may be NULL) runs; with follow the read goes on until SIGINT or
 * SIGTERM (td_signal), else it returns 0. A topic that does not exist is an
 * error (-ENOENT, saying what to do) unless missing_ok (then it is skipped).
 * -ETIMEDOUT when the broker does not answer within c->timeout_ms, or
 * nothing arrives for that long before the end is reached. */
int tdt_kafka_read(const tdt_config *c, const char *const *topics, size_t ntopics,
                   bool missing_ok, bool follow, tdt_msg_fn *fn, tdt_caught_up_fn *caught_up,
                   void *opaque, td_error *err);

/* ---- topics create (tdt_topics.c) ----------------------------------------- */

typedef enum tdt_topic_status {
    TDT_TOPIC_CREATE = 0,  /* missing: created (or would be) */
    TDT_TOPIC_OK,          /* exists with the same partitions and policy */
    TDT_TOPIC_CONFLICT,    /* exists with other partitions or policy */
} tdt_topic_status;

typedef struct tdt_topic_plan {
    char *name;              /* after renaming */
    const tdt_topic_def *def;
    int replication_factor;  /* after the override */
    tdt_topic_status status;
    char note[256];          /* what differs, for people */
} tdt_topic_plan;

/* The topics of f renamed under prefix, replication overridden when
 * rf_override > 0. -EINVAL when two names collide. *ret malloc'd; free with
 * tdt_topics_plan_free. */
int tdt_topics_plan(const tdt_topics_file *f, const char *prefix, int rf_override,
                    tdt_topic_plan **ret, size_t *ret_n, td_error *err);
void tdt_topics_plan_free(tdt_topic_plan *p, size_t n);
/* Asks the broker which topics exist and with what partitions and configs,
 * filling status and note; then, unless dry_run, creates the missing ones
 * and waits until they have leaders. Prints one line per topic to out.
 * Returns 0 (every topic created or ok), -EEXIST (a conflict; the others
 * were still created) or another error. */
int tdt_topics_create(const tdt_config *c, tdt_topic_plan *p, size_t n, bool dry_run,
                      FILE *out, td_error *err);

/* ---- verify (tdt_verify.c) ------------------------------------------------ */

typedef struct tdt_verify_input {
    const char *alert_id;
    const char *outcome;    /* symbol or word (dismissed, 排除, ...) */
    const char *category;   /* symbol or word, or NULL */
    const char *reason;     /* or NULL */
    const char *verifier;
    const char *reviewer;
    const char *visit_date; /* YYYY-MM-DD, NULL: today (CST) */
    const char *outcome_id; /* NULL: a new UUID */
    bool lookup;            /* the id will be looked up on a county's queue
                               (--county): a shortened id is allowed */
    int64_t now_ms;         /* recorded_at */
} tdt_verify_input;

typedef struct tdt_verification {
    char alert_id[129];
    tdt_outcome outcome;
    const char *category;   /* static symbol or NULL */
    char *reason;           /* trimmed, or NULL */
    char *verifier, *reviewer; /* trimmed */
    int32_t visit_date;
    int64_t recorded_at;
    char outcome_id[129];
} tdt_verification;

/* Checks in what tuodi-matchd would reject (alert id, outcome, category for
 * IDENTIFIED only, reason for DISMISSED, the two-person rule), and more: no
 * identity number in the reason, a visit date not in the future. -EINVAL
 * with a message that says what to fix (never quoting an identity number).
 * On success *ret holds owned strings: tdt_verification_done(). */
int tdt_verify_check(const tdt_verify_input *in, tdt_verification *ret, td_error *err);
void tdt_verification_done(tdt_verification *v);
/* Parses an outcome / category given as symbol, lower-case with dashes, or
 * Chinese words. */
int tdt_outcome_parse(const char *s, tdt_outcome *ret);
const char *tdt_category_parse(const char *s); /* static symbol or NULL */
/* Encodes v as a VerificationOutcome (single-object encoding). */
int tdt_verification_encode(const td_avro_registry *reg, const tdt_verification *v,
                            td_avro_buf *out, td_error *err);
/* The verification topic of county (6 digits, or "unrouted"):
 * topics.verifications_prefix + county, e.g. tuodi.verifications.340421
 * (the county of the alert: tuodi-matchd dead-letters an outcome for an
 * alert of another county). Owned by the caller; NULL on ENOMEM. */
char *tdt_verification_topic(const tdt_config *c, const char *county);

/* A producer for verification outcomes on one topic. */
typedef struct tdt_verify_sink tdt_verify_sink;
/* Connects and checks that topic exists and that this user may see it:
 * -EACCES when the brokers' ACLs hide it ("user U may not Write topic T",
 * td_kafka_refusal_error: Kafka's Write implies Describe), -ENOENT when it
 * does not exist (a producer would have the broker create it with its
 * defaults), -EIO when no broker answers. Nothing is written. */
int tdt_verify_sink_open(const tdt_config *c, const char *topic, tdt_verify_sink **ret,
                         td_error *err);
/* Accepts NULL; returns NULL. */
tdt_verify_sink *tdt_verify_sink_free(tdt_verify_sink *s);
/* Produces v to the sink's topic keyed by alert_id with an idempotent
 * producer (acks=all) and waits for the broker's ack. *ret_partition and
 * *ret_offset say where it went. A refused write (ACLs) is -EACCES, "user
 * U may not Write topic T ...; nothing was recorded". */
int tdt_verify_sink_send(tdt_verify_sink *s, const td_avro_registry *reg,
                         const tdt_verification *v, int32_t *ret_partition,
                         int64_t *ret_offset, td_error *err);

#endif
