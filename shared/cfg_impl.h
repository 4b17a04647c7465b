/*
 * Private to shared/cfg*.c: the declarative schema behind cfg.h.
 *
 * The configuration is described once, as tables of struct cfg_field
 * (cfg_schema.c).  A generic walker (cfg_walk.c) checks a document against
 * the tables, collecting every error and producing the normalised document;
 * a generic builder (cfg_build.c) turns the normalised document into a
 * struct cfg through the offsets in the same tables.  Adding a key is adding
 * a row; only keys with a syntax of their own need a callback.
 */
#ifndef BS_CFG_IMPL_H
#define BS_CFG_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>
#include "cfg.h"

enum cfg_kind {
    CK_END = 0,     /* terminates a field table */
    CK_OBJECT,      /* fixed members: .fields; built in place at .off */
    CK_MAP,         /* name -> object of .fields; built as an array sorted by name */
    CK_ARRAY,       /* array of objects of .fields */
    CK_INT,         /* integer within .min .. .max */
    CK_BOOL,
    CK_STRING,
    CK_ENUM,        /* string naming one of .enums */
    CK_MODE,        /* file mode within .min .. .max: an integer, or an octal string
                       such as "0660" (JSON has no octal literals) */
};

/* How a scalar lands in the struct (containers are built by kind). */
enum cfg_store {
    CS_NONE = 0,
    CS_INT,         /* int */
    CS_SIZE,        /* size_t */
    CS_BOOL,        /* bool */
    CS_STR,         /* char *, NULL for JSON null */
    CS_ENUM,        /* an enum type, int-sized */
    CS_REF,         /* size_t index into the root map named by .ref */
    CS_CUSTOM,      /* .build / .release */
    CS_MODE,        /* int, from the normalised octal string of a CK_MODE */
};

#define CF_REQUIRED 0x1u   /* absence is an error (otherwise .def/.def_fn applies) */
#define CF_NULLABLE 0x2u   /* JSON null accepted, stored as NULL */
#define CF_PATH     0x4u   /* relative file name, resolved against the base directory */
#define CF_NONEMPTY 0x8u   /* the empty string is an error */

struct cfg_ctx;

struct cfg_enum {
    const char *name;
    int value;
};

struct cfg_field {
    const char *key;
    enum cfg_kind kind;
    unsigned flags;
    long long min, max;           /* CK_INT: bounds; CK_MAP/CK_ARRAY: min = least entries */
    const char *def;              /* default, as JSON text ("64", "null", "{}") */
    json_t *(*def_fn)(void);      /* default computed at load time */
    const struct cfg_field *fields;   /* CK_OBJECT members, CK_MAP/CK_ARRAY element members */
    const struct cfg_enum *enums;     /* CK_ENUM */
    const char *noun;             /* CK_MAP: what an entry is, for messages ("provider") */
    const char *ref;              /* CK_STRING: must name an entry of this root map */

    /* Checks beyond shape; each reports its own errors at the current path.
     * check may set *repl to a malloc'ed canonical form of the string. */
    bool (*check)(struct cfg_ctx *c, const char *s, char **repl);
    bool (*check_key)(struct cfg_ctx *c, const char *key);      /* CK_MAP keys */
    bool (*check_elem)(struct cfg_ctx *c, const json_t *obj);   /* cross-member, on the
                                                                   normalised element */
    /* CK_OBJECT (and the elements of CK_MAP/CK_ARRAY): reports a key no
     * member matches, where "unknown key" would not say enough. */
    void (*unknown_key)(struct cfg_ctx *c, const char *key);

    enum cfg_store store;
    size_t off;         /* scalar or CK_OBJECT: offset in the parent;
                           CK_MAP/CK_ARRAY: offset of the element pointer */
    size_t off_n;       /* CK_MAP/CK_ARRAY: offset of the size_t count */
    size_t elem_size;   /* CK_MAP/CK_ARRAY */
    size_t name_off;    /* CK_MAP: offset of the char *name in an element */
    bool (*build)(void *base, const json_t *v);   /* CS_CUSTOM */
    void (*release)(void *base);                  /* CS_CUSTOM */
};

