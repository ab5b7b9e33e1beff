/*
 * Tests of the plugin-side support code shared by the file and archive
 * sinks (plugins/support/), compiled straight from its sources: rotated
 * names, keep-N retention with variants, the setting parsers and their
 * messages, the file calls both sinks depend on (append, create-new,
 * truncate-then-write), the little-endian helpers, and the archive
 * writer's CRC32C against the standard values and the host reader's
 * implementation.
 *
 * The OS layer comes first: it sets the feature-test macros its POSIX calls
 * need.  Each OS file compiles to nothing on the other OS.  psup_crc32c.c is
 * linked into the test runner as its own object (Makefile, TEST_PSUP_SRCS):
 * the kafka spool's tests need it too.
 */
#include "../../plugins/support/psup_os_posix.c"
#include "../../plugins/support/psup_os_win.c"
#include "../../plugins/support/psup_rotate.c"
#include "../../plugins/support/psup_settings.c"

#include <jansson.h>

#include "archive/archive_int.h"
#include "core/mem.h"
#include "psup_crc32c.h"
#include "psup_le.h"
#include "test.h"

/* ---- a settings object for the parsers: a JSON object behind the two accessors they use -- */

static json_t *cfg_member(const etwhost_config *c, const char *key)
{
    return json_object_get((const json_t *)(const void *)c, key);
}

static etwhost_status ETWHOST_CALL cfg_str(const etwhost_config *c, const char *key,
                                           const char **out, size_t *len)
{
    json_t *v = cfg_member(c, key);
    if (v == NULL)
        return ETWHOST_ERR_NOTFOUND;
    if (!json_is_string(v))
        return ETWHOST_ERR_TYPE;
    *out = json_string_value(v);
    *len = json_string_length(v);
    return ETWHOST_OK;
}

static etwhost_status ETWHOST_CALL cfg_i64(const etwhost_config *c, const char *key,
                                           int64_t *out)
{
    json_t *v = cfg_member(c, key);
    if (v == NULL)
        return ETWHOST_ERR_NOTFOUND;
    if (!json_is_integer(v))
        return ETWHOST_ERR_TYPE;
    *out = (int64_t)json_integer_value(v);
    return ETWHOST_OK;
}

static etwhost_host_api settings_api(void)
{
    etwhost_host_api api;
    memset(&api, 0, sizeof api);
    api.struct_size = sizeof api;
    api.config_get_str = cfg_str;
    api.config_get_i64 = cfg_i64;
    return api;
}

/* ---- rotated names ------------------------------------------------------------------ */

TEST(plugin_support_splits_paths_for_rotated_names)
{
    static const struct {
        const char *path, *dir, *stem, *ext;
    } cases[] = {
        {"/var/log/events.jsonl", "/var/log", "events", ".jsonl"},
        {"events.jsonl", ".", "events", ".jsonl"},
        {"/trace.etwa", "/", "trace", ".etwa"},
        {"d/a.b.c", "d", "a.b", ".c"},
        {"d/.hidden", "d", ".hidden", ""},
        {"d/noext", "d", "noext", ""},
        {"d.x/noext", "d.x", "noext", ""},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        struct psup_rot r;
        ASSERT_EQ(psup_rot_init(&r, cases[k].path, strlen(cases[k].path)), 0);
        ASSERT_STREQ(r.dir, cases[k].dir);
        ASSERT_STREQ(r.stem, cases[k].stem);
        ASSERT_STREQ(r.ext, cases[k].ext);
        psup_rot_free(&r);
    }
    /* The length counts, not a terminator: the sinks pass config strings with their length. */
    struct psup_rot r;
    ASSERT_EQ(psup_rot_init(&r, "x/ab.jsonl-tail", 10), 0);
    ASSERT_STREQ(r.dir, "x");
    ASSERT_STREQ(r.stem, "ab");
    ASSERT_STREQ(r.ext, ".jsonl");
    psup_rot_free(&r);
#if defined(_WIN32)
    ASSERT_EQ(psup_rot_init(&r, "C:\\logs\\ev.jsonl", 16), 0);
    ASSERT_STREQ(r.dir, "C:\\logs");
    ASSERT_STREQ(r.stem, "ev");
    psup_rot_free(&r);
#endif
}

