/* Tensor kernels, forward and backward, for float32 and float64.
 * See tg_tensor.h. The derivative formulas are PyTorch's (derivatives.yaml),
 * computed in the tensor's own precision like torch on the CPU. */
#include "tg_tensor.h"
#include "tg_pyfunc.h"
#include "tg_index.h"
#include "tg_math.h"
#include "tg_activation.h"
#include "tg_norm.h"

#include <math.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

/* tensor op codes start where the tape hands nodes to the tensor hooks */
typedef char tg_check_tensor_ops[TT_FIRST == TG_TENSOR_OPS ? 1 : -1];

tg_sgemm_fn tg_sgemm = NULL;
tg_dgemm_fn tg_dgemm = NULL;

/* ------------------------------------------------------------------------ */
/* Buffers and records                                                       */

size_t tg_dtype_size(int dtype)
{
    static const size_t sizes[TG_NDTYPES] = {4, 8, 8, 1, 1, 2, 4, 1};
    return dtype >= 0 && dtype < TG_NDTYPES ? sizes[dtype] : 0;
}

tg_buf *tg_buf_new(size_t nbytes)
{
    if (nbytes > SIZE_MAX - sizeof(tg_buf)) return NULL;
    tg_buf *b = malloc(sizeof(tg_buf) + nbytes);   /* header and elements in one block */
    if (b == NULL) return NULL;
    b->data = b + 1;
    b->release = NULL;
    b->owner = NULL;
    b->refs = 1;
    b->version = 0;
    b->nbytes = nbytes;
    return b;
}

tg_buf *tg_buf_zeros(size_t nbytes)
{
    tg_buf *b = tg_buf_new(nbytes);
    if (b != NULL) memset(b->data, 0, nbytes);
    return b;
}

tg_buf *tg_buf_borrow(void *data, size_t nbytes, void (*release)(void *), void *owner)
{
    tg_buf *b = malloc(sizeof(tg_buf));
    if (b == NULL) return NULL;
    b->refs = 1;
    b->version = 0;
    b->nbytes = nbytes;
    b->data = data;
    b->release = release;
    b->owner = owner;
    return b;
}

void tg_buf_decref(tg_buf *b)
{
    if (b != NULL && --b->refs == 0) {
        if (b->release != NULL) b->release(b->owner);
        free(b);
    }
}

struct tg_tnode *tg_tnode_new(void) { return calloc(1, sizeof(struct tg_tnode)); }

void tg_tnode_free(struct tg_tnode *n)
{
    if (n == NULL) return;
    tg_buf_decref(n->out.buf);
    tg_buf_decref(n->grad);
    tg_buf_decref(n->in[0].buf);
    tg_buf_decref(n->in[1].buf);
    tg_buf_decref(n->retained);
    tg_buf_decref(n->aux);
    tg_pyfunc_free(n->pyfunc);
    if (n->hooked && tg_unhook_hook != NULL) tg_unhook_hook(n);
    tg_buf_decref(n->running[0]);
    tg_buf_decref(n->running[1]);
    free(n);
}

int tg_broadcast_shape(const tg_view *a, const tg_view *b, int64_t *shape, int *ndim)
{
    int nd = a->ndim > b->ndim ? a->ndim : b->ndim;
    for (int d = 0; d < nd; d++) {
        int da = d - (nd - a->ndim), db = d - (nd - b->ndim);
        int64_t sa = da >= 0 ? a->shape[da] : 1, sb = db >= 0 ? b->shape[db] : 1;
        if (sa != sb && sa != 1 && sb != 1) return -1;
        shape[d] = sa == 1 ? sb : sa;
    }
    *ndim = nd;
    return 0;
}

/* Strides (in elements) of view v read over an out-shape of nd dims: 0 where v
 * is broadcast. */
static void tg_bstrides(const tg_view *v, int nd, const int64_t *shape, int64_t *strides)
{
    int64_t s = 1;
    for (int d = nd - 1; d >= 0; d--) {
        int dv = d - (nd - v->ndim);
        int64_t size = dv >= 0 ? v->shape[dv] : 1;
        strides[d] = (size == 1 && shape[d] != 1) || dv < 0 ? 0 : s;
        if (dv >= 0) s *= size;
    }
}

/* An n-d counter over `shape` carrying two strided offsets, advanced a row at a
 * time (the callers loop over the last dimension themselves). */
typedef struct {
    int nd;                          /* dimensions iterated */
    int64_t shape[TG_MAXDIM];        /* their sizes */
    int64_t idx[TG_MAXDIM];          /* the current position */
    int64_t sa[TG_MAXDIM];           /* element strides of operand a per dim (0: broadcast) */
    int64_t sb[TG_MAXDIM];           /* element strides of operand b per dim */
    int64_t oa, ob;                  /* offsets of the current element in a and b */
} tg_iter;

/* Advance to the next row: every dim but the last (which the caller loops over). */
static inline void tg_iter_next_row(tg_iter *it)
{
    for (int d = it->nd - 2; d >= 0; d--) {
        if (++it->idx[d] < it->shape[d]) {
            it->oa += it->sa[d];
            it->ob += it->sb[d];
            return;
        }
        it->oa -= it->sa[d] * (it->shape[d] - 1);
        it->ob -= it->sb[d] * (it->shape[d] - 1);
        it->idx[d] = 0;
    }
}

/* Run the body for every element k of an n-element index space, row by row; j is
 * the position in the row, it.oa / it.ob the row's base offsets. */
#define TG_ROW_LOOP(it, L, N, ...)                                           \
    for (int64_t r_ = 0; r_ * (L) < (N); r_++, tg_iter_next_row(&(it)))      \
        for (int64_t j = 0, k = r_ * (L); j < (L); j++, k++) { __VA_ARGS__; }

/* Row length and inner strides (a 0-d shape is one row of one element). */
#define TG_ROW(it, L, SA, SB)                                                \
    int64_t L = (it).nd ? (it).shape[(it).nd - 1] : 1;                        \
    int64_t SA = (it).nd ? (it).sa[(it).nd - 1] : 0;                          \
    int64_t SB = (it).nd ? (it).sb[(it).nd - 1] : 0

static void tg_iter_init(tg_iter *it, int nd, const int64_t *shape)
{
    it->nd = nd;
    for (int d = 0; d < nd; d++) {
        it->shape[d] = shape[d];
        it->idx[d] = 0;
        it->sa[d] = it->sb[d] = 0;
    }
    it->oa = it->ob = 0;
}

static int tg_same_shape(const tg_view *a, const tg_view *b)
{
    if (a->ndim != b->ndim) return 0;
    for (int d = 0; d < a->ndim; d++)
        if (a->shape[d] != b->shape[d]) return 0;
    return 1;
}

/* ------------------------------------------------------------------------ */
/* Elementwise formulas, one set per precision                               */

/* tanh for float32 arrays, written to vectorise: Cephes' polynomial below 0.625,
 * 1 - 2 / (exp(2|x|) + 1) above, with a polynomial exp; within 2 ulp of the true
 * value, like the vectorised tanh of torch and numpy (glibc's tanhf is exact but
 * three times slower, and tanh dominates small MLPs). */
static inline float tg_expf_poly(float x)            /* x in [0, 88] */
{
    float n = (float)(int)(x * 1.44269504089f + 0.5f);
    float r = x - n * 0.693359375f;
    r = r + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    union { float f; int32_t i; } scale;
    scale.i = ((int32_t)n + 127) << 23;
    return p * scale.f;
}

/* On x86-64 with glibc (ifunc), also an AVX2 copy of the loop picked at load
 * time: twice the lanes, the same operations in the same order (no FMA
 * contraction), so the results are bit-identical. */
#if defined(__GNUC__) && defined(__x86_64__) && defined(__GLIBC__) && !defined(TG_NO_CLONES)
#define TG_VECTOR_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define TG_VECTOR_CLONES
#endif

TG_VECTOR_CLONES
static void tg_tanh_f32_array(const float *restrict x, float *restrict y, int64_t n)
{
    /* Three branch-free passes, each of which vectorises (one fused loop does
     * not with AVX2: GCC 12 turns its selects into branches). */
    for (int64_t k = 0; k < n; k++) {           /* |x| clamped where tanh is 1 in float */
        float a = fabsf(x[k]);
        y[k] = a < 20.0f ? a : 20.0f;
    }
    for (int64_t k = 0; k < n; k++) {           /* 1 - 2 / (exp(2|x|) + 1), signed */
        float e = tg_expf_poly(2.0f * y[k]);
        y[k] = copysignf(1.0f - 2.0f / (e + 1.0f), x[k]);
    }
    for (int64_t k = 0; k < n; k++) {           /* the polynomial near 0 */
        float v = x[k], a = fabsf(v), z = v * v;
        float small = ((((-5.70498872745e-3f * z + 2.06390887954e-2f) * z
                         - 5.37397155531e-2f) * z + 1.33314422036e-1f) * z
                       - 3.33332819422e-1f) * z * v + v;
        float r = a < 0.625f ? small : y[k];
        y[k] = (v == v && v != 0.0f) ? r : v;   /* nan stays nan, -0 stays -0 */
    }
}

