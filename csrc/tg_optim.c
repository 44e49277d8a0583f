/* Optimizer updates over flat parameter buffers (tapegrad.optim's SGD and Adam
 * steps, called through the engine's _sgd_update/_adam_update hooks). See tg_optim.h. */
#include "tg_optim.h"
#include "tg_tensor.h"

#include <math.h>
#include <stdint.h>

/* ------------------------------------------------------------------------ */
/* Optimizers: torch.optim's update formulas in the parameter's precision, as
 * src/tapegrad/_optim.py specifies them. FMA: a * b + c rounded once for
 * float32 (exact products in double), twice for float64, like the reference. */

static inline float tg_fma_f32(float a, float b, float c)
{
    return (float)((double)a * (double)b + (double)c);
}
static inline double tg_fma_f64(double a, double b, double c) { return a * b + c; }

#define TG_DEFINE_OPTIM(T, SFX, SQRT)                                                    \
static void tg_sgd_##SFX(T *p, const T *g, T *buf, int64_t n, double lr, double mom,     \
                         double damp, double wd, int nesterov, int first)                \
{                                                                                        \
    T twd = (T)wd, tmom = (T)mom, tdamp = (T)(1.0 - damp), tlr = (T)(-lr);               \
    for (int64_t k = 0; k < n; k++) {                                                    \
        T d = g[k];                                                                      \
        if (wd != 0.0) d = tg_fma_##SFX(p[k], twd, d);                                   \
        if (mom != 0.0) {                                                                \
            buf[k] = first ? d : tg_fma_##SFX(d, tdamp, buf[k] * tmom);                  \
            d = nesterov ? tg_fma_##SFX(buf[k], tmom, d) : buf[k];                       \
        }                                                                                \
        p[k] = tg_fma_##SFX(d, tlr, p[k]);                                               \
    }                                                                                    \
}                                                                                        \
static void tg_adam_##SFX(T *p, const T *g, T *m, T *v, int64_t n, double lr, double b1,  \
                          double b2, double eps, double wd, int64_t step)                \
{                                                                                        \
    double bc1 = 1.0 - pow(b1, (double)step), bc2 = 1.0 - pow(b2, (double)step);         \
    T neg_step = (T)(-(lr / bc1)), bc2_sqrt = (T)pow(bc2, 0.5), teps = (T)eps;           \
    T w = (T)(1.0 - b1), w1 = w - (T)1, tb2 = (T)b2, tb2c = (T)(1.0 - b2), twd = (T)wd;  \
    int small_w = fabs(1.0 - b1) < 0.5;                                                  \
    for (int64_t k = 0; k < n; k++) {                                                    \
        T d = g[k];                                                                      \
        if (wd != 0.0) d = tg_fma_##SFX(p[k], twd, d);                                   \
        m[k] = small_w ? tg_fma_##SFX(w, d - m[k], m[k]) : tg_fma_##SFX(w1, d - m[k], d); \
        v[k] = tg_fma_##SFX(d * tb2c, d, v[k] * tb2);                                    \
        T denom = SQRT(v[k]) / bc2_sqrt + teps;                                          \
        p[k] = p[k] + (neg_step * m[k]) / denom;                                         \
    }                                                                                    \
}

TG_DEFINE_OPTIM(float, f32, sqrtf)
TG_DEFINE_OPTIM(double, f64, sqrt)

void tg_sgd_update(int dtype, void *param, const void *grad, void *momentum_buf, int64_t n,
                   double lr, double momentum, double dampening, double weight_decay,
                   int nesterov, int first_step)
{
    if (dtype == TG_F32)
        tg_sgd_f32(param, grad, momentum_buf, n, lr, momentum, dampening, weight_decay,
                   nesterov, first_step);
    else
        tg_sgd_f64(param, grad, momentum_buf, n, lr, momentum, dampening, weight_decay,
                   nesterov, first_step);
}

void tg_adam_update(int dtype, void *param, const void *grad, void *exp_avg, void *exp_avg_sq,
                    int64_t n, double lr, double beta1, double beta2, double eps,
                    double weight_decay, int64_t step)
{
    if (dtype == TG_F32)
        tg_adam_f32(param, grad, exp_avg, exp_avg_sq, n, lr, beta1, beta2, eps, weight_decay,
                    step);
    else
        tg_adam_f64(param, grad, exp_avg, exp_avg_sq, n, lr, beta1, beta2, eps, weight_decay,
                    step);
}
