/*
 * fault.c: contains the faults that raw views of mapped memory can cause, so
 * that no JavaScript using memmap's public API can kill the process.
 *
 * Two faults are ours to contain, and only inside memmap's own mappings:
 * - SIGSEGV (SEGV_ACCERR) on a read-only mapping: a write through a view. The
 *   page is replaced by a private, writable copy of itself; the write lands
 *   there and never reaches the file.
 * - SIGBUS on a file mapping: the page lies past the end of a file that shrank
 *   under the map. It is replaced by a private zero page, and the guard counts
 *   the event so the TypeScript layer can report the loss.
 * Every other fault goes to the handler installed before ours (V8's
 * WebAssembly trap handler among them), or to the default action.
 *
 * The guards form a lock-free list whose nodes are never freed, only reused:
 * the handler may walk it on any thread at any time.
 */
#define _GNU_SOURCE
#include "mm.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

struct mm_guard {
  _Atomic uintptr_t start, end; /* [start, end) guarded; 0, 0 when unused */
  _Atomic int flags;            /* MM_GUARD_* */
  _Atomic int used;             /* claimed by a mapping */
  _Atomic uint32_t lost;        /* pages replaced after SIGBUS */
  _Atomic uintptr_t lost_from;  /* offset of the first such page from start */
  struct mm_guard *_Atomic next;
};

static struct mm_guard *_Atomic guards = NULL;
/* Counts every SIGBUS contained, in any mapping: JavaScript reads it directly
 * (mm_fault_counter) to learn cheaply that some page was lost. */
static _Atomic uint32_t fault_counter = 0;
static struct sigaction previous_segv, previous_bus;
static _Atomic int installed = 0;
static uintptr_t page_size = 4096;

static struct mm_guard *find_guard(uintptr_t addr) {
  for (struct mm_guard *g = atomic_load(&guards); g != NULL; g = atomic_load(&g->next)) {
    if (atomic_load(&g->used) && addr >= atomic_load(&g->start) && addr < atomic_load(&g->end))
      return g;
  }
  return NULL;
}

static void chain(const struct sigaction *prev, int sig, siginfo_t *info, void *ctx) {
  if (prev->sa_flags & SA_SIGINFO) {
    if (prev->sa_sigaction != NULL) {
      prev->sa_sigaction(sig, info, ctx);
      return;
    }
  } else if (prev->sa_handler == SIG_IGN) {
    return;
  } else if (prev->sa_handler != SIG_DFL) {
    prev->sa_handler(sig);
    return;
  }
  /* Default action: restore it. A fault returns, the faulting instruction runs
   * again and the kernel delivers the signal with its default effect; a signal
   * sent by kill() or raise() is raised again. */
  signal(sig, SIG_DFL);
  if (info->si_code <= 0) raise(sig);
}

static void on_fault(int sig, siginfo_t *info, void *ctx) {
  uintptr_t addr = (uintptr_t)info->si_addr;
  struct mm_guard *g = find_guard(addr);
  if (g != NULL) {
    void *page = (void *)(addr & ~(page_size - 1));
    int flags = atomic_load(&g->flags);
    if (sig == SIGSEGV && info->si_code == SEGV_ACCERR && (flags & MM_GUARD_READONLY)) {
      if (mm__page_private_copy(page, page_size) == 0) return;
    } else if (sig == SIGBUS && (flags & MM_GUARD_FILE)) {
      void *p = mmap(page, page_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
      if (p != MAP_FAILED) {
        uintptr_t off = (uintptr_t)page - atomic_load(&g->start);
        uintptr_t seen = atomic_load(&g->lost_from);
        while (off < seen && !atomic_compare_exchange_weak(&g->lost_from, &seen, off)) {
        }
        atomic_fetch_add(&g->lost, 1);
        atomic_fetch_add(&fault_counter, 1);
        return;
      }
    }
  }
  chain(sig == SIGSEGV ? &previous_segv : &previous_bus, sig, info, ctx);
}

int mm_fault_install(void) {
  int expected = 0;
  if (!atomic_compare_exchange_strong(&installed, &expected, 1)) return 0;
  page_size = (uintptr_t)mm_pagesize();
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_fault;
  /* SA_NODEFER: copying a page past the end of a shrunk file faults (SIGBUS)
   * inside the SIGSEGV handling of the same page; that nested fault is ours too. */
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGSEGV, &sa, &previous_segv) != 0) return -1;
  if (sigaction(SIGBUS, &sa, &previous_bus) != 0) return -1;
  return 0;
}

mm_guard *mm_guard_add(void *start, size_t length, int flags) {
  struct mm_guard *g;
  for (g = atomic_load(&guards); g != NULL; g = atomic_load(&g->next)) {
    int expected = 0;
    if (atomic_compare_exchange_strong(&g->used, &expected, 1)) break;
  }
  if (g == NULL) {
    g = calloc(1, sizeof *g);
    if (g == NULL) return NULL;
    atomic_store(&g->used, 1);
    struct mm_guard *head = atomic_load(&guards);
    do atomic_store(&g->next, head);
    while (!atomic_compare_exchange_weak(&guards, &head, g));
  }
  atomic_store(&g->lost, 0);
  atomic_store(&g->lost_from, UINTPTR_MAX);
  atomic_store(&g->flags, flags);
  mm_guard_move(g, start, length);
  return g;
}

void mm_guard_move(mm_guard *g, void *start, size_t length) {
  /* Empty first, so that no reader sees the new start with the old end. */
  atomic_store(&g->end, 0);
  atomic_store(&g->start, (uintptr_t)start);
  atomic_store(&g->end, (uintptr_t)start + length);
}

void mm_guard_remove(mm_guard *g) {
  atomic_store(&g->end, 0);
  atomic_store(&g->start, 0);
  atomic_store(&g->used, 0);
}

int64_t mm_guard_lost_from(mm_guard *g) {
  if (atomic_load(&g->lost) == 0) return -1;
  return (int64_t)atomic_load(&g->lost_from);
}

uint32_t *mm_fault_counter(void) { return (uint32_t *)&fault_counter; }
