/* torch's CPU random transforms, bit for bit.
 *
 * The float32 Box-Muller is avx_mathfun's log256_ps / sincos256_ps (Pommier's cephes
 * ports) lane by lane, with the fused multiply-adds torch's AVX2 build has (GCC fuses
 * the intrinsics' mul + add); fmaf/fma give them here, since tapegrad builds with
 * -ffp-contract=off. The double version and the non-AVX float version call libm as
 * torch does. _random.py has the same algorithms in numpy (the readable definition);
 * tests pin both to torch 2.13.
 */
#include "tg_random.h"

#include <math.h>
#include <string.h>

#define TWO_PI 6.283185307179586

static float log_cephes_f32(float x)
{
    static const float p[9] = {7.0376836292E-2f, -1.1514610310E-1f, 1.1676998740E-1f,
                               -1.2420140846E-1f, 1.4249322787E-1f, -1.6668057665E-1f,
                               2.0000714765E-1f, -2.4999993993E-1f, 3.3333331174E-1f};
    union { float f; int32_t i; } u;
    u.f = x < 1.17549435e-38f ? 1.17549435e-38f : x;
    float e = (float)((int32_t)((uint32_t)u.i >> 23) - 0x7f) + 1.0f;
    u.i = (u.i & ~0x7f800000) | 0x3f000000;
    float m = u.f;
    int small = m < 0.707106781186547524f;
    e = e - (small ? 1.0f : 0.0f);
    m = (m - 1.0f) + (small ? u.f : 0.0f);
    float z = m * m;
    float y = p[0];
    for (int k = 1; k < 9; k++)
        y = fmaf(y, m, p[k]);
    y = fmaf(y * m, z, e * -2.12194440e-4f);
    y = fmaf(-z, 0.5f, y);
    return fmaf(e, 0.693359375f, m + y);
}