TEST(plugin_support_rotated_names_round_trip_and_reject_others)
{
    static const char *const variants[] = {"", ".zst", ".zst.tmp", NULL};
    struct psup_rot r;
    ASSERT_EQ(psup_rot_init(&r, "/logs/ev-a.jsonl", 16), 0);
    r.variants = variants;
    r.temp_variant = 2;

    /* A fresh name: <dir>/<stem>-<YYYYMMDDTHHMMSSZ>-<seq, six digits at least><ext>. */
    char *p = psup_rot_path(&r, 42);
    ASSERT(p != NULL);
    ASSERT_EQ(strlen(p), strlen("/logs/ev-a-20260101T120000Z-000042.jsonl"));
    ASSERT(strncmp(p, "/logs/ev-a-", 11) == 0);
    ASSERT_STREQ(p + strlen(p) - 13, "-000042.jsonl");
    int y = 0;
    ASSERT_EQ(sscanf(p + 11, "%4d", &y), 1);
    ASSERT_MSG(y >= 2024 && y < 2200, "year %d in %s", y, p);
    uint64_t seq = 0;
    int variant = -1;
    ASSERT_EQ(psup_rot_parse(&r, p + 6, &seq, &variant), 1);
    ASSERT_EQ_U64(seq, 42);
    ASSERT_EQ(variant, 0);
    free(p);
    p = psup_rot_path(&r, 12345678);
    ASSERT_STREQ(p + strlen(p) - 15, "-12345678.jsonl");
    free(p);

    ASSERT_EQ(psup_rot_parse(&r, "ev-a-20260101T120000Z-000007.jsonl.zst", &seq, &variant), 1);
    ASSERT_EQ_U64(seq, 7);
    ASSERT_EQ(variant, 1);
    ASSERT_EQ(psup_rot_parse(&r, "ev-a-20260101T120000Z-9999999.jsonl.zst.tmp", &seq, &variant),
              1);
    ASSERT_EQ_U64(seq, 9999999);
    ASSERT_EQ(variant, 2);
    ASSERT_EQ(psup_rot_parse(&r, "ev-a-20260101T120000Z-1234567890123456789.jsonl", &seq,
                             &variant),
              1);
    ASSERT_EQ_U64(seq, 1234567890123456789ull);

    static const char *const not_ours[] = {
        "ev-a.jsonl",                                  /* the live file */
        "ev-a-20260101T120000Z-00007.jsonl",           /* five digits */
        "ev-a-20260101T120000Z-12345678901234567890.jsonl", /* twenty digits */
        "ev-a-20260101T120000-000007.jsonl",           /* no Z */
        "ev-a-20260101X120000Z-000007.jsonl",          /* no T */
        "ev-a-2026010xT120000Z-000007.jsonl",          /* not a date */
        "ev-a-20260101T120000Z_000007.jsonl",          /* wrong separator */
        "ev-b-20260101T120000Z-000007.jsonl",          /* another stem */
        "ev-20260101T120000Z-000007.jsonl",            /* a shorter stem */
        "ev-a-20260101T120000Z-000007.json",           /* another extension */
        "ev-a-20260101T120000Z-000007.jsonl.gz",       /* an unknown variant */
        "ev-a-20260101T120000Z-000007.jsonl.zst.tmp.x",
        "ev-a-20260101T120000Z-000007x.jsonl",
    };
    for (size_t k = 0; k < sizeof not_ours / sizeof not_ours[0]; k++)
        ASSERT_MSG(psup_rot_parse(&r, not_ours[k], &seq, &variant) == 0, "took %s", not_ours[k]);

    /* Without variants only the plain name is one (the archive sink's case). */
    r.variants = NULL;
    r.temp_variant = -1;
    ASSERT_EQ(psup_rot_parse(&r, "ev-a-20260101T120000Z-000007.jsonl", &seq, &variant), 1);
    ASSERT_EQ(variant, 0);
    ASSERT_EQ(psup_rot_parse(&r, "ev-a-20260101T120000Z-000007.jsonl.zst", &seq, &variant), 0);
    psup_rot_free(&r);
}

struct failures {
    int n;
    char path[1024];
    int err;
};

static void note_failure(void *ctx, const char *path, int err)
{
    struct failures *f = ctx;
    f->n++;
    snprintf(f->path, sizeof f->path, "%s", path);
    f->err = err;
}

static void touch(const char *dir, const char *name)
{
    t_write_file(t_path("%s/%s", dir, name), "x\n");
}

static int present(const char *dir, const char *name)
{
    return psup_exists(t_path("%s/%s", dir, name));
}

