/*
 * reclaim.c: the reclaiming policy's process-wide state (src/reclaim.ts
 * decides when to reclaim; region.c's reclaim() walks one environment's
 * regions and reports here what it found still held).
 *
 * Descriptors and mappings are the process's, while a thread can collect
 * only its own garbage. Four counters, read from JavaScript in place (the
 * `held` export, a Uint32Array over them) or through reclaimDue()/
 * reclaimState() where the runtime refuses external buffers:
 *   [HELD]  regions of every environment on their environment's list (that
 *           still hold memory or a descriptor): +1 when a region adopts a
 *           mapping, -1 when it leaves its list (region.c);
 *   [EPOCH] bumped by a reclaim that [HELD] reaching [AT] started, after
 *           which every thread that maps reclaims its own once;
 *   [AT]    the count that starts one (0: not set yet): twice [LIVE], set by
 *           each reclaim, never below the caller's base;
 *   [LIVE]  the sum of what each environment's last reclaim found still
 *           held (env_state.published): what the process holds that is not
 *           garbage, as far as anyone knows. Garbage of other threads never
 *           raises the threshold: it would rise past the descriptor limit.
 * Every update is one atomic operation on one counter; readers may see the
 * four at different moments, which only moves a round earlier or later.
 */
#include "glue.h"

#include <errno.h>
#include <stdatomic.h>

enum { HELD, EPOCH, AT, LIVE };
static _Atomic uint32_t reclaim_shared[4];

void reclaim_count_held(int delta) {
  if (delta > 0) atomic_fetch_add(&reclaim_shared[HELD], (uint32_t)delta);
  else atomic_fetch_sub(&reclaim_shared[HELD], (uint32_t)-delta);
}

void reclaim_publish(env_state *st, int64_t live, bool round, double base) {
  if (round) atomic_fetch_add(&reclaim_shared[EPOCH], 1);
  uint32_t sum = 0;
  if (st != NULL) {
    uint32_t now = live > UINT32_MAX / 4 ? UINT32_MAX / 4 : (uint32_t)live;
    sum = atomic_fetch_add(&reclaim_shared[LIVE], now - st->published) + (now - st->published);
    st->published = now;
  }
  double at = 2.0 * sum;
  if (at < base) at = base;
  atomic_store(&reclaim_shared[AT], at > (double)UINT32_MAX ? UINT32_MAX : (uint32_t)at);
}

void reclaim_unpublish(env_state *st) {
  atomic_fetch_sub(&reclaim_shared[LIVE], st->published);
  st->published = 0;
}

/* reclaimDue(epoch, base, floor) -> 0, or 1 when the shared epoch is no
 * longer `epoch` (another thread started a round), or 2 when the process's
 * count reached the threshold (or `base` while none is set) and `floor`:
 * `held` read through a call, where the runtime refuses external buffers. */
static napi_value js_reclaim_due(napi_env env, napi_callback_info info) {
  GET_ARGS(3);
  uint32_t at = atomic_load(&reclaim_shared[AT]);
  double base = num(env, argv[1]), held = (double)atomic_load(&reclaim_shared[HELD]);
  if (held >= (at > base ? (double)at : base) && held >= num(env, argv[2])) return ret_int(env, 2);
  return ret_int(env, (double)atomic_load(&reclaim_shared[EPOCH]) != num(env, argv[0]));
}

/* reclaimState(out: Float64Array) -> 0: out[0] the process's count, out[1]
 * the epoch, where `held` is null; -EINVAL for a bad `out`. */
static napi_value js_reclaim_state(napi_env env, napi_callback_info info) {
  GET_ARGS(1);
  size_t n = 0;
  double *out = float64s_of(env, argv[0], 2, &n);
  if (out == NULL) return ret_int(env, -EINVAL);
  out[0] = (double)atomic_load(&reclaim_shared[HELD]);
  out[1] = (double)atomic_load(&reclaim_shared[EPOCH]);
  return ret_int(env, 0);
}

void mm_register_reclaim(napi_env env, napi_value exports) {
  static const glue_fn fns[] = {{"reclaimDue", js_reclaim_due}, {"reclaimState", js_reclaim_state}};
  GLUE_EXPORT(env, exports, fns);
  /* The counters read in place (static memory: no finalizer), or null where
   * the runtime refuses external buffers. */
  napi_value held;
  external_arraybuffer(env, (void *)reclaim_shared, sizeof reclaim_shared, NULL, NULL, &held);
  napi_set_named_property(env, exports, "held", held);
}
