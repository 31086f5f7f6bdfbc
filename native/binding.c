/*
 * binding.c: module init and the Node-API glue of descriptors and mappings.
 *
 * The rooms of the native layer: mm.h the portable OS calls (one file per OS
 * behind it); region.c the lifetime of mappings, handles and views; copy.c
 * the copying mode; async.c jobs on the thread pool; loss.c what a map lost;
 * text.c strings over mapped memory; glue.h what the glue files share. This
 * file reads the environment switches, installs the fault handler, makes the
 * per-environment state, registers every room's functions and its own, and
 * publishes constants, capabilities, fdLimit and faults.
 *
 * Results: a number >= 0 is success, a negative number is -errno (named in
 * src/errors.ts). Nothing here validates user input: src/ does that before
 * calling in; memory is reached only through region_range (region.h).
 */
#include "glue.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Descriptors                                                              */

/* fstat(fd) into out = [size, isRegular] and, with 4 elements or more, the
 * file's identity (dev, ino) as raw 64-bit words in out[2..3], MM_NO_ID where
 * the system gives it by another call: only map() reads them, from the same
 * array. 0 | -errno; out is written only on success. */
static int stat_into(int fd, double *out, size_t len) {
  int64_t size = 0;
  int regular = 0;
  uint64_t id[2];
  int r = mm_fstat(fd, &size, &regular, &id[0], &id[1]);
  if (r == 0) {
    out[0] = (double)size;
    out[1] = regular;
    if (len >= 4) memcpy(&out[2], id, sizeof id);
  }
  return r;
}

/* fstat(fd, out: Float64Array(2 or 4), or its ArrayBuffer) -> 0 | -errno (stat_into). */
static napi_value js_fstat(napi_env env, napi_callback_info info) {
  GET_ARGS(2);
  size_t len = 0;
  double *out = float64s_of(env, argv[1], 2, &len);
  if (out == NULL) return ret_int(env, -EINVAL);
  return ret_int(env, stat_into(i32(env, argv[0]), out, len));
}

/* dup(fd[, out: ArrayBuffer of 5 doubles]) -> the close-on-exec duplicate |
 * -errno. With `out`, a successful duplicate is also fstat'ed: out[0..3] as
 * fstat() fills them, out[4] = 0 | -errno of that fstat (one call where a map
 * of a file made two). */
static napi_value js_dup(napi_env env, napi_callback_info info) {
  GET_ARGS(2);
  int fd = mm_dup(i32(env, argv[0]));
  region_fd_made(env, fd);
  if (fd >= 0 && argc >= 2) {
    size_t len = 0;
    double *out = float64s_of(env, argv[1], 5, &len);
    if (out != NULL) out[4] = stat_into(fd, out, len);
  }
  return ret_int(env, fd);
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  GET_ARGS(1);
  int fd = i32(env, argv[0]);
  region_fd_taken(region_env(env), fd);
  return ret_int(env, mm_close(fd));
}

static napi_value js_truncate(napi_env env, napi_callback_info info) {
  GET_ARGS(2);
  return ret_int(env, mm_truncate(i32(env, argv[0]), (int64_t)num(env, argv[1])));
}

static napi_value js_memfd(napi_env env, napi_callback_info info) {
  GET_ARGS(1);
  int fd = mm_memfd((int64_t)num(env, argv[0]));
  region_fd_made(env, fd);
  return ret_int(env, fd);
}

/* ------------------------------------------------------------------------ */
/* Mappings                                                                 */

/* The tag name (Windows' tagname) of the map: a string, or NULL for none. */
static char *tag_of(napi_env env, napi_value v, int *failed) {
  napi_valuetype t;
  size_t n = 0;
  *failed = 0;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_string) return NULL;
  char *tag = NULL;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &n) != napi_ok || (tag = malloc(n + 1)) == NULL ||
      napi_get_value_string_utf8(env, v, tag, n + 1, &n) != napi_ok) {
    free(tag);
    *failed = 1;
    return NULL;
  }
  return tag;
}

