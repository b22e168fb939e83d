/* tdc_config: tuodi-connector's own table. docs/connector-config.md holds its
 * reference, generated from the table the program parses with (every
 * top-level key, source.spooldir.*, source.postgres.*, topics.*,
 * transaction.*, mapping.*); TD_UPDATE_REFERENCE=1 rewrites it. */
#include "tdc_config.h"
#include "td_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_reference_docs(void)
{
    const char *schemas = NULL;
    char *ref = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&ref, &len);

    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(td_config_write_reference(tdc_config_table, f), 0);
    fclose(f);
    for (const td_cfg_entry *e = tdc_config_table; e->key; e++)
        if (strcmp(e->key, "schemas_dir") == 0)
            schemas = e->def;
    CU_ASSERT_PTR_NOT_NULL_FATAL(schemas);
    /* the docs show the paths of a build with prefix /usr (the package's) */
    ref = td_test_replace(ref, schemas, "/usr/share/tuodi/schemas");
    /* the sources' tables are in it, not only the top level */
    CU_ASSERT_PTR_NOT_NULL(strstr(ref, "| `source.spooldir.input_dir` | path | **required**"));
    CU_ASSERT_PTR_NOT_NULL(strstr(ref, "| `source.postgres.settle_delay` | duration |"));
    CU_ASSERT_PTR_NOT_NULL(strstr(ref, "| `source.postgres.late_row_check` | duration |"));
    CU_ASSERT_PTR_NOT_NULL(strstr(ref, "| `source.postgres.id_column` | string |"));
    CU_ASSERT_PTR_NOT_NULL(strstr(ref, "| `topics.dlq_retention` | duration |"));
    CU_ASSERT_PTR_NOT_NULL(strstr(ref, "| `transaction.max_records` | integer |"));
    CU_ASSERT_PTR_NOT_NULL(strstr(ref, "| `mapping.pseudonymize.key_file` | path (secret) |"));
    CU_ASSERT(td_test_reference_block("docs/connector-config.md", "connector.yaml", ref));
    free(ref);
}

/* Loads a config of instance with the topics: lines extra (may be "") and
 * returns its topics.offsets (NULL on failure); *per_instance says whether
 * it is the default name. */
static char *offsets_topic(const char *instance, const char *extra, bool *per_instance)
{
    char *dir = td_test_tmpdir(), path[4096], text[8192], *topic = NULL;
    tdc_config cfg;
    td_error err = {0};

    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    snprintf(path, sizeof(path), "%s/c.yaml", dir);
    snprintf(text, sizeof(text),
             "instance: %s\ndataset: medical_insurance\nkafka:\n  bootstrap.servers: k:9092\n"
             "topics:\n  create: false\n%s"
             "source:\n  spooldir:\n    input_dir: %s/in\n",
             instance, extra, dir);
    CU_ASSERT_EQUAL_FATAL(td_test_write_file(path, text), 0);
    memset(&cfg, 0, sizeof(cfg));
    if (tdc_config_load(path, &cfg, &err) == 0) {
        topic = strdup(cfg.topics.offsets);
        *per_instance = cfg.offsets_default;
        tdc_config_free(&cfg);
    } else {
        fprintf(stderr, "\n    %s\n", err.msg);
    }
    td_test_rmtree(dir);
    free(dir);
    return topic;
}

/* The instance names the transactional.id: 1 to 100 of [A-Za-z0-9._-]. */
static void test_instance_name(void)
{
    static const struct {
        const char *instance;
        bool ok;
    } cases[] = {
        {"huainan-1.medical_x", true}, {"\"a b\"", false}, {"a/b", false},
        {"淮南", false}, {"\"\"", false},
    };
    char *dir = td_test_tmpdir(), path[4096], text[8192], name[128];
    tdc_config cfg;
    td_error err = {0};

    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    snprintf(path, sizeof(path), "%s/c.yaml", dir);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]) + 2; i++) {
        const char *inst;
        bool ok;

        if (i < sizeof(cases) / sizeof(cases[0])) {
            inst = cases[i].instance;
            ok = cases[i].ok;
        } else { /* exactly 100, then 101 */
            size_t n = i == sizeof(cases) / sizeof(cases[0]) ? 100 : 101;
            memset(name, 'a', n);
            name[n] = '\0';
            inst = name;
            ok = n == 100;
        }
        snprintf(text, sizeof(text),
                 "instance: %s\ndataset: medical_insurance\nkafka:\n  bootstrap.servers: k:9092\n"
                 "topics:\n  create: false\nsource:\n  spooldir:\n    input_dir: %s/in\n",
                 inst, dir);
        CU_ASSERT_EQUAL_FATAL(td_test_write_file(path, text), 0);
        memset(&cfg, 0, sizeof(cfg));
        int r = tdc_config_load(path, &cfg, &err);
        if (ok) {
            CU_ASSERT_EQUAL(r, 0);
            tdc_config_free(&cfg);
        } else {
            CU_ASSERT_EQUAL(r, -EINVAL);
            if (!strstr(err.msg, "c.yaml: instance: use 1 to 100 letters, digits, '.', '_' "
                                 "or '-' (it names the transactional.id)")) {
                fprintf(stderr, "\n    case %zu: %s\n", i, err.msg);
                CU_FAIL("message");
            }
        }
    }
    td_test_rmtree(dir);
    free(dir);
}

/* Each instance's positions in a topic of its own by default (an ACL can
 * then protect them); a topics.offsets that is set is used as written. */
static void test_offsets_topic(void)
{
    static const struct {
        const char *instance, *extra, *want;
        bool per_instance;
    } cases[] = {
        {"medical", "", "tuodi.connect.offsets.medical", true},
        {"hr", "", "tuodi.connect.offsets.hr", true},
        {"tuodi-civil", "", "tuodi.connect.offsets.tuodi-civil", true},
        /* kept as written: the old shared topic, another name, or the
         * default name written out */
        {"medical", "  offsets: tuodi.connect.offsets\n", "tuodi.connect.offsets", false},
        {"medical", "  offsets: tuodi2.connect.offsets.medical\n",
         "tuodi2.connect.offsets.medical", false},
        {"medical", "  offsets: tuodi.connect.offsets.hr\n", "tuodi.connect.offsets.hr", false},
        {"medical", "  offsets: tuodi.connect.offsets.medical\n",
         "tuodi.connect.offsets.medical", true},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        bool per_instance = !cases[i].per_instance;
        char *topic = offsets_topic(cases[i].instance, cases[i].extra, &per_instance);

        CU_ASSERT_PTR_NOT_NULL_FATAL(topic);
        if (strcmp(topic, cases[i].want) != 0)
            fprintf(stderr, "\n    case %zu: %s, want %s\n", i, topic, cases[i].want);
        CU_ASSERT_STRING_EQUAL(topic, cases[i].want);
        CU_ASSERT_EQUAL(per_instance, cases[i].per_instance);
        free(topic);
    }
}

static void add_suites(void)
{
    td_test_suite("connector_config", NULL, NULL);
    TD_TEST(test_reference_docs);
    TD_TEST(test_offsets_topic);
    TD_TEST(test_instance_name);
}

TD_TEST_MAIN(add_suites)
