/* One-way latency of a cache line handed between two CPUs, measured.
 *
 *   cc -O2 -pthread bench/core_to_core.c -o /tmp/core_to_core && /tmp/core_to_core 0 1 4
 *
 * Two threads pinned to CPUs A and B pass a flag back and forth (an atomic store, then a spin on
 * the other side's answer); the figure is the round trip over two, in ns, per repeat. On a
 * virtual machine the two vCPUs can sit on cores that share an L3 (tens of ns) or on different
 * dies (Zen 4: separate CCDs, ~4x that), and the hypervisor may move them while a benchmark
 * runs: multi-threaded timings there need this figure beside them (bench/README.md, "Two
 * threads on a VM: where the vCPUs sit").
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define ITERS 200000

static _Atomic int flag __attribute__((aligned(64)));
static int cpu_b;

static void pin(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (pthread_setaffinity_np(pthread_self(), sizeof set, &set) != 0) {
    fprintf(stderr, "cannot run on CPU %d\n", cpu);
    exit(2);
  }
}

static void *answer(void *unused) {
  (void)unused;
  pin(cpu_b);
  for (int i = 0; i < ITERS; i++) {
    while (atomic_load_explicit(&flag, memory_order_acquire) != 1) {
    }
    atomic_store_explicit(&flag, 0, memory_order_release);
  }
  return NULL;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s CPU_A CPU_B [REPEATS]\n", argv[0]);
    return 2;
  }
  int cpu_a = atoi(argv[1]), repeats = argc > 3 ? atoi(argv[3]) : 4;
  cpu_b = atoi(argv[2]);
  pin(cpu_a);
  for (int r = 0; r < repeats; r++) {
    pthread_t t;
    struct timespec t0, t1;
    atomic_store(&flag, 0);
    pthread_create(&t, NULL, answer, NULL);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < ITERS; i++) {
      atomic_store_explicit(&flag, 1, memory_order_release);
      while (atomic_load_explicit(&flag, memory_order_acquire) != 0) {
      }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    pthread_join(t, NULL);
    double ns = (t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec);
    printf("%.0f%s", ns / ITERS / 2, r + 1 < repeats ? " " : " ns one-way\n");
    fflush(stdout);
  }
  return 0;
}