/* map(fd, length, prot, flags, offset, ownedFd, tagname?, stat?, reuse?) ->
 * handle | -errno. On success the region owns ownedFd (closed with the
 * mapping); on failure the caller still owns it. `stat`: the Float64Array(4)
 * (or its buffer) fstat() just filled for fd's file (ownedFd, or fd itself
 * when the region owns none: trackfd false), whose identity the region
 * then takes instead of asking the system again (one fstat fewer per map;
 * without an owned descriptor, the identity only keys waits: wait.c). `reuse`: a
 * closed map's handle that no code will use again, which the new map may
 * take over (region_adopt): the result is then `reuse` itself. */
static napi_value js_map(napi_env env, napi_callback_info info) {
  GET_ARGS(9);
  double length = num(env, argv[1]);
  if (!(length > 0) || length > (double)SIZE_MAX) return ret_int(env, -EINVAL);
  int fd = i32(env, argv[0]);
  region want = {.length = (size_t)length,
                 .prot = i32(env, argv[2]),
                 .flags = i32(env, argv[3]),
                 .offset = (int64_t)num(env, argv[4]),
                 .fd = i32(env, argv[5]),
                 .dev = MM_NO_ID,
                 .ino = MM_NO_ID};
  size_t len = 0;
  double *stat = argc > 7 && fd >= 0 ? float64s_of(env, argv[7], 4, &len) : NULL;
  if (stat != NULL) {
    uint64_t id[2];
    memcpy(id, &stat[2], sizeof id);
    want.dev = id[0];
    want.ino = id[1];
  }
  void *addr = NULL;
  int failed = 0;
  char *tag = argc > 6 ? tag_of(env, argv[6], &failed) : NULL;
  int rc = failed ? -ENOMEM : mm_map(want.length, want.prot, want.flags, fd, want.offset, tag, &addr);
  free(tag);
  if (rc != 0) return ret_int(env, rc);
  want.addr = addr;
  int guard = ((want.prot & PROT_WRITE) ? 0 : MM_GUARD_READONLY) | (fd >= 0 ? MM_GUARD_FILE : 0);
  napi_value handle = region_adopt(env, &want, guard, argc > 8 ? argv[8] : NULL, &rc);
  return handle != NULL ? handle : ret_int(env, rc);
}

/* view(handle, start, length, exposed) -> ArrayBuffer | null (the runtime
 * refused an external ArrayBuffer) | -errno. Zero-copy: the ArrayBuffer is
 * the mapped memory itself, detached by unmap/remap. `exposed`: it may reach
 * user code (region_view). */
static napi_value js_view(napi_env env, napi_callback_info info) {
  GET_RANGE(4);
  bool exposed = true;
  napi_get_value_bool(env, argv[3], &exposed);
  return region_view(env, r, at, length, exposed);
}

/* unmap(handle) -> 0 | 1 | -EBADF: detaches every view, closes the owned fd
 * and lets go of the file; if a thread-pool job is using the memory, when it
 * ends. 1 while ranges stay reserved for their holders (region_unmap). */
static napi_value js_unmap(napi_env env, napi_callback_info info) {
  GET_ARGS(1);
  region *r = region_get(env, argv[0]);
  if (r == NULL) return ret_int(env, -EBADF);
  return ret_int(env, region_unmap(env, r));
}

/* remap(handle, newLength, portable) -> 0 | -errno. Detaches every view once
 * it succeeded; on failure nothing changed (on Windows the map may be gone,
 * if it could not be mapped again: see mm_remap). */
static napi_value js_remap(napi_env env, napi_callback_info info) {
  GET_ARGS(3);
  int err;
  region *r = region_live(env, argv[0], &err);
  double length = num(env, argv[1]);
  bool portable = false;
  napi_get_value_bool(env, argv[2], &portable);
  return ret_int(env, r == NULL ? err : region_remap(env, r, length, portable));
}

