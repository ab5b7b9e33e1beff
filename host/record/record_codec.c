/*
 * record_codec: the portable record encoding (see record_codec.h).
 */
#include "record_codec.h"

#include <string.h>

#include "../core/err.h"
#include "../core/le.h"

static void wguid(uint8_t *p, const etwhost_guid *g)
{
    le_w32(p, g->data1);
    le_w16(p + 4, g->data2);
    le_w16(p + 6, g->data3);
    memcpy(p + 8, g->data4, 8);
}

/* Is [q, q+n) inside [base, base+len)? */
static int inside(const uint8_t *q, uint32_t n, const uint8_t *base, uint32_t len)
{
    return q && base && q >= base && n <= len && (size_t)(q - base) <= (size_t)(len - n);
}

static size_t name_len_of(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    return n > 0xFFFF ? 0xFFFF : n;
}

/* WPP messages keep their recorded header (raw up to the payload): see record_codec.h. */
static uint32_t raw_head_len(const struct record *rec)
{
    if (rec->kind != ETWHOST_HK_MESSAGE || rec->raw == NULL || rec->data == NULL ||
        (rec->ext && rec->ext_len) || !inside(rec->data, rec->data_len, rec->raw, rec->raw_len))
        return 0;
    uint32_t head = (uint32_t)(rec->data - rec->raw);
    return head + rec->data_len == rec->raw_len ? head : 0;
}

size_t record_encoded_size(const struct record *rec, const char *provider_name)
{
    size_t n = RECORD_ENC_FIXED + (size_t)rec->ext_len + rec->data_len + name_len_of(provider_name);
    n += raw_head_len(rec);
    if (rec->tl_meta && !inside(rec->tl_meta, rec->tl_meta_len, rec->ext, rec->ext_len))
        n += rec->tl_meta_len;
    if (rec->tl_traits && !inside(rec->tl_traits, rec->tl_traits_len, rec->ext, rec->ext_len))
        n += rec->tl_traits_len;
    return n;
}

int record_encode(const struct record *rec, const char *provider_name, struct buf *out)
{
    size_t need = record_encoded_size(rec, provider_name);
    if (need > 0xFFFFFFF0u)
        return ERR_RANGE;
    int rc = buf_reserve(out, need);
    if (rc)
        return rc;
    record_encode_into(rec, provider_name, (uint8_t *)out->p + out->len);
    out->len += need;
    return 0;
}

