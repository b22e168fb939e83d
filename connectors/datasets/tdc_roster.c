/* roster -> cn.tuodi.Household (household.avsc): the bureau's export from the
 * national monitoring system, one row per member, grouped into one Household
 * per household id.
 *
 * The export must list a household's rows together (it is sorted by
 * household). Rows are borrowed from the source, so the rows of the
 * household being read are copied into an arena; when the next household
 * begins (or the unit ends) the buffered rows are validated together and
 * become one Household, or are all rejected with the same reason: a partial
 * household is never published, because on the compacted topic it would
 * replace the complete one.
 *
 * Grouping rules:
 *  - a row belongs to the household named in its 户编号 cell;
 *  - a row whose 户编号 cannot be read (empty cell, or a row too short)
 *    belongs to the household being buffered, and spoils it; with nothing
 *    buffered it is rejected alone;
 *  - a household id seen again after its rows ended in the same unit is
 *    rejected (all the rows of the new run), telling ops to sort the export;
 *  - a household with more than TDC_ROSTER_MAX_ROWS rows is rejected, the
 *    rows buffered at once and its later rows one by one, so memory stays
 *    bounded;
 *  - while rows are buffered, nothing is emitted for rows after the first
 *    buffered one, so the safe position (before that row) is always exact.
 */
#include "tdc_mapping.h"

#include "td_log.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TDC_ROSTER_MAX_ROWS 200

static const char *const hid_cols[] = {"户编号", "户码", "家庭编号", NULL};
static const char *const village_cols[] = {"村级区划代码", "村代码", NULL};
static const char *const grid_cols[] = {"网格编号", "所属网格", "网格", NULL};
static const char *const type_cols[] = {"户类型", "户类别", NULL};
static const char *const state_cols[] = {"监测状态", NULL};
static const char *const category_cols[] = {"监测对象类别", "监测类别", NULL};
static const char *const identified_cols[] = {"识别时间", "识别日期", "纳入监测时间", NULL};
static const char *const eliminated_cols[] = {"风险消除时间", "风险消除日期", NULL};
static const char *const method_cols[] = {"风险消除方式", NULL};
static const char *const size_cols[] = {"家庭人口数", "家庭人口", NULL};
static const char *const year_cols[] = {"收入年度", NULL};
static const char *const annual_cols[] = {"家庭年纯收入", "家庭纯收入", NULL};
static const char *const percap_cols[] = {"家庭年人均纯收入", "人均纯收入", NULL};
static const char *const risk_cols[] = {"风险类型", "返贫致贫风险", "致贫返贫风险类型", NULL};
static const char *const updated_cols[] = {"更新时间", "最后更新时间", NULL};
static const char *const person_cols[] = {"身份证号", "证件号码", "公民身份号码", NULL};
static const char *const name_cols[] = {"姓名", NULL};
static const char *const relation_cols[] = {"与户主关系", NULL};
static const char *const labour_cols[] = {"劳动技能", "劳动能力", NULL};
static const char *const grade_cols[] = {"残疾等级", NULL};
static const char *const school_cols[] = {"在校生状况", "是否在校生", NULL};
static const char *const dibao_cols[] = {"享受低保", "是否享受低保", "低保户", NULL};
static const char *const tekun_cols[] = {"特困供养", "是否特困供养", "特困户", NULL};
static const char *const sex_cols[] = {"性别", NULL};
static const char *const birth_cols[] = {"出生日期", NULL};
static const char *const job_cols[] = {"公益性岗位", "是否公益性岗位", "公益岗位", NULL};

