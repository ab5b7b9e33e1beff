/*
 * etl_parse: one trace record -> struct record, and the logfile header.
 *
 * Every field read is preceded by a check that it lies inside the record,
 * and the record inside the bytes the caller says are available, so the
 * parser is safe on arbitrary input.  A record whose size is unusable stops
 * its buffer (the next record cannot be found); a record whose size is sound
 * but whose inside is not (extended items, optional WPP items) is skipped.
 */
#include "etl_format.h"

#include <string.h>

#include "../core/err.h"
#include "../core/mem.h"
#include "../core/text.h"

/* Class GUIDs of the kernel hook groups 0x00..0x1E, then SystemTraceControlGuid. */
static const etwhost_guid kernel_guids[] = {
    {0x68fdd900, 0x4a3e, 0x11d1, {0x84, 0xf4, 0x00, 0x00, 0xf8, 0x04, 0x64, 0xe3}}, /* EventTrace */
    {0x3d6fa8d4, 0xfe05, 0x11d0, {0x9d, 0xda, 0x00, 0xc0, 0x4f, 0xd7, 0xba, 0x7c}}, /* DiskIo */
    {0x3d6fa8d3, 0xfe05, 0x11d0, {0x9d, 0xda, 0x00, 0xc0, 0x4f, 0xd7, 0xba, 0x7c}}, /* PageFault */
    {0x3d6fa8d0, 0xfe05, 0x11d0, {0x9d, 0xda, 0x00, 0xc0, 0x4f, 0xd7, 0xba, 0x7c}}, /* Process */
    {0x90cbdc39, 0x4a3e, 0x11d1, {0x84, 0xf4, 0x00, 0x00, 0xf8, 0x04, 0x64, 0xe3}}, /* FileIo */
    {0x3d6fa8d1, 0xfe05, 0x11d0, {0x9d, 0xda, 0x00, 0xc0, 0x4f, 0xd7, 0xba, 0x7c}}, /* Thread */
    {0x9a280ac0, 0xc8e0, 0x11d1, {0x84, 0xe2, 0x00, 0xc0, 0x4f, 0xb9, 0x98, 0xa2}}, /* TcpIp */
    {0x3282fc76, 0xfeed, 0x498e, {0x8a, 0xa7, 0xe7, 0x0f, 0x45, 0x9d, 0x43, 0x0e}}, /* Job */
    {0xbf3a50c5, 0xa9c9, 0x4988, {0xa0, 0x05, 0x2d, 0xf0, 0xb7, 0xc8, 0x0f, 0x80}}, /* UdpIp */
    {0xae53722e, 0xc863, 0x11d2, {0x86, 0x59, 0x00, 0xc0, 0x4f, 0xa3, 0x21, 0xa1}}, /* Registry */
    {0x13976d09, 0xa327, 0x438c, {0x95, 0x0b, 0x7f, 0x03, 0x19, 0x28, 0x15, 0xc7}}, /* DbgPrint */
    {0x01853a65, 0x418f, 0x4f36, {0xae, 0xfc, 0xdc, 0x0f, 0x1d, 0x2f, 0xd2, 0x35}}, /* Config */
    {0x99134383, 0x5248, 0x43fc, {0x83, 0x4b, 0x52, 0x94, 0x54, 0xe7, 0x5d, 0xf3}}, /* Spare1 */
    {0x42695762, 0xea50, 0x497a, {0x90, 0x68, 0x5c, 0xbb, 0xb3, 0x5e, 0x0b, 0x95}}, /* Wnf */
    {0x0268a8b6, 0x74fd, 0x4302, {0x9d, 0xd0, 0x6e, 0x8f, 0x17, 0x95, 0xc0, 0xcf}}, /* Pool */
    {0xce1dbfb4, 0x137e, 0x4da6, {0x87, 0xb0, 0x3f, 0x59, 0xaa, 0x10, 0x2c, 0xbc}}, /* PerfInfo */
    {0x222962ab, 0x6180, 0x4b88, {0xa8, 0x25, 0x34, 0x6b, 0x75, 0xf2, 0xa2, 0x4a}}, /* Heap */
    {0x89497f50, 0xeffe, 0x4440, {0x8c, 0xf2, 0xce, 0x6b, 0x1c, 0xdc, 0xac, 0xa7}}, /* Object */
    {0xe43445e0, 0x0903, 0x48c3, {0xb8, 0x78, 0xff, 0x0f, 0xcc, 0xeb, 0xdd, 0x04}}, /* Power */
    {0xa9152f00, 0x3f58, 0x4bee, {0x92, 0xa1, 0x70, 0xc7, 0xd0, 0x79, 0xd5, 0xdd}}, /* ModBound */
    {0x2cb15d1d, 0x5fc1, 0x11d2, {0xab, 0xe1, 0x00, 0xa0, 0xc9, 0x11, 0xf5, 0x18}}, /* Image */
    {0xb2d14872, 0x7c5b, 0x463d, {0x84, 0x19, 0xee, 0x9b, 0xf7, 0xd2, 0x3e, 0x04}}, /* Dpc */
    {0x7687a439, 0xf752, 0x45b8, {0xb7, 0x41, 0x32, 0x1a, 0xec, 0x0f, 0x8d, 0xf9}}, /* Cc */
    {0x3ac66736, 0xcc59, 0x4cff, {0x81, 0x15, 0x8d, 0xf5, 0x0e, 0x39, 0x81, 0x6b}}, /* CritSec */
    {0xdef2fe46, 0x7bd6, 0x4b80, {0xbd, 0x94, 0xf5, 0x7f, 0xe2, 0x0d, 0x0c, 0xe3}}, /* StackWalk */
    {0x9aec974b, 0x5b8e, 0x4118, {0x9b, 0x92, 0x31, 0x86, 0xd8, 0x00, 0x2c, 0xe5}}, /* Ums */
    {0x45d8cccd, 0x539f, 0x4b72, {0xa8, 0xb7, 0x5c, 0x68, 0x31, 0x42, 0x60, 0x9a}}, /* Alpc */
    {0xd837ca92, 0x12b9, 0x44a5, {0xad, 0x6a, 0x3a, 0x65, 0xb3, 0x57, 0x8a, 0xa8}}, /* SplitIo */
    {0xc861d0e2, 0xa2c1, 0x4d36, {0x9f, 0x9c, 0x97, 0x0b, 0xab, 0x94, 0x3a, 0x12}}, /* ThreadPool */
    {0x7f2a405c, 0x69b5, 0x4bf9, {0xa1, 0xf5, 0x30, 0xe8, 0xf1, 0xaf, 0xab, 0x5e}}, /* Hypervisor */
    {0x2ce9a149, 0xeffe, 0x42f0, {0xa6, 0x35, 0xa1, 0xd3, 0x9e, 0x26, 0xc8, 0xf2}}, /* HypervisorX */
    /* Groups without a known class: the kernel logger's own control GUID. */
    {0x9e814aad, 0x3204, 0x11d2, {0x9a, 0x82, 0x00, 0x60, 0x08, 0xa8, 0x69, 0x39}},
};

