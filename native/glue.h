/*
 * glue.h: what every Node-API glue file shares (binding.c, region.c, copy.c,
 * async.c, loss.c, text.c): argument unpacking, results, and the one shape
 * of registration.
 *
 * A glue function turns JavaScript numbers into calls of mm.h on a region
 * (region.h) and returns a number: >= 0 is success, a negative number is
 * -errno (named in src/errors.ts). Argument types are guaranteed by
 * src/binding.ts: nothing here validates user input; the checks that remain
 * are the ones that keep memory safe even if the TypeScript layer had a bug.
 *
 * Registration: each glue file exports one
 *     void mm_register_<room>(napi_env env, napi_value exports)
 * that adds its own table of functions with GLUE_EXPORT; module init
 * (binding.c) calls each once. A new file brings its own table and never
 * edits another file's.
 */
#ifndef MEMMAP_GLUE_H
#define MEMMAP_GLUE_H

#ifndef NAPI_VERSION
#define NAPI_VERSION 8
#endif
#include <node_api.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mm.h"
#include "region.h"

/* ------------------------------------------------------------------------ */
/* Arguments and results                                                    */

#define GLUE_MAX_ARGS 9
/* Declares argc and argv[n] (n <= GLUE_MAX_ARGS) in a glue function; missing
 * arguments are undefined. */
#define GET_ARGS(n)                                                              \
  size_t argc = n;                                                               \
  napi_value argv[GLUE_MAX_ARGS];                                                \
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL

static inline double num(napi_env env, napi_value v) {
  double d = 0;
  napi_get_value_double(env, v, &d);
  return d;
}

static inline int32_t i32(napi_env env, napi_value v) {
  int32_t i = 0;
  napi_get_value_int32(env, v, &i);
  return i;
}

static inline napi_value ret_int(napi_env env, int64_t n) {
  napi_value v;
  napi_create_int64(env, n, &v);
  return v;
}

/* Clears an exception a failed Node-API call left pending (the glue returns
 * numbers and null, never throws). */
static inline void clear_pending_exception(napi_env env) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) {
    napi_value ignored;
    napi_get_and_clear_last_exception(env, &ignored);
  }
}

/* The bytes of a Uint8Array argument (*length of them), or NULL for anything
 * else. An empty array may have no data pointer: it gets a static byte that
 * is never read or written (length 0). */
static inline uint8_t *bytes_of(napi_env env, napi_value v, size_t *length) {
  static uint8_t none;
  napi_typedarray_type type;
  void *data = NULL;
  if (napi_get_typedarray_info(env, v, &type, length, &data, NULL, NULL) != napi_ok || type != napi_uint8_array)
    return NULL;
  return *length == 0 ? &none : data;
}

/* The doubles of a Float64Array argument of at least `min` elements (*length
 * of them), or of an ArrayBuffer of at least `min` * 8 bytes, or NULL for
 * anything else (a detached buffer has no bytes: NULL). The hot callers pass
 * the buffer: napi_is_arraybuffer and napi_get_arraybuffer_info cost ~100
 * instructions, where napi_get_typedarray_info tries each typed-array kind in
 * turn and asks V8 for the buffer (~475 with Node 20). An ArrayBuffer's memory
 * from the engine's allocator is aligned for doubles; anything else is refused
 * rather than read unaligned. */
static inline double *float64s_of(napi_env env, napi_value v, size_t min, size_t *length) {
  if (v == NULL) return NULL;
  void *data = NULL;
  bool is_buffer = false;
  if (napi_is_arraybuffer(env, v, &is_buffer) == napi_ok && is_buffer) {
    size_t bytes = 0;
    if (napi_get_arraybuffer_info(env, v, &data, &bytes) != napi_ok || data == NULL || ((uintptr_t)data & 7) != 0)
      return NULL;
    *length = bytes / sizeof(double);
    return *length < min ? NULL : data;
  }
  napi_typedarray_type type;
  if (napi_get_typedarray_info(env, v, &type, length, &data, NULL, NULL) != napi_ok ||
      type != napi_float64_array || *length < min)
    return NULL;
  return data;
}

/* The range [argv[1], argv[1]+argv[2]) of the region argv[0] names: its
 * address (region_range: live and in bounds), *length and *r, or NULL and
 * *err (*length 0). The length is converted only once region_range has found
 * it in range: converting a NaN or negative double is undefined in C. */
