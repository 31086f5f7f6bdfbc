/*
 * fault-win32.c: fault containment on Windows, with a vectored exception
 * handler that acts only inside memmap's own views (the guards of guard.c).
 *
 * - EXCEPTION_ACCESS_VIOLATION, a write, on a read-only view: the view is a
 *   copy-on-write view protected PAGE_READONLY (win32.c), so guard.c makes
 *   the whole view PAGE_WRITECOPY at once (mm__protect_private) and the write
 *   runs again: it lands in a private copy of its page and never reaches the
 *   file, as on POSIX systems. Later stray writes do not fault at all.
 * - A file that shrinks under a view cannot happen: Windows refuses to cut a
 *   file that a view maps (ERROR_USER_MAPPED_FILE).
 * - EXCEPTION_ACCESS_VIOLATION, any access, in a range that left a mapping
 *   (win32.c: a view becoming a placeholder, then zeros): the access runs
 *   again once the zeros are there (mm__retired_fault).
 * - EXCEPTION_IN_PAGE_ERROR (the disk or network failed to read the page, or
 *   a full disk could not take a page written into a hole of a sparse file;
 *   ExceptionInformation[2] holds the NTSTATUS) has no page to put in its
 *   place inside a view (a view cannot be partly replaced without
 *   placeholders), so it is left to the next handler, as every exception
 *   outside memmap's views is: the process ends. docs/safety.md says so.
 */
#define WIN32_LEAN_AND_MEAN
#include <windows.h>

#include <stdint.h>

#include "platform.h"

static volatile LONG installed = 0;

static LONG CALLBACK on_exception(EXCEPTION_POINTERS *ep) {
  const EXCEPTION_RECORD *er = ep->ExceptionRecord;
  if (er->ExceptionCode != EXCEPTION_ACCESS_VIOLATION || er->NumberParameters < 2) return EXCEPTION_CONTINUE_SEARCH;
  uintptr_t addr = (uintptr_t)er->ExceptionInformation[1];
  /* Any access to a range that left a mapping: it waits for the zeros. */
  if (mm__retired_fault(addr)) return EXCEPTION_CONTINUE_EXECUTION;
  if (er->ExceptionInformation[0] != 1 /* a write */) return EXCEPTION_CONTINUE_SEARCH;
  mm_guard *g = mm__guard_find(addr);
  if (g == NULL || !mm__contain_write(g, addr)) return EXCEPTION_CONTINUE_SEARCH;
  return EXCEPTION_CONTINUE_EXECUTION;
}

int mm_fault_install(void) {
  if (InterlockedCompareExchange(&installed, 1, 0) != 0) return 0;
  return AddVectoredExceptionHandler(1, on_exception) != NULL ? 0 : -1;
}

/* The tests' pause (MEMMAP_TEST_FAULT_PAUSE_US) is POSIX's. */
void mm_fault_test_pause(int us) { (void)us; }

/* No signal listener replaces a vectored handler. */
void mm_fault_listening(int sigbus, int now, int record) {
  (void)sigbus;
  (void)now;
  (void)record;
}

/* A vectored handler added first stays first: nothing can take its place. */
int mm_fault_ensure(int guard) {
  (void)guard;
  return 0;
}
