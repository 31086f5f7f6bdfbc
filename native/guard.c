/*
 * guard.c: the guards that mark memmap's own mappings for fault containment,
 * and what containment does with a fault, the same on every OS; the handlers
 * that call in are per OS (fault.c for POSIX signals, fault-win32.c for
 * Windows exceptions), and so are the system calls (posix.c, linux.c, ...).
 *
 * The guards live in a lock-free list of chunks that are never freed, only
 * reused: a fault handler may walk it on any thread at any time. The ranges
 * sit apart from the rest, 16 bytes each, so that finding the guard of a
 * fault among tens of thousands of maps reads little memory.
 *
 * Containment costs a constant number of kernel mappings per map, however
 * many faults there are (each replaced range splits a kernel mapping, and a
 * process has vm.max_map_count of them):
 * - a stray write to a read-only map makes the whole map writable, once: one
 *   mprotect of a mapping that mm_map made private, so the write lands in a
 *   private copy of its page and never reaches the file; no split at all;
 * - a SIGBUS past the end of the file replaces the whole lost tail, from the
 *   file's end (rounded up to a page) to the end of the map, with one private
 *   zero mapping: no page of it can fault again; at most one more mapping;
 * - a SIGBUS inside the file is an I/O error (ENOSPC writing into a hole of a
 *   full file system, EIO, EDQUOT): the page is set aside (private zeros in
 *   its place, so that the access completes) and recorded; at most one page
 *   per map is set aside at a time (the next I/O error puts the previous page
 *   back first), and it is put back (the file mapped again in place) as soon
 *   as JavaScript asks what was lost: at most two more mappings, none once
 *   reported, since the kernel merges the file's pages back into one mapping.
 * A process at vm.max_map_count gets ENOMEM from every mmap, these ones too:
 * mm__map_zeros and mm__map_file_again then give back one of the spare
 * mappings memmap keeps for them (posix.c) and try again, so that a lost
 * tail or an I/O error is contained there too instead of killing the process.
 *
 * Each guard has a lock, `holder`: the thread that changes the mapping. A
 * fault handler only tries it: when another thread holds it, the handler
 * returns and the access runs again (and faults again, until that thread is
 * done), so no handler ever waits on a thread it interrupted. The holder may
 * fault on the same map itself (copying a page for mm__page_private_copy, or
 * from a map that mm_remap copies on the portable path): that nested fault
 * is contained under the hold it already has.
 */
#include "platform.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

/* [start, end) guarded; 0, 0 when unused (end first: never matches). */
typedef struct {
  _Atomic uintptr_t start, end;
} range;

struct mm_guard {
  range *r;                     /* in its chunk's ranges */
  _Atomic int flags;            /* MM_GUARD_* */
  _Atomic int used;             /* claimed by a mapping */
  _Atomic uintptr_t holder;     /* mm__thread_id() of the thread changing the mapping, or 0 */
  /* The rest is read and written only by the holder. */
  int fd;                       /* the region's descriptor (to learn the file's size), or -1 */
  uint64_t dev, ino;            /* the identity of fd's file when the guard was added (file_fd) */
  int64_t offset;               /* file offset of start */
  int prot, map_flags;          /* as given to mm_map */
  int writable;                 /* made writable after a stray write (mm__protect_private) */
  uintptr_t lost_from;          /* offset of the zero tail that replaced the lost pages; UINTPTR_MAX: none */
  int io_errno;                 /* first I/O error not reported yet, 0 for none */
  uintptr_t io_start, io_end;   /* pages it struck, offsets from start */
  uintptr_t io_page;            /* offset + 1 of the page set aside (zeros in place), 0 for none */
  int io_stuck;                 /* pages set aside that cannot be put back: never cleared */
  int retries;                  /* runs again left before JavaScript next asks what was lost (RETRIES) */
  uintptr_t again;              /* offset + 1 of the page inside the file last run again, 0 for none */
  int again_runs;               /* runs again of that page in a row (PAGE_RETRIES) */
};

