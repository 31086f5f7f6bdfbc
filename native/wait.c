/*
 * wait.c: the glue of wait, waitAsync, notify and waitCancel: sleeping on an
 * Int32 of a map until another thread or process notifies it (mm.h's
 * mm_wait/mm_wake do the sleeping, one file per OS).
 *
 * wait() sleeps on the calling thread, in slices of MM_WAIT_SLICE_MS, and
 * between them calls into JavaScript (between_slices) to learn whether it
 * must stop: a worker being stopped (worker.terminate(), process.exit()),
 * whose thread Node waits for, or an isolate asked to terminate what runs
 * (vm's timeout and breakOnSigint, the REPL's Ctrl+C), as Atomics.wait is.
 *
 * A word of a file (a file map, a memfd, a named object) can lose its page
 * while a thread sleeps on it: the file shrinks (another process, or another
 * map's resize()), and the kernel wakes nobody for that, nor can a notify
 * reach the word any more. So every wait on such a word, wait() and
 * waitAsync() alike, sleeps at most MM_WAIT_LOSS_MS at a time: the next
 * slice's futex finds the page gone (EFAULT) and the call throws
 * ERR_MMAP_TRUNCATED. Before, a wait without a timeout slept forever there
 * (the main thread blocked, a waitAsync's promise never settled and kept the
 * process alive).
 *
 * waitAsync() sleeps on a thread of memmap's own, one per pending call, never
 * on libuv's pool (four threads by default, shared with fs, dns, crypto and
 * zlib: four pending waits would starve them). The thread's result reaches
 * JavaScript through one thread-safe function per environment, which keeps
 * the event loop alive while a call is pending. As Atomics.waitAsync, the call
 * compares the word when it is made, on the JavaScript thread: a word that
 * differs settles "not-equal" at once, with no thread; once it held the
 * value, a change the thread sees before its sleep is a store that came after
 * the call, a wake-up ("ok"; it said "not-equal" before, as if the word had
 * never held the value, and a store and notify right after the call were
 * lost). The region stays busy while
 * its thread sleeps (region.h: close() defers the unmap, resize refuses), and
 * waitCancel() (close) settles the promise at once and wakes the thread
 * through its cancel word: at once where mm_wait watches it, else within a
 * slice. When the environment ends, its cleanup hook cancels every pending
 * wait and waits for the threads before the regions can go.
 *
 * Results: MM_WAIT_OK (0, "ok"), MM_WAIT_NOT_EQUAL (1), MM_WAIT_TIMED_OUT
 * (2), or -errno (-EBADF: the map is closed).
 */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS in <sys/mman.h> under -std=c11 */
#include "glue.h"

#include <errno.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>

#if !defined(MAP_ANONYMOUS) && defined(MAP_ANON)
#define MAP_ANONYMOUS MAP_ANON /* older macOS headers, or a strict standard mode there */
#endif

/* ------------------------------------------------------------------------ */
/* Words and waits                                                          */

/* The word at byte `index` of the map, checked by region_range (live, and
 * [index, index+4) inside the mapping). Shared where another process or
 * another mapping can reach the same memory: a MAP_SHARED map of a file, a
 * memfd or a named object; an anonymous map without a descriptor, or a
 * private one, is this mapping's alone. */
static int word_of(napi_env env, napi_value handle, double index, mm_word *w, region **out, int *file,
                   uint32_t *value) {
  int err = 0;
  uint8_t *at = region_range(env, handle, index, 4, out, &err);
  if (at == NULL) return err;
  /* mm_wait needs an aligned word: src/ checks it, and the mapping starts on a page. */
  if (((uintptr_t)at & 3) != 0) return -EINVAL;
  /* Read once here, where a lost page faults into memmap's handler (a file
   * that shrank): the kernel's own read would only say EFAULT. A fault
   * counted meanwhile may have put zeros in the word's place, which would
   * then sleep on memory nobody can notify: -EFAULT, and JavaScript asks what
   * the map lost (src/waiting.ts; another map's fault: it calls again). */
  uint32_t faults = atomic_load((_Atomic uint32_t *)mm_fault_counter());
  *value = *(volatile uint32_t *)at;
  const region *r = *out;
  mirror_faults(r);
  if (atomic_load((_Atomic uint32_t *)mm_fault_counter()) != faults) return -EFAULT;
  /* A file's, a memfd's or a named object's memory: mapped without MAP_ANONYMOUS (src/mapping.ts). */
  *file = !(r->flags & MAP_ANONYMOUS);
  int shared = (r->flags & (MAP_SHARED | MAP_PRIVATE)) != MAP_PRIVATE && *file;
  return mm_word_init(w, at, shared, r->offset + (int64_t)index);
}

