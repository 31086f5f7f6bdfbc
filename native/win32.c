/*
 * win32.c: mm.h on Windows, over CreateFileMappingW / MapViewOfFile /
 * FlushViewOfFile / UnmapViewOfFile.
 *
 * Descriptors. JavaScript holds C runtime descriptors of node.exe (fs.openSync);
 * the addon's own C runtime does not know them, so every one becomes a HANDLE
 * through uv_get_osfhandle, imported from node.exe. A duplicate a map owns
 * (mm_dup) is a HANDLE duplicated and wrapped in a new node.exe descriptor
 * (uv_open_osfhandle): JavaScript can use it like any descriptor, and
 * mm_close closes it through libuv (uv_fs_close), which closes it in node.exe's
 * C runtime.
 *
 * Views. Each view has a record (its section handle, its own duplicate of the
 * file handle, its tag and protections), found by the view's address: mm.h
 * passes only addresses, as on POSIX systems.
 *
 * Errors. GetLastError() becomes a negative errno of the C runtime (EACCES,
 * EBUSY, ...): see errno_of. src/errors.ts turns it into Node's error code.
 *
 * The PROT_*, MAP_* and MS_* values are memmap's own (mm.h): a shared read-only
 * view is a copy-on-write view (FILE_MAP_COPY) protected PAGE_READONLY, so that
 * fault-win32.c can turn a write through it into a private copy of the page.
 */
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
/* After windows.h: QueryWorkingSetEx is K32QueryWorkingSetEx, in KERNEL32.dll. */
#include <psapi.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "platform.h"

/* ------------------------------------------------------------------------ */
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

/* ------------------------------------------------------------------------ */
/* Errors                                                                   */

