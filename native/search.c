/*
 * search.c: finding bytes in mapped memory, as libc's memchr/memmem do, at
 * memory bandwidth. One call searches a whole range: no per-byte crossing.
 *
 * A one-byte needle is memchr/memrchr. Longer needles use a first/last-byte
 * filter: many candidate positions at once are compared on their first and
 * last byte with vector instructions, and only positions passing both are
 * compared in full. Two kernels implement the filter, and one is chosen for
 * the CPU once, when the addon is loaded (the same binary runs on any x86-64):
 *
 *   avx2   32-byte vectors, 64 candidates a step; x86-64 CPUs with AVX2
 *          (__builtin_cpu_supports, which also checks that the OS saves the
 *          256-bit registers). MEMMAP_NO_AVX2=1 in the environment when the
 *          addon is loaded keeps the other kernel: the tests run both.
 *   vec16  16-byte GCC/Clang vectors, 64 candidates a step: SSE2 on every
 *          x86-64, NEON on arm64, plain code elsewhere.
 *
 * A kernel is called with 2 <= k <= n and reads only bytes of hay[0, n): the
 * range may end where the mapping ends, and a byte beyond it may be unmapped.
 *
 * The filter's worst case is a needle and a haystack that pass it almost
 * everywhere and match far into the needle before they differ ("aaa...ab...a"
 * in a run of 'a'): k compares a position, O(n k) in all. So every full
 * compare is paid from a budget (a few bytes a haystack byte, for needles of
 * TWO_WAY_MIN bytes or more; shorter ones cost at most k a position anyway),
 * and a kernel whose budget runs out stops and says at which candidate: the
 * rest of the range is searched by the two-way algorithm (Crochemore and
 * Perrin, 1991), linear in n + k whatever the bytes, with O(1) memory.
 *
 * Line ends (mm_line_ends, for m.lines()) are found in batches, many lines a
 * call: a vector compare of 32 (AVX2) or 16 (SSE2) bytes with '\n', whose
 * bit mask gives every newline of the block; memchr where neither exists.
 *
 * Copies (mm_copy, for large copies between the map and JavaScript memory)
 * are memmove, except where memmove is slow for the two addresses: see
 * mm_copy below.
 */
#define _GNU_SOURCE
#include "mm.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define MM_X86_64 1
#endif

/* A kernel's result: a position, -1 (none), or GAVE_UP(j): its budget ran
 * out at candidate j, not tried yet; every candidate before j (find) or after
 * j (rfind) was tried and holds no match. */
typedef int64_t search_kernel(const uint8_t *hay, size_t n, const uint8_t *needle, size_t k, int64_t *budget);
#define GAVE_UP(j) (-2 - (int64_t)(j))

/* Position p (whose first and last bytes already match) holds the needle.
 * Paid from *budget: 16 for a compare the first 16 middle bytes decide, the
 * needle's length for a longer one (an upper bound of memcmp's work). */
static inline int middle_matches(const uint8_t *p, const uint8_t *needle, size_t k, int64_t *budget) {
  size_t mid = k - 2;
  *budget -= 16;
  if (mid <= 16) return memcmp(p + 1, needle + 1, mid) == 0;
  if (memcmp(p + 1, needle + 1, 16) != 0) return 0;
  *budget -= (int64_t)mid;
  return memcmp(p + 17, needle + 17, mid - 16) == 0;
}

static inline int match_at(const uint8_t *p, const uint8_t *needle, size_t k, int64_t *budget) {
  return p[0] == needle[0] && p[k - 1] == needle[k - 1] && middle_matches(p, needle, k, budget);
}

/* ------------------------------------------------------------- vec16 */

typedef uint8_t v16 __attribute__((vector_size(16)));
typedef uint64_t v2x64 __attribute__((vector_size(16)));

static inline v16 load16(const uint8_t *p) {
  v16 v;
  memcpy(&v, p, sizeof v); /* unaligned load */
  return v;
}

/* Nonzero when some lane of the 64 candidates starting at p may match. */
static inline int block_may_match(const uint8_t *p, size_t k, v16 first, v16 last) {
  const uint8_t *q = p + k - 1;
  v16 m = (v16)((load16(p) == first) & (load16(q) == last));
  m |= (v16)((load16(p + 16) == first) & (load16(q + 16) == last));
  m |= (v16)((load16(p + 32) == first) & (load16(q + 32) == last));
  m |= (v16)((load16(p + 48) == first) & (load16(q + 48) == last));
  v2x64 w = (v2x64)m;
  return (w[0] | w[1]) != 0;
}

