/* Unit tests of shared/keys.c: record encryption, tamper and wrong-key
 * detection, fingerprints, and the master key file's checks. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keys.h"
#include "unit.h"

static char dir[] = "/tmp/bs-keys-XXXXXX";

static char *path_in(const char *name)
{
    static char buf[4][256];
    static int i;
    i = (i + 1) % 4;
    snprintf(buf[i], sizeof buf[i], "%s/%s", dir, name);
    return buf[i];
}

static unsigned char *new_master(const char *name)
{
    char err[512];
    unsigned char *m = NULL;
    if (keys_master_create(path_in(name), NULL, err, sizeof err) != 0 ||
        keys_master_load(path_in(name), &m, err, sizeof err) != 0)
        fprintf(stderr, "%s\n", err);
    return m;
}

static void test_round_trip(const unsigned char *m1, const unsigned char *m2)
{
    const char *secret = "sk-test-123";
    unsigned char *rec = NULL;
    size_t reclen = 0;
    CHECK(keys_encrypt(m1, "openai", secret, strlen(secret), 3, 1700000000123ULL, &rec,
                       &reclen) == 0);
    CHECK(rec != NULL && reclen == KEYS_HDR_LEN + 16 + strlen("openai") + 1 + strlen(secret));
    /* The plaintext is nowhere in the record. */
    CHECK(memmem(rec, reclen, secret, strlen(secret)) == NULL);
    CHECK(memmem(rec, reclen, "openai", 6) == NULL);

    char *out = NULL;
    size_t len = 0;
    CHECK(keys_decrypt(m1, "openai", rec, reclen, &out, &len) == 0);
    CHECK(out && len == strlen(secret) && strcmp(out, secret) == 0);
    keys_free(out);

    struct keys_info info;
    CHECK(keys_record_info(rec, reclen, &info) == 0);
    CHECK(info.version == 3 && info.set_ms == 1700000000123ULL);
    CHECK(strcmp(info.fingerprint, "32e912848bedade9") == 0);
    unsigned char id[KEYS_ID_LEN];
    keys_master_id(m1, id);
    CHECK(memcmp(id, info.master_id, KEYS_ID_LEN) == 0);

    /* Wrong master key. */
    CHECK(keys_decrypt(m2, "openai", rec, reclen, &out, &len) == -EBADMSG && out == NULL);
    /* Another provider's name: records are bound to their provider. */
    CHECK(keys_decrypt(m1, "azure", rec, reclen, &out, &len) == -EBADMSG && out == NULL);
    CHECK(keys_decrypt(m1, "opena", rec, reclen, &out, &len) == -EBADMSG);
    /* Any flipped byte of nonce, box or fingerprint is detected. */
    size_t spots[] = { 24, 32, 50, KEYS_HDR_LEN, KEYS_HDR_LEN + 20, reclen - 1 };
    for (size_t i = 0; i < sizeof spots / sizeof spots[0]; i++) {
        rec[spots[i]] ^= 0x01;
        CHECK(keys_decrypt(m1, "openai", rec, reclen, &out, &len) == -EBADMSG && out == NULL);
        rec[spots[i]] ^= 0x01;
    }
    /* Truncated or foreign bytes are not records. */
    CHECK(keys_decrypt(m1, "openai", rec, 40, &out, &len) == -EINVAL);
    rec[0] = 'X';
    CHECK(keys_decrypt(m1, "openai", rec, reclen, &out, &len) == -EINVAL);
    CHECK(keys_record_info(rec, reclen, &info) == -EINVAL);
    free(rec);

    /* A fresh nonce per write: the same secret twice gives two records. */
    unsigned char *a, *b;
    size_t al, bl;
    CHECK(keys_encrypt(m1, "p", "k", 1, 1, 1, &a, &al) == 0);
    CHECK(keys_encrypt(m1, "p", "k", 1, 1, 1, &b, &bl) == 0);
    CHECK(al == bl && memcmp(a, b, al) != 0);
    free(a);
    free(b);
}

static void test_fingerprint(void)
{
    char a[KEYS_HEX_LEN], b[KEYS_HEX_LEN];
    keys_fingerprint("sk-test-123", 11, a);
    keys_fingerprint("sk-test-123", 11, b);
    CHECK(strcmp(a, b) == 0 && strlen(a) == 16);
    CHECK(strcmp(a, "32e912848bedade9") == 0); /* BLAKE2b-256, first 8 bytes */
    keys_fingerprint("sk-test-124", 11, b);
    CHECK(strcmp(a, b) != 0);
}

static void test_secret_syntax(void)
{
    CHECK(keys_secret_invalid("sk-abc_DEF.123", 14) == NULL);
    CHECK(keys_secret_invalid("", 0) != NULL);
    CHECK(keys_secret_invalid("a b", 3) != NULL);
    CHECK(keys_secret_invalid("ab\n", 3) != NULL);
    CHECK(keys_secret_invalid("a\0b", 3) != NULL);
    CHECK(keys_secret_invalid("\xc3\xa9", 2) != NULL);
    char *big = malloc(KEYS_SECRET_MAX + 1);
    memset(big, 'a', KEYS_SECRET_MAX + 1);
    CHECK(keys_secret_invalid(big, KEYS_SECRET_MAX) == NULL);
    CHECK(keys_secret_invalid(big, KEYS_SECRET_MAX + 1) != NULL);
    free(big);
}

