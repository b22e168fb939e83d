/* medical_insurance -> cn.tuodi.MedicalSettlement (medical_settlement.avsc):
 * one settled bill per row, from the medical insurance department (医保). */
#include "tdc_mapping.h"

#include "td_money.h"

/* Indexes into fields[] below. */
enum { F_TOTAL = 5, F_FUND = 6, F_OOP = 7 };

static const char *const person_cols[] = {"身份证号", "公民身份号码", "身份证号码", "证件号码",
                                          NULL};
static const char *const name_cols[] = {"姓名", "参保人姓名", NULL};
static const char *const village_cols[] = {"村级区划代码", "村代码", NULL};
static const char *const date_cols[] = {"结算日期", "结算时间", "费用结算日期", NULL};
static const char *const kind_cols[] = {"就诊类型", "医疗类别", "结算类别", NULL};
static const char *const total_cols[] = {"医疗总费用", "医疗费总额", "总费用", NULL};
static const char *const fund_cols[] = {"基金支付", "基金支付总额", "统筹基金支付", NULL};
static const char *const oop_cols[] = {"个人负担", "个人负担总额", NULL};
static const char *const major_cols[] = {"是否大病", "大病标识", NULL};
static const char *const rid_cols[] = {"结算单号", "结算流水号", "结算ID", NULL};

static const char *const kind_codes[] = {
    "住院", "INPATIENT",
    "门诊", "OUTPATIENT",
    "普通门诊", "OUTPATIENT",
    "急诊", "OUTPATIENT",
    "门诊慢特病", "OUTPATIENT",
    "门诊特殊病", "OUTPATIENT",
    NULL,
};
static const char *const major_codes[] = {"", "否", NULL};

static const tdc_field_spec fields[] = {
    /* 0 */
    {.path = "person_key", .kind = TDC_FK_PERSON_KEY,
     .flags = TDC_SPEC_REQUIRED | TDC_SPEC_KEY, .columns = person_cols,
     .doc = "the Kafka key; normalised, or pseudonymised with pseudonymize.key_file"},
    {.path = "name", .kind = TDC_FK_STRING, .columns = name_cols,
     .doc = "null when the column is absent or empty"},
    {.path = "village_code", .kind = TDC_FK_VILLAGE, .columns = village_cols,
     .doc = "null when absent or empty"},
    {.path = "settlement_date", .kind = TDC_FK_DATE, .flags = TDC_SPEC_REQUIRED,
     .columns = date_cols, .doc = "a time after the date is ignored"},
    {.path = "kind", .kind = TDC_FK_ENUM, .flags = TDC_SPEC_REQUIRED, .columns = kind_cols,
     .codes = kind_codes, .doc = "numeric 医疗类别 codes need `codes:` (see the example config)"},
    {.path = "total_cost_fen", .kind = TDC_FK_MONEY,
     .flags = TDC_SPEC_REQUIRED | TDC_SPEC_NONNEG, .columns = total_cols,
     .doc = "yuan with at most two decimals -> fen"},
    {.path = "fund_paid_fen", .kind = TDC_FK_MONEY,
     .flags = TDC_SPEC_REQUIRED | TDC_SPEC_NONNEG, .columns = fund_cols,
     .doc = "`fund_paid + out_of_pocket` must not exceed `total_cost`"},
    {.path = "out_of_pocket_fen", .kind = TDC_FK_MONEY,
     .flags = TDC_SPEC_REQUIRED | TDC_SPEC_NONNEG, .columns = oop_cols,
     .doc = "个人负担 = 自付 + 自费: what the indicators sum"},
    {.path = "major_disease", .kind = TDC_FK_BOOL, .flags = TDC_SPEC_REQUIRED,
     .columns = major_cols, .codes = major_codes,
     .doc = "an empty cell is false; without the column, set "
            "`constants: {major_disease: \"false\"}`"},
    {.path = "source.record_id", .kind = TDC_FK_RECORD_ID, .columns = rid_cols,
     .doc = "absent or empty: the postgres id, else `<file>@<mtime_ns>:<row>`"},
    {.path = "source.department", .kind = TDC_FK_ENUM, .flags = TDC_SPEC_FIXED,
     .constant = "MEDICAL_INSURANCE", .doc = "set by the connector"},
};

/* Amounts: fund-paid + out-of-pocket <= total (others, e.g. 医疗救助, may
 * pay the rest). */
static int medical_check(tdc_dataset *ds, const tdc_val *vals)
{
    const tdc_field *ft = &ds->fields[F_TOTAL], *ff = &ds->fields[F_FUND],
                    *fo = &ds->fields[F_OOP];
    int64_t total = vals[F_TOTAL].i, fund = vals[F_FUND].i, oop = vals[F_OOP].i;

    if (fund > total - oop) {
        char a[32], b[32], c[32];

        td_money_format_yuan(fund, a, sizeof(a));
        td_money_format_yuan(oop, b, sizeof(b));
        td_money_format_yuan(total, c, sizeof(c));
        tdc_ds_reject_reason(ds, fo->col_name ? fo->col_name : "",
                             "%s + %s (%s + %s yuan) exceed %s (%s yuan)",
                             ff->col_name ? ff->col_name : "fund_paid_fen",
                             fo->col_name ? fo->col_name : "out_of_pocket_fen", a, b,
                             ft->col_name ? ft->col_name : "total_cost_fen", c);
        return 1;
    }
    return 0;
}

const tdc_dataset_desc tdc_medical_desc = {
    .kind = TDC_DATASET_MEDICAL_INSURANCE,
    .record = "cn.tuodi.MedicalSettlement",
    .schema_file = "medical_settlement.avsc",
    .topic = "tuodi.medical_insurance.settlements",
    .fields = fields,
    .nfields = sizeof(fields) / sizeof(fields[0]),
    .check = medical_check,
    .delete_reason =
        "deleted in the source: a settlement is not withdrawn by deleting its row; record"
        " the reversal as a new settlement row",
};