/* The longest sleep, in milliseconds, on a word of a file (see the top): how
 * soon a wait notices that the file lost the word's page. */
#define MM_WAIT_LOSS_MS 1000

/* The deadline of a timeout in milliseconds (+Infinity: none, -1). */
static int64_t deadline_of(double ms) {
  int64_t now = mm_now_ns();
  if (!(ms < INFINITY)) return -1;
  double ns = ceil(ms * 1e6);
  if (!(ns < (double)(INT64_MAX - now))) return -1; /* beyond three centuries: forever */
  return now + (int64_t)(ns > 0 ? ns : 0);
}

/* Set by MEMMAP_WAIT_SLICED=1 (binding.c): cut every wait into slices, as on
 * a system whose mm_wait does not watch a cancel word (macOS, Windows), so
 * that the tests run that path on Linux. */
static int force_slices = 0;

void wait_force_slices(void) { force_slices = 1; }

/* ------------------------------------------------------------------------ */
/* Notified before asleep                                                   */

/*
 * A futex keeps no record of a wake-up that found nobody asleep. A waitAsync's
 * thread goes to sleep some time after the call returned (it has to start
 * first), and a blocking wait() sleeps in slices with a call into JavaScript
 * between them: a notify in such a gap, with no store (the word still holds
 * the value, so the futex's own comparison cannot tell), woke nobody, and the
 * waiter slept out its timeout, or forever. Atomics.waitAsync makes its caller
 * a waiter when the call returns, and Atomics.wait sleeps in one piece; so
 * does memmap for a notify of this process (any thread, any environment, any
 * map of the same memory): every wait is on a process-wide registry from its
 * call until its sleep ends, keyed by its word, and a notify takes the
 * registry's waiters of its word first, oldest first, up to its count: it sets
 * their cancel word to NOTIFIED and wakes that (mm_wait watches it, or the
 * sliced wait looks at it before each sleep and between slices); the waiter
 * returns "ok". Then it asks the system to wake the rest of its count (waits
 * of other processes). A notify from another process reaches a wait only
 * while it is asleep: store, then notify (the comparison then sees it).
 *
 * Counting: a registered waiter marked asleep may be queued on the word in
 * the kernel. Where mm_wait watches the cancel word (futex_waitv), the notify
 * wakes its cancel word and waits until its sleep has returned, which takes it
 * off the word's queue too, before it asks the system for the rest: otherwise
 * the system's count could wake it a second time (counted twice, and another
 * waiter of a smaller count not woken). Where mm_wait sleeps in slices without
 * watching the cancel word (macOS, Windows, Linux before 5.16), a waiter
 * asleep is left to the system's wake-up (counted there), and its flag makes
 * it end at its slice's end if it was not in the queue yet (so with a count
 * smaller than the waiters, one more than the count may wake, never one fewer);
 * the count returned is then at least the waiters flagged, at most `count`.
 *
 * Invariants: an entry is on the registry from its wait's start until the
 * wait (a waitAsync's thread, or the failed start; wait() itself) takes it
 * off, under registry_lock, before anyone may free it; a notifier touches
 * entries only under the lock; `asleep` goes to 1 only under the lock, when
 * the cancel word is 0. `registered` is the registry's length, read without
 * the lock by notify.
 */
typedef struct reg_entry reg_entry;
struct reg_entry {
  uint64_t key[3];    /* which word (word_key) */
  uint32_t *cancel;   /* 0, or CANCELLED or NOTIFIED, set once (mm_wait_cancel) */
  _Atomic int asleep; /* 1 from just before each sleep to just after (going_to_sleep) */
  reg_entry *prev, *next;
};

enum { CANCELLED = 1, NOTIFIED = 2 };

