/*
 * posix.c: the parts of mm.h that are the same on every POSIX system, over the
 * per-OS hooks of platform.h (linux.c, darwin.c).
 */
#define _GNU_SOURCE
#include "platform.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
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

/* The path for systems without mremap(2), also used on Linux when forced.
 * Shrinking unmaps the tail in place. Growing maps a new range first, so a
 * failure leaves the old mapping untouched; a private mapping's contents are
 * copied over (a shared one sees the same pages through the new range). */
static int remap_portable(void *addr, size_t old_length, size_t new_length, int prot,
                          int flags, int fd, int64_t offset, void **out) {
  size_t old_span = round_up(old_length), new_span = round_up(new_length);
  if (new_span <= old_span) {
    if (new_span < old_span && munmap((char *)addr + new_span, old_span - new_span) != 0)
      return -errno;
    *out = addr;
    return 0;
  }
  if (fd < 0 && !(flags & MAP_PRIVATE)) return -EINVAL; /* shared anonymous memory cannot grow */
  void *fresh = mmap(NULL, new_length, prot, map_flags(prot, flags, fd), fd, (off_t)offset);
  if (fresh == MAP_FAILED) return -errno;
  /* Copy whole pages, as mremap keeps them: bytes past old_length on its
   * last page reappear when a shrunk map grows again. Sound: the old span is
   * mapped and readable (prot always includes PROT_READ, see src/mmap.ts),
   * and old_span <= new_span, the span of the new mapping. */
  if (flags & MAP_PRIVATE) memcpy(fresh, addr, old_span < new_length ? old_span : new_length);
  munmap(addr, old_span);
  *out = fresh;
  return 0;
}

int mm_remap(void *addr, size_t old_length, size_t new_length, int prot, int flags, int fd,
             int64_t offset, int portable, void **out) {
  if (portable || !mm__has_mremap())
    return remap_portable(addr, old_length, new_length, prot, flags, fd, offset, out);
  return mm__remap_native(addr, old_length, new_length, out);
}

int mm_reserve(void *addr, size_t length) {
  /* MAP_FIXED replaces whatever is mapped there in one step; PROT_READ so
   * that a stale reader finds zeros rather than a fault; MAP_NORESERVE: no
   * commit charge for memory that is never written. */
  void *p = mmap(addr, round_up(length), PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
  return p == MAP_FAILED ? -errno : 0;
}

int mm_has_reserve(void) { return 1; }

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

int mm_has_madvise(void) { return 1; }
int mm_has_memfd(void) { return 1; }
int mm_has_tagname(void) { return 1; }

const char *mm_remap_syscall(int portable) {
  return portable || !mm__has_mremap() ? "mmap" : "mremap";
}

/* Fault containment's system calls (guard.c): async-signal-safe. */

int mm__protect_private(void *addr, size_t length) {
  /* Sound: every mapping guard.c asks this for was made private (map_flags),
   * or is anonymous memory that no descriptor shares. */
  return mprotect(addr, length, PROT_READ | PROT_WRITE) == 0 ? 0 : -errno;
}

int mm__map_zeros(void *addr, size_t length) {
  void *p = mmap(addr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  return p == MAP_FAILED ? -errno : 0;
}

int mm__map_file_again(void *addr, size_t length, int prot, int flags, int fd, int64_t offset,
                       int writable) {
  /* The same flags as mm_map's, so that the kernel merges the page back into
   * the mapping around it; writable only where it was made private. */
  int mapped = map_flags(prot, flags, fd);
  if (writable) prot |= PROT_READ | PROT_WRITE;
  void *p = mmap(addr, length, prot, mapped | MAP_FIXED, fd, (off_t)offset);
  return p == MAP_FAILED ? -errno : 0;
}

int64_t mm__file_size(int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0) return -errno;
  return (int64_t)st.st_size;
}

static int probe[2] = {-1, -1};

int mm__readable_init(void) {
  int p[2];
  if (pipe(p) != 0) return -errno;
  for (int i = 0; i < 2; i++) {
    fcntl(p[i], F_SETFD, FD_CLOEXEC);
    fcntl(p[i], F_SETFL, O_NONBLOCK);
  }
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

void mm__yield(void) { sched_yield(); }

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

int mm_lock(void *addr, size_t length) { return mlock(addr, length) == 0 ? 0 : -errno; }

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

int mm_has_tag_objects(void) { return 1; }

int mm_tag_max(void) { return mm__shm_name_max(); }

int mm_fstat(int fd, int64_t *size, int *regular) {
  struct stat st;
  if (fstat(fd, &st) != 0) return -errno;
  *size = (int64_t)st.st_size;
  *regular = S_ISREG(st.st_mode) ? 1 : 0;
  return 0;
}

int mm_file_id(int fd, uint64_t *dev, uint64_t *ino) {
  struct stat st;
  if (fstat(fd, &st) != 0) return -errno;
  *dev = (uint64_t)st.st_dev;
  *ino = (uint64_t)st.st_ino;
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
