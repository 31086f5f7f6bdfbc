/*
 * Used by scripts/prebuild-test.mjs only, to run Bun's musl build on Debian. Never shipped.
 *
 * Bun's musl build (@oven/bun-linux-x64-musl) needs libstdc++.so.6 (and, through it,
 * libgcc_s.so.1), which no Debian package and no npm package provides built for musl. Debian's
 * own copies (built for glibc) load under musl's dynamic loader once their C library names
 * (libc.so.6, libm.so.6) point at musl, except for a few symbols only glibc has. This library
 * supplies them; it is built with musl-gcc under the soname ld-linux-x86-64.so.2, which
 * libstdc++ lists as needed, so the loader picks it up without a preload.
 *
 * The process is then a musl process: musl is its only C library, and memmap's musl addon
 * resolves every C function in musl and every Node-API function in Bun, as on Alpine.
 */
#define _GNU_SOURCE
#include <link.h>
#include <locale.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* 0: "more than one thread may exist", the safe answer (libstdc++ then uses atomics). */
char __libc_single_threaded = 0;

size_t __strftime_l(char *s, size_t n, const char *format, const struct tm *tm, locale_t loc) {
  return strftime_l(s, n, format, tm, loc);
}

/* glibc 2.36; musl 1.2.3 has none. libstdc++'s random_device may call it. */
uint32_t arc4random(void) {
  uint32_t v = 0;
  if (getentropy(&v, sizeof v) != 0) abort();
  return v;
}

/* libgcc's CPU model (normally static in libgcc.a): all zero means "no feature known". */
struct {
  unsigned vendor, type, subtype, features[1];
} __cpu_model;
int __cpu_indicator_init(void) { return 0; }

/* Destructors of thread_local objects, run when the thread exits (not for the main thread). */
struct dtor {
  void (*fn)(void *);
  void *obj;
  struct dtor *next;
};
static pthread_key_t dtor_key;
static pthread_once_t dtor_once = PTHREAD_ONCE_INIT;
static void run_dtors(void *p) {
  for (struct dtor *d = p, *next; d; d = next) {
    next = d->next;
    d->fn(d->obj);
    free(d);
  }
}
static void make_dtor_key(void) { pthread_key_create(&dtor_key, run_dtors); }
int __cxa_thread_atexit_impl(void (*fn)(void *), void *obj, void *dso) {
  (void)dso;
  pthread_once(&dtor_once, make_dtor_key);
  struct dtor *d = malloc(sizeof *d);
  if (!d) return -1;
  *d = (struct dtor){fn, obj, pthread_getspecific(dtor_key)};
  pthread_setspecific(dtor_key, d);
  return 0;
}

/* glibc 2.35: the loaded object holding `pc` and its unwind table (libgcc's unwinder asks). */
struct dl_find_object {
  unsigned long long dlfo_flags;
  void *dlfo_map_start, *dlfo_map_end;
  void *dlfo_link_map;
  void *dlfo_eh_frame;
  unsigned long long reserved[7];
};
struct search {
  uintptr_t pc;
  struct dl_find_object *out;
  int found;
};
static int visit(struct dl_phdr_info *info, size_t size, void *data) {
  (void)size;
  struct search *s = data;
  uintptr_t lo = UINTPTR_MAX, hi = 0, eh = 0;
  int inside = 0;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    uintptr_t start = info->dlpi_addr + ph->p_vaddr;
    if (ph->p_type == PT_LOAD) {
      if (start < lo) lo = start;
      if (start + ph->p_memsz > hi) hi = start + ph->p_memsz;
      if (s->pc >= start && s->pc < start + ph->p_memsz) inside = 1;
    } else if (ph->p_type == PT_GNU_EH_FRAME) {
      eh = start;
    }
  }
  if (!inside) return 0;
  memset(s->out, 0, sizeof *s->out);
  s->out->dlfo_map_start = (void *)lo;
  s->out->dlfo_map_end = (void *)hi;
  s->out->dlfo_eh_frame = (void *)eh;
  s->found = 1;
  return 1;
}
int _dl_find_object(void *pc, struct dl_find_object *out) {
  struct search s = {(uintptr_t)pc, out, 0};
  dl_iterate_phdr(visit, &s);
  return s.found ? 0 : -1;
}