/* fd(handle, out?: Float64Array(1) or its buffer) -> the descriptor the
 * region owns, or -1 (none, released, or not a map), or -EBADF when it was
 * closed outside memmap (region_fd). With `out`, a descriptor's file size
 * goes to out[0] (one fstat for both: resize needs the two together). */
static napi_value js_fd(napi_env env, napi_callback_info info) {
  GET_ARGS(2);
  int err;
  region *r = region_live(env, argv[0], &err);
  if (r == NULL || r->fd < 0) return ret_int(env, -1);
  size_t len = 0;
  double *out = float64s_of(env, argv[1], 1, &len);
  if (out == NULL) return ret_int(env, region_fd(r));
  int64_t size = 0;
  int fd = region_fd_size(r, &size);
  if (fd >= 0) out[0] = (double)size;
  return ret_int(env, fd);
}

/* busy(handle) -> how many thread-pool jobs are using the region's memory
 * (0 for what is not a map). */
static napi_value js_busy(napi_env env, napi_callback_info info) {
  GET_ARGS(1);
  region *r = region_get(env, argv[0]);
  return ret_int(env, r == NULL ? 0 : r->busy);
}

/* live(handle) -> 1 while the memory is mapped and not being closed, else 0
 * (after unmap, after a Windows remap that could not map it again, or for
 * what is not a map). */
static napi_value js_live(napi_env env, napi_callback_info info) {
  GET_ARGS(1);
  int err;
  return ret_int(env, region_live(env, argv[0], &err) != NULL);
}

/* find(handle, start, end, needle, backward) -> the offset in the map of the
 * first (last) occurrence inside [start, end), -1 when absent, or -errno. */
static napi_value js_find(napi_env env, napi_callback_info info) {
  GET_ARGS(5);
  region *r;
  int err;
  double start = num(env, argv[1]), end = num(env, argv[2]);
  const uint8_t *hay = region_range(env, argv[0], start, end - start, &r, &err);
  if (hay == NULL) return ret_int(env, err);
  size_t k = 0;
  const uint8_t *needle = bytes_of(env, argv[3], &k);
  if (needle == NULL) return ret_int(env, -EINVAL);
  bool backward = false;
  napi_get_value_bool(env, argv[4], &backward);
  /* Sound: [hay, hay+n) is [start, end) of the live mapping (region_range). */
  size_t n = (size_t)(end - start);
  int64_t i = backward ? mm_rfind(hay, n, needle, k) : mm_find(hay, n, needle, k);
  mirror_faults(r);
  return ret_int(env, i < 0 ? -1 : (int64_t)start + i);
}

/* lineEnds(handle, start, end, out: Uint32Array) -> k | -errno: the offsets,
 * from start, just past each '\n' of [start, end) of the map, in order, into
 * out[0, k), stopping once out is full; k < out.length means no '\n' is left
 * in the range. end - start < 2^32 (the offsets are 32-bit). For m.lines():
 * many lines a call. */
static napi_value js_line_ends(napi_env env, napi_callback_info info) {
  GET_ARGS(4);
  region *r;
  int err;
  double start = num(env, argv[1]), end = num(env, argv[2]);
  if (!(end - start < 4294967296.0)) return ret_int(env, -EINVAL);
  const uint8_t *hay = region_range(env, argv[0], start, end - start, &r, &err);
  if (hay == NULL) return ret_int(env, err);
  napi_typedarray_type type;
  size_t cap = 0;
  void *out = NULL;
  if (napi_get_typedarray_info(env, argv[3], &type, &cap, &out, NULL, NULL) != napi_ok || type != napi_uint32_array)
    return ret_int(env, -EINVAL);
  /* Sound: [hay, hay+n) is [start, end) of the live mapping (region_range);
   * out holds cap 32-bit elements. */
  size_t k = mm_line_ends(hay, (size_t)(end - start), out, cap);
  mirror_faults(r);
  return ret_int(env, (int64_t)k);
}

