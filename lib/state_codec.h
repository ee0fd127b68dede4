/* state_codec.h -- a user's state as one compact JSON value, for stores
 * that keep it in one key (the Redis store). */
#ifndef FU_STATE_CODEC_H
#define FU_STATE_CODEC_H

#include <stddef.h>

#include "err.h"
#include "state.h"

/* The encoded state; malloc'd, NULL on ENOMEM. */
char *state_encode(const struct user_state *st);

/* Decode buf[0..len) into a new state (user_state_free it); NULL with err
 * (FU_EFATAL) when the value is not a state this version can read. */
struct user_state *state_decode(const char *buf, size_t len,
                                struct fu_err *err);

#endif