#define KERNEL_GROUPS 0x1Fu
#define KERNEL_GROUP_IMAGE 0x14u

void etl_kernel_guid(uint16_t hook_id, etwhost_guid *g)
{
    uint32_t group = hook_id >> 8;
    /* Process group type 10 (image load) is reported under the Image class, as sechost does. */
    if (hook_id == 0x030A)
        group = KERNEL_GROUP_IMAGE;
    *g = kernel_guids[group < KERNEL_GROUPS ? group : KERNEL_GROUPS];
}

/* Append one synthesised extended item {size, type, linkage, datasize, data} to scratch. */
static uint32_t put_ext(uint8_t *scratch, uint32_t at, uint16_t type, const uint8_t *data,
                        uint16_t len, int more)
{
    uint16_t total = (uint16_t)(8 + ((len + 7u) & ~7u));
    le_w16(scratch + at, total);
    le_w16(scratch + at + 2, type);
    le_w16(scratch + at + 4, more ? 1u : 0u);
    le_w16(scratch + at + 6, len);
    memcpy(scratch + at + 8, data, len);
    memset(scratch + at + 8 + len, 0, (size_t)(total - 8 - len));
    return at + total;
}

/*
 * Bounds shared by every kind: the fixed header must be readable, the size
 * must cover it and stay inside the buffer's data.
 */
