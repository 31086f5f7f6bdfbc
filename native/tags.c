/*
 * tags.c: named shared memory (tagname) where a name is an object of its own
 * (POSIX shared memory): open or create the object, remove its name; and, on
 * Windows, where the section itself is named, the size of an existing one.
 * src/tags.ts decides what to open, sizes the object and checks lengths.
 */
#include "glue.h"

#include <errno.h>
#include <stdbool.h>

/* The tag as C reads it: a Uint8Array of its UTF-8 bytes and a final NUL
 * (src/tags.ts makes it); NULL for anything else, or for bytes without that
 * final NUL, past which C would read. */
static const char *tag_of(napi_env env, napi_value v) {
  size_t n = 0;
  uint8_t *b = bytes_of(env, v, &n);
  if (b == NULL || n == 0 || b[n - 1] != 0) return NULL;
  return (const char *)b;
}

/* tagOpen(tag, create, readonly) -> a close-on-exec descriptor | -errno:
 * create true makes a new object (-EEXIST if there is one), false opens an
 * existing one (-ENOENT if there is none). */
static napi_value js_tag_open(napi_env env, napi_callback_info info) {
  GET_ARGS(3);
  const char *tag = tag_of(env, argv[0]);
  bool create = false, readonly = false;
  napi_get_value_bool(env, argv[1], &create);
  napi_get_value_bool(env, argv[2], &readonly);
  if (tag == NULL) return ret_int(env, -EINVAL);
  int fd = mm_tag_open(tag, create ? MM_TAG_CREATE : MM_TAG_EXISTING, readonly);
  region_fd_made(env, fd);
  return ret_int(env, fd);
}

/* tagUnlink(tag) -> 0 | -errno (-ENOENT: no such name). */
static napi_value js_tag_unlink(napi_env env, napi_callback_info info) {
  GET_ARGS(1);
  const char *tag = tag_of(env, argv[0]);
  return ret_int(env, tag == NULL ? -EINVAL : mm_tag_unlink(tag));
}

/* tagSize(tag) -> the size of the existing section of that name | -errno
 * (Windows; -ENOSYS where the size is the descriptor's). */
static napi_value js_tag_size(napi_env env, napi_callback_info info) {
  GET_ARGS(1);
  const char *tag = tag_of(env, argv[0]);
  return ret_int(env, tag == NULL ? -EINVAL : mm_tag_size(tag));
}

/* tagLock(fd, lock) -> 0 | -errno: flock of a tag's object, without waiting
 * (-EWOULDBLOCK while another holds it); lock false lets it go. */
static napi_value js_tag_lock(napi_env env, napi_callback_info info) {
  GET_ARGS(2);
  bool lock = false;
  napi_get_value_bool(env, argv[1], &lock);
  return ret_int(env, mm_tag_lock(i32(env, argv[0]), lock));
}

void mm_register_tags(napi_env env, napi_value exports) {
  static const glue_fn fns[] = {
      {"tagOpen", js_tag_open}, {"tagUnlink", js_tag_unlink}, {"tagSize", js_tag_size}, {"tagLock", js_tag_lock}};
  GLUE_EXPORT(env, exports, fns);
}
