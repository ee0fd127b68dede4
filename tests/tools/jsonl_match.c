/* jsonl_match.c -- compare JSON lines with a hand-written expectation.
 *
 * usage: jsonl_match EXPECTED ACTUAL
 * Line i of EXPECTED must match line i of ACTUAL, and both have as many
 * non-blank lines. Matching is structural and exact, except:
 *   "$_"          matches any value;
 *   "$name"       binds to the actual value on first use and must match
 *                 the same value everywhere after (ids worked out by hash);
 *   "$partial": true   inside an object: keys it does not name are not
 *                 checked.
 * Exits 0 on a match, 1 with the first difference on stdout. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BINDINGS 512

struct binding {
    char *name;
    json_t *value;
};

static struct binding bindings[MAX_BINDINGS];
static int nbindings;
static char where[512];

static int match(json_t *exp, json_t *act, const char *path);

static int match_placeholder(const char *name, json_t *act, const char *path) {
    if (!strcmp(name, "$_")) return 1;
    for (int i = 0; i < nbindings; i++)
        if (!strcmp(bindings[i].name, name)) {
            if (json_equal(bindings[i].value, act)) return 1;
            snprintf(where, sizeof(where), "%s: %s was bound to another value",
                     path, name);
            return 0;
        }
    if (nbindings == MAX_BINDINGS) return 0;
    bindings[nbindings].name = strdup(name);
    bindings[nbindings].value = json_incref(act);
    nbindings++;
    return 1;
}

static int match_object(json_t *exp, json_t *act, const char *path) {
    const char *key;
    json_t *ev;
    char sub[400];
    int partial = json_is_true(json_object_get(exp, "$partial"));
    if (!json_is_object(act)) return 0;
    json_object_foreach(exp, key, ev) {
        if (!strcmp(key, "$partial")) continue;
        snprintf(sub, sizeof(sub), "%s.%s", path, key);
        json_t *av = json_object_get(act, key);
        if (!av) {
            snprintf(where, sizeof(where), "%s: missing", sub);
            return 0;
        }
        if (!match(ev, av, sub)) return 0;
    }
    if (partial) return 1;
    json_object_foreach(act, key, ev) {
        if (!json_object_get(exp, key)) {
            snprintf(where, sizeof(where), "%s.%s: not expected", path, key);
            return 0;
        }
    }
    return 1;
}

static int match(json_t *exp, json_t *act, const char *path) {
    char sub[400];
    if (json_is_string(exp) && json_string_value(exp)[0] == '$')
        return match_placeholder(json_string_value(exp), act, path);
    if (json_is_object(exp)) return match_object(exp, act, path);
    if (json_is_array(exp)) {
        if (!json_is_array(act) || json_array_size(act) != json_array_size(exp))
            return 0;
        for (size_t i = 0; i < json_array_size(exp); i++) {
            snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
            if (!match(json_array_get(exp, i), json_array_get(act, i), sub))
                return 0;
        }
        return 1;
    }
    if (json_equal(exp, act)) return 1;
    snprintf(where, sizeof(where), "%s: values differ", path);
    return 0;
}

/* Non-blank lines of path; NULL-terminated array. */
static char **read_lines(const char *path, int *n) {
    FILE *f = fopen(path, "r");
    char *line = NULL, **lines = NULL;
    size_t cap = 0;
    *n = 0;
    if (!f) return NULL;
    while (getline(&line, &cap, f) >= 0) {
        if (strspn(line, " \t\r\n") == strlen(line)) continue;
        lines = realloc(lines, sizeof(char *) * (size_t)(*n + 2));
        lines[(*n)++] = strdup(line);
    }
    free(line);
    fclose(f);
    if (lines) lines[*n] = NULL;
    return lines ? lines : calloc(1, sizeof(char *));
}

int main(int argc, char **argv) {
    int ne, na, rc = 0;
    if (argc != 3) {
        fprintf(stderr, "usage: jsonl_match EXPECTED ACTUAL\n");
        return 2;
    }
    char **exp = read_lines(argv[1], &ne), **act = read_lines(argv[2], &na);
    if (!exp || !act) {
        fprintf(stderr, "jsonl_match: cannot read input\n");
        return 2;
    }
    for (int i = 0; i < ne || i < na; i++) {
        json_error_t je;
        json_t *e = i < ne ? json_loads(exp[i], 0, &je) : NULL;
        json_t *a = i < na ? json_loads(act[i], 0, &je) : NULL;
        where[0] = '\0';
        if (!e || !a || !match(e, a, "")) {
            printf("line %d differs%s%s\n  expected: %s  actual:   %s", i + 1,
                   where[0] ? " at " : "", where, i < ne ? exp[i] : "(none)\n",
                   i < na ? act[i] : "(none)\n");
            rc = 1;
        }
        json_decref(e);
        json_decref(a);
        if (rc) break;
    }
    for (int i = 0; i < ne; i++) free(exp[i]);
    for (int i = 0; i < na; i++) free(act[i]);
    free(exp);
    free(act);
    for (int i = 0; i < nbindings; i++) {
        free(bindings[i].name);
        json_decref(bindings[i].value);
    }
    return rc;
}