/* move(handle, dest, src, count) -> 0 | -errno: memmove inside the map, one call for any size. */
static napi_value js_move(napi_env env, napi_callback_info info) {
  GET_ARGS(4);
  region *r;
  int err;
  double count = num(env, argv[3]);
  uint8_t *to = region_range(env, argv[0], num(env, argv[1]), count, &r, &err);
  uint8_t *from = to == NULL ? NULL : region_range(env, argv[0], num(env, argv[2]), count, &r, &err);
  if (from == NULL) return ret_int(env, err);
  /* A file shrinks from its end: the last byte of the two ranges is read
   * first. A fault there (contained: zeros in its place, counted) means the
   * file lost bytes of them: -EFAULT, nothing moved (memmove would copy the
   * zeros standing in for a lost source over the file's own bytes), and
   * JavaScript learns the loss (ERR_MMAP_TRUNCATED). */
  if (count > 0) {
    const volatile uint8_t *last = (to > from ? to : from) + (size_t)count - 1;
    uint32_t faults = atomic_load((_Atomic uint32_t *)mm_fault_counter());
    (void)*last;
    if (atomic_load((_Atomic uint32_t *)mm_fault_counter()) != faults) {
      mirror_faults(r);
      return ret_int(env, -EFAULT);
    }
  }
  /* Sound: both ranges are inside the live mapping (region_range); memmove allows overlap. */
  memmove(to, from, (size_t)count);
  mirror_faults(r);
  return ret_int(env, 0);
}

/* sync(handle, start, length, flags, out?) -> 0 | -errno; with `out`, an I/O
 * error of the map not yet reported is reported after a successful msync
 * (loss_after_sync: out[1] != 0 then). */
static napi_value js_sync(napi_env env, napi_callback_info info) {
  GET_RANGE(5);
  int rc = mm_sync(at, length, i32(env, argv[3]));
  return ret_int(env, loss_after_sync(env, r, rc, argc > 4 ? argv[4] : NULL));
}

/* advise(handle, start, length, advice) -> 0 | -errno; a file's headroom
 * given back first (mm_room_settle: the advice may split the kernel mapping). */
static napi_value js_advise(napi_env env, napi_callback_info info) {
  GET_RANGE(4);
  region_settle_room(r);
  return ret_int(env, mm_advise(at, length, i32(env, argv[3])));
}

/* ------------------------------------------------------------------------ */
/* Constants: every name the platform defines, as CPython exposes them (the   */
/* table is the per-OS file's: posix.c, win32.c).                             */

static napi_value make_constants(napi_env env) {
  napi_value obj;
  napi_create_object(env, &obj);
  size_t count = 0;
  const mm_constant *constants = mm_constants(&count);
  for (size_t i = 0; i < count; i++)
    napi_set_named_property(env, obj, constants[i].name, ret_int(env, constants[i].value));
  napi_set_named_property(env, obj, "PAGESIZE", ret_int(env, mm_pagesize()));
  napi_set_named_property(env, obj, "ALLOCATIONGRANULARITY", ret_int(env, mm_granularity()));
  return obj;
}

/* What this system can do, for src/platform.ts (the one place TypeScript
 * learns it): the per-OS file answers, binding.c only reports. */
static napi_value make_capabilities(napi_env env) {
  const struct {
    const char *name;
    int value;
  } caps[] = {
      {"mremap", mm_has_mremap()},
      {"remapSizesFile", mm_remap_sizes_file()},
      {"madvise", mm_has_madvise()},
      {"memfd", mm_has_memfd()},
      {"tagname", mm_has_tagname()},
      {"placeholders", mm_has_placeholders()},
      {"tagObjects", mm_has_tag_objects()},
  };
  napi_value obj, b;
  napi_create_object(env, &obj);
  for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++) {
    napi_get_boolean(env, caps[i].value != 0, &b);
    napi_set_named_property(env, obj, caps[i].name, b);
  }
  napi_value name;
  napi_create_string_utf8(env, mm_remap_syscall(0), NAPI_AUTO_LENGTH, &name);
  napi_set_named_property(env, obj, "remapSyscall", name);
  napi_create_string_utf8(env, mm_remap_syscall(1), NAPI_AUTO_LENGTH, &name);
  napi_set_named_property(env, obj, "portableRemapSyscall", name);
  napi_set_named_property(env, obj, "tagMax", ret_int(env, mm_tag_max()));
  return obj;
}

