/*
 * region.h: the lifetime of one mapping ("region"), of the JavaScript handle
 * that names it, of every ArrayBuffer handed out over it ("view"), and of the
 * addresses it ever had. region.c implements it; every glue file reaches a
 * region only through region_get, region_live or region_range.
 *
 * The life of a region:
 *   region_adopt     a fresh mapping becomes a region and a type-tagged handle
 *   region_view      zero-copy ArrayBuffers over ranges of it
 *   region_busy/idle a memmap job on the thread pool uses its memory (async.c)
 *   region_hold      anything else that may keep a raw pointer into it
 *   region_remap     resized: views detached once it succeeded
 *   region_unmap     closed: views detached, the descriptor closed, the file
 *                    unmapped (at once, or when the last job ends)
 *   reclaim          regions nobody can reach any more, released before
 *                    their finalizers run (src/ calls it after a GC)
 *   finalizers       the handle's and each view's; the last one frees the struct
 *
 * The address rule. No address a region ever exposed is unmapped, or given to
 * another mapping, while anything may still hold a pointer into it: when the
 * file goes (close, reclaim) or the mapping moves or shrinks (resize), every
 * range that something may still hold is *retired*: replaced, atomically, by
 * a placeholder (mm_placeholder: zeros, writes reach nothing, no file) that
 * stays reserved until the last such holder is gone, and only then unmapped.
 * A range nothing holds is unmapped at once (and a resize whose old range
 * nothing holds takes the one-call way). Where no placeholder can be put
 * (Windows without them, a kernel out of memory), a retired range stays
 * mapped as it was until its holders are gone. What holds a range:
 *   - a view handed to JavaScript ("exposed": `buffer`, `subarray`): from its
 *     making until its ArrayBuffer object has been collected *and* its memory
 *     released. Both, because each can outlive the other: an ArrayBuffer
 *     detached (by memmap, at close) drops its memory at once while the
 *     object, and the raw pointer that Node's thread pool took from it
 *     (fs.read, crypto.randomFill), live on; ArrayBuffer.prototype.transfer()
 *     moves the memory into an ArrayBuffer memmap never sees, whose release
 *     still calls this view's finalizer. A view memmap detached itself, while
 *     it was still attached, had its memory released by that detach (it had
 *     not been transferred): for it the object alone counts.
 *   - a hold (region_hold): any other holder, below.
 * Views memmap keeps for its own methods ("private": never handed to user
 * code, only read and written synchronously) are detached and hold nothing.
 *
 * When the environment ends (a worker's end, the process's exit), Node calls
 * every view's finalizers whether or not its memory lives on in another
 * thread (transfer() then a transfer list): a region with an exposed view
 * memmap did not detach itself becomes `forever` then, and its ranges are
 * placeholders for the life of the process, never unmapped. Deno calls a
 * view's memory finalizer on whichever thread releases the memory, at any
 * time, with the view's environment even once it has ended: a view notes
 * such a release (region.c, view_memory_finalize) for its own thread, and
 * the environment's end gives up every view whose finalizers are still to
 * come (the same `forever` for one whose memory may live on).
 *
 * A new kind of holder (an external string over the mapping, a job of
 * another module on the thread pool) takes part through a region_holder that it
 * embeds: region_hold(r, &h, at, length) when it takes a pointer from
 * region_range, region_unhold(env, &h) when nothing
 * can use the pointer any more (its finalizer; the job's completion). Meanwhile
 * [at, at+length) is never unmapped nor reused: after close() or a moving
 * resize it reads zeros, so a holder must not need the file's bytes to stay
 * (an external string whose characters change under V8 must never be
 * reachable by user code). A job that needs the file itself (msync, a
 * prefetch) uses region_busy/region_idle instead: while busy, close waits for
 * it and resize refuses. A holder keeps the struct alive (refs), not the file.
 */
#ifndef MEMMAP_REGION_H
#define MEMMAP_REGION_H

#ifndef NAPI_VERSION
#define NAPI_VERSION 8
#endif
#include <node_api.h>

#include <stdbool.h>
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
  /* Descriptors the addon made for a map that is not made yet (dup, memfd,
   * tagOpen): JavaScript holds them between that call and map(), and an
   * environment ended in between (a worker terminated) would leak them. Taken
   * off when a region owns one (region_adopt) or JavaScript closes it
   * (close); closed with the environment. Up to 8 are tracked (one is the
   * most a synchronous map holds); more are left to JavaScript. */
  int pending[8];
  int npending;
  /* What this environment's last reclaim found still held, counted in the
   * process's sum (reclaim.c). */
  uint32_t published;
} env_state;

