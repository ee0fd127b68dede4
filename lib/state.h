/* state.h -- one user's state: everything the engine remembers about a
 * user between events (spec 4), as plain data.
 *
 * A store hands a whole struct user_state to the engine, the engine updates
 * it in place, and the store writes it back in one atomic step. Keeping a
 * user's state in one value is what makes per-user decisions atomic on
 * every backend. Strings are owned by the state. */
#ifndef FU_STATE_H
#define FU_STATE_H

#include <stdint.h>

#include "window.h"

#define STATE_ID_LEN 24 /* "t-" / "r-" + 20 hex digits + NUL */

enum followup_status {
    FOLLOWUP_PENDING = 0, /* scheduled, task not emitted yet */
    FOLLOWUP_EMITTED,     /* task emitted, no outcome yet */
    FOLLOWUP_DONE,        /* task emitted and its outcome received */
    FOLLOWUP_CANCELLED,   /* cancelled or replaced by a moved task */
};

/* What a follow-up is (spec 4.2): a call task for the dialer, or a
 * message (survey, check-in) sent on a channel. */
enum followup_kind {
    FOLLOWUP_CALL = 0,
    FOLLOWUP_MESSAGE,
};

enum reminder_status {
    REMINDER_NONE = 0, /* no reminder for this task */
    REMINDER_PENDING,  /* scheduled, not sent */
    REMINDER_SENT,
    REMINDER_DROPPED, /* cancelled before it was sent */
};

/* One task: one attempt of one occurrence of a rule's follow-up. A
 * message follow-up (kind FOLLOWUP_MESSAGE) is always attempt 1, its
 * task_id holds the message_id ("m-..."), due_at is its send time and,
 * once sent, it is FOLLOWUP_DONE: nothing can answer or recall it. */
struct followup {
    char task_id[STATE_ID_LEN];
    int kind; /* enum followup_kind */
    char *rule_id;
    char *trigger_event_id, *trigger_type;
    int64_t trigger_at; /* the trigger's occurred_at */
    int occurrence, attempt, reschedules;
    int64_t planned;    /* the time a re-plan aims for (spec 4) */
    int64_t expires_at;
    int64_t due_at, not_after;
    uint64_t seq; /* orders items due at the same instant */
    int status;   /* enum followup_status */
    int waiting;  /* a paced call due and unsent, waiting for the pacer's
                     budget (spec 4.3); still FOLLOWUP_PENDING */
    int64_t emitted_at; /* TIME_NONE until emitted */
    int priority;
    char *script;       /* NULL -> null; calls only */
    char *message_channel, *message_template; /* messages only, else NULL */
    char *context_json; /* JSON object text */
    char policy_version[17];

    int reminder_status; /* enum reminder_status */
    char reminder_id[STATE_ID_LEN];
    char *reminder_channel, *reminder_template;
    int64_t reminder_at;
    uint64_t reminder_seq;
};

/* The decision of a repeat occurrence, due at the previous nominal time. */
struct repeat_timer {
    char *rule_id;
    char *trigger_event_id, *trigger_type;
    int64_t trigger_at;
    char *context_json;
    int occurrence;   /* the occurrence to decide */
    int64_t nominal;  /* its nominal time */
    int64_t decide_at;
    uint64_t seq;
    int priority; /* fixed at occurrence 1 (spec 4.1); -1: the rule's */
    int kind;     /* enum followup_kind the series keeps (spec 4.2) */
};

/* What the user's latest user.preferences carrying `consent` said (spec
 * 4.1); only defaults.require_consent makes it matter. */
enum consent {
    CONSENT_UNKNOWN = 0, /* never said */
    CONSENT_GIVEN,
    CONSENT_WITHDRAWN,
};

/* The user's preferred kind of follow-up for rules that have both a
 * callback and a message (spec 4.2); FOLLOW_UP_ANY when never said or
 * reset with null (calls then). */
enum follow_up_by {
    FOLLOW_UP_ANY = 0,
    FOLLOW_UP_CALL,
    FOLLOW_UP_MESSAGE,
};

struct seen_event {
    char *event_id;
    int64_t decided_at;
};

struct user_state {
    char *user_id;
    char *timezone; /* latest known zone name, NULL = policy default */
    int has_call_window;
    struct window call_window; /* the user's override */
    int opted_out;
    int consent; /* enum consent */
    int follow_up_by; /* enum follow_up_by (event.h) */
    int nchannels_off;
    char **channels_off;
    int64_t cooldown_from, cooldown_until; /* TIME_NONE when none */
    int64_t prefs_at; /* last preference change, TIME_NONE if never */

    int nseen, capseen;
    struct seen_event *seen;
    int nfollowups, capfollowups;
    struct followup *followups;
    int nrepeats, caprepeats;
    struct repeat_timer *repeats;

    uint64_t version; /* bumped by stores on each write (optimistic CAS) */
};

/* A new empty state for user_id; NULL on ENOMEM. */
struct user_state *user_state_new(const char *user_id);
void user_state_free(struct user_state *st); /* NULL is a no-op */
/* 1 when the state holds nothing worth keeping. */
int user_state_empty(const struct user_state *st);

/* When follow-up f next needs the engine, if it is pending: its due time,
 * or for a call waiting for the pacer, its not_after (then it is moved). */
int64_t followup_task_time(const struct followup *f);

/* The earliest pending item (task, reminder or repeat decision) by
 * (due, seq). Returns 1 and fills *at / *seq, or 0 when nothing is
 * scheduled. */
int user_state_next_due(const struct user_state *st, int64_t *at,
                        uint64_t *seq);

/* Appenders return a pointer to the new zeroed slot (owned by st; valid
 * until the next append), or NULL on ENOMEM. */
struct followup *user_state_add_followup(struct user_state *st);
struct repeat_timer *user_state_add_repeat(struct user_state *st);
int user_state_add_seen(struct user_state *st, const char *event_id,
                        int64_t decided_at);

struct followup *user_state_find_task(struct user_state *st,
                                      const char *task_id);
int user_state_channel_on(const struct user_state *st, const char *channel);
/* 0 ok, -1 ENOMEM. */
int user_state_set_channel(struct user_state *st, const char *channel,
                           int on);

void followup_release(struct followup *f);
void repeat_timer_release(struct repeat_timer *t);

/* Remove entry i of each list, keeping order. */
void user_state_remove_followup(struct user_state *st, int i);
void user_state_remove_repeat(struct user_state *st, int i);
void user_state_remove_seen(struct user_state *st, int i);

#endif