static int64_t find_vec16(const uint8_t *hay, size_t n, const uint8_t *needle, size_t k, int64_t *budget) {
  v16 first = (v16){0} + needle[0], last = (v16){0} + needle[k - 1];
  size_t starts = n - k + 1; /* candidate positions are [0, starts) */
  size_t i = 0;
  /* Sound: a block reads bytes [i, i + 64 + k - 1) and i + 64 <= starts,
   * so it never reads past hay + n. */
  for (; i + 64 <= starts; i += 64) {
    if (__builtin_expect(!block_may_match(hay + i, k, first, last), 1)) continue;
    for (size_t j = i; j < i + 64; j++) {
      if (*budget < 0) return GAVE_UP(j);
      if (match_at(hay + j, needle, k, budget)) return (int64_t)j;
    }
  }
  for (; i < starts; i++) {
    if (*budget < 0) return GAVE_UP(i);
    if (match_at(hay + i, needle, k, budget)) return (int64_t)i;
  }
  return -1;
}

static int64_t rfind_vec16(const uint8_t *hay, size_t n, const uint8_t *needle, size_t k, int64_t *budget) {
  v16 first = (v16){0} + needle[0], last = (v16){0} + needle[k - 1];
  size_t end = n - k + 1; /* candidates [0, end), tried from the highest */
  /* Sound: as in find_vec16, each block's reads stay below hay + n. */
  while (end >= 64) {
    size_t i = end - 64;
    if (block_may_match(hay + i, k, first, last)) {
      for (size_t j = end; j-- > i;) {
        if (*budget < 0) return GAVE_UP(j);
        if (match_at(hay + j, needle, k, budget)) return (int64_t)j;
      }
    }
    end = i;
  }
  for (size_t j = end; j-- > 0;) {
    if (*budget < 0) return GAVE_UP(j);
    if (match_at(hay + j, needle, k, budget)) return (int64_t)j;
  }
  return -1;
}

/* -------------------------------------------------------------- avx2 */

#ifdef MM_X86_64
#define AVX2 __attribute__((target("avx2")))

/* Bit b set: candidate p + b passes the filter, for the 32 candidates from p.
 * Reads [p, p + 32) and [p + k - 1, p + k + 31). */
AVX2 static inline uint32_t mask32(const uint8_t *p, size_t k, __m256i first, __m256i last) {
  __m256i a = _mm256_loadu_si256((const __m256i *)p);
  __m256i b = _mm256_loadu_si256((const __m256i *)(p + k - 1));
  return (uint32_t)_mm256_movemask_epi8(_mm256_and_si256(_mm256_cmpeq_epi8(a, first), _mm256_cmpeq_epi8(b, last)));
}

/* The same for the 64 candidates from p, or 0 (the common case, tested first). */
AVX2 static inline uint64_t mask64(const uint8_t *p, size_t k, __m256i first, __m256i last) {
  const uint8_t *q = p + k - 1;
  __m256i c0 = _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_loadu_si256((const __m256i *)p), first),
                                _mm256_cmpeq_epi8(_mm256_loadu_si256((const __m256i *)q), last));
  __m256i c1 = _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_loadu_si256((const __m256i *)(p + 32)), first),
                                _mm256_cmpeq_epi8(_mm256_loadu_si256((const __m256i *)(q + 32)), last));
  __m256i any = _mm256_or_si256(c0, c1);
  if (__builtin_expect(_mm256_testz_si256(any, any), 1)) return 0;
  return (uint32_t)_mm256_movemask_epi8(c0) | (uint64_t)(uint32_t)_mm256_movemask_epi8(c1) << 32;
}

/*
 * The scans hold no call, so the two needle-byte vectors stay in registers
 * (a call in the loop, to memcmp, made the compiler reload them from the
 * stack at every step: half the speed on data in the CPU's caches). They are
 * not inlined into their callers for the same reason.
 *
 * next_block: the first block of 64 candidates at i, i + 64, ... up to the
 * block at `last` that has a candidate passing the filter: its index, with
 * its candidates in *mask; or the first index past `last` when none has.
 */
