/*
 * win32.c: mm.h on Windows, over CreateFileMappingW / MapViewOfFile /
 * FlushViewOfFile / UnmapViewOfFile: views, placeholders, map, unmap, remap
 * and sync here; what needs no view record in win32-system.c.
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
 * Placeholders (Windows 10 1803 and later: VirtualAlloc2, MapViewOfFile3,
 * UnmapViewOfFile2, taken from kernelbase.dll at run time, and used only once
 * a probe showed they work, so that the addon loads and behaves where they are
 * missing or partial, as in Wine 8). Each view is mapped into a placeholder, so
 * that it can become one again: retiring a range (mm_placeholder) unmaps the
 * view keeping its addresses reserved, then puts committed zeros in their
 * place. Between the two the range is reserved but inaccessible: a thread that
 * touches it meanwhile waits in the exception handler (mm__retired_fault) until
 * the zeros are there. Resizing a file, which needs its view unmapped, keeps
 * the old addresses reserved the same way. Without placeholders a retired
 * view is unmapped and its addresses reserved again at once (VirtualAlloc at
 * the same address): the same, but for the instant in between, in which
 * another thread mapping memory could take them (docs/safety.md).
 *
 * Errors. GetLastError() becomes a negative errno of the C runtime (EACCES,
 * EBUSY, ...): see errno_of. src/errors.ts turns it into Node's error code.
 *
 * The PROT_*, MAP_* and MS_* values are memmap's own (mm.h): a shared read-only
 * view is a copy-on-write view (FILE_MAP_COPY) protected PAGE_READONLY, so that
 * fault-win32.c can turn a write through it into a private copy of the page.
 */
#include "win32.h"
/* After windows.h: GetMappedFileNameW is K32GetMappedFileNameW, in KERNEL32.dll. */
#include <psapi.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <wchar.h>

/* ------------------------------------------------------------------------ */
/* Placeholders                                                             */

#ifndef MEM_RESERVE_PLACEHOLDER
#define MEM_RESERVE_PLACEHOLDER 0x00040000
#endif
#ifndef MEM_REPLACE_PLACEHOLDER
#define MEM_REPLACE_PLACEHOLDER 0x00004000
#endif
#ifndef MEM_PRESERVE_PLACEHOLDER
#define MEM_PRESERVE_PLACEHOLDER 0x00000002
#endif

typedef PVOID(WINAPI *virtual_alloc2_fn)(HANDLE, PVOID, SIZE_T, ULONG, ULONG, void *, ULONG);
typedef PVOID(WINAPI *map_view3_fn)(HANDLE, HANDLE, PVOID, ULONG64, SIZE_T, ULONG, ULONG, void *, ULONG);
typedef BOOL(WINAPI *unmap_view2_fn)(HANDLE, PVOID, ULONG);

static struct {
  virtual_alloc2_fn alloc2;
  map_view3_fn map3;
  unmap_view2_fn unmap2;
  int usable; /* all three found, and the probe showed them doing what memmap needs */
} ph;

static size_t page_span(size_t length) {
  size_t page = (size_t)mm_pagesize();
  return (length + page - 1) / page * page;
}

/* A placeholder of `span` bytes (reserved, inaccessible, replaceable). */
static void *ph_reserve(size_t span) {
  return ph.alloc2(GetCurrentProcess(), NULL, span, MEM_RESERVE | MEM_RESERVE_PLACEHOLDER, PAGE_NOACCESS, NULL, 0);
}

/* Committed zeros in place of the placeholder at addr; else (no commit left)
 * reserved memory that the exception handler commits a page at a time on
 * first touch (*lazy = 1). NULL when neither could be had. */
static void *ph_zeros(void *addr, size_t span, int *lazy) {
  HANDLE proc = GetCurrentProcess();
  *lazy = 0;
  void *z = ph.alloc2(proc, addr, span, MEM_RESERVE | MEM_COMMIT | MEM_REPLACE_PLACEHOLDER, PAGE_READWRITE, NULL, 0);
  if (z != NULL) return z;
  *lazy = 1;
  return ph.alloc2(proc, addr, span, MEM_RESERVE | MEM_REPLACE_PLACEHOLDER, PAGE_READWRITE, NULL, 0);
}

