/* tuodi-connector: publishes one department's records to Kafka, exactly once.
 * A thin main over the connector library (tdc_*). */
#include "td_cli.h"
#include "td_log.h"
#include "td_notify.h"
#include "td_signal.h"
#include "tdc_config.h"
#include "tdc_connector.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef TUODI_VERSION
#define TUODI_VERSION "unknown"
#endif

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: tuodi-connector --config FILE [--check-config [--connect]]\n"
            "       tuodi-connector --version | --help\n"
            "\n"
            "Reads one department's rows (CSV files in a spool directory, or a PostgreSQL\n"
            "table), validates and maps them to Avro records, and publishes them to Kafka\n"
            "in transactions together with the source position: every row is published\n"
            "or dead-lettered exactly once.\n"
            "\n"
            "  -c, --config FILE   the instance's YAML file (/etc/tuodi/connectors/NAME.yaml)\n"
            "      --check-config  load and validate FILE and what it names (schemas, mapping,\n"
            "                      source, the directories and files this user must be able\n"
            "                      to use), print every problem as file:line:col, exit;\n"
            "                      creates, changes and connects to nothing\n"
            "      --connect       with --check-config: also ask the brokers (10 s at most)\n"
            "                      whether the topics exist (or topics.create makes them)\n"
            "  -V, --version       print the version\n"
            "  -h, --help          this text\n"
            "\n"
            "Signals: SIGTERM/SIGINT stop within 5 s: the open transaction is committed if\n"
            "Kafka answers within 2 s, else its rows are read again at the next start (nothing\n"
            "is lost or published twice); a stop during start-up ends it. SIGHUP reloads FILE.\n"
            "Exit status: 0 clean stop, 1 runtime failure, 2 usage or config error.\n");
}

int main(int argc, char **argv)
{
    td_cli cli;
    tdc_config cfg;
    tdc_connector *c = NULL;
    td_error err = {0};
    int r;

    r = td_cli_parse(argc, argv, "tuodi-connector", TUODI_VERSION, usage, &cli);
    if (r >= 0)
        return r;

    memset(&cfg, 0, sizeof(cfg));
    r = tdc_config_load(cli.config, &cfg, &err);
    if (r < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 2;
    }
    if (cli.check) {
        /* Check what the file describes (schemas, mapping, source directories
         * or connection settings, the files Kafka's settings name) as this
         * user, creating, changing and connecting to nothing. */
        r = tdc_connector_check(&cfg, cli.config, cli.connect, stderr);
        if (r < 0) {
            tdc_config_free(&cfg);
            return 2;
        }
        printf("%s: ok (instance %s, dataset %s, source %s%s)\n", cli.config, cfg.instance,
               tdc_dataset_kind_names[cfg.dataset], cfg.use_postgres ? "postgres" : "spooldir",
               cli.connect ? "; the brokers answer, the topics exist or will be created" : "");
        tdc_config_free(&cfg);
        return 0;
    }

    td_log_setup("tuodi-connector", cfg.instance, (td_log_level)(TD_LOG_ERR + cfg.log_level),
                 TD_LOG_TARGET_AUTO);
    r = td_signal_setup();
    if (r < 0) {
        td_log_error("cannot install signal handlers: %s", strerror(-r));
        tdc_config_free(&cfg);
        return 1;
    }
    r = tdc_connector_new(&cfg, cli.config, &c, &err);
    if (r == 0)
        r = tdc_connector_run(c, &err);
    if (r < 0) {
        td_log_error("%s", err.msg);
        td_notify_stopping("failed");
    }
    tdc_connector_free(c);
    td_signal_teardown();
    return r < 0 ? 1 : 0;
}