size_t record_encode_into(const struct record *rec, const char *provider_name, uint8_t *p)
{
    size_t need = record_encoded_size(rec, provider_name);
    memset(p, 0, RECORD_ENC_FIXED);
    p[RENC_VERSION] = RECORD_ENC_VERSION;
    p[RENC_KIND] = (uint8_t)rec->kind;
    le_w16(p + RENC_HDR_FLAGS, rec->hdr_flags);
    le_w32(p + RENC_EVF, rec->evf);
    le_w16(p + RENC_HOOK_ID, rec->hook_id);
    le_w16(p + RENC_RAW_VERSION, rec->raw_version);
    le_w16(p + RENC_EVENT_PROPERTY, rec->event_property);
    le_w16(p + RENC_MESSAGE_NUMBER, rec->message_number);
    le_w32(p + RENC_PID, rec->pid);
    le_w32(p + RENC_TID, rec->tid);
    le_w32(p + RENC_CPU, rec->cpu);
    le_w32(p + RENC_WPP_SEQUENCE, rec->wpp_sequence);
    le_w64(p + RENC_TIMESTAMP, (uint64_t)rec->timestamp);
    le_w64(p + RENC_RAW_TIMESTAMP, (uint64_t)rec->raw_timestamp);
    wguid(p + RENC_PROVIDER, &rec->provider);
    le_w16(p + RENC_ID, rec->id);
    p[RENC_EVT_VERSION] = rec->version;
    p[RENC_CHANNEL] = rec->channel;
    p[RENC_LEVEL] = rec->level;
    p[RENC_OPCODE] = rec->opcode;
    le_w16(p + RENC_TASK, rec->task);
    le_w64(p + RENC_KEYWORDS, rec->keywords);
    wguid(p + RENC_ACTIVITY, &rec->activity);
    wguid(p + RENC_RELATED, &rec->related);
    uint32_t ext_len = rec->ext ? rec->ext_len : 0, data_len = rec->data ? rec->data_len : 0;
    le_w32(p + RENC_EXT_LEN, ext_len);
    le_w32(p + RENC_DATA_LEN, data_len);
    size_t nl = name_len_of(provider_name);
    le_w16(p + RENC_NAME_LEN, (uint16_t)nl);
    uint8_t *v = p + RECORD_ENC_FIXED;
    if (ext_len)
        memcpy(v, rec->ext, ext_len);
    if (data_len)
        memcpy(v + ext_len, rec->data, data_len);
    uint32_t var = ext_len + data_len, extra = 0;
    /* Shortcuts: an offset into the variable part, copied after it when not inside ext. */
    const uint8_t *sc[2] = {rec->tl_meta, rec->tl_traits};
    uint32_t scl[2] = {rec->tl_meta_len, rec->tl_traits_len};
    int off_at[2] = {RENC_TL_META_OFF, RENC_TL_TRAITS_OFF};
    for (int i = 0; i < 2; i++) {
        uint32_t off = RENC_NONE, l = 0;
        if (sc[i]) {
            l = scl[i];
            if (ext_len && inside(sc[i], l, rec->ext, ext_len)) {
                off = (uint32_t)(sc[i] - rec->ext);
            } else {
                off = var + extra;
                if (l)
                    memcpy(v + off, sc[i], l);
                extra += l;
            }
        }
        le_w32(p + off_at[i], off);
        le_w32(p + off_at[i] + 4, l);
    }
    uint32_t rh = raw_head_len(rec);
    le_w32(p + RENC_RAW_HEAD_OFF, rh ? var + extra : RENC_NONE);
    le_w32(p + RENC_RAW_HEAD_LEN, rh);
    if (rh) {
        memcpy(v + var + extra, rec->raw, rh);
        extra += rh;
    }
    le_w32(p + RENC_EXTRA_LEN, extra);
    if (nl)
        memcpy(v + var + extra, provider_name, nl);
    return need;
}

/* Resolve an offset into the variable area ext | data | extra to a pointer. */
static const uint8_t *var_ptr(const uint8_t *ext, uint32_t el, const uint8_t *data, uint32_t dl,
                              const uint8_t *extra, uint32_t xl, uint32_t off, uint32_t len)
{
    uint64_t o = off, e = (uint64_t)off + len;
    if (e <= el)
        return ext + o;
    if (o >= el && e <= (uint64_t)el + dl)
        return data + (o - el);
    if (o >= (uint64_t)el + dl && e <= (uint64_t)el + dl + xl)
        return extra + (o - el - dl);
    return NULL;
}

void record_decode_fixed(const uint8_t *p, struct record *rec)
{
    memset(rec, 0, sizeof *rec);
    rec->kind = p[RENC_KIND];
    rec->hdr_flags = le_r16(p + RENC_HDR_FLAGS);
    rec->evf = le_r32(p + RENC_EVF);
    rec->hook_id = le_r16(p + RENC_HOOK_ID);
    rec->raw_version = le_r16(p + RENC_RAW_VERSION);
    rec->event_property = le_r16(p + RENC_EVENT_PROPERTY);
    rec->message_number = le_r16(p + RENC_MESSAGE_NUMBER);
    rec->pid = le_r32(p + RENC_PID);
    rec->tid = le_r32(p + RENC_TID);
    rec->cpu = le_r32(p + RENC_CPU);
    rec->wpp_sequence = le_r32(p + RENC_WPP_SEQUENCE);
    rec->timestamp = (int64_t)le_r64(p + RENC_TIMESTAMP);
    rec->raw_timestamp = (int64_t)le_r64(p + RENC_RAW_TIMESTAMP);
    guid_read(&rec->provider, p + RENC_PROVIDER);
    rec->id = le_r16(p + RENC_ID);
    rec->version = p[RENC_EVT_VERSION];
    rec->channel = p[RENC_CHANNEL];
    rec->level = p[RENC_LEVEL];
    rec->opcode = p[RENC_OPCODE];
    rec->task = le_r16(p + RENC_TASK);
    rec->keywords = le_r64(p + RENC_KEYWORDS);
    guid_read(&rec->activity, p + RENC_ACTIVITY);
    guid_read(&rec->related, p + RENC_RELATED);
}

