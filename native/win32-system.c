/*
 * win32-system.c: the parts of mm.h on Windows that need no view record:
 * errors, descriptors (C runtime descriptors of node.exe, reached through
 * libuv: see win32.c), named sections, residency, prefetch, locks, the
 * system's facts and constants, and fault containment's helpers.
 */
#include "win32.h"
/* After windows.h: QueryWorkingSetEx is K32QueryWorkingSetEx, in KERNEL32.dll. */
#include <psapi.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

/* ------------------------------------------------------------------------ */
/* Errors                                                                   */

/* GetLastError() as a negative errno; EIO for what has no closer meaning. */
int w32_errno(DWORD e) {
  switch (e) {
  case ERROR_ACCESS_DENIED:
  case ERROR_WRITE_PROTECT:
    return -EACCES;
  case ERROR_INVALID_HANDLE:
    return -EBADF;
  case ERROR_NOT_ENOUGH_MEMORY:
  case ERROR_OUTOFMEMORY:
  case ERROR_WORKING_SET_QUOTA:
  case ERROR_COMMITMENT_LIMIT:
  case ERROR_NO_SYSTEM_RESOURCES:
    return -ENOMEM;
  case ERROR_INVALID_PARAMETER:
  case ERROR_MAPPED_ALIGNMENT:
  case ERROR_INVALID_ADDRESS:
  case ERROR_FILE_INVALID:
  case ERROR_NEGATIVE_SEEK:
    return -EINVAL;
  case ERROR_DISK_FULL:
  case ERROR_HANDLE_DISK_FULL:
    return -ENOSPC;
  case ERROR_USER_MAPPED_FILE:
  case ERROR_SHARING_VIOLATION:
  case ERROR_LOCK_VIOLATION:
  case ERROR_ALREADY_EXISTS:
    return -EBUSY;
  case ERROR_TOO_MANY_OPEN_FILES:
    return -EMFILE;
  case ERROR_FILE_NOT_FOUND:
  case ERROR_PATH_NOT_FOUND:
    return -ENOENT;
  case ERROR_INVALID_FUNCTION:
  case ERROR_NOT_SUPPORTED:
    return -ENODEV;
  case ERROR_FILE_TOO_LARGE:
    return -EFBIG;
  case ERROR_NOACCESS:
    return -EFAULT;
  default:
    return -EIO;
  }
}


wchar_t *w32_wide(const char *s) {
  int n = MultiByteToWideChar(CP_UTF8, 0, s, -1, NULL, 0);
  if (n <= 0) return NULL;
  wchar_t *w = malloc((size_t)n * sizeof *w);
  if (w != NULL && MultiByteToWideChar(CP_UTF8, 0, s, -1, w, n) <= 0) {
    free(w);
    return NULL;
  }
  return w;
}

int w32_file_size(HANDLE h, int64_t *size) {
  LARGE_INTEGER n;
  if (!GetFileSizeEx(h, &n)) return last_error();
  *size = n.QuadPart;
  return 0;
}

int w32_set_file_size(HANDLE h, int64_t size) {
  FILE_END_OF_FILE_INFO info;
  info.EndOfFile.QuadPart = size;
  return SetFileInformationByHandle(h, FileEndOfFileInfo, &info, sizeof info) ? 0 : last_error();
}

/* ------------------------------------------------------------------------ */
/* The system                                                               */

void *mm_runtime_symbol(const char *name) {
  /* node.exe exports its Node-API functions by name. */
  return (void *)GetProcAddress(GetModuleHandleW(NULL), name);
}

int mm_remap_sizes_file(void) { return 1; }

int mm_remap_uses_fd(size_t old_length, size_t new_length, int portable, int keep) {
  (void)old_length; (void)new_length; (void)portable; (void)keep;
  return 1; /* the remap sizes the file */
}

int mm_has_mremap(void) { return 0; }

/* Pinned: FreeLibrary never unloads the addon's DLL any more. */
int mm_keep_loaded(void) {
  HMODULE self;
  return GetModuleHandleExW(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS | GET_MODULE_HANDLE_EX_FLAG_PIN,
                            (LPCWSTR)(uintptr_t)&mm_keep_loaded, &self)
             ? 0
             : -1;
}

