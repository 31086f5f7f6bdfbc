/*
 * guard.c: the guards that mark memmap's own mappings for fault containment,
 * the same on every OS; the handlers are per OS (fault.c for POSIX signals,
 * fault-win32.c for Windows exceptions).
 *
 * The guards form a lock-free list whose nodes are never freed, only reused:
 * a fault handler may walk it on any thread at any time.
 */
#include "platform.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

struct mm_guard {
  _Atomic uintptr_t start, end; /* [start, end) guarded; 0, 0 when unused */
  _Atomic int flags;            /* MM_GUARD_* */
  _Atomic int used;             /* claimed by a mapping */
  _Atomic uint32_t lost;        /* pages replaced after a fault past the end of the file */
  _Atomic uintptr_t lost_from;  /* offset of the first such page from start */
  struct mm_guard *_Atomic next;
};

static struct mm_guard *_Atomic guards = NULL;
/* Counts every lost page contained, in any mapping: JavaScript reads it
 * directly (mm_fault_counter) to learn cheaply that some page was lost. */
static _Atomic uint32_t fault_counter = 0;

mm_guard *mm__guard_find(uintptr_t addr) {
  for (struct mm_guard *g = atomic_load(&guards); g != NULL; g = atomic_load(&g->next)) {
    if (atomic_load(&g->used) && addr >= atomic_load(&g->start) && addr < atomic_load(&g->end))
      return g;
  }
  return NULL;
}

int mm__guard_flags(mm_guard *g) { return atomic_load(&g->flags); }

uintptr_t mm__guard_start(mm_guard *g) { return atomic_load(&g->start); }

void mm__guard_lost(mm_guard *g, uintptr_t off) {
  uintptr_t seen = atomic_load(&g->lost_from);
  while (off < seen && !atomic_compare_exchange_weak(&g->lost_from, &seen, off)) {
  }
  atomic_fetch_add(&g->lost, 1);
  atomic_fetch_add(&fault_counter, 1);
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