static const char *const type_codes[] = {
    "脱贫户", "POVERTY_ALLEVIATED",
    "一般农户", "ORDINARY",
    "一般户", "ORDINARY",
    NULL,
};
static const char *const state_codes[] = {
    "", "NOT_MONITORED",
    "未纳入监测", "NOT_MONITORED",
    "已纳入监测", "MONITORED",
    "未消除风险", "MONITORED",
    "风险已消除", "RISK_ELIMINATED",
    "已消除风险", "RISK_ELIMINATED",
    NULL,
};
static const char *const category_codes[] = {
    "脱贫不稳定户", "UNSTABLE_ALLEVIATED",
    "边缘易致贫户", "MARGINAL",
    "突发严重困难户", "SUDDEN_HARDSHIP",
    NULL,
};
static const char *const risk_codes[] = {
    "因病", "01",
    "因残", "03",
    "缺劳动力", "04",
    "因意外事故", "05",
    "因产业项目失败", "06",
    "因务工就业不稳", "07",
    "因学", "09",
    "其他", "99",
    NULL,
};
static const char *const relation_codes[] = {
    "户主", "HEAD",
    "配偶", "SPOUSE",
    "之子", "CHILD", "之女", "CHILD", "子", "CHILD", "女", "CHILD", "子女", "CHILD",
    "之儿媳", "CHILD_IN_LAW", "之女婿", "CHILD_IN_LAW", "儿媳", "CHILD_IN_LAW",
    "女婿", "CHILD_IN_LAW",
    "之孙子", "GRANDCHILD", "之孙女", "GRANDCHILD", "之外孙子", "GRANDCHILD",
    "之外孙女", "GRANDCHILD", "孙子", "GRANDCHILD", "孙女", "GRANDCHILD",
    "之父", "PARENT", "之母", "PARENT", "父亲", "PARENT", "母亲", "PARENT",
    "之公公", "PARENT_IN_LAW", "之婆婆", "PARENT_IN_LAW", "之岳父", "PARENT_IN_LAW",
    "之岳母", "PARENT_IN_LAW",
    "之祖父", "GRANDPARENT", "之祖母", "GRANDPARENT", "之外祖父", "GRANDPARENT",
    "之外祖母", "GRANDPARENT",
    "之兄弟姐妹", "SIBLING", "兄弟姐妹", "SIBLING",
    "其他", "OTHER",
    NULL,
};
static const char *const labour_codes[] = {
    "普通劳动力", "NORMAL",
    "技能劳动力", "SKILLED",
    "弱劳动力或半劳动力", "WEAK",
    "弱劳动力", "WEAK",
    "半劳动力", "WEAK",
    "丧失劳动力", "LOST",
    "无劳动力", "NONE",
    NULL,
};
static const char *const grade_codes[] = {
    "一级", "1", "二级", "2", "三级", "3", "四级", "4", "无", "", NULL,
};
static const char *const school_codes[] = {
    "非在校生", "否",
    "在校生", "是",
    "学前教育", "是",
    "小学", "是",
    "初中", "是",
    "高中", "是",
    "中职", "是",
    "高职", "是",
    "大专", "是",
    "本科", "是",
    NULL,
};
static const char *const yes_no_codes[] = {
    "是", "是", "否", "否", "享受", "是", "未享受", "否", NULL,
};
static const char *const sex_codes[] = {"男", "MALE", "女", "FEMALE", NULL};
static const char *const monitored[] = {"MONITORED", "RISK_ELIMINATED", NULL};
static const char *const eliminated[] = {"RISK_ELIMINATED", NULL};

/* Indexes into fields[] below. */
enum {
    F_HID = 0,
    F_SIZE = 9,
    F_UPDATED = 14,
    F_PERSON = 15,
    F_RELATION = 17,
    F_BIRTH = 18,
    F_ID_SEX = 27,
};

