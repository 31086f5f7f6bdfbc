/*
 * binding.c: Node-API glue. Turns JavaScript numbers into the calls of mm.h
 * and owns the lifetime of each mapping ("region") and of every ArrayBuffer
 * handed out over it ("view").
 *
 * Nothing here validates user input: src/ does that before calling in. The
 * checks that remain are the invariants that keep memory safe even if the
 * TypeScript layer had a bug: no view or system call ever reaches outside a
 * live mapping.
 *
 * Results: a number >= 0 is success, a negative number is -errno (named in
 * src/errors.ts).
 */
#ifndef NAPI_VERSION
#define NAPI_VERSION 8
#endif
#define _GNU_SOURCE
#include <node_api.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mm.h"

/* ------------------------------------------------------------------------ */
/* Regions and views                                                        */

typedef struct view view;
typedef struct region region;

/* Per-environment state (main thread and each worker have their own). */
typedef struct {
  region *regions; /* every region not yet freed */
  /* Where no external ArrayBuffer can show the fault counter in place: a
   * Uint32Array of JavaScript's (kept alive by the reference) into which every
   * call that touches mapped memory copies the counter before it returns. */
  uint32_t *fault_mirror;
  napi_ref fault_mirror_ref;
} env_state;

/*
 * One mapping. Invariants:
 * - while addr != NULL, [addr, addr+length) is mapped and readable;
 * - every live ArrayBuffer over the region is on `views`, and each holds one
 *   of `refs` (the JavaScript handle holds one more);
 * - the memory is unmapped (and fd closed) exactly once: by mm_unmap_region,
 *   which JavaScript calls on close(), or when refs drops to 0;
 * - while busy > 0 a thread-pool job is using [addr, addr+length): neither
 *   unmap nor remap may happen; unmap is deferred (closing = 1).
 */
struct region {
  uint8_t *addr;
  size_t length;
  int fd; /* owned descriptor, or -1 */
  int prot;
  int flags;
  int64_t offset;
  uint32_t refs;
  uint32_t busy;
  int closing;
  view *views;
  env_state *state;    /* whose list holds r while it holds memory; NULL after */
  mm_guard *guard;     /* fault containment (fault.c), or NULL */
  region *prev, *next; /* in state->regions */
  napi_ref self;       /* weak reference to the JavaScript handle */
};

enum { VIEW_CREATING, VIEW_LIVE, VIEW_ORPHAN };

struct view {
  region *owner;
  int state; /* VIEW_CREATING until js_view has linked it into owner->views */
  napi_ref ref; /* weak: does not keep the ArrayBuffer alive */
  view *prev, *next;
};

/* After a call that touched r's memory: the fault counter, copied where
 * JavaScript reads it in the copying mode (nothing to do where views exist). */
static void region_mirror_faults(const region *r) {
  if (r->state != NULL && r->state->fault_mirror != NULL) *r->state->fault_mirror = *mm_fault_counter();
}

/* Takes r off its environment's list (the regions that still hold memory). */
static void region_unlink(region *r) {
  if (r->state == NULL) return;
  if (r->prev) r->prev->next = r->next; else r->state->regions = r->next;
  if (r->next) r->next->prev = r->prev;
  r->prev = r->next = NULL;
  r->state = NULL;
}

static void region_release_memory(region *r) {
  region_unlink(r);
  /* The guard first: its removal waits for a fault handler at work on the
   * mapping, which must not map anything into the range once it is free. */
  if (r->guard != NULL) {
    mm_guard_remove(r->guard);
    r->guard = NULL;
  }
  if (r->addr != NULL) {
    mm_unmap(r->addr, r->length);
    r->addr = NULL;
  }
  if (r->fd >= 0) {
    mm_close(r->fd);
    r->fd = -1;
  }
}

static void region_maybe_free(napi_env env, region *r) {
  if (r->refs == 0 && r->busy == 0) {
    region_release_memory(r);
    if (r->self) napi_delete_reference(env, r->self);
    free(r);
  }
}

/* Detach every ArrayBuffer handed out over r: afterwards none can reach it. */
static void region_detach_views(napi_env env, region *r) {
  for (view *v = r->views; v != NULL; v = v->next) {
    napi_value ab;
    bool detached = true;
    if (napi_get_reference_value(env, v->ref, &ab) == napi_ok && ab != NULL &&
        napi_is_detached_arraybuffer(env, ab, &detached) == napi_ok && !detached) {
      napi_detach_arraybuffer(env, ab);
    }
  }
}

