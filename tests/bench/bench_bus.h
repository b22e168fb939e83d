/* bench_bus: the brokers a Kafka benchmark runs on, and how its clients
 * connect to each, defined once for the programs' configs and the
 * benchmark's own clients.
 *
 * A run has the plaintext bus (KAFKA_BOOTSTRAP, no TLS, no SASL) and, when
 * TD_BENCH_SECURE_DIR names the directory of a broker started with
 * `deploy/kafka/dev-broker start --secure --dir DIR`, the secured bus:
 * SASL_SSL with PLAIN, the bootstrap from DIR/bootstrap, the CA from
 * DIR/tls/ca.pem, user NAME's password from DIR/users/NAME.password.
 * tests/bench/run starts both.
 *
 * On the secured bus each client runs as a user of the dev broker: the
 * programs measured (and their baselines) as their own principals with the
 * ACLs bench_bus_grant gives, the benchmark's loaders and readers as admin.
 */
#ifndef BENCH_BUS_H
#define BENCH_BUS_H

#include "td_kafka.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct bench_bus {
    const char *name;     /* "plaintext" or "secured" */
    char bootstrap[1024];
    char dir[1024];       /* the secured broker's directory; "" for plaintext */
} bench_bus;

/* The buses of this run into out[0] (plaintext) and out[1] (secured, when
 * TD_BENCH_SECURE_DIR is set). Returns how many (1 or 2); on a missing
 * KAFKA_BOOTSTRAP or an unreadable secured directory, says why on stderr and
 * returns -1. */
int bench_bus_list(bench_bus out[2]);

static inline bool bench_bus_secured(const bench_bus *b)
{
    return b->dir[0] != '\0';
}

/* The TLS and SASL lines of a program's `kafka:` section for user, each
 * "  key: value\n" (the password as ${file:...}, as a deployment writes
 * it); "" on the plaintext bus. bootstrap.servers is the caller's line.
 * Cut to fit size. */
void bench_bus_yaml(const bench_bus *b, const char *user, char *out, size_t size);

/* The same settings as librdkafka props for the benchmark's own clients
 * (the password read from its file), added to p, bootstrap.servers
 * included. The caller clears p with td_kafka_props_clear. 0 or -1 (said on
 * stderr). */
int bench_bus_props(const bench_bus *b, const char *user, td_kafka_props *p);

/* On the secured bus, allows user every operation on the topics, groups and
 * transactional ids whose names start with the given prefixes (each list
 * NULL-terminated; a list may be NULL), with Kafka's AclCommand as admin
 * (dev-broker acls: librdkafka 2.0.2's admin API has no transactional-id
 * resource). Nothing to do on the plaintext bus. 0 or -1 (said on stderr,
 * with the tool's output). */
int bench_bus_grant(const bench_bus *b, const char *user, const char *const *topics,
                    const char *const *groups, const char *const *txids);

/* The process that listens on the bus's first bootstrap address, when it
 * runs on this machine (found through /proc/net/tcp and the processes'
 * sockets), else -1: the broker whose CPU time a benchmark reports. */
pid_t bench_bus_broker_pid(const bench_bus *b);

/* CPU time (user + system) in seconds that process pid has used so far
 * (0: this process), or -1 when it cannot be read. Unlike wall-clock rates
 * it does not grow when other work takes the cores. */
double bench_cpu_seconds(pid_t pid);

#endif
