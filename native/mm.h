/*
 * mm.h: the portable C interface of memmap's native layer, and the only
 * header the Node-API glue includes from it (the per-OS hooks are private:
 * platform.h).
 *
 * Every function here is a thin wrapper over one system call (or a short,
 * fixed sequence of them). None of them validates arguments beyond what the
 * kernel needs: validation, defaults and error messages live in TypeScript.
 *
 * Convention: a function returns 0 (or a non-negative result such as a
 * descriptor) on success and a negative errno on failure; the glue hands
 * that number to JavaScript, and src/errors.ts is the one place that names it.
 *
 * Who implements what: posix.c the functions every POSIX system shares, over
 * the hooks of platform.h that linux.c and darwin.c provide; win32.c
 * everything on Windows; search.c the search functions; guard.c the guards,
 * fault.c (POSIX signals) and fault-win32.c (Windows exceptions) the handler.
 */
#ifndef MEMMAP_MM_H
#define MEMMAP_MM_H

#include <stddef.h>
#include <stdint.h>

/* The PROT_*, MAP_* and MS_* values the glue and src/ pass around. POSIX
 * systems have their own; Windows has none, so memmap defines them here once,
 * and win32.c turns them into page protections and view access. */
#ifdef _WIN32
#define PROT_READ 0x1
#define PROT_WRITE 0x2
#define PROT_EXEC 0x4
#define MAP_SHARED 0x01
#define MAP_PRIVATE 0x02
#define MAP_ANONYMOUS 0x20
#define MS_ASYNC 1
#define MS_INVALIDATE 2
#define MS_SYNC 4
/* glibc's memrchr, which search.c uses; win32.c provides it. */
void *memrchr(const void *s, int c, size_t n);
#else
#include <sys/mman.h>
#endif

/* Map `length` bytes of `fd` (or anonymous memory when fd < 0 and flags say
 * so) at file offset `offset`. On success stores the address in *out.
 * `tag` (UTF-8, or NULL) names the mapping: Windows only (tagname); POSIX
 * systems ignore it (a tag map there is a map of the descriptor that
 * mm_tag_open gives). */
int mm_map(size_t length, int prot, int flags, int fd, int64_t offset, const char *tag, void **out);

/* Unmap [addr, addr+length): a mapping of mm_map, or a placeholder of
 * mm_placeholder. */
int mm_unmap(void *addr, size_t length);

/* A mapping closed while a job still uses its memory (region.h: busy): lets
 * go now of what names it to others, the memory staying mapped until
 * mm_unmap. Windows: the section's handle, which holds its tagname (a view
 * holds its section, not the name). POSIX: nothing (a name is shm_unlink's). */
void mm_unname(void *addr);

/* Replaces the whole pages of [addr, addr+length) with a placeholder,
 * atomically: no thread ever finds the range unmapped, and no other mapping
 * can take its addresses. A placeholder reads zeros, takes writes (they reach
 * nothing: private memory of this process), and maps no file; it stays until
 * mm_unmap. On failure the range is as it was (still mapped). POSIX: one
 * mmap(MAP_FIXED) of private anonymous memory; Windows: see win32.c. */
int mm_placeholder(void *addr, size_t length);

