/*
 * brk_claim: the half-open trial claim words, one per target id, in a
 * memfd the controller creates and the workers inherit (fd
 * CTR_WORKER_CLAIMS_FD).  Claiming costs a worker no system call: one
 * compare-and-swap on shared memory.
 *
 * A word holds the epoch of the trial on offer (0: none), with BRK_CLAIMED
 * set once a worker took it.  Epochs are unique across targets and grants,
 * so a worker whose catalog generation numbers targets differently from the
 * controller's can never claim the wrong target's trial: the epoch it
 * expects (from the record it read by key) is not in that word.
 */
#include "brk.h"

#include <errno.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define REGION_BYTES (BRK_CLAIM_WORDS * sizeof(uint64_t))

int brk_claim_create(struct brk_claims *cl, int *fd)
{
    cl->words = NULL;
    cl->n = 0;
    /* Not close-on-exec: the workers are this binary exec'd again. */
    int f = memfd_create("backstop-trial-claims", 0);
    if (f < 0)
        return -errno;
    if (ftruncate(f, (off_t)REGION_BYTES) < 0) {
        int e = errno;
        close(f);
        return -e;
    }
    int rc = brk_claim_map(cl, f);
    if (rc) {
        close(f);
        return rc;
    }
    *fd = f;
    return 0;
}

int brk_claim_map(struct brk_claims *cl, int fd)
{
    /* A descriptor that is not the controller's region (a worker started
     * by hand) would map past its end and fault on the first claim. */
    struct stat st;
    if (fstat(fd, &st) < 0)
        return -errno;
    if (!S_ISREG(st.st_mode) || st.st_size < (off_t)REGION_BYTES)
        return -EINVAL;
    void *p = mmap(NULL, REGION_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED)
        return -errno;
    cl->words = p;
    cl->n = BRK_CLAIM_WORDS;
    return 0;
}

void brk_claim_unmap(struct brk_claims *cl)
{
    if (cl->words)
        munmap(cl->words, REGION_BYTES);
    cl->words = NULL;
    cl->n = 0;
}

void brk_claim_offer(struct brk_claims *cl, uint32_t tid, uint64_t epoch)
{
    if (cl->words && tid < cl->n)
        __atomic_store_n(&cl->words[tid], epoch & ~BRK_CLAIMED, __ATOMIC_RELEASE);
}

bool brk_claim_take(struct brk_claims *cl, uint32_t tid, uint64_t epoch)
{
    if (!cl->words || tid >= cl->n || epoch == 0 || (epoch & BRK_CLAIMED))
        return false;
    uint64_t want = epoch;
    return __atomic_compare_exchange_n(&cl->words[tid], &want, epoch | BRK_CLAIMED, false,
                                       __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

bool brk_claim_taken(const struct brk_claims *cl, uint32_t tid, uint64_t epoch)
{
    if (!cl->words || tid >= cl->n || epoch == 0)
        return false;
    return __atomic_load_n(&cl->words[tid], __ATOMIC_ACQUIRE) == (epoch | BRK_CLAIMED);
}