AVX2 __attribute__((noinline)) static size_t next_block(const uint8_t *hay, size_t k, size_t i, size_t last, uint8_t f, uint8_t l,
                                                       uint64_t *mask) {
  const __m256i first = _mm256_set1_epi8((char)f), lastb = _mm256_set1_epi8((char)l);
  for (; i <= last; i += 64) {
    uint64_t m = mask64(hay + i, k, first, lastb);
    if (__builtin_expect(m != 0, 0)) {
      *mask = m;
      return i;
    }
  }
  return i;
}

/* prev_block: the same downwards, over the blocks end - 64, end - 128, ...
 * while they start at 0 or above; SIZE_MAX when none has a candidate. */
AVX2 __attribute__((noinline)) static size_t prev_block(const uint8_t *hay, size_t k, size_t end, uint8_t f, uint8_t l, uint64_t *mask) {
  const __m256i first = _mm256_set1_epi8((char)f), lastb = _mm256_set1_epi8((char)l);
  for (; end >= 64; end -= 64) {
    uint64_t m = mask64(hay + end - 64, k, first, lastb);
    if (__builtin_expect(m != 0, 0)) {
      *mask = m;
      return end - 64;
    }
  }
  return SIZE_MAX;
}

/* The lowest candidate of `mask` (bit b: position base + b) holding the
 * needle, or -1, or GAVE_UP at the first one the budget could not pay for. */
static inline int64_t lowest(uint64_t mask, const uint8_t *hay, size_t base, const uint8_t *needle, size_t k, int64_t *budget) {
  for (; mask != 0; mask &= mask - 1) {
    size_t j = base + (size_t)__builtin_ctzll(mask);
    if (*budget < 0) return GAVE_UP(j);
    if (middle_matches(hay + j, needle, k, budget)) return (int64_t)j;
  }
  return -1;
}

/* The highest candidate of `mask` holding the needle, or -1, or GAVE_UP. */
static inline int64_t highest(uint64_t mask, const uint8_t *hay, size_t base, const uint8_t *needle, size_t k, int64_t *budget) {
  while (mask != 0) {
    unsigned b = 63u - (unsigned)__builtin_clzll(mask);
    if (*budget < 0) return GAVE_UP(base + b);
    if (middle_matches(hay + base + b, needle, k, budget)) return (int64_t)(base + b);
    mask &= ~((uint64_t)1 << b);
  }
  return -1;
}

/*
 * Both directions walk the candidate positions [0, starts) in blocks of 64
 * (of 32 when fewer than 64 exist). When `starts` is not a multiple of the
 * block, one more block ends exactly at `starts` (forwards) or starts at 0
 * (backwards), overlapping positions already tried: those hold no match, so
 * the first (last) match it reports is still the first (last) of the range,
 * and no position outside [0, starts) is tried.
 * Sound: a block of w candidates at i reads [i, i + w + k - 1), and
 * i + w <= starts = n - k + 1 keeps that inside hay[0, n).
 */
AVX2 static int64_t find_avx2(const uint8_t *hay, size_t n, const uint8_t *needle, size_t k, int64_t *budget) {
  const uint8_t f = needle[0], l = needle[k - 1];
  size_t starts = n - k + 1;
  uint64_t mask = 0;
  if (starts >= 64) {
    size_t last = starts - 64; /* where the block ending at `starts` begins */
    size_t i = 0;
    while (i <= last) {
      i = next_block(hay, k, i, last, f, l, &mask);
      if (i > last) break;
      int64_t j = lowest(mask, hay, i, needle, k, budget);
      if (j != -1) return j;
      i += 64;
    }
    if (i >= starts) return -1; /* [0, i) tried: all of them */
    return next_block(hay, k, last, last, f, l, &mask) == last ? lowest(mask, hay, last, needle, k, budget) : -1;
  }
  const __m256i first = _mm256_set1_epi8((char)f), lastb = _mm256_set1_epi8((char)l);
  if (starts >= 32) {
    int64_t j = lowest(mask32(hay, k, first, lastb), hay, 0, needle, k, budget);
    if (j != -1) return j;
    return lowest(mask32(hay + starts - 32, k, first, lastb), hay, starts - 32, needle, k, budget);
  }
  for (size_t i = 0; i < starts; i++) {
    if (*budget < 0) return GAVE_UP(i);
    if (match_at(hay + i, needle, k, budget)) return (int64_t)i;
  }
  return -1;
}