/* The sequence memmap relies on, tried once on a view of 1 page + 1 byte of
 * pagefile memory: map into a placeholder exactly; unmap keeping it (and the
 * range really still reserved: Wine 8 reports success and frees it); zeros
 * in its place. */
static int ph_works(void) {
  HANDLE proc = GetCurrentProcess();
  size_t length = (size_t)mm_pagesize() + 1, span = page_span(length);
  HANDLE s = CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, (DWORD)length, NULL);
  if (s == NULL) return 0;
  int ok = 0;
  uint8_t *p = ph_reserve(span), *v = NULL, *z = NULL;
  if (p != NULL) v = ph.map3(s, proc, p, 0, length, MEM_REPLACE_PLACEHOLDER, PAGE_READWRITE, NULL, 0);
  if (v != NULL && v != p) {
    UnmapViewOfFile(v); /* mapped elsewhere: the placeholder was ignored */
    v = NULL;
  }
  if (v != NULL) {
    v[0] = 1;
    MEMORY_BASIC_INFORMATION mbi;
    int kept = ph.unmap2(proc, v, MEM_PRESERVE_PLACEHOLDER) && VirtualQuery(p, &mbi, sizeof mbi) == sizeof mbi &&
               mbi.State == MEM_RESERVE && mbi.RegionSize >= span;
    int lazy = 0;
    if (kept) z = ph_zeros(p, span, &lazy);
    ok = z == p && !lazy && p[0] == 0;
    if (z != NULL) VirtualFree(z, 0, MEM_RELEASE);
    else if (kept) VirtualFree(p, 0, MEM_RELEASE);
    /* else: the range is free already (or still a view: leaked, one page) */
  } else if (p != NULL) {
    VirtualFree(p, 0, MEM_RELEASE);
  }
  CloseHandle(s);
  return ok;
}

static BOOL CALLBACK ph_init(PINIT_ONCE once, PVOID param, PVOID *context) {
  (void)once; (void)param; (void)context;
  HMODULE kb = GetModuleHandleW(L"kernelbase.dll");
  if (kb == NULL) return TRUE;
  ph.alloc2 = (virtual_alloc2_fn)(void *)GetProcAddress(kb, "VirtualAlloc2");
  ph.map3 = (map_view3_fn)(void *)GetProcAddress(kb, "MapViewOfFile3");
  ph.unmap2 = (unmap_view2_fn)(void *)GetProcAddress(kb, "UnmapViewOfFile2");
  ph.usable = ph.alloc2 != NULL && ph.map3 != NULL && ph.unmap2 != NULL && ph_works();
  return TRUE;
}

static int ph_usable(void) {
  static INIT_ONCE once = INIT_ONCE_STATIC_INIT;
  InitOnceExecuteOnce(&once, ph_init, NULL, NULL);
  return ph.usable;
}

int mm_has_placeholders(void) { return ph_usable(); }

/* ------------------------------------------------------------------------ */
/* Views                                                                    */

/* What a view's section maps: rec->file (every untagged file map, and a tag
 * this map made from its file), the paging file, or a file a section of that
 * name maps that existed before (which may be another file than rec->file). */
enum { BACK_OWN_FILE, BACK_PAGEFILE, BACK_SOME_FILE };

/* What a record's range is: a view, or a range that left the mapping
 * (mm_placeholder, a resize) on its way to zeros, or zeros. */
enum { REC_VIEW, REC_RETIRING, REC_ZEROS, REC_ZEROS_LAZY };

typedef struct record {
  uint8_t *addr;
  size_t length;
  HANDLE section;
  HANDLE file;   /* the record's own duplicate, or INVALID_HANDLE_VALUE (pagefile) */
  wchar_t *tag;  /* or NULL */
  DWORD protect; /* of the section */
  DWORD access;  /* of the view */
  int readonly;  /* the view is protected PAGE_READONLY after mapping */
  int placeholder;     /* the view was mapped into a placeholder, and can become one again */
  int backing;         /* BACK_*: what the section maps (a tagged view's may be another's file) */
  volatile LONG state; /* REC_*: read by the exception handler */
  struct record *next;
} record;

static record *records = NULL;
static SRWLOCK records_lock = SRWLOCK_INIT;
/* Records not in REC_VIEW state: the exception handler looks only while > 0. */
static volatile LONG retired = 0;

