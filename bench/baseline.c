/*
 * bench/baseline.c: the C side of the benchmark suite (not part of the addon,
 * never installed). bench/run.mjs compiles it with the system cc into a
 * temporary directory at bench time.
 *
 *   baseline gen-text PATH BYTES SEED        deterministic text: random words of a-z (2 to 8
 *                                            letters) in lines of ~80 bytes, fsynced
 *   baseline gen-idx PATH COUNT RANGE ALIGN SEED
 *                                            COUNT little-endian uint32 offsets, multiples of
 *                                            ALIGN, in [0, RANGE)
 *   baseline evict PATH                      posix_fadvise(POSIX_FADV_DONTNEED) on the file
 *   baseline warm PATH                       reads the file once (page cache)
 *   baseline run WORKLOAD key=value...       runs a workload on raw mapped memory and prints
 *                                            {"times":[ns per rep...],"cpu":[CPU ns...],"check":N}
 *
 * Every workload is the raw operation (memchr, memmem, memcpy, mmap, mremap,
 * ...) on an mmap'd region: the machine's limit for what memmap, CPython and
 * Node's fs do in bench/py_impl.py and bench/node-impl.mjs. Only the
 * operation loop is timed; setup and teardown are not.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <immintrin.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what) {
  fprintf(stderr, "baseline: %s: %s\n", what, strerror(errno));
  exit(2);
}

static uint64_t clock_ns(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A timed region: start_ns() and stop_ns() return the wall clock; stop_ns() also adds the
 * process's CPU time since the last start_ns() to cpu_spent (a second clock, which a busy
 * machine disturbs less: bench/run.mjs --clock). */
static uint64_t cpu_t0, cpu_spent;
static uint64_t start_ns(void) {
  cpu_t0 = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
  return clock_ns(CLOCK_MONOTONIC);
}
static uint64_t stop_ns(void) {
  uint64_t wall = clock_ns(CLOCK_MONOTONIC);
  cpu_spent += clock_ns(CLOCK_PROCESS_CPUTIME_ID) - cpu_t0;
  return wall;
}

/* xorshift64*: the generator of the data files and index files. */
static uint64_t rng_state;
static uint64_t rng(void) {
  uint64_t x = rng_state;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  rng_state = x;
  return x * 0x2545F4914F6CDD1DULL;
}

/* ------------------------------------------------------------------ data */

/*
 * Random words of 2 to 8 letters a-z (uniform lengths), one space between them, in lines
 * of 40 to 120 bytes (mean ~77) that end with a word and '\n'. No digits, capitals, '#'
 * or '!': the absent needles and patterns rely on it. A line starts with a 7-letter word
 * once in 7 lines (issue 12's matchAll row counts ~480k of them in 256 MiB).
 */
static size_t gen_line(char *line) {
  size_t target = 40 + (size_t)(rng() % 81); /* including '\n' */
  size_t n = 0;
  for (;;) {
    size_t wl = 2 + (size_t)(rng() % 7);
    if (n > 0 && n + 1 + wl + 1 > target) break;
    if (n > 0) line[n++] = ' ';
    for (size_t i = 0; i < wl; i++) line[n++] = (char)('a' + rng() % 26);
  }
  line[n++] = '\n';
  return n;
}

static int gen_text(const char *path, uint64_t size, uint64_t seed) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) die("open");
  rng_state = seed * 0x9E3779B97F4A7C15ULL + 1;
  size_t cap = 1 << 20;
  char *buf = malloc(cap + 256);
  uint64_t written = 0;
  size_t used = 0;
  while (written < size) {
    used += gen_line(buf + used);
    if (used >= cap || written + used >= size) {
      size_t take = used;
      if (written + take > size) take = (size_t)(size - written);
      if (write(fd, buf, take) != (ssize_t)take) die("write");
      written += take;
      used = 0;
    }
  }
  if (fsync(fd) < 0) die("fsync"); /* clean pages: the cold workload must be able to evict them */
  close(fd);
  free(buf);
  return 0;
}