/* Resize a mapping. `keep` says that something may still hold an address of
 * the old mapping: then none is unmapped, and what the old mapping leaves
 * over stays mapped for the caller to retire (mm_placeholder, or mm_unmap
 * once nothing can use it any more). Without `keep`, nothing is left over:
 * what the old mapping leaves is unmapped here (the fast way: one mremap).
 * On success *out holds the address of the mapping of new_length bytes:
 * - *out == addr: it stayed in place. When it shrank, the whole pages of
 *   [addr + new_length, addr + old_length) are left over, still mapped as
 *   they were; when it grew, nothing is.
 * - *out != addr: it moved; the whole old range [addr, addr + old_length) is
 *   left over, still mapped (reading the file or zeros).
 * On failure (POSIX) nothing changed: the mapping is intact at addr, and
 * *out == addr; except, should the kernel refuse to move pages back where
 * they were, a mapping moved and not resized: *out is its new address and
 * the old range is left over. Windows, where a file cannot change size under a view, unmaps
 * the view to resize the file and maps it again (win32.c says how the range
 * stays reserved meanwhile); on failure it maps the old size again at the
 * same address, and *out is NULL in the unlikely case it could not (the
 * region is then gone, its range a placeholder).
 * Windows also sets the file to offset + new_length; on POSIX systems the
 * caller does (src/mapping.ts, ftruncate before the remap).
 * `portable` selects the path taken where mremap(2) does not exist: map
 * anew, copy a private mapping's contents.
 * *room: the headroom, address space right after the mapping's whole pages
 * (PROT_NONE, no commit; for a shared file mapping the file itself mapped on
 * past its end; posix.c says why), which only mm_remap makes, uses and gives
 * back (and mm_room_settle); the caller keeps it with the mapping and unmaps
 * it with the mapping (mm_unmap of [addr + span, + *room)). 0 where there is
 * none (Windows, systems without mremap). `new_room`: whether a growth may
 * reserve new headroom (not for memory locked in RAM). `has_file`: whether
 * the mapping maps a file whose descriptor the caller keeps (the file it sizes
 * before a growth), whether or not `fd` is given. */
int mm_remap(void *addr, size_t old_length, size_t new_length, int prot,
             int flags, int fd, int64_t offset, int portable, int keep, void **out, size_t *room,
             int new_room, int has_file);
/* Before an madvise or mlock of the mapping [addr, addr+length) (whole or
 * part): a headroom that is the file mapped past its end, one kernel mapping
 * with the map, is given back (*room = 0), so that the change cannot split the
 * map from it, and the next growth goes through mremap, which refuses a map
 * the change split (EFAULT) as CPython's resize does. Arguments as mm_remap's. */
void mm_room_settle(void *addr, size_t length, size_t *room, int prot, int flags, int has_file);
/* Whether mm_remap with these arguments may use the descriptor (map the file
 * afresh, or size it): only then must the caller check that the descriptor
 * still names the map's file (an fstat) before the call. */
int mm_remap_uses_fd(size_t old_length, size_t new_length, int portable, int keep);

/* The address of a function the runtime exports (a Node-API function newer
 * than the version memmap is built for: the ones posix.c names), or NULL
 * where it has none: resolved when the addon loads, which it does everywhere
 * (POSIX: weak references; Windows: GetProcAddress on the executable). */
void *mm_runtime_symbol(const char *name);

/* msync(2) of [addr, addr+length). */
int mm_sync(void *addr, size_t length, int flags);

/* madvise(2) of [addr, addr+length). */
int mm_advise(void *addr, size_t length, int advice);

/* Which pages of [addr, addr+length) are in memory (addr page-aligned):
 * vec[i] = 1 where page i is, 0 where it is not; vec holds one byte per page
 * (length rounded up to pages). POSIX mincore(2), its low bit (the others say
 * other things on some systems); Windows QueryWorkingSetEx. */
int mm_residency(void *addr, size_t length, uint8_t *vec);

/* Starts reading [addr, addr+length) (addr page-aligned) into memory; called
 * on the thread pool. With `populate`, first the kernel's one call that reads
 * and maps every page (Linux MADV_POPULATE_READ, 5.14+): 1 when it did all of
 * it. Otherwise (no such call, or it failed: an older kernel, a page that
 * cannot be read) the system's read-ahead hint (MADV_WILLNEED; Windows
 * PrefetchVirtualMemory where it exists, looked up at run time) and 0: the
 * caller then reads one byte of every page, which waits for it (and lets
 * fault containment record a page that cannot be read). */