/*
 * keep counts rotations, not files: a rotation that is plain and compressed
 * at once (mid-compression) counts once and goes as a whole; unfinished
 * ".zst.tmp" files neither count nor go; other files are never touched; the
 * highest number is found for the next rotation.
 */
TEST(plugin_support_keep_counts_each_rotation_once)
{
    static const char *const variants[] = {"", ".zst", ".zst.tmp", NULL};
    const char *dir = t_tmpdir();
    static const char *const names[] = {
        "ev-20260101T000001Z-000001.jsonl",
        "ev-20260101T000002Z-000002.jsonl",
        "ev-20260101T000002Z-000002.jsonl.zst",
        "ev-20260101T000003Z-000003.jsonl.zst",
        "ev-20260101T000004Z-000004.jsonl",
        "ev-20260101T000004Z-000004.jsonl.zst.tmp",
        "ev-20260101T000005Z-000005.jsonl.zst.tmp",
        "ev.jsonl",
        "other-20260101T000001Z-000001.jsonl",
        "ev-20260101T000000Z-000000.txt",
    };
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
        touch(dir, names[k]);
    const char *path = t_path("%s/ev.jsonl", dir);
    struct psup_rot r;
    ASSERT_EQ(psup_rot_init(&r, path, strlen(path)), 0);
    r.variants = variants;
    r.temp_variant = 2;

    struct psup_rot_list l;
    ASSERT_EQ(psup_rot_scan(&r, &l), 0);
    ASSERT_EQ(l.n, 7);
    ASSERT_EQ_U64(l.max_seq, 5);
    for (size_t k = 1; k < l.n; k++)
        ASSERT(l.v[k - 1].seq <= l.v[k].seq);
    psup_rot_list_free(&l);

    struct failures f;
    memset(&f, 0, sizeof f);
    psup_rot_prune(&r, 0, note_failure, &f); /* keep 0: keep everything */
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
        ASSERT_MSG(present(dir, names[k]), "%s deleted with keep 0", names[k]);

    psup_rot_prune(&r, 2, note_failure, &f);
    ASSERT_EQ(f.n, 0);
    ASSERT(!present(dir, names[0]));
    ASSERT(!present(dir, names[1]));
    ASSERT(!present(dir, names[2]));
    for (size_t k = 3; k < sizeof names / sizeof names[0]; k++)
        ASSERT_MSG(present(dir, names[k]), "%s deleted", names[k]);

    /* A rotated name that cannot be deleted (a directory) is reported, and the rest goes on. */
    t_mkdir(t_path("%s/ev-20260101T000000Z-000000.jsonl", dir));
    touch(dir, "ev-20260101T000000Z-000000.jsonl/inside");
    psup_rot_prune(&r, 1, note_failure, &f);
    ASSERT_EQ(f.n, 1);
    ASSERT_CONTAINS(f.path, "ev-20260101T000000Z-000000.jsonl");
    ASSERT(f.err != 0);
    ASSERT(!present(dir, names[3]));
    ASSERT(present(dir, names[4]));
    ASSERT(present(dir, names[5]));
    psup_rot_free(&r);
}

/* ---- settings --------------------------------------------------------------------------- */

static const struct psup_unit size_units[] = {{"", 1}, {"K", 1024}, {"M", 1 << 20}, {NULL, 0}};

/* Run psup_get_amount on {"v": <json>}; returns the status, *out and err filled. */
static etwhost_status amount(const char *json, const struct psup_unit *units, uint64_t *out,
                             char *err, size_t err_len)
{
    etwhost_host_api api = settings_api();
    json_error_t je;
    json_t *obj = json_loads(t_path("{\"v\": %s}", json), 0, &je);
    ASSERT_MSG(obj != NULL, "bad JSON %s", json);
    err[0] = '\0';
    etwhost_status rc = psup_get_amount(&api, (const etwhost_config *)(void *)obj, "v", units,
                                        "64M", out, err, err_len);
    json_decref(obj);
    return rc;
}

