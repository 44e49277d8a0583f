/* torch's CPU random transforms, bit for bit (see src/tapegrad/_random.py). */
#ifndef TG_RANDOM_H
#define TG_RANDOM_H

#include <stdint.h>

/* 0: the float32 Box-Muller runs lane by lane even where AVX2 is there (for tests). */
extern int tg_random_vector_loops;

/* Box-Muller over blocks of 16 uniforms in place: data[0:8] radii, data[8:16] angles. */
void tg_box_muller_avx2_f32(float *data, int64_t nblocks, float mean, float std);
void tg_box_muller_libm_f32(float *data, int64_t nblocks, float mean, float std);
void tg_box_muller_f64(double *data, int64_t nblocks, double mean, double std);

/* torch's uniform_real_distribution(0, 1): 24 bits of each 32-bit draw (float) or 53 bits
 * of random64() made of two draws, the first high (double); raw holds the draws. */
void tg_uniform24(const uint64_t *raw, float *out, int64_t n);
void tg_uniform53(const uint64_t *raw, double *out, int64_t n);

/* out[i] = fma(a[i], b, c): one rounding, as torch's fused kernels. */
void tg_fma_f32(const float *a, float b, float c, float *out, int64_t n);
void tg_fma_f64(const double *a, double b, double c, double *out, int64_t n);

/* out[i] = log(x[i]) / log1p(-x[i]) with libm (what torch calls). */
void tg_log_f64(const double *x, double *out, int64_t n);
void tg_log1p_neg_f64(const double *x, double *out, int64_t n);

/* randperm's small-n swap loop: perm = 0..n-1, then swap perm[i], perm[i + r[i] % (n - i)]. */
void tg_randperm_swaps(const uint64_t *r, int64_t n, int64_t *perm);
/* randperm's large-n inside-out shuffle with r[i] % (i + 1). */
void tg_randperm_inside_out(const uint64_t *r, int64_t n, int64_t *perm);

#endif
