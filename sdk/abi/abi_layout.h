/*
 * Compile-time pins of every member of the etwhost plugin ABI.  Included by
 * the test suite (and any build that wants the check); the offsets are
 * written as formulas of the pointer size so the same pins hold for LP64
 * (Linux x86-64), LLP64 (Windows x64) and 32-bit targets.  A failing pin
 * means an ABI break: members may only be appended.
 */
#ifndef ETWHOST_ABI_LAYOUT_H
#define ETWHOST_ABI_LAYOUT_H

#include <stddef.h>

#include "etwhost/plugin.h"

#define ETWHOST_ABI_P sizeof(void *)
#define ETWHOST_PIN(type, member, off) \
    _Static_assert(offsetof(type, member) == (off), #type "." #member " moved")
#define ETWHOST_PIN_SIZE(type, size) _Static_assert(sizeof(type) == (size), #type " size changed")

/* GUID */
ETWHOST_PIN(etwhost_guid, data1, 0);
ETWHOST_PIN(etwhost_guid, data2, 4);
ETWHOST_PIN(etwhost_guid, data3, 6);
ETWHOST_PIN(etwhost_guid, data4, 8);
ETWHOST_PIN_SIZE(etwhost_guid, 16);

/* Plugin descriptor: the eternal prefix first. */
ETWHOST_PIN(etwhost_plugin, struct_size, 0);
ETWHOST_PIN(etwhost_plugin, abi_major, 4);
ETWHOST_PIN(etwhost_plugin, abi_minor, 6);
ETWHOST_PIN(etwhost_plugin, kind, 8);
ETWHOST_PIN(etwhost_plugin, reserved0, 12);
ETWHOST_PIN(etwhost_plugin, name, 16);
ETWHOST_PIN(etwhost_plugin, version, 16 + ETWHOST_ABI_P);
ETWHOST_PIN(etwhost_plugin, description, 16 + 2 * ETWHOST_ABI_P);
ETWHOST_PIN(etwhost_plugin, flags, 16 + 3 * ETWHOST_ABI_P);
ETWHOST_PIN(etwhost_plugin, stage, 20 + 3 * ETWHOST_ABI_P);
ETWHOST_PIN(etwhost_plugin, settings_keys, 24 + 3 * ETWHOST_ABI_P);
ETWHOST_PIN(etwhost_plugin, create, 24 + 4 * ETWHOST_ABI_P);
ETWHOST_PIN(etwhost_plugin, destroy, 24 + 5 * ETWHOST_ABI_P);
ETWHOST_PIN(etwhost_plugin, process, 24 + 6 * ETWHOST_ABI_P);
ETWHOST_PIN(etwhost_plugin, write, 24 + 7 * ETWHOST_ABI_P);
ETWHOST_PIN(etwhost_plugin, flush, 24 + 8 * ETWHOST_ABI_P);
ETWHOST_PIN(etwhost_plugin, close, 24 + 9 * ETWHOST_ABI_P);
/* 1.1 */
ETWHOST_PIN(etwhost_plugin, stats, 24 + 10 * ETWHOST_ABI_P);
ETWHOST_PIN_SIZE(etwhost_plugin, 24 + 11 * ETWHOST_ABI_P);
_Static_assert(ETWHOST_PLUGIN_SIZE_1_0 == 24 + 10 * ETWHOST_ABI_P, "1.0 descriptor size");

/* Host API table: every function pointer in order. */
#define ETWHOST_PIN_API(member, index) \
    ETWHOST_PIN(etwhost_host_api, member, 8 + (index) * ETWHOST_ABI_P)
ETWHOST_PIN(etwhost_host_api, struct_size, 0);
ETWHOST_PIN(etwhost_host_api, abi_major, 4);
ETWHOST_PIN(etwhost_host_api, abi_minor, 6);
ETWHOST_PIN_API(host_version, 0);
ETWHOST_PIN_API(log, 1);
ETWHOST_PIN_API(alloc, 2);
ETWHOST_PIN_API(free, 3);
ETWHOST_PIN_API(config_get_str, 4);
ETWHOST_PIN_API(config_get_i64, 5);
ETWHOST_PIN_API(config_get_f64, 6);
ETWHOST_PIN_API(config_get_bool, 7);
ETWHOST_PIN_API(config_get_json, 8);
ETWHOST_PIN_API(set_stage, 9);
ETWHOST_PIN_API(event_header, 10);
ETWHOST_PIN_API(event_prop_count, 11);
ETWHOST_PIN_API(event_prop_at, 12);
ETWHOST_PIN_API(event_prop_find, 13);
ETWHOST_PIN_API(event_get_i64, 14);
ETWHOST_PIN_API(event_get_u64, 15);
ETWHOST_PIN_API(event_get_f64, 16);
ETWHOST_PIN_API(event_get_str, 17);
ETWHOST_PIN_API(event_json, 18);
ETWHOST_PIN_API(event_raw, 19);
ETWHOST_PIN_API(event_add_str, 20);
ETWHOST_PIN_API(event_add_i64, 21);
ETWHOST_PIN_API(counter_register, 22);
ETWHOST_PIN_API(counter_add, 23);
/* 1.1 */
ETWHOST_PIN_API(state_dir, 24);
ETWHOST_PIN_API(event_record, 25);
ETWHOST_PIN_API(event_schema, 26);
ETWHOST_PIN_SIZE(etwhost_host_api, 8 + 27 * ETWHOST_ABI_P);
_Static_assert(ETWHOST_HOST_API_SIZE_1_0 == 8 + 24 * ETWHOST_ABI_P, "1.0 host API size");

/* Event header. */
ETWHOST_PIN(etwhost_event_header, struct_size, 0);
ETWHOST_PIN(etwhost_event_header, flags, 4);
ETWHOST_PIN(etwhost_event_header, timestamp, 8);
ETWHOST_PIN(etwhost_event_header, provider_guid, 16);
ETWHOST_PIN(etwhost_event_header, activity_id, 32);
ETWHOST_PIN(etwhost_event_header, related_activity_id, 48);
ETWHOST_PIN(etwhost_event_header, keywords, 64);
ETWHOST_PIN(etwhost_event_header, event_id, 72);
ETWHOST_PIN(etwhost_event_header, version, 74);
ETWHOST_PIN(etwhost_event_header, channel, 75);
ETWHOST_PIN(etwhost_event_header, level, 76);
ETWHOST_PIN(etwhost_event_header, opcode, 77);
ETWHOST_PIN(etwhost_event_header, task, 78);
ETWHOST_PIN(etwhost_event_header, pid, 80);
ETWHOST_PIN(etwhost_event_header, tid, 84);
ETWHOST_PIN(etwhost_event_header, cpu, 88);
ETWHOST_PIN(etwhost_event_header, header_kind, 92);
ETWHOST_PIN(etwhost_event_header, decode_status, 94);
ETWHOST_PIN(etwhost_event_header, provider_name, 96);
ETWHOST_PIN(etwhost_event_header, event_name, 96 + ETWHOST_ABI_P);
ETWHOST_PIN(etwhost_event_header, task_name, 96 + 2 * ETWHOST_ABI_P);
ETWHOST_PIN(etwhost_event_header, opcode_name, 96 + 3 * ETWHOST_ABI_P);
ETWHOST_PIN_SIZE(etwhost_event_header, 96 + 4 * ETWHOST_ABI_P);

/* Property. */
ETWHOST_PIN(etwhost_prop, struct_size, 0);
ETWHOST_PIN(etwhost_prop, type, 4);
ETWHOST_PIN(etwhost_prop, format, 6);
ETWHOST_PIN(etwhost_prop, num, 8);
ETWHOST_PIN(etwhost_prop, name_len, 16);
ETWHOST_PIN(etwhost_prop, parent, 20);
ETWHOST_PIN(etwhost_prop, next, 24);
ETWHOST_PIN(etwhost_prop, count, 28);
ETWHOST_PIN(etwhost_prop, size, 32);
ETWHOST_PIN(etwhost_prop, reserved, 36);
ETWHOST_PIN(etwhost_prop, reserved2, 40);
ETWHOST_PIN(etwhost_prop, name, ETWHOST_ABI_P == 8 ? 48 : 44);
ETWHOST_PIN(etwhost_prop, data, (ETWHOST_ABI_P == 8 ? 48 : 44) + ETWHOST_ABI_P);
ETWHOST_PIN(etwhost_prop, map_text, (ETWHOST_ABI_P == 8 ? 48 : 44) + 2 * ETWHOST_ABI_P);
ETWHOST_PIN_SIZE(etwhost_prop, ETWHOST_ABI_P == 8 ? 72 : 56);

/* Status codes and constants are part of the ABI too. */
_Static_assert(ETWHOST_OK == 0 && ETWHOST_RETRY == 1 && ETWHOST_DROP == 2, "status codes");
_Static_assert(ETWHOST_ERR == -1 && ETWHOST_ERR_NOMEM == -2 && ETWHOST_ERR_CONFIG == -3 &&
                   ETWHOST_ERR_IO == -4 && ETWHOST_ERR_NOTFOUND == -5 && ETWHOST_ERR_TYPE == -6 &&
                   ETWHOST_ERR_RANGE == -7 && ETWHOST_ERR_STATE == -8 && ETWHOST_ERR_FATAL == -9,
               "error codes");
_Static_assert(ETWHOST_KIND_FILTER == 1 && ETWHOST_KIND_SINK == 2, "kinds");
_Static_assert(ETWHOST_STAGE_EVENT == 0 && ETWHOST_STAGE_RECORD == 1, "stages");
_Static_assert(ETWHOST_PT_ARRAY == 20 && ETWHOST_FMT_BOOL == 14, "type and format numbers");

#endif