static const tdc_field_spec fields[] = {
    /* 0 */
    {.path = "household_id", .kind = TDC_FK_STRING, .flags = TDC_SPEC_REQUIRED | TDC_SPEC_KEY,
     .columns = hid_cols, .doc = "the Kafka key; rows of one household must be contiguous"},
    {.path = "village_code", .kind = TDC_FK_VILLAGE, .flags = TDC_SPEC_REQUIRED,
     .columns = village_cols, .doc = "12 digits, not ending in 000"},
    {.path = "grid_id", .kind = TDC_FK_STRING, .flags = TDC_SPEC_REQUIRED, .columns = grid_cols,
     .doc = "as the roster names it"},
    {.path = "household_type", .kind = TDC_FK_ENUM, .flags = TDC_SPEC_REQUIRED,
     .columns = type_cols, .codes = type_codes, .doc = "脱贫户 / 一般农户"},
    {.path = "monitoring.state", .kind = TDC_FK_ENUM, .flags = TDC_SPEC_REQUIRED,
     .columns = state_cols, .codes = state_codes, .doc = "an empty cell is NOT_MONITORED"},
    /* 5 */
    {.path = "monitoring.category", .kind = TDC_FK_ENUM,
     .flags = TDC_SPEC_WHEN_REQUIRED | TDC_SPEC_WHEN_ONLY, .columns = category_cols,
     .codes = category_codes, .when = "monitoring.state", .when_symbols = monitored,
     .doc = "null (the cell ignored) when NOT_MONITORED"},
    {.path = "monitoring.identified_date", .kind = TDC_FK_DATE, .columns = identified_cols,
     .doc = "null when empty"},
    {.path = "monitoring.risk_eliminated_date", .kind = TDC_FK_DATE,
     .flags = TDC_SPEC_WHEN_REQUIRED | TDC_SPEC_WHEN_ONLY, .columns = eliminated_cols,
     .when = "monitoring.state", .when_symbols = eliminated,
     .doc = "null (the cell ignored) unless RISK_ELIMINATED"},
    {.path = "monitoring.risk_elimination_method", .kind = TDC_FK_STRING,
     .flags = TDC_SPEC_WHEN_ONLY, .columns = method_cols, .when = "monitoring.state",
     .when_symbols = eliminated, .doc = "free text; null unless RISK_ELIMINATED"},
    {.path = "household_size", .kind = TDC_FK_INT, .flags = TDC_SPEC_FALLBACK,
     .columns = size_cols, .min = 1, .max = TDC_ROSTER_MAX_ROWS,
     .doc = "absent or empty: the number of member rows; given: it must equal that number"},
    /* 10 */
    {.path = "income.year", .kind = TDC_FK_INT, .columns = year_cols, .min = 1949,
     .max = 2100, .doc = "income is null when its three cells are empty; all or none"},
    {.path = "income.annual_net_fen", .kind = TDC_FK_MONEY, .columns = annual_cols,
     .doc = "may be negative"},
    {.path = "income.per_capita_net_fen", .kind = TDC_FK_MONEY, .columns = percap_cols,
     .doc = "may be negative"},
    {.path = "risks", .kind = TDC_FK_RISKS, .flags = TDC_SPEC_FALLBACK, .columns = risk_cols,
     .codes = risk_codes,
     .doc = "codes or names split at , ， 、 ; | / or spaces; at most 5, no repeats"},
    {.path = "updated_at", .kind = TDC_FK_TIMESTAMP, .columns = updated_cols,
     .doc = "China Standard Time; absent or empty: the file's mtime (postgres: the row's "
            "updated_at)"},
    /* 15 */
    {.path = "members[].person_key", .kind = TDC_FK_PERSON_KEY,
     .flags = TDC_SPEC_REQUIRED | TDC_SPEC_MEMBER, .columns = person_cols,
     .doc = "normalised, or pseudonymised; once per household"},
    {.path = "members[].name", .kind = TDC_FK_STRING,
     .flags = TDC_SPEC_REQUIRED | TDC_SPEC_MEMBER, .columns = name_cols, .doc = ""},
    {.path = "members[].relation", .kind = TDC_FK_ENUM,
     .flags = TDC_SPEC_REQUIRED | TDC_SPEC_MEMBER, .columns = relation_cols,
     .codes = relation_codes, .doc = "exactly one HEAD, who is listed first"},
    {.path = "members[].birth_date", .kind = TDC_FK_BIRTH_DATE, .flags = TDC_SPEC_MEMBER,
     .doc = "derived from the identity number before pseudonymisation"},
    {.path = "members[].labour_capacity", .kind = TDC_FK_ENUM,
     .flags = TDC_SPEC_REQUIRED | TDC_SPEC_MEMBER, .columns = labour_cols,
     .codes = labour_codes, .doc = ""},
    /* 20 */
    {.path = "members[].disability_grade", .kind = TDC_FK_INT, .flags = TDC_SPEC_MEMBER,
     .columns = grade_cols, .codes = grade_codes, .min = 1, .max = 4,
     .doc = "null when empty or 无"},
    {.path = "members[].in_school", .kind = TDC_FK_BOOL, .flags = TDC_SPEC_MEMBER,
     .columns = school_cols, .codes = school_codes, .doc = "null when absent or empty"},
    {.path = "source.department", .kind = TDC_FK_ENUM, .flags = TDC_SPEC_FIXED,
     .constant = "RURAL_REVITALIZATION",
     .doc = "set by the connector; source.record_id is the household id, source.row its "
            "first row"},
    /* Household v2: optional columns for the suspicious-data list */
    {.path = "dibao", .kind = TDC_FK_BOOL, .columns = dibao_cols, .codes = yes_no_codes,
     .doc = "null when absent or empty"},
    {.path = "tekun", .kind = TDC_FK_BOOL, .columns = tekun_cols, .codes = yes_no_codes,
     .doc = "null when absent or empty"},
    {.path = "members[].sex", .kind = TDC_FK_ENUM, .flags = TDC_SPEC_MEMBER, .columns = sex_cols,
     .codes = sex_codes, .doc = "null when absent or empty"},
    {.path = "members[].recorded_birth_date", .kind = TDC_FK_DATE, .flags = TDC_SPEC_MEMBER,
     .columns = birth_cols, .doc = "the roster's own column; null when absent or empty"},
    {.path = "members[].id_sex", .kind = TDC_FK_DERIVED, .flags = TDC_SPEC_MEMBER,
     .doc = "derived from the identity number before pseudonymisation (its 17th digit: odd "
            "MALE, even FEMALE); always set"},
    {.path = "members[].public_welfare_job", .kind = TDC_FK_BOOL, .flags = TDC_SPEC_MEMBER,
     .columns = job_cols, .codes = yes_no_codes, .doc = "null when absent or empty"},
};

const tdc_dataset_desc tdc_roster_desc = {
    .kind = TDC_DATASET_ROSTER,
    .record = "cn.tuodi.Household",
    .schema_file = "household.avsc",
    .topic = "tuodi.roster.households",
    .fields = fields,
    .nfields = sizeof(fields) / sizeof(fields[0]),
    .delete_reason =
        "deleted in the source: a member row was deleted; a household is published from "
        "the rows it has, so a deletion is not a Household record (update the household's"
        " remaining rows to publish it again)",
};

/* ------------------------------------------------------------ the id set */

static uint64_t tdc_hash(const char *s, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ull;

    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 0x100000001b3ull;
    }
    return h ? h : 1;
}

static struct tdc_idslot *tdc_idset_find(const tdc_idset *set, const char *s, size_t len)
{
    uint64_t h;
    size_t i;

    if (!set->cap)
        return NULL;
    h = tdc_hash(s, len);
    for (i = h & (set->cap - 1);; i = (i + 1) & (set->cap - 1)) {
        struct tdc_idslot *sl = &set->slots[i];

        if (!sl->hash)
            return NULL;
        if (sl->hash == h && sl->len == len && memcmp(set->text + sl->off, s, len) == 0)
            return sl;
    }
}

