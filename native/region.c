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
#include <stdatomic.h>
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
/* Environments, their lists, a region's descriptor                         */

env_state *region_env(napi_env env) {
  env_state *st = NULL;
  napi_get_instance_data(env, (void **)&st);
  return st;
}

/* Takes r off its environment's list (the regions that still hold memory). */
static void region_unlink(region *r) {
  if (r->state == NULL) return;
  reclaim_count_held(-1);
  if (r->state->checked == r) r->state->checked = NULL;
  if (r->prev) r->prev->next = r->next; else r->state->regions = r->next;
  if (r->next) r->next->prev = r->prev;
  r->prev = r->next = NULL;
  r->state = NULL;
}

int region_fd_size(region *r, int64_t *size) {
  uint64_t dev, ino;
  if (r->fd < 0) return -1;
  if (mm_file_id(r->fd, &dev, &ino, size) != 0 || dev != r->dev || ino != r->ino) return -EBADF;
  return r->fd;
}

int region_fd(region *r) { return region_fd_size(r, NULL); }

/* ------------------------------------------------------------------------ */
/* Holds and retired ranges (the address rule, region.h)                    */

/* A range the mapping left (close, reclaim, a move, a shrink) that holds may
 * still use: a placeholder until the last of them goes. */
struct piece {
  uint8_t *addr;
  size_t length;   /* whole pages */
  uint32_t holds;  /* holds that overlapped it when it was retired, not yet dropped */
  piece *next;
};

/* The whole pages of a mapping of `length` bytes. */
static size_t page_span(size_t length) {
  size_t page = (size_t)mm_pagesize();
  return (length + page - 1) / page * page;
}

static int overlaps(const region_holder *h, const uint8_t *addr, size_t length) {
  return h->start < (uintptr_t)addr + length && (uintptr_t)addr < h->end;
}

void region_hold(region *r, region_holder *h, const uint8_t *at, size_t length) {
  h->owner = r;
  h->start = (uintptr_t)at;
  h->end = (uintptr_t)at + length;
  h->prev = NULL;
  h->next = r->holds;
  if (r->holds) r->holds->prev = h;
  r->holds = h;
  r->refs++;
}

/* Retires [addr, addr+length) (whole pages), which the mapping no longer
 * has: unmapped when no hold overlaps it, else a placeholder until the last
 * of those holds goes. */
static void region_retire(region *r, uint8_t *addr, size_t length) {
  uint32_t n = 0;
  for (region_holder *h = r->holds; h != NULL; h = h->next) n += (uint32_t)overlaps(h, addr, length);
  if (n == 0) {
    mm_unmap(addr, length);
    return;
  }
  /* Where no placeholder can be put (no memory left for the kernel's
   * bookkeeping), the old mapping stays as it is: a holder may then still
   * reach the file, but never unmapped memory or another mapping. */
  mm_placeholder(addr, length);
  piece *p = malloc(sizeof *p);
  if (p == NULL) return; /* cannot be remembered: reserved for the life of the process */
  *p = (piece){addr, length, n, r->pieces};
  r->pieces = p;
}

static void region_maybe_free(napi_env env, region *r);

void region_unhold(napi_env env, region_holder *h) {
  region *r = h->owner;
  if (h->prev) h->prev->next = h->next; else r->holds = h->next;
  if (h->next) h->next->prev = h->prev;
  for (piece **pp = &r->pieces; *pp != NULL;) {
    piece *p = *pp;
    if (overlaps(h, p->addr, p->length) && --p->holds == 0) {
      if (!r->forever) mm_unmap(p->addr, p->length); /* else a placeholder for good (env_ending) */
      *pp = p->next;
      free(p);
    } else {
      pp = &p->next;
    }
  }
  if (r->addr == NULL && r->pieces == NULL) region_unlink(r);
  r->refs--;
  region_maybe_free(env, r);
}

/* ------------------------------------------------------------------------ */
/* Release and free                                                         */

