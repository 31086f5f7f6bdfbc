/*
 * copy.c: the copying mode, for runtimes that refuse external ArrayBuffers
 * (Electron's V8 sandbox, or MEMMAP_NO_EXTERNAL_BUFFERS=1): no view of the
 * map can exist there, so src/ copies through these functions instead. With
 * views, src/ calls them for the first accesses to a large map, before it
 * makes the map's view, and for copies of 64 KiB or more, which mm_copy makes
 * faster than the engine's memmove where the addresses are unlucky
 * (src/memory/views.ts). Each call is one copy (mm_copy, a memmove) or one
 * byte, and copies the fault counter where JavaScript reads it (`faults`
 * cannot exist without an external ArrayBuffer).
 */
#include "glue.h"

#include <errno.h>
#include <string.h>

void mirror_faults(const region *r) {
  if (r->state != NULL && r->state->fault_mirror != NULL) *r->state->fault_mirror = *mm_fault_counter();
}

/* bytes.length bytes between the map at `start` and a Uint8Array, into the
 * map or out of it. */
static napi_value copy_bytes(napi_env env, napi_callback_info info, int into_map) {
  GET_ARGS(3);
  size_t n = 0;
  region *r;
  int err;
  uint8_t *bytes = bytes_of(env, argv[2], &n);
  uint8_t *at = region_range(env, argv[0], num(env, argv[1]), (double)n, &r, &err);
  /* Refused in this order: not a live map, not bytes, read-only, out of range. */
  if (r == NULL) return ret_int(env, err);
  if (bytes == NULL) return ret_int(env, -EINVAL);
  if (into_map && !(r->prot & PROT_WRITE)) return ret_int(env, -EACCES);
  if (at == NULL) return ret_int(env, err);
  /* Sound: [at, at+n) is inside the live mapping (region_range), and
   * writable when into_map; bytes holds n bytes. The two may overlap (bytes
   * a view of the same map): mm_copy is a memmove. */
  if (into_map) mm_copy(at, bytes, n);
  else mm_copy(bytes, at, n);
  mirror_faults(r);
  return ret_int(env, 0);
}

/* read(handle, start, dest: Uint8Array) -> 0 | -errno: dest.length bytes of the map from start. */
static napi_value js_read(napi_env env, napi_callback_info info) { return copy_bytes(env, info, 0); }

/* write(handle, start, src: Uint8Array) -> 0 | -errno: src into the map at start. */
static napi_value js_write(napi_env env, napi_callback_info info) { return copy_bytes(env, info, 1); }

/* The byte at `index` of the map, read or written. */
static napi_value access_byte(napi_env env, napi_callback_info info, int set) {
  GET_ARGS(3);
  region *r;
  int err;
  uint8_t *at = region_range(env, argv[0], num(env, argv[1]), 1, &r, &err);
  /* Refused in this order: not a live map, read-only (set), out of range. */
  if (r == NULL) return ret_int(env, err);
  if (set && !(r->prot & PROT_WRITE)) return ret_int(env, -EACCES);
  if (at == NULL) return ret_int(env, err);
  /* Sound: [at, at+1) is inside the live mapping, writable when set. */
  int64_t result = 0;
  if (set) *at = (uint8_t)i32(env, argv[2]);
  else result = *at;
  mirror_faults(r);
  return ret_int(env, result);
}

/* getByte(handle, index) -> 0..255 | -errno */
static napi_value js_get_byte(napi_env env, napi_callback_info info) { return access_byte(env, info, 0); }

/* setByte(handle, index, value) -> 0 | -errno */
static napi_value js_set_byte(napi_env env, napi_callback_info info) { return access_byte(env, info, 1); }

/* mirrorFaults(counter: Uint32Array) -> 0 | -errno: from now on every call
 * that touches mapped memory copies the fault counter into counter[0]. */
static napi_value js_mirror_faults(napi_env env, napi_callback_info info) {
  GET_ARGS(1);
  env_state *st = region_env(env);
  napi_typedarray_type type;
  size_t len = 0;
  void *data = NULL;
  if (st == NULL || napi_get_typedarray_info(env, argv[0], &type, &len, &data, NULL, NULL) != napi_ok ||
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

void mm_register_copy(napi_env env, napi_value exports) {
  static const glue_fn fns[] = {
      {"read", js_read},       {"write", js_write}, {"getByte", js_get_byte}, {"setByte", js_set_byte},
      {"mirrorFaults", js_mirror_faults},
  };
  GLUE_EXPORT(env, exports, fns);
}