AVX2 static int64_t rfind_avx2(const uint8_t *hay, size_t n, const uint8_t *needle, size_t k, int64_t *budget) {
  const uint8_t f = needle[0], l = needle[k - 1];
  size_t starts = n - k + 1;
  uint64_t mask = 0;
  if (starts >= 64) {
    size_t end = starts; /* candidates [0, end) not tried yet */
    while (end >= 64) {
      size_t i = prev_block(hay, k, end, f, l, &mask);
      if (i == SIZE_MAX) {
        end %= 64;
        break;
      }
      int64_t j = highest(mask, hay, i, needle, k, budget);
      if (j != -1) return j;
      end = i;
    }
    if (end == 0) return -1;
    return prev_block(hay, k, 64, f, l, &mask) == 0 ? highest(mask, hay, 0, needle, k, budget) : -1;
  }
  const __m256i first = _mm256_set1_epi8((char)f), lastb = _mm256_set1_epi8((char)l);
  if (starts >= 32) {
    int64_t j = highest(mask32(hay + starts - 32, k, first, lastb), hay, starts - 32, needle, k, budget);
    if (j != -1) return j;
    return highest(mask32(hay, k, first, lastb), hay, 0, needle, k, budget);
  }
  for (size_t i = starts; i-- > 0;) {
    if (*budget < 0) return GAVE_UP(i);
    if (match_at(hay + i, needle, k, budget)) return (int64_t)i;
  }
  return -1;
}
#endif

/* ----------------------------------------------------------- two-way */

/* Byte i of s (length len), read forwards, or of s reversed (rev: rfind
 * searches the reversed haystack for the reversed needle). */
#define AT(s, len, i, rev) ((rev) ? (s)[(len) - 1 - (size_t)(i)] : (s)[(size_t)(i)])

/* The start of the needle's maximal suffix, minus one (-1: the whole needle),
 * for the byte order (`greater`: the opposite order), and that suffix's
 * period in *period: the scan of the critical factorization theorem. */
static inline __attribute__((always_inline)) int64_t max_suffix(const uint8_t *x, size_t m, int rev, int greater, size_t *period) {
  int64_t ms = -1;
  size_t j = 0, k = 1, p = 1;
  while (j + k < m) {
    uint8_t a = AT(x, m, j + k, rev), b = AT(x, m, ms + (int64_t)k, rev);
    if (greater ? a > b : a < b) {
      j += k; /* the suffix at ms stays the larger; its period grows */
      k = 1;
      p = (size_t)((int64_t)j - ms);
    } else if (a == b) {
      if (k != p) {
        k++;
      } else {
        j += p;
        k = 1;
      }
    } else {
      ms = (int64_t)j; /* a larger suffix starts at j + 1 */
      j = (size_t)ms + 1;
      k = p = 1;
    }
  }
  *period = p;
  return ms;
}

/* The first position of x (length m) in y (length n >= m), or -1: the
 * needle split at a critical point ell; its right part is compared first,
 * left to right, its left part then right to left. A mismatch in the right
 * part at i moves the needle by i - ell; a whole match, by the period. A
 * needle whose left part repeats with the period remembers how much of the
 * last alignment is known to match (`memory`) and compares it no more. Each
 * haystack byte is compared a bounded number of times: at most 2n compares. */
static inline __attribute__((always_inline)) int64_t two_way(const uint8_t *y, size_t n, const uint8_t *x, size_t m, int rev) {
  size_t p, q;
  int64_t s1 = max_suffix(x, m, rev, 0, &p), s2 = max_suffix(x, m, rev, 1, &q);
  int64_t ell = s1 > s2 ? s1 : s2;
  size_t per = s1 > s2 ? p : q;
  /* Periodic: x[0, ell] == x[per, per + ell] (always inside x: the period of
   * the suffix after ell is at most its length, m - ell - 1). */
  int periodic = (size_t)(ell + 1) + per <= m;
  for (int64_t t = 0; periodic && t <= ell; t++)
    if (AT(x, m, t, rev) != AT(x, m, (int64_t)per + t, rev)) periodic = 0;
  size_t j = 0;
  if (periodic) {
    int64_t memory = -1;
    while (j <= n - m) {
      int64_t i = (ell > memory ? ell : memory) + 1;
      while ((size_t)i < m && AT(x, m, i, rev) == AT(y, n, (int64_t)j + i, rev)) i++;
      if ((size_t)i < m) {
        j += (size_t)(i - ell);
        memory = -1;
        continue;
      }
      for (i = ell; i > memory && AT(x, m, i, rev) == AT(y, n, (int64_t)j + i, rev);) i--;
      if (i <= memory) return (int64_t)j;
      j += per;
      memory = (int64_t)(m - per) - 1;
    }
  } else {
    size_t left = (size_t)(ell + 1), right = m - left;
    per = (left > right ? left : right) + 1;
    while (j <= n - m) {
      int64_t i = ell + 1;
      while ((size_t)i < m && AT(x, m, i, rev) == AT(y, n, (int64_t)j + i, rev)) i++;
      if ((size_t)i < m) {
        j += (size_t)(i - ell);
        continue;
      }
      for (i = ell; i >= 0 && AT(x, m, i, rev) == AT(y, n, (int64_t)j + i, rev);) i--;
      if (i < 0) return (int64_t)j;
      j += per;
    }
  }
  return -1;
}