static int check_size(uint32_t size, uint32_t hdr, uint32_t avail, const char **why)
{
    if (size < hdr) {
        *why = "record size smaller than its header";
        return ETL_REC_STOP;
    }
    if (size > avail) {
        *why = "record size beyond the end of the buffer data";
        return ETL_REC_STOP;
    }
    return ETL_REC_OK;
}

/* SYSTEM_TRACE_HEADER (full or compact) and PERFINFO_TRACE_HEADER. */
static int parse_kernel(const uint8_t *p, uint32_t avail, uint8_t ht, struct record *rec,
                        uint8_t *scratch, uint32_t *size, const char **why)
{
    int perfinfo = ht == ETL_HT_PERFINFO32 || ht == ETL_HT_PERFINFO64;
    int compact = ht == ETL_HT_COMPACT32 || ht == ETL_HT_COMPACT64;
    uint32_t hdr = perfinfo ? ETL_PERFINFO_HDR : compact ? ETL_COMPACT_HDR : ETL_SYSTEM_HDR;
    if (avail < hdr) {
        *why = "record header beyond the end of the buffer data";
        return ETL_REC_STOP;
    }
    uint32_t sz = le_r16(p + 4);
    int rc = check_size(sz, hdr, avail, why);
    if (rc != ETL_REC_OK)
        return rc;
    *size = sz;
    uint16_t ver = le_r16(p);
    rec->kind = perfinfo ? ETWHOST_HK_PERFINFO : ETWHOST_HK_SYSTEM;
    rec->raw_version = ver;
    rec->version = (uint8_t)ver;
    rec->hook_id = le_r16(p + 6);
    rec->opcode = (uint8_t)rec->hook_id;
    rec->evf = ETWHOST_EVF_KERNEL;
    if (ht == ETL_HT_SYSTEM32 || ht == ETL_HT_COMPACT32 || ht == ETL_HT_PERFINFO32)
        rec->evf |= ETWHOST_EVF_PTR32;
    if (perfinfo) {
        rec->raw_timestamp = (int64_t)le_r64(p + 8);
        rec->pid = rec->tid = UINT32_MAX;
        rec->evf |= ETWHOST_EVF_NO_PID;
    } else {
        rec->tid = le_r32(p + 8);
        rec->pid = le_r32(p + 12);
        rec->raw_timestamp = (int64_t)le_r64(p + 16);
    }
    etl_kernel_guid(rec->hook_id, &rec->provider);
    rec->raw = p;
    rec->raw_len = sz;
    /* PEBS index, then PMC counters, between the header and the event data. */
    uint32_t npmc = (ver & ETL_PMC_MASK) >> 8;
    uint32_t pebs = (ver & ETL_PEBS_FLAG) ? 1 : 0;
    uint32_t extb = 8 * (pebs + npmc);
    if (extb) {
        if (hdr + extb > sz) {
            *why = "PEBS/PMC items beyond the record";
            return ETL_REC_SKIP;
        }
        uint32_t at = 0;
        if (pebs)
            at = put_ext(scratch, at, EXT_PEBS_INDEX, p + hdr, 8, npmc != 0);
        if (npmc)
            at = put_ext(scratch, at, EXT_PMC_COUNTERS, p + hdr + 8 * pebs,
                         (uint16_t)(8 * npmc), 0);
        rec->ext = scratch;
        rec->ext_len = at;
    }
    rec->data = p + hdr + extb;
    rec->data_len = sz - hdr - extb;
    return ETL_REC_OK;
}