#define TG_UN_FWD_CASE(SFX, OPC)                                                         \
    case OPC:                                                                            \
        for (int64_t k = 0; k < N; k++) o[k] = tg_un_##SFX(OPC, x[k], c, lo, hi, hl, hh); \
        break;
#define TG_UN_BWD_CASE(SFX, OPC)                                                         \
    case OPC:                                                                            \
        for (int64_t k = 0; k < N; k++)                                                  \
            gx[k] += tg_dun_##SFX(OPC, g[k], x[k], y[k], c, lo, hi, hl, hh);             \
        break;
/* One broadcast op, row by row; rows whose operands are both contiguous (a bias
 * added to each row of a batch) take a loop the compiler vectorises. */
#define TG_BIN_ROWS(T, SFX, OPC)                                                          \
    case OPC:                                                                            \
        for (int64_t r = 0; r * L < N; r++, tg_iter_next_row(&it)) {                     \
            T *orow = o + r * L;                                                         \
            const T *ar = a + it.oa, *br = b + it.ob;                                    \
            if (SA == 1 && SB == 1)                                                      \
                for (int64_t j = 0; j < L; j++) orow[j] = tg_bin_##SFX(OPC, ar[j], br[j]); \
            else                                                                         \
                for (int64_t j = 0; j < L; j++)                                          \
                    orow[j] = tg_bin_##SFX(OPC, ar[j * SA], br[j * SB]);                 \
        }                                                                                \
        break;
#define TG_BIN_FWD_CASE(SFX, OPC, A, B)                                                  \
    case OPC: for (int64_t k = 0; k < N; k++) o[k] = tg_bin_##SFX(OPC, A, B); break;

