/*
 * wait-darwin.c: waiting on a word of a mapping on macOS (mm.h).
 *
 * macOS 14.4 has a public API, os_sync_wait_on_address (with
 * OS_SYNC_WAIT_ON_ADDRESS_SHARED for memory that other processes map), looked
 * up at run time (dlsym) so that the addon loads on older systems too; there
 * the older __ulock_wait/__ulock_wake of libSystem (UL_COMPARE_AND_WAIT_SHARED
 * for a shared word), also looked up, do the same. Neither reports a value
 * that differs: both return at once, as for a wake-up, so the word is
 * compared here first (NOT_EQUAL) and a return is a wake-up ("ok"; a value
 * that changed between the two reads counts as one). Neither can watch a
 * second word (mm_wait_watches_cancel is 0): the glue cuts cancellable waits
 * into slices. Neither says how many it woke: mm_wake wakes one at a time and
 * counts, up to WAKE_ROUNDS, and wakes whoever is left all at once after that.
 *
 * Written for macOS and compiled on Linux only (gcc -fsyntax-only, see
 * test/wait.test.mjs): it has not run on macOS.
 */
#define _DARWIN_C_SOURCE
#define _GNU_SOURCE /* RTLD_DEFAULT in glibc's <dlfcn.h>, for the Linux syntax check */
#include "mm.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>

/* <os/os_sync_wait_on_address.h> (macOS 14.4) */
#define OS_SYNC_WAIT_ON_ADDRESS_SHARED 1u
#define OS_SYNC_WAKE_BY_ADDRESS_SHARED 1u
#define OS_CLOCK_MACH_ABSOLUTE_TIME 32u
typedef int (*os_wait_fn)(void *addr, uint64_t value, size_t size, uint32_t flags);
typedef int (*os_wait_timeout_fn)(void *addr, uint64_t value, size_t size, uint32_t flags, uint32_t clockid,
                                  uint64_t timeout_ns);
typedef int (*os_wake_fn)(void *addr, size_t size, uint32_t flags);

/* <sys/ulock.h> of xnu (private, stable since macOS 10.12) */
#define UL_COMPARE_AND_WAIT 1u
#define UL_COMPARE_AND_WAIT_SHARED 3u
#define ULF_WAKE_ALL 0x00000100u
#define ULF_NO_ERRNO 0x01000000u
typedef int (*ulock_wait_fn)(uint32_t operation, void *addr, uint64_t value, uint32_t timeout_us);
typedef int (*ulock_wake_fn)(uint32_t operation, void *addr, uint64_t wake_value);

/* At most this many single wake-ups for "all" before one that wakes the rest:
 * a waiter that waits again at once could otherwise be counted forever. */
#define WAKE_ROUNDS 4096

static struct {
  os_wait_fn os_wait;
  os_wait_timeout_fn os_wait_timeout;
  os_wake_fn os_wake_any, os_wake_all;
  ulock_wait_fn ulock_wait;
  ulock_wake_fn ulock_wake;
} api;

static pthread_once_t resolved = PTHREAD_ONCE_INIT;

/* Looks the functions up, once (pthread_once). */
static void lookup(void) {
  /* dlsym returns functions as object pointers, as POSIX allows. */
  api.os_wait = (os_wait_fn)dlsym(RTLD_DEFAULT, "os_sync_wait_on_address");
  api.os_wait_timeout = (os_wait_timeout_fn)dlsym(RTLD_DEFAULT, "os_sync_wait_on_address_with_timeout");
  api.os_wake_any = (os_wake_fn)dlsym(RTLD_DEFAULT, "os_sync_wake_by_address_any");
  api.os_wake_all = (os_wake_fn)dlsym(RTLD_DEFAULT, "os_sync_wake_by_address_all");
  if (!api.os_wait || !api.os_wait_timeout || !api.os_wake_any || !api.os_wake_all) api.os_wait = NULL;
  api.ulock_wait = (ulock_wait_fn)dlsym(RTLD_DEFAULT, "__ulock_wait");
  api.ulock_wake = (ulock_wake_fn)dlsym(RTLD_DEFAULT, "__ulock_wake");
  if (!api.ulock_wait || !api.ulock_wake) api.ulock_wait = NULL;
}

static void resolve(void) { pthread_once(&resolved, lookup); }

int mm_wait_watches_cancel(void) { return 0; }