/* EVENT_TRACE_HEADER and EVENT_INSTANCE_GUID_HEADER (classic events). */
static int parse_classic(const uint8_t *p, uint32_t avail, uint8_t ht, struct record *rec,
                         uint8_t *scratch, uint32_t *size, const char **why)
{
    int inst = ht == ETL_HT_INSTANCE32 || ht == ETL_HT_INSTANCE64;
    uint32_t hdr = inst ? ETL_INSTANCE_HDR : ETL_FULL_HDR;
    uint32_t sz = le_r16(p);
    if (avail < hdr) {
        *why = "record header beyond the end of the buffer data";
        return ETL_REC_STOP;
    }
    int rc = check_size(sz, hdr, avail, why);
    if (rc != ETL_REC_OK)
        return rc;
    *size = sz;
    rec->kind = inst ? ETWHOST_HK_INSTANCE : ETWHOST_HK_TRACE;
    rec->evf = ETWHOST_EVF_CLASSIC;
    if (ht == ETL_HT_FULL32 || ht == ETL_HT_INSTANCE32)
        rec->evf |= ETWHOST_EVF_PTR32;
    rec->opcode = p[4];
    rec->level = p[5];
    rec->raw_version = le_r16(p + 6);
    rec->version = (uint8_t)rec->raw_version;
    rec->tid = le_r32(p + 8);
    rec->pid = le_r32(p + 12);
    rec->raw_timestamp = (int64_t)le_r64(p + 16);
    guid_read(&rec->provider, p + 0x18);
    if (inst) {
        /* InstanceId, ParentInstanceId, ParentGuid: the EVENT_INSTANCE_INFO item layout. */
        rec->ext = scratch;
        rec->ext_len = put_ext(scratch, 0, EXT_INSTANCE_INFO, p + 0x30, 24, 0);
    }
    rec->raw = p;
    rec->raw_len = sz;
    rec->data = p + hdr;
    rec->data_len = sz - hdr;
    return ETL_REC_OK;
}

/* EVENT_HEADER with its extended items. */
static int parse_event(const uint8_t *p, uint32_t avail, uint8_t ht, struct record *rec,
                       uint32_t *size, const char **why)
{
    uint32_t sz = le_r16(p);
    if (avail < ETL_EVENT_HDR) {
        *why = "record header beyond the end of the buffer data";
        return ETL_REC_STOP;
    }
    int rc = check_size(sz, ETL_EVENT_HDR, avail, why);
    if (rc != ETL_REC_OK)
        return rc;
    *size = sz;
    rec->kind = ETWHOST_HK_EVENT;
    rec->evf = ht == ETL_HT_EVENT32 ? ETWHOST_EVF_PTR32 : 0;
    rec->hdr_flags = le_r16(p + 4);
    rec->event_property = le_r16(p + 6);
    rec->tid = le_r32(p + 8);
    rec->pid = le_r32(p + 12);
    rec->raw_timestamp = (int64_t)le_r64(p + 16);
    guid_read(&rec->provider, p + 0x18);
    rec->id = le_r16(p + 0x28);
    rec->version = p[0x2A];
    rec->channel = p[0x2B];
    rec->level = p[0x2C];
    rec->opcode = p[0x2D];
    rec->task = le_r16(p + 0x2E);
    rec->keywords = le_r64(p + 0x30);
    guid_read(&rec->activity, p + 0x40);
    if (rec->hdr_flags & ETL_EHF_STRING_ONLY)
        rec->evf |= ETWHOST_EVF_STRING_ONLY;
    rec->raw = p;
    rec->raw_len = sz;
    uint32_t pos = ETL_EVENT_HDR;
    if (rec->hdr_flags & ETL_EHF_EXTENDED_INFO) {
        for (;;) {
            if (pos + 8 > sz) {
                *why = "extended item header beyond the record";
                return ETL_REC_SKIP;
            }
            const uint8_t *q = p + pos;
            uint32_t isz = le_r16(q);
            uint16_t type = le_r16(q + 2);
            uint16_t link = le_r16(q + 4);
            uint32_t dsz = le_r16(q + 6);
            if (isz < 8 || dsz + 8 > isz || pos + isz > sz) {
                *why = "extended item size beyond the record";
                return ETL_REC_SKIP;
            }
            if (type == EXT_EVENT_SCHEMA_TL) {
                rec->tl_meta = q + 8;
                rec->tl_meta_len = dsz;
                rec->evf |= ETWHOST_EVF_TRACELOGGING;
            } else if (type == EXT_PROV_TRAITS) {
                rec->tl_traits = q + 8;
                rec->tl_traits_len = dsz;
            } else if (type == EXT_RELATED_ACTIVITYID && dsz >= 16) {
                guid_read(&rec->related, q + 8);
            }
            pos += isz;
            if (!(link & 1))
                break;
        }
        rec->ext = p + ETL_EVENT_HDR;
        rec->ext_len = pos - ETL_EVENT_HDR;
    }
    rec->data = p + pos;
    rec->data_len = sz - pos;
    return ETL_REC_OK;
}

