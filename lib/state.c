/* state.c -- struct user_state: allocation, lists, lookups.
 *
 * Plain data management only; what the fields mean and how they change is
 * the engine's business (engine.c). */
#include "state.h"

#include <stdlib.h>
#include <string.h>

#include "timeutil.h"

/* ---- Allocation ---- */

struct user_state *user_state_new(const char *user_id) {
    struct user_state *st = calloc(1, sizeof(*st));
    if (!st) return NULL;
    st->user_id = strdup(user_id);
    if (!st->user_id) {
        free(st);
        return NULL;
    }
    window_init(&st->call_window);
    st->cooldown_from = st->cooldown_until = TIME_NONE;
    st->prefs_at = TIME_NONE;
    return st;
}

void followup_release(struct followup *f) {
    free(f->rule_id);
    free(f->trigger_event_id);
    free(f->trigger_type);
    free(f->script);
    free(f->context_json);
    free(f->reminder_channel);
    free(f->reminder_template);
    free(f->message_channel);
    free(f->message_template);
    memset(f, 0, sizeof(*f));
}

void repeat_timer_release(struct repeat_timer *t) {
    free(t->rule_id);
    free(t->trigger_event_id);
    free(t->trigger_type);
    free(t->context_json);
    memset(t, 0, sizeof(*t));
}

void user_state_free(struct user_state *st) {
    if (!st) return;
    for (int i = 0; i < st->nseen; i++) free(st->seen[i].event_id);
    for (int i = 0; i < st->nfollowups; i++)
        followup_release(&st->followups[i]);
    for (int i = 0; i < st->nrepeats; i++)
        repeat_timer_release(&st->repeats[i]);
    for (int i = 0; i < st->nchannels_off; i++) free(st->channels_off[i]);
    free(st->seen);
    free(st->followups);
    free(st->repeats);
    free(st->channels_off);
    window_release(&st->call_window);
    free(st->timezone);
    free(st->user_id);
    free(st);
}

int user_state_empty(const struct user_state *st) {
    return st->nseen == 0 && st->nfollowups == 0 && st->nrepeats == 0 &&
           !st->timezone && !st->has_call_window && !st->opted_out &&
           st->consent == CONSENT_UNKNOWN &&
           st->nchannels_off == 0 && st->cooldown_until == TIME_NONE;
}

/* ---- Lists ---- */

/* Make room for one more element of size elsize in *arr. */
static int grow(void **arr, int n, int *cap, size_t elsize) {
    if (n < *cap) return 0;
    int ncap = *cap ? *cap * 2 : 4;
    void *na = realloc(*arr, elsize * (size_t)ncap);
    if (!na) return -1;
    *arr = na;
    *cap = ncap;
    return 0;
}

struct followup *user_state_add_followup(struct user_state *st) {
    if (grow((void **)&st->followups, st->nfollowups, &st->capfollowups,
             sizeof(struct followup)) < 0)
        return NULL;
    struct followup *f = &st->followups[st->nfollowups++];
    memset(f, 0, sizeof(*f));
    f->emitted_at = TIME_NONE;
    return f;
}

struct repeat_timer *user_state_add_repeat(struct user_state *st) {
    if (grow((void **)&st->repeats, st->nrepeats, &st->caprepeats,
             sizeof(struct repeat_timer)) < 0)
        return NULL;
    struct repeat_timer *t = &st->repeats[st->nrepeats++];
    memset(t, 0, sizeof(*t));
    return t;
}

int user_state_add_seen(struct user_state *st, const char *event_id,
                        int64_t decided_at) {
    char *id = strdup(event_id);
    if (!id || grow((void **)&st->seen, st->nseen, &st->capseen,
                    sizeof(struct seen_event)) < 0) {
        free(id);
        return -1;
    }
    st->seen[st->nseen].event_id = id;
    st->seen[st->nseen].decided_at = decided_at;
    st->nseen++;
    return 0;
}

void user_state_remove_followup(struct user_state *st, int i) {
    followup_release(&st->followups[i]);
    memmove(&st->followups[i], &st->followups[i + 1],
            sizeof(struct followup) * (size_t)(st->nfollowups - i - 1));
    st->nfollowups--;
}

void user_state_remove_repeat(struct user_state *st, int i) {
    repeat_timer_release(&st->repeats[i]);
    memmove(&st->repeats[i], &st->repeats[i + 1],
            sizeof(struct repeat_timer) * (size_t)(st->nrepeats - i - 1));
    st->nrepeats--;
}

void user_state_remove_seen(struct user_state *st, int i) {
    free(st->seen[i].event_id);
    memmove(&st->seen[i], &st->seen[i + 1],
            sizeof(struct seen_event) * (size_t)(st->nseen - i - 1));
    st->nseen--;
}

/* ---- Lookups ---- */

/* Keep the earliest (at, seq) seen so far. */
static void consider(int64_t at, uint64_t seq, int *found, int64_t *best_at,
                     uint64_t *best_seq) {
    if (!*found || at < *best_at || (at == *best_at && seq < *best_seq)) {
        *best_at = at;
        *best_seq = seq;
        *found = 1;
    }
}

int64_t followup_task_time(const struct followup *f) {
    return f->waiting ? f->not_after : f->due_at;
}

int user_state_next_due(const struct user_state *st, int64_t *at,
                        uint64_t *seq) {
    int found = 0;
    int64_t best_at = 0;
    uint64_t best_seq = 0;
    for (int i = 0; i < st->nfollowups; i++) {
        const struct followup *f = &st->followups[i];
        if (f->status == FOLLOWUP_PENDING)
            consider(followup_task_time(f), f->seq, &found, &best_at,
                     &best_seq);
        if (f->reminder_status == REMINDER_PENDING)
            consider(f->reminder_at, f->reminder_seq, &found, &best_at,
                     &best_seq);
    }
    for (int i = 0; i < st->nrepeats; i++)
        consider(st->repeats[i].decide_at, st->repeats[i].seq, &found,
                 &best_at, &best_seq);
    if (found) {
        *at = best_at;
        *seq = best_seq;
    }
    return found;
}

struct followup *user_state_find_task(struct user_state *st,
                                      const char *task_id) {
    for (int i = 0; i < st->nfollowups; i++)
        if (!strcmp(st->followups[i].task_id, task_id))
            return &st->followups[i];
    return NULL;
}

int user_state_channel_on(const struct user_state *st, const char *channel) {
    for (int i = 0; i < st->nchannels_off; i++)
        if (!strcmp(st->channels_off[i], channel)) return 0;
    return 1;
}

int user_state_set_channel(struct user_state *st, const char *channel,
                           int on) {
    for (int i = 0; i < st->nchannels_off; i++) {
        if (strcmp(st->channels_off[i], channel)) continue;
        if (on) {
            free(st->channels_off[i]);
            st->channels_off[i] = st->channels_off[--st->nchannels_off];
        }
        return 0;
    }
    if (on) return 0;
    char *name = strdup(channel);
    char **nl = name ? realloc(st->channels_off,
                               sizeof(char *) * (size_t)(st->nchannels_off + 1))
                     : NULL;
    if (!nl) {
        free(name);
        return -1;
    }
    st->channels_off = nl;
    st->channels_off[st->nchannels_off++] = name;
    return 0;
}