static atomic_int registry_lock = 0;
static reg_entry *registry_head = NULL, *registry_tail = NULL;
static _Atomic uint32_t registered = 0;

static void registry_enter(void) {
  int expected = 0;
  while (!atomic_compare_exchange_weak(&registry_lock, &expected, 1)) {
    expected = 0;
    mm_yield();
  }
}

static void registry_leave(void) { atomic_store(&registry_lock, 0); }

static void registry_add(reg_entry *e) {
  registry_enter();
  e->prev = registry_tail;
  e->next = NULL;
  if (registry_tail) registry_tail->next = e; else registry_head = e;
  registry_tail = e;
  atomic_fetch_add(&registered, 1);
  registry_leave();
}

static void registry_remove(reg_entry *e) {
  registry_enter();
  if (e->prev) e->prev->next = e->next; else registry_head = e->next;
  if (e->next) e->next->prev = e->prev; else registry_tail = e->prev;
  atomic_fetch_sub(&registered, 1);
  registry_leave();
}

static int same_key(const uint64_t a[3], const uint64_t b[3]) { return a[0] == b[0] && a[1] == b[1] && a[2] == b[2]; }

/* Which word (the Int32 at byte `index` of r's map): a shared word by its
 * file's identity and its offset in the file (another map of the same file in
 * this process has another address; mm.h's key where the system fills one), a
 * private word (or one whose file has no identity) by its address. */
static void word_key(const region *r, const mm_word *w, double index, uint64_t key[3]) {
  if (w->shared && (w->key[0] != 0 || w->key[1] != 0)) {
    /* The system's own key (Windows: the section's or file's identity, named sections included). */
    key[0] = w->key[0];
    key[1] = w->key[1];
    key[2] = w->key[2];
  } else if (w->shared && r->dev != MM_NO_ID && r->ino != MM_NO_ID) {
    key[0] = r->dev;
    key[1] = r->ino;
    key[2] = (uint64_t)(r->offset + (int64_t)index); /* the word's offset in the file */
  } else {
    key[0] = key[1] = MM_NO_ID;
    key[2] = (uint64_t)(uintptr_t)w->addr;
  }
}

/* Before each sleep of a registered wait: 0 if a notify or close came (its
 * cancel word is set), else marks it asleep, under the registry's lock, so
 * that a notify sees either the mark or a wait that will see its flag. */
static int going_to_sleep(reg_entry *e) {
  registry_enter();
  int go = atomic_load((_Atomic uint32_t *)e->cancel) == 0;
  if (go) atomic_store(&e->asleep, 1);
  registry_leave();
  return go;
}

/* notify(count) in this process: up to `count` of the word's registered
 * waiters, oldest first, then the system for the rest (see above); how many
 * it woke, or -errno from the system when it woke nobody. */
static int64_t notify_word(const mm_word *word, const uint64_t key[3], int64_t count) {
  if (count <= 0) return 0;
  if (atomic_load(&registered) == 0) return mm_wake(word, count);
  const int watched = mm_wait_watches_cancel();
  int64_t n = 0, taken = 0; /* n: counted here; taken: n and those left to the system */
  registry_enter();
  for (reg_entry *e = registry_head; e != NULL && taken < count; e = e->next) {
    if (!same_key(e->key, key)) continue;
    if (atomic_load(&e->asleep) && !watched) {
      /* Counted by the system's wake-up below if it is in the queue. */
      uint32_t zero = 0;
      if (atomic_compare_exchange_strong((_Atomic uint32_t *)e->cancel, &zero, NOTIFIED)) taken++;
      continue;
    }
    if (mm_wait_cancel(e->cancel, NOTIFIED)) n++, taken++;
  }
  if (watched) {
    /* Until every waiter notified here has left its sleep (it clears asleep
     * after its futex returns; it then waits for this lock to leave the
     * registry). */
    for (;;) {
      int sleeping = 0;
      for (reg_entry *e = registry_head; e != NULL && !sleeping; e = e->next)
        sleeping = atomic_load(&e->asleep) && atomic_load((_Atomic uint32_t *)e->cancel) == NOTIFIED && same_key(e->key, key);
      if (!sleeping) break;
      mm_yield();
    }
  }
  int64_t k = count - n > 0 ? mm_wake(word, count - n) : 0;
  registry_leave();
  if (k < 0) return taken > 0 ? taken : k;
  /* Every waiter flagged here wakes ("ok"), by the system or at its slice's
   * end: at least `taken` woke, though the system may have found one left to
   * it not queued yet (it then counted 0 for it: Windows under load). */
  int64_t woke = n + k > taken ? n + k : taken;
  return woke < count ? woke : count;
}

