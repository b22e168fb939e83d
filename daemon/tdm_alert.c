/* tdm_alert: alert ids, routing, due dates, overdue check, messages. */
#include "tdm_alert.h"

#include "td_date.h"
#include "td_money.h"

#include <errno.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- ids ---- */

static const char id_domain[] = "tuodi-alert-id/1";

static int hash_part(EVP_MD_CTX *ctx, const tdm_hash_part *part)
{
    unsigned char hdr[5];

    hdr[0] = (unsigned char)part->tag;
    for (int i = 0; i < 4; i++)
        hdr[1 + i] = (unsigned char)(((uint64_t)part->n >> (8 * i)) & 0xff);
    if (EVP_DigestUpdate(ctx, hdr, sizeof(hdr)) != 1)
        return -EIO;
    if (part->n && EVP_DigestUpdate(ctx, part->p, part->n) != 1)
        return -EIO;
    return 0;
}

int tdm_hash_hex(const tdm_hash_part *parts, size_t n, size_t hex_len, char *out)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_MD_CTX *ctx;
    int r = -EIO;

    if (!out || hex_len == 0 || hex_len > 64 || (n && !parts))
        return -EINVAL;
    ctx = EVP_MD_CTX_new();
    if (!ctx)
        return -ENOMEM;
    if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
        goto out;
    for (size_t i = 0; i < n; i++)
        if ((r = hash_part(ctx, &parts[i])) < 0)
            goto out;
    r = -EIO;
    if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != 32)
        goto out;
    for (size_t i = 0; i < hex_len; i++)
        out[i] = hex[i % 2 ? md[i / 2] & 0xf : md[i / 2] >> 4];
    out[hex_len] = '\0';
    r = 0;
out:
    EVP_MD_CTX_free(ctx);
    return r;
}

static bool given(const char *s)
{
    return s && s[0];
}

#define PART(t, s) ((tdm_hash_part){(t), (s), strlen(s)})

int tdm_alert_id(const tdm_alert_id_input *in, char out[TDM_ALERT_ID_LEN + 1])
{
    tdm_hash_part parts[8];
    size_t n = 0;
    unsigned char b, d[4], q[4];

    if (!in || !given(in->rule_id) || !given(in->rule_version) ||
        (!given(in->household_id) && !given(in->person_key)) ||
        tdm_window_severity_rank(in->severity) == 0 ||
        (given(in->dataset) && !given(in->record_id)))
        return -EINVAL;
    parts[n++] = PART('T', id_domain);
    parts[n++] = PART('r', in->rule_id);
    parts[n++] = PART('v', in->rule_version);
    parts[n++] = given(in->household_id) ? PART('h', in->household_id)
                                         : PART('p', in->person_key);
    b = (unsigned char)tdm_window_severity_rank(in->severity);
    parts[n++] = (tdm_hash_part){'s', &b, 1};
    if (given(in->dataset)) {
        parts[n++] = PART('e', in->dataset);
        parts[n++] = PART('i', in->record_id);
    } else {
        uint32_t u = (uint32_t)in->window_end_day;
        for (int i = 0; i < 4; i++)
            d[i] = (unsigned char)((u >> (8 * i)) & 0xff);
        parts[n++] = (tdm_hash_part){'d', d, sizeof(d)};
        for (int i = 0; i < 4; i++)
            q[i] = (unsigned char)((in->seq >> (8 * i)) & 0xff);
        parts[n++] = (tdm_hash_part){'n', q, sizeof(q)};
    }
    return tdm_hash_hex(parts, n, TDM_ALERT_ID_LEN, out);
}

/* ---- routing ---- */

bool tdm_alert_village_valid(const char *v)
{
    if (!v)
        return false;
    for (int i = 0; i < TDM_VILLAGE_CODE_LEN; i++)
        if (v[i] < '0' || v[i] > '9')
            return false;
    return v[TDM_VILLAGE_CODE_LEN] == '\0' && v[0] != '0';
}

int tdm_alert_route(const char *village_code, const char *alert_id, tdm_route *ret)
{
    tdm_route rt;
    size_t n;

    if (!alert_id)
        return -EINVAL;
    n = strnlen(alert_id, TDM_ALERT_ID_MAX + 1);
    if (n == 0 || n > TDM_ALERT_ID_MAX)
        return -EINVAL;
    for (size_t i = 0; i < n; i++)
        if (alert_id[i] < 0x21 || alert_id[i] > 0x7e)
            return -EINVAL;
    memset(&rt, 0, sizeof(rt));
    if (tdm_alert_village_valid(village_code)) {
        rt.routed = true;
        memcpy(rt.village_code, village_code, TDM_VILLAGE_CODE_LEN);
        memcpy(rt.township_code, village_code, 9);
        memcpy(rt.county_code, village_code, 6);
        snprintf(rt.topic, sizeof(rt.topic), "%s%s", TDM_ALERT_TOPIC_PREFIX, rt.county_code);
        memcpy(rt.key, village_code, TDM_VILLAGE_CODE_LEN);
    } else {
        snprintf(rt.topic, sizeof(rt.topic), "%s", TDM_ALERT_TOPIC_UNROUTED);
        memcpy(rt.key, alert_id, n);
    }
    *ret = rt;
    return 0;
}