static inline uint8_t *range_arg(napi_env env, const napi_value *argv, size_t *length, int *err, region **r) {
  double n = num(env, argv[2]);
  uint8_t *at = region_range(env, argv[0], num(env, argv[1]), n, r, err);
  *length = at != NULL ? (size_t)n : 0;
  return at;
}

/* GET_ARGS(n), then the range argv[0..2] names (range_arg): declares argv,
 * r, length and at, and returns its error to JavaScript when the range is
 * refused. */
#define GET_RANGE(n)                                                             \
  GET_ARGS(n);                                                                   \
  region *r;                                                                     \
  size_t length;                                                                 \
  int range_err;                                                                 \
  uint8_t *at = range_arg(env, argv, &length, &range_err, &r);                   \
  if (at == NULL) return ret_int(env, range_err)

/* ------------------------------------------------------------------------ */
/* Registration                                                             */

typedef struct {
  const char *name;
  napi_callback fn;
} glue_fn;

static inline void glue_export(napi_env env, napi_value exports, const glue_fn *fns, size_t count) {
  for (size_t i = 0; i < count; i++) {
    napi_value f;
    napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &f);
    napi_set_named_property(env, exports, fns[i].name, f);
  }
}
#define GLUE_EXPORT(env, exports, table) glue_export(env, exports, table, sizeof(table) / sizeof((table)[0]))

/* Each room's registration (binding.c registers its own functions itself). */
void mm_register_region(napi_env env, napi_value exports); /* region.c: reclaim */
void mm_register_reclaim(napi_env env, napi_value exports); /* reclaim.c: reclaimDue, reclaimState, held */
void mm_register_copy(napi_env env, napi_value exports);   /* copy.c: read, write, getByte, ... */
void mm_register_async(napi_env env, napi_value exports);  /* async.c: syncAsync */
void mm_register_loss(napi_env env, napi_value exports);   /* loss.c: loss, ensureFaultHandler */
void mm_register_text(napi_env env, napi_value exports);   /* text.c: text, externalText */
void mm_register_wait(napi_env env, napi_value exports);   /* wait.c: wait, waitAsync, notify, ... */
/* wait.c: MEMMAP_WAIT_SLICED=1 cuts every cancellable wait into slices. */
void wait_force_slices(void);
void mm_register_residency(napi_env env, napi_value exports); /* residency.c: residency, prefetch, lock */
void mm_register_tags(napi_env env, napi_value exports);      /* tags.c: tagOpen, tagUnlink, tagSize */

/* ------------------------------------------------------------------------ */
/* Shared between rooms                                                     */

/* copy.c: after a call that touched r's memory, the fault counter copied
 * where JavaScript reads it in the copying mode (nothing to do where views
 * exist: `faults` shows it in place). */
void mirror_faults(const region *r);

/* async.c: a job on a range of a region's memory, run on the thread pool.
 * `run` gets the range [at, at+length), mapped for as long as the job runs,
 * and the caller's arguments; it returns the number the promise resolves
 * with (>= 0, or -errno) and must not call Node-API. `done`, when given, runs
 * on the JavaScript thread when the job ends, before the region may be
 * released, with run's result and `extra` (a value the caller passed, kept
 * alive meanwhile, or NULL); it returns the number to resolve with. */
#define JOB_ARGS 3
typedef int64_t (*job_run)(uint8_t *at, size_t length, const int64_t args[JOB_ARGS]);
typedef int64_t (*job_done)(napi_env env, region *r, int64_t result, napi_value extra);
/* Checks the range (region_range), marks the region busy, queues `run`, and
 * returns a promise; it resolves with run's (or done's) result, or at once
 * with -EBADF, -ERANGE or -ENOMEM. When the job ends the region is idle
 * again, and an unmap asked in the meantime happens then. NULL if no promise
 * could be made. */
napi_value job_on_region(napi_env env, napi_value handle, double start, double length, const char *name,
                         job_run run, const int64_t args[JOB_ARGS], job_done done, napi_value extra);

/* text.c: make no external string (MEMMAP_NO_EXTERNAL_STRINGS=1, or
 * MEMMAP_NO_EXTERNAL_BUFFERS=1, which stands for a runtime that forbids
 * both); call before mm_register_text. */
void text_forbid(void);

/* loss.c: after an msync of r that returned rc: an I/O error of the map not
 * yet reported is reported now (as fsync reports a failed writeback): its
 * -errno, with out (a Float64Array(4), or NULL for no such report) filled
 * [lostFrom, ioErrno, ioStart, ioEnd] and the error marked reported. */
int64_t loss_after_sync(napi_env env, region *r, int64_t rc, napi_value out);

#endif
