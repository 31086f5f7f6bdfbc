/*
 * posix.c: the parts of mm.h that are the same on every POSIX system, over the
 * per-OS hooks of platform.h (linux.c, darwin.c).
 */
#define _GNU_SOURCE
#include "platform.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef MAP_ANONYMOUS
#define MAP_ANONYMOUS MAP_ANON
#endif
#ifndef MAP_NORESERVE
#define MAP_NORESERVE 0
#endif

/* How a mapping is made. A file mapping without PROT_WRITE is made private,
 * whatever its flags say: it reads the same pages as a shared one (the file's
 * pages, until written), and a stray write through a view can then make the
 * whole of it writable with one mprotect, landing in private copies that
 * never reach the file (guard.c); mprotect of a shared file mapping would
 * write to the file. MAP_NORESERVE: making it writable then charges no commit
 * for its size. Anonymous memory stays as asked: no file to reach (and no
 * descriptor shares it: `shareable` and tagname maps have one, and are file
 * mappings here). */
static int map_flags(int prot, int flags, int fd) {
  if ((prot & PROT_WRITE) || fd < 0) return flags;
  return (flags & ~(MAP_SHARED | MAP_PRIVATE)) | MAP_PRIVATE | MAP_NORESERVE;
}

int mm_map(size_t length, int prot, int flags, int fd, int64_t offset, const char *tag, void **out) {
  (void)tag; /* Windows only: a tag map here maps the descriptor of mm_tag_open */
  void *p = mmap(NULL, length, prot, map_flags(prot, flags, fd), fd, (off_t)offset);
  if (p == MAP_FAILED) return -errno;
  *out = p;
  return 0;
}

int mm_unmap(void *addr, size_t length) {
  return munmap(addr, length) == 0 ? 0 : -errno;
}

static size_t round_up(size_t n) {
  size_t page = (size_t)mm_pagesize();
  return (n + page - 1) / page * page;
}

/* Private zero pages over [addr, addr+length), replacing what is there in
 * one system call (the kernel swaps the mappings under its lock: no thread
 * finds a hole); MAP_NORESERVE: reserving commit for zeros that may never be
 * written would only make strict overcommit refuse it. Async-signal-safe. */
static int zeros_fixed(void *addr, size_t length) {
  void *p = mmap(addr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED,
                 -1, 0);
  return p == MAP_FAILED ? -errno : 0;
}

int mm_placeholder(void *addr, size_t length) { return zeros_fixed(addr, round_up(length)); }

void mm_unname(void *addr) { (void)addr; } /* a name is shm_unlink's (src/tags.ts) */

/* Address space reserved, inaccessible and without commit: a destination
 * before anything moves there, or a mapping's headroom (mm_remap). */
static const int RESERVE = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;

/* A reservation over [addr, addr+length), replacing what is there in one
 * system call (no hole another thread could map into). */
static int reserve_fixed(void *addr, size_t length) {
  return mmap(addr, length, PROT_NONE, RESERVE | MAP_FIXED, -1, 0) == MAP_FAILED ? -errno : 0;
}

/* `length` bytes of fd from `offset` (anonymous memory when fd < 0) at `at`,
 * replacing what is mapped there, as mm_map maps them. */
static int map_fixed(void *at, size_t length, int prot, int flags, int fd, int64_t offset) {
  void *p = mmap(at, length, prot, map_flags(prot, flags, fd) | MAP_FIXED, fd, (off_t)offset);
  return p == MAP_FAILED ? -errno : 0;
}

/* Growing by mapping anew, the path of systems without mremap(2) (also used on
 * Linux when forced, or where the kernel cannot move a mapping and keep its
 * old range): a new mapping of new_length bytes; a private mapping's contents
 * copied over (a shared one sees the same pages through the new range). The
 * old mapping is untouched: left over on success, intact on failure. */
