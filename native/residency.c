/*
 * residency.c: what of a map is in memory, and keeping it there: residency
 * (one byte per page), prefetch (reads a range in, on the thread pool), lock
 * and unlock. The system calls are mm.h's (mm_residency, mm_prefetch,
 * mm_lock, mm_unlock); src/residency.ts validates, rounds and clamps.
 */
#include "glue.h"

#include <errno.h>
#include <stdbool.h>

/* residency(handle, start, length, out: Uint8Array) -> 0 | -errno: out[i] is
 * 1 where page i of [start, start+length) is in memory, else 0. `start` is a
 * multiple of the page size (src/ rounds it down), `out` holds one byte per
 * page of the range. */
static napi_value js_residency(napi_env env, napi_callback_info info) {
  GET_RANGE(4);
  size_t n = 0, page = (size_t)mm_pagesize();
  uint8_t *out = bytes_of(env, argv[3], &n);
  size_t pages = (length + page - 1) / page;
  if (out == NULL || n < pages || (uintptr_t)at % page != 0) return ret_int(env, -EINVAL);
  if (pages == 0) return ret_int(env, 0);
  /* Sound: [at, at+length) lies inside the live mapping (region_range), which
   * spans whole pages, and out holds one byte for each of them. */
  return ret_int(env, mm_residency(at, length, out));
}

/* Reads one byte of every page of [at, at+length) (at page-aligned): each read
 * waits for its page. A page that cannot be read (past the end of a file that
 * shrank, an I/O error) is contained by the fault handler and recorded as
 * lost (guard.c), and the read completes. */
static void touch_pages(const uint8_t *at, size_t length) {
  const volatile uint8_t *p = at;
  size_t page = (size_t)mm_pagesize();
  uint8_t sink = 0;
  for (size_t off = 0; off < length; off += page) sink ^= p[off];
  (void)sink;
}

/* args: [populate] */
static int64_t run_prefetch(uint8_t *at, size_t length, const int64_t args[JOB_ARGS]) {
  int rc = mm_prefetch(at, length, (int)args[0]);
  if (rc < 0) return rc;
  if (rc == 0) touch_pages(at, length);
  return 0;
}

/* On the JavaScript thread once the job ends: a loss the reads caused is seen
 * by the copying mode's mirror of the fault counter too. */
static int64_t prefetch_done(napi_env env, region *r, int64_t result, napi_value extra) {
  (void)env; (void)extra;
  mirror_faults(r);
  return result;
}

/* prefetch(handle, start, length, populate) -> Promise<0 | -errno>: the range
 * (start page-aligned) read into memory on the thread pool; the region stays
 * mapped meanwhile (close defers the unmap, resize refuses). */
static napi_value js_prefetch(napi_env env, napi_callback_info info) {
  GET_ARGS(4);
  bool populate = false;
  napi_get_value_bool(env, argv[3], &populate);
  const int64_t args[JOB_ARGS] = {populate};
  return job_on_region(env, argv[0], num(env, argv[1]), num(env, argv[2]), "memmap:prefetch", run_prefetch,
                       args, prefetch_done, NULL);
}

/* lock(handle, start, length, lock) -> 0 | -errno: mlock (lock true) or munlock. */
static napi_value js_lock(napi_env env, napi_callback_info info) {
  GET_RANGE(4);
  bool lock = false;
  napi_get_value_bool(env, argv[3], &lock);
  /* For good: a growth of memory locked in RAM must not reserve headroom by
   * growing first (the kernel would fault all of it in), see mm_remap. */
  if (lock) r->locked = 1;
  region_settle_room(r); /* a file's headroom given back: the change may split the kernel mapping */
  return ret_int(env, lock ? mm_lock(at, length, !(r->prot & PROT_WRITE)) : mm_unlock(at, length));
}

void mm_register_residency(napi_env env, napi_value exports) {
  static const glue_fn fns[] = {{"residency", js_residency}, {"prefetch", js_prefetch}, {"lock", js_lock}};
  GLUE_EXPORT(env, exports, fns);
}