int mm_has_madvise(void) { return 0; }
int mm_has_memfd(void) { return 0; }
int mm_has_tagname(void) { return 1; }

const char *mm_remap_syscall(int portable) {
  (void)portable;
  return "MapViewOfFile";
}

/* Windows has no madvise: src/ says so before calling. */
int mm_advise(void *addr, size_t length, int advice) {
  (void)addr; (void)length; (void)advice;
  return -ENOSYS;
}

int mm_residency(void *addr, size_t length, uint8_t *vec) {
  enum { BATCH = 1024 };
  size_t page = (size_t)mm_pagesize(), n = (length + page - 1) / page;
  PSAPI_WORKING_SET_EX_INFORMATION *info = malloc(BATCH * sizeof *info);
  if (info == NULL) return -ENOMEM;
  int rc = 0;
  for (size_t i = 0; i < n && rc == 0; i += BATCH) {
    size_t k = n - i < BATCH ? n - i : BATCH;
    for (size_t j = 0; j < k; j++) info[j].VirtualAddress = (uint8_t *)addr + (i + j) * page;
    if (!QueryWorkingSetEx(GetCurrentProcess(), info, (DWORD)(k * sizeof *info))) rc = last_error();
    /* Sound: vec holds one byte per page of the range (mm.h), i + j < n. */
    else for (size_t j = 0; j < k; j++) vec[i + j] = (uint8_t)info[j].VirtualAttributes.Valid;
  }
  free(info);
  return rc;
}

typedef BOOL(WINAPI *prefetch_fn)(HANDLE, ULONG_PTR, PWIN32_MEMORY_RANGE_ENTRY, ULONG);

int mm_prefetch(void *addr, size_t length, int populate) {
  (void)populate; /* no call maps the pages too: the caller reads each one */
  /* Windows 8 and later: looked up at run time, so that the addon loads without it. */
  HMODULE kernel = GetModuleHandleW(L"kernel32.dll");
  FARPROC found = kernel != NULL ? GetProcAddress(kernel, "PrefetchVirtualMemory") : NULL;
  if (found != NULL) {
    prefetch_fn prefetch = (prefetch_fn)(void (*)(void))found;
    WIN32_MEMORY_RANGE_ENTRY range = {addr, length};
    (void)prefetch(GetCurrentProcess(), 1, &range, 0); /* a hint: reading each page follows */
  }
  return 0;
}

int mm_lock(void *addr, size_t length, int readonly) {
  (void)readonly; /* the copy-on-write question is Linux's (mm.h) */
  return VirtualLock(addr, length) ? 0 : last_error();
}

int mm_unlock(void *addr, size_t length) {
  if (VirtualUnlock(addr, length)) return 0;
  DWORD e = GetLastError();
  return e == ERROR_NOT_LOCKED ? 0 : w32_errno(e);
}

/* A tag names the section itself (mm_map): no object, no descriptor, and the
 * name goes with the last handle of the section, in any process. */
int mm_tag_open(const char *tag, int how, int readonly) {
  (void)tag; (void)how; (void)readonly;
  return -ENOSYS;
}

int mm_tag_unlink(const char *tag) {
  (void)tag;
  return -ENOSYS;
}

int mm_tag_lock(int fd, int lock) {
  (void)fd;
  (void)lock;
  return -ENOSYS;
}

/* ntdll's NtQuerySection, SectionBasicInformation (class 0): a section's
 * exact size and its attributes. Looked up at run time: the addon imports
 * only KERNEL32.dll, msvcrt.dll and node.exe. */
typedef struct {
  PVOID base;
  ULONG attributes;
  LARGE_INTEGER size;
} section_basic;
typedef LONG(NTAPI *query_section_fn)(HANDLE, int, PVOID, SIZE_T, PSIZE_T);
#ifndef SEC_FILE
#define SEC_FILE 0x800000
#endif

int w32_section_info(HANDLE section, int64_t *size, int *file) {
  HMODULE nt = GetModuleHandleW(L"ntdll.dll");
  FARPROC found = nt != NULL ? GetProcAddress(nt, "NtQuerySection") : NULL;
  if (found == NULL) return -ENOSYS;
  section_basic info;
  SIZE_T got = 0;
  if (((query_section_fn)(void (*)(void))found)(section, 0, &info, sizeof info, &got) < 0) return -EIO;
  *size = (int64_t)info.size.QuadPart;
  *file = (info.attributes & SEC_FILE) != 0;
  return 0;
}