/* A SIGBUS on a page that fstat then places inside the file is an I/O error,
 * or a truncation undone meanwhile: another process shrank the file and grew
 * it back between the access and the handler's fstat (the kernel raised the
 * fault against the smaller size). So the access is run again: always the
 * first time a page faults so (`again`; the file may have shrunk again by the
 * time of the probe below: the next fault tells), and again while the kernel
 * can read the page (the probe of mm__readable: the file backs it) or the
 * file's size changes under the handler. A page that faults again, cannot be
 * read and lies in a file of a steady size is an I/O error (a real one costs
 * one more failed read). A write into a hole of a full file system faults on a
 * readable page: at most PAGE_RETRIES runs again of one page in a row, and
 * RETRIES in all between two of JavaScript's questions (mm_guard_loss: threads
 * faulting on different pages in turn), then it is recorded as the I/O error
 * it is, so that no thread ever runs a failing access again forever. The
 * budget in all is large: a loop of writes through a view asks nothing, and
 * each of its pages may meet a shrink undone once (a budget of 64 in all gave
 * one such loop in a few hundred an I/O error under a busy copytruncate). */
enum { RETRIES = 4096, PAGE_RETRIES = 64 };

enum { CHUNK = 256 };
typedef struct chunk {
  range ranges[CHUNK];
  struct mm_guard guards[CHUNK];
  _Atomic unsigned handed; /* slots handed out so far, up to CHUNK (never decreases) */
  struct chunk *_Atomic next;
} chunk;

static chunk *_Atomic chunks = NULL;
/* Guards removed and not claimed again: mm_guard_add looks for one only then. */
static _Atomic unsigned free_guards = 0;
/* Counts every contained loss, in any mapping: JavaScript reads it directly
 * (mm_fault_counter) to learn cheaply that something was lost. */
static _Atomic uint32_t fault_counter = 0;

static unsigned handed(chunk *c) {
  unsigned n = atomic_load(&c->handed);
  return n < CHUNK ? n : CHUNK;
}

mm_guard *mm__guard_find(uintptr_t addr) {
  for (chunk *c = atomic_load(&chunks); c != NULL; c = atomic_load(&c->next)) {
    for (unsigned i = 0, n = handed(c); i < n; i++) {
      range *r = &c->ranges[i];
      if (addr < atomic_load_explicit(&r->end, memory_order_acquire) &&
          addr >= atomic_load_explicit(&r->start, memory_order_acquire) && atomic_load(&c->guards[i].used))
        return &c->guards[i];
    }
  }
  return NULL;
}

/* ------------------------------------------------------------------------ */
/* The lock                                                                 */

enum { HOLD_BUSY, HOLD_TAKEN, HOLD_NESTED };

static int hold_try(mm_guard *g) {
  uintptr_t self = mm__thread_id(), none = 0;
  if (atomic_compare_exchange_strong(&g->holder, &none, self)) return HOLD_TAKEN;
  return none == self ? HOLD_NESTED : HOLD_BUSY;
}

static void hold_end(mm_guard *g, int how) {
  if (how == HOLD_TAKEN) atomic_store(&g->holder, 0);
}

/* Outside fault handlers: waits while a handler holds g (handlers hold it for
 * a few system calls, and never wait). */
static int hold_wait(mm_guard *g) {
  int how;
  while ((how = hold_try(g)) == HOLD_BUSY) mm_yield();
  return how;
}

/* ------------------------------------------------------------------------ */
/* Containment (the holder only)                                            */

static uintptr_t page_size(void) { return (uintptr_t)mm_pagesize(); }

/* The span of the mapping: whole pages. */
static uintptr_t span_of(uintptr_t start, uintptr_t end) {
  uintptr_t ps = page_size();
  return (end - start + ps - 1) & ~(ps - 1);
}

static void counted(void) { atomic_fetch_add(&fault_counter, 1); }

/* The region's descriptor, while it still names the file it named when the
 * guard was added; -1 (for good) once someone closed it and the number names
 * another file or nothing: containment then never maps, sizes or allocates a
 * file that is not the map's. One fstat, async-signal-safe. */
