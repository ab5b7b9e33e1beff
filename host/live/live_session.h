/*
 * live_session: what an ETW session is (configuration, EVENT_TRACE_PROPERTIES)
 * and how it is started, joined, queried and stopped through struct etw_api.
 *
 * Kinds:
 *   user    a private session for manifest / TraceLogging / classic
 *           providers (real-time, optionally paged memory and/or a file);
 *   kernel  the NT Kernel Logger ("NT Kernel Logger",
 *           SystemTraceControlGuid) with legacy enable flags;
 *   system  a private system-logger session (EVENT_TRACE_SYSTEM_LOGGER_MODE,
 *           its own GUID): legacy flags and/or the Windows 11 system
 *           providers, next to regular providers.
 * Sessions are named "etwhost-<pid>-<n>" unless a name is configured, so
 * two hosts never collide.  A name that already exists is handled by the
 * configured policy: fail (default), stop (stop it, start ours) or attach
 * (consume the existing session; it is not stopped at the end).
 *
 * Defaults do not lose events at high rates: 1024 KB buffers (the ETW
 * maximum), at least 64 of them (4 per CPU on big machines) and up to 256
 * (16 per CPU, at most 1024), flushed every second; see docs/live.md for
 * the arithmetic.
 *
 * Errors are one line naming the session: access denied says to run as
 * Administrator or a member of Performance Log Users.
 *
 * Threading: a live_session is used by one thread at a time (its owner
 * serialises start/stop/restart); etw_api calls are thread-safe.
 */
#ifndef ETWHOST_LIVE_SESSION_H
#define ETWHOST_LIVE_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "../core/err.h"
#include "etw_api.h"
#include "live_provider.h"

struct cfg;

#define LIVE_KIND_USER 0
#define LIVE_KIND_KERNEL 1
#define LIVE_KIND_SYSTEM 2

#define LIVE_EXISTING_FAIL 0
#define LIVE_EXISTING_STOP 1
#define LIVE_EXISTING_ATTACH 2

#define LIVE_FILE_NONE 0
#define LIVE_FILE_SEQUENTIAL 1
#define LIVE_FILE_CIRCULAR 2
#define LIVE_FILE_NEWFILE 3

#define LIVE_DEFAULT_BUFFER_KB 1024u
#define LIVE_DEFAULT_FLUSH_S 1u
#define LIVE_DEFAULT_STOP_TIMEOUT_MS 5000u

struct live_session_cfg {
    char name[ETW_NAME_MAX];
    int kind;          /* LIVE_KIND_* */
    int realtime;      /* consume in real time (default 1) */
    int paged;         /* EVENT_TRACE_USE_PAGED_MEMORY (user kind only) */
    int existing;      /* LIVE_EXISTING_* */
    int restart;       /* restart after an external stop (default 1) */
    int profile_privilege; /* enable SeSystemProfilePrivilege (kernel/system kinds) */
    int file_mode;     /* LIVE_FILE_* */
    char *file;        /* log file path (UTF-8) or NULL */
    uint32_t max_file_mb;
    uint32_t buffer_kb, min_buffers, max_buffers, flush_s, clock;
    uint32_t kernel_flags; /* EVENT_TRACE_FLAG_* */
    uint32_t stop_timeout_ms;
    etwhost_guid guid; /* session GUID (generated when not configured) */
    struct live_provider *providers;
    size_t nproviders;
};

/*
 * Defaults for ncpu processors: a unique name, user kind, real-time,
 * policy fail, restart on, the buffer sizes above, QPC clock.
 */
void live_session_cfg_init(struct live_session_cfg *c, uint32_t ncpu);
void live_session_cfg_free(struct live_session_cfg *c);

/* The default buffer counts for ncpu processors. */
void live_default_buffers(uint32_t ncpu, uint32_t *min_buffers, uint32_t *max_buffers);

/*
 * Fill c from a live source object: its "session" object (optional) and
 * "providers" array (keys in docs/live.md).  ncpu scales the buffer
 * defaults.  Checks the combination (kernel kind takes flags not
 * providers, system providers need the system kind, circular files need a
 * size, a new-file pattern needs %d...).  ERR_CONFIG with one line naming
 * the key; ERR_NOMEM.  On failure c is freed.
 */
int live_session_cfg_from_json(const struct cfg *cfg, const json_t *src, uint32_t ncpu,
                               struct live_session_cfg *c, struct errbuf *eb);

/* The EVENT_TRACE_PROPERTIES of c. */
void live_session_props(const struct live_session_cfg *c, struct etw_session_props *p);

/* A new unique session name "etwhost-<pid>-<n>" into out. */
void live_unique_name(char *out, size_t cap);

/* A random-looking version 4 GUID (session GUIDs; not for security). */
void live_new_guid(etwhost_guid *g);

/* Parse a kernel flag list ("Process|Thread", numbers allowed) into *flags. 0 or -1 (eb says which). */
int live_kernel_flags_parse(const char *s, size_t len, uint32_t *flags, struct errbuf *eb);

/* ---- A running session ---- */

struct live_session {
    const struct etw_api *api;
    const struct live_session_cfg *cfg; /* borrowed */
    uint64_t handle;  /* session handle (ControlTrace / EnableTraceEx2) */
    int owned;        /* started here: stopped at the end */
    int running;
};

/*
 * Start the session of cfg (or join it, per policy; 'existing' overrides
 * cfg->existing when >= 0) and enable every provider.  On failure nothing
 * is left running.  ERR_PERM (access denied), ERR_EXISTS (policy fail),
 * ERR_IO (other Win32 errors), ERR_CONFIG (a provider rejected), ERR_NOMEM;
 * eb has one line.
 */
int live_session_start(struct live_session *s, const struct etw_api *api,
                       const struct live_session_cfg *cfg, int existing, struct errbuf *eb);

/*
 * Stop the session if this process started it (ControlTrace STOP, which
 * also makes real-time consumers drain and return); a joined session is
 * left running.  final (may be NULL) receives the last statistics.
 * Returns the Win32 code (ETW_OK when there was nothing to stop).
 */
uint32_t live_session_stop(struct live_session *s, struct etw_session_props *final);

/* ControlTrace QUERY of the session into out; the Win32 code. */
uint32_t live_session_query(const struct live_session *s, struct etw_session_props *out);

#endif
