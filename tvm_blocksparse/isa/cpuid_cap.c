/* CPUID as a CPU of a lower ISA level would answer it, for one process (LD_PRELOAD).

   Why: ONNX Runtime (MLAS), FBGEMM and OpenVINO pick their kernels from CPUID and take no
   environment variable that caps them, so on a newer CPU they can't be timed as an AVX2-only CPU
   runs them. Linux's CPUID faulting (arch_prctl(ARCH_SET_CPUID, 0); the "cpuid_fault" flag of
   /proc/cpuinfo) makes every CPUID instruction of this process raise SIGSEGV; the handler runs
   the real CPUID and clears, in leaf 7, the feature bits above the level named by
   TVM_BLOCKSPARSE_CPUID_CAP ("avx2", "avx_vnni" or "avx512_vnni"). Nothing is added: a library
   sees a subset of what the CPU has, so it never executes an instruction the CPU lacks.

   Built and loaded by tvm_blocksparse.isa.peers.cpuid_cap_env. The setting is per thread,
   inherited by threads and forks, reset by execve (where LD_PRELOAD loads this again).
   SIGSEGV handlers the program installs (Python's faulthandler) are kept aside and called for
   every fault that is not a CPUID: a real crash still crashes. */
#define _GNU_SOURCE
#include <asm/prctl.h>
#include <dlfcn.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#define BIT(n) (1u << (n))

/* CPUID.(EAX=7,ECX=0):EBX/ECX/EDX and CPUID.(EAX=7,ECX=1):EAX/EDX bits of each family. */
/* AVX-512: F DQ IFMA PF ER CD BW VL / VBMI VBMI2 VNNI BITALG VPOPCNTDQ / 4VNNIW 4FMAPS
   VP2INTERSECT FP16 / BF16 / AVX10 (which implies AVX-512). */
static const uint32_t AVX512_7_0_EBX =
    BIT(16) | BIT(17) | BIT(21) | BIT(26) | BIT(27) | BIT(28) | BIT(30) | BIT(31);
static const uint32_t AVX512_7_0_ECX = BIT(1) | BIT(6) | BIT(11) | BIT(12) | BIT(14);
static const uint32_t AVX512_7_0_EDX = BIT(2) | BIT(3) | BIT(8) | BIT(23);
static const uint32_t AVX512_7_1_EAX = BIT(5);
/* AVX512_FP16 (Sapphire Rapids) and AVX10: above an AVX-512 VNNI CPU without AMX too. */
static const uint32_t ABOVE_AVX512_VNNI_7_0_EDX = BIT(23);
static const uint32_t AVX10_7_1_EDX = BIT(19);
/* AMX: BF16 TILE INT8 / FP16 / COMPLEX. */
static const uint32_t AMX_7_0_EDX = BIT(22) | BIT(24) | BIT(25);
static const uint32_t AMX_7_1_EAX = BIT(21);
static const uint32_t AMX_7_1_EDX = BIT(8);
/* VEX dot products: AVX-VNNI, AVX-IFMA / AVX-VNNI-INT8, AVX-NE-CONVERT, AVX-VNNI-INT16. */
static const uint32_t AVX_VNNI_7_1_EAX = BIT(4) | BIT(23);
static const uint32_t AVX_VNNI_7_1_EDX = BIT(4) | BIT(5) | BIT(10);

static uint32_t hide_7_0_ebx, hide_7_0_ecx, hide_7_0_edx, hide_7_1_eax, hide_7_1_edx;
static unsigned long answered;
static struct sigaction program_handler; /* what the program asked SIGSEGV to do */
static int (*libc_sigaction)(int, const struct sigaction *, struct sigaction *);
static int active;

static int set_level(const char *level) {
  uint32_t amx_and_vex_dots_7_1_edx = AMX_7_1_EDX | AVX_VNNI_7_1_EDX | AVX10_7_1_EDX;
  if (!strcmp(level, "avx512_vnni")) { /* Cascade Lake, Ice Lake, Zen 4: no AMX, no AVX-VNNI */
    hide_7_0_edx = AMX_7_0_EDX | ABOVE_AVX512_VNNI_7_0_EDX;
    hide_7_1_eax = AMX_7_1_EAX | AVX_VNNI_7_1_EAX;
    hide_7_1_edx = amx_and_vex_dots_7_1_edx;
  } else if (!strcmp(level, "avx_vnni")) { /* Alder Lake: AVX-VNNI, no AVX-512 */
    hide_7_0_ebx = AVX512_7_0_EBX;
    hide_7_0_ecx = AVX512_7_0_ECX;
    hide_7_0_edx = AVX512_7_0_EDX | AMX_7_0_EDX;
    hide_7_1_eax = AVX512_7_1_EAX | AMX_7_1_EAX;
    hide_7_1_edx = AMX_7_1_EDX | AVX10_7_1_EDX;
  } else if (!strcmp(level, "avx2")) { /* Haswell .. Zen 3 */
    hide_7_0_ebx = AVX512_7_0_EBX;
    hide_7_0_ecx = AVX512_7_0_ECX;
    hide_7_0_edx = AVX512_7_0_EDX | AMX_7_0_EDX;
    hide_7_1_eax = AVX512_7_1_EAX | AMX_7_1_EAX | AVX_VNNI_7_1_EAX;
    hide_7_1_edx = amx_and_vex_dots_7_1_edx;
  } else {
    return -1;
  }
  return 0;
}