typedef struct region_holder region_holder;
typedef struct piece piece; /* private to region.c */

/* A holder of a range of a region's memory (see the address rule above);
 * embedded in the holder's own struct. */
struct region_holder {
  region *owner;
  uintptr_t start, end; /* the range held */
  region_holder *prev, *next;
};

/*
 * One mapping. "Live" means addr != NULL && !closing; only a live region's
 * memory is touched, and region_live / region_range are the one check of it.
 *
 * Invariants:
 * - addr != NULL: [addr, addr+length) is mapped, readable, and this region's
 *   alone (writable when prot has PROT_WRITE; a write to a read-only map is
 *   contained by the guard). addr == NULL: the file is released for good;
 *   then fd == -1, guard == NULL, and nothing maps the file again.
 * - length > 0 is the mapping's byte length. addr and length change only in
 *   region_remap, when busy == 0.
 * - pieces: ranges this region's mapping had and has no more, that some hold
 *   overlapping them may still use: each is a placeholder (or, where none
 *   could be put, still the old mapping), disjoint from [addr, addr+length)
 *   and from every other piece, unmapped when the last of those holds goes.
 *   A hold made later never overlaps a piece (it comes from region_range).
 * - holds: every region_holder on r, views' included; each counts in refs.
 * - fd is the descriptor the region owns, or -1; it is used (sized, mapped,
 *   closed) only while it names the file it named when adopted (dev, ino:
 *   region_fd), since JavaScript can close the number and reuse it; it is
 *   closed exactly once, with the file mapping (region_unmap, reclaim, the
 *   last finalizer, or the end of the environment).
 * - refs == (1 while the handle's finalizer has not run) + (views on `views`)
 *   + (holds on `holds`). The struct is freed when refs == 0 and busy == 0,
 *   never before: a finalizer, a holder or a job may still name it.
 * - busy is the number of memmap's thread-pool jobs using [addr, addr+length)
 *   now. While busy > 0 nothing unmaps or moves the memory: region_remap
 *   refuses (-EBUSY) and region_unmap sets closing instead, leaving the
 *   release to the job that brings busy back to 0 (region_idle).
 * - closing == 1: unmap was asked while a job used the memory; every view is
 *   already detached, no new work may start, and the file is released when
 *   busy returns to 0.
 * - every ArrayBuffer on `views` that memmap can still reach (its object not
 *   collected) and that is attached lies inside [addr, addr+length), or is an
 *   exposed view that someone else detached (transferred); each is detached
 *   after the mapping moved or changed size and before the file is released.
 * - state is the environment whose list holds r while r holds a mapping, a
 *   piece or a descriptor, NULL after; self is a weak reference to the handle
 *   (reclaim asks it whether anyone can still reach the region), deleted by
 *   the handle's finalizer, which sets handle_gone.
 */
struct region {
  uint8_t *addr;
  size_t length;
  size_t room;       /* headroom after the whole pages (mm_remap: reserved, or the file past its end), or 0 */
  int locked;        /* lock() was asked of some of it: growths reserve no headroom */
  int fd;            /* owned descriptor, or -1 */
  uint64_t dev, ino; /* the identity of fd's file when adopted (region_fd) */
  int prot;
  int flags;
  int64_t offset;
  uint32_t refs;
  uint32_t busy;
  int closing;
  view *views;
  region_holder *holds;
  piece *pieces;
  env_state *state;    /* whose list holds r while it holds memory; NULL after */
  mm_guard *guard;     /* fault containment (guard.c), or NULL */
  region *prev, *next; /* in state->regions */
  napi_ref self;       /* weak reference to the JavaScript handle, until its finalizer */
  int handle_gone;     /* the handle's finalizer has run */
  /* Set as the environment ends (env_ending) when an ArrayBuffer over r may
   * live on in another thread: every range r has or had then stays reserved
   * (a placeholder) for the life of the process, never unmapped. */
  int forever;
};

/* Makes this environment's state; 0, or -1 when out of memory. */
int region_env_init(napi_env env);
/* This environment's state (NULL only if region_env_init failed). */
env_state *region_env(napi_env env);
/* A descriptor (fd >= 0) made for a map JavaScript has yet to make: see
 * env_state.pending. */
