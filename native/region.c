/*
 * region.c: the lifetime of mappings ("regions") and of the ArrayBuffers over
 * them ("views"); the invariants are written at struct region (region.h).
 *
 * Handles are externals tagged with this copy of the addon's type tag: a
 * value without it (a plain object, a number, another module's external, a
 * handle of another copy of memmap loaded from another path) is never read
 * as a region.
 */
#include "glue.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Handles                                                                  */

/* The type tag of this loaded copy of the addon: a fixed random upper half,
 * and a lower half that mixes in the address of a static object of this copy,
 * so that two copies of memmap in one process (two installs, two paths)
 * never accept each other's handles, whose struct layout may differ. */
static napi_type_tag region_tag(void) {
  static const char anchor = 0;
  napi_type_tag tag = {0x8e3f5a1c6b27d94aULL ^ (uint64_t)(uintptr_t)&anchor, 0x4d2c9b7e05f3a618ULL};
  return tag;
}

region *region_get(napi_env env, napi_value handle) {
  void *data = NULL;
  /* Node-API: napi_invalid_arg for a value that is not an external, which is
   * all the type check needed before the tag (and cheaper than napi_typeof). */
  if (napi_get_value_external(env, handle, &data) != napi_ok || data == NULL) return NULL;
  env_state *st = region_env(env);
  /* The tag check costs more than the rest of a one-byte call (a V8 TryCatch
   * in Node-API), so the last region that passed it is remembered. Sound
   * without the check: st->checked is only ever a region on st's list, whose
   * struct is not freed while it is there (region_unlink forgets it first), so
   * `data` is the address of a live region whoever made the external. */
  if (st != NULL && data == st->checked) return data;
  napi_type_tag tag = region_tag();
  bool ours = false;
  if (napi_check_object_type_tag(env, handle, &tag, &ours) != napi_ok || !ours) return NULL;
  /* Sound: only region_adopt tags an external with this tag, and its data is
   * a region that lives at least as long as the handle (refs). */
  region *r = data;
  if (st != NULL && r->state == st) st->checked = r;
  return r;
}

region *region_live(napi_env env, napi_value handle, int *err) {
  region *r = region_get(env, handle);
  if (r == NULL || r->addr == NULL || r->closing) {
    *err = -EBADF;
    return NULL;
  }
  return r;
}

uint8_t *region_range(napi_env env, napi_value handle, double start, double length, region **out,
                      int *err) {
  region *r = region_live(env, handle, err);
  *out = r;
  if (r == NULL) return NULL;
  /* Written so that NaN fails every comparison and is refused. */
  if (!(start >= 0 && length >= 0 && start + length <= (double)r->length)) {
    *err = -ERANGE;
    return NULL;
  }
  /* Sound: 0 <= start <= start + length <= length of the live mapping, so
   * [addr+start, addr+start+length) is mapped (region.h). src/ passes
   * integers below 2^53, which doubles hold exactly; were a fraction passed,
   * the (size_t) casts here and in the callers truncate both numbers, and
   * trunc(start) + trunc(length) <= start + length keeps the range inside. */
  return r->addr + (size_t)start;
}

/* ------------------------------------------------------------------------ */
/* Release and free                                                         */

env_state *region_env(napi_env env) {
  env_state *st = NULL;
  napi_get_instance_data(env, (void **)&st);
  return st;
}

/* Takes r off its environment's list (the regions that still hold memory). */
static void region_unlink(region *r) {
  if (r->state == NULL) return;
  if (r->state->checked == r) r->state->checked = NULL;
  if (r->prev) r->prev->next = r->next; else r->state->regions = r->next;
  if (r->next) r->next->prev = r->prev;
  r->prev = r->next = NULL;
  r->state = NULL;
}

int region_fd(region *r) {
  uint64_t dev, ino;
  if (r->fd < 0) return -1;
  if (mm_file_id(r->fd, &dev, &ino) != 0 || dev != r->dev || ino != r->ino) return -EBADF;
  return r->fd;
}

/* A range a region let go of while holders that cannot be detached may
 * still read it (region.h: holds): reserved until the last one is gone. */
typedef struct reserved {
  uint8_t *addr;
  size_t length;
  struct reserved *next;
} reserved;

/* Lets go of [addr, addr+length), mapped for r until now: unmapped, or while
 * holds > 0 reserved (reading zeros, its addresses kept from every other
 * mapping) and listed on r->reserved. Where it cannot be reserved, the
 * mapping itself stays until then; out of memory for the list entry, it
 * stays taken for good: never freed early. */
static void region_let_go(region *r, uint8_t *addr, size_t length) {
  if (r->holds == 0) {
    mm_unmap(addr, length);
    return;
  }
  mm_reserve(addr, length);
  reserved *k = malloc(sizeof *k);
  if (k == NULL) return;
  k->addr = addr;
  k->length = length;
  k->next = r->reserved;
  r->reserved = k;
}