/* MESSAGE_TRACE_HEADER (WPP) and its optional items, which come in a fixed order. */
static int parse_message(const uint8_t *p, uint32_t avail, uint32_t session_ptr,
                         struct record *rec, uint32_t *size, int *has_ts, const char **why)
{
    uint32_t sz = le_r16(p);
    if (avail < ETL_MESSAGE_HDR) {
        *why = "record header beyond the end of the buffer data";
        return ETL_REC_STOP;
    }
    int rc = check_size(sz, ETL_MESSAGE_HDR, avail, why);
    if (rc != ETL_REC_OK)
        return rc;
    *size = sz;
    uint16_t opt = le_r16(p + 6);
    rec->kind = ETWHOST_HK_MESSAGE;
    rec->evf = ETWHOST_EVF_WPP;
    rec->hdr_flags = opt;
    rec->message_number = le_r16(p + 4);
    rec->raw = p;
    rec->raw_len = sz;
    if ((opt & ETL_WPP_POINTER32) || (!(opt & ETL_WPP_POINTER64) && session_ptr == 4))
        rec->evf |= ETWHOST_EVF_PTR32;
    uint32_t need = ((opt & ETL_WPP_SEQUENCE) ? 4 : 0) +
                    ((opt & ETL_WPP_COMPONENTID) ? 4 : (opt & ETL_WPP_GUID) ? 16 : 0) +
                    ((opt & (ETL_WPP_TIMESTAMP | ETL_WPP_PERF_TIMESTAMP)) ? 8 : 0) +
                    ((opt & ETL_WPP_SYSTEMINFO) ? 8 : 0);
    if (ETL_MESSAGE_HDR + need > sz) {
        *why = "message items beyond the record";
        return ETL_REC_SKIP;
    }
    uint32_t pos = ETL_MESSAGE_HDR;
    if (opt & ETL_WPP_SEQUENCE) {
        rec->wpp_sequence = le_r32(p + pos);
        pos += 4;
    }
    if (opt & ETL_WPP_COMPONENTID) {
        pos += 4; /* a component id replaces the GUID; the provider stays zero */
    } else if (opt & ETL_WPP_GUID) {
        guid_read(&rec->provider, p + pos);
        pos += 16;
    }
    *has_ts = 0;
    if (opt & (ETL_WPP_TIMESTAMP | ETL_WPP_PERF_TIMESTAMP)) {
        rec->raw_timestamp = (int64_t)le_r64(p + pos);
        /* Only TIMESTAMP promises a value; the obsolete flag alone may leave the slot zero. */
        *has_ts = (opt & ETL_WPP_TIMESTAMP) || rec->raw_timestamp != 0;
        pos += 8;
    }
    if (opt & ETL_WPP_SYSTEMINFO) {
        rec->tid = le_r32(p + pos);
        rec->pid = le_r32(p + pos + 4);
        pos += 8;
    } else {
        rec->pid = rec->tid = UINT32_MAX;
        rec->evf |= ETWHOST_EVF_NO_PID;
    }
    rec->data = p + pos;
    rec->data_len = sz - pos;
    return ETL_REC_OK;
}