int mm_prefetch(void *addr, size_t length, int populate);

/* mlock(2) / munlock(2) of [addr, addr+length); Windows VirtualLock /
 * VirtualUnlock (unlocking pages that are not locked succeeds, as munlock).
 * `readonly`: the mapping was made without PROT_WRITE, so private (posix.c's
 * map_flags), and fault containment makes it writable at a stray write
 * (guard.c). Linux's mlock faults a writable private mapping in for writing,
 * and mprotect makes a locked one writable the same way: each would copy
 * every page, which then stops showing the file. So such a range is locked
 * as its pages are faulted in (mlock2 MLOCK_ONFAULT, which neither call
 * populates for writing) and its pages read in at once (MADV_POPULATE_READ),
 * with mlock's errors (ENOMEM for a page that cannot be read, EAGAIN when
 * memory is short). Where the kernel has neither (before 4.4 / 5.14), or on
 * other systems, plain mlock. */
int mm_lock(void *addr, size_t length, int readonly);
int mm_unlock(void *addr, size_t length);

/* Named shared memory (tagname), where names are objects with a descriptor
 * (POSIX shared memory; mm_has_tag_objects). `tag` is the user's name, UTF-8,
 * already checked (no '/', not "." or "..", at most mm_tag_max() bytes); the
 * system's name is "/<tag>", as shm_open(3) takes it and as other programs
 * (Python's multiprocessing.shared_memory) name the same memory.
 * mm_tag_open: MM_TAG_EXISTING opens an existing object (read-only when
 * `readonly`, else read-write); MM_TAG_CREATE creates a new one, read-write,
 * mode 0600, failing with -EEXIST if it exists. A close-on-exec descriptor,
 * or -errno. mm_tag_unlink removes the name (the memory stays while mapped).
 * Windows: -ENOSYS for both (mm_map names the section itself). */
enum { MM_TAG_EXISTING = 0, MM_TAG_CREATE = 1 };
int mm_tag_open(const char *tag, int how, int readonly);
int mm_tag_unlink(const char *tag);
/* Windows: the size of the existing section named `tag` (whole pages: the
 * system's view of it), or -errno (-ENOENT: there is none). POSIX: -ENOSYS
 * (the size is the descriptor's, fstat). */
int64_t mm_tag_size(const char *tag);
/* flock(2) of a tag's object, without waiting: `lock` 1 takes it exclusively
 * (-EWOULDBLOCK while another descriptor of the object holds it), 0 lets it
 * go. Sizes a new object one process (or thread) at a time (src/tags.ts).
 * 0 or -errno; Windows: -ENOSYS. */
int mm_tag_lock(int fd, int lock);
/* 1 where a tag is an object with a descriptor (POSIX: shm_open), 0 where the
 * mapping itself is named (Windows). */
int mm_has_tag_objects(void);
/* The longest tag the system takes: in bytes (POSIX), in UTF-16 code units
 * where the mapping itself is named (Windows, which cuts longer names). */
int mm_tag_max(void);

/* fstat(2): the size, whether the descriptor is a regular file, and the
 * file's identity as mm_file_id reads it, from the same call; MM_NO_ID where
 * there is none to read (Windows: not a regular file). */
#define MM_NO_ID UINT64_MAX
int mm_fstat(int fd, int64_t *size, int *regular, uint64_t *dev, uint64_t *ino);

/* The identity of the file a descriptor names (POSIX: st_dev and st_ino;
 * Windows: the volume serial number and the file index), so that a map can
 * tell whether the number it owns still names its file after someone closed
 * it and the number was reused; and, when `size` is not NULL, the file's
 * size, from the same call. 0 or -errno. Async-signal-safe on POSIX. */
int mm_file_id(int fd, uint64_t *dev, uint64_t *ino, int64_t *size);

/* ftruncate(2). */
int mm_truncate(int fd, int64_t size);