/* The size of a file's section (a file's bytes, not whole pages); -1 for
 * pagefile memory, or where the system will not say. */
static int64_t file_section_size(HANDLE section) {
  int64_t size = 0;
  int file = 0;
  return w32_section_info(section, &size, &file) == 0 && file ? size : -1;
}

int64_t mm_tag_size(const char *tag) {
  wchar_t *w = w32_wide(tag);
  if (w == NULL) return -EINVAL;
  /* SECTION_QUERY (FILE_MAP_COPY) for NtQuerySection. */
  HANDLE section = OpenFileMappingW(FILE_MAP_READ | SECTION_QUERY, FALSE, w);
  free(w);
  if (section == NULL) return last_error();
  /* A file's section is the file's bytes: a view may not reach past them.
   * Pagefile memory is whole pages, all of which a view reaches: a view of
   * the whole section spans its size. */
  int64_t size = file_section_size(section);
  if (size < 0) {
    MEMORY_BASIC_INFORMATION info;
    void *p = MapViewOfFile(section, FILE_MAP_READ, 0, 0, 0);
    if (p == NULL) size = last_error();
    else {
      size = VirtualQuery(p, &info, sizeof info) == sizeof info ? (int64_t)info.RegionSize : last_error();
      UnmapViewOfFile(p);
    }
  }
  CloseHandle(section);
  return size;
}

int mm_has_tag_objects(void) { return 0; }

/* An object's name is a UNICODE_STRING: at most 0xFFFC bytes, 32766 UTF-16
 * code units. Windows cuts a longer one there (RtlInitUnicodeString), so that
 * two tags which differ only past it would name the same section. */
int mm_tag_max(void) { return 32766; }

/* The C runtime of Windows has no memrchr (mm.h). */
void *memrchr(const void *s, int c, size_t n) {
  const uint8_t *p = (const uint8_t *)s + n;
  /* Sound: p moves from s + n down to s, reading only [s, s + n). */
  while (n-- > 0)
    if (*--p == (uint8_t)c) return (void *)p;
  return NULL;
}

/* ------------------------------------------------------------------------ */
/* Descriptors                                                              */

int mm_fstat(int fd, int64_t *size, int *regular, uint64_t *dev, uint64_t *ino) {
  *dev = *ino = MM_NO_ID;
  HANDLE h = uv_get_osfhandle(fd);
  if (h == INVALID_HANDLE_VALUE) return -EBADF;
  *size = 0;
  *regular = 0;
  if (GetFileType(h) != FILE_TYPE_DISK) return 0;
  /* The size, what the file is (a directory is no regular file: mapping it
   * is ENODEV, as on POSIX systems) and its identity, in one call. */
  BY_HANDLE_FILE_INFORMATION info;
  if (!GetFileInformationByHandle(h, &info)) return last_error();
  if (info.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) return 0;
  *size = (int64_t)(((uint64_t)info.nFileSizeHigh << 32) | info.nFileSizeLow);
  *regular = 1;
  *dev = info.dwVolumeSerialNumber;
  *ino = ((uint64_t)info.nFileIndexHigh << 32) | info.nFileIndexLow;
  return 0;
}

int mm_file_id(int fd, uint64_t *dev, uint64_t *ino, int64_t *size) {
  HANDLE h = uv_get_osfhandle(fd);
  if (h == INVALID_HANDLE_VALUE) return -EBADF;
  BY_HANDLE_FILE_INFORMATION info;
  if (!GetFileInformationByHandle(h, &info)) return last_error();
  *dev = info.dwVolumeSerialNumber;
  *ino = ((uint64_t)info.nFileIndexHigh << 32) | info.nFileIndexLow;
  if (size != NULL) *size = (int64_t)(((uint64_t)info.nFileSizeHigh << 32) | info.nFileSizeLow);
  return 0;
}

int mm_truncate(int fd, int64_t size) {
  HANDLE h = uv_get_osfhandle(fd);
  if (h == INVALID_HANDLE_VALUE) return -EBADF;
  return w32_set_file_size(h, size);
}

