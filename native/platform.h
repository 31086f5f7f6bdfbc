/*
 * platform.h: the private per-OS hooks behind mm.h. Included only by the OS
 * files (posix.c, linux.c, darwin.c), guard.c and the fault handlers
 * (fault.c, fault-win32.c); the Node-API glue never sees these.
 *
 * Hooks are named mm__verb (two underscores). Each POSIX OS file (linux.c,
 * darwin.c) provides the first group; guard.c provides the second, which the
 * fault handler of each OS calls.
 */
#ifndef MEMMAP_PLATFORM_H
#define MEMMAP_PLATFORM_H

#include "mm.h"

/* --- Provided by linux.c and darwin.c, used by posix.c and fault.c. --- */

/* 1 where mremap(2) exists; 0 makes mm_remap take the portable path. */
int mm__has_mremap(void);
/* mremap(2) of [addr, addr+old_length) to new_length, allowed to move; *out
 * receives the new address. Only called where mm__has_mremap() is 1. */
int mm__remap_native(void *addr, size_t old_length, size_t new_length, void **out);
/* A close-on-exec descriptor of a new, empty, anonymous shared-memory file,
 * or -errno (posix.c's mm_memfd sizes it). */
int mm__memfd(void);
/* Replaces the page at `page` (page-aligned, `size` bytes, mapped and
 * readable) with a private writable copy of itself; 0 or -errno.
 * Async-signal-safe: fault.c calls it from its signal handler. */
int mm__page_private_copy(void *page, size_t size);

/* --- Provided by guard.c, used by the fault handler of each OS. --- */

/* The guard whose range holds addr, or NULL; async-signal-safe. */
mm_guard *mm__guard_find(uintptr_t addr);
/* The flags (MM_GUARD_*) and start of a guard; async-signal-safe. */
int mm__guard_flags(mm_guard *g);
uintptr_t mm__guard_start(mm_guard *g);
/* Records that the page at `offset` from the guard's start was lost (and
 * counts it in mm_fault_counter); async-signal-safe. */
void mm__guard_lost(mm_guard *g, uintptr_t offset);

#endif
