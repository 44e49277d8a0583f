/* Normalisation kernels: see tg_norm.h. The gradients are torch's
 * native_batch_norm_backward / native_layer_norm_backward:
 *   gx = invstd * (gh - mean(gh) - xhat * mean(gh * xhat)),  gh = g * weight,
 *   (gx = gh * invstd with given statistics), gw = sum(g * xhat) over the group. */
#include "tg_norm.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

int tg_norm_owns(uint8_t op)
{
    return op == TT_BATCH_NORM || op == TT_LAYER_NORM;
}

int tg_norm_dtypes_ok(const struct tg_tnode *n)
{
    int dt = n->out.dtype;
    return (dt == TG_F32 || dt == TG_F64) && n->in[0].dtype == dt &&
           (n->in[1].buf == NULL || n->in[1].dtype == dt);
}

/* the layout against the operands' sizes and the statistics buffer */
static int tg_norm_params_ok(const struct tg_tnode *n, uint8_t op, int64_t *groups,
                             int64_t *wsize)
{
    int64_t a = n->ip[0], b = n->ip[1], c = op == TT_BATCH_NORM ? n->ip[2] : 1;
    if (a < 0 || b < 0 || c < 0 || a * b * c != n->in[0].numel ||
        n->out.numel != n->in[0].numel)
        return 0;
    *groups = op == TT_BATCH_NORM ? b : a;
    *wsize = b;
    if (n->in[1].buf != NULL && n->in[1].numel != b) return 0;
    return n->aux != NULL && n->aux->nbytes >= (size_t)(3 * *groups) * sizeof(double);
}

/* element (i, j, k) of the (outer, groups-or-D, inner) layout: group and weight index */
#define TG_NORM_LOOP(BODY)                                                                \
    if (op == TT_BATCH_NORM && n->ip[2] == 1) {       /* (N, C): c innermost */          \
        for (int64_t i = 0; i < n->ip[0]; i++)                                            \
            for (int64_t c = 0; c < n->ip[1]; c++) {                                      \
                int64_t e = i * n->ip[1] + c, grp = c, wi = c;                            \
                BODY                                                                      \
            }                                                                             \
    } else if (op == TT_BATCH_NORM) {                                                     \
        for (int64_t i = 0; i < n->ip[0]; i++)                                            \
            for (int64_t c = 0; c < n->ip[1]; c++)                                        \
                for (int64_t k = 0; k < n->ip[2]; k++) {                                  \
                    int64_t e = (i * n->ip[1] + c) * n->ip[2] + k, grp = c, wi = c;       \
                    BODY                                                                  \
                }                                                                         \
    } else {                                                                              \
        for (int64_t r = 0; r < n->ip[0]; r++)                                            \
            for (int64_t d = 0; d < n->ip[1]; d++) {                                      \
                int64_t e = r * n->ip[1] + d, grp = r, wi = d;                            \
                BODY                                                                      \
            }                                                                             \
    }

#define TG_DEFINE_NORM(T, SFX)                                                            \
static void tg_norm_fwd_##SFX(struct tg_tnode *n, uint8_t op, int64_t groups)            \
{                                                                                         \
    const T *x = n->in[0].buf->data, *w = n->in[1].buf ? n->in[1].buf->data : NULL;      \
    T *y = n->out.buf->data;                                                              \
    double *mean = n->aux->data, *invstd = mean + groups;                                 \
    int batch = op != TT_BATCH_NORM || n->ip[3];                                          \
    if (batch) {                                                                          \
        double count = groups ? (double)n->in[0].numel / (double)groups : 0.0;            \
        for (int64_t q = 0; q < groups; q++) { mean[q] = 0.0; invstd[q] = 0.0; }          \
        TG_NORM_LOOP(mean[grp] += x[e]; (void)wi;)                                        \
        for (int64_t q = 0; q < groups; q++) mean[q] /= count;                            \
        TG_NORM_LOOP(double dv = x[e] - mean[grp]; invstd[grp] += dv * dv; (void)wi;)     \
        for (int64_t q = 0; q < groups; q++) {                                            \
            mean[2 * groups + q] = invstd[q] / count;                                     \
            invstd[q] = 1.0 / sqrt(invstd[q] / count + n->dp[0]);                         \
        }                                                                                 \
    }                                                                                     \
    TG_NORM_LOOP(T h = (T)(x[e] - (T)mean[grp]) * (T)invstd[grp];                         \
                 y[e] = w ? h * w[wi] : h;)                                               \
}                                                                                         \
static void tg_norm_bwd_##SFX(struct tg_tnode *n, uint8_t op, int64_t groups, double *sums, \
                              const T *g, T *gx, T *gw)                                   \
{                                                                                         \
    const T *x = n->in[0].buf->data, *w = n->in[1].buf ? n->in[1].buf->data : NULL;      \
    const double *mean = n->aux->data, *invstd = mean + groups;                           \
    int batch = op != TT_BATCH_NORM || n->ip[3];                                          \
    if (gw) {                                                                             \
        TG_NORM_LOOP(gw[wi] += g[e] * ((T)(x[e] - (T)mean[grp]) * (T)invstd[grp]);)       \
    }                                                                                     \
    if (!gx) return;                                                                      \
    if (!batch) {                                                                         \
        TG_NORM_LOOP(gx[e] += (w ? g[e] * w[wi] : g[e]) * (T)invstd[grp];)                \
        return;                                                                           \
    }                                                                                     \
    double *sg = sums, *sgh = sums + groups;                                              \
    double count = groups ? (double)n->in[0].numel / (double)groups : 0.0;                \
    TG_NORM_LOOP(double gh = w ? (double)g[e] * w[wi] : (double)g[e];                     \
                 sg[grp] += gh; sgh[grp] += gh * (x[e] - mean[grp]) * invstd[grp];)       \
    TG_NORM_LOOP(double gh = w ? (double)g[e] * w[wi] : (double)g[e];                     \
                 double h = (x[e] - mean[grp]) * invstd[grp];                             \
                 gx[e] += (T)(invstd[grp] * (gh - sg[grp] / count - h * sgh[grp] / count));) \
}