static void sincos_cephes_f32(float x, float *s, float *c)
{
    int sin_negative = signbit(x) != 0;
    x = fabsf(x);
    int32_t j = (int32_t)(x * 1.27323954473516f);
    j = (j + 1) & ~1;
    float y = (float)j;
    x = fmaf(y, -0.78515625f, x);
    x = fmaf(y, -2.4187564849853515625e-4f, x);
    x = fmaf(y, -3.77489497744594108e-8f, x);
    sin_negative ^= (j & 4) != 0;
    int cos_negative = (~(j - 2) & 4) != 0;
    int sine_poly = (j & 2) == 0;
    float z = x * x;
    float yc = fmaf(fmaf(2.443315711809948E-005f, z, -1.388731625493765E-003f), z,
                    4.166664568298827E-002f);
    yc = fmaf(yc * z, z, -(z * 0.5f)) + 1.0f;
    float ys = fmaf(fmaf(-1.9515295891E-4f, z, 8.3321608736E-3f), z, -1.6666654611E-1f);
    ys = fmaf(ys * z, x, x);
    float sv = sine_poly ? ys : yc, cv = sine_poly ? yc : ys;
    *s = sin_negative ? -sv : sv;
    *c = cos_negative ? -cv : cv;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define TG_HAVE_AVX2_PATH 1
#define V8 __m256
#define SET(x) _mm256_set1_ps(x)
#define FMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define AVX2_FN __attribute__((target("avx2,fma")))

/* The same functions on 8 lanes with AVX2 + FMA: the instructions torch's kernel runs. */
AVX2_FN static V8 log_cephes_v8(V8 x)
{
    static const float p[9] = {7.0376836292E-2f, -1.1514610310E-1f, 1.1676998740E-1f,
                               -1.2420140846E-1f, 1.4249322787E-1f, -1.6668057665E-1f,
                               2.0000714765E-1f, -2.4999993993E-1f, 3.3333331174E-1f};
    const V8 one = SET(1.0f);
    x = _mm256_max_ps(x, _mm256_castsi256_ps(_mm256_set1_epi32(0x00800000)));
    __m256i e_bits = _mm256_sub_epi32(_mm256_srli_epi32(_mm256_castps_si256(x), 23),
                                      _mm256_set1_epi32(0x7f));
    V8 e = _mm256_add_ps(_mm256_cvtepi32_ps(e_bits), one);
    x = _mm256_and_ps(x, _mm256_castsi256_ps(_mm256_set1_epi32(~0x7f800000)));
    x = _mm256_or_ps(x, SET(0.5f));
    V8 small = _mm256_cmp_ps(x, SET(0.707106781186547524f), _CMP_LT_OS);
    V8 tmp = _mm256_and_ps(x, small);
    x = _mm256_sub_ps(x, one);
    e = _mm256_sub_ps(e, _mm256_and_ps(one, small));
    x = _mm256_add_ps(x, tmp);
    V8 z = _mm256_mul_ps(x, x);
    V8 y = SET(p[0]);
    for (int k = 1; k < 9; k++)
        y = FMA(y, x, SET(p[k]));
    y = FMA(_mm256_mul_ps(y, x), z, _mm256_mul_ps(e, SET(-2.12194440e-4f)));
    y = _mm256_fnmadd_ps(z, SET(0.5f), y);
    return FMA(e, SET(0.693359375f), _mm256_add_ps(x, y));
}

AVX2_FN static void sincos_cephes_v8(V8 x, V8 *s, V8 *c)
{
    const V8 sign_mask = _mm256_castsi256_ps(_mm256_set1_epi32((int)0x80000000));
    V8 sign_sin = _mm256_and_ps(x, sign_mask);
    x = _mm256_andnot_ps(sign_mask, x);
    __m256i j = _mm256_cvttps_epi32(_mm256_mul_ps(x, SET(1.27323954473516f)));
    j = _mm256_and_si256(_mm256_add_epi32(j, _mm256_set1_epi32(1)), _mm256_set1_epi32(~1));
    V8 y = _mm256_cvtepi32_ps(j);
    V8 swap_sin = _mm256_castsi256_ps(_mm256_slli_epi32(
        _mm256_and_si256(j, _mm256_set1_epi32(4)), 29));
    V8 sine_poly = _mm256_castsi256_ps(_mm256_cmpeq_epi32(
        _mm256_and_si256(j, _mm256_set1_epi32(2)), _mm256_setzero_si256()));
    x = FMA(y, SET(-0.78515625f), x);
    x = FMA(y, SET(-2.4187564849853515625e-4f), x);
    x = FMA(y, SET(-3.77489497744594108e-8f), x);
    V8 sign_cos = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_andnot_si256(
        _mm256_sub_epi32(j, _mm256_set1_epi32(2)), _mm256_set1_epi32(4)), 29));
    sign_sin = _mm256_xor_ps(sign_sin, swap_sin);
    V8 z = _mm256_mul_ps(x, x);
    V8 yc = FMA(FMA(SET(2.443315711809948E-005f), z, SET(-1.388731625493765E-003f)), z,
                SET(4.166664568298827E-002f));
    yc = _mm256_add_ps(FMA(_mm256_mul_ps(yc, z), z, _mm256_xor_ps(
        _mm256_mul_ps(z, SET(0.5f)), sign_mask)), SET(1.0f));
    V8 ys = FMA(FMA(SET(-1.9515295891E-4f), z, SET(8.3321608736E-3f)), z,
                SET(-1.6666654611E-1f));
    ys = FMA(_mm256_mul_ps(ys, z), x, x);
    V8 sv = _mm256_blendv_ps(yc, ys, sine_poly);
    V8 cv = _mm256_blendv_ps(ys, yc, sine_poly);
    *s = _mm256_xor_ps(sv, sign_sin);
    *c = _mm256_xor_ps(cv, sign_cos);
}