static void test_master_file(void)
{
    char err[512];
    unsigned char *m = NULL;
    char p[256];
    snprintf(p, sizeof p, "%s", path_in("master.key"));
    struct stat st;
    CHECK(stat(p, &st) == 0 && (st.st_mode & 0777) == 0600 && st.st_size == KEYS_MASTER_LEN);
    /* Never overwritten. */
    CHECK(keys_master_create(p, NULL, err, sizeof err) == -EEXIST);
    CHECK(strstr(err, p) != NULL);
    /* Created 0600 whatever the umask. */
    mode_t old = umask(0);
    CHECK(keys_master_create(path_in("umask.key"), NULL, err, sizeof err) == 0);
    umask(old);
    CHECK(stat(path_in("umask.key"), &st) == 0 && (st.st_mode & 0777) == 0600);

    /* Wider than 0600: refused, naming the file and the mode. */
    CHECK(chmod(p, 0640) == 0);
    CHECK(keys_master_load(p, &m, err, sizeof err) == -EPERM && m == NULL);
    CHECK(strstr(err, p) != NULL && strstr(err, "0640") != NULL);
    CHECK(chmod(p, 0604) == 0);
    CHECK(keys_master_load(p, &m, err, sizeof err) == -EPERM);
    CHECK(chmod(p, 0400) == 0); /* narrower is fine */
    CHECK(keys_master_load(p, &m, err, sizeof err) == 0 && m != NULL);
    keys_free(m);
    CHECK(chmod(p, 0600) == 0);

    /* Wrong size, missing, a symlink, a directory. */
    int fd = open(path_in("short.key"), O_WRONLY | O_CREAT | O_EXCL, 0600);
    CHECK(fd >= 0 && write(fd, "abc", 3) == 3);
    close(fd);
    CHECK(keys_master_load(path_in("short.key"), &m, err, sizeof err) == -EINVAL);
    CHECK(strstr(err, "3 bytes") != NULL);
    CHECK(keys_master_load(path_in("absent.key"), &m, err, sizeof err) == -ENOENT);
    CHECK(symlink(p, path_in("link.key")) == 0);
    CHECK(keys_master_load(path_in("link.key"), &m, err, sizeof err) < 0 && m == NULL);
    CHECK(strstr(err, "symbolic link") != NULL);
    CHECK(keys_master_load(dir, &m, err, sizeof err) < 0 && m == NULL);

    /* A given key is written as is; the rotation's file set is searched
     * by master id. */
    unsigned char *a = NULL, *b = NULL, *got = NULL;
    CHECK(keys_master_load(p, &a, err, sizeof err) == 0);
    CHECK(keys_master_create(path_in("copy.key"), a, err, sizeof err) == 0);
    CHECK(keys_master_load(path_in("copy.key"), &b, err, sizeof err) == 0);
    CHECK(a && b && memcmp(a, b, KEYS_MASTER_LEN) == 0);
    unsigned char ida[KEYS_ID_LEN], idb[KEYS_ID_LEN];
    keys_master_id(a, ida);
    const char *which = NULL;
    CHECK(keys_master_load_id(p, ida, &got, &which, err, sizeof err) == 0 && which &&
          strcmp(which, "") == 0);
    keys_free(got);
    unsigned char *n = new_master("rot.key.new");
    CHECK(n != NULL);
    keys_master_id(n, idb);
    CHECK(rename(path_in("rot.key.new"), path_in("master.key.new")) == 0);
    CHECK(keys_master_load_id(p, idb, &got, &which, err, sizeof err) == 0 &&
          strcmp(which, ".new") == 0 && memcmp(got, n, KEYS_MASTER_LEN) == 0);
    keys_free(got);
    unsigned char none[KEYS_ID_LEN] = { 0 };
    CHECK(keys_master_load_id(p, none, &got, &which, err, sizeof err) == -ENOKEY && got == NULL);
    CHECK(strstr(err, "master.key.old") != NULL);
    keys_free(a);
    keys_free(b);
    keys_free(n);
}

int main(void)
{
    if (keys_init() < 0 || !mkdtemp(dir)) {
        fprintf(stderr, "cannot set up\n");
        return 1;
    }
    unsigned char *m1 = new_master("master.key"), *m2 = new_master("other.key");
    CHECK(m1 && m2 && memcmp(m1, m2, KEYS_MASTER_LEN) != 0);
    if (m1 && m2)
        test_round_trip(m1, m2);
    test_fingerprint();
    test_secret_syntax();
    test_master_file();
    keys_free(m1);
    keys_free(m2);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
    UNIT_END("keys");
}
