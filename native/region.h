/*
 * region.h: the lifetime of one mapping ("region"), of the JavaScript handle
 * that names it, and of every ArrayBuffer handed out over it ("view").
 * region.c implements it; every glue file reaches a region only through
 * region_get, region_live or region_range.
 *
 * The life of a region:
 *   region_adopt     a fresh mapping becomes a region and a type-tagged handle
 *   region_view      zero-copy ArrayBuffers over ranges of it
 *   region_busy/idle a thread-pool job uses its memory (async.c)
 *   region_remap     resized or moved: every view is detached first
 *   region_unmap     closed: every view is detached, the memory unmapped and
 *                    the descriptor closed (at once, or when the last job ends)
 *   reclaim          memory of regions nobody can reach any more, released
 *                    before their finalizers run (src/ calls it after a GC)
 *   finalizers       the handle's and each view's; the last one frees the struct
 */
#ifndef MEMMAP_REGION_H
#define MEMMAP_REGION_H

#ifndef NAPI_VERSION
#define NAPI_VERSION 8
#endif
#include <node_api.h>

#include <stddef.h>
#include <stdint.h>

#include "mm.h"

typedef struct region region;
typedef struct view view; /* private to region.c */

/* Per-environment state (the main thread and each worker have their own):
 * Node-API instance data, made by region_env_init, freed with the environment
 * (which releases whatever regions are left). */
typedef struct {
  region *regions; /* every region that still holds memory or a descriptor */
  region *checked; /* NULL, or the region on `regions` whose handle region_get
                    * last type-checked (a one-entry memo of the tag check) */
  /* copy.c's: where no external ArrayBuffer can show the fault counter in
   * place, a Uint32Array of JavaScript's (kept alive by the strong reference)
   * into which every call that touches mapped memory copies the counter. */
  uint32_t *fault_mirror;
  napi_ref fault_mirror_ref;
} env_state;

/*
 * One mapping. "Live" means addr != NULL && !closing; only a live region's
 * memory is touched, and region_live / region_range are the one check of it.
 *
 * Invariants:
 * - addr != NULL: [addr, addr+length) is mapped, readable, and this region's
 *   alone (writable when prot has PROT_WRITE; a write to a read-only map is
 *   contained by the guard). addr == NULL: the memory is released for good;
 *   then fd == -1, guard == NULL, state == NULL, and nothing maps it again.
 * - length > 0 is the mapping's byte length. addr and length change only in
 *   region_remap, when busy == 0 and after every view has been detached.
 * - fd is the descriptor the region owns, or -1; it is used (sized, mapped,
 *   closed) only while it names the file it named when adopted (dev, ino:
 *   region_fd), since JavaScript can close the number and reuse it; it is
 *   closed exactly once,
 *   with the memory (region_unmap, reclaim, the last finalizer, or the end
 *   of the environment).
 * - refs == (1 while the handle's finalizer has not run) + (the number of views
 *   on `views`) + holds. The struct is freed when refs == 0 and busy == 0,
 *   never before: a finalizer or a job may still hold a pointer to it.
 * - holds is the number of holders that are not ArrayBuffers and cannot be
 *   detached (text.c's external strings) over this region's memory, present
 *   or past. While holds > 0, memory the region lets go of (unmap, reclaim,
 *   the range a resize leaves) is reserved (mm_reserve), not unmapped, and
 *   listed on `reserved`; holds returning to 0 unmaps the list. So no address
 *   such a holder points at is ever mapped again by anyone while it lives.
 * - busy is the number of thread-pool jobs using [addr, addr+length) now.
 *   While busy > 0 nothing unmaps or moves the memory: region_remap refuses
 *   (-EBUSY) and region_unmap sets closing instead, leaving the release to the
 *   job that brings busy back to 0 (region_idle).
 * - closing == 1: unmap was asked while a job used the memory; every view is
 *   already detached, no new work may start, and the memory is released when
 *   busy returns to 0.
 * - every ArrayBuffer on `views` that is not detached lies inside
 *   [addr, addr+length); each is detached before addr or length changes and
 *   before the memory is released.
 * - state is the environment whose list holds r while r holds memory or a
 *   descriptor, NULL after the release; self is a weak reference to the
 *   handle (reclaim asks it whether anyone can still reach the region), deleted
 *   by the handle's finalizer, which sets handle_gone.
 */
