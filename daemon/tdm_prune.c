/* tdm_prune: the retention of closed alerts and suspects (tdm_prune.h). */
#include "tdm_prune.h"

#include <errno.h>
#include <string.h>

static size_t tdm_prune_key(int32_t day, const char *id, unsigned char *buf, size_t size)
{
    uint32_t u = (uint32_t)day ^ 0x80000000u;
    size_t n = strlen(id);

    if (n == 0 || n > TDM_PRUNE_ID_MAX || 4 + n > size)
        return 0;
    buf[0] = (unsigned char)(u >> 24);
    buf[1] = (unsigned char)(u >> 16);
    buf[2] = (unsigned char)(u >> 8);
    buf[3] = (unsigned char)u;
    memcpy(buf + 4, id, n);
    return 4 + n;
}

int tdm_prune_note(tdm_txn *txn, tdm_db closed, int32_t day, const char *id, td_error *err)
{
    unsigned char key[4 + TDM_PRUNE_ID_MAX];
    size_t n = tdm_prune_key(day, id, key, sizeof(key));

    if (!n)
        return td_error_set(err, -EINVAL, "a closed id of %zu bytes (1..%d)", strlen(id),
                            TDM_PRUNE_ID_MAX);
    return tdm_store_put(txn, closed, key, n, "", 0, err);
}

int tdm_prune_run(tdm_txn *txn, tdm_db closed, tdm_db index, int32_t today, int retention_days,
                  size_t *ret_n, td_error *err)
{
    size_t count = 0;

    if (retention_days < 1)
        return td_error_set(err, -EINVAL, "a retention of %d days", retention_days);
    for (;;) {
        unsigned char key[4 + TDM_PRUNE_ID_MAX];
        const void *k, *v;
        size_t klen, vlen;
        int32_t day;
        int r = tdm_store_first(txn, closed, &k, &klen, &v, &vlen, err);

        if (r == -ENOENT)
            break;
        if (r < 0)
            return r;
        if (klen <= 4 || klen > sizeof(key))
            return td_error_set(err, -EIO, "state store: a bad closed-index entry");
        memcpy(key, k, klen);
        day = (int32_t)(((uint32_t)key[0] << 24 | (uint32_t)key[1] << 16 |
                         (uint32_t)key[2] << 8 | key[3]) ^ 0x80000000u);
        if ((int64_t)day > (int64_t)today - retention_days)
            break;
        r = tdm_store_del(txn, index, key + 4, klen - 4, err);
        if (r < 0 && r != -ENOENT)
            return r;
        r = tdm_store_del(txn, closed, key, klen, err);
        if (r < 0)
            return r;
        count++;
    }
    if (ret_n)
        *ret_n = count;
    return 0;
}