/* The record of the view that holds addr (its start when exact). */
static record *record_find(const void *addr, int exact) {
  AcquireSRWLockShared(&records_lock);
  record *r = records;
  const uint8_t *a = addr;
  while (r != NULL && !(exact ? r->addr == a : (a >= r->addr && a < r->addr + r->length))) r = r->next;
  ReleaseSRWLockShared(&records_lock);
  return r;
}

static void record_link(record *rec) {
  AcquireSRWLockExclusive(&records_lock);
  rec->next = records;
  records = rec;
  ReleaseSRWLockExclusive(&records_lock);
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
  int existed = rec->tag != NULL && GetLastError() == ERROR_ALREADY_EXISTS;
  if (fresh && existed) {
    CloseHandle(s);
    return -EBUSY;
  }
  rec->section = s;
  int64_t bytes = 0;
  int file = rec->file != INVALID_HANDLE_VALUE;
  if (existed && w32_section_info(s, &bytes, &file) != 0) file = 1; /* unknown: as a file's */
  rec->backing = !file ? BACK_PAGEFILE : existed ? BACK_SOME_FILE : BACK_OWN_FILE;
  return 0;
}

/* The page protection of a view mapped with rec->access (MapViewOfFile3
 * takes a protection, MapViewOfFile an access). */
static ULONG view_protection(const record *rec) {
  int exec = (rec->access & FILE_MAP_EXECUTE) != 0;
  if ((rec->access & ~(DWORD)FILE_MAP_EXECUTE) == FILE_MAP_COPY) return exec ? PAGE_EXECUTE_WRITECOPY : PAGE_WRITECOPY;
  return exec ? PAGE_EXECUTE_READWRITE : PAGE_READWRITE;
}

/* Maps `length` bytes of rec's section from `offset`: into the placeholder at
 * `into` (of page_span(length) bytes: a view unmapped with its placeholder
 * kept); else, where placeholders work, into a new one (at `want` if those
 * addresses are free, else anywhere); else at `want` if possible, else
 * anywhere. */
static int view_map(record *rec, int64_t offset, size_t length, void *want, void *into) {
  void *p = NULL;
  HANDLE proc = GetCurrentProcess();
  size_t span = page_span(length);
  int own = 0; /* `into` is a placeholder made here */
  rec->placeholder = 0;
  if (into == NULL && ph_usable()) {
    if (want != NULL) into = ph.alloc2(proc, want, span, MEM_RESERVE | MEM_RESERVE_PLACEHOLDER, PAGE_NOACCESS, NULL, 0);
    if (into == NULL) into = ph_reserve(span);
    own = into != NULL;
  }
  if (into != NULL) {
    p = ph.map3(rec->section, proc, into, (ULONG64)offset, length, MEM_REPLACE_PLACEHOLDER, view_protection(rec), NULL, 0);
    if (p != NULL) rec->placeholder = 1;
    else if (own) VirtualFree(into, 0, MEM_RELEASE);
    else return last_error();
  }
  if (p == NULL && want != NULL)
    p = MapViewOfFileEx(rec->section, rec->access, hi32((uint64_t)offset), lo32((uint64_t)offset), length, want);
  if (p == NULL)
    p = MapViewOfFile(rec->section, rec->access, hi32((uint64_t)offset), lo32((uint64_t)offset), length);
  if (p == NULL) return last_error();
  DWORD old;
  if (rec->readonly && !VirtualProtect(p, length, PAGE_READONLY, &old)) {
    int e = last_error();
    /* Unmapping keeps the caller's placeholder, frees one made here. */
    if (rec->placeholder && !own) ph.unmap2(proc, p, MEM_PRESERVE_PLACEHOLDER);
    else UnmapViewOfFile(p);
    return e;
  }
  rec->addr = p;
  rec->length = length;
  return 0;
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
  if (tag != NULL && (rec->tag = w32_wide(tag)) == NULL) rc = -EINVAL;
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
    /* What mmap says of a descriptor that names no regular file (a directory,
     * a pipe, a device), for Windows' varied errors. */
    BY_HANDLE_FILE_INFORMATION info;
    if (rc != 0 && rec->file != INVALID_HANDLE_VALUE &&
        (GetFileType(rec->file) != FILE_TYPE_DISK ||
         (GetFileInformationByHandle(rec->file, &info) && (info.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY))))
      rc = -ENODEV;
  }
  if (rc == 0) rc = view_map(rec, offset, length, NULL, NULL);
  if (rc != 0) {
    record_free(rec);
    return rc;
  }
  record_link(rec);
  *out = rec->addr;
  return 0;
}

