/*
 * linux.c: the Linux hooks of platform.h (mremap, memfd_create, the page copy).
 */
#define _GNU_SOURCE
#include "platform.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
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
