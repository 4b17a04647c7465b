/*
 * keys: provider secrets encrypted at rest, and the master key file.
 *
 * A secret is stored in LMDB (ST_DB_KEYS, key = provider name) as a record
 *
 *   0  "BSK1"           magic and record format
 *   4  version          u32 BE: 1 for a provider's first key, +1 per replacement
 *   8  master id        8 bytes: which master key encrypted it (keys_master_id)
 *   16 set_ms           u64 BE: wall clock of the `keys set`
 *   24 fingerprint      8 bytes: keys_fingerprint() of the secret
 *   32 nonce            24 random bytes, new for every write
 *   56 box              crypto_secretbox_easy("PROVIDER\0SECRET")
 *
 * The provider's name inside the box binds a record to its provider: a
 * record copied under another name does not decrypt.  The header is not
 * secret and not authenticated; decryption checks it against the box.
 *
 * Secrets and master keys live only in sodium_malloc'd memory (guard pages,
 * mlock'ed and left out of core dumps where the system allows); free them
 * with keys_free(), which wipes them.
 */
#ifndef BS_KEYS_H
#define BS_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KEYS_MASTER_LEN 32      /* crypto_secretbox_KEYBYTES */
#define KEYS_ID_LEN 8           /* master id, fingerprint: bytes */
#define KEYS_HEX_LEN (2 * KEYS_ID_LEN + 1)
#define KEYS_SECRET_MAX 4096
#define KEYS_HDR_LEN 56

struct keys_info {
    uint32_t version;
    unsigned char master_id[KEYS_ID_LEN];
    uint64_t set_ms;
    char fingerprint[KEYS_HEX_LEN];   /* hex */
};

/* sodium_init(); 0, or -1 when libsodium cannot start. */
int keys_init(void);

/* --- the master key file --- */

/* Creates PATH with a new random key: O_EXCL, mode 0600, file and directory
 * fsync'ed.  With key == NULL a fresh key is drawn, else key is written. */
int keys_master_create(const char *path, const unsigned char *key, char *err, size_t errlen);
/* Loads PATH into *out (sodium_malloc'd, KEYS_MASTER_LEN bytes).  Refused
 * when it is not a regular file owned by this user with no group or other
 * permission bits, or not exactly KEYS_MASTER_LEN bytes; err names the file
 * and says why. */
int keys_master_load(const char *path, unsigned char **out, char *err, size_t errlen);
/* Loads whichever of PATH, PATH.new, PATH.old has the master id `id`: the
 * three files a master key rotation passes through (docs/admin.md).  *which
 * gets the suffix that matched ("", ".new", ".old"). */
int keys_master_load_id(const char *path, const unsigned char id[KEYS_ID_LEN],
                        unsigned char **out, const char **which, char *err, size_t errlen);
void keys_master_id(const unsigned char *master, unsigned char id[KEYS_ID_LEN]);
/* fsync of the directory holding path: makes a create, rename or unlink in
 * it durable.  0 or -errno. */
int keys_sync_dir(const char *path);

/* --- records --- */

/* NULL when s is usable as a bearer token, else why not: it goes into an
 * HTTP header, so visible ASCII only, 1..KEYS_SECRET_MAX bytes. */
const char *keys_secret_invalid(const char *s, size_t len);
/* Encrypts; *rec is malloc'd (not secret) with *reclen bytes. */
int keys_encrypt(const unsigned char *master, const char *provider, const char *secret,
                 size_t len, uint32_t version, uint64_t set_ms, unsigned char **rec,
                 size_t *reclen);
/* Decrypts into *secret (sodium_malloc'd, NUL-terminated, *len bytes).
 * -EINVAL: not a record; -EBADMSG: wrong master key, tampered, or another
 * provider's record. */
int keys_decrypt(const unsigned char *master, const char *provider, const void *rec,
                 size_t reclen, char **secret, size_t *len);
/* The record's header; -EINVAL when it is not a record. */
int keys_record_info(const void *rec, size_t reclen, struct keys_info *info);

/* First 8 bytes of BLAKE2b-256 of the secret, in hex. */
void keys_fingerprint(const char *secret, size_t len, char out[KEYS_HEX_LEN]);
void keys_hex(const unsigned char *b, size_t n, char *out);
/* Wipes and frees sodium_malloc'd memory; NULL is fine. */
void keys_free(void *p);

#endif