/* cfg_schema.c */
extern const struct cfg_field cfg_schema;            /* the document root */
extern const struct cfg_enum cfg_provider_types[];
extern const struct cfg_field cfg_on_fields[];       /* per-chain failure actions */

/* cfg_check.c: callbacks for the rows with a syntax of their own. */
#define CFG_HOST_MAX 64
/* NULL when s is "HOST:PORT" or "[V6]:PORT", else why not. */
const char *cfg_parse_listen(const char *s, char host[CFG_HOST_MAX], int *port);
bool cfg_check_listen(struct cfg_ctx *c, const char *s, char **repl);
/* CK_MODE rows get the normalised octal string ("0660"). */
bool cfg_check_admin_mode(struct cfg_ctx *c, const char *s, char **repl);
bool cfg_check_url(struct cfg_ctx *c, const char *s, char **repl);
bool cfg_check_env_name(struct cfg_ctx *c, const char *s, char **repl);
bool cfg_check_api_version(struct cfg_ctx *c, const char *s, char **repl);
bool cfg_check_aws_region(struct cfg_ctx *c, const char *s, char **repl);
bool cfg_check_provider_name(struct cfg_ctx *c, const char *key);
bool cfg_check_model_name(struct cfg_ctx *c, const char *key);
bool cfg_check_provider(struct cfg_ctx *c, const json_t *p);
bool cfg_check_overrides(struct cfg_ctx *c, const json_t *o);
bool cfg_check_chain(struct cfg_ctx *c, const json_t *m);
void cfg_check_on_key(struct cfg_ctx *c, const char *key);

/* cfg_walk.c: NULL when the document has errors (all of them reported). */
json_t *cfg_walk(struct cfg_ctx *c, const json_t *root);

/* cfg_build.c: false only when memory runs out; cfg_unbuild() then frees
 * whatever was built. */
bool cfg_build(const struct cfg_field *schema, void *base, const json_t *norm);
void cfg_unbuild(const struct cfg_field *schema, void *base);

/* cfg_targets.c: assigns cfg_target.id and fills cfg->target_ids; false
 * only when memory runs out (cfg_free_targets then frees what was made). */
bool cfg_index_targets(struct cfg *cfg);
void cfg_free_targets(struct cfg *cfg);

/* cfg_ctx.c: error collection and the JSON path of the value being checked. */
#define CFG_PATH_MAX 4096
#define CFG_QUOTE_MAX 400      /* enough for cfg_quote() of anything */

struct cfg_ctx {
    struct cfg_errors *errs;   /* may be NULL: errors are then only counted */
    size_t nerr;
    bool oom;
    const char *base_dir;      /* NULL: paths are kept as written */
    const json_t *root;        /* the input document, for references */
    char path[CFG_PATH_MAX];
    size_t plen;
};

void cfg_ctx_init(struct cfg_ctx *c, struct cfg_errors *errs, const char *base_dir,
                  const json_t *root);
/* "PATH: message" */
void cfg_err(struct cfg_ctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Return the previous length, to hand to cfg_path_pop(). */
size_t cfg_path_key(struct cfg_ctx *c, const char *key);
size_t cfg_path_index(struct cfg_ctx *c, size_t i);
void cfg_path_pop(struct cfg_ctx *c, size_t len);
/* s as a JSON string literal, cut after 64 bytes; buf has CFG_QUOTE_MAX bytes. */
const char *cfg_quote(char buf[CFG_QUOTE_MAX], const char *s);

/* cfg_file.c */
/* NULL with an "FILE: ..." or "FILE:LINE:COLUMN: ..." error pushed. */
json_t *cfg_parse_file(const char *path, struct cfg_errors *errs);
/* The absolute directory of a file name (malloc'ed), NULL when out of memory. */
char *cfg_base_dir(const char *path);
/* base/rel, or a copy of rel when it is absolute or base is NULL. */
char *cfg_path_join(const char *base, const char *rel);

#endif
