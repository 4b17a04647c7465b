/* keys: encrypted provider secrets and the master key file; see keys.h. */
#include "keys.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

static const unsigned char MAGIC[4] = { 'B', 'S', 'K', '1' };
/* Domain separation: a master id is never the hash of anything else. */
static const char ID_CONTEXT[] = "backstop-master-id";

_Static_assert(KEYS_MASTER_LEN == crypto_secretbox_KEYBYTES, "master key is a secretbox key");
_Static_assert(KEYS_HDR_LEN == 32 + crypto_secretbox_NONCEBYTES, "header layout");

int keys_init(void)
{
    return sodium_init() < 0 ? -1 : 0;
}

void keys_free(void *p)
{
    if (p)
        sodium_free(p); /* wipes the whole region before unmapping it */
}

void keys_hex(const unsigned char *b, size_t n, char *out)
{
    sodium_bin2hex(out, 2 * n + 1, b, n);
}

void keys_master_id(const unsigned char *master, unsigned char id[KEYS_ID_LEN])
{
    unsigned char h[crypto_generichash_BYTES_MIN];
    crypto_generichash(h, sizeof h, master, KEYS_MASTER_LEN, (const unsigned char *)ID_CONTEXT,
                       sizeof ID_CONTEXT - 1);
    memcpy(id, h, KEYS_ID_LEN);
}

void keys_fingerprint(const char *secret, size_t len, char out[KEYS_HEX_LEN])
{
    unsigned char h[crypto_generichash_BYTES];
    crypto_generichash(h, sizeof h, (const unsigned char *)secret, len, NULL, 0);
    keys_hex(h, KEYS_ID_LEN, out);
}

static void put_be(unsigned char *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (unsigned char)(v >> (8 * (bytes - 1 - i)));
}

static uint64_t get_be(const unsigned char *p, int bytes)
{
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v = v << 8 | p[i];
    return v;
}

/* --- the master key file ------------------------------------------------- */

/* A created or renamed file survives a crash only once its directory entry
 * is on disk too. */
int keys_sync_dir(const char *path)
{
    char *copy = strdup(path);
    if (!copy)
        return -ENOMEM;
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(copy);
    if (fd < 0)
        return -errno;
    int rc = fsync(fd) < 0 ? -errno : 0;
    close(fd);
    return rc;
}

int keys_master_create(const char *path, const unsigned char *key, char *err, size_t errlen)
{
    unsigned char *fresh = NULL;
    if (!key) {
        if (!(fresh = sodium_malloc(KEYS_MASTER_LEN))) {
            snprintf(err, errlen, "master key file %s: out of memory", path);
            return -ENOMEM;
        }
        randombytes_buf(fresh, KEYS_MASTER_LEN);
        key = fresh;
    }
    /* O_EXCL: never truncate a key that encrypts stored secrets. */
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    int rc = 0;
    const char *what = "cannot create";
    if (fd < 0) {
        rc = -errno;
        goto out;
    }
    /* The umask may have removed bits; a key file is exactly 0600. */
    what = "cannot write";
    size_t off = 0;
    if (fchmod(fd, 0600) < 0) {
        rc = -errno;
    } else {
        while (off < KEYS_MASTER_LEN) {
            ssize_t n = write(fd, key + off, KEYS_MASTER_LEN - off);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                rc = n < 0 ? -errno : -EIO;
                break;
            }
            off += (size_t)n;
        }
    }
    if (rc == 0 && fsync(fd) < 0)
        rc = -errno;
    if (close(fd) < 0 && rc == 0)
        rc = -errno;
    if (rc == 0 && (rc = keys_sync_dir(path)) < 0)
        what = "cannot sync the directory of";
    if (rc < 0 && fd >= 0)
        unlink(path);
out:
    if (rc < 0)
        snprintf(err, errlen, "%s master key file %s: %s", what, path, strerror(-rc));
    keys_free(fresh);
    return rc;
}

int keys_master_load(const char *path, unsigned char **out, char *err, size_t errlen)
{
    *out = NULL;
    /* O_NONBLOCK: a FIFO planted at the path must not hang the start. */
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        snprintf(err, errlen, "master key file %s: %s", path,
                 e == ELOOP ? "is a symbolic link (refused)" : strerror(e));
        return -e;
    }
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) < 0) {
        rc = -errno;
        snprintf(err, errlen, "master key file %s: %s", path, strerror(errno));
    } else if (!S_ISREG(st.st_mode)) {
        rc = -EINVAL;
        snprintf(err, errlen, "master key file %s: not a regular file", path);
    } else if (st.st_uid != geteuid()) {
        rc = -EPERM;
        snprintf(err, errlen, "master key file %s: owned by uid %ld, not by this user (uid %ld)",
                 path, (long)st.st_uid, (long)geteuid());
    } else if (st.st_mode & 077) {
        rc = -EPERM;
        snprintf(err, errlen,
                 "master key file %s has mode 0%03o, wider than 0600: group and others must "
                 "have no access (chmod 600 %s)", path, (unsigned)(st.st_mode & 0777), path);
    } else if (st.st_size != KEYS_MASTER_LEN) {
        rc = -EINVAL;
        snprintf(err, errlen, "master key file %s: %lld bytes, expected %d", path,
                 (long long)st.st_size, KEYS_MASTER_LEN);
    }
    unsigned char *key = rc ? NULL : sodium_malloc(KEYS_MASTER_LEN);
    if (!rc && !key) {
        rc = -ENOMEM;
        snprintf(err, errlen, "master key file %s: out of memory", path);
    }
    size_t off = 0;
    while (!rc && off < KEYS_MASTER_LEN) {
        ssize_t n = read(fd, key + off, KEYS_MASTER_LEN - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = n < 0 ? -errno : -EIO;
            snprintf(err, errlen, "master key file %s: cannot read: %s", path,
                     n < 0 ? strerror(errno) : "short file");
        }
        off += n > 0 ? (size_t)n : 0;
    }
    close(fd);
    if (rc) {
        keys_free(key);
        return rc;
    }
    *out = key;
    return 0;
}