static int file_fd(mm_guard *g) {
  uint64_t dev, ino;
  if (g->fd >= 0 && (mm_file_id(g->fd, &dev, &ino, NULL) != 0 || dev != g->dev || ino != g->ino)) g->fd = -1;
  return g->fd;
}

/* Puts the file's page back over the zeros that replaced it. */
static void put_back(mm_guard *g, uintptr_t start) {
  if (g->io_page == 0) return;
  uintptr_t off = g->io_page - 1;
  int fd = file_fd(g);
  if (fd < 0 || mm__map_file_again((void *)(start + off), page_size(), g->prot, g->map_flags, fd,
                                   g->offset + (int64_t)off, g->writable) != 0)
    g->io_stuck = 1; /* the zeros stay: the error stays reported */
  g->io_page = 0;
}

/* Replaces [from, span) with one private zero mapping (if not done already). */
static int lose_tail(mm_guard *g, uintptr_t start, uintptr_t span, uintptr_t from) {
  if (from >= g->lost_from) return 0;
  if (mm__map_zeros((void *)(start + from), span - from) != 0) return -1;
  if (g->io_page != 0 && g->io_page - 1 >= from) g->io_page = 0; /* the file's page is gone */
  g->lost_from = from;
  counted();
  return 0;
}

/* An I/O error struck the page at `off`: set it aside, record the error. */
static int io_error(mm_guard *g, uintptr_t start, uintptr_t off) {
  uintptr_t ps = page_size();
  int fd = file_fd(g);
  int err = fd >= 0 ? mm__io_errno(fd, g->offset + (int64_t)off, ps) : EIO;
  uintptr_t lo = off, hi = off + ps;
  if (g->io_errno != 0) {
    if (g->io_start < lo) lo = g->io_start;
    if (g->io_end > hi) hi = g->io_end;
  }
  if (fd >= 0) {
    /* One page set aside at a time: the previous one goes back first. */
    if (g->io_page != 0 && g->io_page - 1 != off) put_back(g, start);
    if (mm__map_zeros((void *)(start + off), ps) != 0) return -1;
    g->io_page = off + 1;
  } else {
    /* Without a descriptor nothing can be put back: the whole struck range
     * becomes zeros (one mapping whatever the number of errors), and its
     * error is reported at every flush from now on. */
    if (mm__map_zeros((void *)(start + lo), hi - lo) != 0) return -1;
    g->io_stuck = 1;
  }
  if (g->io_errno == 0) g->io_errno = err;
  g->io_start = lo;
  g->io_end = hi;
  counted();
  return 0;
}

/* The guard a handler found no longer covers `addr` now that the handler holds
 * it (HOLD_TAKEN: not the thread changing the mapping, faulting under its own
 * hold): between the lookup and the hold, another thread closed the map (its
 * range retired: a placeholder now) or moved it (resize), and let go. The
 * access is run again, and its next fault, if any, looks the address up
 * afresh (none where the placeholder now is). Before, the handler gave the
 * fault up as not memmap's, and the default action killed the process. */
static int moved_away(mm_guard *g, uintptr_t addr, uintptr_t start, uintptr_t end) {
  return !atomic_load(&g->used) || addr < start || addr >= end;
}

int mm__contain_write(mm_guard *g, uintptr_t addr) {
  int how = hold_try(g);
  if (how == HOLD_BUSY) return 1; /* another thread is changing the mapping: run the access again */
  int done = 0;
  uintptr_t start = atomic_load(&g->r->start), end = atomic_load(&g->r->end);
  if (how == HOLD_TAKEN && moved_away(g, addr, start, end)) {
    done = 1;
  } else if ((atomic_load(&g->flags) & MM_GUARD_READONLY) && addr >= start && addr < end) {
    if (g->writable) {
      done = 1; /* made writable by another thread since this one faulted */
    } else if (mm__protect_private((void *)start, span_of(start, end)) == 0) {
      g->writable = 1;
      done = 1;
    } else {
      /* mprotect refused (e.g. strict overcommit accounting of a large map):
       * this page alone, as a private copy. Costs mappings; rare. */
      uintptr_t ps = page_size();
      done = mm__page_private_copy((void *)(addr & ~(ps - 1)), ps) == 0;
    }
  }
  hold_end(g, how);
  if (done) mm__spares_keep(0); /* as mm__contain_bus */
  return done;
}

