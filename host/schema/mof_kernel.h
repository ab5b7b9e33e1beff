/*
 * mof_kernel: built-in MOF classes of the NT Kernel Logger and of the
 * classic KernelTraceControl events as a schema source (SCHEMA_SRC_MOF).
 *
 * Kernel events (SYSTEM_TRACE_HEADER, PERFINFO_TRACE_HEADER) and classic
 * events (EVENT_TRACE_HEADER) carry no event id: they are identified by the
 * class GUID of their hook group (or the event class GUID), the event type
 * (opcode) and the class version.  The layouts of these classes are public
 * (wmicore.mof in the Windows SDK, the MSDN "... class" pages); the ones this
 * source knows are listed in mof_tables.c in a compact text form, one entry
 * per (class GUID, version) with its event types.  Schemas are built from
 * that text when the source is created; one schema serves 32-bit and 64-bit
 * records, because pointer-sized fields are sized per record at decode time.
 *
 * Names follow wmicore.mof: the task is the class ("Process"), the opcode
 * name the EventTypeName ("Start", "End", "DCStart" ...), the event name
 * "Task/Opcode", the provider "Windows Kernel" (the name TraceEvent and
 * dissect.etl show; the session is the NT Kernel Logger,
 * SystemTraceControlGuid 9e814aad-3204-11d2-9a82-006008a86939), and
 * "KernelTraceControl" for the ImageID and WinSat classes that trace merging
 * adds.  Field names are the MOF property names.
 *
 * Decoding rules carried by the types:
 *   - pointer and SizeT fields are 4 or 8 bytes by the record's header type;
 *   - UserSID (extension "Sid") is a TOKEN_USER (two pointers) followed by
 *     the SID, or a single zero u32 (TDH_IN_WBEM_SID);
 *   - IP addresses (extension "IPAddr") and ports (extension "Port") are in
 *     network byte order: out-types IPV4 / IPV6 / PORT;
 *   - WmiTime values are 64-bit whatever the pointer size;
 *   - stack frames run to the end of the payload.
 *
 * Versions: an event whose version is not in the table decodes with the
 * highest known lower version of the same class and type (newer kernels
 * append fields, and the decoder tolerates trailing bytes).  This is a
 * heuristic; it is counted in mof_kernel_stats.fallbacks.  Lower unknown
 * versions are not guessed.
 *
 * Threading: the source belongs to the decoder's thread.
 */
#ifndef ETWHOST_MOF_KERNEL_H
#define ETWHOST_MOF_KERNEL_H

#include <stddef.h>
#include <stdint.h>

#include "../core/err.h"
#include "../decode/decode.h"
#include "schema_cache.h"

/* One (class, version) of the built-in table (mof_tables.c). */
struct mof_class {
    const char *guid;   /* class GUID, 36 lowercase characters */
    const char *task;   /* class / task name, e.g. "Process" */
    uint8_t version;
    const char *types;  /* event types: "1:Start 2:End 3:DCStart" */
    /*
     * Fields, space-separated "Name:type" where type is one of
     *   u8 i8 u16 i16 u32 i32 u64 i64   integers
     *   x32 x64                         hexadecimal integers
     *   ptr sz                          pointer / SizeT (4 or 8 bytes)
     *   str wstr                        NUL-terminated ANSI / UTF-16 strings
     *   str[N] wstr[N]                  fixed buffers of N characters
     *   bin[N]                          N bytes
     *   sid                             TOKEN_USER + SID (WBEM)
     *   guid ft bool8 ip4 ip6 port wchar
     * optionally followed by @Field (array counted by an earlier field) or
     * @* (array running to the end of the payload).
     */
    const char *fields;
};

extern const struct mof_class mof_classes[];
extern const size_t mof_nclasses;

struct mof_kernel_stats {
    uint64_t lookups;   /* classic / kernel records asked about */
    uint64_t built;     /* schemas built (each on its first lookup) */
    uint64_t fallbacks; /* answered with a lower version */
    uint64_t misses;    /* unknown class, type or version */
};

struct mof_kernel;

/*
 * Create the table index and register the provider names of the known
 * classes in cache (may be NULL); schemas are built on first lookup (a
 * trace uses a few of the hundreds).  A bad class GUID or type list is a
 * programming error reported as ERR_FORMAT with eb; else ERR_NOMEM or 0 with
 * *out owned by the caller (mof_kernel_free).
 */
int mof_kernel_new(struct schema_cache *cache, struct mof_kernel **out, struct errbuf *eb);
void mof_kernel_free(struct mof_kernel *mk);

/*
 * Build every schema now (the test of the table: a bad field text fails
 * here with ERR_FORMAT naming the class, or ERR_NOMEM).  0 on success.
 */
int mof_kernel_build_all(struct mof_kernel *mk, struct errbuf *eb);

/*
 * Schema of (class GUID, version, opcode), or of the highest known lower
 * version; NULL if unknown (or if its table entry does not build: logged
 * once).  ptr_size is accepted for symmetry with the cache key (4 or 8).
 * Owned by mk; allocates the schema on its first lookup.  Not thread-safe
 * (one instance per decoder).
 */
const struct schema *mof_kernel_find(struct mof_kernel *mk, const etwhost_guid *cls,
                                     uint8_t version, uint8_t opcode, unsigned ptr_size);

void mof_kernel_get_stats(const struct mof_kernel *mk, struct mof_kernel_stats *out);

/*
 * Fill *src with a new kernel MOF source (system, perfinfo, classic and
 * instance records); its destroy() frees it.  0, ERR_NOMEM or ERR_FORMAT.
 */
int mof_kernel_source(struct schema_cache *cache, struct schema_source *src);

#endif
