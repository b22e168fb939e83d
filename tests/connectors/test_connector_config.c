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

static void add_suites(void)
{
    td_test_suite("connector_config", NULL, NULL);
    TD_TEST(test_reference_docs);
}

TD_TEST_MAIN(add_suites)
