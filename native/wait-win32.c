/*
 * wait-win32.c: waiting on a word of a mapping on Windows (mm.h).
 *
 * WaitOnAddress keys a wait by its address in one process, so it serves the
 * words only this process reaches (a private map, unnamed pagefile memory).
 * A shared word (a named section, a file) may be waited on from another
 * process, or from another view of the same section in this one, at another
 * address: those waits go through a waiter table that every process of the
 * session maps, keyed by the identity of the section or file (win32.c,
 * mm__view_identity) and the word's offset in it.
 *
 * The table: a named section ("Local\memmap-wait-v1") of TABLE_SLOTS slots,
 * and a named mutex over it. A waiter, holding the mutex, compares the word
 * with the value it expects, takes a slot (its key, WAITING, a serial number)
 * and creates an auto-reset event named after the serial; it lets go of the
 * mutex and sleeps on its event. A notifier takes the mutex, and for each
 * WAITING slot of the key (oldest first, up to count) marks it WOKEN and sets
 * its event. The comparison and the registration happen under the mutex that
 * notify takes, and the notifier stored the new value before it notifies: a
 * waiter either sees the new value (not-equal) or is in the table when the
 * notifier looks (woken). No wake-up is lost between the check and the sleep.
 * A waiter that times out takes the mutex again and leaves its slot, unless
 * it was marked WOKEN meanwhile (then it was notified: "ok").
 *
 * `waiting` counts the WAITING slots; a notify that finds it 0 (after a full
 * barrier, against the waiter's interlocked increment before its comparison)
 * returns without the mutex. A waiter whose process died leaves a slot whose
 * event is gone with it: a notify frees such a slot once it cannot open the
 * event and the process is gone.
 *
 * WaitOnAddress for the private words: each waiter sleeps on a flag of its
 * own, on a list of this process under an SRW lock, so that notify wakes
 * exactly whom it counts (WakeByAddress says nothing of how many it woke,
 * and WaitOnAddress may return without a wake-up). The functions are looked
 * up at run time in KernelBase.dll: the addon imports only KERNEL32.dll,
 * msvcrt.dll and node.exe.
 *
 * Neither kind of sleep can watch a cancel word (mm_wait_watches_cancel is 0):
 * the glue cuts cancellable waits into slices.
 */
#define WIN32_LEAN_AND_MEAN
#include <windows.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "platform.h"

/* ------------------------------------------------------------------------ */
/* Clock and threads                                                        */

int64_t mm_now_ns(void) {
  static LARGE_INTEGER freq;
  if (freq.QuadPart == 0) QueryPerformanceFrequency(&freq);
  LARGE_INTEGER now;
  QueryPerformanceCounter(&now);
  /* Whole seconds and the rest apart: no overflow for centuries of uptime. */
  int64_t s = now.QuadPart / freq.QuadPart, rest = now.QuadPart % freq.QuadPart;
  return s * 1000000000 + rest * 1000000000 / freq.QuadPart;
}

typedef struct {
  void (*fn)(void *);
  void *arg;
} start;

static DWORD WINAPI trampoline(LPVOID p) {
  start s = *(start *)p;
  free(p);
  s.fn(s.arg);
  return 0;
}

int mm_thread_start(void (*fn)(void *), void *arg) {
  start *s = malloc(sizeof *s);
  if (s == NULL) return -ENOMEM;
  s->fn = fn;
  s->arg = arg;
  /* 256 KiB reserved, as the POSIX threads (wait-posix.c). */
  HANDLE t = CreateThread(NULL, 256 * 1024, trampoline, s, STACK_SIZE_PARAM_IS_A_RESERVATION, NULL);
  if (t == NULL) {
    free(s);
    return -EAGAIN;
  }
  CloseHandle(t);
  return 0;
}

/* Milliseconds from now until `until` (-1: INFINITE), rounded up so that a
 * wait never ends early; at most a day per call (the caller loops). */
