/* Activation, loss and pad kernels: see tg_activation.h. */
#include "tg_activation.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define TG_2_SQRTPI 1.1283791670955126        /* M_2_SQRTPI */
#define TG_SQRT1_2 0.7071067811865476         /* M_SQRT1_2 */
#define TG_GELU_PDF 0.3989422804014327        /* M_2_SQRTPI * M_SQRT1_2 * 0.5 */
#define TG_GELU_TANH_BETA 0.7978845608028654  /* M_SQRT2 * M_2_SQRTPI * 0.5 */
#define TG_GELU_KAPPA 0.044715

int tg_act_owns(uint8_t op)
{
    return op >= TT_ERF && op <= TT_PAD;
}

int tg_act_dtypes_ok(const struct tg_tnode *n, uint8_t op)
{
    int dt = n->out.dtype;
    if (n->in[0].dtype != dt) return 0;
    if (op == TT_PAD) return dt >= 0 && dt < TG_NDTYPES;   /* copies by element size */
    if (dt != TG_F32 && dt != TG_F64) return 0;
    if (op == TT_SMOOTH_L1 || op == TT_BCE_LOGITS) return n->in[1].dtype == dt;
    return 1;
}

int tg_act_reads_inputs(uint8_t op)
{
    return op != TT_PAD;
}

/* The operands' sizes agree with what the kernel reads (the caller shapes them). */
static int tg_act_params_ok(const struct tg_tnode *n, uint8_t op)
{
    const tg_view *x = &n->in[0];
    if (op == TT_PAD) {
        if (x->ndim != n->out.ndim) return 0;
        for (int d = 0; d < x->ndim; d++)
            if (x->shape[d] < 0 || n->out.shape[d] < 0) return 0;
        return 1;
    }
    if (op == TT_SMOOTH_L1 || op == TT_BCE_LOGITS) {
        if (n->in[1].numel != x->numel || n->ip[0] < 0 || n->ip[0] > 2) return 0;
        if (n->ip[0] == 2 && n->out.numel != x->numel) return 0;
        if (n->ip[0] != 2 && n->out.numel != 1) return 0;
        if (op == TT_BCE_LOGITS) {
            int64_t arrays = (n->ip[1] != 0) + (n->ip[2] != 0);
            size_t need = (size_t)arrays * (size_t)x->numel * tg_dtype_size(x->dtype);
            if (arrays && (n->aux == NULL || n->aux->nbytes < need)) return 0;
        }
        return 1;
    }
    return n->out.numel == x->numel;
}

/* ------------------------------------------------------------------------ */
/* Constant pad (any dtype, by element size): out coordinate c reads in c - ip[d]. Copied
 * by runs along the last dim: input row r (its leading coordinates) lands in out's row at
 * those coordinates plus ip[d], when that row exists. */

typedef struct {
    int64_t rows;        /* input rows (numel / last size), 0 when nothing is copied */
    int64_t first;       /* first copied column of an input row */
    int64_t len;         /* columns copied per row */
} tg_pad_runs;

static tg_pad_runs tg_pad_plan(const struct tg_tnode *n)
{
    tg_pad_runs p = {0, 0, 0};
    const tg_view *x = &n->in[0];
    if (x->ndim == 0) {
        p.rows = n->out.numel;      /* 1: the element itself */
        p.len = 1;
        return p;
    }
    int last = x->ndim - 1;
    int64_t lin = x->shape[last], lout = n->out.shape[last], b = n->ip[last];
    p.first = b < 0 ? -b : 0;
    int64_t end = lout - b < lin ? lout - b : lin;
    p.len = end - p.first;
    p.rows = (p.len > 0 && lin > 0) ? x->numel / lin : 0;
    return p;
}

/* The out offset of input row r's first copied element, or -1 when its row is cut. */
static int64_t tg_pad_row(const struct tg_tnode *n, const tg_pad_runs *p, int64_t r)
{
    const tg_view *x = &n->in[0];
    if (x->ndim == 0) return 0;
    int last = x->ndim - 1;
    int64_t dst = 0, stride = 1;
    for (int d = last - 1; d >= 0; d--) {
        int64_t c = r % x->shape[d] + n->ip[d];
        r /= x->shape[d];
        if (c < 0 || c >= n->out.shape[d]) return -1;
        dst += c * stride;
        stride *= n->out.shape[d];
    }
    return dst * n->out.shape[last] + p->first + n->ip[last];
}

