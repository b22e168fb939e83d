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
#include "tdt.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

extern char tdsec_tmp[1024];  /* a scratch directory of this run */
extern char tdsec_kdir[1024]; /* the cluster's directory */
extern char tdsec_boot[1024]; /* its bootstrap */
extern char tdsec_prefix[64]; /* topic prefix ("sec") */

/* Starts the secured broker (name: part of its directory's name). 0 or -1
 * (after showing dev-broker's log), -1 too when dev-broker's stderr does
 * not say where the CA and the password files are. */
int tdsec_it_start(const char *name, const char *prefix);
void tdsec_it_stop(void);

/* The password file of a dev-broker user (one of 4 static buffers). */
const char *tdsec_it_pwfile(const char *user);

/* The kafka: section of a client: proto "plaintext" leaves out TLS and SASL;
 * ca false leaves out ssl.ca.location. */
void tdsec_it_kafka_yaml(char *out, size_t size, const char *proto, const char *user,
                         const char *pwfile, bool ca);

/* A tuodictl config as user (SASL_SSL, the CA) in tdsec_tmp/<name>.yaml,
 * with extra YAML appended (may be NULL). Returns its path (static), NULL
 * if it cannot be written. */
const char *tdsec_it_ctl_config(const char *name, const char *user, const char *extra);
/* The same with the kafka: section of tdsec_it_kafka_yaml(proto, user,
 * pwfile, ca): another protocol, a given password file, no CA. */
const char *tdsec_it_ctl_config_as(const char *name, const char *proto, const char *user,
                                   const char *pwfile, bool ca, const char *extra);

/* Runs bin with argv until it exits (killed after timeout_ms); its output
 * into log. Returns the exit status (-1 killed) and the time in *ms. */
int tdsec_it_run(const char *bin, const char *const *argv, const char *log, int timeout_ms,
                 int64_t *ms);
/* tuodictl --config cfg ARGS... (NULL-terminated). */
int tdsec_it_ctl(const char *cfg, const char *log, int64_t *ms, ...);
/* The programs in the build tree (TD_BUILD_ROOT, else "build"). */
const char *tdsec_it_tuodictl_bin(void);
const char *tdsec_it_matchd_bin(void);

/* Whether log holds text; if not, says so and shows its tail. */
bool tdsec_it_log_has(const char *log, const char *text);

/* The admin's librdkafka props (add to an empty set). */
void tdsec_it_admin_props(td_kafka_props *p);
/* Committed messages in topic, read as admin to its end; -1 (and a
 * failure of the running test) when it cannot be read to its end. */
long tdsec_it_count_as_admin(const char *topic, int partitions);

/* ACLs as admin, through tuodictl's own Kafka client (tdt_kwire: any
 * resource type, the transactional id too, which librdkafka 2.0.2 cannot):
 * allow user (no "User:") the operations named after pattern (Kafka's
 * names, "Read", "DescribeConfigs", "All", ...; NULL-terminated) on the
 * resource of type (TDT_ACL_TOPIC, _GROUP, _TRANSACTIONAL_ID, _CLUSTER)
 * called name, pattern TDT_ACL_LITERAL or TDT_ACL_PREFIXED. Returns once
 * the broker shows them (DescribeAcls, its authorizer's state: a client
 * started next is not refused), 0 or -1 after saying why on stderr.
 * tdsec_it_ungrant deletes exactly these bindings, the same way. */
int tdsec_it_grant(const char *user, int type, const char *name, int pattern, ...);
int tdsec_it_ungrant(const char *user, int type, const char *name, int pattern, ...);
/* How many ACLs the broker holds for user; -1 if it cannot be asked. */
long tdsec_it_count_acls(const char *user);

#endif