static void view_finalize(napi_env env, void *data, void *hint) {
  (void)data;
  view *v = hint;
  region *r = v->owner;
  /* Some runtimes call the finalizer synchronously when creating the
   * ArrayBuffer fails; js_view then still owns v and frees it. */
  if (v->state == VIEW_CREATING) return;
  if (v->state == VIEW_ORPHAN) {
    free(v);
    return;
  }
  if (v->prev) v->prev->next = v->next; else r->views = v->next;
  if (v->next) v->next->prev = v->prev;
  napi_delete_reference(env, v->ref);
  free(v);
  r->refs--;
  region_maybe_free(env, r);
}

static void handle_finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  region *r = data;
  r->refs--;
  region_maybe_free(env, r);
}

/* ------------------------------------------------------------------------ */
/* External ArrayBuffers                                                    */

/* Set from MEMMAP_NO_EXTERNAL_BUFFERS=1 at load: behave as a runtime whose V8
 * sandbox forbids external ArrayBuffers (Electron), so that the copying mode
 * of src/ can be tested on any Node. */
static int forbid_external = 0;

/* The one place that wraps foreign memory in an ArrayBuffer. On failure (a
 * runtime that forbids it, or the forced mode) no exception is left pending
 * and *out is null. */
static napi_status external_arraybuffer(napi_env env, void *data, size_t length, napi_finalize fin,
                                        void *hint, napi_value *out) {
  napi_status st = forbid_external ? napi_generic_failure
                                   : napi_create_external_arraybuffer(env, data, length, fin, hint, out);
  if (st != napi_ok) {
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (pending) {
      napi_value ignored;
      napi_get_and_clear_last_exception(env, &ignored);
    }
    napi_get_null(env, out);
  }
  return st;
}

/* ------------------------------------------------------------------------ */
/* Argument helpers (types are guaranteed by src/binding.ts)                */

#define MAX_ARGS 7
#define GET_ARGS(n)                                                              \
  size_t argc = n;                                                               \
  napi_value argv[MAX_ARGS];                                                     \
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL

static double num(napi_env env, napi_value v) {
  double d = 0;
  napi_get_value_double(env, v, &d);
  return d;
}

static int32_t i32(napi_env env, napi_value v) {
  int32_t i = 0;
  napi_get_value_int32(env, v, &i);
  return i;
}

static napi_value ret_int(napi_env env, int64_t n) {
  napi_value v;
  napi_create_int64(env, n, &v);
  return v;
}

static region *get_region(napi_env env, napi_value v) {
  napi_valuetype t;
  void *p = NULL;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_external) return NULL;
  if (napi_get_value_external(env, v, &p) != napi_ok) return NULL;
  return p;
}

/* True when [start, start+length) lies inside the live mapping. */
static int in_bounds(const region *r, double start, double length) {
  return r != NULL && r->addr != NULL && start >= 0 && length >= 0 &&
         start + length <= (double)r->length;
}

/* ------------------------------------------------------------------------ */
/* Descriptors                                                              */

/* fstat(fd, out: Float64Array(2)) -> 0 | -errno; out = [size, isRegular] */
static napi_value js_fstat(napi_env env, napi_callback_info info) {
  GET_ARGS(2);
  double *out = NULL;
  size_t len = 0;
  napi_typedarray_type type;
  if (napi_get_typedarray_info(env, argv[1], &type, &len, (void **)&out, NULL, NULL) != napi_ok ||
      type != napi_float64_array || len < 2)
    return ret_int(env, -EINVAL);
  int64_t size = 0;
  int regular = 0;
  int r = mm_fstat(i32(env, argv[0]), &size, &regular);
  if (r == 0) {
    out[0] = (double)size;
    out[1] = regular;
  }
  return ret_int(env, r);
}

static napi_value js_dup(napi_env env, napi_callback_info info) {
  GET_ARGS(1);
  return ret_int(env, mm_dup(i32(env, argv[0])));
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  GET_ARGS(1);
  return ret_int(env, mm_close(i32(env, argv[0])));
}

static napi_value js_truncate(napi_env env, napi_callback_info info) {
  GET_ARGS(2);
  return ret_int(env, mm_truncate(i32(env, argv[0]), (int64_t)num(env, argv[1])));
}

