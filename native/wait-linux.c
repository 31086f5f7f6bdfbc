/*
 * wait-linux.c: waiting on a word of a mapping with futex(2) (mm.h).
 *
 * A shared word is waited on without FUTEX_PRIVATE_FLAG: the kernel keys it
 * by the page's file and offset (a file, a memfd, a POSIX shared-memory
 * object), so a waiter in another process, or in another mapping of the same
 * file in this one, is woken. A private word (MAP_PRIVATE, plain anonymous
 * memory) is keyed by this process and the address, which is cheaper.
 *
 * A wait that can be cancelled (waitAsync) uses futex_waitv(2) (Linux 5.16)
 * on two words at once, the map's and a cancel word of this process, so that
 * close() ends it at once; an older kernel says ENOSYS, and the glue then cuts
 * the wait into slices instead (mm_wait_watches_cancel).
 */
#define _GNU_SOURCE
#include "mm.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* futex_waitv(2), from Linux 5.16; older headers lack it. */
#ifndef SYS_futex_waitv
#define SYS_futex_waitv 449
#endif
#define MM_FUTEX2_SIZE_U32 0x02
#define MM_FUTEX2_PRIVATE 128
struct mm_futex_waitv {
  uint64_t val;
  uint64_t uaddr;
  uint32_t flags;
  uint32_t reserved;
};

static int private_flag(const mm_word *w) { return w->shared ? 0 : FUTEX_PRIVATE_FLAG; }

static struct timespec timespec_of(int64_t ns) {
  struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000), .tv_nsec = (long)(ns % 1000000000)};
  return ts;
}

/* -1: not asked yet; 0: ENOSYS (an older kernel, or a seccomp filter); 1: there. */
static atomic_int waitv_state = -1;

int mm_wait_watches_cancel(void) {
  int state = atomic_load(&waitv_state);
  if (state < 0) {
    /* An empty list: EINVAL where the call exists, ENOSYS where it does not. */
    state = syscall(SYS_futex_waitv, NULL, 0, 0, NULL, CLOCK_MONOTONIC) == 0 || errno != ENOSYS;
    atomic_store(&waitv_state, state);
  }
  return state;
}

/* Both words at once; the result as mm_wait's, or -ENOSYS. */
static int wait_two(const mm_word *w, uint32_t expected, const struct timespec *deadline, uint32_t *cancel) {
  struct mm_futex_waitv v[2] = {
      {.val = expected, .uaddr = (uintptr_t)w->addr, .flags = MM_FUTEX2_SIZE_U32 | (w->shared ? 0 : MM_FUTEX2_PRIVATE)},
      {.val = 0, .uaddr = (uintptr_t)cancel, .flags = MM_FUTEX2_SIZE_U32 | MM_FUTEX2_PRIVATE},
  };
  for (;;) {
    long rc = syscall(SYS_futex_waitv, v, 2, 0, deadline, CLOCK_MONOTONIC);
    if (rc >= 0) {
      return rc == 1 || atomic_load((_Atomic uint32_t *)cancel) != 0 ? MM_WAIT_STOPPED : MM_WAIT_OK;
    }
    switch (errno) {
    case EINTR:
      continue; /* the deadline is absolute: the same call again */
    case EAGAIN:
      return atomic_load((_Atomic uint32_t *)cancel) != 0 ? MM_WAIT_STOPPED : MM_WAIT_NOT_EQUAL;
    case ETIMEDOUT:
      return MM_WAIT_TIMED_OUT;
    case ENOSYS:
      atomic_store(&waitv_state, 0);
      return -ENOSYS;
    default:
      return -errno;
    }
  }
}

int mm_wait(const mm_word *w, uint32_t expected, int64_t until, uint32_t *cancel) {
  struct timespec ts;
  const struct timespec *deadline = NULL;
  if (until >= 0) {
    ts = timespec_of(until);
    deadline = &ts;
  }
  if (cancel != NULL && mm_wait_watches_cancel()) {
    int rc = wait_two(w, expected, deadline, cancel);
    if (rc != -ENOSYS) return rc;
  }
  /* FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC deadline, so a
   * signal (EINTR) restarts the same call with the time that remains. */
  for (;;) {
    long rc = syscall(SYS_futex, w->addr, FUTEX_WAIT_BITSET | private_flag(w), expected, deadline, NULL,
                      FUTEX_BITSET_MATCH_ANY);
    if (rc == 0) return MM_WAIT_OK;
    switch (errno) {
    case EINTR:
      continue;
    case EAGAIN:
      return MM_WAIT_NOT_EQUAL;
    case ETIMEDOUT:
      return MM_WAIT_TIMED_OUT;
    default:
      return -errno;
    }
  }
}

int mm_wait_cancel(uint32_t *cancel, uint32_t value) {
  uint32_t zero = 0;
  if (!atomic_compare_exchange_strong((_Atomic uint32_t *)cancel, &zero, value)) return 0;
  syscall(SYS_futex, cancel, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, INT_MAX, NULL, NULL, 0);
  return 1;
}

int64_t mm_wake(const mm_word *w, int64_t count) {
  /* FUTEX_WAKE wakes one waiter for a count of 0 (the kernel counts after
   * each wake-up): nobody is asked for, nobody is woken. */
  if (count <= 0) return 0;
  int n = count > INT_MAX ? INT_MAX : (int)count;
  long rc = syscall(SYS_futex, w->addr, FUTEX_WAKE | private_flag(w), n, NULL, NULL, 0);
  return rc >= 0 ? rc : -errno;
}
