/* taskid.c -- print the task_id the engine gives a follow-up, so story
 * authors can write outcome and reschedule events by hand.
 * usage: taskid USER RULE TRIGGER_EVENT OCCURRENCE ATTEMPT RESCHEDULES */
#include <stdio.h>
#include <stdlib.h>

#include "hash.h"

int main(int argc, char **argv) {
    struct hash128 h;
    char hex[33];
    if (argc != 7) {
        fprintf(stderr, "usage: taskid USER RULE EVENT OCC ATTEMPT RESCHED\n");
        return 2;
    }
    hash128_init(&h);
    for (int i = 1; i <= 3; i++) hash128_str(&h, argv[i]);
    for (int i = 4; i <= 6; i++) hash128_int(&h, atoll(argv[i]));
    hash128_hex(&h, hex, 21);
    printf("t-%s\n", hex);
    return 0;
}
