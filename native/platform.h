/*
 * platform.h: the private per-OS hooks behind mm.h. Included only by the OS
 * files (posix.c, linux.c, darwin.c, win32.c), guard.c and the fault handlers
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
/* Grows the mapping at addr from old_length to new_length where it is,
 * without moving it (mremap(2) without MREMAP_MAYMOVE); 0, or -ENOMEM where
 * the addresses after it are taken. Only called where mm__has_mremap() is 1. */
int mm__grow_in_place(void *addr, size_t old_length, size_t new_length);
/* The same, or moved where there is room (MREMAP_MAYMOVE: the old range is
 * unmapped); *out receives the address. Only where mm__has_mremap() is 1. */
int mm__grow_anywhere(void *addr, size_t old_length, size_t new_length, void **out);
/* Moves the pages of [from, from+length) to `to` (replacing what is mapped
 * there), and leaves `from` mapped (MREMAP_DONTUNMAP): private anonymous
 * memory reads zeros there afterwards, a file mapping still maps the file.
 * 0, or -errno: -EINVAL where the system cannot (the caller copies instead). */
int mm__move_keep(void *from, size_t length, void *to);
/* Moves the mapping [from, from+old_length) to `to`, grown to new_length
 * (replacing what is mapped there, unmapping `from`): mremap(2) with
 * MREMAP_FIXED. Only called where mm__move_keep succeeded. */
int mm__move_grow(void *from, size_t old_length, size_t new_length, void *to);
/* A close-on-exec descriptor of a new, empty, anonymous shared-memory file,
 * or -errno (posix.c's mm_memfd sizes it). */
int mm__memfd(void);
/* Replaces the page at `page` (page-aligned, `size` bytes, mapped and
 * readable) with a private writable copy of itself; 0 or -errno.
 * Async-signal-safe: fault.c calls it from its signal handler. */
int mm__page_private_copy(void *page, size_t size);
/* POSIX shared memory by name ("/<tag>", as shm_open(3) takes it): a
 * descriptor (posix.c makes it close-on-exec) or -errno; 0 or -errno. Linux
 * opens the file under /dev/shm itself, as glibc and musl do (glibc before
 * 2.34 has shm_open in librt only, and the prebuilds run on glibc 2.28). */
int mm__shm_open(const char *name, int oflag, int mode);
int mm__shm_unlink(const char *name);
/* The longest name after the '/' that mm__shm_open takes, in bytes. */
int mm__shm_name_max(void);
/* Reads and maps every page of [addr, addr+length) in one call where the
 * kernel has one (Linux MADV_POPULATE_READ): 0, or -errno (-ENOSYS where
 * there is none, -EINVAL from a kernel before 5.14, -EFAULT for a page that
 * cannot be read). */
int mm__populate(void *addr, size_t length);
/* Locks [addr, addr+length) as its pages are faulted in, faulting none in
 * (Linux mlock2 MLOCK_ONFAULT, 4.4+): 0, or -errno (-ENOSYS where there is
 * no such call). */
int mm__lock_on_fault(void *addr, size_t length);
/* fstat(2): 0, or -1 with errno set. Async-signal-safe (guard.c's identity
 * check runs in the fault handler). Linux makes the system call itself; see
 * linux.c. */
struct stat;
int mm__fstat(int fd, struct stat *st);
/* mm_keep_loaded (mm.h): Linux links with -z nodelete and returns 0; macOS
 * opens the addon once more and never closes it. */
int mm__keep_loaded(void);

/* --- Provided by each OS file for fault containment (guard.c calls them
 * from signal handlers: every one is async-signal-safe, system calls only). */

/* Makes [addr, addr+length) of a mapping without PROT_WRITE writable, in
 * memory of this process only: POSIX mprotect (mm_map maps a file private
 * when it may not be written; anonymous memory has no file), Windows
 * PAGE_WRITECOPY. Never reaches a file. */
int mm__protect_private(void *addr, size_t length);
/* Maps private zero pages over [addr, addr+length), atomically. POSIX: when
 * the kernel says ENOMEM (no mapping left), gives back a spare mapping and
 * tries again (posix.c), as mm__map_file_again does. */
int mm__map_zeros(void *addr, size_t length);
/* Makes the spare mappings containment gives back when none is left (POSIX;
 * nothing on Windows): `start` when the handler is installed, else only once
 * started. Never from a handler. */
void mm__spares_keep(int start);
/* Maps the file again over [addr, addr+length) (atomically, as mm_map did at
 * `offset`), with PROT_WRITE added when `writable`. */
int mm__map_file_again(void *addr, size_t length, int prot, int flags, int fd, int64_t offset,
                       int writable);
/* The size of fd's file, or -errno. */
int64_t mm__file_size(int fd);
/* The errno of an I/O error that struck [offset, offset+length) of fd's file
 * inside its size: ENOSPC or EDQUOT when allocating it fails so, or the file
 * system has no space left; else EIO. */
int mm__io_errno(int fd, int64_t offset, size_t length);
/* 1 when the byte at addr can be read without a fault, 0 when not (or when
 * that cannot be told). POSIX: the kernel copies it into a pipe, and says
 * EFAULT where the access would fault; mm__readable_init, called once by
 * mm_fault_install, opens the pipe (two descriptors for the process's life). */
int mm__readable(const void *addr);
int mm__readable_init(void);
/* A pipe whose two ends are close-on-exec and non-blocking; 0 or -errno.
 * Linux: pipe2, atomically (a child another thread spawns meanwhile inherits
 * nothing); macOS has no pipe2: pipe, then fcntl. */
int mm__pipe(int fds[2]);
/* A non-zero id of the calling thread. */
uintptr_t mm__thread_id(void);

/* --- Provided by win32.c for wait-win32.c and fault-win32.c. --- */

/* 1 when the view holding addr maps memory that other processes can map too
 * (a named section, or a file, not copy-on-write), with its identity in id:
 * the same in every process that maps it. 0 for memory of this process only. */
int mm__view_identity(const void *addr, uint64_t id[2]);

/* A fault at addr inside a range that left a mapping (mm_placeholder, a
 * resize): 1 when handled and the access is to run again (the zeros are on
 * their way, or a page of them was committed now), 0 when not such a range. */
int mm__retired_fault(uintptr_t addr);

/* --- Provided by guard.c, used by the fault handler of each OS. --- */

/* The guard whose range holds addr, or NULL; async-signal-safe. */
mm_guard *mm__guard_find(uintptr_t addr);
/* Contain one fault at addr inside g; async-signal-safe. 1: contained, or
 * another thread is changing the mapping (either way the access runs
 * again); 0: not ours to contain (chain it). */
int mm__contain_write(mm_guard *g, uintptr_t addr); /* a write to a read-only map */
int mm__contain_bus(mm_guard *g, uintptr_t addr);   /* SIGBUS in a file map */

#endif
