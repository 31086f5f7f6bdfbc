/*
 * text.c: mapped bytes as a JavaScript string without copying, for regular
 * expressions (src/search.ts): a Latin-1 external string over a range of a
 * region, one byte per character.
 *
 * node_api_create_external_string_latin1 is Node-API 10 (Node 20.4 and later
 * export it as experimental); memmap is built for Node-API 8, so it is looked
 * up in the runtime at load (mm_runtime_symbol) and the addon loads where it
 * is missing. Where it is missing, or copies (a runtime whose V8 sandbox
 * forbids external strings, as Electron's), or the system cannot retire the
 * memory under a string atomically (mm_has_placeholders), `externalText` is
 * false and src/ copies the text instead.
 *
 * Lifetime. Nothing can detach a string. Each one is a holder of its range
 * (region_hold, region.h's address rule): while it lives, the memory under it
 * stays mapped, or, once the map is closed, resized or reclaimed, a
 * placeholder (reading zeros, its addresses kept from every other mapping);
 * its finalizer gives the hold back (region_unhold). That finalizer runs
 * inside a garbage collection (Node calls it when V8 disposes of the string),
 * or after the environment ended: it makes no Node-API call. src/ never lets user
 * code reach such a string (search.ts: fresh copies of every matched text,
 * the RegExp legacy statics reset after each match).
 */
#include "glue.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>

/* node_api_create_external_string_latin1 (js_native_api.h, Node-API 10). */
typedef napi_status (*create_latin1_fn)(napi_env env, char *str, size_t length, napi_finalize finalize,
                                        void *hint, napi_value *result, bool *copied);

/* Resolved once per process; NULL when external strings are not to be made:
 * missing, forbidden (text_forbid), or found to copy. Written on the
 * JavaScript thread of an environment; a worker that reads a stale non-NULL
 * value makes one more string that copies, sees it, and stops too. */
static create_latin1_fn create_latin1 = NULL;
static int forbidden = 0;

void text_forbid(void) { forbidden = 1; }

static void text_finalize(napi_env env, void *data, void *hint) {
  (void)env; /* may be NULL: the environment ended before the string */
  (void)data;
  region_holder *h = hint; /* one string's hold on its range, made below */
  region_unhold(NULL, h);
  free(h);
}

/* text(handle, start, length) -> a string of the map's [start, start+length)
 * read as Latin-1, over the mapped memory itself | null (no external strings
 * here: copy instead) | -errno. length is in [1, the runtime's longest
 * string]: src/ asks for nothing else. */
static napi_value js_text(napi_env env, napi_callback_info info) {
  GET_RANGE(3);
  napi_value out;
  if (create_latin1 == NULL || !(length >= 1 && length <= INT_MAX)) {
    napi_get_null(env, &out);
    return out;
  }
  /* Sound: [at, at+length) is inside the live mapping (region_range); the
   * hold keeps those addresses mapped or reserved until the finalizer. */
  region_holder *h = malloc(sizeof *h);
  if (h == NULL) return ret_int(env, -ENOMEM);
  region_hold(r, h, at, length);
  bool copied = false;
  napi_status st = create_latin1(env, (char *)at, length, text_finalize, h, &out, &copied);
  if (st != napi_ok) {
    /* Whether a runtime calls the finalizer after a failure is not said:
     * keep the hold (the range stays taken for good, which is safe), and copy
     * from now on. */
    clear_pending_exception(env);
    create_latin1 = NULL;
    napi_get_null(env, &out);
    return out;
  }
  if (copied) {
    /* The runtime copied (and has already called the finalizer): the string
     * is a copy, as src/ would make, at a cost proportional to its length
     * that the callers of text() do not expect. Copy there from now on. */
    create_latin1 = NULL;
  }
  return out;
}

void mm_register_text(napi_env env, napi_value exports) {
  static const glue_fn fns[] = {{"text", js_text}};
  if (!forbidden && mm_has_placeholders())
    create_latin1 = (create_latin1_fn)mm_runtime_symbol("node_api_create_external_string_latin1");
  GLUE_EXPORT(env, exports, fns);
  napi_value yes;
  napi_get_boolean(env, create_latin1 != NULL, &yes);
  napi_set_named_property(env, exports, "externalText", yes);
}
