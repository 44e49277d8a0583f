/* More tensor kernels: see tg_math.h. Derivatives are torch's (derivatives.yaml),
 * computed in the tensor's own precision; reductions accumulate in double. */
#include "tg_math.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#define TG_LN10 2.302585092994045684
#define TG_LN2 0.693147180559945309

int tg_math_owns(uint8_t op)
{
    switch (op) {
    case TT_SIN: case TT_COS: case TT_TAN: case TT_LOG10: case TT_LOG2: case TT_LOG1P:
    case TT_EXPM1: case TT_RSQRT: case TT_SIGN: case TT_FLOOR: case TT_CEIL: case TT_ROUND:
    case TT_MAXIMUM: case TT_MINIMUM: case TT_LOGSUMEXP: case TT_VAR: case TT_NORM:
    case TT_PROD: case TT_CUMSUM: case TT_CAT: case TT_TAKE: case TT_ROLL: case TT_TILE:
        return 1;
    default:
        return 0;
    }
}

/* the shape kernels copy elements of any dtype (by size); the rest are float-only */
static int tg_math_copies(uint8_t op)
{
    return op == TT_CAT || op == TT_TAKE || op == TT_ROLL || op == TT_TILE;
}

int tg_math_dtypes_ok(const struct tg_tnode *n, uint8_t op)
{
    int dt = n->out.dtype;
    if (n->in[0].dtype != dt || dt >= TG_NDTYPES) return 0;
    if (!tg_math_copies(op) && dt != TG_F32 && dt != TG_F64) return 0;
    if (op == TT_CAT || op == TT_MAXIMUM || op == TT_MINIMUM) return n->in[1].dtype == dt;
    if (op == TT_TAKE) return n->in[1].dtype == TG_I64;
    return 1;
}

int tg_math_reads_inputs(uint8_t op)
{
    return !(op == TT_CAT || op == TT_ROLL || op == TT_TILE || op == TT_TAKE ||
             op == TT_CUMSUM || op == TT_SIGN || op == TT_FLOOR || op == TT_CEIL ||
             op == TT_ROUND);
}

/* ------------------------------------------------------------------------ */
/* Broadcasting (maximum / minimum): the offset of output element k in v.    */

static void tg_math_bstrides(const tg_view *v, const tg_view *out, int64_t *st)
{
    int lead = out->ndim - v->ndim;
    int64_t s = 1;
    for (int d = out->ndim - 1; d >= 0; d--) {
        int vd = d - lead;
        if (vd < 0 || v->shape[vd] == 1) st[d] = 0;
        else { st[d] = s; }
        if (vd >= 0) s *= v->shape[vd];
    }
}

static int64_t tg_math_offset(const tg_view *out, const int64_t *st, int64_t k)
{
    int64_t off = 0;
    for (int d = out->ndim - 1; d >= 0; d--) {
        int64_t c = k % out->shape[d];
        k /= out->shape[d];
        off += c * st[d];
    }
    return off;
}

/* ------------------------------------------------------------------------ */
/* Typed kernels                                                             */

#define TG_DEFINE_MATH(T, SFX, SIN, COS, TAN, LOG10, LOG2, LOG1P, EXPM1, SQRT, FLOOR, CEIL,\
                       RINT, EXP, LOG, FABS, POW)                                        \