static int tdc_idset_add(tdc_idset *set, const char *s, size_t len, int64_t first,
                         int64_t last)
{
    uint64_t h = tdc_hash(s, len);
    size_t i;

    if (tdc_idset_find(set, s, len))
        return 0;
    if ((set->n + 1) * 2 > set->cap) {
        size_t ncap = set->cap ? set->cap * 2 : 1024;
        struct tdc_idslot *ns = calloc(ncap, sizeof(*ns));

        if (!ns)
            return -ENOMEM;
        for (size_t k = 0; k < set->cap; k++) {
            struct tdc_idslot *o = &set->slots[k];

            if (!o->hash)
                continue;
            for (i = o->hash & (ncap - 1); ns[i].hash; i = (i + 1) & (ncap - 1))
                ;
            ns[i] = *o;
        }
        free(set->slots);
        set->slots = ns;
        set->cap = ncap;
    }
    if (set->tlen + len > set->tcap) {
        size_t ncap = set->tcap ? set->tcap * 2 : 16384;
        char *nt;

        while (ncap < set->tlen + len)
            ncap *= 2;
        nt = realloc(set->text, ncap);
        if (!nt)
            return -ENOMEM;
        set->text = nt;
        set->tcap = ncap;
    }
    memcpy(set->text + set->tlen, s, len);
    for (i = h & (set->cap - 1); set->slots[i].hash; i = (i + 1) & (set->cap - 1))
        ;
    set->slots[i].hash = h;
    set->slots[i].off = set->tlen;
    set->slots[i].len = len;
    set->slots[i].first_row = first;
    set->slots[i].last_row = last;
    set->tlen += len;
    set->n++;
    return 0;
}

static void tdc_idset_clear(tdc_idset *set)
{
    if (set->n)
        memset(set->slots, 0, set->cap * sizeof(*set->slots));
    set->n = 0;
    set->tlen = 0;
}

/* ------------------------------------------------------------ the buffer */

/* Makes room for need elements of elem bytes in the malloc'd array whose
 * pointer is at pp (any object pointer type: read and written with memcpy,
 * so no pointer is accessed through another type), with *cap elements now.
 * 0 or -ENOMEM (the array unchanged). */
static int tdc_grow(void *pp, size_t *cap, size_t need, size_t elem)
{
    size_t ncap;
    void *p, *n;

    if (need <= *cap)
        return 0;
    ncap = *cap ? *cap : 16;
    while (ncap < need)
        ncap *= 2;
    memcpy(&p, pp, sizeof(p));
    n = realloc(p, ncap * elem);
    if (!n)
        return -ENOMEM;
    memcpy(pp, &n, sizeof(n));
    *cap = ncap;
    return 0;
}

static int tdc_set_text(char **p, size_t *len, size_t *cap, const char *s, size_t n)
{
    int r = tdc_grow(p, cap, n + 1, 1);

    if (r < 0)
        return r;
    memcpy(*p, s, n);
    (*p)[n] = '\0';
    *len = n;
    return 0;
}

/* Copies s[0..n) and a NUL into the arena; returns the offset or SIZE_MAX. */
static size_t tdc_arena_put(struct tdc_roster_state *ro, const char *s, size_t n)
{
    size_t off = ro->alen;

    if (tdc_grow(&ro->arena, &ro->acap, ro->alen + n + 1, 1) < 0)
        return SIZE_MAX;
    if (n)
        memcpy(ro->arena + off, s, n);
    ro->arena[off + n] = '\0';
    ro->alen += n + 1;
    return off;
}

/* Field offsets live in the arena too, as (offset, length) pairs written as
 * text-free binary; keep them aligned. */
static size_t tdc_arena_align(struct tdc_roster_state *ro)
{
    size_t pad = (sizeof(size_t) - ro->alen % sizeof(size_t)) % sizeof(size_t);

    if (tdc_grow(&ro->arena, &ro->acap, ro->alen + pad, 1) < 0)
        return SIZE_MAX;
    ro->alen += pad;
    return ro->alen;
}

static int tdc_buffer_row(tdc_dataset *ds, const tdc_row *row)
{
    struct tdc_roster_state *ro = &ds->ro;
    tdc_brow *b;
    size_t offs, k;

    if (tdc_grow(&ro->rows, &ro->caprows, ro->nrows + 1, sizeof(*ro->rows)) < 0)
        return -ENOMEM;
    b = &ro->rows[ro->nrows];
    memset(b, 0, sizeof(*b));
    b->row = row->row;
    b->line = row->line;
    b->after = row->after;
    b->nfields = row->nfields;
    b->unit_off = tdc_arena_put(ro, row->unit ? row->unit : "", row->unit ? strlen(row->unit) : 0);
    b->raw_off = tdc_arena_put(ro, row->raw ? row->raw : "", row->raw ? row->raw_len : 0);
    b->raw_len = row->raw ? row->raw_len : 0;
    b->has_reason = row->reject_reason != NULL;
    b->reason_off = b->has_reason ? tdc_arena_put(ro, row->reject_reason,
                                                  strlen(row->reject_reason)) : 0;
    if (b->reason_off == SIZE_MAX)
        return -ENOMEM;
    b->has_srid = row->source_record_id != NULL;
    b->srid_off = b->has_srid ? tdc_arena_put(ro, row->source_record_id,
                                              strlen(row->source_record_id)) : 0;
    if (b->unit_off == SIZE_MAX || b->raw_off == SIZE_MAX || b->srid_off == SIZE_MAX)
        return -ENOMEM;
    offs = tdc_arena_align(ro);
    if (offs == SIZE_MAX ||
        tdc_grow(&ro->arena, &ro->acap, ro->alen + 2 * sizeof(size_t) * row->nfields,
                 1) < 0)
        return -ENOMEM;
    ro->alen += 2 * sizeof(size_t) * row->nfields;
    b->fields_off = offs;
    for (k = 0; k < row->nfields; k++) {
        size_t pair[2];

        pair[1] = row->lens[k];
        pair[0] = tdc_arena_put(ro, row->fields[k] ? row->fields[k] : "", row->lens[k]);
        if (pair[0] == SIZE_MAX)
            return -ENOMEM;
        memcpy(ro->arena + offs + k * sizeof(pair), pair, sizeof(pair));
    }
    ro->nrows++;
    return 0;
}