/* Lets go of the file: its mapping's range retired (with `all`, unmapped
 * whatever holds it, and every piece too: the environment is going away and
 * no JavaScript, and no request of Node's thread pool, runs in it any more),
 * fault containment stopped, the descriptor closed. Once, whoever comes first. */
static void region_release_file(region *r, int all) {
  /* Fault handlers keep off the range while it changes (one at work on it
   * finishes first), and never map anything into it once it is retired. */
  if (r->guard != NULL) mm_guard_hold(r->guard);
  if (r->addr != NULL) {
    /* The headroom: nothing can hold any of it (no view reaches past the map). */
    if (r->room > 0) mm_unmap(r->addr + page_span(r->length), r->room);
    r->room = 0;
    /* A range that may be used from another thread after this environment
     * ended (env_ending) becomes zeros for good: nothing tells when it goes. */
    if (r->forever) mm_placeholder(r->addr, page_span(r->length));
    else if (all) mm_unmap(r->addr, page_span(r->length));
    else region_retire(r, r->addr, page_span(r->length));
    r->addr = NULL;
  }
  if (r->guard != NULL) {
    mm_guard_remove(r->guard);
    mm_guard_unhold(r->guard);
    r->guard = NULL;
  }
  /* Closed only while it still names the map's file (region_fd). */
  if (region_fd(r) >= 0) mm_close(r->fd);
  r->fd = -1;
  while (all && r->pieces != NULL) {
    piece *p = r->pieces;
    r->pieces = p->next;
    if (!r->forever) mm_unmap(p->addr, p->length);
    free(p);
  }
  if (r->pieces == NULL) region_unlink(r);
}

/* Closes the descriptor of a region whose JavaScript handle is gone while
 * views of it live on: only the map's methods use it (size, resize, flush's
 * file), and nobody can call them any more; the mapping stays for the views.
 * A neglected map whose views are kept then holds no descriptor. */
static void region_forget_fd(region *r) {
  if (r->fd < 0 || r->busy > 0) return;
  if (r->guard != NULL) mm_guard_forget_fd(r->guard);
  if (region_fd(r) >= 0) mm_close(r->fd);
  r->fd = -1;
}

/* Makes no Node-API call: env is NULL when a holder's finalizer runs inside
 * a garbage collection or after the environment ended (text.c). refs == 0
 * means the handle's finalizer has run and deleted the weak reference. */
static void region_maybe_free(napi_env env, region *r) {
  (void)env;
  if (r->refs == 0 && r->busy == 0) {
    region_release_file(r, 0); /* no hold is left: nothing is kept */
    free(r);
  }
}

static void handle_finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  region *r = data;
  /* The weak reference has nothing left to tell: deleted here, on the
   * JavaScript thread, rather than when the struct is freed, which a
   * holder's finalizer may do where no Node-API call is allowed. */
  if (r->self != NULL) {
    napi_delete_reference(env, r->self);
    r->self = NULL;
  }
  r->handle_gone = 1;
  region_forget_fd(r);
  r->refs--;
  region_maybe_free(env, r);
}

void region_fd_made(napi_env env, int fd) {
  env_state *st = region_env(env);
  if (fd < 0 || st == NULL || st->npending == (int)(sizeof st->pending / sizeof st->pending[0])) return;
  st->pending[st->npending++] = fd;
}

void region_fd_taken(env_state *st, int fd) {
  if (st == NULL || fd < 0) return;
  for (int i = 0; i < st->npending; i++) {
    if (st->pending[i] == fd) {
      st->pending[i] = st->pending[--st->npending];
      return;
    }
  }
}

static void region_orphan_views(napi_env env, region *r);
static void region_maybe_free(napi_env env, region *r);