static DWORD ms_until(int64_t until) {
  if (until < 0) return INFINITE;
  int64_t left = until - mm_now_ns();
  if (left <= 0) return 0;
  int64_t ms = (left + 999999) / 1000000;
  return ms > 86400000 ? 86400000 : (DWORD)ms;
}

/* ------------------------------------------------------------------------ */
/* Words of this process: WaitOnAddress on a flag per waiter                */

typedef BOOL(WINAPI *wait_on_address_fn)(volatile VOID *, PVOID, SIZE_T, DWORD);
typedef VOID(WINAPI *wake_by_address_fn)(PVOID);
static wait_on_address_fn wait_on_address;
static wake_by_address_fn wake_by_address_single;

static BOOL CALLBACK resolve(PINIT_ONCE once, PVOID param, PVOID *context) {
  (void)once;
  (void)param;
  (void)context;
  HMODULE m = GetModuleHandleW(L"kernelbase.dll");
  if (m == NULL) m = LoadLibraryW(L"api-ms-win-core-synch-l1-2-0.dll");
  if (m != NULL) {
    /* Through void (*)(void): a cast between function types gcc does not warn of. */
    wait_on_address = (wait_on_address_fn)(void (*)(void))GetProcAddress(m, "WaitOnAddress");
    wake_by_address_single = (wake_by_address_fn)(void (*)(void))GetProcAddress(m, "WakeByAddressSingle");
  }
  return TRUE;
}

static int resolved(void) {
  static INIT_ONCE once = INIT_ONCE_STATIC_INIT;
  InitOnceExecuteOnce(&once, resolve, NULL, NULL);
  return wait_on_address != NULL && wake_by_address_single != NULL;
}

/* One waiter on a word of this process; on `local` while it may be woken. */
typedef struct local_waiter {
  const uint32_t *addr;
  volatile LONG woken; /* 0, then 1 once a notify took it off the list */
  struct local_waiter *prev, *next;
} local_waiter;

static SRWLOCK local_lock = SRWLOCK_INIT;
static local_waiter *local_head, *local_tail; /* oldest first */

static void local_unlink(local_waiter *lw) {
  if (lw->prev) lw->prev->next = lw->next; else local_head = lw->next;
  if (lw->next) lw->next->prev = lw->prev; else local_tail = lw->prev;
}

static int wait_local(const mm_word *w, uint32_t expected, int64_t until) {
  if (!resolved()) return -ENOSYS;
  local_waiter lw = {.addr = w->addr};
  AcquireSRWLockExclusive(&local_lock);
  if (*(volatile uint32_t *)w->addr != expected) {
    ReleaseSRWLockExclusive(&local_lock);
    return MM_WAIT_NOT_EQUAL;
  }
  lw.prev = local_tail;
  if (local_tail) local_tail->next = &lw; else local_head = &lw;
  local_tail = &lw;
  ReleaseSRWLockExclusive(&local_lock);
  LONG zero = 0;
  for (;;) {
    if (lw.woken) return MM_WAIT_OK;
    DWORD ms = ms_until(until);
    if (ms == 0) break;
    /* May return early or spuriously: the loop looks at the flag again. */
    wait_on_address(&lw.woken, &zero, sizeof zero, ms);
  }
  /* Timed out, unless a notify took it off the list meanwhile. */
  AcquireSRWLockExclusive(&local_lock);
  int rc = lw.woken ? MM_WAIT_OK : MM_WAIT_TIMED_OUT;
  if (!lw.woken) local_unlink(&lw);
  ReleaseSRWLockExclusive(&local_lock);
  return rc;
}

