/*
 * search.c: finding bytes in mapped memory, as libc's memchr/memmem do, at
 * memory bandwidth. One call searches a whole range: no per-byte crossing.
 *
 * Needles of two bytes or more use a first/last-byte filter: 64 candidate
 * positions at a time are compared on their first and last byte with 16-byte
 * vectors (GCC/Clang vector extensions: SSE2 on x86-64, NEON on arm64), and
 * only positions passing both are compared in full.
 */
#define _GNU_SOURCE
#include "mm.h"

#include <stdint.h>
#include <string.h>

typedef uint8_t v16 __attribute__((vector_size(16)));
typedef uint64_t v2x64 __attribute__((vector_size(16)));

static inline v16 load(const uint8_t *p) {
  v16 v;
  memcpy(&v, p, sizeof v); /* unaligned load */
  return v;
}

/* Nonzero when some lane of the 64 candidates starting at p may match. */
static inline int block_may_match(const uint8_t *p, size_t k, v16 first, v16 last) {
  const uint8_t *q = p + k - 1;
  v16 m = (v16)((load(p) == first) & (load(q) == last));
  m |= (v16)((load(p + 16) == first) & (load(q + 16) == last));
  m |= (v16)((load(p + 32) == first) & (load(q + 32) == last));
  m |= (v16)((load(p + 48) == first) & (load(q + 48) == last));
  v2x64 w = (v2x64)m;
  return (w[0] | w[1]) != 0;
}

static inline int match_at(const uint8_t *p, const uint8_t *needle, size_t k) {
  return p[0] == needle[0] && p[k - 1] == needle[k - 1] && memcmp(p + 1, needle + 1, k - 2) == 0;
}

int64_t mm_find(const uint8_t *hay, size_t n, const uint8_t *needle, size_t k) {
  if (k == 0) return 0;
  if (k > n) return -1;
  if (k == 1) {
    const uint8_t *p = memchr(hay, needle[0], n);
    return p == NULL ? -1 : p - hay;
  }
  v16 first = (v16){0} + needle[0], last = (v16){0} + needle[k - 1];
  size_t starts = n - k + 1; /* candidate positions are [0, starts) */
  size_t i = 0;
  /* Sound: a block reads bytes [i, i + 64 + k - 1) and i + 64 <= starts,
   * so it never reads past hay + n. */
  for (; i + 64 <= starts; i += 64) {
    if (__builtin_expect(!block_may_match(hay + i, k, first, last), 1)) continue;
    for (size_t j = i; j < i + 64; j++)
      if (match_at(hay + j, needle, k)) return (int64_t)j;
  }
  for (; i < starts; i++)
    if (match_at(hay + i, needle, k)) return (int64_t)i;
  return -1;
}

int64_t mm_rfind(const uint8_t *hay, size_t n, const uint8_t *needle, size_t k) {
  if (k == 0) return (int64_t)n;
  if (k > n) return -1;
  if (k == 1) {
    const uint8_t *p = memrchr(hay, needle[0], n);
    return p == NULL ? -1 : p - hay;
  }
  v16 first = (v16){0} + needle[0], last = (v16){0} + needle[k - 1];
  size_t end = n - k + 1; /* candidates [0, end), tried from the highest */
  /* Sound: as in mm_find, each block's reads stay below hay + n. */
  while (end >= 64) {
    size_t i = end - 64;
    if (block_may_match(hay + i, k, first, last)) {
      for (size_t j = end; j-- > i;)
        if (match_at(hay + j, needle, k)) return (int64_t)j;
    }
    end = i;
  }
  for (size_t j = end; j-- > 0;)
    if (match_at(hay + j, needle, k)) return (int64_t)j;
  return -1;
}
