/*
 * wait-posix.c: what waiting (mm.h) does the same on every POSIX system: the
 * word (the kernel keys it itself), the clock and the threads; the sleeping is
 * wait-linux.c's and wait-darwin.c's.
 */
#include "mm.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int mm_word_init(mm_word *w, void *addr, int shared, int64_t offset) {
  (void)offset; /* the kernel finds the file (or object) and the offset itself */
  memset(w, 0, sizeof *w);
  w->addr = addr;
  w->shared = shared;
  return 0;
}

int64_t mm_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* A waiter thread sleeps in one system call and resolves a promise through
 * Node-API: 256 KiB of stack is plenty (and room for the sanitizers). */
#define WAITER_STACK (256 * 1024)
#ifndef PTHREAD_STACK_MIN
#define PTHREAD_STACK_MIN 0
#endif

typedef struct {
  void (*fn)(void *);
  void *arg;
} start;

static void *trampoline(void *p) {
  start s = *(start *)p;
  free(p);
  s.fn(s.arg);
  return NULL;
}

int mm_thread_start(void (*fn)(void *), void *arg) {
  start *s = malloc(sizeof *s);
  if (s == NULL) return -ENOMEM;
  s->fn = fn;
  s->arg = arg;
  pthread_attr_t attr;
  int rc = pthread_attr_init(&attr);
  if (rc == 0) {
    size_t stack = WAITER_STACK;
    if (stack < (size_t)PTHREAD_STACK_MIN) stack = (size_t)PTHREAD_STACK_MIN;
    pthread_attr_setstacksize(&attr, stack);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t t;
    rc = pthread_create(&t, &attr, trampoline, s);
    pthread_attr_destroy(&attr);
  }
  if (rc != 0) free(s);
  return -rc;
}
