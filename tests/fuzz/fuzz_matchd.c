/* Fuzz target for tuodi-matchd's decoding of each input (daemon/): roster
 * households, department records (medical insurance, civil affairs, human
 * resources) and verification outcomes, taken through what the engine does
 * with them (tdm_engine.c: tdm_process_roster, _record, _outcome) without
 * Kafka: decode, the roster index in a real LMDB store, the evaluation of the
 * shipped rules (deploy/rules/huainan-2023.yaml) against per-household
 * windows, and the alerts as Avro records.
 *
 * Input: a sequence of messages, each one byte, a 16-bit little-endian
 * length and that many bytes.
 *   byte % 5: the input: 0 roster, 1 medical insurance, 2 civil affairs,
 *             3 human resources, 4 verification outcome;
 *   byte / 5: flags: 1 the bytes are a whole frame (magic, fingerprint,
 *             body), else a body framed here with the current schema's
 *             fingerprint; 2 roster: a tombstone for the last household
 *             applied / outcome: about the last alert raised (its id put in
 *             the record, so that outcomes reach open alerts); 4 roster: the
 *             key is not the record's household_id.
 * The store's write transaction is aborted after each input: every input
 * starts from an empty state.
 * Properties, beyond no crash, leak or undefined behaviour:
 *   - what decodes is applied or refused with -EINVAL/-EBADMSG (a skip),
 *     never another failure; a household applied is found again by its id
 *     and by each member's person key;
 *   - an evaluation that fails leaves the window as it was (the engine
 *     restores it); every alert converts to a valid Alert record;
 *   - a window encodes and decodes to an equal window after each message;
 *   - no error text (skips, dead letters) holds an identity number once
 *     masked as the engine masks it (td_log_redact).
 * corpus/matchd/ holds seeds written by gen_matchd_corpus.c.
 */
#include "fuzz_common.h"
#include "td_log.h"
#include "tdm_eval.h"
#include "tdm_roster.h"
#include "tdm_rules.h"
#include "tdm_store.h"
#include "tdm_window.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define T "fuzz_matchd"
#define MAX_STATES 32
#define KEY_MAX 600

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { IN_ROSTER, IN_MEDICAL, IN_CIVIL, IN_HR, IN_VERIFY, IN_COUNT };

static const char *const in_schema[IN_COUNT] = {
    TDM_ROSTER_SCHEMA, "cn.tuodi.MedicalSettlement", "cn.tuodi.CivilAffairsEvent",
    "cn.tuodi.EmploymentEvent", "cn.tuodi.VerificationOutcome",
};
static const char *const in_topic[IN_COUNT] = {
    "tuodi.roster.households", "tuodi.medical_insurance.settlements",
    "tuodi.civil_affairs.events", "tuodi.human_resources.events", "tuodi.verifications.340421",
};
static const tdm_dataset in_dataset[IN_COUNT] = {
    TDM_DATASET_HOUSEHOLD, TDM_DATASET_MEDICAL_INSURANCE, TDM_DATASET_CIVIL_AFFAIRS,
    TDM_DATASET_HUMAN_RESOURCES, TDM_DATASET_ANY,
};

static struct {
    bool ready;
    char dir[64];
    td_avro_registry *reg;
    const td_avro_schema *schema[IN_COUNT];
    const td_avro_schema *alert_schema;
    td_avro_decoder *dec[IN_COUNT];
    avro_value_t alert_value;
    td_avro_buf buf;
    tdm_rules *rules;
    tdm_store *store;
    tdm_roster *roster;
    tdm_eval_ctx ctx;
    tdm_alert_list alerts;
    unsigned char *frame;
    unsigned char *wbuf;
    size_t wbuf_cap;
} fz;

/* The states of one input: key -> window. */
typedef struct state {
    char key[KEY_MAX];
    tdm_window *w;
} state;

typedef struct run {
    tdm_txn *txn;
    state st[MAX_STATES];
    size_t nst;
    char last_hid[KEY_MAX];
    char last_alert[TDM_ALERT_ID_MAX + 1];
    int64_t offset;
} run;