/* Rebuilds tdc_row views of the buffered rows (pointers into the arena,
 * valid until the buffer changes). */
static int tdc_build_views(tdc_dataset *ds)
{
    struct tdc_roster_state *ro = &ds->ro;
    size_t total = 0, o = 0;

    for (size_t k = 0; k < ro->nrows; k++)
        total += ro->rows[k].nfields;
    if (tdc_grow(&ro->views, &ro->vcap, ro->nrows, sizeof(*ro->views)) < 0 ||
        tdc_grow(&ro->vfields, &ro->vfcap, total, sizeof(*ro->vfields)) < 0 ||
        tdc_grow(&ro->vlens, &ro->vlcap, total, sizeof(*ro->vlens)) < 0)
        return -ENOMEM;
    for (size_t k = 0; k < ro->nrows; k++) {
        const tdc_brow *b = &ro->rows[k];
        tdc_row *v = &ro->views[k];

        memset(v, 0, sizeof(*v));
        v->unit = ro->arena + b->unit_off;
        v->row = b->row;
        v->line = b->line;
        v->nfields = b->nfields;
        v->fields = ro->vfields + o;
        v->lens = ro->vlens + o;
        v->columns = ds->hdr_names;
        v->ncolumns = ds->hdr_ncolumns;
        v->raw = ro->arena + b->raw_off;
        v->raw_len = b->raw_len;
        v->source_record_id = b->has_srid ? ro->arena + b->srid_off : NULL;
        v->reject_reason = b->has_reason ? ro->arena + b->reason_off : NULL;
        v->after = b->after;
        for (size_t i = 0; i < b->nfields; i++) {
            size_t pair[2];

            memcpy(pair, ro->arena + b->fields_off + i * sizeof(pair), sizeof(pair));
            ro->vfields[o + i] = ro->arena + pair[0];
            ro->vlens[o + i] = pair[1];
        }
        o += b->nfields;
    }
    return 0;
}

static void tdc_buffer_clear(struct tdc_roster_state *ro)
{
    ro->active = false;
    ro->nrows = 0;
    ro->alen = 0;
    ro->hid_len = 0;
    ro->reappeared = false;
}

/* ------------------------------------------------------------ flushing */

static int tdc_reject_all(const tdc_sink *sink, const tdc_row *views, size_t n,
                          const char *column, const char *reason, td_error *err)
{
    for (size_t k = 0; k < n; k++) {
        int r = sink->reject(sink->opaque, &views[k], column, reason);

        if (r < 0)
            return td_error_set(err, r, "the sink refused a rejection of row %" PRId64,
                                views[k].row);
    }
    return 0;
}

/* The household id cell of row, trimmed; NULL when it cannot be read. */
static const char *tdc_row_hid(const tdc_dataset *ds, const tdc_row *row, size_t *len)
{
    const tdc_field *f = &ds->fields[F_HID];
    const char *s;

    /* read even from a row of the wrong length: the id comes early, and
     * grouping by it keeps a bad row with its own household */
    if (f->col < 0 || (size_t)f->col >= row->nfields)
        return NULL;
    s = row->fields[f->col];
    *len = row->lens[f->col];
    if (!s)
        return NULL;
    tdc_trim(&s, len);
    return *len ? s : NULL;
}

/* Validates the buffered household. 0 (good), 1 (ds->reason set, for the
 * member row *bad_row) or -ENOMEM. */