static int grow_by_copy(void *addr, size_t old_length, size_t new_length, int prot, int flags, int fd,
                        int64_t offset, void **out) {
  if (fd < 0 && !(flags & MAP_PRIVATE)) return -EINVAL; /* shared anonymous memory cannot grow */
  void *fresh = mmap(NULL, new_length, prot, map_flags(prot, flags, fd), fd, (off_t)offset);
  if (fresh == MAP_FAILED) return -errno;
  /* Copy whole pages, as mremap keeps them: bytes past old_length on its
   * last page reappear when a shrunk map grows again. Sound: the old span is
   * mapped and readable (prot always includes PROT_READ, see src/mapping.ts),
   * and old_span <= new_span, the span of the new mapping. */
  size_t old_span = round_up(old_length);
  if (flags & MAP_PRIVATE) memcpy(fresh, addr, old_span < new_length ? old_span : new_length);
  *out = fresh;
  return 0;
}

/* Growing by moving, where the addresses after the mapping are taken, in one
 * piece (one kernel mapping: a later resize can grow or move it again), and
 * with every step that can fail before anything of the old mapping changes:
 * 1. the destination reserved whole, its new part mapped as it will be (so the
 *    address space and the commit it takes are had);
 * 2. the old pages moved (not copied) to a stop of this function's own,
 *    leaving the old range mapped (mm__move_keep);
 * 3. from there moved into the destination and grown (mm__move_grow), which
 *    replaces the reservation at once.
 * Should step 3 still fail (the commit taken by another process meanwhile),
 * the pages go back where they were (mm__move_grow again, to addr), and only
 * if even that fails is the mapping left moved: *out is then the stop.
 * -EINVAL where the kernel cannot move and keep (the caller copies).
 *
 * Memory locked in RAM (lock()): MREMAP_DONTUNMAP clears the lock of the range
 * it leaves without taking that range off the process's count of locked
 * memory (VmLck, which RLIMIT_MEMLOCK limits), so every such growth of a
 * locked map added its old length to the count for good (lock() and resize()
 * then failed with nothing locked). Such a mapping (one kernel mapping: a
 * split one never gets here, mremap in place said EFAULT) is unlocked before
 * it moves and the grown mapping locked again, which faults it in as mremap of
 * locked memory does; the growth's share of the limit is had first, by
 * locking the new part before anything moves. (Linux: msync(MS_INVALIDATE)
 * says EBUSY for locked memory and does nothing else; only Linux gets here.) */
static int grow_by_move(void *addr, size_t old_length, size_t new_length, int prot, int flags, int fd,
                        int64_t offset, void **out) {
  if (fd < 0 && !(flags & MAP_PRIVATE)) return -EINVAL;
  size_t old_span = round_up(old_length), new_span = round_up(new_length);
  int locked = msync(addr, old_span, MS_INVALIDATE) != 0 && errno == EBUSY, unlocked = 0;
  uint8_t *dst = mmap(NULL, new_span, PROT_NONE, RESERVE, -1, 0);
  if (dst == MAP_FAILED) return -errno;
  uint8_t *stop = MAP_FAILED;
  /* Sound: [dst, dst+new_span) and [stop, stop+old_span) are this function's
   * own reservations, which nothing else knows of; old_span < new_span. */
  int rc = map_fixed(dst + old_span, new_span - old_span, prot, flags, fd, offset + (int64_t)old_span);
  /* Beyond the limit mlock says ENOMEM, mremap of locked memory EAGAIN. */
  if (rc == 0 && locked && mlock(dst + old_span, new_span - old_span) != 0) rc = errno == ENOMEM ? -EAGAIN : -errno;
  if (rc == 0 && locked) rc = munlock(addr, old_span) == 0 ? (unlocked = 1, 0) : -errno;
  if (rc == 0 && (stop = mmap(NULL, old_span, PROT_NONE, RESERVE, -1, 0)) == MAP_FAILED) rc = -errno;
  if (rc == 0 && (rc = mm__move_keep(addr, old_span, stop)) == 0) {
    rc = mm__move_grow(stop, old_span, new_length, dst);
    if (rc == 0) {
      /* Fits: the count is back where it was with the new part locked. */
      if (unlocked) (void)mlock(dst, new_span);
      *out = dst;
      return 0;
    }
    if (mm__move_grow(stop, old_span, old_span, addr) != 0) {
      munmap(dst, new_span);
      if (unlocked) (void)mlock(stop, old_span);
      *out = stop; /* moved, not grown: the old range is left over */
      return rc;
    }
    stop = MAP_FAILED; /* moved back over it */
  }
  if (stop != MAP_FAILED) munmap(stop, old_span);
  munmap(dst, new_span); /* the new part's lock with it */
  if (unlocked) (void)mlock(addr, old_span); /* locked again, as it was */
  return rc;
}