/* GetLastError() as a negative errno; EIO for what has no closer meaning. */
static int errno_of(DWORD e) {
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

static int last_error(void) { return errno_of(GetLastError()); }

/* ------------------------------------------------------------------------ */
/* Views                                                                    */

typedef struct record {
  uint8_t *addr;
  size_t length;
  HANDLE section;
  HANDLE file;   /* the record's own duplicate, or INVALID_HANDLE_VALUE (pagefile) */
  wchar_t *tag;  /* or NULL */
  DWORD protect; /* of the section */
  DWORD access;  /* of the view */
  int readonly;  /* the view is protected PAGE_READONLY after mapping */
  struct record *next;
} record;

static record *records = NULL;
static SRWLOCK records_lock = SRWLOCK_INIT;

/* The record of the view that holds addr (its start when exact). */
static record *record_find(const void *addr, int exact) {
  AcquireSRWLockShared(&records_lock);
  record *r = records;
  const uint8_t *a = addr;
  while (r != NULL && !(exact ? r->addr == a : (a >= r->addr && a < r->addr + r->length))) r = r->next;
  ReleaseSRWLockShared(&records_lock);
  return r;
}

static void record_unlink(record *rec) {
  AcquireSRWLockExclusive(&records_lock);
  record **p = &records;
  while (*p != NULL && *p != rec) p = &(*p)->next;
  if (*p == rec) *p = rec->next;
  ReleaseSRWLockExclusive(&records_lock);
}

static void record_free(record *rec) {
  if (rec->section != NULL) CloseHandle(rec->section);
  if (rec->file != INVALID_HANDLE_VALUE) CloseHandle(rec->file);
  free(rec->tag);
  free(rec);
}

static DWORD hi32(uint64_t n) { return (DWORD)(n >> 32); }
static DWORD lo32(uint64_t n) { return (DWORD)(n & 0xffffffffu); }

/* A new section of `size` bytes for rec (named rec->tag). `fresh` refuses an
 * existing section of that name (a resize must not reuse another's). */
static int section_create(record *rec, uint64_t size, int fresh) {
  SetLastError(ERROR_SUCCESS); /* ERROR_ALREADY_EXISTS below must be this call's */
  HANDLE s = CreateFileMappingW(rec->file, NULL, rec->protect, hi32(size), lo32(size), rec->tag);
  if (s == NULL) return last_error();
  if (fresh && rec->tag != NULL && GetLastError() == ERROR_ALREADY_EXISTS) {
    CloseHandle(s);
    return -EBUSY;
  }
  rec->section = s;
  return 0;
}

/* Maps `length` bytes of rec's section from `offset`, at `want` if possible. */
static int view_map(record *rec, int64_t offset, size_t length, void *want) {
  void *p = NULL;
  if (want != NULL)
    p = MapViewOfFileEx(rec->section, rec->access, hi32((uint64_t)offset), lo32((uint64_t)offset), length, want);
  if (p == NULL)
    p = MapViewOfFile(rec->section, rec->access, hi32((uint64_t)offset), lo32((uint64_t)offset), length);
  if (p == NULL) return last_error();
  DWORD old;
  if (rec->readonly && !VirtualProtect(p, length, PAGE_READONLY, &old)) {
    int e = last_error();
    UnmapViewOfFile(p);
    return e;
  }
  rec->addr = p;
  rec->length = length;
  return 0;
}

static wchar_t *wide(const char *s) {
  int n = MultiByteToWideChar(CP_UTF8, 0, s, -1, NULL, 0);
  if (n <= 0) return NULL;
  wchar_t *w = malloc((size_t)n * sizeof *w);
  if (w != NULL && MultiByteToWideChar(CP_UTF8, 0, s, -1, w, n) <= 0) {
    free(w);
    return NULL;
  }
  return w;
}

/* The section protection and view access for prot/flags (see the top). */
static void protections(record *rec, int prot, int flags) {
  int exec = (prot & PROT_EXEC) != 0;
  if ((flags & MAP_PRIVATE) && (rec->file != INVALID_HANDLE_VALUE || rec->tag != NULL)) {
    rec->protect = exec ? PAGE_EXECUTE_WRITECOPY : PAGE_WRITECOPY;
    rec->access = FILE_MAP_COPY;
  } else if ((prot & PROT_WRITE) || (flags & MAP_PRIVATE)) {
    /* A private unnamed pagefile section is nobody else's: plain read-write. */
    rec->protect = exec ? PAGE_EXECUTE_READWRITE : PAGE_READWRITE;
    rec->access = FILE_MAP_WRITE;
  } else {
    rec->protect = exec ? PAGE_EXECUTE_READ : PAGE_READONLY;
    rec->access = FILE_MAP_COPY;
    rec->readonly = 1;
  }
  if (exec) rec->access |= FILE_MAP_EXECUTE;
}

int mm_map(size_t length, int prot, int flags, int fd, int64_t offset, const char *tag, void **out) {
  record *rec = calloc(1, sizeof *rec);
  if (rec == NULL) return -ENOMEM;
  rec->file = INVALID_HANDLE_VALUE;
  int rc = 0;
  if (tag != NULL && (rec->tag = wide(tag)) == NULL) rc = -EINVAL;
  if (rc == 0 && fd >= 0) {
    HANDLE h = uv_get_osfhandle(fd);
    if (h == INVALID_HANDLE_VALUE) rc = -EBADF;
    else if (!DuplicateHandle(GetCurrentProcess(), h, GetCurrentProcess(), &rec->file, 0, FALSE,
                              DUPLICATE_SAME_ACCESS)) {
      rec->file = INVALID_HANDLE_VALUE;
      rc = last_error();
    }
  }
  if (rc == 0) {
    protections(rec, prot, flags);
    rc = section_create(rec, (uint64_t)offset + length, 0);
  }
  if (rc == 0) rc = view_map(rec, offset, length, NULL);
  if (rc != 0) {
    record_free(rec);
    return rc;
  }
  AcquireSRWLockExclusive(&records_lock);
  rec->next = records;
  records = rec;
  ReleaseSRWLockExclusive(&records_lock);
  *out = rec->addr;
  return 0;
}

int mm_unmap(void *addr, size_t length) {
  (void)length;
  record *rec = record_find(addr, 1);
  if (rec == NULL) return -EINVAL;
  record_unlink(rec);
  int rc = UnmapViewOfFile(addr) ? 0 : last_error();
  record_free(rec);
  return rc;
}

static int file_size(HANDLE h, int64_t *size) {
  LARGE_INTEGER n;
  if (!GetFileSizeEx(h, &n)) return last_error();
  *size = n.QuadPart;
  return 0;
}

static int set_file_size(HANDLE h, int64_t size) {
  FILE_END_OF_FILE_INFO info;
  info.EndOfFile.QuadPart = size;
  return SetFileInformationByHandle(h, FileEndOfFileInfo, &info, sizeof info) ? 0 : last_error();
}

/* Anonymous (pagefile) memory: a new section, the data copied over. A named
 * one cannot be: its name is held by the section in use. */
static int remap_anonymous(record *rec, size_t new_length, int64_t offset) {
  record fresh = *rec;
  fresh.section = NULL;
  int rc = section_create(&fresh, (uint64_t)offset + new_length, 1);
  if (rc == 0 && (rc = view_map(&fresh, offset, new_length, NULL)) != 0) CloseHandle(fresh.section);
  if (rc != 0) return rc;
  /* Sound: both views are mapped, readable and writable (a resize needs a writable map), and
   * the copy stops at the shorter of the two lengths. */
  memcpy(fresh.addr, rec->addr, rec->length < new_length ? rec->length : new_length);
  UnmapViewOfFile(rec->addr);
  CloseHandle(rec->section);
  rec->section = fresh.section;
  rec->addr = fresh.addr;
  rec->length = new_length;
  return 0;
}

/* A file: Windows sizes a file only while no view maps the part that goes, so
 * the view and section are closed, the file sized, and both made anew. On
 * failure the old size and view come back (see mm.h). */
static int remap_file(record *rec, size_t new_length, int64_t offset) {
  int64_t old_size = 0;
  int rc = file_size(rec->file, &old_size);
  if (rc != 0) return rc;
  void *old_addr = rec->addr;
  size_t old_length = rec->length;
  UnmapViewOfFile(old_addr);
  CloseHandle(rec->section);
  rec->section = NULL;
  rc = set_file_size(rec->file, offset + (int64_t)new_length);
  if (rc == 0) rc = section_create(rec, (uint64_t)offset + new_length, 1);
  if (rc == 0 && (rc = view_map(rec, offset, new_length, old_addr)) != 0) {
    CloseHandle(rec->section);
    rec->section = NULL;
  }
  if (rc == 0) return 0;
  /* Put back what was there. */
  set_file_size(rec->file, old_size);
  if (section_create(rec, (uint64_t)offset + old_length, 0) != 0 ||
      view_map(rec, offset, old_length, old_addr) != 0) {
    rec->addr = NULL;
  }
  return rc;
}

int mm_remap(void *addr, size_t old_length, size_t new_length, int prot, int flags, int fd,
             int64_t offset, int portable, void **out) {
  (void)old_length; (void)prot; (void)flags; (void)fd; (void)portable;
  record *rec = record_find(addr, 1);
  if (rec == NULL) return -EINVAL;
  int rc = rec->file == INVALID_HANDLE_VALUE ? remap_anonymous(rec, new_length, offset)
                                              : remap_file(rec, new_length, offset);
  *out = rec->addr;
  if (rec->addr == NULL) {
    record_unlink(rec);
    record_free(rec);
  }
  return rc;
}

/* Windows replaces a view atomically only with placeholders (VirtualAlloc2,
 * MapViewOfFile3), which memmap does not use yet. */
int mm_reserve(void *addr, size_t length) {
  (void)addr;
  (void)length;
  return -ENOTSUP;
}

int mm_has_reserve(void) { return 0; }

void *mm_runtime_symbol(const char *name) {
  /* node.exe exports its Node-API functions by name. */
  return (void *)GetProcAddress(GetModuleHandleW(NULL), name);
}

int mm_remap_sizes_file(void) { return 1; }

int mm_has_mremap(void) { return 0; }

int mm_has_madvise(void) { return 0; }
int mm_has_memfd(void) { return 0; }
int mm_has_tagname(void) { return 1; }

const char *mm_remap_syscall(int portable) {
  (void)portable;
  return "MapViewOfFile";
}

int mm_sync(void *addr, size_t length, int flags) {
  /* FlushViewOfFile takes 0 as "to the end of the view": an empty range flushes nothing. */
  if (length == 0) return 0;
  if (!FlushViewOfFile(addr, length)) return last_error();
  record *rec = record_find(addr, 0);
  /* MS_SYNC: the data reaches the disk, not only the system's cache. */
  if ((flags & MS_SYNC) && rec != NULL && rec->file != INVALID_HANDLE_VALUE && !FlushFileBuffers(rec->file))
    return last_error();
  return 0;
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

int mm_lock(void *addr, size_t length) { return VirtualLock(addr, length) ? 0 : last_error(); }

int mm_unlock(void *addr, size_t length) {
  if (VirtualUnlock(addr, length)) return 0;
  DWORD e = GetLastError();
  return e == ERROR_NOT_LOCKED ? 0 : errno_of(e);
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

int64_t mm_tag_size(const char *tag) {
  wchar_t *w = wide(tag);
  if (w == NULL) return -EINVAL;
  HANDLE section = OpenFileMappingW(FILE_MAP_READ, FALSE, w);
  free(w);
  if (section == NULL) return last_error();
  /* A view of the whole section spans its size, in whole pages. */
  int64_t size;
  MEMORY_BASIC_INFORMATION info;
  void *p = MapViewOfFile(section, FILE_MAP_READ, 0, 0, 0);
  if (p == NULL) size = last_error();
  else {
    size = VirtualQuery(p, &info, sizeof info) == sizeof info ? (int64_t)info.RegionSize : last_error();
    UnmapViewOfFile(p);
  }
  CloseHandle(section);
  return size;
}

int mm_has_tag_objects(void) { return 0; }

int mm_tag_max(void) { return 0; }

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

int mm_fstat(int fd, int64_t *size, int *regular) {
  HANDLE h = uv_get_osfhandle(fd);
  if (h == INVALID_HANDLE_VALUE) return -EBADF;
  DWORD type = GetFileType(h);
  if (type != FILE_TYPE_DISK) {
    *size = 0;
    *regular = 0;
    return 0;
  }
  int rc = file_size(h, size);
  if (rc == 0) *regular = 1;
  return rc;
}

int mm_file_id(int fd, uint64_t *dev, uint64_t *ino) {
  HANDLE h = uv_get_osfhandle(fd);
  if (h == INVALID_HANDLE_VALUE) return -EBADF;
  BY_HANDLE_FILE_INFORMATION info;
  if (!GetFileInformationByHandle(h, &info)) return last_error();
  *dev = info.dwVolumeSerialNumber;
  *ino = ((uint64_t)info.nFileIndexHigh << 32) | info.nFileIndexLow;
  return 0;
}

int mm_truncate(int fd, int64_t size) {
  HANDLE h = uv_get_osfhandle(fd);
  if (h == INVALID_HANDLE_VALUE) return -EBADF;
  return set_file_size(h, size);
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
  int rc = mm_fstat(fd, &size, &regular);
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

void mm__yield(void) { SwitchToThread(); }

/* ------------------------------------------------------------------------ */
/* Waiting (wait-win32.c)                                                   */

/* FNV-1a over the bytes of a string, from a given basis. */
static uint64_t fnv1a(const wchar_t *s, uint64_t hash) {
  for (; *s != 0; s++) {
    hash ^= (uint64_t)(uint16_t)*s;
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

int mm__view_identity(const void *addr, uint64_t id[2]) {
  record *rec = record_find(addr, 0);
  /* Copy-on-write views of MAP_PRIVATE maps, and unnamed pagefile sections,
   * are this process's alone. */
  if (rec == NULL || rec->protect == PAGE_WRITECOPY || rec->protect == PAGE_EXECUTE_WRITECOPY) return 0;
  if (rec->tag != NULL) {
    /* A named section is the same object wherever its name is opened: the
     * name, hashed twice (128 bits), with the top bit telling it from a file. */
    id[0] = fnv1a(rec->tag, 0xcbf29ce484222325ULL) | (1ULL << 63);
    id[1] = fnv1a(rec->tag, 0x84222325cbf29ce4ULL);
    return 1;
  }
  BY_HANDLE_FILE_INFORMATION info;
  if (rec->file == INVALID_HANDLE_VALUE || !GetFileInformationByHandle(rec->file, &info)) return 0;
  /* A file is its volume and its index on it, whatever path opened it. */
  id[0] = (uint64_t)info.dwVolumeSerialNumber;
  id[1] = ((uint64_t)info.nFileIndexHigh << 32) | info.nFileIndexLow;
  return 1;
}