static void tg_pad_fill(void *out, int dtype, int64_t count, double value)
{
    for (int64_t k = 0; k < count; k++) {
        switch (dtype) {
        case TG_F32: ((float *)out)[k] = (float)value; break;
        case TG_F64: ((double *)out)[k] = value; break;
        case TG_I64: ((int64_t *)out)[k] = (int64_t)value; break;   /* integral, checked */
        case TG_I32: ((int32_t *)out)[k] = (int32_t)(int64_t)value; break;
        case TG_I16: ((int16_t *)out)[k] = (int16_t)(int64_t)value; break;
        case TG_I8: ((int8_t *)out)[k] = (int8_t)(int64_t)value; break;
        case TG_U8: ((uint8_t *)out)[k] = (uint8_t)(int64_t)value; break;
        default: ((uint8_t *)out)[k] = value != 0.0; break;
        }
    }
}

static void tg_pad_fwd(struct tg_tnode *n)
{
    size_t es = tg_dtype_size(n->out.dtype);
    const char *x = n->in[0].buf->data;
    char *o = n->out.buf->data;
    tg_pad_runs p = tg_pad_plan(n);
    int64_t lin = n->in[0].ndim ? n->in[0].shape[n->in[0].ndim - 1] : 1;
    tg_pad_fill(o, n->out.dtype, n->out.numel, n->dp[0]);
    for (int64_t r = 0; r < p.rows; r++) {
        int64_t dst = tg_pad_row(n, &p, r);
        if (dst >= 0)
            memcpy(o + (size_t)dst * es, x + (size_t)(r * lin + p.first) * es, (size_t)p.len * es);
    }
}

/* ------------------------------------------------------------------------ */
/* Typed kernels                                                             */

/* one loop per op (the switch outside it, so that simple bodies vectorise); v is x[k] */
#define TG_ACT_EACH(T, BODY) for (int64_t k = 0; k < N; k++) { T v = x[k]; BODY; } break;