static int gen_idx(const char *path, uint64_t count, uint64_t range, uint64_t align, uint64_t seed) {
  FILE *f = fopen(path, "wb");
  if (f == NULL) die("fopen");
  rng_state = seed * 0x9E3779B97F4A7C15ULL + 7;
  uint64_t slots = range / align;
  for (uint64_t i = 0; i < count; i++) {
    uint32_t v = (uint32_t)((rng() % slots) * align);
    uint8_t le[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    fwrite(le, 1, 4, f);
  }
  if (fclose(f) != 0) die("fclose");
  return 0;
}

static int evict(const char *path) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) die("open");
  fdatasync(fd);
  int rc = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  if (rc != 0) {
    errno = rc;
    die("posix_fadvise");
  }
  close(fd);
  return 0;
}

static int warm(const char *path) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) die("open");
  static char buf[1 << 20];
  while (read(fd, buf, sizeof buf) > 0) {
  }
  close(fd);
  return 0;
}

/* ------------------------------------------------------------ arguments */

static int g_argc;
static char **g_argv;

static const char *arg(const char *key, const char *def) {
  size_t kl = strlen(key);
  for (int i = 0; i < g_argc; i++) {
    if (strncmp(g_argv[i], key, kl) == 0 && g_argv[i][kl] == '=') return g_argv[i] + kl + 1;
  }
  if (def == NULL) {
    fprintf(stderr, "baseline: missing argument %s\n", key);
    exit(2);
  }
  return def;
}
static uint64_t num(const char *key, const char *def) { return strtoull(arg(key, def), NULL, 10); }

static uint8_t *map_file(const char *path, size_t length, int writable, int *fd_out) {
  int fd = open(path, writable ? O_RDWR : O_RDONLY);
  if (fd < 0) die("open");
  void *p = mmap(NULL, length, writable ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) die("mmap");
  if (fd_out != NULL) *fd_out = fd;
  else close(fd);
  return p;
}

static uint32_t *load_idx(const char *path, uint64_t count) {
  uint32_t *a = malloc(count * 4);
  FILE *f = fopen(path, "rb");
  if (f == NULL) die("fopen idx");
  if (fread(a, 4, count, f) != count) die("fread idx");
  fclose(f);
  return a; /* little-endian host */
}

/* ------------------------------------------------------- search kernels */

/* The vectorised first/last-byte filter: candidates where h[i] == n[0] and h[i+m-1] == n[m-1].
 * The 64 candidates from i as a bit mask (two vectors a step; the common case is none). */
__attribute__((target("avx2"))) static inline uint64_t fl_mask64(const uint8_t *h, size_t i, size_t m, __m256i F, __m256i L) {
  __m256i a0 = _mm256_loadu_si256((const __m256i *)(h + i));
  __m256i b0 = _mm256_loadu_si256((const __m256i *)(h + i + m - 1));
  __m256i a1 = _mm256_loadu_si256((const __m256i *)(h + i + 32));
  __m256i b1 = _mm256_loadu_si256((const __m256i *)(h + i + 32 + m - 1));
  __m256i c0 = _mm256_and_si256(_mm256_cmpeq_epi8(a0, F), _mm256_cmpeq_epi8(b0, L));
  __m256i c1 = _mm256_and_si256(_mm256_cmpeq_epi8(a1, F), _mm256_cmpeq_epi8(b1, L));
  if (_mm256_testz_si256(_mm256_or_si256(c0, c1), _mm256_or_si256(c0, c1))) return 0;
  return (uint32_t)_mm256_movemask_epi8(c0) | ((uint64_t)(uint32_t)_mm256_movemask_epi8(c1) << 32);
}