#define TG_DEFINE_KERNELS(T, SFX, POW, LOG, EXP, TANH, SQRT, FABS)                        \
/* x ** c with torch's special exponents (exact squares and cubes, sqrt for 0.5) */     \
static inline T tg_pow_c_##SFX(T x, T c)                                                 \
{                                                                                        \
    if (c == (T)2) return x * x;                                                         \
    if (c == (T)0.5) return SQRT(x);                                                     \
    if (c == (T)1) return x;                                                             \
    if (c == (T)0) return (T)1;                                                          \
    if (c == (T)3) return x * x * x;                                                     \
    if (c == (T)-0.5) return (T)1 / SQRT(x);                                             \
    if (c == (T)-1) return (T)1 / x;                                                     \
    if (c == (T)-2) return (T)1 / (x * x);                                               \
    return POW(x, c);                                                                    \
}                                                                                        \
static inline T tg_bin_##SFX(int op, T x, T y)                                           \
{                                                                                        \
    switch (op) {                                                                        \
    case TT_ADD: return x + y;                                                           \
    case TT_SUB: return x - y;                                                           \
    case TT_MUL: return x * y;                                                           \
    case TT_DIV: return x / y;                                                           \
    default: return POW(x, y);                                                           \
    }                                                                                    \
}                                                                                        \
static inline T tg_un_##SFX(int op, T x, T c, T lo, T hi, int has_lo, int has_hi)        \
{                                                                                        \
    switch (op) {                                                                        \
    case TT_ADD_C: return x + c;                                                         \
    case TT_SUB_C: return x - c;                                                         \
    case TT_MUL_C: return x * c;                                                         \
    case TT_RSUB_C: return c - x;                                                        \
    case TT_DIV_C: return x / c;                                                         \
    case TT_RDIV_C: return c / x;                                                        \
    case TT_POW_C: return tg_pow_c_##SFX(x, c);                                          \
    case TT_RPOW_C: return POW(c, x);                                                    \
    case TT_NEG: return -x;                                                              \
    case TT_EXP: return EXP(x);                                                          \
    case TT_LOG: return LOG(x);                                                          \
    case TT_TANH: return TANH(x);                                                        \
    case TT_RELU: return x < (T)0 ? (T)0 : x;                                            \
    case TT_SIGMOID: return (T)1 / ((T)1 + EXP(-x));                                     \
    case TT_ABS: return FABS(x);                                                         \
    case TT_SQRT: return SQRT(x);                                                        \
    case TT_CLAMP:                                                                       \
        if (x != x) return x;                                                            \
        if (has_lo && x < lo) x = lo;                                                    \
        if (has_hi && x > hi) x = hi;                                                    \
        return x;                                                                        \
    default: return x;                                                                   \
    }                                                                                    \
}                                                                                        \
/* d out / d x times g, for the unary ops (x input, y output). */                       \
static inline T tg_dun_##SFX(int op, T g, T x, T y, T c, T lo, T hi, int has_lo,         \
                             int has_hi)                                                 \
{                                                                                        \
    switch (op) {                                                                        \
    case TT_ADD_C: return g;                                                             \
    case TT_SUB_C: return g;                                                             \
    case TT_MUL_C: return g * c;                                                         \
    case TT_RSUB_C: return -g;                                                           \
    case TT_DIV_C: return g / c;                                                         \
    case TT_RDIV_C: return has_lo ? -g * (y * y) : (-g * c) / (x * x); /* ip[0]: reciprocal */\
    case TT_POW_C: return c == (T)0 ? (T)0 : g * (c * tg_pow_c_##SFX(x, c - (T)1));     \
    case TT_RPOW_C: return (c == (T)0 && x >= (T)0) ? (T)0 : g * (y * LOG(c));           \
    case TT_NEG: return -g;                                                              \
    case TT_EXP: return g * y;                                                           \
    case TT_LOG: return g / x;                                                           \
    case TT_TANH: return g * ((T)1 - y * y);                                             \
    case TT_RELU: return y <= (T)0 ? (T)0 : g;                                           \
    case TT_SIGMOID: return g * ((T)1 - y) * y;                                          \
    case TT_ABS: return x > (T)0 ? g : (x < (T)0 ? -g : (T)0);                           \
    case TT_SQRT: return g / ((T)2 * y);                                                 \
    case TT_CLAMP:                                                                       \
        return ((!has_lo || x >= lo) && (!has_hi || x <= hi)) ? g : (T)0;                \
    default: return g;                                                                   \
    }                                                                                    \
}                                                                                        \
static void tg_binary_fwd_##SFX(int op, struct tg_tnode *n)                             \
{                                                                                        \
    const T *a = n->in[0].buf->data, *b = n->in[1].buf->data;                            \
    T *o = n->out.buf->data;                                                             \
    int64_t N = n->out.numel;                                                            \
    if (tg_same_shape(&n->in[0], &n->in[1])) {                                           \
        switch (op) {                                                                    \
        TG_BIN_FWD_CASE(SFX, TT_ADD, a[k], b[k])                                         \
        TG_BIN_FWD_CASE(SFX, TT_SUB, a[k], b[k])                                         \
        TG_BIN_FWD_CASE(SFX, TT_MUL, a[k], b[k])                                         \
        TG_BIN_FWD_CASE(SFX, TT_DIV, a[k], b[k])                                         \
        default: for (int64_t k = 0; k < N; k++) o[k] = tg_bin_##SFX(op, a[k], b[k]);    \
        }                                                                                \
    } else if (n->in[1].numel == 1 && n->in[0].numel == N) {                             \
        T y = b[0];                                                                      \
        for (int64_t k = 0; k < N; k++) o[k] = tg_bin_##SFX(op, a[k], y);                \
    } else if (n->in[0].numel == 1 && n->in[1].numel == N) {                             \
        T x = a[0];                                                                      \
        for (int64_t k = 0; k < N; k++) o[k] = tg_bin_##SFX(op, x, b[k]);                \
    } else {                                                                             \
        tg_iter it;                                                                      \
        tg_iter_init(&it, n->out.ndim, n->out.shape);                                    \
        tg_bstrides(&n->in[0], n->out.ndim, n->out.shape, it.sa);                        \
        tg_bstrides(&n->in[1], n->out.ndim, n->out.shape, it.sb);                        \
        TG_ROW(it, L, SA, SB);                                                           \
        switch (op) {                                                                    \
        TG_BIN_ROWS(T, SFX, TT_ADD)                                                         \
        TG_BIN_ROWS(T, SFX, TT_SUB)                                                         \
        TG_BIN_ROWS(T, SFX, TT_MUL)                                                         \
        TG_BIN_ROWS(T, SFX, TT_DIV)                                                         \
        default:                                                                         \
            for (int64_t r = 0; r * L < N; r++, tg_iter_next_row(&it)) {                 \
                T *orow = o + r * L;                                                     \
                const T *ar = a + it.oa, *br = b + it.ob;                                \
                for (int64_t j = 0; j < L; j++)                                          \
                    orow[j] = tg_bin_##SFX(op, ar[j * SA], br[j * SB]);                  \
            }                                                                            \
        }                                                                                \
    }                                                                                    \
}                                                                                        \
/* ga / gb: gradients of the operands (NULL when not needed), accumulated. */           \
static void tg_binary_bwd_##SFX(int op, struct tg_tnode *n, const T *g, T *ga, T *gb)   \
{                                                                                        \
    const T *a = n->in[0].buf->data, *b = n->in[1].buf->data, *y = n->out.buf->data;     \
    int64_t N = n->out.numel;                                                            \
    tg_iter it;                                                                          \
    tg_iter_init(&it, n->out.ndim, n->out.shape);                                        \
    tg_bstrides(&n->in[0], n->out.ndim, n->out.shape, it.sa);                            \
    tg_bstrides(&n->in[1], n->out.ndim, n->out.shape, it.sb);                            \
    TG_ROW(it, L, SA, SB);                                                               \
    if (op == TT_ADD || op == TT_SUB) {                                                  \
        T sign = op == TT_ADD ? (T)1 : (T)-1;                                            \
        if (ga && SA == 1 && n->in[0].numel == N)                                        \
            for (int64_t k = 0; k < N; k++) ga[k] += g[k];                               \
        else if (ga)                                                                     \
            TG_ROW_LOOP(it, L, N, ga[it.oa + j * SA] += g[k]);                           \
        if (gb && SB == 1 && n->in[1].numel == N)                                        \
            for (int64_t k = 0; k < N; k++) gb[k] += sign * g[k];                        \
        else if (gb) {                                                                   \
            tg_iter_init(&it, n->out.ndim, n->out.shape);                                \
            tg_bstrides(&n->in[0], n->out.ndim, n->out.shape, it.sa);                    \
            tg_bstrides(&n->in[1], n->out.ndim, n->out.shape, it.sb);                    \
            if (SB == 1) {             /* a bias: sum the rows, each one vectorised */  \
                for (int64_t r = 0; r * L < N; r++, tg_iter_next_row(&it)) {             \
                    T *grow = gb + it.ob;                                                \
                    const T *g_row = g + r * L;                                          \
                    for (int64_t j = 0; j < L; j++) grow[j] += sign * g_row[j];          \
                }                                                                        \
            } else                                                                       \
                TG_ROW_LOOP(it, L, N, gb[it.ob + j * SB] += sign * g[k]);                \
        }                                                                                \
        return;                                                                          \
    }                                                                                    \
    TG_ROW_LOOP(it, L, N, {                                                              \
        T gk = g[k], x = a[it.oa + j * SA], w = b[it.ob + j * SB];                       \
        switch (op) {                                                                    \
        case TT_MUL:                                                                     \
            if (ga) ga[it.oa + j * SA] += gk * w;                                        \
            if (gb) gb[it.ob + j * SB] += gk * x;                                        \
            break;                                                                       \
        case TT_DIV:                                                                     \
            if (ga) ga[it.oa + j * SA] += gk / w;                                        \
            if (gb) gb[it.ob + j * SB] += -gk * ((x / w) / w);     /* torch's order */   \
            break;                                                                       \
        default: /* TT_POW */                                                            \
            if (ga) ga[it.oa + j * SA] += w == (T)0 ? (T)0 : gk * w * POW(x, w - (T)1);  \
            if (gb)                                                                      \
                gb[it.ob + j * SB] += (x == (T)0 && w >= (T)0) ? (T)0 : gk * (y[k] * LOG(x)); \
            break;                                                                       \
        }                                                                                \
    });                                                                                  \
}                                                                                        \
static void tg_unary_fwd_##SFX(int op, struct tg_tnode *n)                              \
{                                                                                        \
    const T *restrict x = n->in[0].buf->data;                                            \
    T *restrict o = n->out.buf->data;                                                    \
    T c = (T)n->dp[0], lo = (T)n->dp[0], hi = (T)n->dp[1];                               \
    int hl = (int)n->ip[0], hh = (int)n->ip[1];                                          \
    int64_t N = n->out.numel;                                                            \
    switch (op) {   /* one loop per op, so each is a tight (vectorisable) loop */        \
        TG_UN_FWD_CASE(SFX, TT_ADD_C)                                                        \
        TG_UN_FWD_CASE(SFX, TT_SUB_C)                                                        \
        TG_UN_FWD_CASE(SFX, TT_MUL_C)                                                        \
        TG_UN_FWD_CASE(SFX, TT_RSUB_C)                                                        \
        TG_UN_FWD_CASE(SFX, TT_DIV_C)                                                        \
        TG_UN_FWD_CASE(SFX, TT_RDIV_C)                                                        \
        TG_UN_FWD_CASE(SFX, TT_POW_C)                                                        \
        TG_UN_FWD_CASE(SFX, TT_RPOW_C)                                                        \
        TG_UN_FWD_CASE(SFX, TT_NEG)                                                        \
        TG_UN_FWD_CASE(SFX, TT_EXP)                                                        \
        TG_UN_FWD_CASE(SFX, TT_LOG)                                                        \
        TG_UN_FWD_CASE(SFX, TT_TANH)                                                        \
        TG_UN_FWD_CASE(SFX, TT_RELU)                                                        \
        TG_UN_FWD_CASE(SFX, TT_SIGMOID)                                                        \
        TG_UN_FWD_CASE(SFX, TT_ABS)                                                        \
        TG_UN_FWD_CASE(SFX, TT_SQRT)                                                        \
        TG_UN_FWD_CASE(SFX, TT_CLAMP)                                                        \
    default: break;                                                                      \
    }                                                                                    \
}                                                                                        \
static void tg_unary_bwd_##SFX(int op, struct tg_tnode *n, const T *g, T *gx)           \
{                                                                                        \
    const T *restrict x = n->in[0].buf->data, *restrict y = n->out.buf->data;            \
    T c = (T)n->dp[0], lo = (T)n->dp[0], hi = (T)n->dp[1];                               \
    int hl = (int)n->ip[0], hh = (int)n->ip[1];                                          \
    int64_t N = n->out.numel;                                                            \
    switch (op) {                                                                        \
        TG_UN_BWD_CASE(SFX, TT_ADD_C)                                                        \
        TG_UN_BWD_CASE(SFX, TT_SUB_C)                                                        \
        TG_UN_BWD_CASE(SFX, TT_MUL_C)                                                        \
        TG_UN_BWD_CASE(SFX, TT_RSUB_C)                                                        \
        TG_UN_BWD_CASE(SFX, TT_DIV_C)                                                        \
        TG_UN_BWD_CASE(SFX, TT_RDIV_C)                                                        \
        TG_UN_BWD_CASE(SFX, TT_POW_C)                                                        \
        TG_UN_BWD_CASE(SFX, TT_RPOW_C)                                                        \
        TG_UN_BWD_CASE(SFX, TT_NEG)                                                        \
        TG_UN_BWD_CASE(SFX, TT_EXP)                                                        \
        TG_UN_BWD_CASE(SFX, TT_LOG)                                                        \
        TG_UN_BWD_CASE(SFX, TT_TANH)                                                        \
        TG_UN_BWD_CASE(SFX, TT_RELU)                                                        \
        TG_UN_BWD_CASE(SFX, TT_SIGMOID)                                                        \
        TG_UN_BWD_CASE(SFX, TT_ABS)                                                        \
        TG_UN_BWD_CASE(SFX, TT_SQRT)                                                        \
        TG_UN_BWD_CASE(SFX, TT_CLAMP)                                                        \
    default: break;                                                                      \
    }                                                                                    \
}

TG_DEFINE_KERNELS(float, f32, powf, logf, expf, tanhf, sqrtf, fabsf)
TG_DEFINE_KERNELS(double, f64, pow, log, exp, tanh, sqrt, fabs)

/* ------------------------------------------------------------------------ */
/* Reductions: the input shape against the output shape with reduced dims of
 * size 1 (same ndim as the input, kept in ip[0..ndim)).                     */

/* An iterator over the input of a reduction: it.sb steps through the output,
 * whose reduced dims (size 1 in ip[0..ndim)) get stride 0. */
static void tg_reduce_iter(const struct tg_tnode *n, tg_iter *it)
{
    const tg_view *in = &n->in[0];
    tg_iter_init(it, in->ndim, in->shape);
    int64_t s = 1;
    for (int d = in->ndim - 1; d >= 0; d--) {
        int64_t rsize = n->ip[d];            /* 1 where reduced */
        it->sb[d] = rsize == 1 ? 0 : s;
        s *= rsize;
    }
}

/* BODY once per element of a TT_GATHER node's output: k is the output element,
 * it.oa + j * SA the input element it reads (offset ip[0], strides ip[1..]). */
#define TG_GATHER_LOOP(BODY)                                                    \
    do {                                                                        \
        tg_iter it;                                                             \
        tg_iter_init(&it, n->out.ndim, n->out.shape);                           \
        for (int d = 0; d < n->out.ndim; d++) it.sa[d] = n->ip[1 + d];          \
        it.oa = n->ip[0];                                                       \
        TG_ROW(it, L, SA, SB);                                                  \
        (void)SB;                                                               \
        TG_ROW_LOOP(it, L, n->out.numel, BODY);                                 \
    } while (0)

/* A strided read of elements of type T (the gather kernel of every dtype: float
 * kernels never run on 1-byte bool or int64 elements). */
#define TG_GATHER(T)                                                             \
    do {                                                                        \
        const T *x = n->in[0].buf->data;                                        \
        T *o = n->out.buf->data;                                                \
        TG_GATHER_LOOP(o[k] = x[it.oa + j * SA]);                               \
    } while (0)

#define TG_DEFINE_REDUCE(T, SFX)                                                         \
/* Sum of n contiguous elements. Below 16 elements torch's scalar CPU kernel adds in  \
 * four interleaved lanes, then the leftovers into the first, then the lanes in turn; \
 * that order is kept (in T) so that small losses match torch to the last bit. Longer \
 * sums accumulate in double and round once. */                                      \
static T tg_fsum_##SFX(const T *x, int64_t n, int64_t stride)                            \
{                                                                                        \
    if (n == 1) return x[0];                                                             \
    if (n > 1 && n < 16) {                                                               \
        T p0 = 0, p1 = 0, p2 = 0, p3 = 0, acc;                                           \
        int64_t groups = n / 4, i;                                                       \
        for (i = 0; i < groups; i++) {                                                   \
            p0 += x[(4 * i) * stride];                                                   \
            p1 += x[(4 * i + 1) * stride];                                               \
            p2 += x[(4 * i + 2) * stride];                                               \
            p3 += x[(4 * i + 3) * stride];                                               \
        }                                                                                \
        acc = p0;                                                                        \
        for (i = 4 * groups; i < n; i++) acc += x[i * stride];                           \
        acc += p1;                                                                       \
        acc += p2;                                                                       \
        acc += p3;                                                                       \
        return (T)0 + acc;                                                               \
    }                                                                                    \
    double s[8] = {0};   /* independent accumulators: the additions pipeline */         \
    int64_t i = 0;                                                                       \
    for (; i + 8 <= n; i += 8)                                                           \
        for (int l = 0; l < 8; l++) s[l] += x[(i + l) * stride];                          \
    for (; i < n; i++) s[0] += x[i * stride];                                            \
    return (T)(((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7])));        \
}                                                                                        \
static int tg_sum_fwd_##SFX(struct tg_tnode *n, int mean)                               \
{                                                                                        \
    const T *x = n->in[0].buf->data;                                                     \
    T *o = n->out.buf->data;                                                             \
    int64_t N = n->in[0].numel, M = n->out.numel;                                        \
    double *acc = calloc((size_t)(M > 0 ? M : 1), sizeof(double));                      \
    if (acc == NULL) return -1;                                                          \
    int64_t inner = 1;   /* reduced trailing dims: rows of `inner` contiguous elements */ \
    for (int d = n->in[0].ndim - 1; d >= 0 && n->ip[d] == 1; d--) inner *= n->in[0].shape[d]; \
    if (M == 1 || inner * M == N) {                                                      \
        for (int64_t r = 0; r < M; r++) {                                                \
            T s = tg_fsum_##SFX(x + r * inner, inner, 1);                                 \
            o[r] = mean ? s / (T)inner : s;                                              \
        }                                                                                \
        free(acc);                                                                       \
        return 0;                                                                        \
    } else {                                                                             \
        tg_iter it;                                                                      \
        tg_reduce_iter(n, &it);                                                          \
        TG_ROW(it, L, SA, SB);                                                           \
        (void)SA;                                                                        \
        TG_ROW_LOOP(it, L, N, acc[it.ob + j * SB] += x[k]);                              \
    }                                                                                    \
    double count = M > 0 ? (double)N / (double)M : 0.0;                                  \
    for (int64_t k = 0; k < M; k++)                                                      \
        o[k] = mean ? (T)((T)acc[k] / (T)count) : (T)acc[k];                             \
    free(acc);                                                                           \
    return 0;                                                                            \
}                                                                                        \
static void tg_sum_bwd_##SFX(struct tg_tnode *n, const T *g, T *gx, int mean)           \
{                                                                                        \
    int64_t N = n->in[0].numel, M = n->out.numel;                                        \
    T count = (T)((double)N / (double)(M > 0 ? M : 1));                                  \
    if (M == 1) {                                                                        \
        T gk = mean ? g[0] / count : g[0];                                               \
        for (int64_t k = 0; k < N; k++) gx[k] += gk;                                     \
        return;                                                                          \
    }                                                                                    \
    tg_iter it;                                                                          \
    tg_reduce_iter(n, &it);                                                              \
    TG_ROW(it, L, SA, SB);                                                               \
    (void)SA;                                                                            \
    TG_ROW_LOOP(it, L, N, gx[k] += mean ? g[it.ob + j * SB] / count : g[it.ob + j * SB]); \
}                                                                                        \
/* max, or min when is_min (the backwards are shared: ties at the output value */        \
/* share the gradient, or the arg index takes it); NaN wins, first first.     */         \
static void tg_extreme_all_fwd_##SFX(struct tg_tnode *n, int is_min)                     \
{                                                                                        \
    const T *x = n->in[0].buf->data;                                                     \
    T m = x[0];                                                                          \
    for (int64_t k = 1; k < n->in[0].numel; k++) {                                       \
        if (x[k] != x[k]) { m = x[k]; break; }                                           \
        if (is_min ? x[k] < m : x[k] > m) m = x[k];                                      \
    }                                                                                    \
    ((T *)n->out.buf->data)[0] = m;                                                      \
}                                                                                        \
static void tg_max_all_bwd_##SFX(struct tg_tnode *n, const T *g, T *gx)                 \
{                                                                                        \
    const T *x = n->in[0].buf->data;                                                     \
    T m = ((T *)n->out.buf->data)[0];                                                    \
    int64_t ties = 0;                                                                    \
    for (int64_t k = 0; k < n->in[0].numel; k++) ties += (x[k] == m || (m != m && x[k] != x[k])); \
    T share = g[0] / (T)(ties > 0 ? ties : 1);                                           \
    for (int64_t k = 0; k < n->in[0].numel; k++)                                         \
        if (x[k] == m || (m != m && x[k] != x[k])) gx[k] += share;                       \
}                                                                                        \
/* max/min over dim: outer x size x inner layout; in[1] receives int64 indices. */          \
static void tg_extreme_dim_fwd_##SFX(struct tg_tnode *n, int is_min)                     \
{                                                                                        \
    const T *x = n->in[0].buf->data;                                                     \
    T *o = n->out.buf->data;                                                             \
    int64_t *idx = n->in[1].buf->data;                                                   \
    int64_t outer = n->ip[1], size = n->ip[2], inner = n->ip[3];                         \
    if (size <= 0) return;             /* an empty dim: no row, nothing to read */       \
    for (int64_t p = 0; p < outer; p++)                                                  \
        for (int64_t q = 0; q < inner; q++) {                                            \
            const T *row = x + p * size * inner + q;                                     \
            T m = row[0];                                                                \
            int64_t best = 0;                                                            \
            for (int64_t r = 1; r < size; r++) {                                         \
                T v = row[r * inner];                                                    \
                if (m != m) break;                                                       \
                if ((is_min ? v < m : v > m) || v != v) { m = v; best = r; }             \
            }                                                                            \
            o[p * inner + q] = m;                                                        \
            idx[p * inner + q] = best;                                                   \
        }                                                                                \
}                                                                                        \
static void tg_max_dim_bwd_##SFX(struct tg_tnode *n, const T *g, T *gx)                 \
{                                                                                        \
    const int64_t *idx = n->in[1].buf->data;                                             \
    int64_t outer = n->ip[1], size = n->ip[2], inner = n->ip[3];                         \
    for (int64_t p = 0; p < outer; p++)                                                  \
        for (int64_t q = 0; q < inner; q++)                                              \
            gx[p * size * inner + idx[p * inner + q] * inner + q] += g[p * inner + q];   \
}                                                                                        \
static void tg_softmax_fwd_##SFX(struct tg_tnode *n, int logsm)                         \
{                                                                                        \
    const T *x = n->in[0].buf->data;                                                     \
    T *o = n->out.buf->data;                                                             \
    int64_t outer = n->ip[1], size = n->ip[2], inner = n->ip[3];                         \
    if (size <= 0) return;             /* an empty dim: no row, nothing to read */       \
    for (int64_t p = 0; p < outer; p++)                                                  \
        for (int64_t q = 0; q < inner; q++) {                                            \
            const T *row = x + p * size * inner + q;                                     \
            T *orow = o + p * size * inner + q;                                          \
            T m = row[0];                                                                \
            for (int64_t r = 1; r < size; r++) if (row[r * inner] > m) m = row[r * inner]; \
            T s = 0;                                                                     \
            for (int64_t r = 0; r < size; r++) s += (T)exp((double)(row[r * inner] - m)); \
            if (logsm) {                                                                 \
                T ls = (T)log((double)s);                                                \
                for (int64_t r = 0; r < size; r++) orow[r * inner] = row[r * inner] - m - ls; \
            } else {                                                                     \
                for (int64_t r = 0; r < size; r++)                                       \
                    orow[r * inner] = (T)exp((double)(row[r * inner] - m)) / s;          \
            }                                                                            \
        }                                                                                \
}                                                                                        \
static void tg_softmax_bwd_##SFX(struct tg_tnode *n, const T *g, T *gx, int logsm)      \
{                                                                                        \
    const T *y = n->out.buf->data;                                                       \
    int64_t outer = n->ip[1], size = n->ip[2], inner = n->ip[3];                         \
    for (int64_t p = 0; p < outer; p++)                                                  \
        for (int64_t q = 0; q < inner; q++) {                                            \
            int64_t base = p * size * inner + q;                                         \
            T s = 0;                                                                     \
            for (int64_t r = 0; r < size; r++)                                           \
                s += logsm ? g[base + r * inner] : g[base + r * inner] * y[base + r * inner]; \
            for (int64_t r = 0; r < size; r++) {                                         \
                int64_t k = base + r * inner;                                            \
                gx[k] += logsm ? g[k] - (T)exp((double)y[k]) * s : y[k] * (g[k] - s);    \
            }                                                                            \
        }                                                                                \
}                                                                                        \
static void tg_gather_fwd_##SFX(struct tg_tnode *n)                                     \
{                                                                                       \
    TG_GATHER(T);                                                                       \
}                                                                                       \
static void tg_gather_bwd_##SFX(struct tg_tnode *n, const T *g, T *gx)                  \
{                                                                                        \
    TG_GATHER_LOOP(gx[it.oa + j * SA] += g[k]);                                          \
}                                                                                        \
static void tg_pick_fwd_##SFX(struct tg_tnode *n)                                       \
{                                                                                        \
    const T *x = n->in[0].buf->data;                                                     \
    const int64_t *tgt = n->in[1].buf->data;                                             \
    T *o = n->out.buf->data;                                                             \
    int64_t rows = n->in[0].shape[0], cols = n->in[0].shape[1];                          \
    for (int64_t r = 0; r < rows; r++) o[r] = x[r * cols + tgt[r]];                      \
}                                                                                        \
static void tg_pick_bwd_##SFX(struct tg_tnode *n, const T *g, T *gx)                    \
{                                                                                        \
    const int64_t *tgt = n->in[1].buf->data;                                             \
    int64_t rows = n->in[0].shape[0], cols = n->in[0].shape[1];                          \
    for (int64_t r = 0; r < rows; r++) gx[r * cols + tgt[r]] += g[r];                    \
}