/* Headroom: address space reserved (RESERVE) right after a mapping that
 * grew, so that its next growths happen in place (that part of the
 * reservation given back, mremap without moving) instead of moving the whole
 * mapping. A move costs the kernel a walk of the page tables of the whole
 * range and, in a process with threads (Node's are several), a TLB shootdown
 * on every CPU they ran on: most of what a resize cost beyond C's. Sized so
 * that a map doubling at each step moves once every three steps; none on
 * 32-bit systems, where address space is scarce.
 *
 * A shared file mapping's headroom is the file itself, mapped on past its end
 * as part of the same kernel mapping (file_room): a growth into it is then the
 * caller's ftruncate and no system call here, since the pages the file grows
 * into are already mapped, and a shrink keeps the pages let go (now past the
 * file's end) as headroom. Sound: no method reaches past the map's length (a
 * page wholly past the end of the file raises SIGBUS, as a reservation raises
 * SIGSEGV, for foreign code only); the mapping stays one kernel mapping, with
 * contiguous file offsets, so a later move grows it whole; it takes no commit
 * (a shared file mapping charges none). What mremap in place did besides
 * growing, failing with EFAULT on a map that an madvise or mlock of part of
 * it split (as CPython's resize fails), is kept by mm_room_settle: such a
 * change gives this headroom back first, so the next growth goes through
 * mremap again. Not for private file mappings (a writable one charges commit
 * for its whole size) nor MAP_LOCKED ones (the kernel would lock the pages
 * the file grows into on every growth, through mremap's populate). */
static int file_room(int prot, int flags, int has_file) {
  if (!has_file) return 0;
#ifdef MAP_LOCKED
  if (flags & MAP_LOCKED) return 0;
#endif
  int mapped = map_flags(prot, flags, 0); /* as mm_map mapped the file */
  return (mapped & MAP_SHARED) && !(mapped & MAP_PRIVATE);
}

static size_t headroom_for(size_t span) {
  /* Nor under a limit on address space (ulimit -v): the headroom counts
   * against it, and could make another allocation of the process fail. */
  static int limited = -1;
  if (limited < 0) {
    struct rlimit rl;
    limited = getrlimit(RLIMIT_AS, &rl) != 0 || rl.rlim_cur != RLIM_INFINITY;
  }
  if (limited || sizeof(void *) < 8) return 0;
  const size_t most = (size_t)1 << 40; /* 1 TiB: far below a 47-bit address space */
  return span > most / 3 ? 0 : 3 * span;
}

/* Lets go of the headroom after [addr, addr+span): it is this region's own
 * reservation, which nothing else maps into. */
static void drop_room(uint8_t *addr, size_t span, size_t *room) {
  if (*room > 0) munmap(addr + span, *room);
  *room = 0;
}