AVX2_FN static void box_muller_avx2_v8(float *data, int64_t nblocks, float mean, float std)
{
    const V8 two_pi = SET((float)TWO_PI), mean_v = SET(mean), std_v = SET(std);
    for (int64_t b = 0; b < nblocks; b++, data += 16) {
        V8 u1 = _mm256_sub_ps(SET(1.0f), _mm256_loadu_ps(data));
        V8 u2 = _mm256_loadu_ps(data + 8);
        V8 radius = _mm256_sqrt_ps(_mm256_mul_ps(SET(-2.0f), log_cephes_v8(u1)));
        V8 s, c;
        sincos_cephes_v8(_mm256_mul_ps(two_pi, u2), &s, &c);
        _mm256_storeu_ps(data, FMA(_mm256_mul_ps(radius, c), std_v, mean_v));
        _mm256_storeu_ps(data + 8, FMA(_mm256_mul_ps(radius, s), std_v, mean_v));
    }
}
#endif

int tg_random_vector_loops = 1;

void tg_box_muller_avx2_f32(float *data, int64_t nblocks, float mean, float std)
{
#ifdef TG_HAVE_AVX2_PATH
    if (tg_random_vector_loops && __builtin_cpu_supports("avx2") &&
        __builtin_cpu_supports("fma")) {
        box_muller_avx2_v8(data, nblocks, mean, std);
        return;
    }
#endif
    const float two_pi = (float)TWO_PI;
    for (int64_t b = 0; b < nblocks; b++, data += 16) {
        for (int j = 0; j < 8; j++) {
            float radius = sqrtf(-2.0f * log_cephes_f32(1.0f - data[j]));
            float s, c;
            sincos_cephes_f32(two_pi * data[j + 8], &s, &c);
            data[j] = fmaf(radius * c, std, mean);
            data[j + 8] = fmaf(radius * s, std, mean);
        }
    }
}

void tg_box_muller_libm_f32(float *data, int64_t nblocks, float mean, float std)
{
    for (int64_t b = 0; b < nblocks; b++, data += 16) {
        for (int j = 0; j < 8; j++) {
            float radius = sqrtf(-2 * logf(1 - data[j]));
            float theta = (float)(TWO_PI * (double)data[j + 8]);
            data[j] = radius * cosf(theta) * std + mean;
            data[j + 8] = radius * sinf(theta) * std + mean;
        }
    }
}

void tg_box_muller_f64(double *data, int64_t nblocks, double mean, double std)
{
    for (int64_t b = 0; b < nblocks; b++, data += 16) {
        for (int j = 0; j < 8; j++) {
            double radius = sqrt(-2 * log(1 - data[j]));
            double theta = TWO_PI * data[j + 8];
            data[j] = fma(radius * cos(theta), std, mean);
            data[j + 8] = fma(radius * sin(theta), std, mean);
        }
    }
}

void tg_uniform24(const uint64_t *raw, float *out, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        out[i] = (float)(raw[i] & 0xFFFFFFu) * (1.0f / 16777216.0f);
}

void tg_uniform53(const uint64_t *raw, double *out, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        uint64_t r = (raw[2 * i] << 32) | (raw[2 * i + 1] & 0xFFFFFFFFu);
        out[i] = (double)(r & ((1ull << 53) - 1)) * (1.0 / 9007199254740992.0);
    }
}

void tg_fma_f32(const float *a, float b, float c, float *out, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        out[i] = fmaf(a[i], b, c);
}

void tg_fma_f64(const double *a, double b, double c, double *out, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        out[i] = fma(a[i], b, c);
}

void tg_log_f64(const double *x, double *out, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        out[i] = log(x[i]);
}

void tg_log1p_neg_f64(const double *x, double *out, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        out[i] = log1p(-x[i]);
}

void tg_randperm_swaps(const uint64_t *r, int64_t n, int64_t *perm)
{
    for (int64_t i = 0; i < n; i++)
        perm[i] = i;
    for (int64_t i = 0; i < n - 1; i++) {
        int64_t z = (int64_t)(r[i] % (uint64_t)(n - i));
        int64_t saved = perm[i];
        perm[i] = perm[z + i];
        perm[z + i] = saved;
    }
}

void tg_randperm_inside_out(const uint64_t *r, int64_t n, int64_t *perm)
{
    for (int64_t i = 0; i < n; i++) {
        int64_t z = (int64_t)(r[i] % (uint64_t)(i + 1));
        perm[i] = perm[z];
        perm[z] = i;
    }
}