static void state_finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  /* The environment is going away: release what is left; finalizers that
   * still come only free the structs. */
  env_state *st = data;
  /* Descriptors made for maps JavaScript did not get to make (a worker
   * terminated between the two calls): nobody else knows them. */
  for (int i = 0; i < st->npending; i++) mm_close(st->pending[i]);
  st->npending = 0;
  reclaim_unpublish(st);
  for (region *r = st->regions, *next; r != NULL; r = next) {
    next = r->next;
    region_orphan_views(env, r);
    if (r->busy == 0) region_release_file(r, 1);
    else region_unlink(r);
    region_maybe_free(env, r); /* its last view given up just now, its handle gone already */
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

/* The region of `handle` when it may take a new mapping (region_adopt's
 * `reuse`), else NULL. It must hold nothing and have nothing counting on it
 * but the handle, which the struct's invariants (region.h) give from four
 * fields: released (state NULL: no mapping, piece, guard or descriptor is
 * left; addr checked too, as region_unlink at an environment's end leaves a
 * busy region's mapping), refs == 1 (every view and every hold counts in
 * refs), no job (busy 0; closing implies busy), and the handle's finalizer
 * not run (self). */
static region *region_reusable(napi_env env, napi_value handle) {
  region *r = handle == NULL ? NULL : region_get(env, handle);
  if (r == NULL || r->state != NULL || r->addr != NULL || r->refs != 1 || r->busy != 0 || r->self == NULL)
    return NULL;
  return r;
}

napi_value region_adopt(napi_env env, const region *want, int guard, napi_value reuse, int *err) {
  region *r = region_reusable(env, reuse);
  int fresh = r == NULL;
  if (fresh) {
    r = calloc(1, sizeof *r);
  } else {
    /* A released region keeps only its handle (self, and the handle's one
     * ref): everything else starts over, as in a new struct. */
    napi_ref self = r->self;
    memset(r, 0, sizeof *r);
    r->self = self;
    r->refs = 1;
  }
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
  napi_value handle = reuse;
  napi_type_tag tag = region_tag();
  *err = -ENOMEM;
  /* Fault containment: the guard knows the descriptor (to tell a truncation
   * from an I/O error) and how the file was mapped (to map a page again);
   * memmap's handlers go back on top if something replaced them. */
  if (guard != 0) mm_fault_ensure(guard);
  /* The file's identity, read once for the region and its guard: the
   * caller's, from the fstat that sized the map, or an fstat here (each costs
   * 0.25-0.5 us, a fifth of a small map's cost beyond CPython). */
  uint64_t dev = want->dev, ino = want->ino;
  if (want->fd >= 0 && dev == MM_NO_ID && ino == MM_NO_ID && mm_file_id(want->fd, &dev, &ino, NULL) != 0)
    dev = ino = MM_NO_ID;
  if (guard != 0 &&
      (r->guard = mm_guard_add(r->addr, r->length, guard, want->fd, dev, ino, r->offset, r->prot, r->flags)) ==
          NULL) {
    region_release_file(r, 0);
    if (fresh) free(r); /* else released again, as the handle had it */
    return NULL;
  }
  /* One reference does both jobs: the handle's finalizer, and the weak
   * reference reclaim asks whether anyone can still reach the handle (self,
   * deleted by that finalizer). An external with a finalizer of its own plus a second,
   * weak reference cost a third more Node-API bookkeeping per map (measured
   * with callgrind on map + close). */
  if (fresh && (napi_create_external(env, r, NULL, NULL, &handle) != napi_ok ||
                napi_add_finalizer(env, handle, r, handle_finalize, NULL, &r->self) != napi_ok)) {
    /* The handle, if made, is garbage that nobody was given: r can go. */
    r->self = NULL;
    region_release_file(r, 0);
    free(r);
    return NULL;
  }
  r->refs = 1; /* the handle's: from here on its finalizer frees r */
  if (fresh && napi_type_tag_object(env, handle, &tag) != napi_ok) {
    /* An untagged handle would be refused by every call: give the memory back
     * now, and leave the empty struct to the handle's finalizer. */
    region_release_file(r, 0);
    return NULL;
  }
  r->fd = want->fd;
  r->dev = dev;
  r->ino = ino;
  r->state = region_env(env);
  reclaim_count_held(1);
  region_fd_taken(r->state, want->fd);
  r->next = r->state->regions;
  if (r->next) r->next->prev = r;
  r->state->regions = r;
  *err = 0;
  return handle;
}

/* ------------------------------------------------------------------------ */
/* Views                                                                    */

enum { VIEW_CREATING, VIEW_LIVE, VIEW_ORPHAN };
/* view.away: what happened to a view where its own thread could not act on it. */
enum {
  VIEW_MEMORY_AWAY = 1, /* its memory was released off its thread (or after its environment ended) */
  VIEW_ENV_GONE = 2,    /* its environment ended first: finalizers only count down (view_drop) */
};

/* One ArrayBuffer over a region. While VIEW_LIVE it is on owner->views and
 * holds one of owner->refs; an exposed one also holds its range (`hold`)
 * until nothing can use its pointer (view_settle). */
struct view {
  region_holder hold; /* exposed views: the range, while `held` */
  region *owner;
  int state;        /* VIEW_CREATING until region_view has linked it into owner->views */
  uint8_t exposed;  /* may reach user code */
  uint8_t held;     /* hold is on owner->holds */
  uint8_t memory_gone; /* the ArrayBuffer's memory was released: its finalizer ran */
  uint8_t object_gone; /* the ArrayBuffer object was collected: its finalizer ran */
  uint8_t detached; /* memmap detached it while it was attached, so its memory went with that */
  _Atomic uint8_t pending; /* finalizers still to come: the memory's, and the object's when exposed */
  _Atomic uint8_t away;    /* VIEW_MEMORY_AWAY | VIEW_ENV_GONE, see view_memory_finalize */
  uintptr_t thread;        /* mm_thread_id() of the thread whose environment made it */
  napi_ref ref;     /* weak: does not keep the ArrayBuffer alive */
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

/* Drops an exposed view's hold once nothing can use its pointer: its object
 * collected (nothing holds the object, so no job of Node's thread pool uses
 * it), and its memory released, or never moved out of it (memmap detached
 * it while attached: nothing else had it). See the address rule (region.h). */
static void view_settle(napi_env env, view *v) {
  if (!v->held || !(v->memory_gone || v->detached)) return;
  if (!v->object_gone) {
    napi_value ab = NULL;
    if (napi_get_reference_value(env, v->ref, &ab) != napi_ok || ab != NULL) return;
  }
  v->held = 0;
  region_unhold(env, &v->hold); /* never frees owner: v still counts in its refs */
}

/* Takes v, whose last finalizer has run, off its region and frees it; the
 * region's refs drop by one, but the region is left for the caller to free
 * (region_maybe_free). */
static void view_free(napi_env env, view *v) {
  region *r = v->owner;
  if (v->prev) v->prev->next = v->next; else r->views = v->next;
  if (v->next) v->next->prev = v->prev;
  napi_delete_reference(env, v->ref);
  free(v);
  r->refs--;
}

/* One of v's finalizers ran: settle it; after the last, free it. */
static void view_finalized(napi_env env, view *v) {
  view_settle(env, v);
  if (--v->pending > 0) return;
  region *r = v->owner;
  view_free(env, v);
  region_maybe_free(env, r);
}

/* A finalizer of a view whose environment ended first (VIEW_ENV_GONE): the
 * last one frees it, and touches nothing else. */
static void view_drop(view *v) {
  if (atomic_fetch_sub(&v->pending, 1) == 1) free(v);
}

/* On v's own thread: a release of its memory that view_memory_finalize
 * could only note (VIEW_MEMORY_AWAY) is taken into account, as that
 * finalizer would have. Returns 1 when v was freed; never frees its region
 * (the caller does, region_maybe_free, once done with it). */
static int view_absorb(napi_env env, view *v) {
  if (v->memory_gone || !(atomic_load(&v->away) & VIEW_MEMORY_AWAY)) return 0;
  v->memory_gone = 1;
  view_settle(env, v);
  if (--v->pending > 0) return 0;
  view_free(env, v);
  return 1;
}

/* True while the environment ends (a worker's end, the process's exit): no
 * JavaScript may run in it any more, which Node-API reports as a failure of
 * any call that could run some (NAPI_PREAMBLE: coercing undefined to a
 * boolean runs none). Elsewhere, and in runtimes that do not report it, 0. */
static int env_ending(napi_env env) {
  napi_value undef, b;
  if (napi_get_undefined(env, &undef) != napi_ok) return 0;
  return napi_coerce_to_bool(env, undef, &b) == napi_pending_exception;
}

/* The ArrayBuffer's memory was released (the object collected, or detached
 * with no other owner of its memory left: memmap's detach, or the end of an
 * ArrayBuffer that a transfer() moved it into). */
static void view_memory_finalize(napi_env env, void *data, void *hint) {
  (void)data;
  view *v = hint;
  /* Some runtimes call the finalizer synchronously when creating the
   * ArrayBuffer fails; region_view then still owns v and frees it. */
  if (v->state == VIEW_CREATING) return;
  if (v->state == VIEW_ORPHAN) {
    free(v);
    return;
  }
  /* Deno calls it on whichever thread releases the memory last (a view that
   * transfer() and a transfer list moved to another thread, collected there),
   * whenever that is, with this environment, even once it has ended. There
   * nothing but v may be touched, and no Node-API call made: the release is
   * noted, and taken into account on v's own thread (view_absorb), or, once
   * the environment ended, only counted (view_drop). Node calls it on v's own
   * thread, before the environment's state goes. */
  if ((atomic_load(&v->away) & VIEW_ENV_GONE) || v->thread != mm_thread_id()) {
    if (atomic_fetch_or(&v->away, VIEW_MEMORY_AWAY) & VIEW_ENV_GONE) view_drop(v);
    return;
  }
  v->memory_gone = 1;
  if (v->exposed && !v->detached && env_ending(env)) v->owner->forever = 1;
  view_finalized(env, v);
}

/* The ArrayBuffer object of an exposed view was collected. */
static void view_object_finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  view *v = data;
  if (atomic_load(&v->away) & VIEW_ENV_GONE) {
    view_drop(v);
    return;
  }
  v->object_gone = 1;
  view_finalized(env, v);
}

napi_value region_view(napi_env env, region *r, uint8_t *at, size_t length, int exposed) {
  view *v = calloc(1, sizeof *v);
  if (v == NULL) return ret_int(env, -ENOMEM);
  v->owner = r;
  v->state = VIEW_CREATING;
  v->thread = mm_thread_id();
  napi_value ab;
  /* Sound: [at, at+length) is inside the live mapping (region_range); it is
   * detached before the file is released and after the mapping changes, and
   * an exposed one holds its range (the address rule, region.h). */
  if (external_arraybuffer(env, at, length, view_memory_finalize, v, &ab) != napi_ok) {
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
  v->pending = 1;
  if (exposed) {
    v->exposed = 1;
    /* Without the object's finalizer, reclaim still learns from the weak
     * reference that the object was collected. */
    if (napi_add_finalizer(env, ab, v, view_object_finalize, NULL, NULL) == napi_ok) v->pending++;
    region_hold(r, &v->hold, at, length);
    v->held = 1;
  }
  v->state = VIEW_LIVE;
  v->next = r->views;
  if (r->views) r->views->prev = v;
  r->views = v;
  r->refs++;
  return ab;
}

/* The environment ends (state_finalize): every view of r whose finalizers
 * have yet to come is given up (VIEW_ENV_GONE), for they may come from any
 * thread once the environment is gone (Deno), where they only count down
 * (view_drop). One handed out whose memory was not released may live on in
 * another thread (moved there by transfer()): r's ranges then stay reserved
 * for the life of the process (forever). Makes no Node-API call, and never
 * frees r. (Node has run every view's finalizers by then: nothing to do.) */
static void region_orphan_views(napi_env env, region *r) {
  for (view *v = r->views, *next; v != NULL; v = next) {
    next = v->next;
    uint8_t was = atomic_fetch_or(&v->away, VIEW_ENV_GONE);
    int released = v->memory_gone || (was & VIEW_MEMORY_AWAY);
    if (v->exposed && !released) r->forever = 1;
    if (v->held) {
      v->held = 0;
      region_unhold(env, &v->hold); /* never frees r: v still counts in its refs */
    }
    if (v->prev) v->prev->next = v->next; else r->views = v->next;
    if (v->next) v->next->prev = v->prev;
    r->refs--;
    /* A release noted off-thread counted nothing: it counts now. */
    if ((was & VIEW_MEMORY_AWAY) && !v->memory_gone) view_drop(v);
  }
}

/* Detaches every ArrayBuffer handed out over r that memmap can still reach
 * and that is still attached; afterwards none of those can reach the memory.
 * One that someone else detached (transfer()) holds its range until its
 * memory is released. */
static void region_detach_views(napi_env env, region *r) {
  for (view *v = r->views, *next; v != NULL; v = next) {
    next = v->next;
    if (view_absorb(env, v)) continue; /* never r: its handle is alive (this call's) */
    napi_value ab = NULL;
    bool detached = true;
    if (napi_get_reference_value(env, v->ref, &ab) != napi_ok || ab == NULL) {
      view_settle(env, v);
      continue;
    }
    if (napi_is_detached_arraybuffer(env, ab, &detached) != napi_ok || detached) continue;
    v->detached = 1;
    /* Not used after a successful detach: a runtime that runs the memory's
     * finalizer synchronously may free v in it. A failed one ran nothing. */
    if (napi_detach_arraybuffer(env, ab) != napi_ok) v->detached = 0;
  }
}

/* ------------------------------------------------------------------------ */
/* Resize, close, jobs                                                      */

int region_remap(napi_env env, region *r, double length, int portable) {
  if (r->busy > 0) return -EBUSY;
  if (!(length > 0) || length > (double)SIZE_MAX) return -EINVAL;
  /* A map whose tail the file lost is two mappings (the file, the zeros):
   * src/ refuses to resize it first (ERR_MMAP_TRUNCATED); so does this. */
  if (r->guard != NULL && mm_guard_lost_from(r->guard) >= 0) return -ENXIO;
  uint8_t *old = r->addr;
  size_t n = (size_t)length, old_span = page_span(r->length);
  void *addr = old;
  /* Only where a holder may still use the old addresses must they all stay
   * mapped (and the mapping then move the slower way). */
  int keep = 0;
  for (region_holder *h = r->holds; h != NULL && !keep; h = h->next) keep = overlaps(h, old, old_span);
  /* The descriptor is checked (an fstat) where the remap may map the file
   * anew: a number closed outside memmap and reused must never be mapped or
   * sized. mremap itself does not use it (src/mapping.ts checked it before
   * ftruncate). */
  int fd = -1;
  if (r->fd >= 0 && mm_remap_uses_fd(r->length, n, portable, keep)) {
    fd = region_fd(r);
    if (fd == -EBADF) return -EBADF; /* the file is not the map's any more: change nothing */
  }
  /* Fault containment keeps off the mapping while it changes (guard.c). */
  if (r->guard != NULL) mm_guard_hold(r->guard);
  int rc = mm_remap(old, r->length, n, r->prot, r->flags, fd, r->offset, portable, keep, &addr, &r->room, !r->locked,
                    r->fd >= 0);
  if (rc == 0) {
    /* What the old mapping left over is retired: no address is unmapped
     * while a view or a holder may use it. */
    if (!keep) {
      /* nothing left over */
    } else if (addr != old) {
      region_retire(r, old, old_span);
    } else if (page_span(n) < old_span) {
      region_retire(r, old + page_span(n), old_span - page_span(n));
    }
    r->addr = addr;
    r->length = n;
    if (r->guard != NULL) mm_guard_move(r->guard, addr, n);
  } else if (addr != NULL && addr != old) {
    /* Moved, not resized (mm_remap could not put it back): the old range is
     * left over all the same. */
    region_retire(r, old, old_span);
    r->addr = addr;
    if (r->guard != NULL) mm_guard_move(r->guard, addr, r->length);
  }
  if (r->guard != NULL) mm_guard_unhold(r->guard);
  if (rc == 0 || (addr != NULL && addr != old)) {
    region_detach_views(env, r);
  } else if (addr == NULL) {
    /* Gone (Windows, see mm_remap): what is left of its range is retired. */
    region_detach_views(env, r);
    region_retire(r, old, old_span);
    r->addr = NULL;
    region_release_file(r, 0);
  }
  return rc;
}

void region_settle_room(region *r) {
  /* Sound: the headroom lies past the mapping's whole pages, which no view,
   * holder or job reaches; the guard watches [addr, addr+length) only. */
  if (r->addr != NULL) mm_room_settle(r->addr, r->length, &r->room, r->prot, r->flags, r->fd >= 0);
}

int region_unmap(napi_env env, region *r) {
  region_detach_views(env, r);
  if (r->busy > 0) {
    r->closing = 1;
    /* The jobs keep the memory, not its name: a tag goes with close(). */
    if (r->addr != NULL) mm_unname(r->addr);
  } else {
    region_release_file(r, 0);
  }
  return r->closing || r->pieces != NULL;
}

void region_busy(region *r) { r->busy++; }

void region_idle(napi_env env, region *r) {
  r->busy--;
  if (r->busy == 0 && r->closing) region_release_file(r, 0);
  region_maybe_free(env, r);
}

/* ------------------------------------------------------------------------ */
/* Reclaiming                                                               */

/* True when the JavaScript handle of r has been collected. */
static int handle_unreachable(napi_env env, region *r) {
  napi_value v;
  return r->handle_gone || (r->self != NULL && napi_get_reference_value(env, r->self, &v) == napi_ok && v == NULL);
}

/* True when the JavaScript handle and every view of r have been collected. */
static int region_unreachable(napi_env env, region *r) {
  napi_value v;
  if (!handle_unreachable(env, r)) return 0;
  for (view *w = r->views; w != NULL; w = w->next)
    if (napi_get_reference_value(env, w->ref, &v) != napi_ok || v != NULL) return 0;
  return 1;
}

/* reclaim(round, base) -> the number of this environment's regions still holding memory or a descriptor.
 * Node-API runs finalizers later, from the event loop; a program that maps in a
 * loop without closing never gets there. After a garbage collection, weak
 * references already tell which regions nobody can reach: let go of their
 * files and descriptors now, and of the ranges that only views collected since
 * held (the finalizers free the bookkeeping later). */
static napi_value js_reclaim(napi_env env, napi_callback_info info) {
  GET_ARGS(2);
  env_state *st = region_env(env);
  int64_t live = 0;
  for (region *r = st ? st->regions : NULL, *next; r != NULL; r = next) {
    next = r->next;
    /* Settling may take r off the list; it never frees r (each view counts
     * in refs), and absorbing frees views but not r: freed, if it can be, last. */
    for (view *v = r->views, *w; v != NULL; v = w) {
      w = v->next;
      if (!view_absorb(env, v)) view_settle(env, v);
    }
    if (r->addr != NULL && r->busy == 0 && region_unreachable(env, r)) region_release_file(r, 0);
    else if (r->fd >= 0 && handle_unreachable(env, r)) region_forget_fd(r);
    if (r->state != NULL) live++;
    region_maybe_free(env, r);
  }
  bool round = false;
  napi_get_value_bool(env, argv[0], &round);
  reclaim_publish(st, live, round, num(env, argv[1]));
  return ret_int(env, live);
}

void mm_register_region(napi_env env, napi_value exports) {
  static const glue_fn fns[] = {{"reclaim", js_reclaim}};
  GLUE_EXPORT(env, exports, fns);
}
