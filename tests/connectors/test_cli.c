/* tuodi-connector's command line: --help, --version, --check-config and the
 * exit codes (0 fine, 2 usage or config error). --check-config creates and
 * changes nothing, and lists every path the user could not use, with the
 * file:line:col of its key (run as nobody when the tests run as root). */
#include "td_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char out[16384];

/* Runs the connector with args (a shell-quoted string), output (stdout and
 * stderr) into out; returns the exit status. */
static int run(const char *args)
{
    char cmd[8192];
    const char *b = getenv("TD_BUILD_ROOT");
    FILE *p;
    size_t n;
    int st;

    snprintf(cmd, sizeof(cmd), "%s/connectors/tuodi-connector %s 2>&1", b ? b : "build", args);
    p = popen(cmd, "r");
    if (!p)
        return -1;
    n = fread(out, 1, sizeof(out) - 1, p);
    out[n] = '\0';
    st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_help_and_version(void)
{
    CU_ASSERT_EQUAL(run("--help"), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "Usage: tuodi-connector --config FILE"));
    CU_ASSERT_EQUAL(run("--version"), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "tuodi-connector 0."));
    CU_ASSERT_EQUAL(run(""), 2);
    CU_ASSERT_EQUAL(run("--bogus"), 2);
}

static void test_check_config(void)
{
    char *dir = td_test_tmpdir();
    char path[4096], text[8192], args[4300];

    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    snprintf(args, sizeof(args), "--config %s/missing.yaml --check-config", dir);
    CU_ASSERT_EQUAL(run(args), 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "missing.yaml"));

    /* a config error names file:line:col */
    snprintf(path, sizeof(path), "%s/bad.yaml", dir);
    td_test_write_file(path, "instance: m\ndataset: medicine\n");
    snprintf(args, sizeof(args), "--config %s --check-config", path);
    CU_ASSERT_EQUAL(run(args), 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "bad.yaml:2:10: dataset: expected one of"));

    /* a good one: ok */
    snprintf(path, sizeof(path), "%s/in", dir);
    CU_ASSERT_EQUAL(system((snprintf(args, sizeof(args), "mkdir -p %s", path), args)), 0);
    snprintf(text, sizeof(text),
             "instance: medical\ndataset: medical_insurance\nschemas_dir: %s/schemas\n"
             "kafka:\n  bootstrap.servers: 127.0.0.1:9\n"
             "source:\n  spooldir:\n    input_dir: %s/in\n",
             td_test_source_root(), dir);
    snprintf(path, sizeof(path), "%s/good.yaml", dir);
    td_test_write_file(path, text);
    snprintf(args, sizeof(args), "--config %s --check-config", path);
    CU_ASSERT_EQUAL(run(args), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "ok (instance medical, dataset medical_insurance, source spooldir)"));

    /* a mapping naming a field the schema lacks fails the check */
    snprintf(text + strlen(text), sizeof(text) - strlen(text),
             "mapping:\n  columns:\n    no_such_field: X\n");
    td_test_write_file(path, text);
    CU_ASSERT_EQUAL(run(args), 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "no_such_field"));
    td_test_rmtree(dir);
    free(dir);
}

static const char *connector_bin(void)
{
    static char bin[4096];
    const char *b = getenv("TD_BUILD_ROOT");

    snprintf(bin, sizeof(bin), "%s/connectors/tuodi-connector", b ? b : "build");
    return bin;
}

/* A fresh directory the unprivileged user can look into. */
static char *open_tmpdir(void)
{
    char *dir = td_test_tmpdir();

    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    CU_ASSERT_EQUAL(chmod(dir, 0755), 0);
    return dir;
}

static void mkdir_mode(const char *dir, const char *name, mode_t mode)
{
    char p[4096];

    snprintf(p, sizeof(p), "%s/%s", dir, name);
    CU_ASSERT_EQUAL_FATAL(mkdir(p, mode), 0);
    CU_ASSERT_EQUAL_FATAL(chmod(p, mode), 0); /* whatever the umask */
}

static void write_mode(const char *dir, const char *name, const char *text, mode_t mode)
{
    char p[4096];

    snprintf(p, sizeof(p), "%s/%s", dir, name);
    CU_ASSERT_EQUAL_FATAL(td_test_write_file(p, text), 0);
    CU_ASSERT_EQUAL_FATAL(chmod(p, mode), 0);
}