static int tdc_validate_household(tdc_dataset *ds, const tdc_row *views, size_t n,
                                  int64_t *bad_row)
{
    struct tdc_roster_state *ro = &ds->ro;
    size_t nf = ds->nfields, heads = 0;
    int r;

    if (ro->reappeared) {
        *bad_row = views[0].row;
        tdc_ds_reject_reason(ds, tdc_colname_of(ds, F_HID),
                             "its rows are not together: this household's rows already ended at "
                             "row %" PRId64 " (they began at row %" PRId64 "); sort the export "
                             "by %s and deliver it again", ro->prev_last, ro->prev_first,
                             tdc_colname_of(ds, F_HID));
        return 1;
    }
    for (size_t k = 0; k < n; k++) {
        const tdc_row *v = &views[k];
        tdc_val *mv = &ro->mvals[k * nf];
        size_t hl;

        *bad_row = v->row;
        if (v->reject_reason) {
            tdc_ds_reject_reason(ds, "", "%s", v->reject_reason);
            return 1;
        }
        if (v->nfields != v->ncolumns) {
            tdc_ds_reject_reason(ds, "", "the row has %zu fields, the header has %zu",
                                 v->nfields, v->ncolumns);
            return 1;
        }
        if (!tdc_row_hid(ds, v, &hl)) {
            tdc_ds_reject_reason(ds, tdc_colname_of(ds, F_HID), "%s: empty",
                                 tdc_colname_of(ds, F_HID));
            return 1;
        }
        if (k == 0) {
            r = tdc_ds_parse_row(ds, v, ds->vals, TDC_PARSE_HOUSEHOLD);
            if (r)
                return r;
        } else {
            /* household cells repeat the first row's, or are left empty */
            for (size_t i = 0; i < nf; i++) {
                const tdc_field *f = &ds->fields[i];
                const char *a, *b;
                size_t al, bl;

                if ((f->spec->flags & TDC_SPEC_MEMBER) || f->col < 0 || f->has_const)
                    continue;
                b = v->fields[f->col];
                bl = v->lens[f->col];
                tdc_trim(&b, &bl);
                if (bl == 0)
                    continue;
                a = views[0].fields[f->col];
                al = views[0].lens[f->col];
                tdc_trim(&a, &al);
                if (al != bl || memcmp(a, b, al) != 0) {
                    tdc_ds_reject_reason(ds, f->col_name, "%s differs from the household's "
                                         "first row (row %" PRId64 ")", f->col_name,
                                         views[0].row);
                    return 1;
                }
            }
        }
        r = tdc_ds_parse_row(ds, v, mv, TDC_PARSE_MEMBER);
        if (r)
            return r;
        for (size_t j = 0; j < k; j++)
            if (strcmp(ro->mvals[j * nf + F_PERSON].key, mv[F_PERSON].key) == 0) {
                tdc_ds_reject_reason(ds, tdc_colname_of(ds, F_PERSON),
                                     "%s: the same person as member row %" PRId64,
                                     tdc_colname_of(ds, F_PERSON), views[j].row);
                return 1;
            }
    }
    /* exactly one head */
    {
        const td_avro_node *rel = ds->fields[F_RELATION].leaf;
        int head = -1;

        for (size_t s = 0; s < rel->nsymbols; s++)
            if (strcmp(rel->symbols[s], "HEAD") == 0)
                head = (int)s;
        for (size_t k = 0; k < n; k++)
            if (ro->mvals[k * nf + F_RELATION].i == head) {
                heads++;
                if (heads == 2) {
                    *bad_row = views[k].row;
                    tdc_ds_reject_reason(ds, tdc_colname_of(ds, F_RELATION),
                                         "%s: a second head of household",
                                         tdc_colname_of(ds, F_RELATION));
                    return 1;
                }
            }
        if (heads == 0) {
            *bad_row = views[0].row;
            tdc_ds_reject_reason(ds, tdc_colname_of(ds, F_RELATION),
                                 "%s: no member is the head of household (户主)",
                                 tdc_colname_of(ds, F_RELATION));
            return 1;
        }
    }
    if (ds->vals[F_SIZE].present && ds->vals[F_SIZE].i != (int64_t)n) {
        *bad_row = views[0].row;
        tdc_ds_reject_reason(ds, tdc_colname_of(ds, F_SIZE),
                             "%s says %" PRId64 " but the export has %zu member row%s (a "
                             "partial household is never published)",
                             tdc_colname_of(ds, F_SIZE), ds->vals[F_SIZE].i, n,
                             n == 1 ? "" : "s");
        return 1;
    }
    return 0;
}