/* A close-on-exec duplicate of fd, or -errno. */
int mm_dup(int fd);

/* close(2), or -errno. */
int mm_close(int fd);

/* A close-on-exec descriptor of a new anonymous shared-memory file of
 * `size` bytes, or -errno. Linux: memfd_create; elsewhere shm_open+unlink. */
int mm_memfd(int64_t size);

/* The page size. */
long mm_pagesize(void);

/* The granularity of a map's file offset: the page size on POSIX systems,
 * the allocation granularity (64 KiB) on Windows. */
long mm_granularity(void);

/* The constants the platform defines (name, value), as CPython exposes them;
 * *count receives their number. */
typedef struct {
  const char *name;
  int64_t value;
} mm_constant;
const mm_constant *mm_constants(size_t *count);

/* Whether mm_remap also sets the size of the file (Windows). */
int mm_remap_sizes_file(void);

/* The soft limit on open descriptors (RLIMIT_NOFILE), or -errno. */
int64_t mm_fd_limit(void);

/* Keeps this copy of the addon in the process until the process exits. Node
 * unloads an addon (dlclose, FreeLibrary) when the last environment that
 * loaded it ends, a worker's: memmap's fault handlers would stay installed
 * over code that is gone (the next fault, a WebAssembly bounds trap among
 * them, crashed the process), and a waitAsync thread may still be returning
 * through it. 0, or -1 where it could not (the addon may then be unloaded).
 * Linux: the link's -z nodelete (binding.gyp) already does it. */
int mm_keep_loaded(void);

/* Whether this platform has mremap(2); 0 means mm_remap always copies. */
int mm_has_mremap(void);

/* Capabilities, each 1 or 0: madvise(2); anonymous memory with a descriptor
 * (memfd_create, or shm_open+unlink); named shared memory (tagname: Windows
 * sections, POSIX shared memory). */
int mm_has_madvise(void);
int mm_has_memfd(void);
int mm_has_tagname(void);

/* Whether retired ranges become placeholders atomically (mm_placeholder): 1
 * on POSIX systems; on Windows where VirtualAlloc2 and its kin exist and work
 * (win32.c), else 0: a retired view is unmapped and its addresses reserved
 * again at once, which another thread could take in between. */
int mm_has_placeholders(void);

/* The system call mm_remap names when it fails: the native path (portable
 * 0) or the portable one (portable 1). */
const char *mm_remap_syscall(int portable);

/* Searching (search.c): the offset of the first (last) occurrence of the
 * k-byte needle in hay[0, n), or -1. k == 0 gives 0 (n). */
int64_t mm_find(const uint8_t *hay, size_t n, const uint8_t *needle, size_t k);
int64_t mm_rfind(const uint8_t *hay, size_t n, const uint8_t *needle, size_t k);
/* Line ends (search.c): the offsets just past each '\n' of hay[0, n), in
 * order, into out[0, k), stopping once cap of them are found; returns k.
 * k < cap: hay holds no '\n' after the last one reported. n < 2^32. */
size_t mm_line_ends(const uint8_t *hay, size_t n, uint32_t *out, size_t cap);
/* Copying (search.c): memmove(dst, src, n), faster where glibc's memmove is
 * slow for the two addresses (a destination just past the source modulo
 * 4 KiB). The ranges may overlap. */
void mm_copy(void *dst, const void *src, size_t n);

/* Waiting on a 32-bit word of a mapping (wait-linux.c, wait-darwin.c,
 * wait-win32.c; wait-posix.c has the clock and threads of the POSIX systems).
 * The glue (wait.c) fills an mm_word for a word of a live region, keeps the
 * region mapped while it sleeps, and cuts a wait into slices where it must
 * look at something between them (a cancelled waitAsync, a worker asked to
 * stop). `shared` says that other processes, or other mappings of the same
 * object in this one, may wait on the word or notify it (a MAP_SHARED map of a
 * file, of a memfd, of a named object); 0 is memory that only this mapping
 * reaches (a private or plain anonymous map), which the system may key by
 * address. */