static void tg_un_fwd_##SFX(uint8_t op, struct tg_tnode *n)                              \
{                                                                                        \
    const T *x = n->in[0].buf->data;                                                     \
    T *o = n->out.buf->data;                                                             \
    int64_t N = n->out.numel;                                                            \
    switch (op) {                                                                        \
    case TT_SIN: for (int64_t k = 0; k < N; k++) o[k] = SIN(x[k]); break;                \
    case TT_COS: for (int64_t k = 0; k < N; k++) o[k] = COS(x[k]); break;                \
    case TT_TAN: for (int64_t k = 0; k < N; k++) o[k] = TAN(x[k]); break;                \
    case TT_LOG10: for (int64_t k = 0; k < N; k++) o[k] = LOG10(x[k]); break;            \
    case TT_LOG2: for (int64_t k = 0; k < N; k++) o[k] = LOG2(x[k]); break;              \
    case TT_LOG1P: for (int64_t k = 0; k < N; k++) o[k] = LOG1P(x[k]); break;            \
    case TT_EXPM1: for (int64_t k = 0; k < N; k++) o[k] = EXPM1(x[k]); break;            \
    case TT_RSQRT: for (int64_t k = 0; k < N; k++) o[k] = (T)1 / SQRT(x[k]); break;      \
    case TT_SIGN:                                                                        \
        for (int64_t k = 0; k < N; k++)                                                  \
            o[k] = x[k] > (T)0 ? (T)1 : (x[k] < (T)0 ? (T)-1 : (T)0);  /* torch: nan -> 0 */ \
        break;                                                                           \
    case TT_FLOOR: for (int64_t k = 0; k < N; k++) o[k] = FLOOR(x[k]); break;            \
    case TT_CEIL: for (int64_t k = 0; k < N; k++) o[k] = CEIL(x[k]); break;              \
    default: for (int64_t k = 0; k < N; k++) o[k] = RINT(x[k]); break;   /* round */     \
    }                                                                                    \
}                                                                                        \
static void tg_un_bwd_##SFX(uint8_t op, struct tg_tnode *n, const T *g, T *gx)           \
{                                                                                        \
    const T *x = n->in[0].buf->data, *y = n->out.buf->data;                              \
    int64_t N = n->out.numel;                                                            \
    switch (op) {                                                                        \
    case TT_SIN: for (int64_t k = 0; k < N; k++) gx[k] += g[k] * COS(x[k]); break;       \
    case TT_COS: for (int64_t k = 0; k < N; k++) gx[k] += g[k] * -SIN(x[k]); break;      \
    case TT_TAN: for (int64_t k = 0; k < N; k++) gx[k] += g[k] * ((T)1 + y[k] * y[k]); break; \
    case TT_LOG10:                                                                       \
        for (int64_t k = 0; k < N; k++) gx[k] += g[k] / (x[k] * (T)TG_LN10);             \
        break;                                                                           \
    case TT_LOG2:                                                                        \
        for (int64_t k = 0; k < N; k++) gx[k] += g[k] / (x[k] * (T)TG_LN2);              \
        break;                                                                           \
    case TT_LOG1P: for (int64_t k = 0; k < N; k++) gx[k] += g[k] / (x[k] + (T)1); break; \
    case TT_EXPM1: for (int64_t k = 0; k < N; k++) gx[k] += g[k] * (y[k] + (T)1); break; \
    case TT_RSQRT:                                                                       \
        for (int64_t k = 0; k < N; k++) gx[k] += (T)-0.5 * g[k] * (y[k] * y[k] * y[k]); \
        break;                                                                           \
    default: break;     /* sign, floor, ceil, round: zero gradient */                    \
    }                                                                                    \
}                                                                                        \
static void tg_ext_fwd_##SFX(struct tg_tnode *n, int is_min)                             \
{                                                                                        \
    const T *a = n->in[0].buf->data, *b = n->in[1].buf->data;                            \
    T *o = n->out.buf->data;                                                             \
    int64_t sa[TG_MAXDIM], sb[TG_MAXDIM];                                                \
    tg_math_bstrides(&n->in[0], &n->out, sa);                                            \
    tg_math_bstrides(&n->in[1], &n->out, sb);                                            \
    for (int64_t k = 0; k < n->out.numel; k++) {                                         \
        T x = a[tg_math_offset(&n->out, sa, k)], w = b[tg_math_offset(&n->out, sb, k)];  \
        if (x != x || w != w) o[k] = x != x ? x : w;                                     \
        else o[k] = (is_min ? x < w : x > w) ? x : w;                                    \
    }                                                                                    \
}                                                                                        \
static void tg_ext_bwd_##SFX(struct tg_tnode *n, const T *g, T *ga, T *gb, int is_min)  \
{                                                                                        \
    const T *a = n->in[0].buf->data, *b = n->in[1].buf->data;                            \
    int64_t sa[TG_MAXDIM], sb[TG_MAXDIM];                                                \
    tg_math_bstrides(&n->in[0], &n->out, sa);                                            \
    tg_math_bstrides(&n->in[1], &n->out, sb);                                            \
    for (int64_t k = 0; k < n->out.numel; k++) {                                         \
        int64_t ia = tg_math_offset(&n->out, sa, k), ib = tg_math_offset(&n->out, sb, k); \
        T x = a[ia], w = b[ib];                                                          \
        /* torch: where(self == other, g / 2, g), zero where the other one wins */      \
        T half = x == w ? g[k] / (T)2 : g[k];                                            \
        int a_loses = is_min ? x > w : x < w, b_loses = is_min ? x < w : x > w;          \
        if (ga) ga[ia] += a_loses ? (T)0 : half;                                         \
        if (gb) gb[ib] += b_loses ? (T)0 : half;                                         \
    }                                                                                    \
}                                                                                        \
/* reductions along one dim: x row (o, ., i) at x + o * n * inner + i, stride inner */   \
static void tg_red_fwd_##SFX(uint8_t op, struct tg_tnode *n)                             \
{                                                                                        \
    const T *x = n->in[0].buf->data;                                                     \
    T *out = n->out.buf->data;                                                           \
    int64_t outer = n->ip[0], len = n->ip[1], inner = n->ip[2];                          \
    double p = n->dp[0];                                                                 \
    for (int64_t o = 0; o < outer; o++)                                                  \
        for (int64_t i = 0; i < inner; i++) {                                            \
            const T *r = x + o * len * inner + i;                                        \
            T *y = op == TT_CUMSUM ? out + o * len * inner + i : out + o * inner + i;    \
            double acc = 0.0;                                                            \
            switch (op) {                                                                \
            case TT_CUMSUM:                                                              \
                for (int64_t j = 0; j < len; j++) { acc += r[j * inner]; y[j * inner] = (T)acc; } \
                break;                                                                   \
            case TT_PROD:                                                                \
                acc = 1.0;                                                               \
                for (int64_t j = 0; j < len; j++) acc *= r[j * inner];                   \
                *y = (T)acc;                                                             \
                break;                                                                   \
            case TT_LOGSUMEXP: {                                                         \
                double m = -INFINITY;                                                    \
                for (int64_t j = 0; j < len; j++) if (r[j * inner] > m) m = r[j * inner]; \
                if (isinf(m)) m = 0.0;                                                   \
                for (int64_t j = 0; j < len; j++) acc += exp((double)r[j * inner] - m);  \
                *y = (T)(log(acc) + m);                                                  \
                for (int64_t j = 0; j < len; j++) if (r[j * inner] != r[j * inner]) *y = r[j * inner]; \
                break;                                                                   \
            }                                                                            \
            case TT_VAR: {                                                               \
                double mean = 0.0, ss = 0.0, div = (double)len - p;                      \
                for (int64_t j = 0; j < len; j++) mean += r[j * inner];                  \
                mean /= (double)len;                                                     \
                for (int64_t j = 0; j < len; j++) {                                      \
                    double d = r[j * inner] - mean; ss += d * d; }                       \
                acc = ss / (div > 0.0 ? div : 0.0);                                      \
                *y = (T)(n->ip[3] ? sqrt(acc) : acc);                                    \
                break;                                                                   \
            }                                                                            \
            default: { /* TT_NORM, p in dp[0] */                                        \
                if (isinf(p)) {                                                          \
                    acc = p > 0 ? 0.0 : INFINITY;                                        \
                    for (int64_t j = 0; j < len; j++) {                                  \
                        double v = FABS(r[j * inner]);                                   \
                        if (v != v) { acc = v; break; }                                  \
                        if (p > 0 ? v > acc : v < acc) acc = v;                          \
                    }                                                                    \
                } else if (p == 0.0) {                                                   \
                    for (int64_t j = 0; j < len; j++) acc += r[j * inner] != (T)0;       \
                } else if (p == 1.0) {                                                   \
                    for (int64_t j = 0; j < len; j++) acc += FABS(r[j * inner]);         \
                } else if (p == 2.0) {                                                   \
                    for (int64_t j = 0; j < len; j++) {                                  \
                        double v = r[j * inner]; acc += v * v; }                         \
                    acc = sqrt(acc);                                                     \
                } else {                                                                 \
                    for (int64_t j = 0; j < len; j++) acc += pow(FABS(r[j * inner]), p); \
                    acc = pow(acc, 1.0 / p);                                             \
                }                                                                        \
                *y = (T)acc;                                                             \
            }                                                                            \
            }                                                                            \
        }                                                                                \
}                                                                                        \
static void tg_prod_row_bwd_##SFX(const T *r, int64_t len, int64_t inner, T g, T y,      \
                                  T *gr)                                                 \
{                                                                                        \
    int64_t zeros = 0, at = -1;                                                          \
    for (int64_t j = 0; j < len; j++) if (r[j * inner] == (T)0) { zeros++; at = j; }     \
    if (zeros == 0) {                                                                    \
        for (int64_t j = 0; j < len; j++) gr[j * inner] += g * y / r[j * inner];         \
    } else if (zeros == 1) {         /* torch: the product of the others, at the zero */ \
        double others = 1.0;                                                             \
        for (int64_t j = 0; j < len; j++) if (j != at) others *= r[j * inner];           \
        gr[at * inner] += g * (T)others;                                                 \
    }                                                                                    \
}                                                                                        \
static void tg_red_bwd_##SFX(uint8_t op, struct tg_tnode *n, const T *g, T *gx)          \
{                                                                                        \
    const T *x = n->in[0].buf->data, *out = n->out.buf->data;                            \
    int64_t outer = n->ip[0], len = n->ip[1], inner = n->ip[2];                          \
    double p = n->dp[0];                                                                 \
    for (int64_t o = 0; o < outer; o++)                                                  \
        for (int64_t i = 0; i < inner; i++) {                                            \
            int64_t base = o * len * inner + i;                                          \
            const T *r = x + base;                                                       \
            T *gr = gx + base;                                                           \
            if (op == TT_CUMSUM) {                                                       \
                T acc = 0;                                                               \
                for (int64_t j = len - 1; j >= 0; j--) { acc += g[base + j * inner]; gr[j * inner] += acc; } \
                continue;                                                                \
            }                                                                            \
            T gy = g[o * inner + i], y = out[o * inner + i];                             \
            switch (op) {                                                                \
            case TT_PROD: tg_prod_row_bwd_##SFX(r, len, inner, gy, y, gr); break;        \
            case TT_LOGSUMEXP:                                                           \
                for (int64_t j = 0; j < len; j++) gr[j * inner] += gy * EXP(r[j * inner] - y); \
                break;                                                                   \
            case TT_VAR: {                                                               \
                double mean = 0.0;                                                       \
                for (int64_t j = 0; j < len; j++) mean += r[j * inner];                  \
                mean /= (double)len;                                                     \
                T scale = (T)2 / (T)((double)len - p);                                   \
                if (n->ip[3]) gy = y == (T)0 ? (T)0 : gy / (y * (T)2);  /* std: at g / 2y */\
                for (int64_t j = 0; j < len; j++)                                        \
                    gr[j * inner] += scale * gy * (r[j * inner] - (T)mean);              \
                break;                                                                   \
            }                                                                            \
            default: /* TT_NORM */                                                       \
                if (isinf(p)) {                                                          \
                    int64_t count = 0;                                                   \
                    for (int64_t j = 0; j < len; j++) {                                  \
                        T v = FABS(r[j * inner]); count += (v == y) || (v != v); }       \
                    for (int64_t j = 0; j < len; j++) {                                  \
                        T v = r[j * inner], a = FABS(v);                                 \
                        if (a == y || a != a) {                                          \
                            T s = v > (T)0 ? (T)1 : (v < (T)0 ? (T)-1 : (T)0);           \
                            gr[j * inner] += s * (gy / (T)count);                        \
                        }                                                                \
                    }                                                                    \
                } else if (p == 1.0) {                                                   \
                    for (int64_t j = 0; j < len; j++) {                                  \
                        T v = r[j * inner];                                              \
                        gr[j * inner] += (v > (T)0 ? gy : (v < (T)0 ? -gy : (T)0)); }    \
                } else if (p == 2.0) {                                                   \
                    T s = y == (T)0 ? (T)0 : gy / y;                                     \
                    for (int64_t j = 0; j < len; j++) gr[j * inner] += r[j * inner] * s; \
                } else if (p != 0.0) {                                                   \
                    T s = y == (T)0 ? (T)0 : gy / POW(y, (T)(p - 1.0));                  \
                    for (int64_t j = 0; j < len; j++) {                                  \
                        T v = r[j * inner];                                              \
                        gr[j * inner] += v * POW(FABS(v), (T)(p - 2.0)) * s; }           \
                }                                                                        \
            }                                                                            \
        }                                                                                \
}                                                                                        \
static void tg_shape_bwd_##SFX(uint8_t op, struct tg_tnode *n, const T *g, T *ga, T *gb) \
{                                                                                        \
    int64_t outer = n->ip[0], len = n->ip[1], inner = n->ip[2];                          \
    if (op == TT_CAT) {                                                                  \
        int64_t n1 = n->ip[3], w = (len + n1) * inner;                                   \
        for (int64_t o = 0; o < outer; o++) {                                            \
            if (ga) for (int64_t k = 0; k < len * inner; k++) ga[o * len * inner + k] += g[o * w + k]; \
            if (gb) for (int64_t k = 0; k < n1 * inner; k++) gb[o * n1 * inner + k] += g[o * w + len * inner + k]; \
        }                                                                                \
    } else if (op == TT_TAKE) {                                                          \
        const int64_t *idx = n->in[1].buf->data;                                         \
        int64_t kk = n->ip[3];                                                           \
        for (int64_t o = 0; o < outer; o++)                                              \
            for (int64_t j = 0; j < kk; j++)                                             \
                for (int64_t i = 0; i < inner; i++) {                                    \
                    int64_t q = (o * kk + j) * inner + i;                                \
                    ga[(o * len + idx[q]) * inner + i] += g[q];                          \
                }                                                                        \
    } else if (op == TT_ROLL) {                                                          \
        int64_t shift = n->ip[3];                                                        \
        for (int64_t o = 0; o < outer; o++)                                              \
            for (int64_t j = 0; j < len; j++) {                                          \
                int64_t to = (j + shift) % len;                                          \
                for (int64_t i = 0; i < inner; i++)                                      \
                    ga[(o * len + j) * inner + i] += g[(o * len + to) * inner + i];      \
            }                                                                            \
    } else { /* TT_TILE */                                                               \
        int64_t st[TG_MAXDIM];                                                           \
        tg_tile_strides(n, st);                                                          \
        for (int64_t k = 0; k < n->out.numel; k++) ga[tg_tile_offset(n, st, k)] += g[k]; \
    }                                                                                    \
}