int mm_unmap(void *addr, size_t length) {
  (void)length;
  record *rec = record_find(addr, 1);
  if (rec == NULL) return -EINVAL;
  record_unlink(rec);
  int rc;
  if (rec->state == REC_VIEW) {
    rc = UnmapViewOfFile(addr) ? 0 : last_error(); /* a placeholder under it goes too */
  } else {
    rc = VirtualFree(addr, 0, MEM_RELEASE) ? 0 : last_error();
    InterlockedDecrement(&retired);
  }
  record_free(rec);
  return rc;
}

void mm_unname(void *addr) {
  record *rec = record_find(addr, 1);
  /* Sound: no job uses the section's handle (sync, wait and prefetch use the
   * view, the file's handle and the tag): only resize and unmap do. */
  if (rec == NULL || rec->state != REC_VIEW || rec->tag == NULL || rec->section == NULL) return;
  CloseHandle(rec->section);
  rec->section = NULL;
}

/* Lets go of a view's section and file (the range stays reserved). */
static void record_drop_section(record *rec) {
  if (rec->section != NULL) CloseHandle(rec->section);
  if (rec->file != INVALID_HANDLE_VALUE) CloseHandle(rec->file);
  rec->section = NULL;
  rec->file = INVALID_HANDLE_VALUE;
}

/* A range on its way to zeros (REC_RETIRING, reserved) gets them: committed,
 * or committed by the exception handler a page at a time on first touch. */
static int record_fill_zeros(record *rec) {
  int lazy = 0;
  if (rec->placeholder) {
    if (ph_zeros(rec->addr, rec->length, &lazy) == NULL) return last_error(); /* stays RETIRING */
  } else {
    lazy = VirtualAlloc(rec->addr, rec->length, MEM_COMMIT, PAGE_READWRITE) == NULL;
  }
  InterlockedExchange(&rec->state, lazy ? REC_ZEROS_LAZY : REC_ZEROS);
  return 0;
}

/* Unmaps the view at rec->addr keeping its addresses reserved (rec is
 * REC_RETIRING: a thread touching them waits). With a placeholder that is
 * one call; without, the view is unmapped and the same addresses reserved
 * again at once: -EAGAIN when another thread took them in that instant (the
 * view is gone all the same). Other errors: nothing changed. */
static int record_keep(record *rec) {
  if (rec->placeholder)
    return ph.unmap2(GetCurrentProcess(), rec->addr, MEM_PRESERVE_PLACEHOLDER) ? 0 : last_error();
  if (!UnmapViewOfFile(rec->addr)) return last_error();
  return VirtualAlloc(rec->addr, rec->length, MEM_RESERVE, PAGE_NOACCESS) == rec->addr ? 0 : -EAGAIN;
}

/* Takes a record of a range that left a mapping off the list and frees it
 * (its memory is someone else's business now). */
static void record_forget(record *rec) {
  record_unlink(rec);
  if (rec->state != REC_VIEW) InterlockedDecrement(&retired);
  rec->section = NULL; /* never owned */
  record_free(rec);
}

int mm_placeholder(void *addr, size_t length) {
  record *rec = record_find(addr, 1);
  if (rec == NULL) return -EINVAL;
  if (rec->state == REC_ZEROS || rec->state == REC_ZEROS_LAZY) return 0;
  if (rec->state == REC_VIEW) {
    /* Part of a view cannot be retired (nor does resize ask it here). */
    if (page_span(length) != page_span(rec->length)) return -ENOTSUP;
    size_t view_length = rec->length;
    InterlockedIncrement(&retired);
    rec->length = page_span(view_length);
    InterlockedExchange(&rec->state, REC_RETIRING); /* from here, a touch waits in the handler */
    int rc = record_keep(rec);
    if (rc != 0 && rc != -EAGAIN) {
      rec->length = view_length;
      InterlockedExchange(&rec->state, REC_VIEW);
      InterlockedDecrement(&retired);
      return rc;
    }
    record_drop_section(rec);
    if (rc == -EAGAIN) {
      record_forget(rec); /* unmapped, and its addresses taken meanwhile (no placeholders) */
      return rc;
    }
  }
  return record_fill_zeros(rec);
}