int etl_parse_record(const uint8_t *p, uint32_t avail, uint32_t session_ptr, struct record *rec,
                     uint8_t *scratch, uint32_t *size, int *has_ts, const char **why)
{
    if (avail < 4)
        return ETL_REC_END;
    uint32_t m = le_r32(p);
    if (m == 0 || m == 0xFFFFFFFFu)
        return ETL_REC_END;
    uint8_t fl = (uint8_t)(m >> 24), ht = (uint8_t)(m >> 16);
    memset(rec, 0, sizeof *rec);
    *has_ts = 1;
    *size = 0;
    if ((fl & 0xC0u) == 0xC0u) {
        switch (ht) {
        case ETL_HT_SYSTEM32:
        case ETL_HT_SYSTEM64:
        case ETL_HT_COMPACT32:
        case ETL_HT_COMPACT64:
        case ETL_HT_PERFINFO32:
        case ETL_HT_PERFINFO64:
            return parse_kernel(p, avail, ht, rec, scratch, size, why);
        case ETL_HT_FULL32:
        case ETL_HT_FULL64:
        case ETL_HT_INSTANCE32:
        case ETL_HT_INSTANCE64:
            return parse_classic(p, avail, ht, rec, scratch, size, why);
        case ETL_HT_EVENT32:
        case ETL_HT_EVENT64:
            return parse_event(p, avail, ht, rec, size, why);
        default:
            *why = "unknown record header type";
            return ETL_REC_STOP;
        }
    }
    if ((fl & 0xD0u) == 0x90u)
        return parse_message(p, avail, session_ptr, rec, size, has_ts, why);
    *why = "unknown record marker";
    return ETL_REC_STOP;
}

uint32_t etl_record_size(const uint8_t *p, uint32_t avail)
{
    if (avail < 8)
        return 0;
    uint32_t m = le_r32(p);
    uint8_t fl = (uint8_t)(m >> 24), ht = (uint8_t)(m >> 16);
    if ((fl & 0xC0u) == 0xC0u) {
        switch (ht) {
        case ETL_HT_SYSTEM32:
        case ETL_HT_SYSTEM64:
        case ETL_HT_COMPACT32:
        case ETL_HT_COMPACT64:
        case ETL_HT_PERFINFO32:
        case ETL_HT_PERFINFO64:
            return le_r16(p + 4);
        case ETL_HT_FULL32:
        case ETL_HT_FULL64:
        case ETL_HT_INSTANCE32:
        case ETL_HT_INSTANCE64:
        case ETL_HT_EVENT32:
        case ETL_HT_EVENT64:
            return le_r16(p);
        default:
            return 0;
        }
    }
    if ((fl & 0xD0u) == 0x90u)
        return le_r16(p);
    return 0;
}

uint32_t etl_record_ts_offset(const uint8_t *p, uint32_t size)
{
    if (size < 8)
        return 0;
    uint32_t m = le_r32(p);
    uint8_t fl = (uint8_t)(m >> 24), ht = (uint8_t)(m >> 16);
    if ((fl & 0xC0u) == 0xC0u) {
        if (ht == ETL_HT_PERFINFO32 || ht == ETL_HT_PERFINFO64)
            return size >= 16 ? 8 : 0;
        return size >= 24 ? 16 : 0;
    }
    if ((fl & 0xD0u) == 0x90u) {
        uint16_t opt = le_r16(p + 6);
        if (!(opt & (ETL_WPP_TIMESTAMP | ETL_WPP_PERF_TIMESTAMP)))
            return 0;
        uint32_t pos = ETL_MESSAGE_HDR + ((opt & ETL_WPP_SEQUENCE) ? 4 : 0) +
                       ((opt & ETL_WPP_COMPONENTID) ? 4 : (opt & ETL_WPP_GUID) ? 16 : 0);
        return pos + 8 <= size ? pos : 0;
    }
    return 0;
}