/* repeat: output coordinate c_d reads input coordinate c_d mod (its size), the
 * input's dims aligned to the output's trailing ones */
static void tg_tile_strides(const struct tg_tnode *n, int64_t *st)
{
    int lead = n->out.ndim - n->in[0].ndim;
    int64_t s = 1;
    for (int d = n->out.ndim - 1; d >= lead; d--) {
        st[d] = s;
        s *= n->in[0].shape[d - lead];
    }
}

static int64_t tg_tile_offset(const struct tg_tnode *n, const int64_t *st, int64_t k)
{
    int lead = n->out.ndim - n->in[0].ndim;
    int64_t off = 0;
    for (int d = n->out.ndim - 1; d >= lead; d--) {
        int64_t c = k % n->out.shape[d];
        k /= n->out.shape[d];
        off += (c % n->in[0].shape[d - lead]) * st[d];
    }
    return off;
}

static float tg_rintf(float x) { return nearbyintf(x); }
static double tg_rint(double x) { return nearbyint(x); }

TG_DEFINE_MATH(float, f32, sinf, cosf, tanf, log10f, log2f, log1pf, expm1f, sqrtf, floorf,
               ceilf, tg_rintf, expf, logf, fabsf, powf)
TG_DEFINE_MATH(double, f64, sin, cos, tan, log10, log2, log1p, expm1, sqrt, floor, ceil,
               tg_rint, exp, log, fabs, pow)