TG_DEFINE_NORM(float, f32)
TG_DEFINE_NORM(double, f64)

static int tg_norm_running_ok(const struct tg_tnode *n, int64_t groups)
{
    size_t need = (size_t)groups * tg_dtype_size(n->out.dtype);
    for (int k = 0; k < 2; k++)
        if (n->running[k] != NULL && n->running[k]->nbytes < need) return 0;
    return 1;
}

int tg_norm_forward(struct tg_tnode *n, uint8_t op)
{
    int64_t groups, wsize;
    if (!tg_norm_params_ok(n, op, &groups, &wsize) || !tg_norm_running_ok(n, groups))
        return -1;
    if (n->out.dtype == TG_F32) tg_norm_fwd_f32(n, op, groups);
    else tg_norm_fwd_f64(n, op, groups);
    if (op == TT_BATCH_NORM && n->ip[3] && !n->ip[4] && (n->running[0] || n->running[1]))
        tg_norm_update_running(n->aux, groups, groups ? (double)n->in[0].numel / groups : 0.0,
                               n->running[0], n->running[1], n->out.dtype, n->dp[1]);
    return 0;
}

int tg_norm_backward(struct tg_tnode *n, uint8_t op, const void *g, void *ga, void *gb)
{
    int64_t groups, wsize;
    if (!tg_norm_params_ok(n, op, &groups, &wsize)) return -1;
    if (n->in[1].buf == NULL) gb = NULL;
    double *sums = calloc((size_t)(2 * groups) + 1, sizeof(double));    /* per group */
    if (sums == NULL) return -1;
    if (n->out.dtype == TG_F32) tg_norm_bwd_f32(n, op, groups, sums, g, ga, gb);
    else tg_norm_bwd_f64(n, op, groups, sums, g, ga, gb);
    free(sums);
    return 0;
}

/* one running buffer: r = momentum * batch + (1 - momentum) * r, in double */
static void tg_norm_blend(tg_buf *r, int dtype, const double *batch, double scale,
                          int64_t groups, double momentum)
{
    for (int64_t q = 0; q < groups; q++) {
        if (dtype == TG_F32) {
            float *d = r->data;
            d[q] = (float)(momentum * batch[q] * scale + (1.0 - momentum) * (double)d[q]);
        } else {
            double *d = r->data;
            d[q] = momentum * batch[q] * scale + (1.0 - momentum) * d[q];
        }
    }
    r->version++;
}

int tg_norm_update_running(const tg_buf *aux, int64_t groups, double count, tg_buf *mean,
                           tg_buf *var, int dtype, double momentum)
{
    if (groups < 0 || aux == NULL || aux->nbytes < (size_t)(3 * groups) * sizeof(double))
        return -1;
    if (dtype != TG_F32 && dtype != TG_F64) return -1;
    size_t need = (size_t)groups * tg_dtype_size(dtype);
    if ((mean && mean->nbytes < need) || (var && var->nbytes < need)) return -1;
    const double *stats = aux->data;
    if (mean) tg_norm_blend(mean, dtype, stats, 1.0, groups, momentum);
    if (var) tg_norm_blend(var, dtype, stats + 2 * groups, count > 1 ? count / (count - 1) : 1.0,
                           groups, momentum);
    return 0;
}
