/*
 * Linked into the glibc prebuilds only (scripts/prebuild.mjs), never into a build from source.
 *
 * glibc 2.33 turned fstat() into a real symbol (fstat64@GLIBC_2.33); a binary built against
 * today's glibc therefore refuses to load on the glibc 2.28-2.32 systems that Node 20+ still
 * supports (RHEL 8, Debian 11, Ubuntu 20.04). The link step passes -Wl,--wrap=fstat64
 * (and --wrap=fstat), which sends the addon's calls here; these call the versioned entry
 * point that every glibc since the architecture's first release exports, __fxstat64.
 *
 * glibc 2.34 moved libpthread into libc, with new versions of pthread_create and
 * pthread_attr_setstacksize (@GLIBC_2.34); native/wait-posix.c starts threads with them.
 * -Wl,--wrap=pthread_create (and --wrap=pthread_attr_setstacksize) send those calls to the
 * versions every glibc exports (libpthread's before 2.34, which Node itself loads; libc's after).
 * Nothing here is exported from the addon (hidden visibility).
 */
struct stat;
typedef unsigned long pthread_t;
union pthread_attr_t;

#if defined(__x86_64__)
#define MEMMAP_STAT_VER 1 /* _STAT_VER_LINUX */
__asm__(".symver __fxstat64,__fxstat64@GLIBC_2.2.5");
__asm__(".symver memmap_pthread_create,pthread_create@GLIBC_2.2.5");
__asm__(".symver memmap_pthread_attr_setstacksize,pthread_attr_setstacksize@GLIBC_2.2.5");
#elif defined(__aarch64__)
#define MEMMAP_STAT_VER 0 /* _STAT_VER_KERNEL of the generic ABI */
__asm__(".symver __fxstat64,__fxstat64@GLIBC_2.17");
__asm__(".symver memmap_pthread_create,pthread_create@GLIBC_2.17");
__asm__(".symver memmap_pthread_attr_setstacksize,pthread_attr_setstacksize@GLIBC_2.17");
#else
#error "no glibc compatibility entry for this architecture"
#endif

extern int __fxstat64(int ver, int fd, struct stat *buf);

__attribute__((visibility("hidden"))) int __wrap_fstat64(int fd, struct stat *buf) {
  return __fxstat64(MEMMAP_STAT_VER, fd, buf);
}

__attribute__((visibility("hidden"))) int __wrap_fstat(int fd, struct stat *buf) {
  return __fxstat64(MEMMAP_STAT_VER, fd, buf);
}

extern int memmap_pthread_create(pthread_t *thread, const union pthread_attr_t *attr, void *(*start)(void *), void *arg);
extern int memmap_pthread_attr_setstacksize(union pthread_attr_t *attr, unsigned long size);

__attribute__((visibility("hidden"))) int __wrap_pthread_create(pthread_t *thread, const union pthread_attr_t *attr,
                                                                void *(*start)(void *), void *arg) {
  return memmap_pthread_create(thread, attr, start, arg);
}

__attribute__((visibility("hidden"))) int __wrap_pthread_attr_setstacksize(union pthread_attr_t *attr, unsigned long size) {
  return memmap_pthread_attr_setstacksize(attr, size);
}