/* Grows into the headroom, in place: that part of the reservation given
 * back, then mremap grows the mapping without moving it, so that it stays one
 * kernel mapping (a later move needs that) and fails where CPython's resize
 * fails (EFAULT for a range that an madvise or mlock of part of it split).
 * Mapping the file's next bytes over the reservation instead would save the
 * munmap, but the kernel does not join anonymous memory that moved since (its
 * offset is where it was first mapped), and it would grow a split map that
 * CPython cannot; a shared file mapping's headroom is the file already
 * (file_room): nothing to do. Should another thread map something into that
 * part in between, the growth fails (nothing is replaced). On failure the
 * headroom past the part is let go (this region's own); the part itself is a
 * hole by then. */
static int grow_into_room(uint8_t *addr, size_t old_length, size_t new_length, size_t *room, int file) {
  size_t old_span = round_up(old_length), new_span = round_up(new_length), add = new_span - old_span;
  if (file) {
    *room -= add;
    return 0;
  }
  if (munmap(addr + old_span, add) != 0) return -errno;
  *room -= add;
  int rc = mm__grow_in_place(addr, old_length, new_length);
  if (rc != 0) drop_room(addr, new_span, room);
  return rc;
}

/* Moves (where the addresses after it are taken) and grows to new_span +
 * headroom in one mremap, then turns the part past new_span into the
 * headroom in place (PROT_NONE over it at once: no hole another thread could
 * map into, and the commit of a private mapping given back). The old range is
 * unmapped by the move. -errno, with nothing changed, where the kernel refuses
 * that size (the caller grows without headroom). Never for memory locked in
 * RAM with memmap's lock() (the kernel would fault in the whole headroom
 * first); a process that locks all its future memory (mlockall MCL_FUTURE,
 * which memmap cannot see) pays that fault-in, briefly, on a move. */
static int grow_with_room(uint8_t *addr, size_t old_length, size_t new_length, void **out, size_t *room,
                          int file) {
  size_t new_span = round_up(new_length), extra = headroom_for(new_span);
  if (extra == 0) return -ENOMEM;
  void *moved = NULL;
  int rc = mm__grow_anywhere(addr, old_length, new_span + extra, &moved);
  if (rc != 0) return rc;
  uint8_t *p = moved;
  /* A shared file mapping's part past new_span is the file past its end, the
   * headroom as it is (file_room). Should the reservation fail, that part
   * stays mapped as it is: still this mapping's own, unreachable, and
   * headroom all the same. */
  if (!file && reserve_fixed(p + new_span, extra) != 0 && munmap(p + new_span, extra) == 0) extra = 0;
  *room = extra;
  *out = p;
  return 0;
}

int mm_remap(void *addr, size_t old_length, size_t new_length, int prot, int flags, int fd,
             int64_t offset, int portable, int keep, void **out, size_t *room, int new_room, int has_file) {
  size_t old_span = round_up(old_length), new_span = round_up(new_length);
  int file = file_room(prot, flags, has_file);
  uint8_t *at = addr;
  *out = addr;
  /* Shrinking (or staying within the same pages): nothing to map; the pages
   * past the new size are left over, or unmapped (into the headroom where
   * there is one: it then stays next to the mapping; a shared file mapping's
   * stay as they are, the file past its end since the caller's ftruncate). */
  if (new_span <= old_span) {
    if (new_span == old_span) return 0;
    if (keep) {
      drop_room(at, old_span, room); /* the caller retires the pages left over */
      return 0;
    }
    if (*room > 0 && (file || reserve_fixed(at + new_span, old_span - new_span) == 0)) {
      *room += old_span - new_span;
      return 0;
    }
    drop_room(at, old_span, room);
    if (munmap(at + new_span, old_span - new_span) != 0) return -errno;
    return 0;
  }
  if (!portable && mm__has_mremap()) {
    /* In place, into the headroom: the old addresses stay as they are (so
     * also where something holds them). */
    if (*room >= new_span - old_span && grow_into_room(at, old_length, new_length, room, file) == 0) return 0;
    drop_room(at, old_span, room);
    if (!keep) {
      if (new_room && grow_with_room(at, old_length, new_length, out, room, file) == 0) return 0;
      return mm__grow_anywhere(addr, old_length, new_length, out);
    }
    int rc = mm__grow_in_place(addr, old_length, new_length);
    if (rc != -ENOMEM) return rc; /* grown, or refused for a reason that moving would not fix */
    rc = grow_by_move(addr, old_length, new_length, prot, flags, fd, offset, out);
    if (rc != -EINVAL) return rc;
  }
  drop_room(at, old_span, room);
  int rc = grow_by_copy(addr, old_length, new_length, prot, flags, fd, offset, out);
  if (rc == 0 && !keep) munmap(addr, old_span);
  return rc;
}

