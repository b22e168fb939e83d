#include "bench_bus.h"

#include "td_test.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define N_SECURE 5

/* The secured bus's client settings for user: the one list both the YAML
 * and the props are made from. password is the ${file:...} reference. */
static void secure_settings(const bench_bus *b, const char *user, char kv[N_SECURE][2][1200])
{
    snprintf(kv[0][0], sizeof(kv[0][0]), "security.protocol");
    snprintf(kv[0][1], sizeof(kv[0][1]), "SASL_SSL");
    snprintf(kv[1][0], sizeof(kv[1][0]), "sasl.mechanisms");
    snprintf(kv[1][1], sizeof(kv[1][1]), "PLAIN"); /* not SCRAM: docs/security.md */
    snprintf(kv[2][0], sizeof(kv[2][0]), "sasl.username");
    snprintf(kv[2][1], sizeof(kv[2][1]), "%s", user);
    snprintf(kv[3][0], sizeof(kv[3][0]), "sasl.password");
    snprintf(kv[3][1], sizeof(kv[3][1]), "${file:%s/users/%s.password}", b->dir, user);
    snprintf(kv[4][0], sizeof(kv[4][0]), "ssl.ca.location");
    snprintf(kv[4][1], sizeof(kv[4][1]), "%s/tls/ca.pem", b->dir);
}

int bench_bus_list(bench_bus out[2])
{
    const char *plain = getenv("KAFKA_BOOTSTRAP"), *dir = getenv("TD_BENCH_SECURE_DIR");
    char path[1100], *text;

    memset(out, 0, 2 * sizeof(*out));
    if (!plain || !*plain) {
        fprintf(stderr, "KAFKA_BOOTSTRAP is not set (tests/bench/run starts a broker)\n");
        return -1;
    }
    out[0].name = "plaintext";
    snprintf(out[0].bootstrap, sizeof(out[0].bootstrap), "%s", plain);
    if (!dir || !*dir)
        return 1;
    out[1].name = "secured";
    snprintf(out[1].dir, sizeof(out[1].dir), "%s", dir);
    snprintf(path, sizeof(path), "%s/bootstrap", dir);
    text = td_test_read_file(path, NULL);
    if (!text || !*text) {
        fprintf(stderr, "TD_BENCH_SECURE_DIR: cannot read %s: is a broker started with "
                        "`deploy/kafka/dev-broker start --secure --dir %s`?\n", path, dir);
        free(text);
        return -1;
    }
    text[strcspn(text, "\n")] = '\0';
    snprintf(out[1].bootstrap, sizeof(out[1].bootstrap), "%s", text);
    free(text);
    snprintf(path, sizeof(path), "%s/tls/ca.pem", dir);
    if (access(path, R_OK) != 0) {
        fprintf(stderr, "TD_BENCH_SECURE_DIR: no %s: not a --secure broker's directory\n", path);
        return -1;
    }
    return 2;
}

void bench_bus_yaml(const bench_bus *b, const char *user, char *out, size_t size)
{
    char kv[N_SECURE][2][1200];
    size_t n = 0;

    if (size > 0)
        out[0] = '\0';
    if (!bench_bus_secured(b))
        return;
    secure_settings(b, user, kv);
    for (int i = 0; i < N_SECURE && n < size; i++)
        n += (size_t)snprintf(out + n, size - n, "  %s: %s\n", kv[i][0], kv[i][1]);
}

int bench_bus_props(const bench_bus *b, const char *user, td_kafka_props *p)
{
    char kv[N_SECURE][2][1200];

    if (td_kafka_props_add(p, "bootstrap.servers", b->bootstrap, "bench_bus") < 0)
        goto fail;
    if (!bench_bus_secured(b))
        return 0;
    secure_settings(b, user, kv);
    for (int i = 0; i < N_SECURE; i++) {
        char *value = NULL;
        int r;
        if (strncmp(kv[i][1], "${file:", 7) == 0) {
            kv[i][1][strlen(kv[i][1]) - 1] = '\0';
            value = td_test_read_file(kv[i][1] + 7, NULL);
            if (!value) {
                fprintf(stderr, "bench_bus: cannot read %s\n", kv[i][1] + 7);
                return -1;
            }
            value[strcspn(value, "\n")] = '\0';
        }
        r = td_kafka_props_add(p, kv[i][0], value ? value : kv[i][1], "bench_bus");
        free(value);
        if (r < 0)
            goto fail;
    }
    return 0;
fail:
    fprintf(stderr, "bench_bus: out of memory\n");
    return -1;
}

