/*
 * loss.c: what fault containment (guard.c) tells JavaScript about a map: the
 * bytes lost to a file that shrank, an I/O error that struck the map (a full
 * disk under a sparse file, EIO), reported by the methods that touch it and,
 * sticky until reported, by the next flush, as fsync reports a failed
 * writeback. Also the call that puts memmap's fault handlers back on top.
 */
#include "glue.h"

#include <errno.h>

/* Where the bytes lost to a shrinking file begin, given where the fault
 * handler's zero tail begins (-1 for none): that, or the file's end now,
 * whichever comes first (the file may have shrunk further since). */
static int64_t region_lost_from(region *r, int64_t lost) {
  if (lost < 0) return -1;
  int64_t size = 0;
  if (region_fd_size(r, &size) >= 0) { /* the identity check and the size: one fstat */
    int64_t end = size - r->offset;
    if (end < 0) end = 0;
    if (end < lost) lost = end;
  }
  if ((uint64_t)lost > r->length) lost = (int64_t)r->length;
  return lost;
}

/* A Float64Array (or its ArrayBuffer) of at least 4 elements, or NULL. */
static double *loss_array(napi_env env, napi_value v) {
  size_t len = 0;
  return float64s_of(env, v, 4, &len);
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

int64_t loss_after_sync(napi_env env, region *r, int64_t rc, napi_value out) {
  double *o = loss_array(env, out);
  if (rc != 0 || o == NULL || r->guard == NULL) return rc;
  region_loss(r, 0, o);
  if (o[1] == 0) return 0;
  region_loss(r, 1, o);
  return -(int64_t)o[1];
}

/* loss(handle, out: Float64Array(4), take) -> 0 | -errno; see region_loss. */
static napi_value js_loss(napi_env env, napi_callback_info info) {
  GET_ARGS(3);
  int err;
  region *r = region_live(env, argv[0], &err);
  double *out = loss_array(env, argv[1]);
  bool take = false;
  napi_get_value_bool(env, argv[2], &take);
  if (out == NULL) return ret_int(env, -EINVAL);
  if (r == NULL) return ret_int(env, err);
  region_loss(r, take, out);
  return ret_int(env, 0);
}

/* ensureFaultHandler(sigbus?, listening?, record? 0 | 1 | 2) -> 1 when memmap's
 * SIGSEGV/SIGBUS handlers had to be put back on top (Node's process.on for
 * those signals replaces them), else 0; with the three arguments, then tells
 * containment whether JavaScript listens for that signal (mm_fault_listening). */
static napi_value js_ensure_fault_handler(napi_env env, napi_callback_info info) {
  GET_ARGS(3);
  int rc = mm_fault_ensure(0);
  bool sigbus = false, now = false;
  int32_t record = 0;
  if (argc >= 3 && napi_get_value_bool(env, argv[0], &sigbus) == napi_ok &&
      napi_get_value_bool(env, argv[1], &now) == napi_ok && napi_get_value_int32(env, argv[2], &record) == napi_ok)
    /* record 1: Node's is the handler memmap is on top of now, if Node installed one: whether
     * this call put memmap back on top or another thread's new map already had (fault.c). */
    mm_fault_listening(sigbus, now, record == 1 || record == 2 ? record : 0);
  return ret_int(env, rc);
}

void mm_register_loss(napi_env env, napi_value exports) {
  static const glue_fn fns[] = {{"loss", js_loss}, {"ensureFaultHandler", js_ensure_fault_handler}};
  GLUE_EXPORT(env, exports, fns);
}