void mm_room_settle(void *addr, size_t length, size_t *room, int prot, int flags, int has_file) {
  if (*room > 0 && file_room(prot, flags, has_file)) drop_room(addr, round_up(length), room);
}

int mm_remap_uses_fd(size_t old_length, size_t new_length, int portable, int keep) {
  /* As mm_remap decides: a shrink maps nothing; mremap grows in place or
   * moves the pages, whatever the headroom. */
  if (round_up(new_length) <= round_up(old_length)) return 0;
  return portable || keep || !mm__has_mremap();
}

/* The runtime functions memmap may use where they exist, as weak references:
 * the dynamic linker leaves one NULL where no loaded object (the node, bun or
 * deno executable) exports it. dlsym would do the same at the cost of a newer
 * glibc for the prebuilt addons (dlsym@GLIBC_2.34). */
extern int node_api_create_external_string_latin1() __attribute__((weak));

void *mm_runtime_symbol(const char *name) {
  if (strcmp(name, "node_api_create_external_string_latin1") == 0)
    return (void *)node_api_create_external_string_latin1;
  return NULL;
}

int mm_has_mremap(void) { return mm__has_mremap(); }

int mm_keep_loaded(void) { return mm__keep_loaded(); }

int mm_has_madvise(void) { return 1; }
int mm_has_memfd(void) { return 1; }
int mm_has_tagname(void) { return 1; }
int mm_has_placeholders(void) { return 1; }

const char *mm_remap_syscall(int portable) {
  return portable || !mm__has_mremap() ? "mmap" : "mremap";
}

/* Fault containment's system calls (guard.c): async-signal-safe. */

int mm__protect_private(void *addr, size_t length) {
  /* Sound: every mapping guard.c asks this for was made private (map_flags),
   * or is anonymous memory that no descriptor shares. */
  return mprotect(addr, length, PROT_READ | PROT_WRITE) == 0 ? 0 : -errno;
}

/* Spare kernel mappings, kept for containment (guard.c): a process has
 * vm.max_map_count mappings (Linux), and one at the limit gets ENOMEM from
 * every mmap, also one that replaces part of a mapping (it splits it: one
 * more mapping; a page in the middle, two). A truncated tail that cannot be
 * replaced by zeros would fault for ever, so the handler chains the SIGBUS
 * and the process dies. So memmap keeps SPARES one-page PROT_NONE mappings
 * of its own, each MAP_SHARED anonymous (a shmem object of its own: the
 * kernel never merges it with a neighbour, so unmapping one always gives a
 * mapping back), and containment unmaps one and tries again when the kernel
 * says ENOMEM. They are made when the handler is installed and made again,
 * outside handlers, when a map is guarded or JavaScript asks what was lost
 * (mm__spares_keep); at the limit that fails, and the next containment has
 * fewer. Costs SPARES mappings and pages of address space per process. */
enum { SPARES = 3 };
static void *_Atomic spares[SPARES];
static _Atomic int spares_on = 0;

void mm__spares_keep(int start) {
  if (start) atomic_store(&spares_on, 1);
  else if (!atomic_load(&spares_on)) return;
  for (int i = 0; i < SPARES; i++) {
    if (atomic_load(&spares[i]) != NULL) continue;
    void *p = mmap(NULL, (size_t)mm_pagesize(), PROT_NONE, MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) return;
    void *none = NULL;
    if (!atomic_compare_exchange_strong(&spares[i], &none, p)) munmap(p, (size_t)mm_pagesize());
  }
}