#define TG_DEFINE_MSE(T, SFX)                                                            \
/* A loss's terms (one per element) where they go: out itself for reduction='none'      \
 * (ip[0] 2), else a scratch row that tg_loss_reduce sums. NULL when out of memory. */  \
static T *tg_loss_terms_##SFX(struct tg_tnode *n)                                       \
{                                                                                       \
    if (n->ip[0] == 2) return n->out.buf->data;                                         \
    return malloc((size_t)(n->in[0].numel > 0 ? n->in[0].numel : 1) * sizeof(T));       \
}                                                                                       \
/* The terms summed in torch's order, over n for 'mean' (ip[0] 1); frees the row. */    \
static void tg_loss_reduce_##SFX(struct tg_tnode *n, T *terms)                          \
{                                                                                       \
    int64_t N = n->in[0].numel;                                                         \
    if (n->ip[0] == 2) return;                                                          \
    T s = tg_fsum_##SFX(terms, N, 1);                                                   \
    free(terms);                                                                        \
    ((T *)n->out.buf->data)[0] = n->ip[0] ? s / (T)N : s;                               \
}                                                                                       \
static int tg_mse_fwd_##SFX(struct tg_tnode *n)                                         \
{                                                                                       \
    const T *x = n->in[0].buf->data, *t = n->in[1].buf->data;                           \
    int64_t N = n->in[0].numel;                                                         \
    T *sq = tg_loss_terms_##SFX(n);                                                     \
    if (sq == NULL) return -1;                                                          \
    for (int64_t k = 0; k < N; k++) { T d = x[k] - t[k]; sq[k] = d * d; }               \
    tg_loss_reduce_##SFX(n, sq);                                                        \
    return 0;                                                                           \
}                                                                                       \
/* torch's mse_loss_backward: norm * (x - t) * g, norm = 2/n (ip[0] 1: mean) or 2      \
 * (0: sum; 2: none, one g per element) */                                               \
