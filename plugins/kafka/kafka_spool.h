/*
 * kafka_spool: a bounded, crash-safe, on-disk FIFO of Kafka messages.
 *
 * The kafka sink puts a message here when it could not be delivered (broker
 * unreachable, delivery timed out, producer closed with messages pending)
 * and, while the spool is not empty, every new event too, so that events
 * leave in the order they entered.  A drainer reads messages back in order,
 * hands them to the producer and acknowledges each one when its delivery
 * report says it reached the broker.  A message leaves the disk only when it
 * and every message before it are acknowledged (at-least-once).
 *
 * On disk (directory cfg.dir):
 *   seg-<16 hex digits>.kspool   segments, appended to in id order, deleted
 *                                when every message in them is acknowledged
 *   ack                          the sequence number below which everything
 *                                is acknowledged (written via ack.tmp + rename)
 *   lock                         held exclusively while the spool is open
 * A segment is a sequence of frames.  A frame is a 32-byte little-endian
 * header (magic "EKS1", CRC-32C of the rest of the header, first sequence
 * number, record count, raw length, compressed length, CRC-32C of the
 * payload) followed by a zstd-compressed batch of length-prefixed records.
 * The CRC-32C is plugins/support/psup_crc32c (Castagnoli, initial value and
 * final xor ~0: "123456789" gives 0xE3069283).
 * A frame whose header or payload does not check out (a torn tail after
 * kill -9, a flipped bit) is skipped, counted, and reading resumes at the
 * next valid frame header.
 *
 * Sequence numbers are per spool, strictly increasing, and survive restarts.
 *
 * Threading: a spool is not thread-safe; the sink holds its own mutex around
 * every call.  Ownership: the spool owns its files and buffers; records
 * returned by kspool_next point into the spool's read buffer and stay valid
 * until the next kspool_next, kspool_rewind or kspool_close.
 */
#ifndef ETWHOST_KAFKA_SPOOL_H
#define ETWHOST_KAFKA_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#define KSPOOL_MAX_HDRS 8u

/* Return codes. */
#define KSPOOL_OK 0
#define KSPOOL_FULL 1   /* append: limit reached under the "block" policy */
#define KSPOOL_NONE 2   /* next: nothing left to read */
#define KSPOOL_WAIT 3   /* next: window of unacknowledged messages is full */
#define KSPOOL_TOOBIG 4 /* append: one message larger than max_bytes (or a header name over 64 KiB) */
#define KSPOOL_ERR (-1) /* I/O or memory failure; kspool_error() has the line */

/* What to do when an append would exceed max_bytes. */
#define KSPOOL_POLICY_BLOCK 0       /* refuse the append (caller back-pressures) */
#define KSPOOL_POLICY_DROP_OLDEST 1 /* delete the oldest segment(s), count them */

struct kspool_hdr {
    const char *name;
    size_t name_len;
    const void *value;
    size_t value_len;
};

/* One message.  key == NULL means no key (distinct from an empty key). */
struct kspool_rec {
    const char *topic;
    size_t topic_len;
    const void *key;
    size_t key_len;
    const void *value;
    size_t value_len;
    int64_t ts_ms; /* 0 = none */
    uint32_t nhdrs;
    struct kspool_hdr hdrs[KSPOOL_MAX_HDRS];
};

struct kspool_cfg {
    const char *dir;
    uint64_t max_bytes;     /* limit on segment bytes on disk plus the open block */
    uint64_t segment_bytes; /* a segment is closed once it reaches this size */
    uint32_t block_bytes;   /* raw bytes batched into one compressed frame */
    uint32_t window;        /* max messages read but not yet acknowledged */
    int32_t policy;         /* KSPOOL_POLICY_* */
    int32_t zstd_level;
};

struct kspool_stats {
    uint64_t appended;        /* messages appended since open */
    uint64_t dropped;         /* messages deleted unsent (drop_oldest / too big) */
    uint64_t corrupt_frames;  /* frames skipped as torn or corrupt */
    uint64_t corrupt_records; /* messages known lost in those frames */
    uint64_t corrupt_bytes;
    uint64_t bytes;           /* current size on disk plus the open block */
    uint64_t pending;         /* messages not yet acknowledged */
    uint64_t unread;          /* messages not yet handed out by kspool_next */
    uint64_t segments;
    uint64_t next_seq;
    uint64_t acked_seq;
};

struct kspool;

/*
 * Open (creating) the spool in cfg->dir, take its lock, scan the segments
 * (headers only; payloads are checked when read) and position the reader
 * after the last acknowledged message.  A torn tail is counted in stats.
 * Returns KSPOOL_OK or KSPOOL_ERR with one line in err.
 */
int kspool_open(struct kspool **out, const struct kspool_cfg *cfg, char *err, size_t err_len);

/*
 * Write pending data, fsync, record the acknowledged position and release
 * everything.  Returns KSPOOL_ERR if the final write failed (the spool is
 * still closed; kspool_error is no longer available, so err gets the line).
 */
int kspool_close(struct kspool *s, char *err, size_t err_len);

/*
 * Append one message.  With force, the "block" policy lets the spool grow
 * past max_bytes (for messages already accepted from the host that came
 * back undelivered); drop_oldest always makes room by deleting the oldest
 * segments.  Returns OK, FULL, TOOBIG or ERR.
 */
int kspool_append(struct kspool *s, const struct kspool_rec *r, int force);

/*
 * The next message to send, in order, and its sequence number.  Returns OK,
 * NONE (everything handed out), WAIT (window full: acknowledge first) or
 * ERR.  Corrupt frames met on the way are skipped and counted.
 */
int kspool_next(struct kspool *s, struct kspool_rec *r, uint64_t *seq);

/* The message seq was delivered.  Unknown or old sequence numbers are ignored. */
void kspool_ack(struct kspool *s, uint64_t seq);

/*
 * Hand out again every message not acknowledged (after failed deliveries).
 * The caller must have no message from kspool_next still in flight.
 */
void kspool_rewind(struct kspool *s);

/* Write the open block as a frame, fsync and save the acknowledged position. */
int kspool_sync(struct kspool *s);

/* Write the open block (no fsync) if it is older than max_age_ms. */
int kspool_flush_if_older(struct kspool *s, uint64_t now_ms, uint64_t max_age_ms);

/* Unread messages (kspool_next would return OK). */
uint64_t kspool_unread(const struct kspool *s);
/* Messages not yet acknowledged. */
uint64_t kspool_pending(const struct kspool *s);

void kspool_get_stats(const struct kspool *s, struct kspool_stats *st);

/* The last error line (after KSPOOL_ERR). */
const char *kspool_error(const struct kspool *s);

#endif