/* ------------------------------------------------------------------------ */
/* Sleeping: the slices of a blocking wait, and every wait's sleep          */

/* What a blocking wait() does between two slices of its sleep (see the top):
 * it calls `check`, a JavaScript function of memmap's own that does nothing.
 * The call fails once the environment is being stopped (worker.terminate(),
 * process.exit(): Node-API refuses to run JavaScript in it), and when the
 * isolate was asked to terminate what runs (vm's `timeout` and
 * `breakOnSigint`, the REPL's Ctrl+C: a request V8 acts on only where
 * JavaScript checks its stack, as a call does; Atomics.wait is woken by it):
 * the wait then returns, and the termination goes on from there. Before, such
 * a wait slept on, the process hung, and a Ctrl+C that vm's watchdog took
 * never stopped it.
 * The same check runs the isolate's other interrupts (an inspector's
 * evaluation, as during Atomics.wait), which may close or resize the map: the
 * word's range is held (region_hold) from the first check on, so that its
 * addresses are never unmapped nor reused under the sleep (a closed map's
 * read zeros), and the word is found again through the handle after each
 * check. */
typedef struct {
  napi_env env;
  napi_value handle;
  double index;
  napi_value check;
  region *r;
  int held;
  region_holder hold;
  reg_entry *reg; /* the wait's entry on the registry, keyed by the word */
} between;

/* 0 to sleep on; else the wait's result: MM_WAIT_STOPPED, MM_WAIT_OK (the
 * word changed meanwhile), or -errno (-EBADF: the map was closed). */
static int between_slices(between *b, mm_word *w, uint32_t expected) {
  if (!b->held) {
    region_hold(b->r, &b->hold, (const uint8_t *)w->addr, 4);
    b->held = 1;
  }
  /* In a scope of its own: a wait() asks every slice, for as long as it
   * sleeps, and each value would otherwise live until the call returns. */
  napi_handle_scope scope;
  if (napi_open_handle_scope(b->env, &scope) != napi_ok) return MM_WAIT_STOPPED;
  napi_value recv, ignored;
  napi_status s = napi_get_undefined(b->env, &recv);
  if (s == napi_ok) s = napi_call_function(b->env, recv, b->check, 0, NULL, &ignored);
  napi_close_handle_scope(b->env, scope);
  if (s != napi_ok) return MM_WAIT_STOPPED;
  mm_word now_word;
  region *r;
  int file; /* a blocking wait sleeps in slices whatever the word (wait_word) */
  uint32_t now;
  int rc = word_of(b->env, b->handle, b->index, &now_word, &r, &file, &now);
  if (rc != 0) return rc;
  if (now_word.addr != w->addr || r != b->r) {
    /* Resized meanwhile: the word moved. The old range is let go (never
     * frees b->r: its handle, an argument of this call, still counts), the
     * new one held. */
    region_unhold(b->env, &b->hold);
    region_hold(r, &b->hold, (const uint8_t *)now_word.addr, 4);
    b->r = r;
    registry_enter();
    word_key(r, &now_word, b->index, b->reg->key);
    registry_leave();
  }
  *w = now_word;
  if (now != expected) return MM_WAIT_OK;
  return 0;
}

/* Sleeps on w while it holds `expected`, until woken, the deadline, *cancel
 * set (NULL: none), or, with `b` (a blocking wait()), what between_slices
 * says; `reg`: its entry on the registry (see "Notified before asleep"); `file`: the
 * word is a file's, whose page the file may lose meanwhile (see the top). A
 * wait cut into slices is one sleep to the caller: a word that changed
 * between two slices counts as a wake-up (its notify may have come between
 * them). */