static void tg_mse_bwd_##SFX(struct tg_tnode *n, const T *g, T *gx, T *gt)              \
{                                                                                        \
    const T *x = n->in[0].buf->data, *t = n->in[1].buf->data;                            \
    int64_t N = n->in[0].numel;                                                          \
    T norm = (T)(n->ip[0] == 1 ? 2.0 / (double)N : 2.0), g0 = g[0];                     \
    if (n->ip[0] == 2) {          /* reduction='none': g per element */                  \
        for (int64_t k = 0; k < N; k++) {                                                \
            if (gx) gx[k] += norm * (x[k] - t[k]) * g[k];                                \
            if (gt) gt[k] += norm * (t[k] - x[k]) * g[k];                                \
        }                                                                                \
        return;                                                                          \
    }                                                                                    \
    for (int64_t k = 0; k < N; k++) {                                                    \
        if (gx) gx[k] += norm * (x[k] - t[k]) * g0;                                      \
        if (gt) gt[k] += norm * (t[k] - x[k]) * g0;                                      \
    }                                                                                    \
}

TG_DEFINE_REDUCE(float, f32)
TG_DEFINE_REDUCE(double, f64)

/* torch's summation order, for the loss kernels of tg_activation.c */
float tg_sum_f32(const float *x, int64_t n) { return tg_fsum_f32(x, n, 1); }
double tg_sum_f64(const double *x, int64_t n) { return tg_fsum_f64(x, n, 1); }
TG_DEFINE_MSE(float, f32)
TG_DEFINE_MSE(double, f64)

/* binary_cross_entropy (torch's, logs clamped at -100): in[0] probabilities x, in[1]
 * targets t (same shape and dtype); ip[0] 0 sum, 1 mean, 2 none (elementwise out). */
#define TG_DEFINE_BCE(T, SFX, LOG, LOG1P)                                                \
static inline T tg_bce_term_##SFX(T x, T t)                                              \
{                                                                                        \
    T l1 = LOG1P(-x), l0 = LOG(x);                                                       \
    if (l1 < (T)-100) l1 = (T)-100;       /* NaN stays NaN, as numpy's maximum */        \
    if (l0 < (T)-100) l0 = (T)-100;                                                      \
    return (t - (T)1) * l1 - t * l0;                                                     \
}                                                                                        \
static int tg_bce_fwd_##SFX(struct tg_tnode *n)                                         \
{                                                                                       \
    const T *x = n->in[0].buf->data, *t = n->in[1].buf->data;                           \
    int64_t N = n->in[0].numel;                                                         \
    T *l = tg_loss_terms_##SFX(n);                                                      \
    if (l == NULL) return -1;                                                           \
    for (int64_t k = 0; k < N; k++) l[k] = tg_bce_term_##SFX(x[k], t[k]);               \
    tg_loss_reduce_##SFX(n, l);                                                         \
    return 0;                                                                           \
}                                                                                       \
/* torch's backward: g (x - t) / max((1 - x) x, 1e-12f) for x, -log(x / (1 - x)) g for  \
 * t; over n for mean */                                                                 \
static void tg_bce_bwd_##SFX(struct tg_tnode *n, const T *g, T *gx, T *gt)              \
{                                                                                        \
    const T *x = n->in[0].buf->data, *t = n->in[1].buf->data;                            \
    int64_t N = n->in[0].numel;                                                          \
    int each = n->ip[0] == 2, mean = n->ip[0] == 1;                                      \
    for (int64_t k = 0; k < N; k++) {                                                    \
        T gk = each ? g[k] : g[0];                                                       \
        if (gx) {                                                                        \
            T d = ((T)1 - x[k]) * x[k], eps = (T)1e-12f;                                 \
            T r = gk * (x[k] - t[k]) / (d != d || d > eps ? d : eps);                    \
            gx[k] += mean ? r / (T)N : r;                                                \
        }                                                                                \
        if (gt) {                                                                        \
            T r = -LOG(x[k] / ((T)1 - x[k])) * gk;                                       \
            gt[k] += mean ? r / (T)N : r;                                                \
        }                                                                                \
    }                                                                                    \
}

TG_DEFINE_BCE(float, f32, logf, log1pf)
TG_DEFINE_BCE(double, f64, log, log1p)

/* ------------------------------------------------------------------------ */
/* dtype conversion                                                          */

static int tg_is_float(int dtype) { return dtype == TG_F32 || dtype == TG_F64; }