static int64_t wake_local(const mm_word *w, int64_t count) {
  if (!resolved()) return -ENOSYS;
  int64_t n = 0;
  AcquireSRWLockExclusive(&local_lock);
  for (local_waiter *lw = local_head, *next; lw != NULL && n < count; lw = next) {
    next = lw->next;
    if (lw->addr != w->addr) continue;
    local_unlink(lw);
    /* The waiter may return as soon as it sees the flag, before the wake
     * below: WakeByAddressSingle only looks the address up, so it then wakes
     * nobody, or a later waiter on that stack address, which looks at its
     * own flag and sleeps again. */
    InterlockedExchange(&lw->woken, 1);
    wake_by_address_single((PVOID)&lw->woken);
    n++;
  }
  ReleaseSRWLockExclusive(&local_lock);
  return n;
}

/* ------------------------------------------------------------------------ */
/* Shared words: the waiter table                                           */

#define TABLE_SLOTS 1024
enum { SLOT_FREE = 0, SLOT_WAITING = 1, SLOT_WOKEN = 2 };

typedef struct {
  uint64_t key[3];
  volatile LONG state;
  DWORD pid;
  DWORD serial; /* names the waiter's event; orders the waiters */
  DWORD pad;
} slot;

typedef struct {
  volatile LONG waiting; /* slots WAITING now */
  DWORD serial;          /* the last serial handed out */
  DWORD high;            /* slots [0, high) have been used */
  DWORD pad;
  slot slots[TABLE_SLOTS];
} table;

static table *tbl;
static HANDLE tbl_mutex;

static BOOL CALLBACK table_open(PINIT_ONCE once, PVOID param, PVOID *context) {
  (void)once;
  (void)param;
  (void)context;
  /* Both are kept for the life of the process; the section is zeroed when made. */
  HANDLE m = CreateMutexW(NULL, FALSE, L"Local\\memmap-wait-v1-lock");
  HANDLE s = m == NULL ? NULL
                       : CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, sizeof(table),
                                            L"Local\\memmap-wait-v1");
  void *view = s == NULL ? NULL : MapViewOfFile(s, FILE_MAP_WRITE, 0, 0, sizeof(table));
  if (view == NULL) {
    if (s != NULL) CloseHandle(s);
    if (m != NULL) CloseHandle(m);
    return TRUE;
  }
  tbl_mutex = m;
  tbl = view;
  return TRUE;
}

static int table_ready(void) {
  static INIT_ONCE once = INIT_ONCE_STATIC_INIT;
  InitOnceExecuteOnce(&once, table_open, NULL, NULL);
  return tbl != NULL;
}

/* The mutex; a holder that died leaves it abandoned, and taking it then is
 * taking it (its updates are single stores: the table stays readable). */
static void table_lock(void) { WaitForSingleObject(tbl_mutex, INFINITE); }
static void table_unlock(void) { ReleaseMutex(tbl_mutex); }

static void event_name(wchar_t *out, size_t n, DWORD serial) {
  _snwprintf(out, n, L"Local\\memmap-wait-v1-%lu", (unsigned long)serial);
  out[n - 1] = 0;
}

static int same_key(const slot *s, const mm_word *w) {
  return s->key[0] == w->key[0] && s->key[1] == w->key[1] && s->key[2] == w->key[2];
}