/* First and last occurrence in hay[0, n) (2 <= k <= n), in linear time. */
static int64_t find_two_way(const uint8_t *hay, size_t n, const uint8_t *needle, size_t k) {
  return two_way(hay, n, needle, k, 0);
}

static int64_t rfind_two_way(const uint8_t *hay, size_t n, const uint8_t *needle, size_t k) {
  int64_t t = two_way(hay, n, needle, k, 1);
  return t < 0 ? -1 : (int64_t)(n - k) - t;
}

/* Needles shorter than this never leave the filter: their compares cost at
 * most k bytes a position, about what the two-way algorithm's bookkeeping
 * costs, and the filter is many times faster on every other input. */
#define TWO_WAY_MIN 64
/* The budget of a search of n bytes: this many bytes of full compares a
 * haystack byte, and a fixed MiB (a few long true matches). */
#define BUDGET_PER_BYTE 4
#define BUDGET_BASE ((int64_t)1 << 20)

/* MEMMAP_TWO_WAY=1 at load: every needle of 2 bytes or more goes to the
 * two-way search at the first candidate passing the filter (the tests run
 * both ways). */
static int force_two_way = 0;

__attribute__((constructor)) static void read_two_way_switch(void) {
  const char *on = getenv("MEMMAP_TWO_WAY");
  force_two_way = on != NULL && on[0] == '1';
}

static int64_t budget_for(size_t n, size_t k) {
  if (force_two_way) return -1;
  if (k < TWO_WAY_MIN) return INT64_MAX;
  return (int64_t)(n > ((size_t)1 << 56) ? (size_t)1 << 56 : n) * BUDGET_PER_BYTE + BUDGET_BASE;
}

/* A kernel, then the two-way search from where it gave up (a GAVE_UP(j)
 * result): find searches [j, n), rfind [0, j + k). */
static int64_t find_with(search_kernel *kernel, const uint8_t *hay, size_t n, const uint8_t *needle, size_t k, int64_t budget) {
  int64_t r = kernel(hay, n, needle, k, &budget);
  if (r >= -1) return r;
  size_t j = (size_t)(-2 - r);
  int64_t t = find_two_way(hay + j, n - j, needle, k);
  return t < 0 ? -1 : (int64_t)j + t;
}

static int64_t rfind_with(search_kernel *kernel, const uint8_t *hay, size_t n, const uint8_t *needle, size_t k, int64_t budget) {
  int64_t r = kernel(hay, n, needle, k, &budget);
  if (r >= -1) return r;
  return rfind_two_way(hay, (size_t)(-2 - r) + k, needle, k);
}

/* --------------------------------------------------------- line ends */

typedef size_t line_kernel(const uint8_t *hay, size_t n, uint32_t *out, size_t cap);

/* Every kernel: out gets the offset just past each '\n' of hay[0, n), in
 * order, up to cap of them (cap > 0); it returns how many. Reads only
 * hay[0, n). Offsets fit in 32 bits: n < 2^32 (mm_line_ends' contract). */
#ifndef MM_X86_64
static size_t line_ends_memchr(const uint8_t *hay, size_t n, uint32_t *out, size_t cap) {
  size_t k = 0;
  for (const uint8_t *p = hay, *end = hay + n; p < end;) {
    const uint8_t *q = memchr(p, '\n', (size_t)(end - p));
    if (q == NULL) break;
    out[k++] = (uint32_t)(q - hay + 1);
    if (k == cap) break;
    p = q + 1;
  }
  return k;
}
#endif

