/* The flush-denormal mode (torch.set_flush_denormal): one process-wide switch
 * that tapegrad's C entry points apply to the calling thread while they run.
 *
 * Subnormal floats (|x| < 2.2e-308 in double, 1.2e-38 in float) are 10-100x
 * slower on many CPUs. With the mode on, a sweep or kernel runs with the CPU's
 * flush-to-zero and denormals-are-zero bits set (x86-64: MXCSR FTZ|DAZ;
 * aarch64: FPCR.FZ) and restores the thread's previous bits on return, so the
 * caller's own floating point (Python's float arithmetic) never changes.
 * Plain C, no Python.h.
 *
 *     unsigned s = tg_fpmode_enter();  ... arithmetic ...  tg_fpmode_leave(s);
 *
 * Both are volatile asm with a memory clobber: arithmetic on values loaded after
 * enter and stored before leave runs under the mode. A result kept in a register
 * must be pinned (tg_fpmode_pin) before leave. */
#ifndef TG_FPMODE_H
#define TG_FPMODE_H

#if (defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)))
#define TG_FPMODE_X86_ASM 1
#elif defined(_M_X64) && defined(_MSC_VER)
#define TG_FPMODE_X86_MSVC 1
#include <xmmintrin.h>
#include <intrin.h>
#elif defined(__aarch64__) && (defined(__GNUC__) || defined(__clang__))
#define TG_FPMODE_ARM64 1
#endif

#if defined(TG_FPMODE_X86_ASM) || defined(TG_FPMODE_X86_MSVC) || defined(TG_FPMODE_ARM64)
#define TG_FPMODE_SUPPORTED 1
#else
#define TG_FPMODE_SUPPORTED 0
#endif

/* 1 while the mode is on (defined in tg_tape.c); read at each entry point. */
extern volatile int tg_flush_denormal;

#define TG_FPMODE_UNCHANGED 0xFFFFFFFFu   /* enter changed nothing: leave does nothing */

/* Turn the mode on (1) or off (0) for every later entry point, on every thread;
 * returns 1, or 0 (and changes nothing) where the CPU has no such mode. */
static inline int tg_set_flush_denormal(int on)
{
    if (!TG_FPMODE_SUPPORTED) return 0;
    tg_flush_denormal = on != 0;
    return 1;
}

#if defined(TG_FPMODE_X86_ASM) || defined(TG_FPMODE_X86_MSVC)
#define TG_FPMODE_BITS 0x8040u            /* MXCSR: FTZ (bit 15) | DAZ (bit 6) */
static inline unsigned tg_fpmode_get(void)
{
#ifdef TG_FPMODE_X86_ASM
    unsigned csr;
    __asm__ volatile("stmxcsr %0" : "=m"(csr) : : "memory");
    return csr;
#else
    _ReadWriteBarrier();
    return _mm_getcsr();
#endif
}
static inline void tg_fpmode_set(unsigned csr)
{
#ifdef TG_FPMODE_X86_ASM
    __asm__ volatile("ldmxcsr %0" : : "m"(csr) : "memory");
#else
    _mm_setcsr(csr);
    _ReadWriteBarrier();
#endif
}
#elif defined(TG_FPMODE_ARM64)
#define TG_FPMODE_BITS (1u << 24)         /* FPCR.FZ */
static inline unsigned tg_fpmode_get(void)
{
    unsigned long long fpcr;
    __asm__ volatile("mrs %0, fpcr" : "=r"(fpcr) : : "memory");
    return (unsigned)fpcr;
}
static inline void tg_fpmode_set(unsigned fpcr)
{
    unsigned long long v = fpcr;
    __asm__ volatile("msr fpcr, %0" : : "r"(v) : "memory");
}
#endif

/* Apply the mode to this thread if it is on; returns what leave restores. */
static inline unsigned tg_fpmode_enter(void)
{
#if TG_FPMODE_SUPPORTED
    if (tg_flush_denormal) {
        unsigned old = tg_fpmode_get();
        if ((old & TG_FPMODE_BITS) != TG_FPMODE_BITS) {
            tg_fpmode_set(old | TG_FPMODE_BITS);
            return old;
        }
    }
#endif
    return TG_FPMODE_UNCHANGED;
}

static inline void tg_fpmode_leave(unsigned saved)
{
#if TG_FPMODE_SUPPORTED
    if (saved != TG_FPMODE_UNCHANGED) tg_fpmode_set(saved);
#else
    (void)saved;
#endif
}

/* x, computed by now (before a following tg_fpmode_leave). */
static inline double tg_fpmode_pin(double x)
{
#if defined(__GNUC__) || defined(__clang__)
    __asm__ volatile("" : "+m"(x));
    return x;
#else
    volatile double v = x;
    return v;
#endif
}

#endif