/* Runs --check-config on dir/name as the unprivileged user; output in out. */
static int check_unprivileged(const char *dir, const char *name)
{
    char cmd[8192];

    snprintf(cmd, sizeof(cmd), "%s --config %s/%s --check-config", connector_bin(), dir, name);
    return td_test_run_unprivileged(cmd, out, sizeof(out));
}

/* issue 11: --check-config built the connector, which created processing/,
 * finished/ and error/ (as root, 0750: the service user could not write
 * them). Now it creates and changes nothing, and says it is fine. */
static void test_check_config_changes_nothing(void)
{
    char *dir = open_tmpdir(), text[8192], *before, *after;

    mkdir_mode(dir, "in", 0777);
    mkdir_mode(dir, "spool", 0777); /* for finished/ and error/ elsewhere */
    snprintf(text, sizeof(text),
             "instance: medical\ndataset: medical_insurance\nschemas_dir: %s/schemas\n"
             "kafka:\n  bootstrap.servers: 127.0.0.1:9\n"
             "source:\n  spooldir:\n    input_dir: %s/in\n"
             "    finished_dir: %s/spool/done/finished\n    error_dir: %s/spool/error\n",
             td_test_source_root(), dir, dir, dir);
    write_mode(dir, "c.yaml", text, 0644);
    before = td_test_tree_listing(dir);
    CU_ASSERT_PTR_NOT_NULL_FATAL(before);
    CU_ASSERT_EQUAL(check_unprivileged(dir, "c.yaml"), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "c.yaml: ok (instance medical, dataset medical_insurance, "
                                       "source spooldir)"));
    after = td_test_tree_listing(dir);
    CU_ASSERT_PTR_NOT_NULL_FATAL(after);
    if (strcmp(before, after) != 0)
        fprintf(stderr, "\n    before:\n%s    after:\n%s", before, after);
    CU_ASSERT_STRING_EQUAL(before, after);
    free(before);
    free(after);
    td_test_rmtree(dir);
    free(dir);
}

/* Every path the user cannot use is reported in one run, each with the
 * file:line:col of its key (or the file, for a default), and still nothing
 * is created. */