__attribute__((target("avx2"))) static long find_fl_avx2(const uint8_t *h, size_t n, const uint8_t *nd, size_t m) {
  if (m == 0) return 0;
  if (n < m) return -1;
  const __m256i F = _mm256_set1_epi8((char)nd[0]), L = _mm256_set1_epi8((char)nd[m - 1]);
  size_t starts = n - m + 1, i = 0;
  for (; i + 64 <= starts; i += 64) {
    for (uint64_t mask = fl_mask64(h, i, m, F, L); mask; mask &= mask - 1) {
      unsigned bit = (unsigned)__builtin_ctzll(mask);
      if (memcmp(h + i + bit, nd, m) == 0) return (long)(i + bit);
    }
  }
  for (; i < starts; i++)
    if (h[i] == nd[0] && memcmp(h + i, nd, m) == 0) return (long)i;
  return -1;
}

__attribute__((target("avx2"))) static long rfind_fl_avx2(const uint8_t *h, size_t n, const uint8_t *nd, size_t m) {
  if (m == 0) return (long)n;
  if (n < m) return -1;
  const __m256i F = _mm256_set1_epi8((char)nd[0]), L = _mm256_set1_epi8((char)nd[m - 1]);
  size_t end = n - m + 1; /* candidate starts are [0, end) */
  while (end >= 64) { /* as find_fl_avx2, from the top down */
    size_t i = end - 64;
    for (uint64_t mask = fl_mask64(h, i, m, F, L); mask;) {
      unsigned bit = 63u - (unsigned)__builtin_clzll(mask);
      if (memcmp(h + i + bit, nd, m) == 0) return (long)(i + bit);
      mask &= ~((uint64_t)1 << bit);
    }
    end = i;
  }
  while (end > 0) {
    end--;
    if (h[end] == nd[0] && memcmp(h + end, nd, m) == 0) return (long)end;
  }
  return -1;
}

static long find_fl_scalar(const uint8_t *h, size_t n, const uint8_t *nd, size_t m) {
  if (n < m) return -1;
  for (size_t i = 0; i + m <= n; i++)
    if (h[i] == nd[0] && h[i + m - 1] == nd[m - 1] && memcmp(h + i, nd, m) == 0) return (long)i;
  return -1;
}

static long rfind_fl_scalar(const uint8_t *h, size_t n, const uint8_t *nd, size_t m) {
  if (n < m) return -1;
  for (size_t i = n - m + 1; i-- > 0;)
    if (h[i] == nd[0] && h[i + m - 1] == nd[m - 1] && memcmp(h + i, nd, m) == 0) return (long)i;
  return -1;
}

/* ------------------------------------------------------------- workloads */

typedef struct {
  uint64_t reps, warmup;
  uint64_t times[64], cpu[64];
  long long check;
} result;

/* The timed body of one repetition: returns elapsed ns, sets *check. */
typedef uint64_t (*rep_fn)(void *ctx, long long *check);

static void repeat(result *r, rep_fn fn, void *ctx) {
  long long check = 0;
  for (uint64_t i = 0; i < r->warmup; i++) fn(ctx, &check);
  for (uint64_t i = 0; i < r->reps && i < 64; i++) {
    cpu_spent = 0;
    r->times[i] = fn(ctx, &check);
    r->cpu[i] = cpu_spent;
  }
  r->check = check;
}

typedef struct {
  uint8_t *base;
  size_t size;
  const uint8_t *needle;
  size_t nlen;
  uint32_t *idx;
  uint64_t count;
  const char *path;
  uint64_t chunk, target, seqs, passes;
  int advice, touch;
  long (*search)(const uint8_t *h, size_t n, const uint8_t *nd, size_t m);
} ctx_t;

/* The same pointer, which the compiler can no longer assume unchanged: a loop of passes
 * over the same memory is not folded into one. */
static const uint8_t *opaque(const uint8_t *p) {
  __asm__ volatile("" : "+r"(p) : : "memory");
  return p;
}

static long find_memmem(const uint8_t *h, size_t n, const uint8_t *nd, size_t m) {
  const void *p = memmem(h, n, nd, m);
  return p == NULL ? -1 : (long)((const uint8_t *)p - h);
}