static double tg_load_float(const void *p, int dtype, int64_t k)
{
    return dtype == TG_F32 ? ((const float *)p)[k] : ((const double *)p)[k];
}

/* Element k of an integral buffer, exactly (int64 never goes through double). */
static int64_t tg_load_int(const void *p, int dtype, int64_t k)
{
    switch (dtype) {
    case TG_BOOL: return ((const uint8_t *)p)[k] != 0;
    case TG_U8: return ((const uint8_t *)p)[k];
    case TG_I8: return ((const int8_t *)p)[k];
    case TG_I16: return ((const int16_t *)p)[k];
    case TG_I32: return ((const int32_t *)p)[k];
    default: return ((const int64_t *)p)[k];
    }
}

/* Store an integer into an integral buffer, wrapping as a C cast does (torch's). */
static void tg_store_int(void *p, int dtype, int64_t k, int64_t x)
{
    switch (dtype) {
    case TG_BOOL: ((uint8_t *)p)[k] = x != 0; break;
    case TG_U8: ((uint8_t *)p)[k] = (uint8_t)x; break;
    case TG_I8: ((int8_t *)p)[k] = (int8_t)x; break;
    case TG_I16: ((int16_t *)p)[k] = (int16_t)x; break;
    case TG_I32: ((int32_t *)p)[k] = (int32_t)x; break;
    default: ((int64_t *)p)[k] = x; break;
    }
}

/* A float converted to an integer as torch's CPU casts do: truncation toward zero,
 * NaN and out-of-range values to INT64_MIN (the x86 conversion's result) instead of
 * C's undefined behaviour. */
static int64_t tg_float_to_int(double x)
{
    if (!(x > -9223372036854775808.0 && x < 9223372036854775808.0)) return INT64_MIN;
    return (int64_t)x;
}

static void tg_convert(void *dst, int dst_dtype, const void *src, int src_dtype, int64_t n,
                       int accumulate)
{
    for (int64_t k = 0; k < n; k++) {
        if (dst_dtype == TG_F32 || dst_dtype == TG_F64) {
            double x = tg_is_float(src_dtype) ? tg_load_float(src, src_dtype, k)
                                              : (double)tg_load_int(src, src_dtype, k);
            if (dst_dtype == TG_F32) {
                if (accumulate) ((float *)dst)[k] += (float)x; else ((float *)dst)[k] = (float)x;
            } else {
                if (accumulate) ((double *)dst)[k] += x; else ((double *)dst)[k] = x;
            }
        } else if (dst_dtype == TG_BOOL && tg_is_float(src_dtype)) {
            ((uint8_t *)dst)[k] = tg_load_float(src, src_dtype, k) != 0.0;
        } else {
            int64_t x = tg_is_float(src_dtype) ? tg_float_to_int(tg_load_float(src, src_dtype, k))
                                               : tg_load_int(src, src_dtype, k);
            tg_store_int(dst, dst_dtype, k, x);
        }
    }
}

/* ------------------------------------------------------------------------ */
/* Matrix products through BLAS (row-major data seen as column-major transposes) */

static int tg_gemm(int dtype, char ta, char tb, int m, int n, int k, const void *a, int lda,
                   const void *b, int ldb, double beta, void *c, int ldc)
{
    if (m == 0 || n == 0) return 0;
    if (dtype == TG_F32) {
        if (tg_sgemm == NULL) return -3;
        float one = 1.0f, bt = (float)beta;
        tg_sgemm(&ta, &tb, &m, &n, &k, &one, (float *)a, &lda, (float *)b, &ldb, &bt,
                 (float *)c, &ldc);
    } else {
        if (tg_dgemm == NULL) return -3;
        double one = 1.0, bt = beta;
        tg_dgemm(&ta, &tb, &m, &n, &k, &one, (double *)a, &lda, (double *)b, &ldb, &bt,
                 (double *)c, &ldc);
    }
    return 0;
}

/* C (m x n) = A (m x k) @ B (k x n), all row-major. */
static int tg_mm_fwd(struct tg_tnode *n)
{
    int m = (int)n->ip[0], k = (int)n->ip[1], nn = (int)n->ip[2];
    if (k == 0) {
        memset(n->out.buf->data, 0, n->out.buf->nbytes);
        return 0;
    }
    return tg_gemm(n->out.dtype, 'N', 'N', nn, m, k, n->in[1].buf->data, nn,
                   n->in[0].buf->data, k, 0.0, n->out.buf->data, nn);
}

/* beta 0 writes a fresh gradient, 1 adds to one */
static int tg_mm_bwd(struct tg_tnode *n, const void *g, void *ga, double beta_a, void *gb,
                     double beta_b)
{
    int m = (int)n->ip[0], k = (int)n->ip[1], nn = (int)n->ip[2], dt = n->out.dtype;
    int rc = 0;
    if (ga != NULL && k > 0)   /* gA (m x k) += G (m x n) @ B^T */
        rc = tg_gemm(dt, 'T', 'N', k, m, nn, n->in[1].buf->data, nn, g, nn, beta_a, ga, k);
    if (rc == 0 && gb != NULL && k > 0)   /* gB (k x n) += A^T @ G */
        rc = tg_gemm(dt, 'N', 'T', nn, k, m, g, nn, n->in[0].buf->data, k, beta_b, gb, nn);
    return rc;
}

/* Batched products over ip[0] batches of (m x k) @ (k x n), contiguous. */
static int tg_bmm_fwd(struct tg_tnode *n)
{
    int64_t batches = n->ip[0];
    int m = (int)n->ip[1], k = (int)n->ip[2], nn = (int)n->ip[3], dt = n->out.dtype;
    size_t es = tg_dtype_size(dt);
    const char *a = n->in[0].buf->data, *b = n->in[1].buf->data;
    char *c = n->out.buf->data;
    if (k == 0) {
        memset(n->out.buf->data, 0, n->out.buf->nbytes);
        return 0;
    }
    for (int64_t q = 0; q < batches; q++) {
        int rc = tg_gemm(dt, 'N', 'N', nn, m, k, b + (size_t)q * k * nn * es, nn,
                         a + (size_t)q * m * k * es, k, 0.0, c + (size_t)q * m * nn * es, nn);
        if (rc != 0) return rc;
    }
    return 0;
}

