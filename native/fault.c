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
 * The guards themselves (which ranges are memmap's) are in guard.c.
 */
#define _GNU_SOURCE
#include "platform.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static struct sigaction previous_segv, previous_bus;
static _Atomic int installed = 0;
static uintptr_t page_size = 4096;

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
  mm_guard *g = mm__guard_find(addr);
  if (g != NULL) {
    void *page = (void *)(addr & ~(page_size - 1));
    int flags = mm__guard_flags(g);
    if (sig == SIGSEGV && info->si_code == SEGV_ACCERR && (flags & MM_GUARD_READONLY)) {
      if (mm__page_private_copy(page, page_size) == 0) return;
    } else if (sig == SIGBUS && (flags & MM_GUARD_FILE)) {
      void *p = mmap(page, page_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
      if (p != MAP_FAILED) {
        mm__guard_lost(g, (uintptr_t)page - mm__guard_start(g));
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
