/*
 * filter_rule: compile a JSON rule tree into an evaluator and run it.
 *
 * The syntax is documented in docs/plugins.md ("filter").  In short, a rule
 * is a JSON object that is either one combinator ({"and": [...]},
 * {"or": [...]}, {"not": {...}}) or one or more conditions that must all
 * hold ({"provider": "...", "event_id": [1, "5-9"], ...}); a property
 * condition is {"prop": "Name", "<operator>": value, ...}.
 *
 * Compilation validates everything (types, ranges, regular expressions) and
 * reports the first problem with its JSON path, e.g.
 * 'rule.and[2].or[1]: unknown key "regx" (did you mean "regex"?)'.
 * Evaluation allocates nothing.  Property conditions remember, per event
 * type, where their property sits (see prop_get in filter_rule.c), so
 * repeated events of one type skip the search by name.
 *
 * Ownership: frule_compile returns a rule the caller releases with
 * frule_free.  Threading: a compiled rule keeps small per-rule caches and
 * scratch space (regex match data), so one rule is evaluated by one thread
 * at a time; the plugin does not set ETWHOST_FLAG_THREAD_SAFE.
 */
#ifndef ETWHOST_FILTER_RULE_H
#define ETWHOST_FILTER_RULE_H

#include <stddef.h>

#include <jansson.h>

#include "etwhost/plugin.h"

struct frule;

/*
 * Compile 'rule' (the value found at JSON path 'path', e.g. "rule").  The
 * compiled rule copies what it keeps: the caller still owns 'rule' and may
 * json_decref it as soon as this returns.  Returns 0, or ETWHOST_ERR_CONFIG /
 * ETWHOST_ERR_NOMEM with one line in err that starts with the JSON path of
 * the culprit.
 */
etwhost_status frule_compile(json_t *rule, const char *path, struct frule **out,
                             char *err, size_t err_len);

/*
 * Does the rule need decoded properties?  Returns 1 and writes the JSON path
 * of the first condition that does into 'where' (may be NULL), else 0.
 */
int frule_needs_props(const struct frule *r, char *where, size_t where_len);

/* Evaluate against one event: 1 if the rule holds, 0 if not. */
int frule_eval(struct frule *r, const etwhost_host_api *api, const etwhost_event *ev);

/* Release a compiled rule.  NULL is fine. */
void frule_free(struct frule *r);

/*
 * The closest of the NULL-terminated 'candidates' to 'key' by edit
 * distance, or NULL when none is close enough to be a plausible typo.
 */
const char *frule_suggest(const char *key, const char *const *candidates);

#endif
