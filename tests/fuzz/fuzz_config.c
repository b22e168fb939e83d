/* Fuzz target for the config loader (lib/td_config.c) with the tables of
 * real programs: tuodi-connector's (tdc_config_load, then the dataset built
 * from its mapping, as the connector starts) and tuodi-matchd's
 * (tdm_config_load).
 *
 * Input: one byte, then the YAML file. byte % 2: the connector's or
 * matchd's config. The file is written to a private directory and loaded
 * by path, as the programs load it (relative paths and ${file:...} resolve
 * there).
 * Properties, beyond no crash, leak or undefined behaviour:
 *   - a refused file gives -EINVAL, -EFBIG or an errno of reading, a
 *     message that starts with the file's path, and a config struct that is
 *     all zero (td_config.h: nothing to free);
 *   - an accepted file frees cleanly; the connector's mapping then builds
 *     its dataset or is refused with a message (never a crash).
 * The ${TUODI_...} variables of the demo configs are set as deploy/demo
 * sets them.
 * corpus/config/ holds seeds: the configs of deploy/connectors, deploy/matchd.yaml
 * and broken variants (tests/fuzz/gen_corpus.py).
 */
#include "fuzz_common.h"
#include "tdc_config.h"
#include "tdc_dataset.h"
#include "tdm_config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define T "fuzz_config"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct {
    bool ready;
    char dir[64];
    char path[128];
    td_avro_registry *reg;
} fz;

__attribute__((destructor)) static void fuzz_fini(void)
{
    if (!fz.ready)
        return;
    unlink(fz.path);
    rmdir(fz.dir);
    td_avro_registry_free(fz.reg);
    fz.ready = false;
}

static void fuzz_init(void)
{
    char schemas[4096];
    td_error err = {0};

    /* in memory when there is a tmpfs: one file write per input */
    snprintf(fz.dir, sizeof(fz.dir), "%s/fuzz_config-XXXXXX",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    if (!mkdtemp(fz.dir))
        fuzz_fail(T, "init: mkdtemp");
    snprintf(fz.path, sizeof(fz.path), "%s/fz.yaml", fz.dir);
    /* what deploy/demo sets for the demo configs (${TUODI_...}) */
    snprintf(schemas, sizeof(schemas), "%s/deploy/rules/huainan-2023.yaml", fuzz_source_root());
    setenv("TUODI_RULES", schemas, 0);
    snprintf(schemas, sizeof(schemas), "%s/schemas", fuzz_source_root());
    setenv("TUODI_SCHEMAS_DIR", schemas, 0);
    setenv("TUODI_BOOTSTRAP", "localhost:9092", 0);
    setenv("TUODI_CREATE_TOPICS", "true", 0);
    setenv("TUODI_PREFIX", "demo.", 0);
    setenv("TUODI_SAMPLE_DIR", fz.dir, 0);
    setenv("TUODI_STATE_DIR", fz.dir, 0);
    snprintf(schemas, sizeof(schemas), "%s/schemas", fuzz_source_root());
    if (td_avro_registry_new(&fz.reg) < 0 ||
        td_avro_registry_load_dir(fz.reg, schemas, NULL, &err) < 0)
        fuzz_fail(T, "init: schemas: %s", err.msg);
    fz.ready = true;
}

static bool all_zero(const void *p, size_t n)
{
    const unsigned char *b = p;

    for (size_t i = 0; i < n; i++)
        if (b[i])
            return false;
    return true;
}

static void check_refusal(int rc, const td_error *err, const void *cfg, size_t cfg_size)
{
    if (rc == -ENOMEM)
        return;
    if (!err->msg[0])
        fuzz_fail(T, "refused (%d) without a message", rc);
    if (strncmp(err->msg, fz.path, strlen(fz.path)) != 0)
        fuzz_fail(T, "a message that does not start with the file's path: %s", err->msg);
    if (!all_zero(cfg, cfg_size))
        fuzz_fail(T, "a refused config that still holds something");
}

static void check_connector(void)
{
    tdc_config cfg = {0};
    td_error err = {0};
    int rc = tdc_config_load(fz.path, &cfg, &err);

    if (rc < 0) {
        check_refusal(rc, &err, &cfg, sizeof(cfg));
        return;
    }
    if (cfg.dataset >= 0 && cfg.dataset <= TDC_DATASET_ROSTER) {
        const td_avro_schema *s =
            td_avro_registry_find_name(fz.reg, tdc_dataset_record_name((tdc_dataset_kind)cfg.dataset));
        tdc_dataset *ds = NULL;
        td_error e2 = {0};
        if (!s)
            fuzz_fail(T, "no schema for dataset %d", cfg.dataset);
        rc = tdc_dataset_new((tdc_dataset_kind)cfg.dataset, &cfg.mapping, s, cfg.instance, &ds, &e2);
        if (rc < 0 && (!e2.msg[0] || ds))
            fuzz_fail(T, "a mapping refused (%d) without a message, or with a dataset", rc);
        tdc_dataset_free(ds);
    } else {
        fuzz_fail(T, "an accepted config with dataset %d", cfg.dataset);
    }
    tdc_config_free(&cfg);
}

static void check_matchd(void)
{
    tdm_config cfg = {0};
    td_error err = {0};
    int rc = tdm_config_load(fz.path, &cfg, &err);

    if (rc < 0) {
        check_refusal(rc, &err, &cfg, sizeof(cfg));
        return;
    }
    if (!cfg.group_id || !cfg.topics.clock)
        fuzz_fail(T, "an accepted matchd config without group_id or clock topic");
    tdm_config_free(&cfg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd;

    if (!fz.ready)
        fuzz_init();
    if (size < 1)
        return 0;
    fd = open(fz.path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || (size > 1 && write(fd, data + 1, size - 1) != (ssize_t)(size - 1)) || close(fd) < 0)
        fuzz_fail(T, "writing %s", fz.path);
    if (data[0] % 2 == 0)
        check_connector();
    else
        check_matchd();
    return 0;
}