#ifdef MM_X86_64
/*
 * The x86-64 kernels take 64 bytes a step and turn the newlines in them into
 * a 64-bit mask. With lines of a few dozen bytes a step holds one or two, at
 * no predictable place: a branch per newline (or per step) would mispredict
 * every few lines, which costs more than the scan. So while out has room for
 * four more, every step writes four offsets unconditionally (those past the
 * mask's count are overwritten by the next step: ctz of a mask with its top
 * bit forced is at most 63) and then advances k by the count; a step with more
 * than four, and the last steps near cap, go one bit at a time.
 * LINE_ENDS(mask_of) is the body of both kernels; mask_of(p) is the mask of
 * the 64 bytes at p.
 */
#define LINE_ENDS(mask_of)                                                                  \
  size_t k = 0, i = 0;                                                                      \
  /* Sound: each step reads [i, i + 64) with i + 64 <= n, and writes out[k, k + 4)       \
   * with k + 4 <= cap. */                                                                  \
  for (; i + 64 <= n && k + 4 <= cap; i += 64) {                                            \
    uint64_t m = mask_of(hay + i);                                                          \
    size_t count = (size_t)__builtin_popcountll(m);                                         \
    uint32_t b = (uint32_t)i + 1;                                                           \
    const uint64_t top = (uint64_t)1 << 63;                                                 \
    out[k] = b + (uint32_t)__builtin_ctzll(m | top);                                        \
    m &= m - 1;                                                                             \
    out[k + 1] = b + (uint32_t)__builtin_ctzll(m | top);                                    \
    m &= m - 1;                                                                             \
    out[k + 2] = b + (uint32_t)__builtin_ctzll(m | top);                                    \
    m &= m - 1;                                                                             \
    out[k + 3] = b + (uint32_t)__builtin_ctzll(m | top);                                    \
    m &= m - 1;                                                                             \
    if (__builtin_expect(count <= 4, 1)) {                                                  \
      k += count;                                                                           \
      continue;                                                                             \
    }                                                                                       \
    for (k += 4; m != 0 && k < cap; m &= m - 1) out[k++] = b + (uint32_t)__builtin_ctzll(m); \
    if (k == cap) return k;                                                                 \
  }                                                                                         \
  /* Below, k < cap on entry to each loop, and every write is followed by the check. */    \
  if (k == cap) return k;                                                                   \
  for (; i + 64 <= n; i += 64)                                                              \
    for (uint64_t m = mask_of(hay + i); m != 0; m &= m - 1) {                               \
      out[k++] = (uint32_t)i + 1 + (uint32_t)__builtin_ctzll(m);                            \
      if (k == cap) return k;                                                               \
    }                                                                                       \
  for (; i < n; i++)                                                                        \
    if (hay[i] == '\n') {                                                                   \
      out[k++] = (uint32_t)(i + 1);                                                         \
      if (k == cap) break;                                                                  \
    }                                                                                       \
  return k

static inline uint64_t newline_mask_sse2(const uint8_t *p) {
  const __m128i nl = _mm_set1_epi8('\n');
  uint64_t m = 0;
  for (int j = 0; j < 4; j++)
    m |= (uint64_t)(uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * j)), nl)) << (16 * j);
  return m;
}

static size_t line_ends_sse2(const uint8_t *hay, size_t n, uint32_t *out, size_t cap) { LINE_ENDS(newline_mask_sse2); }

#define LINES_AVX2 __attribute__((target("avx2,popcnt")))
LINES_AVX2 static inline uint64_t newline_mask_avx2(const uint8_t *p) {
  const __m256i nl = _mm256_set1_epi8('\n');
  uint32_t lo = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(_mm256_loadu_si256((const __m256i *)p), nl));
  uint32_t hi = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(_mm256_loadu_si256((const __m256i *)(p + 32)), nl));
  return lo | (uint64_t)hi << 32;
}

LINES_AVX2 static size_t line_ends_avx2(const uint8_t *hay, size_t n, uint32_t *out, size_t cap) { LINE_ENDS(newline_mask_avx2); }
#undef LINE_ENDS
#endif

/* ---------------------------------------------------- choosing, calling */

static search_kernel *find_kernel = find_vec16;
static search_kernel *rfind_kernel = rfind_vec16;
#ifdef MM_X86_64
static line_kernel *line_kernel_chosen = line_ends_sse2;
#else
static line_kernel *line_kernel_chosen = line_ends_memchr;
#endif