static void test_check_config_permissions(void)
{
    char *dir = open_tmpdir(), text[8192], *before, *after;

    mkdir_mode(dir, "ro", 0555);   /* readable, not writable */
    write_mode(dir, "ca.pem", "not really a certificate\n", 0000);
    write_mode(dir, "pseudonym.key", "0123456789abcdef0123456789abcdef\n", 0000);
    snprintf(text, sizeof(text),
             "instance: medical\n"                              /* 1 */
             "dataset: medical_insurance\n"                     /* 2 */
             "schemas_dir: %s/schemas\n"                        /* 3 */
             "kafka:\n"                                         /* 4 */
             "  bootstrap.servers: 127.0.0.1:9\n"               /* 5 */
             "  ssl.ca.location: %s/ca.pem\n"                   /* 6 */
             "source:\n"                                        /* 7 */
             "  spooldir:\n"                                    /* 8 */
             "    input_dir: ro\n"                              /* 9 */
             "    error_dir: ro/err\n"                          /* 10 */
             "mapping:\n"                                       /* 11 */
             "  pseudonymize:\n"                                /* 12 */
             "    key_file: pseudonym.key\n",                   /* 13 */
             td_test_source_root(), dir);
    write_mode(dir, "c.yaml", text, 0644);
    before = td_test_tree_listing(dir);
    CU_ASSERT_EQUAL(check_unprivileged(dir, "c.yaml"), 2);
    /* input_dir: files are moved out of it, so it must be writable */
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "c.yaml:9:5: source.spooldir.input_dir: "));
    CU_ASSERT(strstr(out, "/ro: user nobody has no write permission on it") != NULL ||
              (geteuid() != 0 && strstr(out, "/ro: user ") && strstr(out, " has no write permission on it")));
    /* missing directories whose parent is not writable: by default and set */
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "c.yaml: source.spooldir.processing_dir: "));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "/ro/processing: missing, and "));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "c.yaml: source.spooldir.finished_dir: "));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "c.yaml:10:5: source.spooldir.error_dir: "));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "/ro/err: missing, and "));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "cannot create it: no write and search permission on "));
    /* TLS files and the pseudonymisation key */
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "c.yaml:6:3: kafka.ssl.ca.location: "));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "/ca.pem: "));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "has no read permission on it"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "c.yaml:13:5: mapping.pseudonymize.key_file: "));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "/pseudonym.key: user "));
    after = td_test_tree_listing(dir);
    CU_ASSERT_PTR_NOT_NULL_FATAL(before);
    CU_ASSERT_PTR_NOT_NULL_FATAL(after);
    CU_ASSERT_STRING_EQUAL(before, after);
    if (strstr(out, "c.yaml:9:5:") == NULL)
        fprintf(stderr, "\n    output:\n%s", out);
    free(before);
    free(after);

    /* more problems than one td_error holds (2 KiB): every one is listed */
    {
        char longname[201];
        memset(longname, 'x', 200);
        longname[200] = '\0';
        mkdir_mode(dir, longname, 0555);
        snprintf(text, sizeof(text),
                 "instance: medical\ndataset: medical_insurance\nschemas_dir: %s/schemas\n"
                 "kafka:\n  bootstrap.servers: 127.0.0.1:9\n"
                 "  ssl.ca.location: %s/%s/ca.pem\n"
                 "  ssl.certificate.location: %s/%s/cert.pem\n"
                 "source:\n  spooldir:\n    input_dir: %s\n",
                 td_test_source_root(), dir, longname, dir, longname, longname);
        write_mode(dir, "long.yaml", text, 0644);
        CU_ASSERT_EQUAL(check_unprivileged(dir, "long.yaml"), 2);
        CU_ASSERT(strlen(out) > 2048);
        CU_ASSERT_PTR_NOT_NULL(strstr(out, "long.yaml:10:5: source.spooldir.input_dir: "));
        CU_ASSERT_PTR_NOT_NULL(strstr(out, "long.yaml: source.spooldir.processing_dir: "));
        CU_ASSERT_PTR_NOT_NULL(strstr(out, "long.yaml: source.spooldir.finished_dir: "));
        CU_ASSERT_PTR_NOT_NULL(strstr(out, "long.yaml: source.spooldir.error_dir: "));
        CU_ASSERT_PTR_NOT_NULL(strstr(out, "long.yaml:6:3: kafka.ssl.ca.location: "));
        CU_ASSERT_PTR_NOT_NULL(strstr(out, "long.yaml:7:3: kafka.ssl.certificate.location: "));
        CU_ASSERT_PTR_NULL(strstr(out, "..."));
    }

    /* a ${file:...} secret the user cannot read: where it is written */
    write_mode(dir, "secret", "hunter2\n", 0000);
    mkdir_mode(dir, "in", 0777);
    snprintf(text, sizeof(text),
             "instance: medical\ndataset: medical_insurance\nschemas_dir: %s/schemas\n"
             "kafka:\n  bootstrap.servers: 127.0.0.1:9\n  sasl.password: ${file:secret}\n"
             "source:\n  spooldir:\n    input_dir: in\n",
             td_test_source_root());
    write_mode(dir, "s.yaml", text, 0644);
    CU_ASSERT_EQUAL(check_unprivileged(dir, "s.yaml"), 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "s.yaml:6:18: kafka.sasl.password: cannot read ${file:"));
    CU_ASSERT_PTR_NULL(strstr(out, "hunter2"));

    /* postgres: the files the conninfo names, never the conninfo itself */
    snprintf(text, sizeof(text),
             "instance: medical\ndataset: medical_insurance\nschemas_dir: %s/schemas\n"
             "kafka:\n  bootstrap.servers: 127.0.0.1:9\n"
             "source:\n  postgres:\n"
             "    conninfo: host=db.invalid dbname=hospital password=hunter2 "
             "sslmode=verify-full sslrootcert=%s/ca.pem\n"
             "    table: public.settlement\n",
             td_test_source_root(), dir);
    write_mode(dir, "p.yaml", text, 0644);
    CU_ASSERT_EQUAL(check_unprivileged(dir, "p.yaml"), 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "p.yaml:8:5: source.postgres.conninfo: "));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "/ca.pem: "));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "(its sslrootcert)"));
    CU_ASSERT_PTR_NULL(strstr(out, "hunter2"));
    td_test_rmtree(dir);
    free(dir);
}

static void add_suites(void)
{
    td_test_suite("cli", NULL, NULL);
    TD_TEST(test_help_and_version);
    TD_TEST(test_check_config);
    TD_TEST(test_check_config_changes_nothing);
    TD_TEST(test_check_config_permissions);
}

TD_TEST_MAIN(add_suites)