static int wait_word(mm_word *w, uint32_t expected, int64_t deadline, uint32_t *cancel, reg_entry *reg, between *b,
                     int file) {
  int sliced = b != NULL || (cancel != NULL && (force_slices || !mm_wait_watches_cancel()));
  int64_t slice_ns = (int64_t)(sliced ? MM_WAIT_SLICE_MS : MM_WAIT_LOSS_MS) * 1000000;
  sliced = sliced || file;
  int efaults = 3; /* a word the kernel cannot read, though the thread can: EFAULT after a few tries */
  for (int first = 1;; first = 0) {
    int64_t until = deadline;
    if (sliced) {
      int64_t slice = mm_now_ns() + slice_ns;
      if (until < 0 || slice < until) until = slice;
    }
    /* Set before the sleep (a notify of this process, close): a sleep that
     * does not watch it would not see it until its slice ended. A registered
     * wait says it is going to sleep under the registry's lock. */
    if (reg != NULL && !going_to_sleep(reg)) return MM_WAIT_STOPPED;
    if (reg == NULL && cancel != NULL && atomic_load((_Atomic uint32_t *)cancel) != 0) return MM_WAIT_STOPPED;
    int rc = mm_wait(w, expected, until, cancel);
    if (reg != NULL) atomic_store(&reg->asleep, 0);
    if (rc == -EFAULT && efaults-- > 0) {
      /* The kernel could not read the word: its page is past the end of a
       * file that shrank since the wait began. Touched here, the fault is
       * contained (zeros in its place) and counted: -EFAULT, and JavaScript
       * throws ERR_MMAP_TRUNCATED. Not counted: the file grew back; again. */
      uint32_t faults = atomic_load((_Atomic uint32_t *)mm_fault_counter());
      (void)*(volatile uint32_t *)w->addr;
      if (atomic_load((_Atomic uint32_t *)mm_fault_counter()) != faults) return -EFAULT;
      continue;
    }
    if (rc == MM_WAIT_NOT_EQUAL && !first) return MM_WAIT_OK;
    if (rc != MM_WAIT_TIMED_OUT) return rc;
    if (deadline >= 0 && mm_now_ns() >= deadline) return MM_WAIT_TIMED_OUT;
    if (cancel != NULL && atomic_load((_Atomic uint32_t *)cancel) != 0) return MM_WAIT_STOPPED;
    if (b != NULL && (rc = between_slices(b, w, expected)) != 0) return rc;
  }
}

/* ------------------------------------------------------------------------ */
/* Pending waitAsync calls                                                  */

typedef struct hub hub;

/* One pending waitAsync. The JavaScript thread owns it (on its hub's list)
 * from the call until it is finished; its thread reads word, expected,
 * deadline and cancel and writes result, then hands it back through the
 * hub's thread-safe function and touches it no more. */
typedef struct waiter {
  region *r; /* busy while the thread runs: [word.addr, +4) stays mapped */
  mm_word word;
  uint32_t expected;
  int file; /* a file's word (wait_word) */
  int64_t deadline;
  /* 0 while the wait goes on; set once (mm_wait_cancel) to CANCELLED by
   * waitCancel or the cleanup hook, or to NOTIFIED by a notify of this process
   * (see "Notified before asleep"). */
  uint32_t cancel;
  reg_entry reg; /* on the registry while its thread may still sleep */
  int result;
  int settled; /* the promise is settled already (waitCancel) */
  /* Set by the thread once the thread-safe function took w: the runtime then
   * calls waiter_done with it once, also after the environment ended. */
  int handed;
  /* waiter_done came with no environment before the cleanup hook (Node's
   * end of the function's queue): the hook frees w. */
  int delivered;
  /* The cleanup hook finished w and left it to waiter_done to free: the
   * runtime called no waiter_done for it before the environment ended (Bun
   * calls it afterwards, with an environment: nothing but w may be touched). */
  int orphaned;
  napi_deferred deferred;
  hub *hub;
  struct waiter *prev, *next; /* on the hub's pending list (JavaScript thread) */
} waiter;

/* Per environment: the functions' data, freed by its cleanup hook. */
struct hub {
  napi_env env;
  napi_threadsafe_function tsfn; /* made by the first waitAsync */
  waiter *pending;               /* JavaScript thread only */
  size_t count;                  /* pending waits: the tsfn keeps the loop alive while > 0 */
  _Atomic uint32_t running;      /* waiter threads that still use this hub */
};