TEST(plugin_support_amounts_with_units)
{
    static const struct {
        const char *json;
        int time;
        uint64_t want;
    } good[] = {
        {"0", 0, 0},
        {"12345", 0, 12345},
        {"\"7\"", 0, 7},
        {"\"64M\"", 0, 64ull << 20},
        {"\"3K\"", 0, 3072},
        {"\"90\"", 1, 90},
        {"\"30s\"", 1, 30},
        {"\"15m\"", 1, 900},
        {"\"1h\"", 1, 3600},
        {"\"2d\"", 1, 172800},
    };
    char err[256];
    for (size_t k = 0; k < sizeof good / sizeof good[0]; k++) {
        uint64_t v = 99;
        etwhost_status rc =
            amount(good[k].json, good[k].time ? psup_time_units : size_units, &v, err, sizeof err);
        ASSERT_MSG(rc == ETWHOST_OK, "%s: %s", good[k].json, err);
        ASSERT_EQ_U64(v, good[k].want);
    }

    /* Absent: untouched, so the caller's default stays. */
    etwhost_host_api api = settings_api();
    json_t *empty = json_object();
    uint64_t v = 77;
    ASSERT_EQ(psup_get_amount(&api, (const etwhost_config *)(void *)empty, "v", size_units, "64M",
                              &v, err, sizeof err),
              ETWHOST_OK);
    ASSERT_EQ_U64(v, 77);
    json_decref(empty);

    /* The messages the sinks' users see (the file sink's tests check them through the sink). */
    ASSERT_EQ(amount("-5", size_units, &v, err, sizeof err), ETWHOST_ERR_CONFIG);
    ASSERT_STREQ(err, "v: must not be negative (got -5)");
    ASSERT_EQ(amount("\"10X\"", size_units, &v, err, sizeof err), ETWHOST_ERR_CONFIG);
    ASSERT_STREQ(err, "v: cannot read \"10X\" (expected a number with an optional unit, like "
                      "\"64M\")");
    ASSERT_EQ(amount("\"M\"", size_units, &v, err, sizeof err), ETWHOST_ERR_CONFIG);
    ASSERT_EQ(amount("\"1h\"", size_units, &v, err, sizeof err), ETWHOST_ERR_CONFIG);
    ASSERT_EQ(amount("\"1M \"", size_units, &v, err, sizeof err), ETWHOST_ERR_CONFIG);
    /* Overflow of the product is refused, not wrapped. */
    ASSERT_EQ(amount("\"17592186044416M\"", size_units, &v, err, sizeof err),
              ETWHOST_ERR_CONFIG);
    ASSERT_EQ(amount("\"17592186044415M\"", size_units, &v, err, sizeof err), ETWHOST_OK);
    ASSERT_EQ_U64(v, 17592186044415ull << 20);
    /* Digits stop before the number overflows; what is left is no unit. */
    ASSERT_EQ(amount("\"18446744073709551615\"", size_units, &v, err, sizeof err),
              ETWHOST_ERR_CONFIG);
    ASSERT_EQ(amount("true", size_units, &v, err, sizeof err), ETWHOST_ERR_CONFIG);
    ASSERT_STREQ(err, "v: expected a non-negative integer or a string like \"64M\"");
}

TEST(plugin_support_int_and_choice_messages)
{
    etwhost_host_api api = settings_api();
    json_error_t je;
    json_t *obj = json_loads("{\"level\": 20, \"keep\": 5, \"kb\": \"16\", \"mode\": \"fast\", "
                             "\"fsync\": \"batch\", \"n\": 3}",
                             0, &je);
    ASSERT(obj != NULL);
    const etwhost_config *cfg = (const etwhost_config *)(void *)obj;
    char err[256];
    int64_t v = 9;
    ASSERT_EQ(psup_get_int(&api, cfg, "level", 1, 19, &v, err, sizeof err), ETWHOST_ERR_CONFIG);
    ASSERT_STREQ(err, "level: expected an integer from 1 to 19");
    ASSERT_EQ_U64((uint64_t)v, 9);
    ASSERT_EQ(psup_get_int(&api, cfg, "kb", 16, 262144, &v, err, sizeof err), ETWHOST_ERR_CONFIG);
    ASSERT_STREQ(err, "kb: expected an integer from 16 to 262144");
    ASSERT_EQ(psup_get_int(&api, cfg, "keep", 0, 1000000, &v, err, sizeof err), ETWHOST_OK);
    ASSERT_EQ_U64((uint64_t)v, 5);
    ASSERT_EQ(psup_get_int(&api, cfg, "absent", 0, 1, &v, err, sizeof err), ETWHOST_OK);
    ASSERT_EQ_U64((uint64_t)v, 5);

    static const char *const fsync_values[] = {"never", "rotate", "batch", "always", NULL};
    int c = -1;
    ASSERT_EQ(psup_get_choice(&api, cfg, "fsync", fsync_values, &c, err, sizeof err), ETWHOST_OK);
    ASSERT_EQ(c, 2);
    ASSERT_EQ(psup_get_choice(&api, cfg, "mode", fsync_values, &c, err, sizeof err),
              ETWHOST_ERR_CONFIG);
    ASSERT_STREQ(err, "mode: unknown value \"fast\" (expected one of \"never\", \"rotate\", "
                      "\"batch\", \"always\")");
    ASSERT_EQ(psup_get_choice(&api, cfg, "n", fsync_values, &c, err, sizeof err),
              ETWHOST_ERR_CONFIG);
    ASSERT_STREQ(err, "n: expected one of \"never\", \"rotate\", \"batch\", \"always\"");
    c = 7;
    ASSERT_EQ(psup_get_choice(&api, cfg, "absent", fsync_values, &c, err, sizeof err), ETWHOST_OK);
    ASSERT_EQ(c, 7);
    json_decref(obj);
}

