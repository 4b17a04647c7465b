/*
 * The file side of the configuration: reading it, JSON syntax errors as
 * FILE:LINE:COLUMN, and resolving relative paths against its directory.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg_impl.h"

/* A configuration is a few KiB; the cap only stops `-c /dev/zero`. */
#define CFG_FILE_MAX (16u << 20)

static char *read_all(const char *path, size_t *len, struct cfg_errors *errs)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        cfg_errors_push(errs, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 8192, n = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (!buf) {
            cfg_errors_push(errs, "%s: out of memory", path);
            break;
        }
        n += fread(buf + n, 1, cap - n, f);
        if (ferror(f)) {
            /* EISDIR lands here: fopen() accepts a directory on Linux. */
            cfg_errors_push(errs, "%s: cannot read: %s", path, strerror(errno));
            break;
        }
        if (feof(f)) {
            fclose(f);
            *len = n;
            return buf;
        }
        if (n == cap) {
            if (cap >= CFG_FILE_MAX) {
                cfg_errors_push(errs, "%s: larger than %u bytes", path, CFG_FILE_MAX);
                break;
            }
            cap *= 2;
            char *nb = realloc(buf, cap);
            if (!nb)
                free(buf);
            buf = nb;
        }
    }
    free(buf);
    fclose(f);
    return NULL;
}

json_t *cfg_parse_file(const char *path, struct cfg_errors *errs)
{
    size_t len = 0;
    char *text = read_all(path, &len, errs);
    if (!text)
        return NULL;
    json_error_t je;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    free(text);
    if (!root) {
        if (je.line >= 1)
            cfg_errors_push(errs, "%s:%d:%d: %s", path, je.line,
                            je.column < 1 ? 1 : je.column, je.text);
        else
            cfg_errors_push(errs, "%s: %s", path, je.text);
    }
    return root;
}

char *cfg_base_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir;
    if (!slash)
        dir = strdup(".");
    else if (slash == path)
        dir = strdup("/");
    else
        dir = strndup(path, (size_t)(slash - path));
    if (!dir)
        return NULL;
    /* Absolute, so the daemon may chdir and workers re-reading the stored
     * document see the same files; and free of symlinks, so that
     * cfg_path_join() may fold "../" into it. */
    char *abs = realpath(dir, NULL);
    if (abs) {
        free(dir);
        return abs;
    }
    return dir;
}

char *cfg_path_join(const char *base, const char *rel)
{
    if (!base || rel[0] == '/')
        return strdup(rel);
    size_t blen = strlen(base);
    while (blen > 1 && base[blen - 1] == '/')
        blen--;
    /* Leading "./" and "../" are folded into an absolute base, which
     * cfg_base_dir() made symlink-free; later ones are left to the kernel,
     * where a symlink may give ".." another meaning. */
    if (base[0] == '/') {
        for (;;) {
            if (rel[0] == '.' && (rel[1] == '/' || rel[1] == '\0')) {
                rel += rel[1] ? 2 : 1;
            } else if (rel[0] == '.' && rel[1] == '.' && (rel[2] == '/' || rel[2] == '\0')) {
                while (blen > 1 && base[blen - 1] != '/')
                    blen--;
                if (blen > 1)
                    blen--;             /* the slash itself, unless it is the root */
                rel += rel[2] ? 3 : 2;
            } else {
                break;
            }
            while (*rel == '/')
                rel++;
        }
    }
    size_t rlen = strlen(rel);
    char *out = malloc(blen + 1 + rlen + 1);
    if (!out)
        return NULL;
    memcpy(out, base, blen);
    size_t o = blen;
    if (rlen && !(blen == 1 && base[0] == '/'))
        out[o++] = '/';
    memcpy(out + o, rel, rlen + 1);
    return out;
}