/* Bumped by every waiter thread as it leaves: the cleanup hook sleeps on it
 * until its hub's threads are gone (a word of its own would be freed with the
 * hub while the last thread still wakes it). */
static _Atomic uint32_t departures = 0;

static void thread_departs(hub *h) {
  atomic_fetch_sub(&h->running, 1); /* the last touch of h */
  atomic_fetch_add(&departures, 1);
  mm_word w;
  mm_word_init(&w, (void *)&departures, 0, 0);
  mm_wake(&w, INT64_MAX);
}

static void await_threads(hub *h) {
  mm_word w;
  mm_word_init(&w, (void *)&departures, 0, 0);
  for (;;) {
    uint32_t seen = atomic_load(&departures);
    if (atomic_load(&h->running) == 0) return;
    mm_wait(&w, seen, mm_now_ns() + (int64_t)MM_WAIT_SLICE_MS * 1000000, NULL);
  }
}

static void waiter_main(void *data) {
  waiter *w = data;
  hub *h = w->hub;
  w->result = wait_word(&w->word, w->expected, w->deadline, &w->cancel, &w->reg, NULL, w->file);
  registry_remove(&w->reg); /* no notifier touches w after this */
  /* The word held the value when the call was made (js_wait_async): it changed since. */
  if (w->result == MM_WAIT_NOT_EQUAL) w->result = MM_WAIT_OK;
  /* Woken through its cancel word by a notify of this process (not close). */
  if (atomic_load((_Atomic uint32_t *)&w->cancel) == NOTIFIED && w->result != -EFAULT) w->result = MM_WAIT_OK;
  /* napi_closing while the environment ends: its cleanup hook finishes w.
   * `handed` is read by the cleanup hook only once this thread departed, and
   * written before the call: once the function took w, waiter_done may free
   * it at any moment (a write after the call wrote to freed memory: ASan,
   * wait.test.mjs in the copying mode). Not taken: w is still this thread's. */
  w->handed = 1;
  if (napi_call_threadsafe_function(h->tsfn, w, napi_tsfn_blocking) != napi_ok) w->handed = 0;
  thread_departs(h);
}

static void pending_unlink(hub *h, waiter *w) {
  if (w->prev) w->prev->next = w->next; else h->pending = w->next;
  if (w->next) w->next->prev = w->prev;
  if (--h->count == 0 && h->tsfn != NULL) napi_unref_threadsafe_function(h->env, h->tsfn);
}

/* Settles w's promise with `result` unless waitCancel did already. */
static void settle(napi_env env, waiter *w, int64_t result) {
  if (w->settled) return;
  w->settled = 1;
  napi_resolve_deferred(env, w->deferred, ret_int(env, result));
}

/* On the JavaScript thread, once w's thread is done with it. env is NULL when
 * the environment ends with w still queued (Node): the cleanup hook finishes
 * it, or finished it already (orphaned). A runtime may also call this after
 * the cleanup hook with an environment (Bun): then w alone is left, and its
 * hub, region and promise are gone. */
static void waiter_done(napi_env env, napi_value js_cb, void *context, void *data) {
  (void)js_cb;
  (void)context;
  waiter *w = data;
  if (w->orphaned) {
    free(w);
    return;
  }
  if (env == NULL) {
    w->delivered = 1;
    return;
  }
  pending_unlink(w->hub, w);
  if (w->result == -EFAULT) mirror_faults(w->r);
  settle(env, w, w->result == MM_WAIT_STOPPED ? -EBADF : w->result);
  region_idle(env, w->r);
  free(w);
}

/* The hub's thread-safe function, made once; 0 or -ENOMEM. Unreferenced
 * while nothing is pending, so that it alone keeps no process alive. */