/* Copy a NUL-terminated UTF-16LE string of at most n bytes as UTF-8; *used = bytes consumed. */
static char *utf16_dup(const uint8_t *p, size_t n, size_t *used)
{
    size_t len = text_utf16_strlen_bytes(p, n);
    char *s = mem_alloc(text_utf16_to_utf8_max(len) + 1);
    if (s == NULL)
        return NULL;
    s[text_utf16_to_utf8(s, p, len)] = '\0';
    *used = len + 2 <= n ? len + 2 : n;
    return s;
}

int etl_parse_logfile_header(const uint8_t *rec, uint32_t size, struct trace_info *ti,
                             char **logger_name, char **logfile_name, const char **why)
{
    *logger_name = *logfile_name = NULL;
    if (size < ETL_SYSTEM_HDR) {
        *why = "logfile header record too short";
        return ERR_FORMAT;
    }
    uint32_t m = le_r32(rec);
    uint8_t ht = (uint8_t)(m >> 16);
    if ((m >> 24) != ETL_MARKER_FLAGS_TRACE || (ht != ETL_HT_SYSTEM32 && ht != ETL_HT_SYSTEM64)) {
        *why = "first record is not a SYSTEM_TRACE_HEADER (not an .etl file?)";
        return ERR_FORMAT;
    }
    if (le_r16(rec + 6) != 0) {
        *why = "first record is not the logfile header (hook id not 0)";
        return ERR_FORMAT;
    }
    int is64 = ht == ETL_HT_SYSTEM64;
    uint32_t lay = is64 ? ETL_LOGFILE_HDR64 : ETL_LOGFILE_HDR32;
    if (size < ETL_SYSTEM_HDR + lay) {
        *why = "logfile header record too short for TRACE_LOGFILE_HEADER";
        return ERR_FORMAT;
    }
    const uint8_t *d = rec + ETL_SYSTEM_HDR;
    memset(ti, 0, sizeof *ti);
    ti->buffer_size = le_r32(d);
    ti->os_major = d[4];
    ti->os_minor = d[5];
    ti->os_build = le_r32(d + 0x08);
    ti->num_cpus = le_r32(d + 0x0C);
    ti->end_time = (int64_t)le_r64(d + 0x10);
    ti->log_file_mode = le_r32(d + 0x20);
    ti->pointer_size = le_r32(d + 0x2C);
    ti->events_lost = le_r32(d + 0x30);
    ti->cpu_mhz = le_r32(d + 0x34);
    uint32_t ps = is64 ? 8 : 4;
    ti->tz_bias_minutes = (int32_t)le_r32(d + 0x38 + 2 * ps);
    /* BootTime..BuffersLost are the last 0x20 bytes of the fixed part. */
    const uint8_t *t = d + lay - 0x20;
    ti->boot_time = (int64_t)le_r64(t);
    ti->perf_freq = (int64_t)le_r64(t + 8);
    ti->start_time = (int64_t)le_r64(t + 16);
    ti->clock_type = le_r32(t + 24);
    ti->buffers_lost = le_r32(t + 28);
    ti->t0_raw = (int64_t)le_r64(rec + 16);
    if (ti->pointer_size != 4 && ti->pointer_size != 8)
        ti->pointer_size = ps;
    size_t n = size - ETL_SYSTEM_HDR - lay, used = 0, used2 = 0;
    *logger_name = utf16_dup(d + lay, n, &used);
    if (*logger_name)
        *logfile_name = utf16_dup(d + lay + used, n - used, &used2);
    if (*logger_name == NULL || *logfile_name == NULL) {
        mem_free(*logger_name);
        *logger_name = NULL;
        return ERR_NOMEM;
    }
    ti->logger_name = *logger_name;
    return 0;
}
