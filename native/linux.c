/*
 * linux.c: the Linux parts of mm.h (mremap, MREMAP_DONTUNMAP, memfd_create,
 * fallocate).
 */
#define _GNU_SOURCE
#include "platform.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22 /* Linux 5.14; older headers lack it */
#endif

int mm__has_mremap(void) { return 1; }

/* binding.gyp links the addon with -z nodelete: dlclose never unloads it. */
int mm__keep_loaded(void) { return 0; }

/* Older headers lack it (Linux 5.7; shared and file mappings since 5.13). */
#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif

int mm__grow_in_place(void *addr, size_t old_length, size_t new_length) {
  return mremap(addr, old_length, new_length, 0) == MAP_FAILED ? -errno : 0;
}

int mm__grow_anywhere(void *addr, size_t old_length, size_t new_length, void **out) {
  void *p = mremap(addr, old_length, new_length, MREMAP_MAYMOVE);
  if (p == MAP_FAILED) return -errno;
  *out = p;
  return 0;
}

int mm__move_keep(void *from, size_t length, void *to) {
  /* The kernel moves the page tables (no copy) and leaves `from` mapped;
   * EINVAL before Linux 5.13 for shared and file mappings. */
  void *p = mremap(from, length, length, MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP, to);
  return p == MAP_FAILED ? -errno : 0;
}

int mm__move_grow(void *from, size_t old_length, size_t new_length, void *to) {
  void *p = mremap(from, old_length, new_length, MREMAP_MAYMOVE | MREMAP_FIXED, to);
  return p == MAP_FAILED ? -errno : 0;
}

/* The fstat system call itself where the kernel's struct stat is the C
 * library's (64-bit x86 and Arm): glibc's fstat() is fstatat(fd, "",
 * AT_EMPTY_PATH), for which the kernel reads the empty name from user memory
 * (on kernels before 6.11, copies it into a page-sized buffer and looks it up).
 * Measured here (Linux 6.18): 330-338 ns a call against 388-397. A map and its
 * close make two (the size and identity of the descriptor; the identity again
 * before close). A kernel or filter without the call (ENOSYS) gets fstat(). */
int mm__fstat(int fd, struct stat *st) {
#if defined(SYS_fstat) && defined(__LP64__) && (defined(__x86_64__) || defined(__aarch64__))
  if (syscall(SYS_fstat, fd, st) == 0) return 0;
  if (errno != ENOSYS) return -1;
#endif
  return fstat(fd, st);
}

int mm__memfd(void) {
  int fd = memfd_create("memmap", MFD_CLOEXEC);
  return fd >= 0 ? fd : -errno;
}

/* POSIX shared memory is a file under /dev/shm: shm_open(3) of glibc and musl
 * is this open(2) of it, which needs no librt. "/<tag>" -> /dev/shm/<tag>. */
static int shm_path(const char *name, char *path, size_t size) {
  static const char dir[] = "/dev/shm";
  size_t n = strlen(name);
  if (name[0] != '/' || n < 2 || n - 1 > NAME_MAX || sizeof dir - 1 + n + 1 > size) return -ENAMETOOLONG;
  memcpy(path, dir, sizeof dir - 1);
  memcpy(path + sizeof dir - 1, name, n + 1);
  return 0;
}

int mm__shm_open(const char *name, int oflag, int mode) {
  char path[sizeof "/dev/shm" + NAME_MAX + 1];
  int rc = shm_path(name, path, sizeof path);
  if (rc != 0) return rc;
  /* O_NONBLOCK: /dev/shm is writable by every user, and a FIFO there would
   * block a read-only open (on the JavaScript thread) until a writer comes.
   * Only a regular file is a shared memory object: anything else is refused. */
  int fd = open(path, oflag | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, (mode_t)mode);
  if (fd < 0) return -errno;
  struct stat st;
  int err = mm__fstat(fd, &st) != 0 ? errno : S_ISDIR(st.st_mode) ? EISDIR : !S_ISREG(st.st_mode) ? EINVAL : 0;
  if (err == 0 && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0) err = errno;
  if (err != 0) {
    close(fd);
    return -err;
  }
  return fd;
}

int mm__shm_unlink(const char *name) {
  char path[sizeof "/dev/shm" + NAME_MAX + 1];
  int rc = shm_path(name, path, sizeof path);
  if (rc != 0) return rc;
  return unlink(path) == 0 ? 0 : -errno;
}

int mm__shm_name_max(void) { return NAME_MAX; }

/* Atomically close-on-exec: the addon may load on a worker while another
 * thread spawns a child, which inherited a pipe made by pipe() then fcntl()
 * in between (test/faults.test.mjs "the fault handlers' probe pipe …"). */
int mm__pipe(int fds[2]) { return pipe2(fds, O_CLOEXEC | O_NONBLOCK) == 0 ? 0 : -errno; }

int mm__populate(void *addr, size_t length) {
  return madvise(addr, length, MADV_POPULATE_READ) == 0 ? 0 : -errno;
}

#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT 1 /* Linux 4.4; older headers lack it */
#endif

int mm__lock_on_fault(void *addr, size_t length) {
#ifdef SYS_mlock2
  /* The system call itself: no C library's wrapper is needed (glibc has one
   * since 2.27, musl since 1.1.20). */
  return syscall(SYS_mlock2, addr, length, MLOCK_ONFAULT) == 0 ? 0 : -errno;
#else
  (void)addr; (void)length;
  return -ENOSYS;
#endif
}

int mm__page_private_copy(void *page, size_t size) {
  void *copy = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (copy == MAP_FAILED) return -errno;
  memcpy(copy, page, size);
  /* Atomically put the copy in place of the page: no thread sees a hole. */
  if (mremap(copy, size, size, MREMAP_MAYMOVE | MREMAP_FIXED, page) == MAP_FAILED) {
    int e = errno;
    munmap(copy, size);
    return -e;
  }
  return 0;
}

int mm__io_errno(int fd, int64_t offset, size_t length) {
  /* The signal does not carry the errno. Allocating the page says ENOSPC or
   * EDQUOT where that is what failed (a write into a hole); it allocates no
   * more than the write would have. Otherwise a file system with no block
   * left is ENOSPC, and anything else an I/O error. */
  if (fallocate(fd, FALLOC_FL_KEEP_SIZE, (off_t)offset, (off_t)length) != 0 &&
      (errno == ENOSPC || errno == EDQUOT))
    return errno;
  struct statfs st;
  if (fstatfs(fd, &st) == 0 && st.f_bavail == 0) return ENOSPC;
  return EIO;
}
