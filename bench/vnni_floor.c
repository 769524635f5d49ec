/* The issue-bound floor of the INT8 4x1 kernel's inner loop on this core, measured.
 *
 *   cc -O2 -march=native bench/vnni_floor.c -o /tmp/vnni_floor && /tmp/vnni_floor
 *
 * One iteration of the 4x1 kernel's group loop (4 input channels x 64 tokens x 4 output
 * channels, see kernels.bsr_dense_int8_4x1) issues 16 vpdpbusd and 8 in-lane unpacks (the
 * VNNI interleave of 4 XT rows). On Intel cores with AVX-512, 512-bit vector uops issue only on
 * ports 0 and 5 (vpdpbusd on both, unpacks on 5), so 24 uops take at least 12 cycles: this
 * program times that mix from registers (no loads, no loop overhead worth counting) and
 * vpdpbusd alone (the VNNI peak), warm, after a frequency warm-up. Register operands only:
 * the figures are what the ports allow, not what memory allows.
 */
#include <immintrin.h>
#include <stdio.h>
#include <time.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

/* volatile: the compiler must neither hoist nor merge them */
#define DOT(c, x, w) __asm__ volatile("vpdpbusd %1, %2, %0" : "+v"(c) : "v"(x), "v"(w))
#define UNPACK(o, x, y) __asm__ volatile("vpunpcklbw %1, %2, %0" : "=v"(o) : "v"(x), "v"(y))

int main(void) {
  __m512i c0 = _mm512_setzero_si512(), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0;
  __m512i c8 = c0, c9 = c0, c10 = c0, c11 = c0, c12 = c0, c13 = c0, c14 = c0, c15 = c0;
  __m512i x0 = _mm512_set1_epi32(3), x1 = x0, x2 = x0, x3 = x0, w0 = _mm512_set1_epi32(5), w1 = w0, w2 = w0, w3 = w0;
  __m512i u0, u1, u2, u3, v0 = x0, v1 = x1, v2 = x2, v3 = x3;
  const long n = 20000000;
  double best[2] = {1e9, 1e9};
  for (int rep = 0; rep < 6; rep++) {
    for (int unpack = 0; unpack < 2; unpack++) {
      double t0 = now();
      for (long i = 0; i < n; i++) {
        if (unpack) {
          UNPACK(u0, x0, x1); UNPACK(u1, x2, x3); UNPACK(u2, x0, x1); UNPACK(u3, x2, x3);
          UNPACK(v0, u0, u1); UNPACK(v1, u0, u1); UNPACK(v2, u2, u3); UNPACK(v3, u2, u3);
        }
        DOT(c0, v0, w0); DOT(c1, v0, w1); DOT(c2, v0, w2); DOT(c3, v0, w3);
        DOT(c4, v1, w0); DOT(c5, v1, w1); DOT(c6, v1, w2); DOT(c7, v1, w3);
        DOT(c8, v2, w0); DOT(c9, v2, w1); DOT(c10, v2, w2); DOT(c11, v2, w3);
        DOT(c12, v3, w0); DOT(c13, v3, w1); DOT(c14, v3, w2); DOT(c15, v3, w3);
      }
      double ns = (now() - t0) / n * 1e9;
      if (ns < best[unpack]) best[unpack] = ns;
    }
  }
  __m512i s = _mm512_xor_si512(_mm512_xor_si512(_mm512_xor_si512(c0, c1), _mm512_xor_si512(c2, c3)),
                               _mm512_xor_si512(_mm512_xor_si512(c4, c5), _mm512_xor_si512(c6, c7)));
  s = _mm512_xor_si512(s, _mm512_xor_si512(_mm512_xor_si512(_mm512_xor_si512(c8, c9), _mm512_xor_si512(c10, c11)),
                                           _mm512_xor_si512(_mm512_xor_si512(c12, c13), _mm512_xor_si512(c14, c15))));
  __asm__ volatile("" ::"v"(s));
  /* 16 vpdpbusd = 16 x 64 multiply-adds = 2048 ops */
  printf("vnni_peak_gops %.1f\n", 2048.0 / best[0]);
  printf("group_iteration_ns %.3f\n", best[1]);
  printf("vpdpbusd_only_group_ns %.3f\n", best[0]);
  return 0;
}