/* Gives one spare mapping back to the kernel: 0, or -1 when none is left.
 * Async-signal-safe. */
static int spare_free(void) {
  for (int i = 0; i < SPARES; i++) {
    void *p = atomic_exchange(&spares[i], NULL);
    if (p != NULL) {
      munmap(p, (size_t)mm_pagesize());
      return 0;
    }
  }
  return -1;
}

int mm__map_zeros(void *addr, size_t length) {
  int rc;
  while ((rc = zeros_fixed(addr, length)) == -ENOMEM && spare_free() == 0) {
  }
  return rc;
}

static int file_again(void *addr, size_t length, int prot, int mapped, int fd, int64_t offset) {
  void *p = mmap(addr, length, prot, mapped | MAP_FIXED, fd, (off_t)offset);
  return p == MAP_FAILED ? -errno : 0;
}

int mm__map_file_again(void *addr, size_t length, int prot, int flags, int fd, int64_t offset,
                       int writable) {
  /* The same flags as mm_map's, so that the kernel merges the page back into
   * the mapping around it; writable only where it was made private. */
  int mapped = map_flags(prot, flags, fd);
  if (writable) prot |= PROT_READ | PROT_WRITE;
  int rc;
  while ((rc = file_again(addr, length, prot, mapped, fd, offset)) == -ENOMEM && spare_free() == 0) {
  }
  return rc;
}

int64_t mm__file_size(int fd) {
  struct stat st;
  if (mm__fstat(fd, &st) != 0) return -errno;
  return (int64_t)st.st_size;
}

static int probe[2] = {-1, -1};

int mm__readable_init(void) {
  int p[2];
  int rc = mm__pipe(p);
  if (rc != 0) return rc;
  probe[0] = p[0];
  probe[1] = p[1];
  return 0;
}

int mm__readable(const void *addr) {
  if (probe[1] < 0) return 0;
  if (write(probe[1], addr, 1) == 1) {
    char byte;
    /* Any byte will do: threads probing at once each take one out. */
    while (read(probe[0], &byte, 1) < 0 && errno == EINTR) {
    }
    return 1;
  }
  return 0; /* EFAULT: the access would fault (or the pipe is full: cannot tell) */
}

void mm_yield(void) { sched_yield(); }

/* pthread_self reads the thread pointer (glibc, musl, macOS): no system call,
 * and safe in a signal handler in practice. Unique among live threads, which
 * is all the guard's holder needs. gettid(2) was a system call per hold
 * (three per map + close, two per resize: ~0.2 us each here). */
uintptr_t mm__thread_id(void) { return (uintptr_t)pthread_self(); }

uintptr_t mm_thread_id(void) { return mm__thread_id(); }

int mm_sync(void *addr, size_t length, int flags) {
  return msync(addr, length, flags) == 0 ? 0 : -errno;
}

int mm_advise(void *addr, size_t length, int advice) {
  return madvise(addr, length, advice) == 0 ? 0 : -errno;
}

int mm_residency(void *addr, size_t length, uint8_t *vec) {
  /* mincore takes unsigned char * on Linux, char * on macOS: a void * fits
   * both. Sound: vec holds one byte per page of the range (mm.h). */
  if (mincore(addr, length, (void *)vec) != 0) return -errno;
  size_t page = (size_t)mm_pagesize(), n = (length + page - 1) / page;
  for (size_t i = 0; i < n; i++) vec[i] &= 1;
  return 0;
}

int mm_prefetch(void *addr, size_t length, int populate) {
  if (populate && mm__populate(addr, length) == 0) return 1;
  /* A hint: when it fails, reading every page still brings the range in. */
  (void)madvise(addr, length, MADV_WILLNEED);
  return 0;
}