static long find_memchr(const uint8_t *h, size_t n, const uint8_t *nd, size_t m) {
  (void)m;
  const void *p = memchr(h, nd[0], n);
  return p == NULL ? -1 : (long)((const uint8_t *)p - h);
}

static long find_filter(const uint8_t *h, size_t n, const uint8_t *nd, size_t m) {
  return __builtin_cpu_supports("avx2") ? find_fl_avx2(h, n, nd, m) : find_fl_scalar(h, n, nd, m);
}

static long rfind_filter(const uint8_t *h, size_t n, const uint8_t *nd, size_t m) {
  return __builtin_cpu_supports("avx2") ? rfind_fl_avx2(h, n, nd, m) : rfind_fl_scalar(h, n, nd, m);
}

/* c->passes searches of the whole map (one op each). */
static uint64_t w_search(void *c_, long long *check) {
  ctx_t *c = c_;
  long r = -1;
  uint64_t t0 = start_ns();
  for (uint64_t k = 0; k < c->passes; k++) r = c->search(opaque(c->base), c->size, c->needle, c->nlen);
  uint64_t t1 = stop_ns();
  *check = r;
  return t1 - t0;
}

/* Every line of the map, c->passes times; copy: each line copied out, as readline returns a
 * copy; else only found (memchr), as a zero-copy line iterator does. check = lines per pass. */
static uint64_t w_lines(void *c_, long long *check, int copy) {
  ctx_t *c = c_;
  static uint8_t line[1 << 16];
  long long lines = 0;
  uint64_t t0 = start_ns();
  for (uint64_t k = 0; k < c->passes; k++) {
    const uint8_t *p = opaque(c->base), *end = p + c->size;
    while (p < end) {
      const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
      const uint8_t *stop = nl == NULL ? end : nl + 1;
      size_t n = (size_t)(stop - p);
      if (n > sizeof line) n = sizeof line;
      if (copy) memcpy(line, p, n);
      __asm__ volatile("" : : "r"(line), "r"(p) : "memory");
      p = stop;
      lines++;
    }
  }
  uint64_t t1 = stop_ns();
  *check = lines / (long long)c->passes;
  return t1 - t0;
}
static uint64_t w_readline(void *c, long long *check) { return w_lines(c, check, 1); }
static uint64_t w_lineviews(void *c, long long *check) { return w_lines(c, check, 0); }

/* Floor: reading the map c->passes times, 32 bytes a load (memory or cache bandwidth). */
__attribute__((target("avx2"))) static uint64_t read_all_avx2(const uint8_t *p, size_t n) {
  __m256i acc0 = _mm256_setzero_si256(), acc1 = _mm256_setzero_si256();
  size_t i = 0;
  for (; i + 64 <= n; i += 64) {
    acc0 = _mm256_or_si256(acc0, _mm256_loadu_si256((const __m256i *)(p + i)));
    acc1 = _mm256_or_si256(acc1, _mm256_loadu_si256((const __m256i *)(p + i + 32)));
  }
  acc0 = _mm256_or_si256(acc0, acc1);
  return (uint64_t)_mm256_extract_epi64(acc0, 0) | (uint64_t)_mm256_extract_epi64(acc0, 3);
}

static uint64_t w_bandwidth(void *c_, long long *check) {
  ctx_t *c = c_;
  uint64_t acc = 0;
  uint64_t t0 = start_ns();
  for (uint64_t k = 0; k < c->passes; k++) acc |= read_all_avx2(opaque(c->base), c->size);
  uint64_t t1 = stop_ns();
  *check = (long long)(acc & 1);
  return t1 - t0;
}

/* Floor: c->count dependent reads at the random offsets (each address waits for the byte
 * read before it): the latency of one random read from memory. */