int record_decode_pointers(const uint8_t *p, const uint8_t *ext, uint32_t el,
                           const uint8_t *data, uint32_t dl, const uint8_t *extra, uint32_t xl,
                           struct record *rec)
{
    rec->ext = el ? ext : NULL;
    rec->ext_len = el;
    rec->data = dl ? data : NULL;
    rec->data_len = dl;
    const uint8_t **sc[2] = {&rec->tl_meta, &rec->tl_traits};
    uint32_t *scl[2] = {&rec->tl_meta_len, &rec->tl_traits_len};
    int off_at[2] = {RENC_TL_META_OFF, RENC_TL_TRAITS_OFF};
    for (int i = 0; i < 2; i++) {
        uint32_t off = le_r32(p + off_at[i]), l = le_r32(p + off_at[i] + 4);
        if (off == RENC_NONE)
            continue;
        const uint8_t *q = var_ptr(ext, el, data, dl, extra, xl, off, l);
        if (q == NULL)
            return ERR_FORMAT;
        *sc[i] = q;
        *scl[i] = l;
    }
    return 0;
}

int record_decode_split(const uint8_t *p, const uint8_t *ext, const uint8_t *data,
                        const uint8_t *extra, struct record *rec)
{
    record_decode_fixed(p, rec);
    if (p[RENC_VERSION] != RECORD_ENC_VERSION) {
        memset(rec, 0, sizeof *rec);
        return ERR_FORMAT;
    }
    return record_decode_pointers(p, ext, le_r32(p + RENC_EXT_LEN), data, le_r32(p + RENC_DATA_LEN),
                                  extra, le_r32(p + RENC_EXTRA_LEN), rec);
}

size_t record_raw_size(const uint8_t *p)
{
    if (le_r32(p + RENC_RAW_HEAD_OFF) == RENC_NONE)
        return 0;
    return (size_t)le_r32(p + RENC_RAW_HEAD_LEN) + le_r32(p + RENC_DATA_LEN);
}

int record_rebuild_raw(const uint8_t *p, const uint8_t *ext, const uint8_t *data,
                       const uint8_t *extra, uint8_t *raw_buf, struct record *rec)
{
    uint32_t off = le_r32(p + RENC_RAW_HEAD_OFF), hl = le_r32(p + RENC_RAW_HEAD_LEN);
    if (off == RENC_NONE)
        return 0;
    uint32_t el = le_r32(p + RENC_EXT_LEN), dl = le_r32(p + RENC_DATA_LEN), xl = le_r32(p + RENC_EXTRA_LEN);
    const uint8_t *h = var_ptr(ext, el, data, dl, extra, xl, off, hl);
    if (h == NULL)
        return ERR_FORMAT;
    memcpy(raw_buf, h, hl);
    if (dl)
        memcpy(raw_buf + hl, data, dl);
    rec->raw = raw_buf;
    rec->raw_len = hl + dl;
    rec->data = dl ? raw_buf + hl : NULL;
    return 0;
}

int record_decode(const uint8_t *p, size_t len, struct record *rec, const char **name,
                  size_t *name_len, size_t *used)
{
    memset(rec, 0, sizeof *rec);
    if (len < RECORD_ENC_FIXED || p[RENC_VERSION] != RECORD_ENC_VERSION)
        return ERR_FORMAT;
    uint64_t ext_len = le_r32(p + RENC_EXT_LEN), data_len = le_r32(p + RENC_DATA_LEN);
    uint64_t extra = le_r32(p + RENC_EXTRA_LEN), nl = le_r16(p + RENC_NAME_LEN);
    uint64_t var = ext_len + data_len + extra;
    if (var + nl > len - RECORD_ENC_FIXED)
        return ERR_FORMAT;
    const uint8_t *v = p + RECORD_ENC_FIXED;
    int rc = record_decode_split(p, v, v + ext_len, v + ext_len + data_len, rec);
    if (rc)
        return rc;
    *name = (const char *)(v + var);
    *name_len = (size_t)nl;
    *used = RECORD_ENC_FIXED + (size_t)(var + nl);
    return 0;
}