/* The mm backward per batch; beta 0 writes fresh gradients, 1 adds. */
static int tg_bmm_bwd(struct tg_tnode *n, const void *g, void *ga, double beta_a, void *gb,
                      double beta_b)
{
    int64_t batches = n->ip[0];
    int m = (int)n->ip[1], k = (int)n->ip[2], nn = (int)n->ip[3], dt = n->out.dtype;
    size_t es = tg_dtype_size(dt);
    const char *a = n->in[0].buf->data, *b = n->in[1].buf->data, *gg = g;
    int rc = 0;
    if (k == 0) return 0;
    for (int64_t q = 0; q < batches && rc == 0; q++) {
        const char *gq = gg + (size_t)q * m * nn * es;
        if (ga != NULL)        /* gA (m x k) += G (m x n) @ B^T */
            rc = tg_gemm(dt, 'T', 'N', k, m, nn, b + (size_t)q * k * nn * es, nn, gq, nn,
                         beta_a, (char *)ga + (size_t)q * m * k * es, k);
        if (rc == 0 && gb != NULL)   /* gB (k x n) += A^T @ G */
            rc = tg_gemm(dt, 'N', 'T', nn, k, m, gq, nn, a + (size_t)q * m * k * es, k,
                         beta_b, (char *)gb + (size_t)q * k * nn * es, nn);
    }
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Dispatch                                                                  */

/* The dtypes each kernel was written for: 1 when n's operands have them. Views,
 * casts and strided reads (gather) take every dtype (the gather by element size);
 * every other kernel reads and writes float32 or float64 only, its operands in
 * the output's dtype (the argmax/argmin indices and the picked targets int64). */
static int tg_dtypes_ok(const struct tg_tnode *n, uint8_t op)
{
    int dt = n->out.dtype, d0 = n->in[0].dtype;
    switch (op) {
    case TT_VIEW: case TT_GATHER:
        return d0 == dt && dt >= 0 && dt < TG_NDTYPES;
    case TT_CAST:
        return dt >= 0 && dt < TG_NDTYPES && d0 >= 0 && d0 < TG_NDTYPES;
    default:
        if (tg_math_owns(op)) return tg_math_dtypes_ok(n, op);
        if (tg_act_owns(op)) return tg_act_dtypes_ok(n, op);
        if (tg_norm_owns(op)) return tg_norm_dtypes_ok(n);
        break;
    }
    if ((dt != TG_F32 && dt != TG_F64) || d0 != dt) return 0;
    switch (op) {
    case TT_ADD: case TT_SUB: case TT_MUL: case TT_DIV: case TT_POW: case TT_ADDMM:
    case TT_MM: case TT_BMM: case TT_MSE: case TT_BCE:
        return n->in[1].dtype == dt;
    case TT_MAX_DIM: case TT_MIN_DIM: case TT_PICK:
        return n->in[1].dtype == TG_I64;
    default:
        return 1;
    }
}


/* 1 when view v (with a buffer) has room for its numel elements. */
static int tg_view_fits(const tg_view *v)
{
    return v->buf == NULL || (v->numel >= 0 && (uint64_t)v->numel <= v->buf->nbytes /
                              tg_dtype_size(v->dtype));
}

/* 1 when a strided read (TT_GATHER: offset ip[0], strides ip[1..]) of n's output
 * shape stays inside in[0]'s elements. */
static int tg_gather_in_bounds(const struct tg_tnode *n)
{
    if (n->out.numel == 0) return 1;
    int64_t lo = n->ip[0], hi = n->ip[0];
    for (int d = 0; d < n->out.ndim; d++) {
        int64_t span = (n->out.shape[d] - 1) * n->ip[1 + d];
        if (span < 0) lo += span; else hi += span;
    }
    return lo >= 0 && hi < n->in[0].numel;
}

/* The one validation before a forward kernel runs: the dtypes it was written for,
 * buffers holding their views' elements, strided reads inside their input. */
static int tg_forward_ok(const struct tg_tnode *n, uint8_t op)
{
    if (!tg_view_fits(&n->out) || !tg_view_fits(&n->in[0]) || !tg_view_fits(&n->in[1]))
        return -1;
    if (op == TT_GATHER && !tg_gather_in_bounds(n)) return -1;
    return tg_dtypes_ok(n, op) ? 0 : TG_EDTYPE;
}


static int tg_tensor_kernel(struct tg_tnode *n, uint8_t op)
{
    int f32 = n->out.dtype == TG_F32;
    int ok = tg_forward_ok(n, op);
    if (ok != 0) return ok;
    switch (op) {
    case TT_ADD: case TT_SUB: case TT_MUL: case TT_DIV: case TT_POW:
        if (f32) tg_binary_fwd_f32(op, n); else tg_binary_fwd_f64(op, n);
        return 0;
    case TT_ADDMM:                     /* the product (in[0], a TT_MM slot) + the bias */
        if (f32) tg_binary_fwd_f32(TT_ADD, n); else tg_binary_fwd_f64(TT_ADD, n);
        return 0;
    case TT_TANH:
        if (f32) tg_tanh_f32_array(n->in[0].buf->data, n->out.buf->data, n->out.numel);
        else tg_unary_fwd_f64(op, n);
        return 0;
    case TT_ADD_C: case TT_SUB_C: case TT_MUL_C: case TT_RSUB_C: case TT_DIV_C: case TT_RDIV_C:
    case TT_POW_C: case TT_RPOW_C: case TT_NEG: case TT_EXP: case TT_LOG:
    case TT_RELU: case TT_SIGMOID: case TT_ABS: case TT_SQRT: case TT_CLAMP:
        if (f32) tg_unary_fwd_f32(op, n); else tg_unary_fwd_f64(op, n);
        return 0;
    case TT_SUM: case TT_MEAN:
        return f32 ? tg_sum_fwd_f32(n, op == TT_MEAN) : tg_sum_fwd_f64(n, op == TT_MEAN);
    case TT_MAX_ALL:
        if (f32) tg_extreme_all_fwd_f32(n, 0); else tg_extreme_all_fwd_f64(n, 0);
        return 0;
    case TT_MAX_DIM:
        if (f32) tg_extreme_dim_fwd_f32(n, 0); else tg_extreme_dim_fwd_f64(n, 0);
        return 0;
    case TT_MIN_ALL:
        if (f32) tg_extreme_all_fwd_f32(n, 1); else tg_extreme_all_fwd_f64(n, 1);
        return 0;
    case TT_MIN_DIM:
        if (f32) tg_extreme_dim_fwd_f32(n, 1); else tg_extreme_dim_fwd_f64(n, 1);
        return 0;
    case TT_MM:
        return tg_mm_fwd(n);
    case TT_BMM:
        return tg_bmm_fwd(n);
    case TT_VIEW:
        return 0;                      /* shares its input's buffer */
    case TT_GATHER:
        if (n->out.dtype == TG_F32) tg_gather_fwd_f32(n);
        else if (n->out.dtype == TG_F64) tg_gather_fwd_f64(n);
        else if (tg_dtype_size(n->out.dtype) == 8) TG_GATHER(uint64_t);
        else if (tg_dtype_size(n->out.dtype) == 4) TG_GATHER(uint32_t);
        else if (tg_dtype_size(n->out.dtype) == 2) TG_GATHER(uint16_t);
        else TG_GATHER(uint8_t);
        return 0;
    case TT_SOFTMAX: case TT_LOG_SOFTMAX:
        if (f32) tg_softmax_fwd_f32(n, op == TT_LOG_SOFTMAX);
        else tg_softmax_fwd_f64(n, op == TT_LOG_SOFTMAX);
        return 0;
    case TT_PICK:
        if (f32) tg_pick_fwd_f32(n); else tg_pick_fwd_f64(n);
        return 0;
    case TT_MSE:
        return f32 ? tg_mse_fwd_f32(n) : tg_mse_fwd_f64(n);
    case TT_BCE:
        return f32 ? tg_bce_fwd_f32(n) : tg_bce_fwd_f64(n);
    case TT_CAST:
        tg_convert(n->out.buf->data, n->out.dtype, n->in[0].buf->data, n->in[0].dtype,
                   n->out.numel, 0);
        return 0;
    default:
        if (tg_act_owns(op)) return tg_act_forward(n, op);
        if (tg_norm_owns(op)) return tg_norm_forward(n, op);
        return tg_math_owns(op) ? tg_math_forward(n, op) : -1;
    }
}

/* The kernel under the flush-denormal mode (tg_fpmode.h). */
int tg_tensor_forward(struct tg_tnode *n, uint8_t op, double *scratch)
{
    (void)scratch;
    unsigned saved = tg_fpmode_enter();
    int status = tg_index_op(op) ? tg_index_forward(n, op) : tg_tensor_kernel(n, op);
    tg_fpmode_leave(saved);
    return status;
}

/* The gradient buffer of slot p, zeroed on its first contribution in this
 * sweep (leaves keep theirs: they are always marked reached). */
static void *tg_grad_of(tg_tape *t, tg_index p)
{
    struct tg_tnode *pn = t->tn[p];
    if (pn->grad == NULL) {
        pn->grad = tg_buf_zeros(pn->out.buf->nbytes);
        if (pn->grad == NULL) return NULL;
        t->reached[p] = 1;
    } else if (!t->reached[p]) {
        memset(pn->grad->data, 0, pn->grad->nbytes);
        t->reached[p] = 1;
    }
    return pn->grad->data;
}

/* Like tg_grad_of, but a first contribution may overwrite the buffer instead of
 * adding to zeros: *fresh says which (a BLAS call then uses beta 0). */
static void *tg_grad_for_write(tg_tape *t, tg_index p, int *fresh)
{
    struct tg_tnode *pn = t->tn[p];
    *fresh = 0;
    if (pn->grad == NULL) {
        if ((pn->grad = tg_buf_new(pn->out.buf->nbytes)) == NULL) return NULL;
        *fresh = 1;
    } else if (!t->reached[p]) {
        *fresh = 1;
    }
    t->reached[p] = 1;
    return pn->grad->data;
}

/* 1 when parent p's gradient buffer (shaped like p's value) takes the gradient n sends
 * it through operand k (shaped like the operand n recorded). `.data =` of another
 * shape or dtype on p since then breaks that: the sweep stops before writing. */
static int tg_parent_fits(const tg_tape *t, const struct tg_tnode *n, int k, tg_index p)
{
    const struct tg_tnode *pn = t->tn[p];
    return pn != NULL && pn->out.buf != NULL && pn->out.dtype == n->in[k].dtype &&
           tg_same_shape(&pn->out, &n->in[k]);
}

static int tg_saved_changed(const struct tg_tnode *n, int k)
{
    return n->in[k].buf != NULL && n->in[k].buf->version != n->in_version[k];
}

/* .grad of a non-leaf (retain_grad()) accumulates like a leaf's. 0, or -1. */
int tg_retain_grad(struct tg_tnode *n)
{
    if (n->retained == NULL && (n->retained = tg_buf_zeros(n->grad->nbytes)) == NULL)
        return -1;
    if (n->out.dtype == TG_F32) {
        float *r = n->retained->data; const float *gg = n->grad->data;
        for (int64_t k = 0; k < n->out.numel; k++) r[k] += gg[k];
    } else {
        double *r = n->retained->data; const double *gg = n->grad->data;
        for (int64_t k = 0; k < n->out.numel; k++) r[k] += gg[k];
    }
    return 0;
}

/* The backward of a matrix product (TT_MM, TT_BMM) over two distinct parents:
 * BLAS writes a parent's first gradient of the sweep fresh (beta 0) instead of
 * adding to zeros. 0, or -1. */
static int tg_product_bwd_fresh(tg_tape *t, struct tg_tnode *n, uint8_t op, tg_index pa,
                                tg_index pb)
{
    void *ga = NULL, *gb = NULL;
    int fa = 0, fb = 0;
    if (pa >= 0 && (ga = tg_grad_for_write(t, pa, &fa)) == NULL) return -1;
    if (pb >= 0 && (gb = tg_grad_for_write(t, pb, &fb)) == NULL) return -1;
    int rc = op == TT_MM ? tg_mm_bwd(n, n->grad->data, ga, fa ? 0.0 : 1.0, gb, fb ? 0.0 : 1.0)
                         : tg_bmm_bwd(n, n->grad->data, ga, fa ? 0.0 : 1.0, gb, fb ? 0.0 : 1.0);
    return rc == 0 ? 0 : -1;
}

int tg_tensor_backward(tg_tape *t, tg_index i)
{
    struct tg_tnode *n = t->tn[i];
    uint8_t op = t->op[i];
    if (n != NULL && n->hooked && n->grad != NULL && op != TT_LEAF) {
        int rc = tg_grad_hook(t, i);             /* Tensor.register_hook: with the GIL */
        if (rc != 0) return rc;
    }
    if (op == TT_PYFUNC || op == TT_PYFUNC_OUT) return tg_pyfunc_backward(t, i);
    if (op == TT_LEAF || n == NULL) return 0;
    if (n->freed) {                    /* torch: backward through the graph a second time */
        t->error_node = i;
        return TG_EFREED;
    }
    if (n->grad == NULL) return 0;
    tg_index pa = t->a[i], pb = t->b[i];
    /* ops whose backward reads saved values */
    int reads_inputs = !(op == TT_ADD || op == TT_SUB || op == TT_ADD_C || op == TT_SUB_C ||
                         op == TT_RSUB_C ||
                         op == TT_NEG || op == TT_SUM || op == TT_MEAN || op == TT_VIEW ||
                         op == TT_GATHER || op == TT_MUL_C || op == TT_DIV_C ||
                         op == TT_MAX_DIM || op == TT_PICK || op == TT_CAST ||
                         op == TT_ADDMM || op == TT_MIN_DIM || tg_index_op(op) ||
                         (tg_math_owns(op) && !tg_math_reads_inputs(op)) ||
                         (tg_act_owns(op) && !tg_act_reads_inputs(op)));
    if (reads_inputs && (tg_saved_changed(n, 0) || tg_saved_changed(n, 1) ||
                         n->out.buf->version != n->out_version)) {
        t->error_node = i;
        return -2;
    }
    if (tg_index_op(op) && tg_saved_changed(n, 1)) {   /* the indices, as torch saves them */
        t->error_node = i;
        return -2;
    }
    if ((pa >= 0 && !tg_parent_fits(t, n, 0, pa)) || (pb >= 0 && !tg_parent_fits(t, n, 1, pb))) {
        t->error_node = i;
        return TG_EGRAD;
    }
    if (n->retain_grad && tg_retain_grad(n) != 0) return -1;
    if ((op == TT_MM && n->ip[1] > 0) || (op == TT_BMM && n->ip[2] > 0)) {
        if (pa != pb) return tg_product_bwd_fresh(t, n, op, pa, pb);
    }
    void *ga = NULL, *gb = NULL;
    if (pa >= 0 && (ga = tg_grad_of(t, pa)) == NULL) return -1;
    if (pb >= 0 && (gb = tg_grad_of(t, pb)) == NULL) return -1;
    const void *g = n->grad->data;
    int f32 = n->out.dtype == TG_F32;
    switch (op) {
    case TT_ADD: case TT_SUB: case TT_MUL: case TT_DIV: case TT_POW:
        if (f32) tg_binary_bwd_f32(op, n, g, ga, gb); else tg_binary_bwd_f64(op, n, g, ga, gb);
        return 0;
    case TT_ADDMM:     /* the product gets g (its TT_MM slot then runs the gemms), the
                          bias g summed to its shape: the broadcast add's backward */
        if (f32) tg_binary_bwd_f32(TT_ADD, n, g, ga, gb);
        else tg_binary_bwd_f64(TT_ADD, n, g, ga, gb);
        return 0;
    case TT_SUM: case TT_MEAN:
        if (ga == NULL) return 0;
        if (f32) tg_sum_bwd_f32(n, g, ga, op == TT_MEAN); else tg_sum_bwd_f64(n, g, ga, op == TT_MEAN);
        return 0;
    case TT_MAX_ALL: case TT_MIN_ALL:  /* ties at the output value share the gradient */
        if (ga == NULL) return 0;
        if (f32) tg_max_all_bwd_f32(n, g, ga); else tg_max_all_bwd_f64(n, g, ga);
        return 0;
    case TT_MAX_DIM: case TT_MIN_DIM:  /* the recorded index takes it */
        if (ga == NULL) return 0;
        if (f32) tg_max_dim_bwd_f32(n, g, ga); else tg_max_dim_bwd_f64(n, g, ga);
        return 0;
    case TT_MM:
        return tg_mm_bwd(n, g, ga, 1.0, gb, 1.0) == 0 ? 0 : -1;
    case TT_BMM:
        return tg_bmm_bwd(n, g, ga, 1.0, gb, 1.0) == 0 ? 0 : -1;
    case TT_VIEW:
        if (ga == NULL) return 0;
        if (f32) { float *x = ga; const float *gg = g; for (int64_t k = 0; k < n->out.numel; k++) x[k] += gg[k]; }
        else { double *x = ga; const double *gg = g; for (int64_t k = 0; k < n->out.numel; k++) x[k] += gg[k]; }
        return 0;
    case TT_GATHER:
        if (ga == NULL) return 0;
        if (f32) tg_gather_bwd_f32(n, g, ga); else tg_gather_bwd_f64(n, g, ga);
        return 0;
    case TT_SOFTMAX: case TT_LOG_SOFTMAX:
        if (ga == NULL) return 0;
        if (f32) tg_softmax_bwd_f32(n, g, ga, op == TT_LOG_SOFTMAX);
        else tg_softmax_bwd_f64(n, g, ga, op == TT_LOG_SOFTMAX);
        return 0;
    case TT_PICK:
        if (ga == NULL) return 0;
        if (f32) tg_pick_bwd_f32(n, g, ga); else tg_pick_bwd_f64(n, g, ga);
        return 0;
    case TT_MSE:
        if (f32) tg_mse_bwd_f32(n, g, ga, gb); else tg_mse_bwd_f64(n, g, ga, gb);
        return 0;
    case TT_BCE:
        if (f32) tg_bce_bwd_f32(n, g, ga, gb); else tg_bce_bwd_f64(n, g, ga, gb);
        return 0;
    case TT_INDEX: case TT_WHERE:
        tg_index_backward(n, op, g, ga, gb);
        return 0;
    case TT_CAST:
        if (ga != NULL) tg_convert(ga, n->in[0].dtype, g, n->out.dtype, n->out.numel, 1);
        return 0;
    default:   /* unary */
        if (tg_norm_owns(op)) return tg_norm_backward(n, op, g, ga, gb);
        if (tg_math_owns(op)) {
            tg_math_backward(n, op, g, ga, gb);
            return 0;
        }
        if (tg_act_owns(op)) {
            tg_act_backward(n, op, g, ga, gb);
            return 0;
        }
        if (ga == NULL) return 0;
        if (f32) tg_unary_bwd_f32(op, n, g, ga); else tg_unary_bwd_f64(op, n, g, ga);
        return 0;
    }
}

void tg_tensor_drop_grads(tg_tape *t, tg_index lo, tg_index hi)
{
    for (tg_index i = lo; i <= hi; i++) {
        struct tg_tnode *n = t->tn[i];
        if (n != NULL && n->grad != NULL && t->op[i] != TT_LEAF) {
            tg_buf_decref(n->grad);
            n->grad = NULL;
        }
    }
}

/* ------------------------------------------------------------------------ */
/* Tensor slots on the tape                                                  */

const tg_tensor_hooks tg_tensor_tape_hooks = {
    tg_tensor_backward, tg_tensor_drop_grads, tg_tnode_free
};

tg_index tg_tape_push_tensor(tg_tape *t, uint8_t op, tg_index a, tg_index b,
                             struct tg_tnode *tnode, tg_index *owner)
{
    if (tnode->out.buf != NULL) t->tensor_bytes += (int64_t)tnode->out.buf->nbytes;
    t->tensor = &tg_tensor_tape_hooks;
    return tg_tape_append(t, op, a, b, 0.0, 0.0, owner, tnode);
}

tg_index tg_tape_new_tensor_leaf(tg_tape *t, struct tg_tnode *tnode, tg_index *owner)
{
    tg_index i = tg_tape_new_leaf(t, 0.0, owner);
    if (i < 0) return -1;
    t->op[i] = TT_LEAF;
    t->tn[i] = tnode;
    t->tensor = &tg_tensor_tape_hooks;
    return i;
}