/* Emits the buffered household, or rejects all its rows. */
int tdc_roster_flush(tdc_dataset *ds, const tdc_sink *sink, td_error *err)
{
    struct tdc_roster_state *ro = &ds->ro;
    size_t n = ro->nrows, nf = ds->nfields;
    int64_t bad_row = 0;
    int r;

    if (!ro->active)
        return 0;
    r = tdc_build_views(ds);
    if (r == 0)
        r = tdc_grow(&ro->mvals, &ro->mcap, n * nf, sizeof(*ro->mvals));
    if (r < 0)
        return td_error_set(err, r, "out of memory");
    r = tdc_validate_household(ds, ro->views, n, &bad_row);
    if (r < 0)
        return td_error_set(err, r, "out of memory");
    if (r == 0)
        r = tdc_idset_add(&ro->seen, ro->hid, ro->hid_len, ro->views[0].row,
                          ro->views[n - 1].row);
    if (r < 0)
        return td_error_set(err, r, "out of memory");
    if (r > 0) {
        char reason[TDC_REASON_MAX + 64];
        const char *column = ds->reason_column;

        snprintf(reason, sizeof(reason), "household rejected: member row %" PRId64 ": %s",
                 bad_row, ds->reason);
        td_log_redact(reason);
        /* its id is known now: a later run of it is not contiguous */
        if (tdc_idset_add(&ro->seen, ro->hid, ro->hid_len, ro->views[0].row,
                          ro->views[n - 1].row) < 0)
            return td_error_set(err, -ENOMEM, "out of memory");
        r = tdc_reject_all(sink, ro->views, n, column, reason, err);
        tdc_buffer_clear(ro);
        return r;
    }

    /* the record */
    {
        const tdc_row *first = &ro->views[0];
        tdc_val *hv = ds->vals;
        avro_value_t members, elem, bd, sx, br;
        int birth_step = (int)ds->fields[F_BIRTH].steps[0];
        size_t sex_step = ds->fields[F_ID_SEX].steps[0];
        size_t head = 0;

        hv[F_SIZE].present = true;
        hv[F_SIZE].i = (int64_t)n;
        if (!hv[F_UPDATED].present) {
            hv[F_UPDATED].present = true;
            if (first->after.kind == TDC_POSITION_POSTGRES)
                hv[F_UPDATED].i = first->after.last_updated_at_us / 1000;
            else
                hv[F_UPDATED].i = first->after.mtime_ns / 1000000;
        }
        r = avro_value_reset(&ds->value);
        if (r == 0)
            r = tdc_ds_write_fields(ds, &ds->value, hv, TDC_PARSE_HOUSEHOLD);
        if (r == 0)
            r = tdc_ds_write_source(ds, &ds->value, first, ro->hid, ro->hid_len);
        if (r == 0)
            r = avro_value_get_by_index(&ds->value, ds->members_step, &members, NULL) ? -EINVAL
                                                                                       : 0;
        /* the head first, then the others in file order */
        for (size_t k = 0; k < n; k++) {
            const td_avro_node *rel = ds->fields[F_RELATION].leaf;

            if (strcmp(rel->symbols[ro->mvals[k * nf + F_RELATION].i], "HEAD") == 0)
                head = k;
        }
        for (size_t j = 0; r == 0 && j < n; j++) {
            size_t k = j == 0 ? head : (j <= head ? j - 1 : j);
            const tdc_val *mv = &ro->mvals[k * nf];

            r = avro_value_append(&members, &elem, NULL) ? -ENOMEM : 0;
            if (r == 0)
                r = tdc_ds_write_fields(ds, &elem, mv, TDC_PARSE_MEMBER);
            if (r == 0)
                r = avro_value_get_by_index(&elem, (size_t)birth_step, &bd, NULL) ? -EINVAL : 0;
            if (r == 0)
                r = avro_value_set_int(&bd, td_idnum_birth_date(mv[F_PERSON].id)) ? -EINVAL : 0;
            /* like birth_date, from the number itself (a pseudonym hides it) */
            if (r == 0)
                r = avro_value_get_by_index(&elem, sex_step, &sx, NULL) ||
                            avro_value_set_branch(&sx, 1, &br) ||
                            avro_value_set_enum(&br, td_idnum_sex(mv[F_PERSON].id) == 1
                                                         ? ds->ro.sym_male
                                                         : ds->ro.sym_female)
                        ? -EINVAL
                        : 0;
        }
        if (r < 0)
            return td_error_set(err, r, "cannot fill the household record: %s", strerror(-r));
        r = sink->record(sink->opaque, ro->hid, &ds->value, first, &ro->views[n - 1]);
        if (r < 0)
            return td_error_set(err, r, "the sink refused the household of row %" PRId64,
                                first->row);
    }
    tdc_buffer_clear(ro);
    return 0;
}

/* ------------------------------------------------------------ mapping */

static int tdc_reject_now(tdc_dataset *ds, const tdc_sink *sink, const tdc_row *row,
                          td_error *err)
{
    int r = sink->reject(sink->opaque, row, ds->reason_column, ds->reason);

    if (r < 0)
        return td_error_set(err, r, "the sink refused a rejection of row %" PRId64, row->row);
    return 0;
}