struct region {
  uint8_t *addr;
  size_t length;
  int fd;            /* owned descriptor, or -1 */
  uint64_t dev, ino; /* the identity of fd's file when adopted (region_fd) */
  int prot;
  int flags;
  int64_t offset;
  uint32_t refs;
  uint32_t busy;
  int closing;
  view *views;
  env_state *state;    /* whose list holds r while it holds memory; NULL after */
  mm_guard *guard;     /* fault containment (guard.c), or NULL */
  uint32_t holds;      /* holders that are not views (text.c) */
  struct reserved *reserved; /* ranges let go of while holds > 0 */
  region *prev, *next; /* in state->regions */
  napi_ref self;       /* weak reference to the JavaScript handle, until its finalizer */
  int handle_gone;     /* the handle's finalizer has run */
};

/* Makes this environment's state; 0, or -1 when out of memory. */
int region_env_init(napi_env env);
/* This environment's state (NULL only if region_env_init failed). */
env_state *region_env(napi_env env);

/* Takes over a fresh mapping: `want` gives addr, length, prot, flags, offset
 * and fd (the descriptor the region is to own, or -1); `guard` the
 * MM_GUARD_* flags to contain faults with (0: none). Returns the handle, a
 * type-tagged external. On failure returns NULL with *err = -errno; the
 * mapping is unmapped and the caller still owns the descriptor. */
napi_value region_adopt(napi_env env, const region *want, int guard, int *err);

/* The region a handle names, released or not; NULL (and nothing read through
 * the value) for anything that is not a handle made by region_adopt of this
 * copy of the addon: a plain object, a number, another module's external. */
region *region_get(napi_env env, napi_value handle);
/* The region, when it is live; else NULL and *err = -EBADF. */
region *region_live(napi_env env, napi_value handle, int *err);
/* The one check before touching memory: the region is live and
 * [start, start+length) lies inside it. Returns addr + start, or NULL with
 * *err = -EBADF (not a live region) or -ERANGE (out of bounds). *out is the
 * region whenever it is live, even when the range is refused, so that a
 * caller can refuse for another reason first; NULL otherwise. */
uint8_t *region_range(napi_env env, napi_value handle, double start, double length, region **out,
                      int *err);

/* A zero-copy ArrayBuffer over [at, at+length), a range region_range gave
 * for r: the ArrayBuffer, null (the runtime refused an external ArrayBuffer),
 * or -ENOMEM as a number. It is detached before that memory changes. */
napi_value region_view(napi_env env, region *r, uint8_t *at, size_t length);

/* Holders of a live region's memory that are not ArrayBuffers (text.c's
 * external strings), which nothing can detach. region_hold takes one of
 * r->refs and one of r->holds; region_unhold gives them back from the
 * holder's finalizer, which may run inside a garbage collection or after the
 * environment is gone: it makes no Node-API call. */
void region_hold(region *r);
void region_unhold(region *r);

/* Resizes a live region to `length` bytes (mm_remap; `portable` as there):
 * 0, or -EBUSY while a job uses the memory, -EINVAL for a length that is not
 * a positive size, or mm_remap's error. Detaches every view before mm_remap.
 * On failure the region is unchanged, or moved, or (Windows, see mm_remap)
 * released. */
int region_remap(napi_env env, region *r, double length, int portable);
/* The descriptor r owns, while it still names r's file: -1 for none, and
 * -EBADF once someone closed it outside memmap (its number may name another
 * file now: memmap never sizes, maps or closes it then). */
int region_fd(region *r);
/* Detaches every view, then unmaps and closes the descriptor; while a job
 * uses the memory, the release waits for it (closing). Idempotent. */
void region_unmap(napi_env env, region *r);

/* A thread-pool job starts using a live region's memory / has ended (this
 * performs a deferred unmap and may free r: do not use r afterwards). */
void region_busy(region *r);
void region_idle(napi_env env, region *r);

/* Wraps foreign memory in an external ArrayBuffer: the one place that does.
 * On failure (a runtime that forbids it, or region_forbid_external) no
 * exception is left pending and *out is null. */
napi_status external_arraybuffer(napi_env env, void *data, size_t length, napi_finalize fin, void *hint,
                                 napi_value *out);
/* Behave as a runtime whose V8 sandbox forbids external ArrayBuffers
 * (MEMMAP_NO_EXTERNAL_BUFFERS=1), so the copying mode runs on any Node. */
void region_forbid_external(void);

#endif
