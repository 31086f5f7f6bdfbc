/*
 * fault.c: the POSIX signal handlers of fault containment, so that no
 * JavaScript using memmap's public API can kill the process (or hang it).
 *
 * Two faults are ours to contain, and only inside memmap's own mappings
 * (guard.c says what containment does with each):
 * - SIGSEGV (SEGV_ACCERR) on a read-only mapping: a write through a view;
 * - SIGBUS on a file mapping: past the end of a file that shrank under the
 *   map, or an I/O error inside it (a full disk writing into a hole, EIO).
 * Every other fault goes to the handler installed before ours (V8's
 * WebAssembly trap handler among them), or to the default action; so does
 * every SIGSEGV or SIGBUS sent by kill(), whatever its address.
 *
 * Staying on top. Node installs libuv's handler for a signal when JavaScript
 * adds a process.on('SIGBUS') (or 'SIGSEGV') listener, over ours, and puts
 * back the default action when the last listener goes. libuv's handler only
 * notes the signal for the event loop and returns: a fault in a truncated
 * page would then repeat forever, and the process hang. mm_fault_ensure puts
 * ours back on top, chaining to whatever is there now; src/binding.ts calls
 * it after Node's own 'newListener'/'removeListener' listeners, and
 * binding.c at every new map.
 */
#define _GNU_SOURCE
#include "platform.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

/* The handlers to chain to, SIGSEGV and SIGBUS, in two generations: a
 * handler running on another thread reads the current one while
 * mm_fault_ensure writes the other, then switches. */
static struct sigaction chained[2][2];
static _Atomic unsigned generation = 0;
static _Atomic int installed = 0;
static _Atomic int ensuring = 0;

/* Node's handler for SIGSEGV, SIGBUS (libuv's), which src/binding.ts keeps
 * installed under memmap's once JavaScript listened for the signal (a
 * listener of its own that it never removes: see mm_fault_listening), and
 * whether JavaScript listens now. While nobody listens, a signal chained to
 * Node's handler takes the default action, as it would with no listener. */
static _Atomic uintptr_t node_handler[2];
/* The handlers memmap chained when it installed its own (SIGSEGV, SIGBUS). */
static _Atomic uintptr_t at_install[2];
/* The handlers in place before memmap's was first installed (SIGSEGV,
 * SIGBUS): where a signal goes round a ring of handlers (chain). */
static struct sigaction original[2];
static _Atomic int listening[2] = {1, 1};

static void on_fault(int sig, siginfo_t *info, void *ctx);

/* The function a sigaction calls, as a number. */
static uintptr_t handler_of(const struct sigaction *sa) {
  return (sa->sa_flags & SA_SIGINFO) ? (uintptr_t)sa->sa_sigaction : (uintptr_t)sa->sa_handler;
}

/* Signals this copy of the addon is passing on now, so that a handler that
 * calls it back with the same signal is noticed (see chain). One entry per
 * thread that chains at this moment; each names the signal by its siginfo
 * (on the signal frame of that thread's stack), the thread, and chain's
 * frame. A handler that never returns (siglongjmp) leaves its entry behind:
 * it is taken for one in use only below the frame it names, where that
 * frame is live (a later signal's siginfo at the same address lies above
 * it), and is taken over by the next signal found at the same siginfo. */
#define MM_CHAINING 64
static struct {
  _Atomic uintptr_t info;
  _Atomic uintptr_t thread;
  _Atomic uintptr_t frame;
  _Atomic int round;
} chaining[MM_CHAINING];

/* The entry of this signal on this thread, or -1; *stale: an entry left
 * behind at the same siginfo (reusable). */
static int chaining_find(uintptr_t info, uintptr_t self, uintptr_t frame, int *stale) {
  *stale = -1;
  for (int k = 0; k < MM_CHAINING; k++) {
    if (atomic_load(&chaining[k].info) != info || atomic_load(&chaining[k].thread) != self) continue;
    if (atomic_load(&chaining[k].frame) > frame) return k;
    *stale = k;
  }
  return -1;
}