/* ------------------------------------------------------------------------ */
/* Shape kernels (any dtype, by element size)                                */

static int tg_shape_fwd(struct tg_tnode *n, uint8_t op)
{
    size_t es = tg_dtype_size(n->out.dtype);
    const char *x = n->in[0].buf->data;
    char *o = n->out.buf->data;
    int64_t outer = n->ip[0], len = n->ip[1], inner = n->ip[2];
    if (op == TT_CAT) {
        const char *y = n->in[1].buf->data;
        int64_t n1 = n->ip[3], w = (len + n1) * inner;
        for (int64_t r = 0; r < outer; r++) {
            memcpy(o + (size_t)(r * w) * es, x + (size_t)(r * len * inner) * es,
                   (size_t)(len * inner) * es);
            memcpy(o + (size_t)(r * w + len * inner) * es, y + (size_t)(r * n1 * inner) * es,
                   (size_t)(n1 * inner) * es);
        }
    } else if (op == TT_TAKE) {
        const int64_t *idx = n->in[1].buf->data;
        int64_t kk = n->ip[3];
        for (int64_t q = 0; q < outer * kk * inner; q++)
            if (idx[q] < 0 || idx[q] >= len) return -1;
        for (int64_t r = 0; r < outer; r++)
            for (int64_t j = 0; j < kk; j++)
                for (int64_t i = 0; i < inner; i++) {
                    int64_t q = (r * kk + j) * inner + i;
                    memcpy(o + (size_t)q * es, x + (size_t)((r * len + idx[q]) * inner + i) * es, es);
                }
    } else if (op == TT_ROLL) {
        int64_t shift = n->ip[3];
        for (int64_t r = 0; r < outer; r++)
            for (int64_t j = 0; j < len; j++)
                memcpy(o + (size_t)((r * len + (j + shift) % len) * inner) * es,
                       x + (size_t)((r * len + j) * inner) * es, (size_t)inner * es);
    } else {
        int64_t st[TG_MAXDIM];
        tg_tile_strides(n, st);
        for (int64_t k = 0; k < n->out.numel; k++)
            memcpy(o + (size_t)k * es, x + (size_t)tg_tile_offset(n, st, k) * es, es);
    }
    return 0;
}