/* ---- the county of a verification outcome ---- */

int tdm_alert_outcome_county(const char *prefix, const char *topic,
                             char ret[TDM_OUTCOME_COUNTY_BUFSZ])
{
    size_t pl;
    const char *c;

    if (!prefix || !topic || !ret)
        return -EINVAL;
    pl = strlen(prefix);
    if (strncmp(topic, prefix, pl) != 0)
        return -EINVAL;
    c = topic + pl;
    if (strcmp(c, "unrouted") == 0) {
        memcpy(ret, "unrouted", sizeof("unrouted"));
        return 0;
    }
    if (strlen(c) != 6)
        return -EINVAL;
    for (size_t i = 0; i < 6; i++)
        if (c[i] < '0' || c[i] > '9')
            return -EINVAL;
    memcpy(ret, c, 7);
    return 0;
}

int tdm_alert_outcome_regex(const char *prefix, char *buf, size_t size)
{
    static const char tail[] = "([0-9][0-9][0-9][0-9][0-9][0-9]|unrouted)$";
    size_t n = 0;

    if (!prefix || !buf || size == 0)
        return -EINVAL;
    for (const char *p = prefix; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '.' || *p == '_' || *p == '-'))
            return -EINVAL;
    buf[n++] = '^';
    for (const char *p = prefix; *p; p++) {
        if (n + 3 >= size)
            goto nospc;
        if (*p == '.')
            buf[n++] = '\\';
        buf[n++] = *p;
    }
    if (n + sizeof(tail) > size)
        goto nospc;
    memcpy(buf + n, tail, sizeof(tail));
    return 0;
nospc:
    buf[0] = '\0';
    return -ENOSPC;
}

int tdm_alert_outcome_check(const char *prefix, const char *topic, const char *alert_county,
                            char *buf, size_t size)
{
    char tc[TDM_OUTCOME_COUNTY_BUFSZ];
    const char *ac = alert_county && *alert_county ? alert_county : "unrouted";

    if (tdm_alert_outcome_county(prefix, topic, tc) < 0) {
        snprintf(buf, size, "%s is no verification topic (%s<county code> or %sunrouted)",
                 topic ? topic : "(null)", prefix ? prefix : "", prefix ? prefix : "");
        return -EINVAL;
    }
    if (strcmp(tc, ac) == 0)
        return 0;
    snprintf(buf, size, "the alert is %s%s, the outcome came on %s (%s%s): a county records "
             "outcomes only for its own alerts",
             strcmp(ac, "unrouted") == 0 ? "unrouted" : "of county ",
             strcmp(ac, "unrouted") == 0 ? "" : ac, topic,
             strcmp(tc, "unrouted") == 0 ? "" : "county ", tc);
    return -EPERM;
}

/* ---- due dates ---- */