int mm_dup(int fd) {
  HANDLE h = uv_get_osfhandle(fd), copy;
  if (h == INVALID_HANDLE_VALUE) return -EBADF;
  /* Not inheritable: the Windows counterpart of close-on-exec. */
  if (!DuplicateHandle(GetCurrentProcess(), h, GetCurrentProcess(), &copy, 0, FALSE, DUPLICATE_SAME_ACCESS))
    return last_error();
  int d = uv_open_osfhandle(copy);
  if (d < 0) {
    CloseHandle(copy);
    return -EMFILE;
  }
  return d;
}

int mm_close(int fd) {
  uv_fs_t req;
  int rc = uv_fs_close(uv_default_loop(), &req, fd, NULL);
  uv_fs_req_cleanup(&req);
  return rc == 0 ? 0 : -EBADF;
}

/* Anonymous memory another process can map is a named section (tagname). */
int mm_memfd(int64_t size) {
  (void)size;
  return -ENOSYS;
}

/* The C runtime's limit on descriptors (the lowio table of the UCRT). */
int64_t mm_fd_limit(void) { return 8192; }

static SYSTEM_INFO *system_info(void) {
  static SYSTEM_INFO info;
  static INIT_ONCE once = INIT_ONCE_STATIC_INIT;
  BOOL pending = FALSE;
  if (InitOnceBeginInitialize(&once, 0, &pending, NULL) && pending) {
    GetSystemInfo(&info);
    InitOnceComplete(&once, 0, NULL);
  }
  return &info;
}

long mm_pagesize(void) { return (long)system_info()->dwPageSize; }

long mm_granularity(void) { return (long)system_info()->dwAllocationGranularity; }

/* CPython defines none of these on Windows; memmap keeps its own values so
 * that code written with flags/prot runs unchanged (see docs/python.md). */
#define C(x) {#x, (int64_t)(x)}
static const mm_constant constants[] = {
    C(PROT_READ), C(PROT_WRITE), C(PROT_EXEC), C(MAP_SHARED), C(MAP_PRIVATE), C(MAP_ANONYMOUS),
    C(MS_SYNC),   C(MS_ASYNC),   C(MS_INVALIDATE),
};
#undef C

const mm_constant *mm_constants(size_t *count) {
  *count = sizeof constants / sizeof constants[0];
  return constants;
}

/* ------------------------------------------------------------------------ */
/* Fault containment (guard.c, fault-win32.c)                               */

/* A read-only view is a copy-on-write view protected PAGE_READONLY
 * (protections): PAGE_WRITECOPY lets writes land in private copies of their
 * pages, never in the file or the section. */
int mm__protect_private(void *addr, size_t length) {
  DWORD old;
  return VirtualProtect(addr, length, PAGE_WRITECOPY, &old) ? 0 : last_error();
}

int mm__page_private_copy(void *page, size_t size) { return mm__protect_private(page, size); }

/* A file cannot shrink under a view on Windows, and an in-page error is not
 * contained (fault-win32.c): guard.c never gets to these. */
void mm__spares_keep(int start) { (void)start; } /* no limit on the number of views to spare for */

int mm__map_zeros(void *addr, size_t length) {
  (void)addr; (void)length;
  return -ENOSYS;
}

int mm__map_file_again(void *addr, size_t length, int prot, int flags, int fd, int64_t offset,
                       int writable) {
  (void)addr; (void)length; (void)prot; (void)flags; (void)fd; (void)offset; (void)writable;
  return -ENOSYS;
}

int64_t mm__file_size(int fd) {
  int64_t size = 0;
  int regular = 0;
  uint64_t dev, ino;
  int rc = mm_fstat(fd, &size, &regular, &dev, &ino);
  return rc < 0 ? rc : size;
}

int mm__io_errno(int fd, int64_t offset, size_t length) {
  (void)fd; (void)offset; (void)length;
  return EIO;
}

int mm__readable(const void *addr) {
  (void)addr;
  return 0;
}

int mm__readable_init(void) { return 0; }

uintptr_t mm__thread_id(void) { return (uintptr_t)GetCurrentThreadId() + 1; }

uintptr_t mm_thread_id(void) { return mm__thread_id(); }

void mm_yield(void) { SwitchToThread(); }

