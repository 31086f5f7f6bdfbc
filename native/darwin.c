/*
 * darwin.c: the macOS hooks of platform.h. There is no mremap(2): mm_remap takes
 * the portable path of posix.c (tested on Linux by forcing it). There is no
 * memfd_create(2): a POSIX shared-memory object is created and unlinked at
 * once, which leaves an anonymous descriptor in the same way. Named shared
 * memory (tagname) is shm_open's own; no call populates a range (prefetch
 * hints and reads each page). Not compiled on Linux: there is no macOS SDK
 * there (a syntax check against glibc's POSIX headers is all it gets).
 */
#include "platform.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/mount.h>
#include <unistd.h>

int mm__has_mremap(void) { return 0; }

/* One more reference to the addon's image, never closed: Node's dlclose
 * then leaves it loaded (RTLD_NODELETE says so too). */
int mm__keep_loaded(void) {
  Dl_info info;
  if (dladdr((const void *)&mm__keep_loaded, &info) == 0 || info.dli_fname == NULL) return -1;
  return dlopen(info.dli_fname, RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD | RTLD_NODELETE) != NULL ? 0 : -1;
}

int mm__grow_in_place(void *addr, size_t old_length, size_t new_length) {
  (void)addr; (void)old_length; (void)new_length;
  return -ENOTSUP;
}

int mm__grow_anywhere(void *addr, size_t old_length, size_t new_length, void **out) {
  (void)addr; (void)old_length; (void)new_length; (void)out;
  return -ENOTSUP;
}

int mm__move_keep(void *from, size_t length, void *to) {
  (void)from; (void)length; (void)to;
  return -EINVAL;
}

int mm__move_grow(void *from, size_t old_length, size_t new_length, void *to) {
  (void)from; (void)old_length; (void)new_length; (void)to;
  return -EINVAL;
}

int mm__fstat(int fd, struct stat *st) { return fstat(fd, st); }

int mm__memfd(void) {
  char name[64];
  for (int attempt = 0; attempt < 16; attempt++) {
    snprintf(name, sizeof name, "/memmap.%d.%d", (int)getpid(), attempt);
    int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
    if (fd >= 0) {
      shm_unlink(name);
      int flags = fcntl(fd, F_GETFD);
      if (flags >= 0) fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
      return fd;
    }
    if (errno != EEXIST) return -errno;
  }
  return -EEXIST;
}

int mm__shm_open(const char *name, int oflag, int mode) {
  int fd = shm_open(name, oflag, mode);
  return fd >= 0 ? fd : -errno;
}

int mm__shm_unlink(const char *name) { return shm_unlink(name) == 0 ? 0 : -errno; }

/* PSHMNAMLEN (31, in a private header) counts the leading '/'. */
int mm__shm_name_max(void) { return 30; }

/* No pipe2 on macOS: a child spawned by another thread between the two calls
 * inherits the pipe. */
int mm__pipe(int fds[2]) {
  if (pipe(fds) != 0) return -errno;
  for (int i = 0; i < 2; i++) {
    fcntl(fds[i], F_SETFD, FD_CLOEXEC);
    fcntl(fds[i], F_SETFL, O_NONBLOCK);
  }
  return 0;
}

/* No call populates a range: mm_prefetch hints and the caller reads each page. */
int mm__populate(void *addr, size_t length) {
  (void)addr; (void)length;
  return -ENOSYS;
}

/* No mlock2: mm_lock takes mlock. */
int mm__lock_on_fault(void *addr, size_t length) {
  (void)addr; (void)length;
  return -ENOSYS;
}

int mm__page_private_copy(void *page, size_t size) {
  /* No mremap: copy aside, map a private page over the original, copy back. */
  void *copy = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANON, -1, 0);
  if (copy == MAP_FAILED) return -errno;
  memcpy(copy, page, size);
  if (mmap(page, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANON | MAP_FIXED, -1, 0) == MAP_FAILED) {
    int e = errno;
    munmap(copy, size);
    return -e;
  }
  memcpy(page, copy, size);
  munmap(copy, size);
  return 0;
}

int mm__io_errno(int fd, int64_t offset, size_t length) {
  /* The signal does not carry the errno, and macOS has no fallocate(2) that
   * allocates a range: a file system with no block left is ENOSPC, anything
   * else an I/O error. */
  (void)offset; (void)length;
  struct statfs st;
  if (fstatfs(fd, &st) == 0 && st.f_bavail == 0) return ENOSPC;
  return EIO;
}