int tdc_roster_map(tdc_dataset *ds, const tdc_row *row, const tdc_position *before,
                   const tdc_sink *sink, td_error *err)
{
    struct tdc_roster_state *ro = &ds->ro;
    const char *hid;
    size_t hlen = 0;
    int r;

    if (!tdc_ds_same_header(ds, row)) {
        /* a new unit (or header) without end_unit: finish the old one */
        r = tdc_roster_flush(ds, sink, err);
        if (r < 0)
            return r;
        tdc_roster_reset_unit(ds);
    }
    r = tdc_ds_row_shape(ds, row);
    if (r < 0)
        return td_error_set(err, r, "out of memory");
    if (ds->hdr_problem[0])
        return tdc_reject_now(ds, sink, row, err); /* nothing is buffered in such a unit */
    hid = tdc_row_hid(ds, row, &hlen);
    if (!hid) {
        if (ro->active)
            goto append; /* spoils the household being read */
        if (r == 0)
            tdc_ds_reject_reason(ds, tdc_colname_of(ds, F_HID), "%s: empty",
                                 tdc_colname_of(ds, F_HID));
        return tdc_reject_now(ds, sink, row, err);
    }
    if (ro->big_hid && ro->big_len == hlen && memcmp(ro->big_hid, hid, hlen) == 0) {
        tdc_ds_reject_reason(ds, tdc_colname_of(ds, F_HID), "household rejected: more than %d "
                             "member rows (is %s the household id?)", TDC_ROSTER_MAX_ROWS,
                             tdc_colname_of(ds, F_HID));
        return tdc_reject_now(ds, sink, row, err);
    }
    if (ro->active && ro->hid_len == hlen && memcmp(ro->hid, hid, hlen) == 0)
        goto append;
    if (ro->active) {
        r = tdc_roster_flush(ds, sink, err);
        if (r < 0)
            return r;
    }
    /* a new household begins with this row */
    {
        const struct tdc_idslot *prev = tdc_idset_find(&ro->seen, hid, hlen);

        r = tdc_set_text(&ro->hid, &ro->hid_len, &ro->hid_cap, hid, hlen);
        if (r < 0)
            return td_error_set(err, r, "out of memory");
        ro->active = true;
        ro->reappeared = prev != NULL;
        ro->prev_first = prev ? prev->first_row : 0;
        ro->prev_last = prev ? prev->last_row : 0;
        if (before)
            ro->before = *before;
        else
            memset(&ro->before, 0, sizeof(ro->before));
    }
append:
    if (ro->nrows == TDC_ROSTER_MAX_ROWS) {
        char reason[TDC_REASON_MAX];

        r = tdc_build_views(ds);
        if (r < 0)
            return td_error_set(err, r, "out of memory");
        snprintf(reason, sizeof(reason), "household rejected: more than %d member rows (is %s "
                 "the household id?)", TDC_ROSTER_MAX_ROWS, tdc_colname_of(ds, F_HID));
        r = tdc_set_text(&ro->big_hid, &ro->big_len, &ro->big_cap, ro->hid, ro->hid_len);
        if (r == 0)
            r = tdc_idset_add(&ro->seen, ro->hid, ro->hid_len, ro->views[0].row, row->row);
        if (r < 0)
            return td_error_set(err, r, "out of memory");
        r = tdc_reject_all(sink, ro->views, ro->nrows, tdc_colname_of(ds, F_HID), reason, err);
        if (r == 0)
            r = sink->reject(sink->opaque, row, tdc_colname_of(ds, F_HID), reason);
        tdc_buffer_clear(ro);
        if (r < 0)
            return td_error_set(err, r, "the sink refused a rejection");
        return 0;
    }
    r = tdc_buffer_row(ds, row);
    if (r < 0)
        return td_error_set(err, r, "out of memory");
    return 0;
}

int tdc_roster_init(tdc_dataset *ds, td_error *err)
{
    static const struct {
        int index;
        const char *path;
    } expect[] = {
        {F_HID, "household_id"}, {F_SIZE, "household_size"}, {F_UPDATED, "updated_at"},
        {F_PERSON, "members[].person_key"}, {F_RELATION, "members[].relation"},
        {F_BIRTH, "members[].birth_date"}, {F_ID_SEX, "members[].id_sex"},
    };
    const tdc_field *sex;

    for (size_t i = 0; i < sizeof(expect) / sizeof(expect[0]); i++)
        if (tdc_ds_field_index(ds, expect[i].path) != expect[i].index)
            return td_error_set(err, -EINVAL, "dataset roster: field %s is not at index %d",
                                expect[i].path, expect[i].index);
    /* id_sex: ["null", Sex], written by tdc_roster_flush from the number */
    sex = &ds->fields[F_ID_SEX];
    ds->ro.sym_male = ds->ro.sym_female = -1;
    if (sex->nullable && sex->nsteps == 1 && sex->leaf->type == TD_AVRO_ENUM)
        for (size_t s = 0; s < sex->leaf->nsymbols; s++) {
            if (strcmp(sex->leaf->symbols[s], "MALE") == 0)
                ds->ro.sym_male = (int)s;
            else if (strcmp(sex->leaf->symbols[s], "FEMALE") == 0)
                ds->ro.sym_female = (int)s;
        }
    if (ds->ro.sym_male < 0 || ds->ro.sym_female < 0)
        return td_error_set(err, -EINVAL, "dataset roster: members[].id_sex is not a "
                            "nullable enum with MALE and FEMALE in %s",
                            td_avro_schema_source(ds->schema));
    return 0;
}

void tdc_roster_reset_unit(tdc_dataset *ds)
{
    tdc_buffer_clear(&ds->ro);
    tdc_idset_clear(&ds->ro.seen);
    ds->ro.big_len = 0;
    if (ds->ro.big_hid) {
        free(ds->ro.big_hid);
        ds->ro.big_hid = NULL;
        ds->ro.big_cap = 0;
    }
}

void tdc_roster_free(tdc_dataset *ds)
{
    struct tdc_roster_state *ro = &ds->ro;

    if (ro->arena)
        explicit_bzero(ro->arena, ro->acap);
    free(ro->arena);
    free(ro->rows);
    free(ro->views);
    free(ro->vfields);
    free(ro->vlens);
    if (ro->mvals)
        explicit_bzero(ro->mvals, ro->mcap * sizeof(*ro->mvals));
    free(ro->mvals);
    free(ro->hid);
    free(ro->big_hid);
    free(ro->seen.slots);
    free(ro->seen.text);
    memset(ro, 0, sizeof(*ro));
}
