/*
 * live_autologger: AutoLogger sessions (sessions Windows starts at boot),
 * written to and read from the registry through struct etw_api (the
 * registry API, never reg.exe).
 *
 * Layout under HKLM\SYSTEM\CurrentControlSet\Control\WMI\Autologger\NAME:
 *   Start (DWORD 1, or 0 to keep it configured but off), Guid (REG_SZ
 *   "{...}"), LogFileMode, BufferSize (KB), MinimumBuffers, MaximumBuffers,
 *   FlushTimer, ClockType (DWORD), FileName (REG_SZ) and MaxFileSize (DWORD,
 *   MB) when the session writes a file;
 *   one subkey per provider, named "{GUID}": Enabled (DWORD 1),
 *   EnableLevel (DWORD), MatchAnyKeyword and MatchAllKeyword (QWORD),
 *   EnableProperty (DWORD, when set);
 *   and when the provider has scope filters, its subkey "Filters" with the
 *   value names Windows' AutoLogger code reads: Enabled (DWORD 1),
 *   EventIdFilterIn (DWORD) + EventIds (REG_BINARY, little-endian u16 ids),
 *   ExeFilter (REG_SZ, names joined by ';'), StackWalkFilterIn (DWORD) +
 *   StackWalkIds (REG_BINARY).
 * PID, event-name and stack level/keyword filters have no AutoLogger form
 * and are refused, as are NT Kernel Logger sessions (Windows uses the
 * Global Logger for those).
 *
 * Threading: none; each call is independent.  Errors: one line in eb.
 */
#ifndef ETWHOST_LIVE_AUTOLOGGER_H
#define ETWHOST_LIVE_AUTOLOGGER_H

#include "../core/buf.h"
#include "../core/err.h"
#include "etw_api.h"
#include "live_session.h"

#define LIVE_AUTOLOGGER_ROOT "SYSTEM\\CurrentControlSet\\Control\\WMI\\Autologger"

/* ERR_CONFIG with one line if c cannot be expressed as an AutoLogger. */
int live_autologger_check(const struct live_session_cfg *c, struct errbuf *eb);

/*
 * Write AutoLogger c->name (providers must have GUIDs: resolve first).
 * start: the Start value.  ERR_EXISTS if the key exists, ERR_PERM (access
 * denied), ERR_IO; a failure half-way removes what was written.
 */
int live_autologger_create(const struct etw_api *api, const struct live_session_cfg *c,
                           int start, struct errbuf *eb);

/* Delete AutoLogger name and its providers; ERR_NOTFOUND if absent. */
int live_autologger_delete(const struct etw_api *api, const char *name, struct errbuf *eb);

/*
 * Append a readable description of AutoLogger name (every value of the
 * session key, provider keys and filter keys, by type) to out.
 * ERR_NOTFOUND if absent.
 */
int live_autologger_show(const struct etw_api *api, const char *name, struct buf *out,
                         struct errbuf *eb);

/* Append one line per AutoLogger ("NAME start=1 guid={...} providers=N"). */
int live_autologger_list(const struct etw_api *api, struct buf *out, struct errbuf *eb);

#endif