static int hub_tsfn(napi_env env, hub *h) {
  if (h->tsfn != NULL) return 0;
  napi_value name;
  if (napi_create_string_utf8(env, "memmap:waitAsync", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_threadsafe_function(env, NULL, NULL, name, 0, 1, NULL, NULL, h, waiter_done, &h->tsfn) !=
          napi_ok) {
    h->tsfn = NULL;
    return -ENOMEM;
  }
  napi_unref_threadsafe_function(env, h->tsfn);
  return 0;
}

/* The environment ends: wake every pending wait, wait for the threads, and
 * give each region back (the promises stay pending: no JavaScript runs any
 * more). Runs before the regions' own cleanup (hooks run last-registered
 * first, and Node-API's instance data goes after them). */
static void hub_cleanup(void *arg) {
  hub *h = arg;
  for (waiter *w = h->pending; w != NULL; w = w->next) mm_wait_cancel(&w->cancel, CANCELLED);
  await_threads(h);
  for (waiter *w = h->pending, *next; w != NULL; w = next) {
    next = w->next;
    region_idle(h->env, w->r);
    /* Still to come to waiter_done: it frees w (Bun calls it after this
     * hook, with an environment: before, w was freed here and its call
     * read it, and the region and hub through it, and crashed). */
    if (w->handed && !w->delivered) w->orphaned = 1;
    else free(w);
  }
  free(h);
}

/* ------------------------------------------------------------------------ */
/* Glue                                                                     */

/* The hub, from a function's data. */
#define GET_HUB_ARGS(n)                                                                        \
  size_t argc = n;                                                                             \
  napi_value argv[GLUE_MAX_ARGS];                                                              \
  hub *h = NULL;                                                                               \
  if (napi_get_cb_info(env, info, &argc, argv, NULL, (void **)&h) != napi_ok || h == NULL) return NULL

/* wait(handle, index, value, timeoutMs, check) -> 0 | 1 | 2 | -errno.
 * check: a JavaScript function that does nothing, called between the slices
 * of the sleep (between_slices). */
static napi_value js_wait(napi_env env, napi_callback_info info) {
  GET_ARGS(5);
  uint32_t cancel = 0; /* NOTIFIED by a notify of this process (see "Notified before asleep") */
  reg_entry reg = {.cancel = &cancel};
  between b = {env, argv[0], num(env, argv[1]), argv[4], NULL, 0, {0}, &reg};
  mm_word w;
  int file = 0;
  uint32_t now; /* the futex compares again, in the same step as the sleep */
  int rc = word_of(env, argv[0], b.index, &w, &b.r, &file, &now);
  if (rc != 0) return ret_int(env, rc);
  /* Compared before it is a waiter, as Atomics.wait does: a word that differs
   * is "not-equal" and never on the registry. Before, it was registered
   * first, and a notify of this process in the moment before the futex's own
   * comparison counted it as woken and made it "ok". */
  const uint32_t expected = (uint32_t)i32(env, argv[2]);
  if (now != expected) return ret_int(env, MM_WAIT_NOT_EQUAL);
  /* Sound: the word is inside the live mapping (word_of), and only this
   * thread can close or resize it: between slices, where the word is held
   * and found again. */
  word_key(b.r, &w, b.index, reg.key);
  registry_add(&reg);
  rc = wait_word(&w, expected, deadline_of(num(env, argv[3])), &cancel, &reg, &b, file);
  registry_remove(&reg);
  /* Flagged by a notify of this process before it left the registry: that
   * notify counted it, so it was woken ("ok"), also when the flag came after
   * its last sleep had ended (it said "timed-out" while the notify counted it,
   * and a waiter of a smaller count may have been left asleep for it). */
  if (rc >= 0 && rc != MM_WAIT_OK && atomic_load((_Atomic uint32_t *)&cancel) == NOTIFIED) rc = MM_WAIT_OK;
  if (rc == -EFAULT) mirror_faults(b.r);
  if (b.held) region_unhold(env, &b.hold); /* never frees b.r: the handle still counts */
  /* Stopped: the worker is ending, or the isolate terminating what runs:
   * nobody reads the result. */
  return ret_int(env, rc == MM_WAIT_STOPPED ? MM_WAIT_TIMED_OUT : rc);
}

/* waitAsync(handle, index, value, timeoutMs) -> Promise<0 | 1 | 2 | -errno>;
 * -EBADF when the map is (or gets) closed. */
static napi_value js_wait_async(napi_env env, napi_callback_info info) {
  GET_HUB_ARGS(4);
  napi_value promise;
  napi_deferred deferred;
  if (napi_create_promise(env, &deferred, &promise) != napi_ok) return NULL;
  region *r;
  mm_word word;
  int file = 0;
  uint32_t now = 0;
  const uint32_t expected = (uint32_t)i32(env, argv[2]);
  int rc = word_of(env, argv[0], num(env, argv[1]), &word, &r, &file, &now);
  if (rc == 0 && now != expected) {
    napi_resolve_deferred(env, deferred, ret_int(env, MM_WAIT_NOT_EQUAL));
    return promise;
  }
  waiter *w = rc != 0 ? NULL : calloc(1, sizeof *w);
  if (rc == 0 && w == NULL) rc = -ENOMEM;
  if (rc == 0) rc = hub_tsfn(env, h);
  if (rc != 0) {
    free(w);
    napi_resolve_deferred(env, deferred, ret_int(env, rc));
    return promise;
  }
  *w = (waiter){.r = r,
                .word = word,
                .expected = expected,
                .file = file,
                .deadline = deadline_of(num(env, argv[3])),
                .deferred = deferred,
                .hub = h,
                .next = h->pending};
  word_key(r, &word, num(env, argv[1]), w->reg.key);
  w->reg.cancel = &w->cancel;
  region_busy(r);
  if (h->pending) h->pending->prev = w;
  h->pending = w;
  if (h->count++ == 0) napi_ref_threadsafe_function(env, h->tsfn);
  atomic_fetch_add(&h->running, 1);
  registry_add(&w->reg); /* a notify from now on reaches it (see "Notified before asleep") */
  rc = mm_thread_start(waiter_main, w);
  if (rc != 0) {
    registry_remove(&w->reg);
    atomic_fetch_sub(&h->running, 1);
    pending_unlink(h, w);
    settle(env, w, rc);
    region_idle(env, r);
    free(w);
  }
  return promise;
}

/* notify(handle, index, count) -> woken | -errno; count +Infinity: all. */
static napi_value js_notify(napi_env env, napi_callback_info info) {
  GET_ARGS(3);
  region *r;
  mm_word w;
  int file = 0;
  uint32_t now;
  int rc = word_of(env, argv[0], num(env, argv[1]), &w, &r, &file, &now);
  if (rc != 0) return ret_int(env, rc);
  double count = num(env, argv[2]);
  int64_t want = count >= (double)INT64_MAX ? INT64_MAX : (int64_t)count;
  uint64_t key[3];
  word_key(r, &w, num(env, argv[1]), key);
  return ret_int(env, notify_word(&w, key, want));
}

/* waitCancel(handle) -> how many pending waitAsync calls on the map it ended:
 * each settles now with -EBADF, and its thread is woken to give the region
 * back. Called by close() before unmap. */
static napi_value js_wait_cancel(napi_env env, napi_callback_info info) {
  GET_HUB_ARGS(1);
  region *r = region_get(env, argv[0]);
  int64_t n = 0;
  for (waiter *w = h->pending; r != NULL && w != NULL; w = w->next) {
    if (w->r != r || w->settled) continue;
    /* Notified before the close: it settles "ok" as soon as its thread is done. */
    if (!mm_wait_cancel(&w->cancel, CANCELLED)) continue;
    settle(env, w, -EBADF);
    n++;
  }
  return ret_int(env, n);
}

/* waitPending() -> the number of waitAsync calls of this environment whose
 * thread has not finished (tests). */
static napi_value js_wait_pending(napi_env env, napi_callback_info info) {
  GET_HUB_ARGS(0);
  return ret_int(env, (int64_t)h->count);
}

void mm_register_wait(napi_env env, napi_value exports) {
  static const glue_fn fns[] = {
      {"wait", js_wait},
      {"waitAsync", js_wait_async},
      {"notify", js_notify},
      {"waitCancel", js_wait_cancel},
      {"waitPending", js_wait_pending},
  };
  hub *h = calloc(1, sizeof *h);
  if (h == NULL) return;
  h->env = env;
  if (napi_add_env_cleanup_hook(env, hub_cleanup, h) != napi_ok) {
    free(h);
    return;
  }
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value f;
    napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, h, &f);
    napi_set_named_property(env, exports, fns[i].name, f);
  }
}
