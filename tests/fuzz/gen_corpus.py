#!/usr/bin/env python3
"""Writes the seed corpora of the text fuzz targets (docs/fuzzing.md).

    tests/fuzz/gen_corpus.py            rewrites tests/fuzz/corpus/<target>/seed-*
    tests/fuzz/gen_corpus.py csv        only that target

Seeds are named seed-*; inputs kept for a bug found by fuzzing are named
crash-* / regress-* and are never touched here. The binary seeds of the Avro
and matchd targets come from gen_avro_corpus.c and gen_matchd_corpus.c.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
ENCODINGS = {'auto': 0, 'utf-8': 1, 'gb18030': 2}
DELIMS = {',': 0, '\t': 1, ';': 2, '|': 3}


def write(target, seeds):
    d = os.path.join(HERE, 'corpus', target)
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        if f.startswith('seed-'):
            os.remove(os.path.join(d, f))
    for i, (name, data) in enumerate(seeds):
        with open(os.path.join(d, 'seed-%02d-%s' % (i, name)), 'wb') as f:
            f.write(data)


def source(rel):
    with open(os.path.join(ROOT, rel), 'rb') as f:
        return f.read()


def psv_rows(rel):
    """The header and rows of a tests/data/datasets fixture (comments dropped)."""
    return [l for l in source(rel).decode('utf-8').split('\n') if l and not l.startswith('#')]


# ------------------------------------------------------------------ csv
def csv_opts(enc='auto', delim=',', via_file=False, expect=0, max_row=0):
    b0 = ENCODINGS[enc] + 3 * DELIMS[delim] + 12 * int(via_file) + 24 * expect
    return bytes([b0, max_row])


def csv_seeds():
    zh = '身份证号,姓名,金额\r\n34052419800101001X,张三,"1,234.50"\r\n340402196811200031,"李""秀英",12\r\n'
    text = ('a,b,c\n1,2,3\n\n"x, y","multi\nline",z\n"a""b",5",\n  ,,\nlast,row,no-eol')
    seeds = [
        ('plain', csv_opts() + text.encode()),
        ('utf8-crlf', csv_opts('utf-8') + zh.encode()),
        ('utf8-bom', csv_opts('utf-8', via_file=True) + b'\xef\xbb\xbf' + zh.encode()),
        ('gb18030', csv_opts('gb18030') + zh.encode('gb18030')),
        ('gb18030-auto', csv_opts('auto', via_file=True) + zh.encode('gb18030')),
        ('gb18030-bom', csv_opts('auto') + b'\x84\x31\x95\x33' + zh.encode('gb18030')),
        # 0x7C ('|') as the second byte of a GB18030 character
        ('gb18030-pipe', csv_opts('gb18030', '|') +
         '列|名\n丨|亅|乂\n"丨|"|x\n'.encode('gb18030') + b'\x81\x7c|\x81\x7c\n'),
        ('tab', csv_opts('utf-8', '\t') + b'a\tb\n1\t"2\t3"\n\t\n'),
        ('semicolon', csv_opts('auto', ';', expect=1) + b'a;b\r\n1;2\r\n3;4\r'),
        ('pipe', csv_opts('utf-8', '|', via_file=True) + b'a|b\n"|"|x\n'),
        ('bad-quote', csv_opts() + b'h1,h2\n"ab"c,d\n"open,\nx,y\n'),
        ('unterminated', csv_opts('utf-8') + b'h\n"never closed\nmore\n'),
        ('bad-utf8', csv_opts('utf-8') + b'h,i\n\xff\xfe,1\nok,\x00\nfine,2\n'),
        ('too-long', csv_opts('utf-8', max_row=2) + b'h,i\n' + b'x' * 40 + b',1\n"' +
         b'q' * 30 + b'\n' + b'y' * 10 + b'",2\nok,3\n'),
        ('too-long-gb', csv_opts('gb18030', '|', max_row=1) +
         ('头|尾\n' + '长' * 20 + '|x\nok|y\n').encode('gb18030')),
        ('truncated', csv_opts('auto', expect=2) + b'a,b\n1,2\n3,'),
        ('blank-only', csv_opts() + b'\n\r\n\n'),
        ('idnum-header', csv_opts() + b'340524198001010013,x\n1,2\n"a\xe2\x80\x9d",b\n'),
    ]
    return seeds


# ------------------------------------------------------------ values
def idnum_seeds():
    return [(n, t.encode()) for n, t in [
        ('valid-18', '34052419800101001X'),
        ('valid-18-lower', '34052419800101001x'),
        ('valid-15', '340524800101001'),
        ('full-width', '３４０５２４１９８００１０１００１Ｘ'),
        ('spaces', '\u3000 340402196811200031\t'),
        ('bad-check', '340524198001010010'),
        ('bad-date', '340524198002300013'),
        ('future', '340524209901010013'),
        ('bad-province', '000524198001010013'),
        ('x-inside', '3405241980X1010013'),
        ('too-long', '3405241980010100131'),
        ('glued', '1340524198001010013'),
        ('empty', ''),
    ]]


def date_seeds():
    return [(n, t.encode()) for n, t in [
        ('iso', '2023-05-01'), ('slash', '2023/5/1'), ('dot', '2023.05.01'),
        ('compact', '20230501'), ('chinese', '2023年5月1日'),
        ('time', ' 2023-05-01 08:30:00 '), ('t', '2023-05-01T08:30'),
        ('leap', '2024-02-29'), ('not-leap', '1900-02-29'), ('year-1', '0001-01-01'),
        ('year-9999', '9999-12-31'), ('bad-month', '2023-13-01'), ('cr', '2023-05-01\r'),
        ('binary', '\x00\x01\x02\x03\x04\x05\x06'),
    ]]


def money_seeds():
    return [(n, t.encode()) for n, t in [
        ('plain', '1234'), ('one-decimal', '1234.5'), ('two-decimals', '1234.56'),
        ('negative', '-0.05'), ('plus', '+12'), ('grouped', '12,345.60'),
        ('grouped-bad', '1,23,456'), ('spaces', '  88.80 \r'), ('max', '900000000000000.00'),
        ('over', '900000000000000.01'), ('huge', '99999999999999999999'),
        ('three-decimals', '1.234'), ('dot', '.5'), ('trailing-dot', '5.'),
        ('binary', '\xff\xfe\x00\x01\x80\x7f\x10\x20\x30'),
    ]]


# ------------------------------------------------------------ datasets
KINDS = ['civil_affairs', 'medical_insurance', 'human_resources', 'roster']
# the column names of deploy/connectors/<dataset>.yaml's mapping
CUSTOM = {
    'civil_affairs': {'业务类型': 'business_type', '身份证号': 'id_number', '姓名': 'person_name',
                      '村级区划代码': 'village_code', '业务日期': 'business_date',
                      '救助金额': 'amount_yuan', '残疾等级': 'disability_grade',
                      '业务编号': 'case_id', '低保申请': '0101', '临时救助': '0401',
                      '残疾认定': '0501', '死亡登记': '0901', '特困供养批准': '0201'},
    'medical_insurance': {'就诊类型': '医疗类别'},
    'human_resources': {'业务类型': '业务类别', '外出务工月数': '本年外出务工月数'},
    'roster': {'身份证号': '证件号码'},
}


def dataset_opts(kind, mapping, delim='|'):
    return bytes([KINDS.index(kind) + 4 * mapping, DELIMS[delim]])


def dataset_seeds():
    seeds = []
    for kind in KINDS:
        rows = psv_rows('tests/data/datasets/%s_mixed.psv' % kind)
        text = '\n'.join(rows) + '\n'
        custom = text
        for a, b in CUSTOM[kind].items():
            custom = custom.replace(a, b)
        seeds.append((kind + '-default', dataset_opts(kind, 0) + text.encode()))
        seeds.append((kind + '-custom', dataset_opts(kind, 1) + custom.encode()))
        seeds.append((kind + '-pseudonyms', dataset_opts(kind, 2) + custom.encode()))
        seeds.append((kind + '-gb18030-csv', dataset_opts(kind, 0, ',') +
                      '\r\n'.join(r.replace('|', ',') for r in rows).encode('gb18030')))
    return seeds


# ------------------------------------------------------------ config, rules
def config_seeds():
    seeds = []
    for kind in KINDS:
        text = source('deploy/connectors/%s.yaml' % kind)
        seeds.append((kind, b'\x00' + text))
        # without its secret file, and with a pseudonym key that is not there
        seeds.append((kind + '-spooldir', b'\x00' + text.replace(
            b'${file:', b'${HOME:-').replace(b'# pseudonymize:', b'pseudonymize:')))
        seeds.append((kind + '-demo', b'\x00' + source('deploy/data/demo-config/%s.yaml' % kind)))
    seeds.append(('matchd', b'\x01' + source('deploy/matchd.yaml')))
    seeds.append(('matchd-demo', b'\x01' + source('deploy/data/demo-config/matchd.yaml')))
    seeds.append(('errors', b'\x00instance: a/b\ndataset: roste\nkafka: {bootstrap.servers: x, '
                  b'sasl.password: s3cret}\nsource: {spooldir: {input_dir: in}, postgres: '
                  b'{conninfo: "${NOPE}"}}\ntransaction: {max_interval: 5 fortnights}\n'))
    seeds.append(('anchors', b'\x01a: &x [1, 2]\nb: *x\n? [c]\n: d\n--- \n...\n'))
    seeds.append(('not-a-mapping', b'\x01- just\n- a list\n'))
    return seeds


def rules_seeds():
    seeds = [('huainan-2023', source('deploy/rules/huainan-2023.yaml'))]
    d = os.path.join(ROOT, 'tests', 'data', 'rules')
    for f in sorted(os.listdir(d)):
        seeds.append((f[:-5], source('tests/data/rules/' + f)))
    return seeds


def holidays_seeds():
    src = '# source 2025: 国务院办公厅关于2025年部分节假日安排的通知\n'
    return [('china-holidays', source('deploy/data/china-holidays.csv'))] + [
        (n, t.encode()) for n, t in [
            ('one-year', src + 'date,kind,name\n2025-01-28,holiday,春节\n2025-01-26,workday,春节\n'),
            ('crlf-bom', '\ufeff' + src.replace('\n', '\r\n') + 'date,kind,name\r\n2025-01-28,holiday,春节\r\n'),
            ('two-years', src + '# source 2026: b\ndate,kind,name\n2025-10-08,holiday,国庆节\n2026-02-28,workday,春节\n'),
            ('weekend-holiday', src + 'date,kind,name\n2025-02-01,holiday,春节\n'),
            ('both', src + 'date,kind,name\n2025-01-26,workday,春节\n2025-01-26,holiday,春节\n'),
            ('gap', '# source 2024: a\n# source 2026: b\ndate,kind,name\n2024-01-01,holiday,元旦\n'),
        ]]


def manifest_seeds():
    runs = ' '.join('%d+1' % (2 * i) for i in range(229))
    return [(n, v.encode()) for n, v in [
        ('idle', 'tdm1 1234'),
        ('runs', 'tdm1 1234 0+3 5+2 9+1 100000+1'),
        ('beginning', 'tdm1 -1 0+7'),
        ('largest', 'tdm1 9223372036854775807 4294967294+2'),
        ('near-cap', 'tdm1 5 ' + runs),
        ('overlap', 'tdm1 5 3+2 4+1'),
        ('foreign', '{"partition_time":5}'),
        ('empty', ''),
    ]]


TARGETS = {'config': config_seeds, 'rules': rules_seeds, 'holidays': holidays_seeds, 'dataset': dataset_seeds, 'csv': csv_seeds, 'idnum': idnum_seeds, 'date': date_seeds, 'money': money_seeds, 'manifest': manifest_seeds}

if __name__ == '__main__':
    for t in (sys.argv[1:] or TARGETS):
        write(t, TARGETS[t]())