/* A record for a range that left a mapping, in `state` (REC_VIEW: the old
 * view itself, with its section; REC_RETIRING: its placeholder). */
static record *record_left(const record *from, int state) {
  record *lo = calloc(1, sizeof *lo);
  if (lo == NULL) return NULL;
  lo->addr = from->addr;
  lo->length = state == REC_VIEW ? from->length : page_span(from->length);
  lo->section = state == REC_VIEW ? from->section : NULL;
  lo->file = INVALID_HANDLE_VALUE;
  lo->readonly = from->readonly;
  lo->placeholder = from->placeholder;
  lo->state = state;
  if (state != REC_VIEW) InterlockedIncrement(&retired);
  return lo;
}

int mm__retired_fault(uintptr_t addr) {
  if (InterlockedCompareExchange(&retired, 0, 0) == 0) return 0;
  int state = -1;
  uintptr_t page = (uintptr_t)mm_pagesize(), at = addr & ~(page - 1);
  AcquireSRWLockShared(&records_lock);
  for (record *r = records; r != NULL; r = r->next) {
    if (addr >= (uintptr_t)r->addr && addr < (uintptr_t)r->addr + r->length) {
      state = (int)r->state;
      /* Sound: [at, at+page) lies inside the reserved range of a lazy record. */
      if (state == REC_ZEROS_LAZY && VirtualAlloc((void *)at, page, MEM_COMMIT, PAGE_READWRITE) == NULL) state = -1;
      break;
    }
  }
  ReleaseSRWLockShared(&records_lock);
  if (state == REC_RETIRING) SwitchToThread(); /* the zeros are on their way: try again */
  return state == REC_RETIRING || state == REC_ZEROS || state == REC_ZEROS_LAZY;
}

/* Anonymous (pagefile) memory: a new section, the data copied over; the old
 * view is left over, with its section, for the caller to retire (mm.h). A
 * named one comes here without a handle (tag_let_go): the new section takes
 * the name. */
static int remap_anonymous(record *rec, size_t new_length, int64_t offset, int keep) {
  record fresh = *rec;
  fresh.section = NULL;
  record *left = record_left(rec, REC_VIEW);
  if (left == NULL) return -ENOMEM;
  int rc = section_create(&fresh, (uint64_t)offset + new_length, 1);
  if (rc == 0 && (rc = view_map(&fresh, offset, new_length, NULL, NULL)) != 0) CloseHandle(fresh.section);
  if (rc != 0) {
    free(left);
    return rc;
  }
  /* Sound: both views are mapped, readable and writable (a resize needs a writable map), and
   * the copy stops at the shorter of the two lengths. */
  memcpy(fresh.addr, rec->addr, rec->length < new_length ? rec->length : new_length);
  if (keep) {
    record_link(left);
  } else {
    UnmapViewOfFile(left->addr);
    CloseHandle(left->section);
    left->section = NULL;
    record_free(left);
  }
  rec->section = fresh.section;
  rec->addr = fresh.addr;
  rec->length = new_length;
  rec->placeholder = fresh.placeholder;
  rec->backing = fresh.backing;
  return 0;
}

/* A file whose old view nothing holds: unmapped, the file sized, section and
 * view made anew (at the same address when possible); on failure the old size
 * and view come back, at the same address unless another thread took it. */
static int remap_file_anew(record *rec, size_t new_length, int64_t offset, int64_t old_size) {
  void *old_addr = rec->addr;
  size_t old_length = rec->length;
  UnmapViewOfFile(old_addr);
  if (rec->section != NULL) CloseHandle(rec->section);
  rec->section = NULL;
  int rc = w32_set_file_size(rec->file, offset + (int64_t)new_length);
  if (rc == 0) rc = section_create(rec, (uint64_t)offset + new_length, 1);
  if (rc == 0 && (rc = view_map(rec, offset, new_length, old_addr, NULL)) != 0) {
    CloseHandle(rec->section);
    rec->section = NULL;
  }
  if (rc == 0) return 0;
  w32_set_file_size(rec->file, old_size);
  if (section_create(rec, (uint64_t)offset + old_length, 0) != 0 || view_map(rec, offset, old_length, old_addr, NULL) != 0)
    rec->addr = NULL;
  return rc;
}

