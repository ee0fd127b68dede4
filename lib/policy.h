/* policy.h -- the rule author's YAML policy, loaded into an immutable
 * struct policy (spec 3.4).
 *
 * Loading validates everything once, reporting every problem with
 * file:line:column and a hint, so the engine can trust what it reads. A
 * loaded policy never changes; a reload builds a new one and swaps the
 * pointer, and policy_retain/policy_release keep the old one alive while a
 * batch still uses it. */
#ifndef FU_POLICY_H
#define FU_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "cond.h"
#include "err.h"
#include "tz.h"
#include "window.h"

enum cap_count {
    CAP_COUNT_CALLBACKS = 0, /* count: callbacks */
    CAP_COUNT_REMINDERS,     /* count: reminders (any channel) */
    CAP_COUNT_CHANNEL,       /* count: reminders.<channel> */
    CAP_COUNT_MESSAGES,      /* count: messages (spec 4.2) */
    CAP_COUNT_MESSAGE_CHANNEL, /* count: messages.<channel> */
};

struct cap {
    char *id;
    enum cap_count count;
    char *channel; /* CAP_COUNT_CHANNEL and CAP_COUNT_MESSAGE_CHANNEL */
    int limit;
    int64_t per; /* seconds */
};

struct outcomes_policy {
    int present;           /* an `outcomes` section exists */
    unsigned retry_on;     /* bit (1u << enum outcome) */
    unsigned opt_out_on;   /* bit (1u << enum outcome) */
    int max_attempts;      /* default 1 */
    int nbackoff;
    int64_t *backoff;      /* seconds; before attempt 2, 3, ... */
    int64_t cooldown_after_answered; /* seconds, 0 = none */
};

enum on_cap { ON_CAP_DROP = 0, ON_CAP_DEFER };

/* A rule's `message:` block (spec 4.2). */
struct rule_message {
    char *channel, *template;
    int64_t delay, expires_after; /* seconds */
    int ncontext;
    char **context; /* dotted paths copied into the message */
};

struct rule {
    char *id;
    char *description; /* NULL when absent */
    int non;
    char **on; /* event types */
    struct cond *when; /* NULL: always */

    int has_callback; /* the callback fields below are set */
    int64_t delay, expires_after; /* seconds */
    int priority;        /* 0-100 */
    char *priority_from; /* dotted path to the trigger's priority; NULL */
    char *script; /* NULL -> null */
    int ncontext;
    char **context; /* dotted paths copied into the task */

    int has_reminder;
    char *reminder_channel, *reminder_template;
    int64_t reminder_lead;

    int has_cap;
    int cap_limit;
    int64_t cap_per;
    enum on_cap on_cap;

    int nsupersedes;
    int *supersedes; /* indexes into policy->rules */

    int has_repeat;
    int64_t repeat_every;
    int repeat_times;

    int ignore_cooldown; /* neither suppressed nor cancelled by cooldowns */

    int has_message;
    struct rule_message message;
};

struct policy {
    int refcount;
    char *file;        /* path as given */
    char version[17];  /* hash of the file content, 16 hex digits */

    char *default_tz_name;
    const struct tz *default_tz; /* owned by the tzdb given to the loader */
    struct window call_window;
    int has_message_window;
    struct window message_window;
    int64_t dedupe_for;
    int require_consent; /* follow-ups only for users who gave consent */
    int calls_per_minute; /* defaults.pacing (spec 4.3); 0: not paced */

    int ncaps;
    struct cap *caps;
    struct outcomes_policy outcomes;
    int nrules;
    struct rule *rules;

    /* longest cap `per` (rule or shared), 0 when there are no caps: how
     * long emitted follow-ups must be remembered for cap counting */
    int64_t longest_cap;
};

/* Load and validate the policy in file path. Every problem found is added
 * to diag (file:line:col + message with a hint) and NULL is returned; I/O
 * problems too. tzdb resolves zone names and must outlive the policy.
 * The result has refcount 1: policy_release() it. */
struct policy *policy_load_file(const char *path, struct tzdb *tzdb,
                                struct fu_diag *diag);
/* The same from memory; name is used in messages. */
struct policy *policy_load_buffer(const char *name, const char *buf,
                                  size_t len, struct tzdb *tzdb,
                                  struct fu_diag *diag);

struct policy *policy_retain(struct policy *pol);
void policy_release(struct policy *pol); /* NULL is a no-op */

/* 1 when a rule sends reminders or messages on channel: the channels a
 * user's preferences must keep track of. */
int policy_uses_channel(const struct policy *pol, const char *channel);

/* The rule called id, or NULL. */
const struct rule *policy_rule(const struct policy *pol, const char *id);
int policy_rule_index(const struct policy *pol, const char *id);

#endif