int mm__contain_bus(mm_guard *g, uintptr_t addr) {
  int how = hold_try(g);
  if (how == HOLD_BUSY) return 1;
  int done = 0;
  uintptr_t start = atomic_load(&g->r->start), end = atomic_load(&g->r->end);
  if (how == HOLD_TAKEN && moved_away(g, addr, start, end)) {
    done = 1;
  } else if ((atomic_load(&g->flags) & MM_GUARD_FILE) && addr >= start && addr < end) {
    uintptr_t ps = page_size(), span = span_of(start, end);
    uintptr_t off = (addr - start) & ~(ps - 1);
    int64_t size = -1;
    if (off >= g->lost_from) {
      done = 1; /* zeros already, put there by another thread */
    } else if (file_fd(g) >= 0 && (size = mm__file_size(g->fd)) >= 0) {
      /* The kernel raises SIGBUS past the end of the file, at whole pages:
       * a page that starts before the end (rounded up) is inside the file. */
      int64_t eof = size - g->offset;
      uintptr_t tail = eof <= 0 ? 0 : ((uintptr_t)eof + ps - 1) & ~(ps - 1);
      if (off >= tail) {
        done = lose_tail(g, start, span, tail) == 0;
      } else if (g->retries > 0 && (g->again != off + 1 || (g->again_runs < PAGE_RETRIES &&
                                                             (mm__readable((void *)addr) || mm__file_size(g->fd) != size)))) {
        g->retries--; /* see RETRIES */
        g->again_runs = g->again == off + 1 ? g->again_runs + 1 : 1;
        g->again = off + 1;
        done = 1;
      } else {
        g->again = 0;
        done = io_error(g, start, off) == 0;
      }
    } else if (!mm__readable((void *)addr)) {
      /* No descriptor: a page that cannot even be read is taken to lie past
       * the end of the file; the tail goes from this page. */
      done = lose_tail(g, start, span, off) == 0;
    } else {
      done = io_error(g, start, off) == 0; /* readable, not writable: an I/O error */
    }
  }
  hold_end(g, how);
  /* The mappings containment gave back and took (a page put back merges
   * with its neighbours; zeros split them) were free for an instant, to any
   * thread: at vm.max_map_count another thread's mmap or malloc's mprotect
   * may have taken one, and containment a spare instead. Take back what is
   * free now, before more faults need it (no system call while all are kept). */
  if (done) mm__spares_keep(0);
  return done;
}

/* ------------------------------------------------------------------------ */
/* The guards' life                                                         */

/* A guard removed before, claimed again; NULL when there is none. */
static mm_guard *claim_free(void) {
  unsigned n = atomic_load(&free_guards);
  do {
    if (n == 0) return NULL;
  } while (!atomic_compare_exchange_weak(&free_guards, &n, n - 1));
  /* One free guard is ours to find (another thread may take the one seen). */
  for (;;) {
    for (chunk *c = atomic_load(&chunks); c != NULL; c = atomic_load(&c->next)) {
      for (unsigned i = 0, k = handed(c); i < k; i++) {
        int expected = 0;
        mm_guard *g = &c->guards[i];
        if (atomic_load(&g->used) == 0 && atomic_compare_exchange_strong(&g->used, &expected, 1)) return g;
      }
    }
  }
}