/* A file: Windows sizes a file only while no view maps the part that goes, so
 * the view and section are closed, the file sized, and both made anew. On
 * failure the old size and view come back (see mm.h). */
static int remap_file(record *rec, size_t new_length, int64_t offset, int keep) {
  int64_t old_size = 0;
  int rc = w32_file_size(rec->file, &old_size);
  if (rc != 0) return rc;
  void *old_addr = rec->addr;
  size_t old_length = rec->length;
  if (!keep) return remap_file_anew(rec, new_length, offset, old_size);
  /* The old addresses stay reserved throughout (a thread touching them waits
   * in the handler), and are left over for the caller (mm.h). */
  record *left = record_left(rec, REC_RETIRING);
  if (left == NULL) return -ENOMEM;
  AcquireSRWLockExclusive(&records_lock);
  rec->addr = NULL; /* the handler finds `left` at these addresses now */
  left->next = records;
  records = left;
  ReleaseSRWLockExclusive(&records_lock);
  rc = record_keep(left);
  if (rc == -EAGAIN) {
    record_forget(left); /* the view is gone and its addresses too: as before placeholders */
    left = NULL;
  } else if (rc != 0) {
    record_forget(left);
    rec->addr = old_addr; /* nothing changed */
    return rc;
  }
  if (rec->section != NULL) CloseHandle(rec->section);
  rec->section = NULL;
  rc = w32_set_file_size(rec->file, offset + (int64_t)new_length);
  if (rc == 0) rc = section_create(rec, (uint64_t)offset + new_length, 1);
  if (rc == 0 && (rc = view_map(rec, offset, new_length, left != NULL ? NULL : old_addr, NULL)) != 0) {
    CloseHandle(rec->section);
    rec->section = NULL;
  }
  if (rc == 0) return 0;
  /* Put back what was there, at the same address: into the placeholder kept,
   * or where the reservation was (let go of first: another thread could take
   * the addresses in that instant, and the view then lands elsewhere). */
  w32_set_file_size(rec->file, old_size);
  void *into = left != NULL && left->placeholder ? old_addr : NULL;
  if (left != NULL && into == NULL) {
    VirtualFree(old_addr, 0, MEM_RELEASE);
    record_forget(left);
    left = NULL;
  }
  if (section_create(rec, (uint64_t)offset + old_length, 0) != 0 ||
      view_map(rec, offset, old_length, old_addr, into) != 0) {
    rec->addr = NULL;
  }
  if (left != NULL && rec->addr != NULL) record_forget(left);
  else if (left != NULL) record_fill_zeros(left); /* gone: zeros (or, failing that, the range stays reserved) */
  return rc;
}

void mm_room_settle(void *addr, size_t length, size_t *room, int prot, int flags, int has_file) {
  (void)addr; (void)length; (void)room; (void)prot; (void)flags; (void)has_file; /* never any headroom */
}

/* ------------------------------------------------------------------------ */
/* A copy-on-write view's own writes, across a resize                       */

/* A copy-on-write view of a file (MAP_PRIVATE; not a read-only view, which
 * is one too) has pages of its own: those it wrote. A resize maps the file
 * anew, so the view's bytes are saved first and written into the new view
 * where they differ from the file: the map keeps its writes, as mremap keeps
 * them on Linux, and a page it never wrote stays the file's (no private copy
 * is made of it). The whole range is saved: which pages a view wrote, Windows
 * tells (PAGE_READWRITE where PAGE_WRITECOPY was) but Wine does not. */
typedef struct {
  uint8_t *data;
  size_t length;
} own_pages;

/* Saves rec's first `length` bytes: 0, or -ENOMEM with nothing saved. */
static int own_save(const record *rec, size_t length, own_pages *own) {
  own->length = 0;
  own->data = malloc(length > 0 ? length : 1);
  if (own->data == NULL) return -ENOMEM;
  /* Sound: the view is mapped, readable, and at least `length` bytes long. */
  memcpy(own->data, rec->addr, length);
  own->length = length;
  return 0;
}

/* Writes the saved bytes into the view at addr (NULL: none), up to `length`
 * bytes, a page at a time where they differ; and lets go of them. */
