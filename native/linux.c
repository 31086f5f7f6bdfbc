/*
 * linux.c: the Linux parts of mm.h (mremap, memfd_create, fallocate).
 */
#define _GNU_SOURCE
#include "platform.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>

int mm__has_mremap(void) { return 1; }

int mm__remap_native(void *addr, size_t old_length, size_t new_length, void **out) {
  void *p = mremap(addr, old_length, new_length, MREMAP_MAYMOVE);
  if (p == MAP_FAILED) return -errno;
  *out = p;
  return 0;
}

int mm__memfd(void) {
  int fd = memfd_create("memmap", MFD_CLOEXEC);
  return fd >= 0 ? fd : -errno;
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

uintptr_t mm__thread_id(void) { return (uintptr_t)syscall(SYS_gettid); }