static uint64_t w_latency(void *c_, long long *check) {
  ctx_t *c = c_;
  uint64_t dep = 0;
  long long s = 0;
  uint64_t t0 = start_ns();
  for (uint64_t k = 0; k < c->count; k++) {
    uint8_t b = c->base[c->idx[k] + dep];
    s += b;
    dep = b;
    __asm__("and $0, %0" : "+r"(dep)); /* 0, but only once the byte has arrived */
  }
  uint64_t t1 = stop_ns();
  *check = s;
  return t1 - t0;
}

static uint64_t w_read64(void *c_, long long *check) {
  ctx_t *c = c_;
  uint8_t buf[4096];
  long long s = 0;
  uint64_t t0 = start_ns();
  for (uint64_t k = 0; k < c->count; k++) {
    memcpy(buf, c->base + c->idx[k], c->chunk);
    __asm__ volatile("" : : "r"(buf) : "memory");
    s += buf[0];
  }
  uint64_t t1 = stop_ns();
  *check = s;
  return t1 - t0;
}

static uint64_t w_get(void *c_, long long *check) {
  ctx_t *c = c_;
  const uint8_t *b = c->base;
  const uint32_t *idx = c->idx;
  long long s = 0;
  uint64_t t0 = start_ns();
  for (uint64_t k = 0; k < c->count; k++) s += b[idx[k]];
  uint64_t t1 = stop_ns();
  *check = s;
  return t1 - t0;
}

static uint64_t w_readbyte(void *c_, long long *check) {
  ctx_t *c = c_;
  const uint8_t *b = c->base;
  long long s = 0;
  uint64_t t0 = start_ns();
  for (size_t i = 0; i < c->size; i++) s += b[i];
  uint64_t t1 = stop_ns();
  *check = s;
  return t1 - t0;
}

static uint64_t w_writebyte(void *c_, long long *check) {
  ctx_t *c = c_;
  uint8_t *b = c->base;
  uint64_t t0 = start_ns();
  for (size_t i = 0; i < c->size; i++) b[i] = (uint8_t)i;
  __asm__ volatile("" : : "r"(b) : "memory");
  uint64_t t1 = stop_ns();
  *check = (long long)c->size;
  return t1 - t0;
}