static bool in_sorted(const int32_t *a, size_t n, int32_t day)
{
    size_t lo = 0, hi = n;

    if (!a)
        return false;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (a[mid] == day)
            return true;
        if (a[mid] < day)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

bool tdm_calendar_is_working_day(const tdm_calendar *cal, int32_t day)
{
    if (cal && in_sorted(cal->workdays, cal->n_workdays, day))
        return true;
    if (cal && in_sorted(cal->holidays, cal->n_holidays, day))
        return false;
    return td_date_weekday(day) < 5;
}

int32_t tdm_calendar_add_working_days(const tdm_calendar *cal, int32_t day, int n)
{
    int32_t from = 0, to = 0; /* the covered days: [from, to) */
    int told = 0;             /* the last year given to the hook */

    if (!cal || (cal->n_holidays == 0 && cal->n_workdays == 0 && !cal->fallback))
        return n > 0 ? td_date_add_working_days(day, n) : day;
    if (cal->fallback && cal->first_year > 0 && cal->last_year >= cal->first_year &&
        td_date_from_ymd(cal->first_year, 1, 1, &from) &&
        td_date_from_ymd(cal->last_year, 12, 31, &to))
        to++;
    else
        from = to = 0; /* no year is covered */
    while (n > 0 && day < INT32_MAX) {
        day++;
        if (cal->fallback && (day < from || day >= to)) {
            int y, m, d;
            td_date_to_ymd(day, &y, &m, &d);
            if (y != told)
                cal->fallback(cal->opaque, y);
            told = y;
        }
        if (tdm_calendar_is_working_day(cal, day))
            n--;
    }
    return day;
}

void tdm_alert_due_dates(const tdm_calendar *cal, int32_t raised_day, int32_t *ret_visit_due,
                         int32_t *ret_procedure_due)
{
    if (ret_visit_due)
        *ret_visit_due = tdm_calendar_add_working_days(cal, raised_day, TDM_VISIT_WORKING_DAYS);
    if (ret_procedure_due)
        *ret_procedure_due =
            tdm_calendar_add_working_days(cal, raised_day, TDM_PROCEDURE_WORKING_DAYS);
}

/* ---- overdue ---- */

bool tdm_alert_overdue(const tdm_open_alert *a, int32_t today)
{
    return a && !a->overdue_warned && today > a->visit_due_day;
}

/* ---- messages ---- */

const char *tdm_alert_risk_words(const char *c)
{
    static const struct {
        const char *code, *words;
    } table[] = {
        {"01", "因病"},         {"03", "因残"},           {"04", "缺劳动力"},
        {"05", "因意外事故"},   {"06", "因产业项目失败"}, {"07", "因务工就业不稳"},
        {"09", "因学"},         {"99", "其他"},
    };

    if (!c)
        return NULL;
    if (c[0] == '0' && c[1] == '2' &&
        (c[2] == '\0' || (c[2] >= '0' && c[2] <= '9' && c[3] >= '0' && c[3] <= '9' && !c[4])))
        return "因自然灾害";
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
        if (strcmp(c, table[i].code) == 0)
            return table[i].words;
    return NULL;
}

const char *tdm_alert_severity_words(tdm_severity s)
{
    switch (s) {
    case TDM_SEVERITY_LOW:
        return "低";
    case TDM_SEVERITY_MEDIUM:
        return "中";
    case TDM_SEVERITY_HIGH:
        return "高";
    }
    return "未知";
}

typedef struct out {
    char *buf;
    size_t size, len;
    bool full;
} out;

static void add(out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(out *o, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (o->full)
        return;
    va_start(ap, fmt);
    n = vsnprintf(o->buf + o->len, o->size - o->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= o->size - o->len) {
        o->full = true;
        return;
    }
    o->len += (size_t)n;
}

static void add_amount(out *o, int64_t v, tdm_unit unit)
{
    char yuan[32];
    uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

    switch (unit) {
    case TDM_UNIT_FEN:
        td_money_format_yuan(v, yuan, sizeof(yuan));
        add(o, "%s元", yuan);
        return;
    case TDM_UNIT_BASIS_POINTS:
        add(o, "%s%" PRIu64 ".%02u%%", v < 0 ? "-" : "", mag / 100, (unsigned)(mag % 100));
        return;
    case TDM_UNIT_COUNT:
        add(o, "%" PRId64 "个", v);
        return;
    case TDM_UNIT_DAYS:
        add(o, "%" PRId64 "天", v);
        return;
    case TDM_UNIT_YEARS:
        add(o, "%" PRId64 "岁", v);
        return;
    case TDM_UNIT_GRADE:
        add(o, "%" PRId64 "级", v);
        return;
    }
    add(o, "%" PRId64, v);
}

/* Masks every run of 15 or more ASCII digits (an X or x right after it
 * included) with '*'. */
static void mask_id_runs(char *s)
{
    size_t i = 0;

    while (s[i]) {
        size_t start = i, end;
        if (s[i] < '0' || s[i] > '9') {
            i++;
            continue;
        }
        while (s[i] >= '0' && s[i] <= '9')
            i++;
        end = i;
        if (s[i] == 'X' || s[i] == 'x')
            end++;
        if (i - start >= 15) {
            memset(s + start, '*', end - start);
            i = end;
        }
    }
}

int tdm_alert_message(const tdm_message_input *in, char *buf, size_t size)
{
    out o = {buf, size, 0, false};
    char visit[16], proc[16];
    const char *risk;

    if (!in || !given(in->rule_name) || !buf)
        return -EINVAL;
    if (size == 0)
        return -ENOSPC;
    buf[0] = '\0';
    add(&o, "【%s】%s", tdm_alert_severity_words(in->severity), in->rule_name);
    if (given(in->risk_code)) {
        risk = tdm_alert_risk_words(in->risk_code);
        if (risk)
            add(&o, "（风险：%s）", risk);
        else
            add(&o, "（风险类型%s）", in->risk_code);
    }
    add(&o, "：");
    if (tdm_alert_village_valid(in->village_code))
        add(&o, "村代码%s，", in->village_code);
    else
        add(&o, "村代码未知，");
    if (in->on_roster) {
        if (given(in->head_name))
            add(&o, "户主%s家", in->head_name);
        else
            add(&o, "名册内家庭");
        if (given(in->person_name))
            add(&o, "（成员%s）", in->person_name);
    } else {
        add(&o, "名册外人员%s", given(in->person_name) ? in->person_name : "");
    }
    add(&o, "。");
    if (in->has_measure) {
        add(&o, "测量值");
        add_amount(&o, in->value, in->unit);
        add(&o, "，阈值");
        add_amount(&o, in->threshold, in->unit);
        add(&o, "。");
    }
    td_date_format(in->visit_due_day, visit, sizeof(visit));
    td_date_format(in->procedure_due_day, proc, sizeof(proc));
    add(&o, "请于%s前入户核查，%s前办结。", visit, proc);
    if (o.full) {
        buf[0] = '\0';
        return -ENOSPC;
    }
    mask_id_runs(buf);
    return 0;
}