/* ------------------------------------------------------------------------ */
/* Module init                                                              */

/* Whether an environment switch (MEMMAP_*) is "1". Read here only, once per
 * environment at load; the TypeScript layer reads the switches it needs itself. */
static int switch_on(const char *name) {
  const char *v = getenv(name);
  return v != NULL && v[0] == '1';
}

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
  static const glue_fn fns[] = {
      {"fstat", js_fstat}, {"dup", js_dup},       {"close", js_close},   {"truncate", js_truncate},
      {"memfd", js_memfd}, {"map", js_map},       {"view", js_view},     {"unmap", js_unmap},
      {"remap", js_remap}, {"sync", js_sync},     {"advise", js_advise},
      {"find", js_find},   {"lineEnds", js_line_ends}, {"move", js_move}, {"fd", js_fd},     {"busy", js_busy},
      {"live", js_live},
  };
  /* Never unloaded, even when the last environment that loaded it (a worker)
   * ends: its fault handlers and waitAsync threads outlive environments. */
  mm_keep_loaded();
  /* MEMMAP_NO_EXTERNAL_BUFFERS=1: behave as a runtime whose V8 sandbox forbids
   * external ArrayBuffers (Electron), so the copying mode is tested on any Node. */
  if (switch_on("MEMMAP_NO_EXTERNAL_BUFFERS")) {
    region_forbid_external();
    text_forbid();
  }
  /* MEMMAP_NO_EXTERNAL_STRINGS=1: regular expressions search copies of the
   * text, as where the runtime has no external strings (Bun, Deno, ...). */
  if (switch_on("MEMMAP_NO_EXTERNAL_STRINGS")) text_forbid();
  /* MEMMAP_NO_FAULT_HANDLER=1 leaves SIGSEGV/SIGBUS alone (for debuggers). */
  if (!switch_on("MEMMAP_NO_FAULT_HANDLER")) mm_fault_install();
  /* MEMMAP_WAIT_SLICED=1: waits take the path of systems that cannot watch a
   * cancel word (slices), so that the tests run it on Linux. */
  if (switch_on("MEMMAP_WAIT_SLICED")) wait_force_slices();
  /* MEMMAP_TEST_FAULT_PAUSE_US=n: every fault handler sleeps n microseconds
   * between finding the map a fault is in and containing it, so that the tests
   * can close or resize the map in that window (test/containment.test.mjs). */
  const char *pause = getenv("MEMMAP_TEST_FAULT_PAUSE_US");
  if (pause != NULL) mm_fault_test_pause(atoi(pause));
  if (region_env_init(env) != 0) return NULL;
  GLUE_EXPORT(env, exports, fns);
  mm_register_region(env, exports);
  mm_register_reclaim(env, exports);
  mm_register_copy(env, exports);
  mm_register_async(env, exports);
  mm_register_loss(env, exports);
  mm_register_text(env, exports);
  mm_register_wait(env, exports);
  mm_register_residency(env, exports);
  mm_register_tags(env, exports);
  napi_set_named_property(env, exports, "constants", make_constants(env));
  napi_set_named_property(env, exports, "capabilities", make_capabilities(env));
  /* The fault counter, readable from JavaScript without a call (static memory:
   * no finalizer). null where the runtime refuses external buffers. */
  napi_value faults;
  external_arraybuffer(env, mm_fault_counter(), sizeof(uint32_t), NULL, NULL, &faults);
  napi_set_named_property(env, exports, "faults", faults);
  int64_t limit = mm_fd_limit();
  napi_value lim;
  napi_create_double(env, limit < 0 ? 1024.0 : (double)limit, &lim);
  napi_set_named_property(env, exports, "fdLimit", lim);
  return exports;
}
