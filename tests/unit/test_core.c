/*
 * Tests of host/core: memory wrapper, buffers, arena, errors, GUIDs.
 */
#include "test.h"

#include "core/arena.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/mem.h"
#include "record/record.h"

TEST(mem_counts_and_fault_injection)
{
    int64_t live = mem_live_blocks();
    void *a = mem_alloc(10);
    ASSERT(a != NULL);
    ASSERT_EQ(mem_live_blocks(), live + 1);
    mem_free(a);
    ASSERT_EQ(mem_live_blocks(), live);
    mem_fail_after(2);
    void *b = mem_alloc(1);
    ASSERT(b != NULL);
    ASSERT(mem_alloc(1) == NULL);
    ASSERT(mem_strdup("x") == NULL);
    mem_fail_after(0);
    mem_free(b);
    ASSERT_EQ(mem_live_blocks(), live);
}

TEST(buf_grows_and_caps)
{
    struct buf b = BUF_INIT;
    for (int i = 0; i < 1000; i++)
        ASSERT_OK(buf_printf(&b, "%d,", i));
    ASSERT(b.len > 3000);
    ASSERT_STREQ(buf_cstr(&b) + b.len - 4, "999,");
    buf_free(&b);
    struct buf c = BUF_INIT;
    c.limit = 8;
    ASSERT_OK(buf_append(&c, "12345678", 8));
    ASSERT_EQ(buf_putc(&c, 'x'), ERR_RANGE);
    ASSERT_EQ(c.len, 8);
    buf_free(&c);
}

TEST(arena_reuses_chunks)
{
    struct arena a = ARENA_INIT;
    a.chunk_size = 1024;
    char *p = arena_alloc(&a, 100);
    ASSERT(p != NULL && ((uintptr_t)p & 15) == 0);
    char *big = arena_alloc(&a, 5000);
    ASSERT(big != NULL);
    memset(big, 1, 5000);
    int64_t live = mem_live_blocks();
    arena_reset(&a);
    for (int i = 0; i < 10; i++)
        ASSERT(arena_alloc(&a, 900) != NULL);
    ASSERT(mem_live_blocks() <= live + 8);
    char *s = arena_dup(&a, "abc", 3, 1);
    ASSERT_STREQ(s, "abc");
    arena_free(&a);
}

TEST(err_table_names)
{
    ASSERT_STREQ(err_name(ERR_NOMEM), "NOMEM");
    ASSERT_STREQ(err_str(ERR_FORMAT), "malformed input");
    struct errbuf eb;
    ASSERT_EQ(errbuf_set(&eb, ERR_IO, "x %d", 5), ERR_IO);
    errbuf_prefix(&eb, "file.json: ");
    ASSERT_STREQ(eb.msg, "file.json: x 5");
}

TEST(guid_roundtrip)
{
    /* Microsoft-Windows-PowerShell as stored in a file. */
    const uint8_t raw[16] = {0x3b, 0x85, 0xc1, 0xa0, 0x40, 0x5c, 0x15, 0x4b,
                             0x87, 0x66, 0x3c, 0xf1, 0xc5, 0x8f, 0x98, 0x5a};
    etwhost_guid g, h;
    char s[37];
    guid_read(&g, raw);
    guid_format(&g, s);
    ASSERT_STREQ(s, "a0c1853b-5c40-4b15-8766-3cf1c58f985a");
    ASSERT_OK(guid_parse("{A0C1853B-5C40-4B15-8766-3CF1C58F985A}", 38, &h));
    ASSERT(guid_eq(&g, &h));
    ASSERT_EQ(guid_parse("a0c1853b-5c40-4b15-8766-3cf1c58f985", 35, &h), ERR_FORMAT);
    ASSERT_EQ(guid_parse("g0c1853b-5c40-4b15-8766-3cf1c58f985a", 36, &h), ERR_FORMAT);
}