static void own_restore(own_pages *own, uint8_t *addr, size_t length) {
  size_t page = (size_t)mm_pagesize(), n = own->length < length ? own->length : length;
  for (size_t off = 0; addr != NULL && off < n; off += page) {
    size_t k = n - off < page ? n - off : page;
    /* Sound: [off, off + k) lies in both the saved bytes and the view. */
    if (memcmp(addr + off, own->data + off, k) != 0) memcpy(addr + off, own->data + off, k);
  }
  free(own->data);
  own->data = NULL;
  own->length = 0;
}

/* A named section takes a new size only as a new section of that name, so the
 * name must be free once this map lets go of its handle (a view holds its
 * section, not the name: the name goes with the last handle). CPython's rule:
 * the handle is closed, and if the name still opens, another map (here or in
 * another process) holds it: -EBUSY, and nothing changed (the handle opened
 * stands in for the one closed). Else the map goes on without a handle. */
static int tag_let_go(record *rec) {
  if (rec->section != NULL) CloseHandle(rec->section);
  rec->section = OpenFileMappingW(FILE_MAP_READ, FALSE, rec->tag);
  /* Not found: free. Any other failure (a section this process may not open) is another's. */
  return rec->section != NULL || GetLastError() != ERROR_FILE_NOT_FOUND ? -EBUSY : 0;
}

int mm_remap(void *addr, size_t old_length, size_t new_length, int prot, int flags, int fd,
             int64_t offset, int portable, int keep, void **out, size_t *room, int new_room, int has_file) {
  (void)old_length; (void)prot; (void)flags; (void)fd; (void)portable; (void)new_room; (void)has_file;
  *room = 0; /* no headroom here: a file cannot change size under a view */
  record *rec = record_find(addr, 1);
  if (rec != NULL && rec->state != REC_VIEW) rec = NULL;
  if (rec == NULL) return -EINVAL;
  *out = rec->addr;
  own_pages own = {NULL, 0};
  int copy_on_write = rec->file != INVALID_HANDLE_VALUE && !rec->readonly &&
                      (rec->access & ~(DWORD)FILE_MAP_EXECUTE) == FILE_MAP_COPY;
  if (copy_on_write && own_save(rec, rec->length < new_length ? rec->length : new_length, &own) != 0) return -ENOMEM;
  if (rec->tag != NULL && tag_let_go(rec) != 0) {
    own_restore(&own, NULL, 0);
    return -EBUSY;
  }
  int rc = rec->file == INVALID_HANDLE_VALUE ? remap_anonymous(rec, new_length, offset, keep)
                                              : remap_file(rec, new_length, offset, keep);
  /* Into the new view, or the old one mapped again after a failure. */
  if (copy_on_write) own_restore(&own, rec->addr, rec->length);
  /* A tagged file map that failed before making a section again: the name
   * back, on the same file. (A tagged pagefile map whose new section the
   * system refused cannot get it back: its memory has no name any more.) */
  if (rc != 0 && rec->tag != NULL && rec->section == NULL && rec->file != INVALID_HANDLE_VALUE && rec->addr != NULL)
    section_create(rec, (uint64_t)offset + rec->length, 0);
  *out = rec->addr;
  if (rec->addr == NULL) {
    record_unlink(rec);
    record_free(rec);
  }
  return rc;
}

int mm_sync(void *addr, size_t length, int flags) {
  /* FlushViewOfFile takes 0 as "to the end of the view": an empty range flushes nothing. */
  if (length == 0) return 0;
  if (!FlushViewOfFile(addr, length)) return last_error();
  record *rec = record_find(addr, 0);
  /* MS_SYNC: the data reaches the disk, not only the system's cache. Not
   * through a copy-on-write view (MAP_PRIVATE), whose writes never reach the
   * file: FlushFileBuffers would need the write access its file may lack. */
  if ((flags & MS_SYNC) && rec != NULL && rec->file != INVALID_HANDLE_VALUE &&
      (rec->access & ~(DWORD)FILE_MAP_EXECUTE) != FILE_MAP_COPY && !FlushFileBuffers(rec->file))
    return last_error();
  return 0;
}

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

/* Whether `s` starts with `prefix`, which it then skips. */
static int skip_prefix(const wchar_t **s, const wchar_t *prefix) {
  size_t n = wcslen(prefix);
  if (wcsncmp(*s, prefix, n) != 0) return 0;
  *s += n;
  return 1;
}