/* Passes a signal that is not memmap's on: to the handler chained when
 * memmap's was put on top, to Node's, or to the default action.
 *
 * Chains can close into a ring: another copy of this addon (two versions of
 * the package in one process), or any module that also keeps its handler on
 * top by chaining to whatever was there, puts its handler over memmap's,
 * chaining to it; memmap's next map puts its own back on top, chaining to
 * that one. A signal neither contains then went from one to the other for
 * ever (a hang, or SIGSEGV once the stack ran out), and never reached V8's
 * WebAssembly trap handler, nor the default action. So each copy notes the
 * signals it passes on: called again with one of them (by the ring), it
 * passes it to the handler it chained when it was first installed, which was
 * there before it (and so goes down towards the handlers installed before
 * any ring); a third time, to the default action. */
static void chain(int sig, siginfo_t *info, void *ctx) {
  int i = sig == SIGBUS;
  const struct sigaction *prev = &chained[atomic_load(&generation) & 1][i];
  uintptr_t self = mm__thread_id(), frame = (uintptr_t)__builtin_frame_address(0), key = (uintptr_t)info;
  int stale, mine = -1, round = 0;
  int k = chaining_find(key, self, frame, &stale);
  if (k >= 0) {
    round = atomic_fetch_add(&chaining[k].round, 1) + 1;
  } else {
    /* The entry left behind at this siginfo, or a free one; none free: not
     * noted, and a ring then goes on as before. */
    mine = stale;
    for (int n = 0; n < MM_CHAINING && mine < 0; n++) {
      uintptr_t expected = 0;
      if (atomic_compare_exchange_strong(&chaining[n].info, &expected, key)) mine = n;
    }
    if (mine >= 0) {
      atomic_store(&chaining[mine].thread, self);
      atomic_store(&chaining[mine].frame, frame);
      atomic_store(&chaining[mine].round, 0);
    }
  }
  if (round == 1) prev = &original[i];
  uintptr_t node = atomic_load(&node_handler[i]);
  if (round > 1) {
    prev = NULL; /* round the ring twice: the default action */
  } else if (node != 0 && handler_of(prev) == node && !atomic_load(&listening[i])) {
    prev = NULL; /* Node's handler, kept for no listener: the default action */
  } else if (prev->sa_flags & SA_SIGINFO) {
    if (prev->sa_sigaction != NULL) {
      prev->sa_sigaction(sig, info, ctx);
      goto done;
    }
  } else if (prev->sa_handler == SIG_IGN) {
    goto done;
  } else if (prev->sa_handler != SIG_DFL) {
    prev->sa_handler(sig);
    goto done;
  }
  /* Default action: restore it. A fault returns, the faulting instruction runs
   * again and the kernel delivers the signal with its default effect; a signal
   * sent by kill() or raise() is raised again. */
  signal(sig, SIG_DFL);
  if (info->si_code <= 0) raise(sig);
done:
  if (mine >= 0) atomic_store(&chaining[mine].info, 0);
}

/* Microseconds a handler sleeps between finding a fault's guard and
 * containing it: 0, or MEMMAP_TEST_FAULT_PAUSE_US (binding.c), which widens
 * that window so that the tests can close or resize the map inside it. */
static int pause_us = 0;

void mm_fault_test_pause(int us) { pause_us = us > 0 && us < 1000000 ? us : 0; }

static void on_fault(int sig, siginfo_t *info, void *ctx) {
  int saved = errno; /* the system calls of containment must not change the interrupted code's errno */
  /* si_code > 0: raised by the kernel for an access; <= 0: sent (kill, sigqueue). */
  mm_guard *g = info->si_code > 0 ? mm__guard_find((uintptr_t)info->si_addr) : NULL;
  if (g != NULL && pause_us > 0) {
    struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)pause_us * 1000};
    nanosleep(&ts, NULL); /* async-signal-safe */
  }
  if (g != NULL) {
    uintptr_t addr = (uintptr_t)info->si_addr;
    int contained = 0;
    if (sig == SIGSEGV && info->si_code == SEGV_ACCERR) contained = mm__contain_write(g, addr);
    else if (sig == SIGBUS) contained = mm__contain_bus(g, addr);
    if (contained) {
      errno = saved;
      return;
    }
  }
  errno = saved;
  chain(sig, info, ctx);
}