int keys_master_load_id(const char *path, const unsigned char id[KEYS_ID_LEN],
                        unsigned char **out, const char **which, char *err, size_t errlen)
{
    static const char *const suffix[] = { "", ".new", ".old" };
    char first_err[600] = "";
    char want[KEYS_HEX_LEN];
    keys_hex(id, KEYS_ID_LEN, want);
    *out = NULL;
    for (size_t i = 0; i < sizeof suffix / sizeof suffix[0]; i++) {
        char p[4096];
        if ((size_t)snprintf(p, sizeof p, "%s%s", path, suffix[i]) >= sizeof p)
            continue;
        unsigned char *key, got[KEYS_ID_LEN];
        char e[512];
        int rc = keys_master_load(p, &key, e, sizeof e);
        if (rc) {
            if (rc != -ENOENT && !first_err[0])
                snprintf(first_err, sizeof first_err, "; %.500s", e);
            continue;
        }
        keys_master_id(key, got);
        if (sodium_memcmp(got, id, KEYS_ID_LEN) == 0) {
            *out = key;
            if (which)
                *which = suffix[i];
            return 0;
        }
        keys_free(key);
    }
    snprintf(err, errlen, "no master key file matches the stored keys (master id %s; tried %s, "
             "%s.new, %s.old)%s", want, path, path, path, first_err);
    return -ENOKEY;
}

/* --- records --------------------------------------------------------------- */

const char *keys_secret_invalid(const char *s, size_t len)
{
    if (len == 0)
        return "the secret is empty";
    if (len > KEYS_SECRET_MAX)
        return "the secret is longer than 4096 bytes";
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
            return "the secret must be visible ASCII characters only (no spaces, newlines or "
                   "control characters): it is sent in an HTTP header";
    return NULL;
}

int keys_encrypt(const unsigned char *master, const char *provider, const char *secret,
                 size_t len, uint32_t version, uint64_t set_ms, unsigned char **rec,
                 size_t *reclen)
{
    *rec = NULL;
    size_t nlen = strlen(provider), plen = nlen + 1 + len;
    unsigned char *plain = sodium_malloc(plen);
    size_t total = KEYS_HDR_LEN + crypto_secretbox_MACBYTES + plen;
    unsigned char *r = plain ? malloc(total) : NULL;
    if (!r) {
        keys_free(plain);
        return -ENOMEM;
    }
    memcpy(plain, provider, nlen);
    plain[nlen] = '\0';
    memcpy(plain + nlen + 1, secret, len);
    memcpy(r, MAGIC, 4);
    put_be(r + 4, version, 4);
    keys_master_id(master, r + 8);
    put_be(r + 16, set_ms, 8);
    unsigned char h[crypto_generichash_BYTES];
    crypto_generichash(h, sizeof h, (const unsigned char *)secret, len, NULL, 0);
    memcpy(r + 24, h, KEYS_ID_LEN);
    randombytes_buf(r + 32, crypto_secretbox_NONCEBYTES);
    crypto_secretbox_easy(r + KEYS_HDR_LEN, plain, plen, r + 32, master);
    keys_free(plain);
    *rec = r;
    *reclen = total;
    return 0;
}

int keys_record_info(const void *recp, size_t reclen, struct keys_info *info)
{
    const unsigned char *rec = recp;
    if (reclen < KEYS_HDR_LEN + crypto_secretbox_MACBYTES + 2 || memcmp(rec, MAGIC, 4) != 0)
        return -EINVAL;
    info->version = (uint32_t)get_be(rec + 4, 4);
    memcpy(info->master_id, rec + 8, KEYS_ID_LEN);
    info->set_ms = get_be(rec + 16, 8);
    keys_hex(rec + 24, KEYS_ID_LEN, info->fingerprint);
    return 0;
}

int keys_decrypt(const unsigned char *master, const char *provider, const void *recp,
                 size_t reclen, char **secret, size_t *len)
{
    const unsigned char *rec = recp;
    *secret = NULL;
    *len = 0;
    struct keys_info info;
    if (keys_record_info(rec, reclen, &info) < 0)
        return -EINVAL;
    size_t plen = reclen - KEYS_HDR_LEN - crypto_secretbox_MACBYTES;
    unsigned char *plain = sodium_malloc(plen + 1);
    if (!plain)
        return -ENOMEM;
    if (crypto_secretbox_open_easy(plain, rec + KEYS_HDR_LEN, reclen - KEYS_HDR_LEN, rec + 32,
                                   master) != 0) {
        keys_free(plain);
        return -EBADMSG;
    }
    size_t nlen = strlen(provider);
    if (plen <= nlen + 1 || memcmp(plain, provider, nlen) != 0 || plain[nlen] != '\0') {
        keys_free(plain);
        return -EBADMSG;
    }
    size_t slen = plen - nlen - 1;
    memmove(plain, plain + nlen + 1, slen);
    sodium_memzero(plain + slen, plen + 1 - slen);
    /* The header is outside the box: one that does not describe it is
     * as tampered as a broken box. */
    char fp[KEYS_HEX_LEN];
    keys_fingerprint((const char *)plain, slen, fp);
    if (strcmp(fp, info.fingerprint) != 0) {
        keys_free(plain);
        return -EBADMSG;
    }
    *secret = (char *)plain;
    *len = slen;
    return 0;
}