/* the (outer, n, inner) parameters against the operands' sizes */
static int tg_math_params_ok(const struct tg_tnode *n, uint8_t op)
{
    int64_t outer = n->ip[0], len = n->ip[1], inner = n->ip[2], k3 = n->ip[3];
    switch (op) {
    case TT_MAXIMUM: case TT_MINIMUM: {
        int64_t shape[TG_MAXDIM];
        int nd;
        return tg_broadcast_shape(&n->in[0], &n->in[1], shape, &nd) == 0 && nd == n->out.ndim;
    }
    case TT_LOGSUMEXP: case TT_VAR: case TT_NORM: case TT_PROD:
        return outer >= 0 && len >= 0 && inner >= 0 && outer * len * inner == n->in[0].numel &&
               outer * inner == n->out.numel;
    case TT_CUMSUM: case TT_ROLL:
        return outer >= 0 && len >= 0 && inner >= 0 && outer * len * inner == n->in[0].numel &&
               n->out.numel == n->in[0].numel && (op == TT_CUMSUM || len == 0 ||
                                                  (k3 >= 0 && k3 < len));
    case TT_CAT:
        return outer >= 0 && len >= 0 && inner >= 0 && k3 >= 0 &&
               outer * len * inner == n->in[0].numel && outer * k3 * inner == n->in[1].numel &&
               outer * (len + k3) * inner == n->out.numel;
    case TT_TAKE:
        return outer >= 0 && len >= 0 && inner >= 0 && k3 >= 0 &&
               outer * len * inner == n->in[0].numel && outer * k3 * inner == n->in[1].numel &&
               n->in[1].numel == n->out.numel;
    case TT_TILE:
        if (n->in[0].ndim > n->out.ndim) return 0;
        for (int d = 0; d < n->in[0].ndim; d++)
            if (n->in[0].shape[d] <= 0 && n->out.numel > 0) return 0;
        return 1;
    default:
        return n->in[0].numel == n->out.numel;
    }
}