typedef struct {
  uint32_t *addr;  /* 4-byte aligned, inside a live mapping */
  int shared;
  uint64_t key[3]; /* Windows: the identity of the file or named section, and the word's offset in it */
} mm_word;

/* The longest sleep of a wait cut into slices, in milliseconds. */
#define MM_WAIT_SLICE_MS 100

/* Fills *w for the word at addr, `offset` bytes into the file or named object
 * the mapping maps (the map's offset plus the word's index). Windows decides
 * `shared` from the view itself (a named or file section that is not
 * copy-on-write). 0 or -errno. */
int mm_word_init(mm_word *w, void *addr, int shared, int64_t offset);

enum { MM_WAIT_OK = 0, MM_WAIT_NOT_EQUAL = 1, MM_WAIT_TIMED_OUT = 2, MM_WAIT_STOPPED = 3 };
/* One sleep: if *w->addr == expected, sleeps until mm_wake on the same word
 * (OK), or until `until` (mm_now_ns time; -1 for none: TIMED_OUT), or, where
 * mm_wait_watches_cancel() is 1, until *cancel (a word private to this
 * process, or NULL) becomes non-zero through mm_wait_cancel (STOPPED). The
 * comparison and the sleep are one step: a wake-up after it is never lost.
 * NOT_EQUAL when the word differs; -errno when the system refuses. A signal
 * does not end it. */
int mm_wait(const mm_word *w, uint32_t expected, int64_t until, uint32_t *cancel);
/* 1 where mm_wait ends at once when its cancel word is set, 0 where the
 * caller must cut the wait into slices and look at the word between them. */
int mm_wait_watches_cancel(void);
/* Sets *cancel to `value` (non-zero) if it is 0, and then wakes the mm_wait
 * watching it, if any; 1 if it set it, 0 if *cancel was set already. Any
 * thread. */
int mm_wait_cancel(uint32_t *cancel, uint32_t value);
/* Lets another thread run (a spin lock's wait: a fault handler's, the wait registry's). */
void mm_yield(void);
/* Wakes up to `count` (INT64_MAX: all) waiters on the word, in any process
 * for a shared word; returns how many it woke, or -errno. */
int64_t mm_wake(const mm_word *w, int64_t count);
/* A monotonic clock, in nanoseconds. */
int64_t mm_now_ns(void);
/* Runs fn(arg) on a new detached thread with a small stack; 0 or -errno. */
int mm_thread_start(void (*fn)(void *), void *arg);
/* A non-zero id of the calling thread, unique among the live threads. */
uintptr_t mm_thread_id(void);

/* Fault containment (guard.c, with fault.c or fault-win32.c). A guard marks
 * one mapping as memmap's own; the handler acts only inside guarded ranges
 * and passes every other fault on; docs/safety.md says what each fault
 * becomes. Containment costs a constant number of kernel mappings per map,
 * whatever the number of faults: a stray write makes the whole map writable
 * at once (one mprotect of a mapping that mm_map made private); a file that
 * shrank loses the whole tail of the map at once (one private zero mapping);
 * an I/O error inside the file (a full disk, EIO) sets aside at most one page
 * at a time, put back as soon as the error has been reported. */
typedef struct mm_guard mm_guard;
enum { MM_GUARD_READONLY = 1, MM_GUARD_FILE = 2 };

/* Installs the fault handler once per process (POSIX: SIGSEGV and SIGBUS,
 * chaining to the previous handlers; Windows: a vectored exception handler).
 * Returns 0 or -1. */
