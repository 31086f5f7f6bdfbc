/*
 * win32.h: what the two halves of mm.h on Windows share: win32.c (views,
 * placeholders, map, unmap, remap, sync) and win32-system.c (descriptors,
 * tags, residency, locks, constants, the system's facts). Private to them.
 */
#ifndef MEMMAP_WIN32_H
#define MEMMAP_WIN32_H

#define WIN32_LEAN_AND_MEAN
#include <windows.h>

#include <stdint.h>

#include "platform.h"

/* libuv, exported by node.exe (linked through an import library of node.exe) */

typedef struct uv_loop_s uv_loop_t;
/* uv_fs_t is opaque here: a synchronous call only needs room for it. Its size
 * on Windows x64 is under 512 bytes; 2 KiB, aligned, leaves a wide margin. */
typedef union {
  char bytes[2048];
  long double align;
  void *p;
} uv_fs_t;
HANDLE uv_get_osfhandle(int fd);
int uv_open_osfhandle(HANDLE os_fd);
uv_loop_t *uv_default_loop(void);
int uv_fs_close(uv_loop_t *loop, uv_fs_t *req, int file, void *cb);
void uv_fs_req_cleanup(uv_fs_t *req);


/* GetLastError() as a negative errno; EIO for what has no closer meaning. */
int w32_errno(DWORD e);
static inline int last_error(void) { return w32_errno(GetLastError()); }

/* A UTF-8 string as a new UTF-16 one (free it), or NULL. */
wchar_t *w32_wide(const char *s);

/* A section's size and whether a file backs it (ntdll's NtQuerySection, found
 * at run time; the handle needs SECTION_QUERY): 0 or -errno. */
int w32_section_info(HANDLE section, int64_t *size, int *file);

/* The size of the file h names / sets it; 0 or -errno. */
int w32_file_size(HANDLE h, int64_t *size);
int w32_set_file_size(HANDLE h, int64_t size);

#endif