static napi_value js_memfd(napi_env env, napi_callback_info info) {
  GET_ARGS(1);
  return ret_int(env, mm_memfd((int64_t)num(env, argv[0])));
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

/* map(fd, length, prot, flags, offset, ownedFd, tagname?) -> handle | -errno.
 * On success the region owns ownedFd (closed with the mapping); on failure
 * the caller still owns it. */
static napi_value js_map(napi_env env, napi_callback_info info) {
  GET_ARGS(7);
  double length = num(env, argv[1]);
  if (!(length > 0) || length > (double)SIZE_MAX) return ret_int(env, -EINVAL);
  region *r = calloc(1, sizeof *r);
  if (r == NULL) return ret_int(env, -ENOMEM);
  r->length = (size_t)length;
  r->prot = i32(env, argv[2]);
  r->flags = i32(env, argv[3]);
  r->offset = (int64_t)num(env, argv[4]);
  void *addr = NULL;
  int failed = 0;
  char *tag = argc > 6 ? tag_of(env, argv[6], &failed) : NULL;
  int rc = failed ? -ENOMEM : mm_map(r->length, r->prot, r->flags, i32(env, argv[0]), r->offset, tag, &addr);
  free(tag);
  if (rc != 0) {
    free(r);
    return ret_int(env, rc);
  }
  r->addr = addr;
  r->fd = i32(env, argv[5]);
  int guard = ((r->prot & PROT_WRITE) ? 0 : MM_GUARD_READONLY) | (i32(env, argv[0]) >= 0 ? MM_GUARD_FILE : 0);
  /* Fault containment: the guard knows the region's descriptor (to tell a
   * truncation from an I/O error) and how the file was mapped (to map a page
   * again); memmap's handlers go back on top if something replaced them. */
  if (guard != 0) mm_fault_ensure();
  if (guard != 0 && (r->guard = mm_guard_add(addr, r->length, guard, r->fd, r->offset, r->prot, r->flags)) == NULL) {
    r->fd = -1;
    mm_unmap(addr, r->length);
    free(r);
    return ret_int(env, -ENOMEM);
  }
  napi_value handle;
  if (napi_create_external(env, r, handle_finalize, NULL, &handle) != napi_ok) {
    r->fd = -1; /* the caller keeps ownership on failure */
    region_release_memory(r);
    free(r);
    return ret_int(env, -ENOMEM);
  }
  r->refs = 1;
  napi_get_instance_data(env, (void **)&r->state);
  napi_create_reference(env, handle, 0, &r->self);
  r->next = r->state->regions;
  if (r->next) r->next->prev = r;
  r->state->regions = r;
  return handle;
}

/* True when the JavaScript handle and every view of r have been collected. */
static int region_unreachable(napi_env env, region *r) {
  napi_value v;
  if (r->self == NULL || napi_get_reference_value(env, r->self, &v) != napi_ok || v != NULL) return 0;
  for (view *w = r->views; w != NULL; w = w->next)
    if (napi_get_reference_value(env, w->ref, &v) != napi_ok || v != NULL) return 0;
  return 1;
}

/* reclaim() -> the number of regions still holding memory or a descriptor.
 * Node-API runs finalizers later, from the event loop; a program that maps in a
 * loop without closing never gets there. After a garbage collection, weak
 * references already tell which regions nobody can reach: release their memory
 * and descriptors now (the finalizers free the bookkeeping later). */
static napi_value js_reclaim(napi_env env, napi_callback_info info) {
  (void)info;
  env_state *st = NULL;
  napi_get_instance_data(env, (void **)&st);
  int64_t live = 0;
  for (region *r = st ? st->regions : NULL, *next; r != NULL; r = next) {
    next = r->next;
    if (r->busy == 0 && region_unreachable(env, r)) region_release_memory(r);
    else live++;
  }
  return ret_int(env, live);
}

/* view(handle, start, length) -> ArrayBuffer | null (the runtime refused an
 * external ArrayBuffer) | -errno. Zero-copy: the ArrayBuffer is the mapped
 * memory itself, detached by unmap/remap. */
static napi_value js_view(napi_env env, napi_callback_info info) {
  GET_ARGS(3);
  region *r = get_region(env, argv[0]);
  double start = num(env, argv[1]), length = num(env, argv[2]);
  if (r == NULL || r->addr == NULL || r->closing) return ret_int(env, -EBADF);
  if (!in_bounds(r, start, length)) return ret_int(env, -ERANGE);
  view *v = calloc(1, sizeof *v);
  if (v == NULL) return ret_int(env, -ENOMEM);
  v->owner = r;
  v->state = VIEW_CREATING;
  napi_value ab;
  /* Sound: [addr+start, addr+start+length) is inside the live mapping
   * (in_bounds), and the ArrayBuffer is detached before that changes. */
  if (external_arraybuffer(env, r->addr + (size_t)start, (size_t)length, view_finalize, v, &ab) !=
      napi_ok) {
    free(v);
    return ab; /* null */
  }
  if (napi_create_reference(env, ab, 0, &v->ref) != napi_ok) {
    /* Without a reference the view could not be detached: never hand it out.
     * Its finalizer, whenever it runs, frees v and nothing else. */
    v->state = VIEW_ORPHAN;
    napi_detach_arraybuffer(env, ab);
    return ret_int(env, -ENOMEM);
  }
  v->state = VIEW_LIVE;
  v->next = r->views;
  if (r->views) r->views->prev = v;
  r->views = v;
  r->refs++;
  return ab;
}

/* unmap(handle) -> 0: detaches every view, unmaps, closes the owned fd.
 * If a thread-pool job is using the memory, the unmap happens when it ends. */
static napi_value js_unmap(napi_env env, napi_callback_info info) {
  GET_ARGS(1);
  region *r = get_region(env, argv[0]);
  if (r == NULL) return ret_int(env, -EBADF);
  region_detach_views(env, r);
  if (r->busy > 0) r->closing = 1;
  else region_release_memory(r);
  return ret_int(env, 0);
}

/* remap(handle, newLength, portable) -> 0 | -errno. Detaches every view
 * first; on failure the mapping is unchanged (on Windows it may have moved,
 * or, if it could not be mapped again, be gone: see mm_remap). */
static napi_value js_remap(napi_env env, napi_callback_info info) {
  GET_ARGS(3);
  region *r = get_region(env, argv[0]);
  double length = num(env, argv[1]);
  bool portable = false;
  napi_get_value_bool(env, argv[2], &portable);
  if (r == NULL || r->addr == NULL || r->closing) return ret_int(env, -EBADF);
  if (r->busy > 0) return ret_int(env, -EBUSY);
  if (!(length > 0) || length > (double)SIZE_MAX) return ret_int(env, -EINVAL);
  region_detach_views(env, r);
  void *addr = r->addr;
  /* Fault containment keeps off the mapping while it changes (guard.c). */
  if (r->guard != NULL) mm_guard_hold(r->guard);
  int rc = mm_remap(r->addr, r->length, (size_t)length, r->prot, r->flags, r->fd, r->offset,
                    portable, &addr);
  if (rc != 0 && addr == NULL) {
    r->addr = NULL; /* already unmapped */
    if (r->guard != NULL) mm_guard_unhold(r->guard);
    region_release_memory(r);
  } else {
    if (addr != r->addr || rc == 0) {
      r->addr = addr;
      if (rc == 0) r->length = (size_t)length;
      if (r->guard != NULL) mm_guard_move(r->guard, addr, r->length);
    }
    if (r->guard != NULL) mm_guard_unhold(r->guard);
  }
  return ret_int(env, rc);
}

/* Where the bytes lost to a shrinking file begin, given where the fault
 * handler's zero tail begins (-1 for none): that, or the file's end now,
 * whichever comes first (the file may have shrunk further since). */
static int64_t region_lost_from(const region *r, int64_t lost) {
  if (lost < 0) return -1;
  int64_t size = 0;
  int regular = 0;
  if (r->fd >= 0 && mm_fstat(r->fd, &size, &regular) == 0) {
    int64_t end = size - r->offset;
    if (end < 0) end = 0;
    if (end < lost) lost = end;
  }
  if ((uint64_t)lost > r->length) lost = (int64_t)r->length;
  return lost;
}

/* lostFrom(handle) -> the offset (from the map's start) where the bytes lost
 * to a shrinking file begin, or -1 when no page of this map was lost. */
static napi_value js_lost_from(napi_env env, napi_callback_info info) {
  GET_ARGS(1);
  region *r = get_region(env, argv[0]);
  if (r == NULL || r->guard == NULL) return ret_int(env, -1);
  return ret_int(env, region_lost_from(r, mm_guard_lost_from(r->guard)));
}

/* ---- fault containment: what a map lost (issue 11, items 2 and 3) ------ */

/* A Float64Array of at least 4 elements, or NULL. */
static double *loss_array(napi_env env, napi_value v) {
  napi_typedarray_type type;
  size_t len = 0;
  void *data = NULL;
  if (napi_get_typedarray_info(env, v, &type, &len, &data, NULL, NULL) != napi_ok ||
      type != napi_float64_array || len < 4)
    return NULL;
  return data;
}

/* Fills out = [lostFrom, ioErrno, ioStart, ioEnd] (-1, 0, 0, 0 for none; the
 * I/O range clipped to the map); `take` marks the I/O error reported. Puts
 * back a page set aside after an I/O error (guard.c). */
static void region_loss(region *r, int take, double *out) {
  mm_loss l = {-1, 0, 0, 0};
  if (r->guard != NULL) mm_guard_loss(r->guard, take, &l);
  out[0] = (double)region_lost_from(r, l.lost_from);
  out[1] = l.io_errno;
  out[2] = (double)((uint64_t)l.io_start < r->length ? l.io_start : (int64_t)r->length);
  out[3] = (double)((uint64_t)l.io_end < r->length ? l.io_end : (int64_t)r->length);
}

/* loss(handle, out: Float64Array(4), take) -> 0 | -errno; see region_loss. */
static napi_value js_loss(napi_env env, napi_callback_info info) {
  GET_ARGS(3);
  region *r = get_region(env, argv[0]);
  double *out = loss_array(env, argv[1]);
  bool take = false;
  napi_get_value_bool(env, argv[2], &take);
  if (out == NULL) return ret_int(env, -EINVAL);
  if (r == NULL || r->addr == NULL) return ret_int(env, -EBADF);
  region_loss(r, take, out);
  return ret_int(env, 0);
}

/* After a successful msync: an I/O error not yet reported is reported now, as
 * fsync reports a failed writeback: -ioErrno, out filled and the error taken. */
static int region_sync_result(region *r, int rc, double *out) {
  if (rc != 0 || out == NULL || r->guard == NULL) return rc;
  region_loss(r, 0, out);
  if (out[1] == 0) return 0;
  region_loss(r, 1, out);
  return -(int)out[1];
}

/* ensureFaultHandler() -> 1 when memmap's SIGSEGV/SIGBUS handlers had to be
 * put back on top (Node's process.on for those signals replaces them), else 0. */
static napi_value js_ensure_fault_handler(napi_env env, napi_callback_info info) {
  (void)info;
  return ret_int(env, mm_fault_ensure());
}

/* ---- end of fault containment ------------------------------------------ */

/* fd(handle) -> the descriptor the region owns, or -1 (none, or released). */
static napi_value js_fd(napi_env env, napi_callback_info info) {
  GET_ARGS(1);
  region *r = get_region(env, argv[0]);
  return ret_int(env, r == NULL || r->addr == NULL || r->closing ? -1 : r->fd);
}

/* busy(handle) -> how many thread-pool jobs are using the region's memory. */
static napi_value js_busy(napi_env env, napi_callback_info info) {
  GET_ARGS(1);
  region *r = get_region(env, argv[0]);
  return ret_int(env, r == NULL ? 0 : r->busy);
}

/* live(handle) -> 1 while the memory is mapped and not being closed, else 0
 * (after unmap, or after a Windows remap that could not map it again). */
static napi_value js_live(napi_env env, napi_callback_info info) {
  GET_ARGS(1);
  region *r = get_region(env, argv[0]);
  return ret_int(env, r != NULL && r->addr != NULL && !r->closing);
}

/* find(handle, start, end, needle, backward) -> the offset in the map of the
 * first (last) occurrence inside [start, end), -1 when absent, or -errno. */
static napi_value js_find(napi_env env, napi_callback_info info) {
  GET_ARGS(5);
  region *r = get_region(env, argv[0]);
  double start = num(env, argv[1]), end = num(env, argv[2]);
  if (r == NULL || r->addr == NULL || r->closing) return ret_int(env, -EBADF);
  if (!in_bounds(r, start, end - start)) return ret_int(env, -ERANGE);
  napi_typedarray_type type;
  size_t k = 0;
  void *needle = NULL;
  if (napi_get_typedarray_info(env, argv[3], &type, &k, &needle, NULL, NULL) != napi_ok || type != napi_uint8_array)
    return ret_int(env, -EINVAL);
  bool backward = false;
  napi_get_value_bool(env, argv[4], &backward);
  /* Sound: [start, end) is inside the live mapping (in_bounds). */
  const uint8_t *hay = r->addr + (size_t)start;
  size_t n = (size_t)(end - start);
  int64_t i = backward ? mm_rfind(hay, n, needle, k) : mm_find(hay, n, needle, k);
  region_mirror_faults(r);
  return ret_int(env, i < 0 ? -1 : (int64_t)start + i);
}

/* move(handle, dest, src, count) -> 0 | -errno: memmove inside the map, one call for any size. */
static napi_value js_move(napi_env env, napi_callback_info info) {
  GET_ARGS(4);
  region *r = get_region(env, argv[0]);
  double dest = num(env, argv[1]), src = num(env, argv[2]), count = num(env, argv[3]);
  if (r == NULL || r->addr == NULL || r->closing) return ret_int(env, -EBADF);
  if (!in_bounds(r, dest, count) || !in_bounds(r, src, count)) return ret_int(env, -ERANGE);
  /* Sound: both ranges are inside the live mapping (in_bounds); memmove allows overlap. */
  memmove(r->addr + (size_t)dest, r->addr + (size_t)src, (size_t)count);
  region_mirror_faults(r);
  return ret_int(env, 0);
}

/* ------------------------------------------------------------------------ */
/* Copies, for runtimes without external ArrayBuffers (src/ never calls these
 * where it can use a view). Each is one memcpy or one byte.                */

/* The bytes of a Uint8Array argument, or NULL. */
static uint8_t *bytes_of(napi_env env, napi_value v, size_t *length) {
  napi_typedarray_type type;
  void *data = NULL;
  if (napi_get_typedarray_info(env, v, &type, length, &data, NULL, NULL) != napi_ok || type != napi_uint8_array)
    return NULL;
  static uint8_t none; /* an empty array may have no data pointer: never read or written (length 0) */
  return *length == 0 ? &none : data;
}

/* bytes.length bytes between the map at `start` and a Uint8Array, into the
 * map or out of it. */
static napi_value copy_bytes(napi_env env, napi_callback_info info, int into_map) {
  GET_ARGS(3);
  region *r = get_region(env, argv[0]);
  double start = num(env, argv[1]);
  size_t n = 0;
  uint8_t *bytes = bytes_of(env, argv[2], &n);
  if (r == NULL || r->addr == NULL || r->closing) return ret_int(env, -EBADF);
  if (bytes == NULL) return ret_int(env, -EINVAL);
  if (into_map && !(r->prot & PROT_WRITE)) return ret_int(env, -EACCES);
  if (!in_bounds(r, start, (double)n)) return ret_int(env, -ERANGE);
  /* Sound: [start, start+n) is inside the live mapping, writable when into_map. */
  uint8_t *at = r->addr + (size_t)start;
  if (into_map) memmove(at, bytes, n);
  else memmove(bytes, at, n);
  region_mirror_faults(r);
  return ret_int(env, 0);
}

/* read(handle, start, dest: Uint8Array) -> 0 | -errno: dest.length bytes of the map from start. */
static napi_value js_read(napi_env env, napi_callback_info info) { return copy_bytes(env, info, 0); }

/* write(handle, start, src: Uint8Array) -> 0 | -errno: src into the map at start. */
static napi_value js_write(napi_env env, napi_callback_info info) { return copy_bytes(env, info, 1); }

/* getByte(handle, i) -> 0..255 | -errno */
static napi_value js_get_byte(napi_env env, napi_callback_info info) {
  GET_ARGS(2);
  region *r = get_region(env, argv[0]);
  double i = num(env, argv[1]);
  if (r == NULL || r->addr == NULL || r->closing) return ret_int(env, -EBADF);
  if (!in_bounds(r, i, 1)) return ret_int(env, -ERANGE);
  uint8_t byte = r->addr[(size_t)i];
  region_mirror_faults(r);
  return ret_int(env, byte);
}

/* setByte(handle, i, value) -> 0 | -errno */
static napi_value js_set_byte(napi_env env, napi_callback_info info) {
  GET_ARGS(3);
  region *r = get_region(env, argv[0]);
  double i = num(env, argv[1]);
  if (r == NULL || r->addr == NULL || r->closing) return ret_int(env, -EBADF);
  if (!(r->prot & PROT_WRITE)) return ret_int(env, -EACCES);
  if (!in_bounds(r, i, 1)) return ret_int(env, -ERANGE);
  r->addr[(size_t)i] = (uint8_t)i32(env, argv[2]);
  region_mirror_faults(r);
  return ret_int(env, 0);
}

/* mirrorFaults(counter: Uint32Array) -> 0 | -errno: for the copying mode,
 * where `faults` cannot exist; see env_state. */
static napi_value js_mirror_faults(napi_env env, napi_callback_info info) {
  GET_ARGS(1);
  env_state *st = NULL;
  napi_typedarray_type type;
  size_t len = 0;
  void *data = NULL;
  if (napi_get_instance_data(env, (void **)&st) != napi_ok || st == NULL ||
      napi_get_typedarray_info(env, argv[0], &type, &len, &data, NULL, NULL) != napi_ok ||
      type != napi_uint32_array || len < 1)
    return ret_int(env, -EINVAL);
  napi_ref ref;
  if (napi_create_reference(env, argv[0], 1, &ref) != napi_ok) return ret_int(env, -ENOMEM);
  if (st->fault_mirror_ref != NULL) napi_delete_reference(env, st->fault_mirror_ref);
  /* Sound: the strong reference keeps the array alive for the environment's
   * life, and the memory of an ArrayBuffer never moves (src/ never detaches it). */
  st->fault_mirror_ref = ref;
  st->fault_mirror = data;
  *st->fault_mirror = *mm_fault_counter();
  return ret_int(env, 0);
}

/* sync(handle, start, length, flags, out?: Float64Array(4)) -> 0 | -errno.
 * With `out`, an unreported I/O error of the map is reported after a
 * successful msync (region_sync_result): out[1] != 0 then. */
static napi_value js_sync(napi_env env, napi_callback_info info) {
  GET_ARGS(5);
  region *r = get_region(env, argv[0]);
  double start = num(env, argv[1]), length = num(env, argv[2]);
  double *out = argc > 4 ? loss_array(env, argv[4]) : NULL;
  if (r == NULL || r->addr == NULL || r->closing) return ret_int(env, -EBADF);
  if (!in_bounds(r, start, length)) return ret_int(env, -ERANGE);
  int rc = mm_sync(r->addr + (size_t)start, (size_t)length, i32(env, argv[3]));
  return ret_int(env, region_sync_result(r, rc, out));
}

/* advise(handle, start, length, advice) -> 0 | -errno */
static napi_value js_advise(napi_env env, napi_callback_info info) {
  GET_ARGS(4);
  region *r = get_region(env, argv[0]);
  double start = num(env, argv[1]), length = num(env, argv[2]);
  if (r == NULL || r->addr == NULL || r->closing) return ret_int(env, -EBADF);
  if (!in_bounds(r, start, length)) return ret_int(env, -ERANGE);
  return ret_int(env, mm_advise(r->addr + (size_t)start, (size_t)length, i32(env, argv[3])));
}

/* syncAsync(handle, start, length, flags) -> Promise<0 | -errno>; msync runs
 * on the thread pool. */
typedef struct {
  region *r;
  size_t start, length;
  int flags, result;
  napi_ref out; /* the Float64Array(4) of region_sync_result, or NULL */
  napi_deferred deferred;
  napi_async_work work;
} sync_job;

static void sync_execute(napi_env env, void *data) {
  (void)env;
  sync_job *j = data;
  /* Sound: busy > 0 keeps the range mapped until sync_complete. */
  j->result = mm_sync(j->r->addr + j->start, j->length, j->flags);
}

static void sync_complete(napi_env env, napi_status status, void *data) {
  sync_job *j = data;
  region *r = j->r;
  int rc = status == napi_ok ? j->result : -ECANCELED;
  if (j->out != NULL) {
    /* Before the region may be released below (close() during the msync). */
    napi_value arr;
    if (napi_get_reference_value(env, j->out, &arr) == napi_ok && arr != NULL)
      rc = region_sync_result(r, rc, loss_array(env, arr));
    napi_delete_reference(env, j->out);
  }
  napi_value result = ret_int(env, rc);
  napi_resolve_deferred(env, j->deferred, result);
  napi_delete_async_work(env, j->work);
  free(j);
  r->busy--;
  if (r->busy == 0 && r->closing) region_release_memory(r);
  region_maybe_free(env, r);
}

static napi_value js_sync_async(napi_env env, napi_callback_info info) {
  GET_ARGS(5);
  region *r = get_region(env, argv[0]);
  double start = num(env, argv[1]), length = num(env, argv[2]);
  napi_value promise;
  napi_deferred deferred;
  if (napi_create_promise(env, &deferred, &promise) != napi_ok) return NULL;
  int early = 0;
  sync_job *j = NULL;
  napi_value name;
  if (r == NULL || r->addr == NULL || r->closing) early = -EBADF;
  else if (!in_bounds(r, start, length)) early = -ERANGE;
  else if ((j = calloc(1, sizeof *j)) == NULL) early = -ENOMEM;
  if (early == 0) {
    j->r = r;
    j->start = (size_t)start;
    j->length = (size_t)length;
    j->flags = i32(env, argv[3]);
    j->deferred = deferred;
    if (argc > 4 && loss_array(env, argv[4]) != NULL) napi_create_reference(env, argv[4], 1, &j->out);
    napi_create_string_utf8(env, "memmap:msync", NAPI_AUTO_LENGTH, &name);
    if (napi_create_async_work(env, NULL, name, sync_execute, sync_complete, j, &j->work) !=
        napi_ok) {
      if (j->out != NULL) napi_delete_reference(env, j->out);
      free(j);
      early = -ENOMEM;
    } else if (napi_queue_async_work(env, j->work) != napi_ok) {
      napi_delete_async_work(env, j->work);
      if (j->out != NULL) napi_delete_reference(env, j->out);
      free(j);
      early = -ENOMEM;
    } else {
      r->busy++;
    }
  }
  if (early != 0) napi_resolve_deferred(env, deferred, ret_int(env, early));
  return promise;
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
  return obj;
}

/* ------------------------------------------------------------------------ */

static void state_finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  /* The environment is going away and no JavaScript runs in it any more:
   * release what is left; finalizers that still come only free the structs. */
  env_state *st = data;
  for (region *r = st->regions, *next; r != NULL; r = next) {
    next = r->next;
    if (r->busy == 0) region_release_memory(r);
    else region_unlink(r);
  }
  if (st->fault_mirror_ref != NULL) napi_delete_reference(env, st->fault_mirror_ref);
  free(st);
}

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
  const struct {
    const char *name;
    napi_callback fn;
  } fns[] = {
      {"fstat", js_fstat},   {"dup", js_dup},       {"close", js_close},
      {"truncate", js_truncate}, {"memfd", js_memfd}, {"map", js_map},
      {"view", js_view},     {"unmap", js_unmap},   {"remap", js_remap},
      {"sync", js_sync},     {"syncAsync", js_sync_async}, {"advise", js_advise},
      {"reclaim", js_reclaim}, {"lostFrom", js_lost_from}, {"find", js_find},
      {"move", js_move},     {"read", js_read},     {"write", js_write},
      {"getByte", js_get_byte}, {"setByte", js_set_byte}, {"mirrorFaults", js_mirror_faults},
      {"fd", js_fd},         {"busy", js_busy},     {"live", js_live},
      {"loss", js_loss},     {"ensureFaultHandler", js_ensure_fault_handler},
  };
  const char *no_external = getenv("MEMMAP_NO_EXTERNAL_BUFFERS");
  forbid_external = no_external != NULL && no_external[0] == '1';
  /* MEMMAP_NO_FAULT_HANDLER=1 leaves SIGSEGV/SIGBUS alone (for debuggers). */
  const char *no_handler = getenv("MEMMAP_NO_FAULT_HANDLER");
  if (no_handler == NULL || no_handler[0] != '1') mm_fault_install();
  env_state *st = calloc(1, sizeof *st);
  if (st == NULL || napi_set_instance_data(env, st, state_finalize, NULL) != napi_ok) return NULL;
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value f;
    napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &f);
    napi_set_named_property(env, exports, fns[i].name, f);
  }
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