int mm_lock(void *addr, size_t length, int readonly) {
  if (readonly) {
    int rc = mm__lock_on_fault(addr, length);
    /* ENOSYS, EINVAL: a kernel without mlock2 or MLOCK_ONFAULT; EPERM: also
     * what a seccomp filter that does not know mlock2 says (Docker's default
     * action). mlock then says the same where it is the limit of 0. */
    if (rc != -ENOSYS && rc != -EINVAL && rc != -EPERM) {
      if (rc != 0) return rc; /* the limit (ENOMEM): nothing marked */
      rc = mm__populate(addr, length);
      /* mlock's errors for what its fault-in meets (mm/mlock.c). */
      if (rc == -EFAULT) return -ENOMEM;
      if (rc == -ENOMEM) return -EAGAIN;
      if (rc != -EINVAL && rc != -ENOSYS) return rc;
      /* A kernel without MADV_POPULATE_READ (before 5.14): mlock over it
       * faults the pages in, as before. */
    }
  }
  return mlock(addr, length) == 0 ? 0 : -errno;
}

int mm_unlock(void *addr, size_t length) { return munlock(addr, length) == 0 ? 0 : -errno; }

/* The system's name of a tag: "/<tag>". -ENAMETOOLONG when it does not fit
 * (src/ checks the length first; this keeps the buffer safe regardless). */
static int tag_name(const char *tag, char *name, size_t size) {
  size_t n = strlen(tag);
  if (n + 2 > size) return -ENAMETOOLONG;
  name[0] = '/';
  memcpy(name + 1, tag, n + 1);
  return 0;
}

int mm_tag_open(const char *tag, int how, int readonly) {
  char name[512];
  int rc = tag_name(tag, name, sizeof name);
  if (rc != 0) return rc;
  int oflag = how == MM_TAG_CREATE ? O_RDWR | O_CREAT | O_EXCL : readonly ? O_RDONLY : O_RDWR;
  int fd = mm__shm_open(name, oflag, 0600);
  if (fd < 0) return fd;
  int flags = fcntl(fd, F_GETFD);
  if (flags >= 0) fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
  return fd;
}

int mm_tag_unlink(const char *tag) {
  char name[512];
  int rc = tag_name(tag, name, sizeof name);
  return rc != 0 ? rc : mm__shm_unlink(name);
}

int64_t mm_tag_size(const char *tag) {
  (void)tag; /* the descriptor's size says it (fstat) */
  return -ENOSYS;
}

int mm_tag_lock(int fd, int lock) {
  int r;
  do r = flock(fd, lock ? LOCK_EX | LOCK_NB : LOCK_UN); while (r != 0 && errno == EINTR);
  return r == 0 ? 0 : -errno;
}

int mm_has_tag_objects(void) { return 1; }

int mm_tag_max(void) { return mm__shm_name_max(); }

int mm_fstat(int fd, int64_t *size, int *regular, uint64_t *dev, uint64_t *ino) {
  struct stat st;
  if (mm__fstat(fd, &st) != 0) return -errno;
  *size = (int64_t)st.st_size;
  *regular = S_ISREG(st.st_mode) ? 1 : 0;
  *dev = (uint64_t)st.st_dev;
  *ino = (uint64_t)st.st_ino;
  return 0;
}

int mm_file_id(int fd, uint64_t *dev, uint64_t *ino, int64_t *size) {
  struct stat st;
  if (mm__fstat(fd, &st) != 0) return -errno;
  *dev = (uint64_t)st.st_dev;
  *ino = (uint64_t)st.st_ino;
  if (size != NULL) *size = (int64_t)st.st_size;
  return 0;
}

int mm_truncate(int fd, int64_t size) {
  int r;
  do r = ftruncate(fd, (off_t)size); while (r != 0 && errno == EINTR);
  return r == 0 ? 0 : -errno;
}

int mm_dup(int fd) {
  int r = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  return r >= 0 ? r : -errno;
}