static int wait_shared(const mm_word *w, uint32_t expected, int64_t until) {
  if (!table_ready()) return -ENOMEM;
  table_lock();
  InterlockedIncrement(&tbl->waiting); /* a full barrier, before the comparison */
  if (*(volatile uint32_t *)w->addr != expected) {
    InterlockedDecrement(&tbl->waiting);
    table_unlock();
    return MM_WAIT_NOT_EQUAL;
  }
  DWORD i = 0;
  while (i < tbl->high && tbl->slots[i].state != SLOT_FREE) i++;
  if (i == TABLE_SLOTS) {
    InterlockedDecrement(&tbl->waiting);
    table_unlock();
    return -ENOSPC;
  }
  if (i == tbl->high) tbl->high++;
  slot *s = &tbl->slots[i];
  DWORD serial = ++tbl->serial;
  wchar_t name[64];
  event_name(name, sizeof name / sizeof name[0], serial);
  HANDLE ev = CreateEventW(NULL, FALSE, FALSE, name);
  if (ev == NULL) {
    InterlockedDecrement(&tbl->waiting);
    table_unlock();
    return -ENOMEM;
  }
  memcpy(s->key, w->key, sizeof s->key);
  s->pid = GetCurrentProcessId();
  s->serial = serial;
  s->state = SLOT_WAITING;
  table_unlock();
  for (;;) {
    DWORD ms = ms_until(until);
    if (ms == 0 || WaitForSingleObject(ev, ms) == WAIT_OBJECT_0) break;
  }
  table_lock();
  /* Marked WOKEN: notified, even if the time ran out at the same moment. */
  int rc = s->state == SLOT_WOKEN ? MM_WAIT_OK : MM_WAIT_TIMED_OUT;
  if (s->state == SLOT_WAITING) InterlockedDecrement(&tbl->waiting);
  s->state = SLOT_FREE;
  table_unlock();
  CloseHandle(ev);
  return rc;
}

/* A slot whose waiter's process has ended (its event went with it). */
static int waiter_gone(const slot *s) {
  HANDLE p = OpenProcess(SYNCHRONIZE, FALSE, s->pid);
  if (p == NULL) return GetLastError() == ERROR_INVALID_PARAMETER;
  int gone = WaitForSingleObject(p, 0) == WAIT_OBJECT_0;
  CloseHandle(p);
  return gone;
}

static int64_t wake_shared(const mm_word *w, int64_t count) {
  if (!table_ready()) return -ENOMEM;
  MemoryBarrier(); /* the caller's store to the word, before the look at `waiting` */
  if (tbl->waiting == 0) return 0;
  int64_t n = 0;
  table_lock();
  while (n < count) {
    /* The oldest waiter of the key (serials compared across their wrap). */
    slot *best = NULL;
    for (DWORD i = 0; i < tbl->high; i++) {
      slot *s = &tbl->slots[i];
      if (s->state == SLOT_WAITING && same_key(s, w) && (best == NULL || (LONG)(s->serial - best->serial) < 0))
        best = s;
    }
    if (best == NULL) break;
    wchar_t name[64];
    event_name(name, sizeof name / sizeof name[0], best->serial);
    HANDLE ev = OpenEventW(EVENT_MODIFY_STATE, FALSE, name);
    if (ev != NULL) {
      best->state = SLOT_WOKEN;
      SetEvent(ev);
      CloseHandle(ev);
      n++;
    } else if (waiter_gone(best)) {
      best->state = SLOT_FREE;
    } else {
      break; /* cannot reach this waiter now; its own timeout will free the slot */
    }
    InterlockedDecrement(&tbl->waiting);
  }
  table_unlock();
  return n;
}

/* ------------------------------------------------------------------------ */
/* mm.h                                                                     */

int mm_word_init(mm_word *w, void *addr, int shared, int64_t offset) {
  (void)shared; /* the view itself says (mm__view_identity) */
  memset(w, 0, sizeof *w);
  w->addr = addr;
  uint64_t id[2];
  w->shared = mm__view_identity(addr, id);
  if (w->shared) {
    w->key[0] = id[0];
    w->key[1] = id[1];
    w->key[2] = (uint64_t)offset;
  }
  return 0;
}

int mm_wait(const mm_word *w, uint32_t expected, int64_t until, uint32_t *cancel) {
  (void)cancel; /* not watched: the glue slices (mm_wait_watches_cancel) */
  return w->shared ? wait_shared(w, expected, until) : wait_local(w, expected, until);
}

int mm_wait_watches_cancel(void) { return 0; }

int mm_wait_cancel(uint32_t *cancel, uint32_t value) {
  return InterlockedCompareExchange((volatile LONG *)cancel, (LONG)value, 0) == 0;
}

int64_t mm_wake(const mm_word *w, int64_t count) {
  return w->shared ? wake_shared(w, count) : wake_local(w, count);
}