void region_fd_made(napi_env env, int fd);
/* fd no longer waits for a map: a region owns it, or it is being closed. */
void region_fd_taken(env_state *st, int fd);

/* Takes over a fresh mapping: `want` gives addr, length, prot, flags, offset,
 * fd (the descriptor the region is to own, or -1) and the identity of fd's
 * file (dev, ino; both MM_NO_ID: read it here); `guard` the
 * MM_GUARD_* flags to contain faults with (0: none). Returns the handle, a
 * type-tagged external: `reuse` itself when it is the handle of a region
 * that was unmapped and that nothing but the handle counts on any more (no
 * view, hold, piece, job or descriptor), which then takes the new mapping
 * (no new external, no new finalizer); else a new one. The caller must hold
 * the only reference to `reuse` that any code will use (src/mapping.ts keeps
 * closed maps' handles for this). On failure returns NULL with *err = -errno;
 * the mapping is unmapped, the caller still owns the descriptor, and `reuse`
 * is as it was: released, and takeable again. */
napi_value region_adopt(napi_env env, const region *want, int guard, napi_value reuse, int *err);

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
 * or -ENOMEM as a number. `exposed`: it may reach user code (it holds its
 * range, see the address rule); else it is memmap's own, used only
 * synchronously. Either way it is detached when the mapping changes. */
napi_value region_view(napi_env env, region *r, uint8_t *at, size_t length, int exposed);

/* Resizes a live region to `length` bytes (mm_remap; `portable` as there):
 * 0, or -EBUSY while a job uses the memory, -EINVAL for a length that is not
 * a positive size, -ENXIO when the map lost its tail to a file that shrank,
 * or mm_remap's error. On success every view is detached, and the ranges the
 * mapping left are retired (the address rule). On failure nothing changed
 * (views stay attached), except on Windows where the mapping may be gone
 * (see mm_remap): then the region is released. */
int region_remap(napi_env env, region *r, double length, int portable);
/* Before an madvise or mlock of a live region (whole or part): its headroom
 * given back where it is the file mapped past its end (mm_room_settle). */
void region_settle_room(region *r);
/* The descriptor r owns, while it still names r's file: -1 for none, and
 * -EBADF once someone closed it outside memmap (its number may name another
 * file now: memmap never sizes, maps or closes it then). */
int region_fd(region *r);
/* region_fd, and when it names the file (>= 0) and `size` is not NULL, the
 * file's size, from the same system call. */
int region_fd_size(region *r, int64_t *size);
/* Detaches every view, closes the descriptor and releases the file mapping
 * (its range retired); while a job uses the memory, the release waits for it
 * (closing). Idempotent. Returns 1 while ranges stay reserved for their
 * holders (the region still holds memory), else 0. */
int region_unmap(napi_env env, region *r);

/* A thread-pool job starts using a live region's memory / has ended (this
 * performs a deferred unmap and may free r: do not use r afterwards). */
void region_busy(region *r);
void region_idle(napi_env env, region *r);

/* A holder takes [at, at+length) of r's memory (a range region_range gave) /
 * is done with it (may unmap a retired range and free r: do not use r
 * afterwards). region_unhold makes no Node-API call: env may be NULL, from a
 * finalizer inside a garbage collection or after the environment ended
 * (text.c's strings). See the address rule above. */
void region_hold(region *r, region_holder *h, const uint8_t *at, size_t length);
void region_unhold(napi_env env, region_holder *h);

/* The reclaiming policy's process-wide counters (reclaim.c): a region joins
 * (+1) or leaves (-1) its environment's list; a reclaim of st found `live`
 * regions still held (round: the process's count started it; base: the
 * lowest threshold); st is ending (its share leaves the sum). */
void reclaim_count_held(int delta);
void reclaim_publish(env_state *st, int64_t live, bool round, double base);
void reclaim_unpublish(env_state *st);

/* Wraps foreign memory in an external ArrayBuffer: the one place that does.
 * On failure (a runtime that forbids it, or region_forbid_external) no
 * exception is left pending and *out is null. */
napi_status external_arraybuffer(napi_env env, void *data, size_t length, napi_finalize fin, void *hint,
                                 napi_value *out);
/* Behave as a runtime whose V8 sandbox forbids external ArrayBuffers
 * (MEMMAP_NO_EXTERNAL_BUFFERS=1), so the copying mode runs on any Node. */
void region_forbid_external(void);

#endif