/* Appends " --OPT NAME" for each name of list to cmd. */
static void add_resources(char *cmd, size_t size, const char *opt, const char *const *list)
{
    for (size_t i = 0; list && list[i]; i++) {
        size_t n = strlen(cmd);
        snprintf(cmd + n, size - n, " --%s '%s'", opt, list[i]);
    }
}

int bench_bus_grant(const bench_bus *b, const char *user, const char *const *topics,
                    const char *const *groups, const char *const *txids)
{
    char cmd[8192], out[16384];
    int r;

    if (!bench_bus_secured(b))
        return 0;
    snprintf(cmd, sizeof(cmd),
             "%s/deploy/kafka/dev-broker acls --dir '%s' --add --allow-principal 'User:%s' "
             "--operation All --resource-pattern-type prefixed",
             td_test_source_root(), b->dir, user);
    add_resources(cmd, sizeof(cmd), "topic", topics);
    add_resources(cmd, sizeof(cmd), "group", groups);
    add_resources(cmd, sizeof(cmd), "transactional-id", txids);
    snprintf(cmd + strlen(cmd), sizeof(cmd) - strlen(cmd), " 2>&1");
    {
        FILE *p = popen(cmd, "r");
        size_t n = 0;
        if (!p) {
            fprintf(stderr, "bench_bus: cannot run dev-broker acls\n");
            return -1;
        }
        while (n + 1 < sizeof(out) && fgets(out + n, (int)(sizeof(out) - n), p))
            n += strlen(out + n);
        out[n] = '\0';
        r = pclose(p);
    }
    if (r != 0) {
        fprintf(stderr, "bench_bus: granting the ACLs of %s failed: %s\n%s", user, cmd, out);
        return -1;
    }
    return 0;
}

/* The inode of the socket listening on port, from /proc/net/tcp or tcp6;
 * 0 if none. */
static unsigned long listening_inode(const char *table, unsigned port)
{
    char line[512], local[128];
    unsigned state;
    unsigned long inode = 0, ino;
    FILE *f = fopen(table, "r");

    if (!f)
        return 0;
    /* sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode */
    while (!inode && fgets(line, sizeof(line), f)) {
        const char *colon;
        if (sscanf(line, "%*s %127s %*s %x %*s %*s %*s %*s %*s %lu", local, &state, &ino) == 3 &&
            state == 0x0A && (colon = strrchr(local, ':')) &&
            strtoul(colon + 1, NULL, 16) == port)
            inode = ino;
    }
    fclose(f);
    return inode;
}

pid_t bench_bus_broker_pid(const bench_bus *b)
{
    const char *colon = strchr(b->bootstrap, ':');
    unsigned port = colon ? (unsigned)atoi(colon + 1) : 0;
    unsigned long inode;
    char want[64];
    DIR *proc;
    struct dirent *de;
    pid_t found = -1;

    if (!port)
        return -1;
    inode = listening_inode("/proc/net/tcp", port);
    if (!inode)
        inode = listening_inode("/proc/net/tcp6", port);
    if (!inode || !(proc = opendir("/proc")))
        return -1;
    snprintf(want, sizeof(want), "socket:[%lu]", inode);
    while (found < 0 && (de = readdir(proc))) {
        char fddir[300];
        DIR *fds;
        struct dirent *fe;
        if (de->d_name[0] < '1' || de->d_name[0] > '9')
            continue;
        snprintf(fddir, sizeof(fddir), "/proc/%s/fd", de->d_name);
        if (!(fds = opendir(fddir)))
            continue;
        while (found < 0 && (fe = readdir(fds))) {
            char path[600], target[128];
            ssize_t n;
            snprintf(path, sizeof(path), "%s/%s", fddir, fe->d_name);
            n = readlink(path, target, sizeof(target) - 1);
            if (n > 0) {
                target[n] = '\0';
                if (strcmp(target, want) == 0)
                    found = (pid_t)atol(de->d_name);
            }
        }
        closedir(fds);
    }
    closedir(proc);
    return found;
}

double bench_cpu_seconds(pid_t pid)
{
    char path[64], buf[4096], *p;
    unsigned long long ut, st;
    FILE *f;
    size_t n;

    if (pid == 0) {
        struct rusage ru;
        if (getrusage(RUSAGE_SELF, &ru) < 0)
            return -1;
        return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
               (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    }
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    if (!(f = fopen(path, "r")))
        return -1;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* after "(comm)": state ppid pgrp session tty tpgid flags minflt
     * cminflt majflt cmajflt utime stime */
    if (!(p = strrchr(buf, ')')) ||
        sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}