static int is_ours(const struct sigaction *sa) {
  return (sa->sa_flags & SA_SIGINFO) && sa->sa_sigaction == on_fault;
}

/* Installs on_fault for each signal where it is not the handler now. Only
 * the signals in `ask` (bit 0 SIGSEGV, bit 1 SIGBUS) are asked first: when
 * ours is on top of those, nothing more (one system call less for a map that
 * can raise only one of them); else the other is asked too, and both put
 * back where needed. */
static int put_on_top(int ask) {
  static const int sigs[2] = {SIGSEGV, SIGBUS};
  struct sigaction now[2];
  int queried = 0, mine = 1;
  for (int i = 0; i < 2 && mine; i++) {
    if (!(ask & (1 << i))) continue;
    if (sigaction(sigs[i], NULL, &now[i]) != 0) return -errno;
    queried |= 1 << i;
    mine = is_ours(&now[i]);
  }
  if (mine) return 0;
  for (int i = 0; i < 2; i++)
    if (!(queried & (1 << i)) && sigaction(sigs[i], NULL, &now[i]) != 0) return -errno;
  if (is_ours(&now[0]) && is_ours(&now[1])) return 0;
  unsigned gen = atomic_load(&generation) + 1;
  for (int i = 0; i < 2; i++)
    chained[gen & 1][i] = is_ours(&now[i]) ? chained[(gen - 1) & 1][i] : now[i];
  atomic_store(&generation, gen);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_fault;
  /* SA_NODEFER: a fault while containing one (mm__page_private_copy reading a
   * page past the end of the file, under the SIGSEGV of the same page) is
   * ours too, and a crash inside the handler goes down the chain. */
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  for (int i = 0; i < 2; i++)
    if (!is_ours(&now[i]) && sigaction(sigs[i], &sa, NULL) != 0) return -errno;
  return 1;
}

int mm_fault_install(void) {
  int expected = 0;
  if (!atomic_compare_exchange_strong(&installed, &expected, 1)) return 0;
  mm_pagesize(); /* computed once here, read in handlers */
  mm__readable_init();
  mm__spares_keep(1);
  static const int sigs[2] = {SIGSEGV, SIGBUS};
  for (int i = 0; i < 2; i++) {
    if (sigaction(sigs[i], NULL, &original[i]) != 0) memset(&original[i], 0, sizeof original[i]);
    atomic_store(&at_install[i], handler_of(&original[i]));
  }
  int rc = put_on_top(3) < 0 ? -1 : 0;
  return rc;
}

void mm_fault_listening(int sigbus, int now, int record) {
  int i = sigbus != 0;
  if (record && atomic_load(&installed)) {
    /* Called right after mm_fault_ensure put memmap's handler back on top
     * of the one Node installed for the listener, or found it there already
     * (another thread's new map did it first): Node's is the one chained
     * now. record 1: only if that is not what was chained at install (V8's
     * WebAssembly trap handler, the default action), i.e. if Node did
     * install one; record 2: a listener older than memmap, whose handler
     * memmap chained at install. */
    const struct sigaction *prev = &chained[atomic_load(&generation) & 1][i];
    uintptr_t h = handler_of(prev);
    if (h != (uintptr_t)SIG_DFL && h != (uintptr_t)SIG_IGN && (record == 2 || h != atomic_load(&at_install[i])))
      atomic_store(&node_handler[i], h);
  }
  atomic_store(&listening[i], now != 0);
}

int mm_fault_ensure(int guard) {
  if (!atomic_load(&installed)) return 0;
  int ask = guard == 0 ? 3 : ((guard & MM_GUARD_READONLY) ? 1 : 0) | ((guard & MM_GUARD_FILE) ? 2 : 0);
  if (ask == 0) return 0;
  /* Another JavaScript thread (a worker) may be at it: one at a time. */
  int expected = 0;
  while (!atomic_compare_exchange_weak(&ensuring, &expected, 1)) {
    expected = 0;
    mm_yield();
  }
  int r = put_on_top(ask);
  atomic_store(&ensuring, 0);
  return r;
}