/* ---- file calls ----------------------------------------------------------------------------- */

static char *slurp(const char *path, size_t *len)
{
    char *t = t_read_file(path, len);
    ASSERT_MSG(t != NULL, "cannot read %s", path);
    return t;
}

/*
 * The two ways the sinks write: the file sink appends (a cut-off tail is
 * truncated and the next write still goes to the end); the archive sink
 * creates a new file and, after cutting a torn frame, writes at the cut.
 */
TEST(plugin_support_append_and_create_new_after_truncate)
{
    const char *dir = t_tmpdir();
    const char *lines = t_path("%s/a.jsonl", dir);
    psup_file f = {PSUP_NO_FILE, 0};
    uint64_t size = 99;
    int regular = 0;
    ASSERT_EQ(psup_open_append(lines, &f, &size, &regular), 0);
    ASSERT_EQ_U64(size, 0);
    ASSERT_EQ(regular, 1);
    size_t wr = 0;
    ASSERT_EQ(psup_write(&f, "one\ntw", 6, &wr), 0);
    ASSERT_EQ(wr, 6);
    uint64_t cur = 0;
    ASSERT_EQ(psup_fsize(&f, &cur), 0);
    ASSERT_EQ_U64(cur, 6);
    ASSERT_EQ(psup_truncate(&f, 4), 0);
    ASSERT_EQ(psup_write(&f, "two\n", 4, NULL), 0);
    unsigned char last = 0;
    ASSERT_EQ(psup_last_byte(&f, 8, &last), 0);
    ASSERT_EQ(last, '\n');
    ASSERT_EQ(psup_sync(&f), 0);
    psup_close(&f);
    psup_close(&f); /* closing twice is harmless */
    ASSERT(f.h == PSUP_NO_FILE);
    ASSERT_EQ(psup_open_append(lines, &f, &size, &regular), 0);
    ASSERT_EQ_U64(size, 8);
    ASSERT_EQ(psup_write(&f, "three\n", 6, NULL), 0);
    psup_close(&f);
    size_t len;
    char *text = slurp(lines, &len);
    ASSERT_STREQ(text, "one\ntwo\nthree\n");
    mem_free(text);

    const char *arch = t_path("%s/a.etwa", dir);
    ASSERT_EQ(psup_create_new(arch, &f), 0);
    ASSERT_EQ(psup_write(&f, "headerTORN", 10, NULL), 0);
    ASSERT_EQ(psup_truncate(&f, 6), 0);
    ASSERT_EQ(psup_write(&f, "frame", 5, NULL), 0);
    psup_close(&f);
    text = slurp(arch, &len);
    ASSERT_STREQ(text, "headerframe");
    mem_free(text);
    uint64_t psize = 0;
    ASSERT_EQ(psup_path_size(arch, &psize), 0);
    ASSERT_EQ_U64(psize, 11);
    /* Never over an existing file; the error has a text. */
    int e = psup_create_new(arch, &f);
    ASSERT(e != 0);
    char eb[160];
    ASSERT(strlen(psup_strerror(e, eb, sizeof eb)) > 0);
    ASSERT(strlen(psup_strerror_num(e, eb, sizeof eb)) > 0);
    ASSERT(psup_path_size(t_path("%s/absent", dir), &psize) != 0);

    /* Rename replaces, unlink removes, and both show in a listing. */
    ASSERT_EQ(psup_rename(arch, t_path("%s/b.etwa", dir)), 0);
    ASSERT(!psup_exists(arch));
    ASSERT(psup_is_dir(dir));
    ASSERT(!psup_is_dir(lines));
    ASSERT_EQ(psup_unlink(lines), 0);
    ASSERT(psup_unlink(lines) != 0);
    struct psup_rot r;
    ASSERT_EQ(psup_rot_init(&r, t_path("%s/b.etwa", dir), strlen(t_path("%s/b.etwa", dir))), 0);
    ASSERT_EQ(psup_sync_dir(r.dir), 0);
    psup_rot_free(&r);
}