/* Sequential 4 KiB writes filling a fresh file of c->size bytes through a shared map, then msync. */
static uint64_t w_write(void *c_, long long *check) {
  ctx_t *c = c_;
  int fd = open(c->path, O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) die("open");
  if (ftruncate(fd, (off_t)c->size) < 0) die("ftruncate");
  uint8_t *m = mmap(NULL, c->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (m == MAP_FAILED) die("mmap");
  uint8_t chunk[4096];
  for (size_t i = 0; i < sizeof chunk; i++) chunk[i] = (uint8_t)('a' + i % 26);
  uint64_t t0 = start_ns();
  for (size_t off = 0; off + c->chunk <= c->size; off += c->chunk) memcpy(m + off, chunk, c->chunk);
  if (msync(m, c->size, MS_SYNC) < 0) die("msync");
  uint64_t t1 = stop_ns();
  munmap(m, c->size);
  close(fd);
  *check = (long long)c->size;
  return t1 - t0;
}

static uint64_t w_mapfile(void *c_, long long *check) {
  ctx_t *c = c_;
  int fd = open(c->path, O_RDWR);
  if (fd < 0) die("open");
  uint64_t t0 = start_ns();
  for (uint64_t k = 0; k < c->count; k++) {
    void *p = mmap(NULL, c->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) die("mmap");
    munmap(p, c->size);
  }
  uint64_t t1 = stop_ns();
  close(fd);
  *check = (long long)c->count;
  return t1 - t0;
}

static uint64_t w_mapanon(void *c_, long long *check) {
  ctx_t *c = c_;
  uint64_t t0 = start_ns();
  for (uint64_t k = 0; k < c->count; k++) {
    void *p = mmap(NULL, c->size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) die("mmap");
    munmap(p, c->size);
  }
  uint64_t t1 = stop_ns();
  *check = (long long)c->count;
  return t1 - t0;
}

/* c->seqs sequences of doubling 4 KiB -> c->target; only the resizes are timed. */
static uint64_t w_resize(void *c_, long long *check, int file) {
  ctx_t *c = c_;
  uint64_t total = 0;
  size_t size = 0;
  for (uint64_t s = 0; s < c->seqs; s++) {
    int fd = -1;
    void *p;
    size = 4096;
    if (file) {
      fd = open(c->path, O_RDWR | O_CREAT | O_TRUNC, 0644);
      if (fd < 0) die("open");
      if (ftruncate(fd, (off_t)size) < 0) die("ftruncate");
      p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    } else {
      p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    }
    if (p == MAP_FAILED) die("mmap");
    uint64_t t0 = start_ns();
    while (size < c->target) {
      size_t next = size * 2;
      if (file && ftruncate(fd, (off_t)next) < 0) die("ftruncate");
      p = mremap(p, size, next, MREMAP_MAYMOVE);
      if (p == MAP_FAILED) die("mremap");
      size = next;
      if (c->touch) ((volatile uint8_t *)p)[size - 1] = 1; /* the next access, as a user makes one */
    }
    total += stop_ns() - t0;
    munmap(p, size);
    if (fd >= 0) close(fd);
  }
  *check = (long long)size;
  return total;
}
static uint64_t w_resizefile(void *c, long long *check) { return w_resize(c, check, 1); }
static uint64_t w_resizeanon(void *c, long long *check) { return w_resize(c, check, 0); }

/* c->count moves of c->size bytes inside a private anonymous map of 2 * size, alternating halves. */
static uint64_t w_move(void *c_, long long *check) {
  ctx_t *c = c_;
  uint8_t *b = c->base;
  uint64_t t0 = start_ns();
  for (uint64_t k = 0; k < c->count; k++) {
    if (k % 2 == 0) memmove(b + c->size, b, c->size);
    else memmove(b, b + c->size, c->size);
    __asm__ volatile("" : : "r"(b) : "memory");
  }
  uint64_t t1 = stop_ns();
  *check = (long long)b[0] + b[c->size];
  return t1 - t0;
}

/* Random 4 KiB reads of a file evicted from the page cache just before. */
static uint64_t w_cold(void *c_, long long *check) {
  ctx_t *c = c_;
  evict(c->path);
  int fd = open(c->path, O_RDONLY);
  if (fd < 0) die("open");
  uint8_t *m = mmap(NULL, c->size, PROT_READ, MAP_SHARED, fd, 0);
  if (m == MAP_FAILED) die("mmap");
  if (c->advice && madvise(m, c->size, MADV_RANDOM) < 0) die("madvise");
  uint8_t buf[4096];
  long long s = 0;
  uint64_t t0 = start_ns();
  for (uint64_t k = 0; k < c->count; k++) {
    memcpy(buf, m + c->idx[k], 4096);
    __asm__ volatile("" : : "r"(buf) : "memory");
    s += buf[0];
  }
  uint64_t t1 = stop_ns();
  munmap(m, c->size);
  close(fd);
  *check = s;
  return t1 - t0;
}

static int run(const char *w) {
  result r = {.reps = num("reps", "5"), .warmup = num("warmup", "1")};
  ctx_t c = {0};
  c.size = num("size", "0");
  c.count = num("count", "0");
  c.chunk = num("chunk", "64");
  c.target = num("target", "0");
  c.seqs = num("seqs", "1");
  c.advice = (int)num("advice", "0");
  c.touch = (int)num("touch", "0");
  c.passes = num("passes", "1");
  const char *file = arg("file", "");
  c.path = file;
  const char *needle = arg("needle", "");
  c.needle = (const uint8_t *)needle;
  c.nlen = strlen(needle);
  const char *idx = arg("idx", "");
  if (*idx) c.idx = load_idx(idx, c.count);

  rep_fn fn = NULL;
  int mapped = 0, writable = 0, anon = 0;
  /* Workloads are named by what the C side does (bench/workloads.mjs: `c`), so that one
   * routine serves several rows (the same find on a 1 GiB and on a cache-resident map). */
  if (!strcmp(w, "find-memmem")) fn = w_search, c.search = find_memmem, mapped = 1;
  else if (!strcmp(w, "find-filter")) fn = w_search, c.search = find_filter, mapped = 1;
  else if (!strcmp(w, "rfind-filter")) fn = w_search, c.search = rfind_filter, mapped = 1;
  else if (!strcmp(w, "find-memchr")) fn = w_search, c.search = find_memchr, mapped = 1;
  else if (!strcmp(w, "readline")) fn = w_readline, mapped = 1;
  else if (!strcmp(w, "lines")) fn = w_lineviews, mapped = 1;
  else if (!strcmp(w, "read64")) fn = w_read64, mapped = 1;
  else if (!strcmp(w, "bandwidth")) fn = w_bandwidth, mapped = 1;
  else if (!strcmp(w, "latency")) fn = w_latency, mapped = 1;
  else if (!strcmp(w, "get") || !strcmp(w, "readbyte")) fn = !strcmp(w, "get") ? w_get : w_readbyte, mapped = 1;
  else if (!strcmp(w, "writebyte")) fn = w_writebyte, mapped = 1, writable = 1;
  else if (!strcmp(w, "write")) fn = w_write;
  else if (!strcmp(w, "mapfile")) fn = w_mapfile;
  else if (!strcmp(w, "mapanon")) fn = w_mapanon;
  else if (!strcmp(w, "resizefile")) fn = w_resizefile;
  else if (!strcmp(w, "resizeanon")) fn = w_resizeanon;
  else if (!strcmp(w, "move")) fn = w_move, anon = 1;
  else if (!strcmp(w, "cold") || !strcmp(w, "coldrandom")) fn = w_cold;
  if (fn == NULL) {
    fprintf(stderr, "baseline: unknown workload %s\n", w);
    return 2;
  }
  if (mapped) c.base = map_file(file, c.size, writable, NULL);
  if (anon) {
    c.base = mmap(NULL, 2 * c.size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (c.base == MAP_FAILED) die("mmap");
    memset(c.base, 1, c.size);
    memset(c.base + c.size, 2, c.size);
  }
  repeat(&r, fn, &c);
  printf("{\"times\":[");
  for (uint64_t i = 0; i < r.reps && i < 64; i++) printf("%s%llu", i ? "," : "", (unsigned long long)r.times[i]);
  printf("],\"cpu\":[");
  for (uint64_t i = 0; i < r.reps && i < 64; i++) printf("%s%llu", i ? "," : "", (unsigned long long)r.cpu[i]);
  printf("],\"check\":%lld}\n", r.check);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: baseline gen-text|gen-idx|evict|warm|run ...\n");
    return 2;
  }
  const char *cmd = argv[1];
  if (!strcmp(cmd, "gen-text") && argc == 5) return gen_text(argv[2], strtoull(argv[3], NULL, 10), strtoull(argv[4], NULL, 10));
  if (!strcmp(cmd, "gen-idx") && argc == 7)
    return gen_idx(argv[2], strtoull(argv[3], NULL, 10), strtoull(argv[4], NULL, 10), strtoull(argv[5], NULL, 10),
                   strtoull(argv[6], NULL, 10));
  if (!strcmp(cmd, "evict") && argc == 3) return evict(argv[2]);
  if (!strcmp(cmd, "warm") && argc == 3) return warm(argv[2]);
  if (!strcmp(cmd, "run") && argc >= 3) {
    g_argc = argc - 3;
    g_argv = argv + 3;
    return run(argv[2]);
  }
  fprintf(stderr, "baseline: bad command line\n");
  return 2;
}