__attribute__((destructor)) static void fuzz_fini(void)
{
    char path[128];

    if (!fz.ready)
        return;
    for (int i = 0; i < IN_COUNT; i++)
        td_avro_decoder_free(fz.dec[i]);
    avro_value_decref(&fz.alert_value);
    td_avro_buf_done(&fz.buf);
    tdm_alert_list_done(&fz.alerts);
    tdm_roster_free(fz.roster);
    tdm_store_close(fz.store);
    tdm_rules_free(fz.rules);
    td_avro_registry_free(fz.reg);
    free(fz.frame);
    free(fz.wbuf);
    snprintf(path, sizeof(path), "%s/data.mdb", fz.dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/lock.mdb", fz.dir);
    unlink(path);
    rmdir(fz.dir);
    fz.ready = false;
}

static void fuzz_init(void)
{
    char path[4096];
    td_error err = {0};

    snprintf(path, sizeof(path), "%s/schemas", fuzz_source_root());
    if (td_avro_registry_new(&fz.reg) < 0 || td_avro_registry_load_dir(fz.reg, path, NULL, &err) < 0)
        fuzz_fail(T, "init: schemas: %s", err.msg);
    for (int i = 0; i < IN_COUNT; i++) {
        fz.schema[i] = td_avro_registry_find_name(fz.reg, in_schema[i]);
        if (!fz.schema[i] || td_avro_decoder_new(fz.reg, fz.schema[i], &fz.dec[i], &err) < 0)
            fuzz_fail(T, "init: %s: %s", in_schema[i], err.msg);
    }
    fz.alert_schema = td_avro_registry_find_name(fz.reg, "cn.tuodi.Alert");
    if (!fz.alert_schema || td_avro_schema_value_new(fz.alert_schema, &fz.alert_value, &err) < 0)
        fuzz_fail(T, "init: the Alert schema: %s", err.msg);
    snprintf(path, sizeof(path), "%s/deploy/rules/huainan-2023.yaml", fuzz_source_root());
    if (tdm_rules_load(path, &fz.rules, &err) < 0)
        fuzz_fail(T, "init: %s", err.msg);
    snprintf(fz.dir, sizeof(fz.dir), "%s/fuzz_matchd-XXXXXX",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    if (!mkdtemp(fz.dir))
        fuzz_fail(T, "init: mkdtemp");
    if (tdm_store_open(fz.dir, (size_t)64 << 20, (size_t)256 << 20, &fz.store, &err) < 0 ||
        tdm_roster_new(fz.store, fz.reg, &fz.roster, &err) < 0)
        fuzz_fail(T, "init: the store: %s", err.msg);
    fz.ctx.rules = fz.rules;
    fz.ctx.calendar = NULL;
    fz.ctx.instance = "tuodi-matchd@fuzz";
    fz.ready = true;
}

static state *state_of(run *r, const char *key)
{
    state *s;

    for (size_t i = 0; i < r->nst; i++)
        if (strcmp(r->st[i].key, key) == 0)
            return &r->st[i];
    if (r->nst == MAX_STATES)
        return NULL;
    s = &r->st[r->nst];
    snprintf(s->key, sizeof(s->key), "%s", key);
    s->w = tdm_window_new();
    if (!s->w)
        abort();
    r->nst++;
    return s;
}

/* An error text as the engine passes it on: masked (td_log_redact, as
 * td_log and tdm_dlq do), then it must hold no identity number. */
static void check_text(const char *what, const char *text)
{
    char masked[TD_ERROR_MSG_MAX + 1];

    snprintf(masked, sizeof(masked), "%s", text);
    td_log_redact(masked);
    fuzz_check_no_idnum(T, what, masked);
}

/* After an evaluation of st (rc its result; backup the window before it). */
static void after_eval(run *r, state *st, tdm_window *backup, int rc, const td_error *err)
{
    tdm_window *back = NULL;
    td_error e2 = {0};
    size_t n;

    if (rc < 0) {
        check_text("an evaluation's error", err->msg);
        tdm_window_free(st->w);
        st->w = backup; /* as the engine does */
        return;
    }
    tdm_window_free(backup);
    for (size_t i = 0; i < fz.alerts.n; i++) {
        const tdm_alert_out *a = &fz.alerts.v[i];
        if (tdm_alert_out_to_avro(a, fz.ctx.instance, &fz.alert_value, &e2) < 0)
            fuzz_fail(T, "an alert that does not convert: %s", e2.msg);
        if (td_avro_encode(fz.alert_schema, &fz.alert_value, &fz.buf, &e2) < 0)
            fuzz_fail(T, "an alert that is not an Alert record: %s", e2.msg);
        if (a->kind == TDM_KIND_ALERT)
            snprintf(r->last_alert, sizeof(r->last_alert), "%s", a->alert_id);
    }
    /* the window's canonical bytes */
    n = tdm_window_encoded_size(st->w);
    if (n > fz.wbuf_cap) {
        free(fz.wbuf);
        fz.wbuf = malloc(fz.wbuf_cap = n);
        if (!fz.wbuf)
            abort();
    }
    if (tdm_window_encode(st->w, fz.wbuf, n) < 0 || tdm_window_decode(fz.wbuf, n, &back, &e2) < 0)
        fuzz_fail(T, "a window that does not encode and decode: %s", e2.msg);
    if (!tdm_window_equal(back, st->w))
        fuzz_fail(T, "a window that decodes to another window");
    tdm_window_free(back);
}

static tdm_window *keep(const state *st)
{
    tdm_window *w;

    tdm_alert_list_reset(&fz.alerts);
    w = tdm_window_copy(st->w);
    if (!w)
        abort();
    return w;
}

static int get_string(const avro_value_t *rec, const char *name, const char **ret)
{
    avro_value_t f;
    size_t size;

    if (avro_value_get_by_name(rec, name, &f, NULL) != 0 || avro_value_get_type(&f) != AVRO_STRING ||
        avro_value_get_string(&f, ret, &size) != 0)
        return -EINVAL;
    return 0;
}

static void do_roster(run *r, unsigned flags, const unsigned char *m, size_t len)
{
    tdm_household view = TDM_HOUSEHOLD_INIT;
    tdm_coords coords = {in_topic[IN_ROSTER], 0, r->offset};
    char key[KEY_MAX];
    const char *hid = NULL;
    td_error err = {0};
    avro_value_t *v;
    state *st;
    int rc;

    if (flags & 2) { /* a tombstone */
        if (!r->last_hid[0])
            return;
        rc = tdm_roster_apply(fz.roster, r->txn, r->last_hid, strlen(r->last_hid), NULL, 0, &err);
        if (rc < 0)
            fuzz_fail(T, "a tombstone failed: %s", err.msg);
        if (tdm_roster_get(fz.roster, r->txn, r->last_hid, &view, &err) != -ENOENT)
            fuzz_fail(T, "a household found after its tombstone");
        tdm_household_done(&view);
        r->last_hid[0] = '\0';
        return;
    }
    if (td_avro_decode(fz.dec[IN_ROSTER], m, len, &v, &err) < 0) {
        check_text("a roster skip", err.msg);
        return;
    }
    if (get_string(v, "household_id", &hid) < 0)
        fuzz_fail(T, "a Household without household_id decoded");
    snprintf(key, sizeof(key), "%s", (flags & 4) ? "not-the-household-id" : hid);
    if (!key[0] || strlen(hid) >= sizeof(key))
        return; /* the engine skips records without a key that fits */
    rc = tdm_roster_apply(fz.roster, r->txn, key, strlen(key), m, len, &err);
    if (rc == -EINVAL || rc == -EBADMSG) {
        check_text("a roster skip", err.msg);
        return;
    }
    if (rc < 0)
        fuzz_fail(T, "applying a household failed: %s", err.msg);
    if (tdm_roster_get(fz.roster, r->txn, key, &view, &err) < 0)
        fuzz_fail(T, "a household applied is not found: %s", err.msg);
    if (strcmp(view.household_id, key) != 0)
        fuzz_fail(T, "a household found under another id");
    for (size_t i = 0; i < view.nmembers; i++) {
        char found[KEY_MAX];
        if (tdm_roster_household_of(fz.roster, r->txn, view.members[i].person_key, found,
                                    sizeof(found), &err) < 0)
            fuzz_fail(T, "member %zu is not found: %s", i, err.msg);
        /* a person in two households links to the one applied last */
        if (strcmp(found, key) != 0)
            fuzz_fail(T, "member %zu links to another household", i);
    }
    snprintf(r->last_hid, sizeof(r->last_hid), "%s", key);
    st = state_of(r, key);
    if (st) {
        tdm_window *backup = keep(st);
        rc = tdm_eval_household(&fz.ctx, &view, &coords, st->w, &fz.alerts, &err);
        after_eval(r, st, backup, rc, &err);
    }
    tdm_household_done(&view);
}

static void do_record(run *r, int in, const unsigned char *m, size_t len)
{
    tdm_household view = TDM_HOUSEHOLD_INIT;
    tdm_coords coords = {in_topic[in], 0, r->offset};
    char key[KEY_MAX], hid[KEY_MAX];
    const char *person_key = NULL;
    bool on_roster = false;
    td_error err = {0};
    avro_value_t *v;
    state *st;
    int rc;

    rc = td_avro_decode(fz.dec[in], m, len, &v, &err);
    if (rc == 0)
        rc = get_string(v, "person_key", &person_key);
    if (rc < 0 || !person_key || !*person_key || strlen(person_key) > 400) {
        check_text("a record skip", err.msg);
        return;
    }
    rc = tdm_roster_household_of(fz.roster, r->txn, person_key, hid, sizeof(hid), &err);
    if (rc == 0) {
        if (tdm_roster_get(fz.roster, r->txn, hid, &view, &err) < 0)
            fuzz_fail(T, "a person links to a household that is not there: %s", err.msg);
        on_roster = true;
        snprintf(key, sizeof(key), "%s", hid);
    } else if (rc == -ENOENT || rc == -ERANGE || rc == -EINVAL) {
        snprintf(key, sizeof(key), "person:%s", person_key);
    } else {
        fuzz_fail(T, "looking up a person failed: %s", err.msg);
    }
    st = state_of(r, key);
    if (st) {
        tdm_window *backup = keep(st);
        memset(&err, 0, sizeof(err));
        rc = tdm_eval_record(&fz.ctx, in_dataset[in], v, &coords, on_roster ? &view : NULL, st->w,
                             &fz.alerts, &err);
        after_eval(r, st, backup, rc, &err);
    }
    tdm_household_done(&view);
}

static void do_outcome(run *r, unsigned flags, const unsigned char *m, size_t len)
{
    tdm_household view = TDM_HOUSEHOLD_INIT;
    const char *alert_id = NULL;
    bool on_roster = false;
    td_error err = {0};
    avro_value_t *v, f;
    state *st = NULL;
    int rc;

    rc = td_avro_decode(fz.dec[IN_VERIFY], m, len, &v, &err);
    if (rc == 0 && (flags & 2) && r->last_alert[0] &&
        (avro_value_get_by_name(v, "alert_id", &f, NULL) != 0 ||
         avro_value_set_string(&f, r->last_alert) != 0))
        fuzz_fail(T, "setting alert_id");
    if (rc == 0 && get_string(v, "alert_id", &alert_id) < 0)
        fuzz_fail(T, "a VerificationOutcome without alert_id decoded");
    if (rc < 0) {
        check_text("an outcome's dead letter", err.msg);
        return;
    }
    for (size_t i = 0; i < r->nst && !st; i++)
        if (tdm_window_find_alert(r->st[i].w, alert_id, NULL))
            st = &r->st[i];
    if (!st)
        return; /* "unknown alert": a dead letter */
    if (strncmp(st->key, "person:", 7) != 0) {
        if (tdm_roster_get(fz.roster, r->txn, st->key, &view, &err) == 0)
            on_roster = true;
    }
    {
        tdm_window *backup = keep(st);
        memset(&err, 0, sizeof(err));
        rc = tdm_eval_outcome(&fz.ctx, v, on_roster ? &view : NULL,
                              on_roster ? NULL
                                        : (strncmp(st->key, "person:", 7) == 0 ? st->key + 7 : st->key),
                              st->w, &fz.alerts, &err);
        after_eval(r, st, backup, rc, &err);
    }
    tdm_household_done(&view);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    run *r;
    td_error err = {0};

    if (!fz.ready)
        fuzz_init();
    r = calloc(1, sizeof(*r));
    if (!r)
        abort();
    if (tdm_store_begin(fz.store, &r->txn, &err) < 0)
        fuzz_fail(T, "begin: %s", err.msg);
    while (size >= 3) {
        int in = data[0] % IN_COUNT;
        unsigned flags = data[0] / IN_COUNT;
        size_t len = (size_t)data[1] | (size_t)data[2] << 8;
        const unsigned char *m;

        data += 3;
        size -= 3;
        if (len > size)
            len = size;
        if (flags & 1) {
            m = data;
        } else {
            uint64_t fp = td_avro_schema_fingerprint(fz.schema[in]);
            /* an exact-size copy so that ASan sees any read past the end */
            free(fz.frame);
            fz.frame = malloc(len + TD_AVRO_HEADER_LEN);
            if (!fz.frame)
                abort();
            fz.frame[0] = TD_AVRO_MAGIC_0;
            fz.frame[1] = TD_AVRO_MAGIC_1;
            for (int i = 0; i < 8; i++)
                fz.frame[2 + i] = (unsigned char)(fp >> (8 * i));
            if (len)
                memcpy(fz.frame + TD_AVRO_HEADER_LEN, data, len);
            m = fz.frame;
            len += TD_AVRO_HEADER_LEN;
        }
        switch (in) {
        case IN_ROSTER:
            do_roster(r, flags, m, len);
            break;
        case IN_VERIFY:
            do_outcome(r, flags, m, len);
            break;
        default:
            do_record(r, in, m, len);
            break;
        }
        r->offset++;
        if (!(flags & 1))
            len -= TD_AVRO_HEADER_LEN;
        data += len;
        size -= len;
    }
    tdm_store_abort(r->txn);
    for (size_t i = 0; i < r->nst; i++)
        tdm_window_free(r->st[i].w);
    free(r);
    free(fz.frame);
    fz.frame = NULL;
    return 0;
}