/* ---- little-endian helpers ----------------------------------------------------------------- */

/* Least significant byte first at any alignment, and back. */
TEST(plugin_support_le_helpers_store_and_load_little_endian)
{
    uint8_t buf[24];
    for (size_t off = 0; off < 8; off++) {
        memset(buf, 0xEE, sizeof buf);
        psup_put16(buf + off, 0xA1B2u);
        ASSERT_EQ(buf[off], 0xB2);
        ASSERT_EQ(buf[off + 1], 0xA1);
        ASSERT_EQ(buf[off + 2], 0xEE);
        ASSERT_EQ(psup_get16(buf + off), 0xA1B2u);

        psup_put32(buf + off, 0x8C7D6E5Fu);
        static const uint8_t w32[4] = {0x5F, 0x6E, 0x7D, 0x8C};
        ASSERT(memcmp(buf + off, w32, 4) == 0);
        ASSERT_EQ(buf[off + 4], 0xEE);
        ASSERT_EQ_U64(psup_get32(buf + off), 0x8C7D6E5Fu);

        psup_put64(buf + off, 0xF1E2D3C4B5A69788ull);
        static const uint8_t w64[8] = {0x88, 0x97, 0xA6, 0xB5, 0xC4, 0xD3, 0xE2, 0xF1};
        ASSERT(memcmp(buf + off, w64, 8) == 0);
        ASSERT_EQ(buf[off + 8], 0xEE);
        ASSERT_EQ_U64(psup_get64(buf + off), 0xF1E2D3C4B5A69788ull);
        if (off)
            ASSERT_EQ(buf[off - 1], 0xEE);
    }
    /* Only the low 16 bits of a wider value are stored. */
    psup_put16(buf, (uint16_t)0x12345u);
    ASSERT_EQ(psup_get16(buf), 0x2345u);
    psup_put64(buf, 0);
    ASSERT_EQ_U64(psup_get64(buf), 0);
}

/* ---- CRC32C -------------------------------------------------------------------------------- */

/*
 * The archive sink (writer, psup_crc32c) and the host's reader (ar_crc32c)
 * implement the format's checksum separately on the two sides of the plugin
 * boundary: both must give the standard CRC32C values (RFC 3720 B.4), at
 * every length and alignment, in one call or in pieces.
 */
TEST(plugin_support_crc32c_known_answers_match_the_reader)
{
    psup_crc32c_init();
    ASSERT_EQ_U64(psup_crc32c(0, "123456789", 9), 0xE3069283u);
    ASSERT_EQ_U64(ar_crc32c(0, (const uint8_t *)"123456789", 9), 0xE3069283u);
    uint8_t buf[300];
    memset(buf, 0, 32);
    ASSERT_EQ_U64(psup_crc32c(0, buf, 32), 0x8A9136AAu);
    memset(buf, 0xFF, 32);
    ASSERT_EQ_U64(psup_crc32c(0, buf, 32), 0x62A8AB43u);
    for (int i = 0; i < 32; i++)
        buf[i] = (uint8_t)i;
    ASSERT_EQ_U64(psup_crc32c(0, buf, 32), 0x46DD794Eu);
    for (int i = 0; i < 32; i++)
        buf[i] = (uint8_t)(31 - i);
    ASSERT_EQ_U64(psup_crc32c(0, buf, 32), 0x113FDB5Cu);
    ASSERT_EQ_U64(psup_crc32c(0, buf, 0), 0);

    uint64_t x = 0x9E3779B97F4A7C15ull;
    for (size_t i = 0; i < sizeof buf; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        buf[i] = (uint8_t)x;
    }
    for (size_t off = 0; off < 8; off++) {
        for (size_t n = 0; off + n <= sizeof buf; n += 7) {
            uint32_t w = psup_crc32c(0, buf + off, n);
            ASSERT_EQ_U64(w, ar_crc32c(0, buf + off, n));
            size_t h = n / 3;
            ASSERT_EQ_U64(psup_crc32c(psup_crc32c(0, buf + off, h), buf + off + h, n - h), w);
        }
    }
}
