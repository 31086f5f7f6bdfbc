/*
 * async.c: work on a region's memory off the event loop. job_on_region
 * (glue.h) is the one shape: check the range, mark the region busy, run a
 * function on the thread pool, resolve a promise with its result, mark the
 * region idle (which performs an unmap asked meanwhile). syncAsync is its
 * first user; a new job is a `job_run` function and a glue function that
 * unpacks its arguments.
 */
#include "glue.h"

#include <errno.h>
#include <stdlib.h>

typedef struct {
  region *r;
  uint8_t *at;
  size_t length;
  int64_t args[JOB_ARGS];
  job_run run;
  job_done done;
  napi_ref extra; /* keeps done's value alive, or NULL */
  int64_t result;
  napi_deferred deferred;
  napi_async_work work;
} job;

static void job_execute(napi_env env, void *data) {
  (void)env;
  job *j = data;
  /* Sound: [at, at+length) was inside the live mapping when the job was
   * queued, and busy > 0 keeps it mapped and in place until job_complete
   * (region.h: no unmap, no remap while busy). */
  j->result = j->run(j->at, j->length, j->args);
}

static void job_complete(napi_env env, napi_status status, void *data) {
  job *j = data;
  region *r = j->r;
  int64_t result = status == napi_ok ? j->result : -ECANCELED;
  if (j->done != NULL) {
    napi_value extra = NULL;
    if (j->extra != NULL) napi_get_reference_value(env, j->extra, &extra);
    result = j->done(env, r, result, extra);
  }
  if (j->extra != NULL) napi_delete_reference(env, j->extra);
  napi_resolve_deferred(env, j->deferred, ret_int(env, result));
  napi_delete_async_work(env, j->work);
  free(j);
  region_idle(env, r);
}

/* Queues j; 0, or -ENOMEM (j not queued, and no work left behind). */
static int job_queue(napi_env env, job *j, const char *name) {
  napi_value resource_name;
  if (napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &resource_name) != napi_ok ||
      napi_create_async_work(env, NULL, resource_name, job_execute, job_complete, j, &j->work) != napi_ok)
    return -ENOMEM;
  if (napi_queue_async_work(env, j->work) != napi_ok) {
    napi_delete_async_work(env, j->work);
    return -ENOMEM;
  }
  return 0;
}

napi_value job_on_region(napi_env env, napi_value handle, double start, double length, const char *name,
                         job_run run, const int64_t args[JOB_ARGS], job_done done, napi_value extra) {
  napi_value promise;
  napi_deferred deferred;
  if (napi_create_promise(env, &deferred, &promise) != napi_ok) return NULL;
  region *r;
  int err = 0;
  uint8_t *at = region_range(env, handle, start, length, &r, &err);
  job *j = at == NULL ? NULL : calloc(1, sizeof *j);
  if (at != NULL && j == NULL) err = -ENOMEM;
  if (j != NULL) {
    j->r = r;
    j->at = at;
    j->length = (size_t)length;
    for (int i = 0; i < JOB_ARGS; i++) j->args[i] = args[i];
    j->run = run;
    j->done = done;
    j->deferred = deferred;
    if (extra != NULL && napi_create_reference(env, extra, 1, &j->extra) != napi_ok) j->extra = NULL;
    err = job_queue(env, j, name);
    if (err != 0) {
      if (j->extra != NULL) napi_delete_reference(env, j->extra);
      free(j);
    } else {
      region_busy(r);
    }
  }
  if (err != 0) napi_resolve_deferred(env, deferred, ret_int(env, err));
  return promise;
}

/* ------------------------------------------------------------------------ */
/* Jobs                                                                     */

/* args: [flags] */
static int64_t run_sync(uint8_t *at, size_t length, const int64_t args[JOB_ARGS]) {
  return mm_sync(at, length, (int)args[0]);
}

/* syncAsync(handle, start, length, flags, out?) -> Promise<0 | -errno>; msync
 * runs on the thread pool; with `out`, an I/O error of the map not yet
 * reported is reported as sync reports it (loss_after_sync). */
static napi_value js_sync_async(napi_env env, napi_callback_info info) {
  GET_ARGS(5);
  const int64_t args[JOB_ARGS] = {i32(env, argv[3])};
  return job_on_region(env, argv[0], num(env, argv[1]), num(env, argv[2]), "memmap:msync", run_sync, args,
                       loss_after_sync, argc > 4 ? argv[4] : NULL);
}

void mm_register_async(napi_env env, napi_value exports) {
  static const glue_fn fns[] = {{"syncAsync", js_sync_async}};
  GLUE_EXPORT(env, exports, fns);
}