int mm_close(int fd) {
  /* No retry on EINTR: on Linux the descriptor is released regardless. */
  return close(fd) == 0 ? 0 : -errno;
}

int mm_memfd(int64_t size) {
  int fd = mm__memfd();
  if (fd < 0) return fd;
  int r = mm_truncate(fd, size);
  if (r != 0) {
    close(fd);
    return r;
  }
  return fd;
}

int64_t mm_fd_limit(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return -errno;
  return rl.rlim_cur == RLIM_INFINITY ? INT64_MAX : (int64_t)rl.rlim_cur;
}

long mm_pagesize(void) {
  static long page = 0;
  if (page == 0) page = sysconf(_SC_PAGESIZE);
  return page;
}

/* On POSIX systems the offset granularity is the page size. */
long mm_granularity(void) { return mm_pagesize(); }

/* The caller sets the file's size (ftruncate) before mm_remap. */
int mm_remap_sizes_file(void) { return 0; }

#define C(x) {#x, (int64_t)(x)}
static const mm_constant constants[] = {
    C(PROT_READ), C(PROT_WRITE), C(PROT_EXEC),
    C(MAP_SHARED), C(MAP_PRIVATE),
#ifdef MAP_ANONYMOUS
    C(MAP_ANONYMOUS),
#endif
#ifdef MAP_ANON
    C(MAP_ANON),
#endif
#ifdef MAP_DENYWRITE
    C(MAP_DENYWRITE),
#endif
#ifdef MAP_EXECUTABLE
    C(MAP_EXECUTABLE),
#endif
#ifdef MAP_POPULATE
    C(MAP_POPULATE),
#endif
#ifdef MAP_STACK
    C(MAP_STACK),
#endif
#ifdef MAP_32BIT
    C(MAP_32BIT),
#endif
#ifdef MAP_NORESERVE
    C(MAP_NORESERVE),
#endif
#ifdef MAP_NOCACHE
    C(MAP_NOCACHE),
#endif
#ifdef MAP_JIT
    C(MAP_JIT),
#endif
#ifdef MAP_HASSEMAPHORE
    C(MAP_HASSEMAPHORE),
#endif
#ifdef MAP_NOEXTEND
    C(MAP_NOEXTEND),
#endif
#ifdef MADV_NORMAL
    C(MADV_NORMAL), C(MADV_RANDOM), C(MADV_SEQUENTIAL), C(MADV_WILLNEED), C(MADV_DONTNEED),
#endif
#ifdef MADV_FREE
    C(MADV_FREE),
#endif
#ifdef MADV_REMOVE
    C(MADV_REMOVE),
#endif
#ifdef MADV_DONTFORK
    C(MADV_DONTFORK),
#endif
#ifdef MADV_DOFORK
    C(MADV_DOFORK),
#endif
#ifdef MADV_HWPOISON
    C(MADV_HWPOISON),
#endif
#ifdef MADV_MERGEABLE
    C(MADV_MERGEABLE),
#endif
#ifdef MADV_UNMERGEABLE
    C(MADV_UNMERGEABLE),
#endif
#ifdef MADV_HUGEPAGE
    C(MADV_HUGEPAGE),
#endif
#ifdef MADV_NOHUGEPAGE
    C(MADV_NOHUGEPAGE),
#endif
#ifdef MADV_DONTDUMP
    C(MADV_DONTDUMP),
#endif
#ifdef MADV_DODUMP
    C(MADV_DODUMP),
#endif
#ifdef MADV_FREE_REUSABLE
    C(MADV_FREE_REUSABLE),
#endif
#ifdef MADV_FREE_REUSE
    C(MADV_FREE_REUSE),
#endif
    C(MS_SYNC), C(MS_ASYNC), C(MS_INVALIDATE),
};
#undef C

const mm_constant *mm_constants(size_t *count) {
  *count = sizeof constants / sizeof constants[0];
  return constants;
}