/* Unmaps, stops guarding, closes the descriptor: once, whoever comes first. */
static void region_release_memory(region *r) {
  region_unlink(r);
  /* The guard first: its removal waits for a fault handler at work on the
   * mapping, which must not map anything into the range once it is free. */
  if (r->guard != NULL) {
    mm_guard_remove(r->guard);
    r->guard = NULL;
  }
  if (r->addr != NULL) {
    region_let_go(r, r->addr, r->length);
    r->addr = NULL;
  }
  if (region_fd(r) >= 0) mm_close(r->fd);
  r->fd = -1;
}

/* env is NULL from region_unhold (no Node-API call there); refs == 0 means
 * the handle's finalizer has run, and deleted the weak reference already. */
static void region_maybe_free(napi_env env, region *r) {
  if (r->refs == 0 && r->busy == 0) {
    region_release_memory(r);
    if (r->self && env != NULL) napi_delete_reference(env, r->self);
    free(r);
  }
}

static void handle_finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  region *r = data;
  /* The weak reference has nothing left to tell: delete it here, on the
   * JavaScript thread, rather than when the struct is freed, which a holder's
   * finalizer may do inside a garbage collection (region_unhold). */
  if (r->self != NULL) {
    napi_delete_reference(env, r->self);
    r->self = NULL;
  }
  r->handle_gone = 1;
  r->refs--;
  region_maybe_free(env, r);
}

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

int region_env_init(napi_env env) {
  env_state *st = calloc(1, sizeof *st);
  if (st == NULL) return -1;
  if (napi_set_instance_data(env, st, state_finalize, NULL) != napi_ok) {
    free(st);
    return -1;
  }
  return 0;
}

/* ------------------------------------------------------------------------ */
/* Creation                                                                 */

napi_value region_adopt(napi_env env, const region *want, int guard, int *err) {
  region *r = calloc(1, sizeof *r);
  if (r == NULL) {
    mm_unmap(want->addr, want->length);
    *err = -ENOMEM;
    return NULL;
  }
  r->addr = want->addr;
  r->length = want->length;
  r->prot = want->prot;
  r->flags = want->flags;
  r->offset = want->offset;
  r->fd = -1; /* owned only once the handle exists: on failure the caller keeps it */
  napi_value handle;
  napi_type_tag tag = region_tag();
  *err = -ENOMEM;
  /* Fault containment: the guard knows the descriptor (to tell a truncation
   * from an I/O error) and how the file was mapped (to map a page again);
   * memmap's handlers go back on top if something replaced them. */
  if (guard != 0) mm_fault_ensure();
  if (guard != 0 &&
      (r->guard = mm_guard_add(r->addr, r->length, guard, want->fd, r->offset, r->prot, r->flags)) == NULL) {
    region_release_memory(r);
    free(r);
    return NULL;
  }
  if (napi_create_external(env, r, handle_finalize, NULL, &handle) != napi_ok) {
    region_release_memory(r);
    free(r);
    return NULL;
  }
  r->refs = 1; /* the handle's: from here on its finalizer frees r */
  if (napi_type_tag_object(env, handle, &tag) != napi_ok) {
    /* An untagged handle would be refused by every call: give the memory back
     * now, and leave the empty struct to the handle's finalizer. */
    region_release_memory(r);
    return NULL;
  }
  r->fd = want->fd;
  if (r->fd >= 0 && mm_file_id(r->fd, &r->dev, &r->ino) != 0) r->dev = r->ino = UINT64_MAX;
  r->state = region_env(env);
  napi_create_reference(env, handle, 0, &r->self);
  r->next = r->state->regions;
  if (r->next) r->next->prev = r;
  r->state->regions = r;
  *err = 0;
  return handle;
}

/* ------------------------------------------------------------------------ */
/* Views                                                                    */

enum { VIEW_CREATING, VIEW_LIVE, VIEW_ORPHAN };

/* One ArrayBuffer over a region. While VIEW_LIVE it is on owner->views and
 * holds one of owner->refs. */
struct view {
  region *owner;
  int state; /* VIEW_CREATING until region_view has linked it into owner->views */
  napi_ref ref; /* weak: does not keep the ArrayBuffer alive */
  view *prev, *next;
};

/* Set once at load (region_forbid_external); see region.h. */
static int forbid_external = 0;

void region_forbid_external(void) { forbid_external = 1; }