/* A slot never used yet; NULL when out of memory. */
static mm_guard *claim_new(void) {
  for (;;) {
    chunk *c = atomic_load(&chunks);
    if (c != NULL) {
      unsigned i = atomic_fetch_add(&c->handed, 1);
      int expected = 0;
      /* claim_free may have taken it between the two: then the next one. */
      if (i < CHUNK && atomic_compare_exchange_strong(&c->guards[i].used, &expected, 1)) return &c->guards[i];
      if (i < CHUNK) continue;
    }
    chunk *fresh = calloc(1, sizeof *fresh);
    if (fresh == NULL) return NULL;
    for (unsigned i = 0; i < CHUNK; i++) fresh->guards[i].r = &fresh->ranges[i];
    atomic_store(&fresh->next, c);
    if (!atomic_compare_exchange_strong(&chunks, &c, fresh)) free(fresh); /* another thread added one */
  }
}

mm_guard *mm_guard_add(void *start, size_t length, int flags, int owned_fd, uint64_t dev, uint64_t ino,
                       int64_t offset, int prot, int map_flags) {
  mm_guard *g = claim_free();
  if (g == NULL) g = claim_new();
  if (g == NULL) return NULL;
  /* A handler that found this node under its previous use may still hold it. */
  int how = hold_wait(g);
  g->fd = dev == MM_NO_ID && ino == MM_NO_ID ? -1 : owned_fd;
  g->dev = dev;
  g->ino = ino;
  g->offset = offset;
  g->prot = prot;
  g->map_flags = map_flags;
  g->writable = 0;
  g->lost_from = UINTPTR_MAX;
  g->io_errno = 0;
  g->io_start = g->io_end = g->io_page = 0;
  g->io_stuck = 0;
  g->retries = RETRIES;
  g->again = 0;
  g->again_runs = 0;
  atomic_store(&g->flags, flags);
  mm_guard_move(g, start, length);
  hold_end(g, how);
  mm__spares_keep(0); /* containment may have given one back */
  return g;
}

void mm_guard_move(mm_guard *g, void *start, size_t length) {
  /* Empty first, so that no reader sees the new start with the old end. */
  atomic_store(&g->r->end, 0);
  atomic_store(&g->r->start, (uintptr_t)start);
  atomic_store(&g->r->end, (uintptr_t)start + length);
  /* The portable remap maps afresh, read-only again; a stray write will make
   * it writable again (mremap kept it so: the first write then just runs). */
  g->writable = 0;
}

void mm_guard_remove(mm_guard *g) {
  int how = hold_wait(g);
  atomic_store(&g->r->end, 0);
  atomic_store(&g->r->start, 0);
  g->fd = -1;
  g->io_page = 0;
  atomic_store(&g->used, 0);
  hold_end(g, how);
  atomic_fetch_add(&free_guards, 1);
}

void mm_guard_hold(mm_guard *g) {
  hold_wait(g);
  put_back(g, atomic_load(&g->r->start));
}

void mm_guard_unhold(mm_guard *g) { atomic_store(&g->holder, 0); }

void mm_guard_forget_fd(mm_guard *g) {
  int how = hold_wait(g);
  put_back(g, atomic_load(&g->r->start));
  g->fd = -1;
  hold_end(g, how);
}

int64_t mm_guard_lost_from(mm_guard *g) {
  int how = hold_wait(g);
  int64_t lost = g->lost_from == UINTPTR_MAX ? -1 : (int64_t)g->lost_from;
  hold_end(g, how);
  return lost;
}

void mm_guard_loss(mm_guard *g, int take, mm_loss *out) {
  int how = hold_wait(g);
  put_back(g, atomic_load(&g->r->start));
  out->lost_from = g->lost_from == UINTPTR_MAX ? -1 : (int64_t)g->lost_from;
  out->io_errno = g->io_errno;
  out->io_start = (int64_t)g->io_start;
  out->io_end = (int64_t)g->io_end;
  g->retries = RETRIES;
  if (take && !g->io_stuck) {
    g->io_errno = 0;
    g->io_start = g->io_end = 0;
  }
  hold_end(g, how);
  mm__spares_keep(0);
}

uint32_t *mm_fault_counter(void) { return (uint32_t *)&fault_counter; }