static void real_cpuid(uint32_t leaf, uint32_t subleaf, uint32_t r[4]) {
  syscall(SYS_arch_prctl, ARCH_SET_CPUID, 1);
  __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(subleaf));
  syscall(SYS_arch_prctl, ARCH_SET_CPUID, 0);
}

static void on_segv(int sig, siginfo_t *info, void *context) {
  greg_t *reg = ((ucontext_t *)context)->uc_mcontext.gregs;
  const uint8_t *ip = (const uint8_t *)reg[REG_RIP];
  /* A faulting CPUID is a general protection fault (SI_KERNEL) at its opcode 0F A2. */
  if (info->si_code == SI_KERNEL && ip[0] == 0x0f && ip[1] == 0xa2) {
    uint32_t leaf = (uint32_t)reg[REG_RAX], subleaf = (uint32_t)reg[REG_RCX], r[4];
    real_cpuid(leaf, subleaf, r);
    if (leaf == 7 && subleaf == 0) {
      r[1] &= ~hide_7_0_ebx;
      r[2] &= ~hide_7_0_ecx;
      r[3] &= ~hide_7_0_edx;
    } else if (leaf == 7 && subleaf == 1) {
      r[0] &= ~hide_7_1_eax;
      r[3] &= ~hide_7_1_edx;
    }
    reg[REG_RAX] = r[0];
    reg[REG_RBX] = r[1];
    reg[REG_RCX] = r[2];
    reg[REG_RDX] = r[3];
    reg[REG_RIP] += 2;
    __atomic_add_fetch(&answered, 1, __ATOMIC_RELAXED);
    return;
  }
  struct sigaction h = program_handler;
  if ((h.sa_flags & SA_SIGINFO) && h.sa_sigaction) {
    h.sa_sigaction(sig, info, context);
  } else if (!(h.sa_flags & SA_SIGINFO) && h.sa_handler != SIG_DFL && h.sa_handler != SIG_IGN) {
    h.sa_handler(sig);
  } else {
    /* No handler of the program's: returning re-executes the fault, which now kills. */
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    libc_sigaction(SIGSEGV, &dfl, NULL);
  }
}

/* The program's SIGSEGV handler is recorded, not installed: ours stays and calls it. */
int sigaction(int sig, const struct sigaction *act, struct sigaction *old) {
  if (!libc_sigaction) libc_sigaction = dlsym(RTLD_NEXT, "sigaction");
  if (sig != SIGSEGV || !active) return libc_sigaction(sig, act, old);
  if (old) *old = program_handler;
  if (act) program_handler = *act;
  return 0;
}

sighandler_t signal(int sig, sighandler_t handler) {
  struct sigaction act, old;
  memset(&act, 0, sizeof act);
  act.sa_handler = handler;
  act.sa_flags = SA_RESTART;
  sigemptyset(&act.sa_mask);
  return sigaction(sig, &act, &old) == 0 ? old.sa_handler : SIG_ERR;
}

static void report(void) {
  if (getenv("TVM_BLOCKSPARSE_CPUID_CAP_VERBOSE"))
    fprintf(stderr, "cpuid_cap: %lu CPUID instructions answered\n", answered);
}

__attribute__((constructor)) static void start(void) {
  const char *level = getenv("TVM_BLOCKSPARSE_CPUID_CAP");
  if (!level || !*level) return;
  libc_sigaction = dlsym(RTLD_NEXT, "sigaction");
  if (set_level(level) != 0) {
    fprintf(stderr, "cpuid_cap: unknown level %s: CPUID left as it is\n", level);
    return;
  }
  struct sigaction act;
  memset(&act, 0, sizeof act);
  act.sa_sigaction = on_segv;
  act.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK;
  sigemptyset(&act.sa_mask);
  if (libc_sigaction(SIGSEGV, &act, &program_handler) != 0) return;
  if (syscall(SYS_arch_prctl, ARCH_SET_CPUID, 0) != 0) { /* kernel or CPU without faulting */
    libc_sigaction(SIGSEGV, &program_handler, NULL);
    fprintf(stderr, "cpuid_cap: no CPUID faulting here: CPUID left as it is\n");
    return;
  }
  active = 1;
  atexit(report);
}