int mm_wait_cancel(uint32_t *cancel, uint32_t value) {
  uint32_t zero = 0;
  return atomic_compare_exchange_strong((_Atomic uint32_t *)cancel, &zero, value);
}

/* One call of os_sync_wait_on_address: 0 woken (or the value differed),
 * -ETIMEDOUT, -EINTR, or another -errno. */
static int os_sleep(const mm_word *w, uint32_t expected, int64_t until) {
  uint32_t flags = w->shared ? OS_SYNC_WAIT_ON_ADDRESS_SHARED : 0;
  int rc;
  if (until < 0) {
    rc = api.os_wait(w->addr, expected, 4, flags);
  } else {
    int64_t left = until - mm_now_ns();
    if (left <= 0) return -ETIMEDOUT;
    /* A relative timeout in nanoseconds (0 is refused). */
    rc = api.os_wait_timeout(w->addr, expected, 4, flags, OS_CLOCK_MACH_ABSOLUTE_TIME, (uint64_t)left);
  }
  return rc >= 0 ? 0 : -errno;
}

/* One call of __ulock_wait, whose timeout is 32-bit microseconds (0: none). */
static int ulock_sleep(const mm_word *w, uint32_t expected, int64_t until) {
  uint32_t op = (w->shared ? UL_COMPARE_AND_WAIT_SHARED : UL_COMPARE_AND_WAIT) | ULF_NO_ERRNO;
  uint32_t us = 0;
  if (until >= 0) {
    int64_t left = until - mm_now_ns();
    if (left <= 0) return -ETIMEDOUT;
    int64_t u = (left + 999) / 1000;
    us = u > UINT32_MAX ? UINT32_MAX : (uint32_t)u; /* longer: the caller loops */
  }
  int rc = api.ulock_wait(op, w->addr, expected, us);
  return rc >= 0 ? 0 : rc;
}

int mm_wait(const mm_word *w, uint32_t expected, int64_t until, uint32_t *cancel) {
  (void)cancel; /* not watched: the glue slices (mm_wait_watches_cancel) */
  resolve();
  if (api.os_wait == NULL && api.ulock_wait == NULL) return -ENOSYS;
  if (atomic_load((_Atomic uint32_t *)w->addr) != expected) return MM_WAIT_NOT_EQUAL;
  for (;;) {
    int rc = api.os_wait != NULL ? os_sleep(w, expected, until) : ulock_sleep(w, expected, until);
    if (rc == 0) return MM_WAIT_OK;
    if (rc == -ETIMEDOUT) {
      /* __ulock_wait's 32-bit microseconds may end before a far deadline. */
      if (until >= 0 && mm_now_ns() >= until) return MM_WAIT_TIMED_OUT;
      continue;
    }
    if (rc == -EINTR) continue;
    return rc;
  }
}

/* Wakes one waiter: 1, 0 when there was none (ENOENT), or -errno. */
static int wake_one(const mm_word *w) {
  if (api.os_wait != NULL) {
    if (api.os_wake_any(w->addr, 4, w->shared ? OS_SYNC_WAKE_BY_ADDRESS_SHARED : 0) == 0) return 1;
    return errno == ENOENT ? 0 : -errno;
  }
  uint32_t op = (w->shared ? UL_COMPARE_AND_WAIT_SHARED : UL_COMPARE_AND_WAIT) | ULF_NO_ERRNO;
  int rc = api.ulock_wake(op, w->addr, 0);
  if (rc >= 0) return 1;
  return rc == -ENOENT ? 0 : rc;
}

static void wake_rest(const mm_word *w) {
  if (api.os_wait != NULL) api.os_wake_all(w->addr, 4, w->shared ? OS_SYNC_WAKE_BY_ADDRESS_SHARED : 0);
  else api.ulock_wake((w->shared ? UL_COMPARE_AND_WAIT_SHARED : UL_COMPARE_AND_WAIT) | ULF_NO_ERRNO | ULF_WAKE_ALL, w->addr, 0);
}

int64_t mm_wake(const mm_word *w, int64_t count) {
  resolve();
  if (api.os_wait == NULL && api.ulock_wait == NULL) return -ENOSYS;
  int64_t n = 0;
  while (n < count) {
    if (n == WAKE_ROUNDS) {
      wake_rest(w); /* the rest, uncounted */
      break;
    }
    int rc = wake_one(w);
    if (rc == -EINTR) continue;
    if (rc < 0) return n > 0 ? n : rc;
    if (rc == 0) break;
    n++;
  }
  return n;
}
