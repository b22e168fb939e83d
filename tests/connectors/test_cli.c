/* tuodi-connector's command line: --help, --version, --check-config and the
 * exit codes (0 fine, 2 usage or config error). */
#include "td_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

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

    /* a good one: ok, and the whole connector was built (spool dirs made) */
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

static void add_suites(void)
{
    td_test_suite("cli", NULL, NULL);
    TD_TEST(test_help_and_version);
    TD_TEST(test_check_config);
}

TD_TEST_MAIN(add_suites)
