/* outmsg.h -- the output messages of a decision, and the plan that
 * collects them: what the engine produces, the stores queue in their
 * outbox and the drivers (simulate, the daemon's producer) send. */
#ifndef FU_OUTMSG_H
#define FU_OUTMSG_H

#include <stddef.h>
#include <stdint.h>

/* Dead letters keep at most this much of the original payload. */
#define DEAD_LETTER_PAYLOAD_MAX 65536

/* Stored in outbox entries as numbers: append, never renumber. */
enum out_topic {
    OUT_TASKS = 0,
    OUT_REMINDERS,
    OUT_DECISIONS,
    OUT_DEAD_LETTER,
    OUT_MESSAGES, /* message follow-ups (spec 4.2) */
    OUT_PACING,   /* not a topic: a call waiting for the pacer (4.3) */
};
#define OUT_TOPIC_LAST OUT_PACING

struct out_msg {
    enum out_topic topic;
    int64_t at;  /* decision or due time */
    char *key;   /* user_id (NULL for a keyless dead letter); owned */
    char *value; /* JSON text; owned */
};

/* What one engine call produced. */
struct plan {
    int n, cap;
    struct out_msg *msgs;
    int ignored;        /* the event was ignored (stale outcome...) */
    const char *note;   /* why, when ignored: static text, no user data */
};

void plan_init(struct plan *plan);
void plan_reset(struct plan *plan); /* free messages, keep the buffer */
void plan_release(struct plan *plan);
/* Append a message taking key and value (freed on failure). 0 / -1. */
int plan_add_take(struct plan *plan, enum out_topic topic, int64_t at,
                  char *key, char *value);
const char *out_topic_name(enum out_topic topic);

/* The dead-letter message of spec 3.5 for a record that could not be
 * used: error is the reason (free of personal data), source its
 * topic/partition/offset, payload the original bytes made valid UTF-8
 * (invalid bytes become U+FFFD) and cut before DEAD_LETTER_PAYLOAD_MAX
 * bytes, in which case it carries "payload_truncated": true. Returns
 * malloc'd JSON text, NULL on ENOMEM. */
char *outmsg_dead_letter(const char *error, const char *topic,
                         int32_t partition, int64_t offset,
                         const char *payload, size_t len);

#endif
