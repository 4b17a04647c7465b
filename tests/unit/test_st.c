/* Unit tests of the LMDB store: writer and reader in one process (as two
 * environments), generation reads, reader reuse, map growth. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "st.h"
#include "unit.h"

static int put_gen(struct st_env *st, MDB_txn *txn, void *arg)
{
    return st_put(st, txn, ST_DB_META, ST_KEY_GENERATION, arg, sizeof(uint64_t));
}

static int put_big(struct st_env *st, MDB_txn *txn, void *arg)
{
    (void)arg;
    static char value[64 * 1024];
    char key[32];
    for (int i = 0; i < 64; i++) {
        snprintf(key, sizeof key, "k%d", i);
        int rc = st_put(st, txn, ST_DB_HEALTH, key, value, sizeof value);
        if (rc)
            return rc;
    }
    return 0;
}

static int fail_fn(struct st_env *st, MDB_txn *txn, void *arg)
{
    (void)st;
    (void)txn;
    (void)arg;
    return -5;
}

int main(void)
{
    char dir[] = "/tmp/bs-st-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    struct st_env *w = NULL, *r = NULL;
    CHECK(st_open(&w, dir, 1, ST_WRITER) == 0);
    CHECK(st_open(&r, dir, 0, 0) == 0);
    uint64_t gen = 99;
    CHECK(st_read_generation(r, &gen) == 0 && gen == 0);
    for (uint64_t g = 1; g <= 3; g++) {
        CHECK(st_write(w, put_gen, &g, true) == 0);
        CHECK(st_read_generation(r, &gen) == 0);
        CHECK(gen == g);
    }
    /* The reader's transaction is reused: begin/end many times. */
    for (int i = 0; i < 1000; i++) {
        CHECK(st_rd_begin(r) == 0);
        st_rd_end(r);
    }
    /* A failing write changes nothing. */
    CHECK(st_write(w, fail_fn, NULL, false) == -5);
    CHECK(st_read_generation(r, &gen) == 0 && gen == 3);
    /* 4 MiB into a 1 MiB map: grown, and the reader adopts the new size. */
    CHECK(st_write(w, put_big, NULL, false) == 0);
    CHECK(st_rd_begin(r) == 0);
    const void *v;
    size_t len;
    CHECK(st_rd_get(r, ST_DB_HEALTH, "k63", &v, &len) == 0 && len == 64 * 1024);
    CHECK(st_rd_get(r, ST_DB_HEALTH, "absent", &v, &len) == MDB_NOTFOUND);
    st_rd_end(r);
    CHECK(st_reader_check(w) >= 0);
    CHECK(strlen(st_strerror(MDB_MAP_FULL)) > 0 && strlen(st_strerror(-2)) > 0);
    /* A reader cannot write. */
    CHECK(st_write(r, put_gen, &gen, false) != 0);
    st_close(r);
    st_close(w);
    /* Opening a reader where nothing was created fails cleanly. */
    char empty[] = "/tmp/bs-st-XXXXXX";
    CHECK(mkdtemp(empty) != NULL);
    CHECK(st_open(&r, empty, 0, 0) != 0 && r == NULL);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s %s", dir, empty);
    CHECK(system(cmd) == 0);
    UNIT_END("st");
}
