/* tdsec_it: what the integration tests on a secured broker share: a
 * `dev-broker start --secure` cluster of their own (SASL_SSL, users with
 * password files, StandardAuthorizer), client configs as a given user, the
 * programs run to their end, and reading a topic as the admin.
 *
 * One broker per test binary: tdsec_it_start() in the suite's setup,
 * tdsec_it_stop() in its teardown. Topic names start with the prefix given
 * to tdsec_it_start (tuodictl's --prefix / topic_prefix). */
#ifndef TDSEC_IT_H
#define TDSEC_IT_H

#include "td_kafka.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

extern char tdsec_tmp[1024];  /* a scratch directory of this run */
extern char tdsec_kdir[1024]; /* the cluster's directory */
extern char tdsec_boot[1024]; /* its bootstrap */
extern char tdsec_prefix[64]; /* topic prefix ("sec") */

/* Starts the secured broker (name: part of its directory's name). 0 or -1
 * (after showing dev-broker's log). */
int tdsec_it_start(const char *name, const char *prefix);
void tdsec_it_stop(void);

/* The password file of a dev-broker user (one of 4 static buffers). */
const char *tdsec_it_pwfile(const char *user);

/* The kafka: section of a client: proto "plaintext" leaves out TLS and SASL;
 * ca false leaves out ssl.ca.location. */
void tdsec_it_kafka_yaml(char *out, size_t size, const char *proto, const char *user,
                         const char *pwfile, bool ca);

/* A tuodictl config as user (SASL_SSL, the CA) in tdsec_tmp/<name>.yaml,
 * with extra YAML appended (may be NULL). Returns its path (static). */
const char *tdsec_it_ctl_config(const char *name, const char *user, const char *extra);

/* Runs bin with argv until it exits (killed after timeout_ms); its output
 * into log. Returns the exit status (-1 killed) and the time in *ms. */
int tdsec_it_run(const char *bin, const char *const *argv, const char *log, int timeout_ms,
                 int64_t *ms);
/* tuodictl --config cfg ARGS... (NULL-terminated). */
int tdsec_it_ctl(const char *cfg, const char *log, int64_t *ms, ...);
const char *tdsec_it_tuodictl_bin(void);

/* Whether log holds text; if not, says so and shows its tail. */
bool tdsec_it_log_has(const char *log, const char *text);

/* The admin's librdkafka props (add to an empty set). */
void tdsec_it_admin_props(td_kafka_props *p);
/* Committed messages in topic, read as admin to its end. */
long tdsec_it_count_as_admin(const char *topic, int partitions);

#endif