#define TG_DEFINE_ACT(T, SFX, EXP, EXPM1, LOG1P, ERF, TANH, FABS)                        \
static inline T tg_gelu_##SFX(T x, int tanh_approx)                                      \
{                                                                                        \
    if (tanh_approx) {                                                                   \
        T inner = (T)TG_GELU_TANH_BETA * (x + (T)TG_GELU_KAPPA * (x * x * x));           \
        return (T)0.5 * x * ((T)1 + TANH(inner));                                        \
    }                                                                                    \
    return x * (T)0.5 * ((T)1 + ERF(x * (T)TG_SQRT1_2));                                 \
}                                                                                        \
static inline T tg_gelu_grad_##SFX(T x, int tanh_approx)                                 \
{                                                                                        \
    if (tanh_approx) {                                                                   \
        T x_sq = x * x, inner = (T)TG_GELU_TANH_BETA * (x + (T)TG_GELU_KAPPA * (x_sq * x)); \
        T th = TANH(inner);                                                              \
        T right_d = (T)0.5 * x * ((T)1 - th * th) *                                      \
                    ((T)TG_GELU_TANH_BETA * ((T)1 + (T)(3 * TG_GELU_KAPPA) * x_sq));     \
        return (T)0.5 * ((T)1 + th) + right_d;                                           \
    }                                                                                    \
    T cdf = (T)0.5 * ((T)1 + ERF(x * (T)TG_SQRT1_2));                                    \
    return cdf + x * ((T)TG_GELU_PDF * EXP(x * x * (T)-0.5));                            \
}                                                                                        \
static void tg_act_un_fwd_##SFX(uint8_t op, struct tg_tnode *n)                          \
{                                                                                        \
    const T *x = n->in[0].buf->data;                                                     \
    T *o = n->out.buf->data;                                                             \
    int64_t N = n->out.numel;                                                            \
    T a = (T)n->dp[0], b = (T)n->dp[1];                                                  \
    switch (op) {                                                                        \
    case TT_ERF: TG_ACT_EACH(T, o[k] = ERF(v))                                           \
    case TT_GELU:                                                                        \
        if (n->ip[0]) { TG_ACT_EACH(T, o[k] = tg_gelu_##SFX(v, 1)) }                     \
        TG_ACT_EACH(T, o[k] = tg_gelu_##SFX(v, 0))                                       \
    case TT_SILU: TG_ACT_EACH(T, o[k] = v / ((T)1 + EXP(-v)))                            \
    case TT_LEAKY_RELU: TG_ACT_EACH(T, o[k] = v > (T)0 ? v : v * a)                      \
    case TT_ELU: TG_ACT_EACH(T, o[k] = v <= (T)0 ? EXPM1(v) * a : v)                     \
    default: TG_ACT_EACH(T, o[k] = v * a > b ? v : LOG1P(EXP(v * a)) / a)  /* softplus */ \
    }                                                                                    \
}                                                                                        \
static void tg_act_un_bwd_##SFX(uint8_t op, struct tg_tnode *n, const T *g, T *gx)       \
{                                                                                        \
    const T *x = n->in[0].buf->data;                                                     \
    int64_t N = n->out.numel;                                                            \
    T a = (T)n->dp[0], b = (T)n->dp[1];                                                  \
    switch (op) {                                                                        \
    case TT_ERF: TG_ACT_EACH(T, gx[k] += (T)TG_2_SQRTPI * EXP(-(v * v)) * g[k])          \
    case TT_GELU:                                                                        \
        if (n->ip[0]) { TG_ACT_EACH(T, gx[k] += g[k] * tg_gelu_grad_##SFX(v, 1)) }       \
        TG_ACT_EACH(T, gx[k] += g[k] * tg_gelu_grad_##SFX(v, 0))                         \
    case TT_SILU:                                                                        \
        TG_ACT_EACH(T, T s = (T)1 / ((T)1 + EXP(-v)); gx[k] += g[k] * s * ((T)1 + v * ((T)1 - s))) \
    case TT_LEAKY_RELU: TG_ACT_EACH(T, gx[k] += v > (T)0 ? g[k] : g[k] * a)              \
    case TT_ELU: TG_ACT_EACH(T, gx[k] += v <= (T)0 ? g[k] * a * EXP(v) : g[k])           \
    default: /* softplus */                                                              \
        TG_ACT_EACH(T, T z = EXP(v * a); gx[k] += v * a > b ? g[k] : g[k] * z / (z + (T)1)) \
    }                                                                                    \
}                                                                                        \
/* torch's log_sigmoid: min(x, 0) - log1p(exp(-|x|)) */                                  \
static inline T tg_log_sigmoid_##SFX(T x)                                                \
{                                                                                        \
    return (x < (T)0 ? x : (T)0) - LOG1P(EXP(-FABS(x)));                                 \
}                                                                                        \
static inline T tg_pointwise_loss_##SFX(const struct tg_tnode *n, int64_t k)             \
{                                                                                        \
    const T *x = n->in[0].buf->data, *t = n->in[1].buf->data;                            \
    T c = (T)n->dp[0];                                                                   \
    T z = FABS(x[k] - t[k]);                                                             \
    if (n->ip[1]) return z < c ? (T)0.5 * z * z : c * (z - (T)0.5 * c);   /* huber */    \
    return z < c ? (T)0.5 * z * z / c : z - (T)0.5 * c;                  /* smooth l1 */ \
}                                                                                        \
static inline T tg_bce_logits_term_##SFX(const struct tg_tnode *n, int64_t k)            \
{                                                                                        \
    const T *x = n->in[0].buf->data, *t = n->in[1].buf->data;                            \
    const T *w = n->aux ? n->aux->data : NULL;                                           \
    const T *pw = n->ip[2] ? (n->ip[1] ? w + n->in[0].numel : w) : NULL;                 \
    T ls = tg_log_sigmoid_##SFX(x[k]);                                                   \
    if (pw) ls *= (pw[k] - (T)1) * t[k] + (T)1;                                          \
    T l = ((T)1 - t[k]) * x[k] - ls;                                                     \
    return n->ip[1] ? l * w[k] : l;                                                      \
}                                                                                        \
static int tg_act_loss_fwd_##SFX(uint8_t op, struct tg_tnode *n)                         \
{                                                                                        \
    int64_t N = n->in[0].numel;                                                          \
    T *l = n->ip[0] == 2 ? n->out.buf->data : malloc((size_t)(N > 0 ? N : 1) * sizeof(T)); \
    if (l == NULL) return -1;                                                            \
    for (int64_t k = 0; k < N; k++)                                                      \
        l[k] = op == TT_SMOOTH_L1 ? tg_pointwise_loss_##SFX(n, k)                        \
                                  : tg_bce_logits_term_##SFX(n, k);                      \
    if (n->ip[0] != 2) {                                                                 \
        T s = tg_sum_##SFX(l, N);                                                        \
        free(l);                                                                         \
        ((T *)n->out.buf->data)[0] = n->ip[0] == 1 ? s / (T)N : s;                       \
    }                                                                                    \
    return 0;                                                                            \
}                                                                                        \
/* torch's smooth_l1/huber_loss_backward (one sign flipped for the target) */            \
static void tg_pointwise_loss_bwd_##SFX(struct tg_tnode *n, const T *g, T *gx, T *gt)    \
{                                                                                        \
    const T *x = n->in[0].buf->data, *t = n->in[1].buf->data;                            \
    int64_t N = n->in[0].numel;                                                          \
    T c = (T)n->dp[0], norm = n->ip[0] == 1 ? (T)(1.0 / (double)N) : (T)1;               \
    int huber = n->ip[1] != 0;                                                           \
    for (int64_t k = 0; k < N; k++) {                                                    \
        T dy = n->ip[0] == 2 ? g[k] : g[0];                                              \
        for (int side = 0; side < 2; side++) {                                           \
            T *out = side ? gt : gx;                                                     \
            if (out == NULL) continue;                                                   \
            T d = side ? t[k] - x[k] : x[k] - t[k], r;                                   \
            if (d <= -c) r = huber ? -norm * dy * c : -norm * dy;                        \
            else if (d >= c) r = huber ? norm * dy * c : norm * dy;                      \
            else r = huber ? norm * d * dy : norm * d * dy / c;                          \
            out[k] += r;                                                                 \
        }                                                                                \
    }                                                                                    \
}                                                                                        \
/* torch's binary_cross_entropy_with_logits_backward and its target backward */          \
static void tg_bce_logits_bwd_##SFX(struct tg_tnode *n, const T *g, T *gx, T *gt)        \
{                                                                                        \
    const T *x = n->in[0].buf->data, *t = n->in[1].buf->data;                            \
    const T *w = n->ip[1] ? n->aux->data : NULL;                                         \
    const T *pw = n->ip[2] ? (const T *)n->aux->data + (w ? n->in[0].numel : 0) : NULL;  \
    int64_t N = n->in[0].numel;                                                          \
    int mean = n->ip[0] == 1;                                                            \
    for (int64_t k = 0; k < N; k++) {                                                    \
        T dy = n->ip[0] == 2 ? g[k] : g[0];                                              \
        if (gx) {                                                                        \
            T s = (T)1 / ((T)1 + EXP(-x[k])), r;                                         \
            if (pw) { T pt = pw[k] * t[k]; r = (pt + (T)1 - t[k]) * s - pt; }            \
            else r = s - t[k];                                                           \
            r = r * dy;                                                                  \
            if (w) r = r * w[k];                                                         \
            gx[k] += mean ? r / (T)N : r;                                                \
        }                                                                                \
        if (gt) {                                                                        \
            T r = pw ? (tg_log_sigmoid_##SFX(-x[k]) - tg_log_sigmoid_##SFX(x[k]) * pw[k]) * dy \
                     : -x[k] * dy;                                                       \
            if (w) r = r * w[k];                                                         \
            gt[k] += mean ? r / (T)N : r;                                                \
        }                                                                                \
    }                                                                                    \
}                                                                                        \
static void tg_pad_bwd_##SFX(struct tg_tnode *n, const T *g, T *gx)                      \
{                                                                                        \
    tg_pad_runs p = tg_pad_plan(n);                                                      \
    int64_t lin = n->in[0].ndim ? n->in[0].shape[n->in[0].ndim - 1] : 1;                 \
    for (int64_t r = 0; r < p.rows; r++) {                                               \
        int64_t dst = tg_pad_row(n, &p, r);                                              \
        if (dst < 0) continue;                                                           \
        T *gr = gx + r * lin + p.first;                                                  \
        for (int64_t c = 0; c < p.len; c++) gr[c] += g[dst + c];                         \
    }                                                                                    \
}

TG_DEFINE_ACT(float, f32, expf, expm1f, log1pf, erff, tanhf, fabsf)
TG_DEFINE_ACT(double, f64, exp, expm1, log1p, erf, tanh, fabs)

int tg_act_forward(struct tg_tnode *n, uint8_t op)
{
    if (!tg_act_params_ok(n, op)) return -1;
    if (op == TT_PAD) {
        tg_pad_fwd(n);
        return 0;
    }
    int f32 = n->out.dtype == TG_F32;
    if (op == TT_SMOOTH_L1 || op == TT_BCE_LOGITS)
        return f32 ? tg_act_loss_fwd_f32(op, n) : tg_act_loss_fwd_f64(op, n);
    if (f32) tg_act_un_fwd_f32(op, n); else tg_act_un_fwd_f64(op, n);
    return 0;
}

void tg_act_backward(struct tg_tnode *n, uint8_t op, const void *g, void *ga, void *gb)
{
    int f32 = n->out.dtype == TG_F32;
    switch (op) {
    case TT_SMOOTH_L1:
        if (f32) tg_pointwise_loss_bwd_f32(n, g, ga, gb);
        else tg_pointwise_loss_bwd_f64(n, g, ga, gb);
        return;
    case TT_BCE_LOGITS:
        if (f32) tg_bce_logits_bwd_f32(n, g, ga, gb); else tg_bce_logits_bwd_f64(n, g, ga, gb);
        return;
    default:
        break;
    }
    if (ga == NULL) return;
    if (op == TT_PAD) {
        if (f32) tg_pad_bwd_f32(n, g, ga); else tg_pad_bwd_f64(n, g, ga);
        return;
    }
    if (f32) tg_act_un_bwd_f32(op, n, g, ga); else tg_act_un_bwd_f64(op, n, g, ga);
}