#ifdef MM_X86_64
/* Runs once when the addon is loaded, before any search: the pointers are
 * written here only, so calls from any thread read settled values. */
__attribute__((constructor)) static void choose_kernel(void) {
  const char *off = getenv("MEMMAP_NO_AVX2");
  if (off != NULL && off[0] == '1') return;
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2")) {
    find_kernel = find_avx2;
    rfind_kernel = rfind_avx2;
    if (__builtin_cpu_supports("popcnt")) line_kernel_chosen = line_ends_avx2;
  }
}
#endif

int64_t mm_find(const uint8_t *hay, size_t n, const uint8_t *needle, size_t k) {
  if (k == 0) return 0;
  if (k > n) return -1;
  if (k == 1) {
    const uint8_t *p = memchr(hay, needle[0], n);
    return p == NULL ? -1 : p - hay;
  }
  return find_with(find_kernel, hay, n, needle, k, budget_for(n, k));
}

int64_t mm_rfind(const uint8_t *hay, size_t n, const uint8_t *needle, size_t k) {
  if (k == 0) return (int64_t)n;
  if (k > n) return -1;
  if (k == 1) {
    const uint8_t *p = memrchr(hay, needle[0], n);
    return p == NULL ? -1 : p - hay;
  }
  return rfind_with(rfind_kernel, hay, n, needle, k, budget_for(n, k));
}

size_t mm_line_ends(const uint8_t *hay, size_t n, uint32_t *out, size_t cap) {
  if (cap == 0 || n == 0) return 0;
  return line_kernel_chosen(hay, n, out, cap);
}

/* ------------------------------------------------------------- copying */

/*
 * glibc's memmove copies a few KiB and more with `rep movsb` on CPUs that
 * have fast string moves (ERMS/FSRM), and on this project's machine (AMD
 * EPYC, glibc 2.36) that instruction slows down by a factor of 2 to 20 when
 * the destination lies a little past the source modulo 4 KiB: per 64 KiB
 * copied from memory, 4.3 us at most distances, 26 us at 8 bytes, 11 us at
 * 16, 5.5 us at 0; per 2 KiB, 0.05 us against 0.15-0.19 below 256 bytes. A
 * Buffer of 128 KiB or more comes from malloc's own mmap, 16 bytes past a
 * page, so a copy out of the map at a page-aligned position into a new one
 * hit it every time (CPython's bytes start 48 bytes past the page), and a
 * write of 64 KiB from a source 8 bytes short of a page boundary took 20 us
 * instead of 5. A loop of 16-byte loads and stores copies at the same speed
 * at every distance (4.3 us per 64 KiB, within 15 % of memmove's best for
 * copies from memory; as fast as memmove or faster from 1 MiB on), so
 * mm_copy takes it where the distance is below 256 bytes and the ranges do
 * not overlap, and memmove everywhere else. */
#define COPY_LOOP_MIN 1024
#define COPY_NEAR 256

void mm_copy(void *dst, const void *src, size_t n) {
  uint8_t *d = dst;
  const uint8_t *s = src;
#ifdef MM_X86_64
  uintptr_t du = (uintptr_t)d, su = (uintptr_t)s, distance = du - su;
  int apart = du + n <= su || su + n <= du;
  if (n >= COPY_LOOP_MIN && apart && (distance & 4095) < COPY_NEAR) {
    size_t i = 0;
    /* Sound: each step reads s[i, i+64) and writes d[i, i+64), i + 64 <= n;
     * the tail is memcpy of the rest; the ranges do not overlap. */
    for (; i + 64 <= n; i += 64) {
      __m128i a = _mm_loadu_si128((const __m128i *)(s + i));
      __m128i b = _mm_loadu_si128((const __m128i *)(s + i + 16));
      __m128i c = _mm_loadu_si128((const __m128i *)(s + i + 32));
      __m128i e = _mm_loadu_si128((const __m128i *)(s + i + 48));
      _mm_storeu_si128((__m128i *)(d + i), a);
      _mm_storeu_si128((__m128i *)(d + i + 16), b);
      _mm_storeu_si128((__m128i *)(d + i + 32), c);
      _mm_storeu_si128((__m128i *)(d + i + 48), e);
    }
    memcpy(d + i, s + i, n - i);
    return;
  }
#endif
  memmove(d, s, n);
}