int tg_math_forward(struct tg_tnode *n, uint8_t op)
{
    if (!tg_math_params_ok(n, op)) return -1;
    if (tg_math_copies(op)) return tg_shape_fwd(n, op);
    int f32 = n->out.dtype == TG_F32;
    switch (op) {
    case TT_MAXIMUM: case TT_MINIMUM:
        if (f32) tg_ext_fwd_f32(n, op == TT_MINIMUM); else tg_ext_fwd_f64(n, op == TT_MINIMUM);
        return 0;
    case TT_LOGSUMEXP: case TT_VAR: case TT_NORM: case TT_PROD: case TT_CUMSUM:
        if (f32) tg_red_fwd_f32(op, n); else tg_red_fwd_f64(op, n);
        return 0;
    default:
        if (f32) tg_un_fwd_f32(op, n); else tg_un_fwd_f64(op, n);
        return 0;
    }
}

void tg_math_backward(struct tg_tnode *n, uint8_t op, const void *g, void *ga, void *gb)
{
    int f32 = n->out.dtype == TG_F32;
    if (op == TT_MAXIMUM || op == TT_MINIMUM) {
        if (f32) tg_ext_bwd_f32(n, g, ga, gb, op == TT_MINIMUM);
        else tg_ext_bwd_f64(n, g, ga, gb, op == TT_MINIMUM);
        return;
    }
    if (op == TT_CAT) {
        if (f32) tg_shape_bwd_f32(op, n, g, ga, gb); else tg_shape_bwd_f64(op, n, g, ga, gb);
        return;
    }
    if (ga == NULL) return;
    switch (op) {
    case TT_TAKE: case TT_ROLL: case TT_TILE:
        if (f32) tg_shape_bwd_f32(op, n, g, ga, NULL); else tg_shape_bwd_f64(op, n, g, ga, NULL);
        return;
    case TT_LOGSUMEXP: case TT_VAR: case TT_NORM: case TT_PROD: case TT_CUMSUM:
        if (f32) tg_red_bwd_f32(op, n, g, ga); else tg_red_bwd_f64(op, n, g, ga);
        return;
    default:
        if (f32) tg_un_bwd_f32(op, n, g, ga); else tg_un_bwd_f64(op, n, g, ga);
        return;
    }
}
