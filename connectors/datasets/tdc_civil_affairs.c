/* civil_affairs -> cn.tuodi.CivilAffairsEvent (civil_affairs_event.avsc):
 * one event per row from the civil affairs department (民政): 低保, 特困,
 * 临时救助, disability certification, death registration. */
#include "tdc_mapping.h"

static const char *const type_cols[] = {"业务类型", "事件类型", NULL};
static const char *const person_cols[] = {"身份证号", "公民身份号码", "身份证号码", "证件号码",
                                          NULL};
static const char *const name_cols[] = {"姓名", NULL};
static const char *const village_cols[] = {"村级区划代码", "村代码", NULL};
static const char *const date_cols[] = {"业务日期", "事件日期", "办理日期", NULL};
static const char *const amount_cols[] = {"救助金额", "金额", NULL};
static const char *const grade_cols[] = {"残疾等级", NULL};
static const char *const rid_cols[] = {"业务编号", "案件编号", "记录编号", NULL};

static const char *const type_codes[] = {
    "低保申请", "DIBAO_APPLIED",
    "低保批准", "DIBAO_APPROVED",
    "低保新增", "DIBAO_APPROVED",
    "低保取消", "DIBAO_CANCELLED",
    "低保停保", "DIBAO_CANCELLED",
    "特困批准", "TEKUN_APPROVED",
    "特困供养批准", "TEKUN_APPROVED",
    "特困终止", "TEKUN_CANCELLED",
    "特困供养终止", "TEKUN_CANCELLED",
    "临时救助", "TEMP_ASSISTANCE_GRANTED",
    "残疾认定", "DISABILITY_CERTIFIED",
    "死亡登记", "DEATH_REGISTERED",
    NULL,
};
static const char *const grade_codes[] = {
    "一级", "1", "二级", "2", "三级", "3", "四级", "4", NULL,
};
static const char *const temp_assistance[] = {"TEMP_ASSISTANCE_GRANTED", NULL};
static const char *const disability[] = {"DISABILITY_CERTIFIED", NULL};

static const tdc_field_spec fields[] = {
    {.path = "event_type", .kind = TDC_FK_ENUM, .flags = TDC_SPEC_REQUIRED,
     .columns = type_cols, .codes = type_codes, .doc = "decides what else is required"},
    {.path = "person_key", .kind = TDC_FK_PERSON_KEY,
     .flags = TDC_SPEC_REQUIRED | TDC_SPEC_KEY, .columns = person_cols,
     .doc = "the Kafka key; normalised, or pseudonymised with pseudonymize.key_file"},
    {.path = "name", .kind = TDC_FK_STRING, .columns = name_cols,
     .doc = "null when the column is absent or empty"},
    {.path = "village_code", .kind = TDC_FK_VILLAGE, .columns = village_cols,
     .doc = "null when absent or empty"},
    {.path = "event_date", .kind = TDC_FK_DATE, .flags = TDC_SPEC_REQUIRED,
     .columns = date_cols, .doc = "application, approval, grant, certification or death date"},
    {.path = "amount_fen", .kind = TDC_FK_MONEY,
     .flags = TDC_SPEC_NONNEG | TDC_SPEC_WHEN_REQUIRED, .columns = amount_cols,
     .when = "event_type", .when_symbols = temp_assistance,
     .doc = "kept for other events when given"},
    {.path = "disability_grade", .kind = TDC_FK_INT,
     .flags = TDC_SPEC_WHEN_REQUIRED | TDC_SPEC_WHEN_ONLY, .columns = grade_cols,
     .codes = grade_codes, .min = 1, .max = 4, .when = "event_type",
     .when_symbols = disability, .doc = "null (the cell ignored) for other events"},
    {.path = "source.record_id", .kind = TDC_FK_RECORD_ID, .columns = rid_cols,
     .doc = "absent or empty: the postgres id, else `<file>@<mtime_ns>:<row>`"},
    {.path = "source.department", .kind = TDC_FK_ENUM, .flags = TDC_SPEC_FIXED,
     .constant = "CIVIL_AFFAIRS", .doc = "set by the connector"},
};

const tdc_dataset_desc tdc_civil_affairs_desc = {
    .kind = TDC_DATASET_CIVIL_AFFAIRS,
    .record = "cn.tuodi.CivilAffairsEvent",
    .schema_file = "civil_affairs_event.avsc",
    .topic = "tuodi.civil_affairs.events",
    .fields = fields,
    .nfields = sizeof(fields) / sizeof(fields[0]),
    .delete_reason =
        "deleted in the source: a civil affairs event is not withdrawn by deleting its "
        "row; record a cancellation (低保取消) or correction as a new row",
};