napi_status external_arraybuffer(napi_env env, void *data, size_t length, napi_finalize fin, void *hint,
                                 napi_value *out) {
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

static void view_finalize(napi_env env, void *data, void *hint) {
  (void)data;
  view *v = hint;
  region *r = v->owner;
  /* Some runtimes call the finalizer synchronously when creating the
   * ArrayBuffer fails; region_view then still owns v and frees it. */
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

napi_value region_view(napi_env env, region *r, uint8_t *at, size_t length) {
  view *v = calloc(1, sizeof *v);
  if (v == NULL) return ret_int(env, -ENOMEM);
  v->owner = r;
  v->state = VIEW_CREATING;
  napi_value ab;
  /* Sound: [at, at+length) is inside the live mapping (region_range), and the
   * ArrayBuffer is on r->views, detached before that memory changes. */
  if (external_arraybuffer(env, at, length, view_finalize, v, &ab) != napi_ok) {
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

/* ------------------------------------------------------------------------ */
/* Holders that are not views                                               */

void region_hold(region *r) {
  r->refs++;
  r->holds++;
}

void region_unhold(region *r) {
  if (--r->holds == 0) {
    for (reserved *k = r->reserved, *next; k != NULL; k = next) {
      next = k->next;
      mm_unmap(k->addr, k->length);
      free(k);
    }
    r->reserved = NULL;
  }
  r->refs--;
  region_maybe_free(NULL, r);
}

/* ------------------------------------------------------------------------ */
/* Resize, close, jobs                                                      */

/* mm_remap while holds > 0: what the mapping leaves is let go of
 * (region_let_go), never unmapped. Shrinking lets go of the tail's pages in
 * place; growing maps the new size elsewhere first (a failure changes
 * nothing), copies a private mapping's pages (a shared one sees the same
 * pages), then lets go of the old range. Only where mm_has_reserve (text.c
 * makes no holder elsewhere), so the Windows rules of mm_remap never apply. */
static int remap_keeping(region *r, size_t length, int fd, void **out) {
  size_t page = (size_t)mm_pagesize();
  size_t old_span = (r->length + page - 1) / page * page, new_span = (length + page - 1) / page * page;
  if (new_span <= old_span) {
    if (new_span < old_span) region_let_go(r, r->addr + new_span, old_span - new_span);
    *out = r->addr;
    return 0;
  }
  if (fd < 0 && !(r->flags & MAP_PRIVATE)) return -EINVAL; /* shared anonymous memory cannot grow */
  void *fresh = NULL;
  int rc = mm_map(length, r->prot, r->flags, fd, r->offset, NULL, &fresh);
  if (rc != 0) return rc;
  /* Sound: the old span is mapped and readable, the new mapping is at least
   * as long; whole pages, as mremap keeps them (see posix.c). */
  if (r->flags & MAP_PRIVATE) memcpy(fresh, r->addr, old_span);
  region_let_go(r, r->addr, r->length);
  *out = fresh;
  return 0;
}

int region_remap(napi_env env, region *r, double length, int portable) {
  if (r->busy > 0) return -EBUSY;
  if (!(length > 0) || length > (double)SIZE_MAX) return -EINVAL;
  int fd = region_fd(r);
  if (fd == -EBADF) return -EBADF; /* the file is not the map's any more: change nothing */
  region_detach_views(env, r);
  void *addr = r->addr;
  /* Fault containment keeps off the mapping while it changes (guard.c). */
  if (r->guard != NULL) mm_guard_hold(r->guard);
  int rc = r->holds > 0 ? remap_keeping(r, (size_t)length, fd, &addr)
                        : mm_remap(r->addr, r->length, (size_t)length, r->prot, r->flags, fd, r->offset, portable,
                                   &addr);
  if (rc == 0 || (addr != NULL && addr != r->addr)) {
    r->addr = addr;
    if (rc == 0) r->length = (size_t)length;
    if (r->guard != NULL) mm_guard_move(r->guard, addr, r->length);
  }
  if (r->guard != NULL) mm_guard_unhold(r->guard);
  if (rc != 0 && addr == NULL) {
    r->addr = NULL; /* already unmapped (Windows, see mm_remap) */
    region_release_memory(r);
  }
  return rc;
}

void region_unmap(napi_env env, region *r) {
  region_detach_views(env, r);
  if (r->busy > 0) r->closing = 1;
  else region_release_memory(r);
}

void region_busy(region *r) { r->busy++; }

void region_idle(napi_env env, region *r) {
  r->busy--;
  if (r->busy == 0 && r->closing) region_release_memory(r);
  region_maybe_free(env, r);
}

/* ------------------------------------------------------------------------ */
/* Reclaiming                                                               */

/* True when the JavaScript handle and every view of r have been collected. */
static int region_unreachable(napi_env env, region *r) {
  napi_value v;
  if (!r->handle_gone && (r->self == NULL || napi_get_reference_value(env, r->self, &v) != napi_ok || v != NULL))
    return 0;
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
  env_state *st = region_env(env);
  int64_t live = 0;
  for (region *r = st ? st->regions : NULL, *next; r != NULL; r = next) {
    next = r->next;
    if (r->busy == 0 && region_unreachable(env, r)) region_release_memory(r);
    else live++;
  }
  return ret_int(env, live);
}

void mm_register_region(napi_env env, napi_value exports) {
  static const glue_fn fns[] = {{"reclaim", js_reclaim}};
  GLUE_EXPORT(env, exports, fns);
}