/* A tag as its name inside this session's namespace: Windows takes "x",
 * "Local\x" and "Session\<this session>\x" for one object (and in session 0,
 * which services run in, "Global\x" too), so their waits share one key. The
 * prefixes are case-sensitive, as Windows reads them. Any other name is
 * returned as it is ("Global\x" in another session is another object). */
static const wchar_t *tag_in_session(const wchar_t *tag) {
  DWORD session = 1;
  if (!ProcessIdToSessionId(GetCurrentProcessId(), &session)) session = 1;
  wchar_t own[32];
  _snwprintf(own, sizeof own / sizeof own[0], L"Session\\%lu\\", (unsigned long)session);
  own[sizeof own / sizeof own[0] - 1] = 0;
  while (skip_prefix(&tag, L"Local\\") || skip_prefix(&tag, own) || (session == 0 && skip_prefix(&tag, L"Global\\"))) {
  }
  return tag;
}

/* A file's identity: its volume and its index on it, whatever path opened it. */
static int file_identity(HANDLE file, uint64_t id[2]) {
  BY_HANDLE_FILE_INFORMATION info;
  if (file == INVALID_HANDLE_VALUE || !GetFileInformationByHandle(file, &info)) return 0;
  id[0] = (uint64_t)info.dwVolumeSerialNumber;
  id[1] = ((uint64_t)info.nFileIndexHigh << 32) | info.nFileIndexLow;
  return 1;
}

/* The identity of the file the view at addr maps, found by the name the
 * system gives it (Windows "\Device\HarddiskVolume1\...", opened through
 * "\\?\GLOBALROOT"; Wine "\??\C:\...", which is "\\?\C:\..."), opened for no
 * access. 0 where it cannot be found. */
static int mapped_file_identity(const void *addr, uint64_t id[2]) {
  enum { PREFIX = 14, MAX = 32768 }; /* "\\?\GLOBALROOT" */
  wchar_t *path = malloc((PREFIX + MAX) * sizeof *path);
  if (path == NULL) return 0;
  wchar_t *name = path + PREFIX;
  DWORD n = GetMappedFileNameW(GetCurrentProcess(), (LPVOID)addr, name, MAX);
  wchar_t *open = NULL;
  if (n > 4 && n < MAX && wcsncmp(name, L"\\??\\", 4) == 0) {
    name[1] = L'\\'; /* \??\X -> \\?\X */
    open = name;
  } else if (n > 0 && n < MAX) {
    memcpy(path, L"\\\\?\\GLOBALROOT", PREFIX * sizeof *path);
    open = path;
  }
  int ok = 0;
  if (open != NULL) {
    HANDLE h = CreateFileW(open, 0, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL, OPEN_EXISTING,
                           FILE_FLAG_BACKUP_SEMANTICS, NULL);
    if (h != INVALID_HANDLE_VALUE) {
      ok = file_identity(h, id);
      CloseHandle(h);
    }
  }
  free(path);
  return ok;
}

int mm__view_identity(const void *addr, uint64_t id[2]) {
  record *rec = record_find(addr, 0);
  /* Copy-on-write views of MAP_PRIVATE maps, and unnamed pagefile sections,
   * are this process's alone. */
  if (rec == NULL || rec->protect == PAGE_WRITECOPY || rec->protect == PAGE_EXECUTE_WRITECOPY) return 0;
  /* A file's pages are the same memory through every section of it, named or
   * not: a file's section is keyed by the file (a tagged one's too). */
  if (rec->backing == BACK_OWN_FILE && rec->file != INVALID_HANDLE_VALUE) return file_identity(rec->file, id);
  if (rec->backing == BACK_SOME_FILE && mapped_file_identity(rec->addr, id)) return 1;
  if (rec->tag != NULL) {
    /* A named section is the same object wherever its name is opened: the
     * name (as this session reads it), hashed twice (128 bits), with the top
     * bit telling it from a file. */
    const wchar_t *name = tag_in_session(rec->tag);
    id[0] = fnv1a(name, 0xcbf29ce484222325ULL) | (1ULL << 63);
    id[1] = fnv1a(name, 0x84222325cbf29ce4ULL);
    return 1;
  }
  return file_identity(rec->file, id);
}