int mm_fault_install(void);
/* Puts memmap's handlers back on top where something replaced them since
 * (Node's process.on('SIGBUS'), which installs libuv's handler; another
 * addon), chaining to what replaced them. 1 when it did, 0 when they were in
 * place or never installed (MEMMAP_NO_FAULT_HANDLER=1), -errno. `guard`:
 * the MM_GUARD_* flags of a new map, whose signals are asked first (SIGSEGV
 * for READONLY, SIGBUS for FILE); 0 asks both. */
int mm_fault_ensure(int guard);
/* JavaScript listens for SIGBUS (sigbus != 0) or SIGSEGV (`now`), or no more.
 * `record` 1: a first listener, for which Node may have just installed its
 * handler, and memmap's is back on top (mm_fault_ensure, this thread's or
 * another's): the handler chained now is Node's if it is not the one chained
 * at install; 2: a listener older than memmap. src/binding.ts then keeps a
 * listener of its own so that Node never removes it (the default action Node
 * puts back would kill a thread faulting in a memmap map before memmap's
 * handler is on top again). While nobody else listens, a signal that memmap
 * passes on to that handler takes the default action instead, as it would
 * without a listener. POSIX; a no-op on Windows. */
void mm_fault_listening(int sigbus, int now, int record);
/* Tests only (MEMMAP_TEST_FAULT_PAUSE_US): a fault handler sleeps `us`
 * microseconds between finding the fault's map and containing the fault. */
void mm_fault_test_pause(int us);
/* Guards [start, start+length), mapped by mm_map(length, prot, flags, fd,
 * offset) of the file that `owned_fd` (the region's own descriptor, or -1)
 * opens; dev and ino are that file's identity as mm_file_id read it (both
 * MM_NO_ID when unknown: containment then never uses the descriptor).
 * READONLY: a stray write makes the map writable in private memory.
 * FILE: a SIGBUS past the end of the file loses the map's tail; inside the
 * file it is an I/O error. Returns NULL when out of memory. */
mm_guard *mm_guard_add(void *start, size_t length, int flags, int owned_fd, uint64_t dev, uint64_t ino,
                       int64_t offset, int prot, int map_flags);
/* The mapping moved or changed size (mm_remap); call it while holding g. The
 * flags and the loss record stay. */
void mm_guard_move(mm_guard *g, void *start, size_t length);
/* Waits for the containment in progress on another thread, if any, and takes
 * g out of service (it may be reused by a later mm_guard_add); the caller
 * unmaps afterwards. */
void mm_guard_remove(mm_guard *g);
/* Keeps the fault handlers away from g's mapping (they make the faulting
 * thread run its access again) and puts back a page set aside after an I/O
 * error, so that the mapping is one piece: around mm_remap. */
void mm_guard_hold(mm_guard *g);
void mm_guard_unhold(mm_guard *g);
/* Stops using the region's descriptor (about to be closed while the mapping
 * stays): a page set aside after an I/O error goes back first; from then on
 * containment works as for a map without one (a page that cannot be read
 * starts the lost tail). */
void mm_guard_forget_fd(mm_guard *g);
/* The offset (from the start of the mapping) where the zero tail that
 * replaced pages lost to a shrinking file begins, or -1 when none was lost. */
int64_t mm_guard_lost_from(mm_guard *g);
/* What the map lost: the zero tail (lost_from, -1 for none) and the first I/O
 * error not yet reported (io_errno, 0 for none) with the range of the map
 * [io_start, io_end) it struck (whole pages; writes there may not have
 * reached the file). Puts back a page set aside after an I/O error. `take`
 * marks the I/O error reported: cleared, unless a page could not be put back
 * (no descriptor), in which case it stays, and is reported every time. */
typedef struct {
  int64_t lost_from;
  int io_errno;
  int64_t io_start, io_end;
} mm_loss;
void mm_guard_loss(mm_guard *g, int take, mm_loss *out);
/* Counts every contained loss (a lost tail, an I/O error), in any mapping;
 * JavaScript reads it in place (static memory: valid for the life of the
 * process). */
uint32_t *mm_fault_counter(void);

#endif
