/* yamlutil.h -- the one door to libyaml: load a document, read typed values
 * with their source locations, check mappings against allowed keys.
 *
 * A document is loaded whole (node level) and kept until validation is
 * done, so every semantic error can cite file:line:col of the node it is
 * about. Every reporting function adds to a caller-owned struct fu_diag,
 * so a validator reports all problems in one pass, and returns -1 on error
 * so a check stays one line. Nodes are borrowed from their document and
 * live as long as it. Mappings never hold duplicate keys: the loader
 * reports them. */
#ifndef FU_YAMLUTIL_H
#define FU_YAMLUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct yu_doc;
struct yu_node;

enum yu_type { YU_NONE = 0, YU_SCALAR, YU_SEQ, YU_MAP };

/* Parse buf[0..len) as one YAML document; name is the file name used in
 * messages (copied). Syntax errors, duplicate keys and a second document
 * go to diag and NULL is returned. An empty document loads fine and has
 * a NULL root. NULL on ENOMEM too (also reported). Free with yu_free(). */
struct yu_doc *yu_load_buffer(const char *name, const char *buf, size_t len,
                              struct fu_diag *diag);
/* Read path and load it; path is the name in messages. I/O errors are
 * reported at "path" without a line. */
struct yu_doc *yu_load_file(const char *path, struct fu_diag *diag);
void yu_free(struct yu_doc *doc); /* NULL is a no-op */

/* Longest policy or config file read: real ones are a few KiB, and a
 * bigger one (a generated file gone wrong) would cost seconds to check. */
#define YU_FILE_MAX (1 << 20)

/* Read a whole file into a malloc'd NUL-terminated buffer (*len without
 * the NUL); NULL with diag filled on failure. Shared so callers that also
 * hash the bytes read the file once. */
char *yu_read_file(const char *path, size_t *len, struct fu_diag *diag);

const char *yu_file(const struct yu_doc *doc);
struct yu_node *yu_root(const struct yu_doc *doc); /* NULL when empty */

/* ---- Node access (node may be NULL: type YU_NONE, length 0) ---- */
enum yu_type yu_type(const struct yu_node *n);
/* 1-based location of the node's first character. */
int yu_line(const struct yu_node *n);
int yu_col(const struct yu_node *n);
/* Scalar text (NUL-terminated), NULL for a non-scalar. */
const char *yu_scalar(const struct yu_node *n);
/* 1 for a plain null: empty, ~, null, Null, NULL (unquoted). */
int yu_is_null(const struct yu_node *n);
/* 1 for a single- or double-quoted scalar. */
int yu_is_quoted(const struct yu_node *n);
/* Number of items of a sequence or pairs of a mapping, else 0. */
int yu_len(const struct yu_node *n);
struct yu_node *yu_seq_item(const struct yu_doc *doc,
                            const struct yu_node *seq, int i);
struct yu_node *yu_map_key(const struct yu_doc *doc,
                           const struct yu_node *map, int i);
struct yu_node *yu_map_value(const struct yu_doc *doc,
                             const struct yu_node *map, int i);
/* The value of key in map, NULL when absent or map is no mapping. When
 * keynode is not NULL it receives the key node (for locations). */
struct yu_node *yu_map_get(const struct yu_doc *doc,
                           const struct yu_node *map, const char *key,
                           struct yu_node **keynode);
/* "a mapping", "a list", "a string", "null" ... for messages. */
const char *yu_type_name(const struct yu_node *n);

/* ---- Reporting ---- */
/* Add "file:line:col: msg" at node n (1:1 when n is NULL). Returns -1. */
int yu_error(const struct yu_doc *doc, const struct yu_node *n,
             struct fu_diag *diag, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Same, at byte offset off inside a one-line scalar's text: the column is
 * the node's plus off, plus 1 past the opening quote of a quoted scalar
 * (block scalars are reported at the node; escapes inside quotes shift
 * the column a little). Returns -1. */
int yu_error_in(const struct yu_doc *doc, const struct yu_node *n, int off,
                struct fu_diag *diag, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* ---- Typed getters: 0 ok, -1 with the problem reported at the node.
 * `what` names the value in messages (usually its key). ---- */
/* A non-null scalar. *out is borrowed from the document. */
int yu_str(const struct yu_doc *doc, const struct yu_node *n,
           const char *what, struct fu_diag *diag, const char **out);
/* Like yu_str but null gives *out = NULL. */
int yu_str_or_null(const struct yu_doc *doc, const struct yu_node *n,
                   const char *what, struct fu_diag *diag,
                   const char **out);
/* A malloc'd copy (free() it) of a non-null scalar. -1 also on ENOMEM. */
int yu_strdup(const struct yu_doc *doc, const struct yu_node *n,
              const char *what, struct fu_diag *diag, char **out);
/* A plain decimal integer in [min, max]. */
int yu_int(const struct yu_doc *doc, const struct yu_node *n,
           const char *what, long long min, long long max,
           struct fu_diag *diag, long long *out);
/* true / false (also True, TRUE, False, FALSE), unquoted. */
int yu_bool(const struct yu_doc *doc, const struct yu_node *n,
            const char *what, struct fu_diag *diag, int *out);
/* A duration ("90s", "15m", "2h", "7d", "2w") of at least min seconds. */
int yu_duration(const struct yu_doc *doc, const struct yu_node *n,
                const char *what, int64_t min, struct fu_diag *diag,
                int64_t *out);

enum yu_list_flags {
    YU_LIST_SCALAR_OK = 1 << 0, /* a lone scalar counts as a one-item list */
    YU_LIST_NONEMPTY = 1 << 1,  /* an empty list is an error */
};
/* A list of non-null scalars as malloc'd copies: *out holds *n strings
 * (free each, then the array; yu_strv_free does both). On error nothing
 * is returned (*out NULL, *n 0). */
int yu_str_list(const struct yu_doc *doc, const struct yu_node *n,
                const char *what, unsigned flags, struct fu_diag *diag,
                char ***out, int *nout);
void yu_strv_free(char **v, int n);

/* Check that n is a mapping ("expected a mapping for 'what'") whose keys
 * are all in allowed[] (NULL-terminated). An unknown key is reported at
 * the key, with "did you mean 'x'?" when one allowed key is close, else
 * the list of allowed keys; `where` ends the message ("in callback of
 * rule 'x'"). Returns 0 when n is a mapping with only allowed keys, -1
 * otherwise (every unknown key reported). */
int yu_check_map(const struct yu_doc *doc, const struct yu_node *n,
                 const char *what, const char *const *allowed,
                 const char *where, struct fu_diag *diag);

/* The candidate closest to word by edit distance when it is close enough
 * to be a likely typo, else NULL. cands is NULL-terminated. */
const char *yu_suggest(const char *word, const char *const *cands);

#endif
