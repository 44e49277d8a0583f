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

/* SGD over a parameter of type T whose momentum buffer has type B, computing in C:
 * T when B is T, else double (torch's type promotion: a momentum buffer made before
 * module.double() or .float() stays in its dtype, and torch's in-place ops compute
 * in the promoted type and round to the buffer's / the parameter's type). */
#define TG_DEFINE_SGD(T, B, C, SFX, FMA_T, FMA_C)                                        \
static void tg_sgd_##SFX(T *p, const T *g, B *buf, int64_t n, double lr, double mom,     \
                         double damp, double wd, int nesterov, int first)                \
{                                                                                        \
    T twd = (T)wd;                                                                       \
    B bmom = (B)mom;                                                                     \
    C cmom = (C)mom, cdamp = (C)(1.0 - damp), clr = (C)(-lr);                            \
    for (int64_t k = 0; k < n; k++) {                                                    \
        T d = g[k];                                                                      \
        if (wd != 0.0) d = FMA_T(p[k], twd, d);                                          \
        C step = (C)d;                                                                   \
        if (mom != 0.0) {                                                                \
            buf[k] = first ? (B)d : (B)FMA_C((C)d, cdamp, (C)(buf[k] * bmom));           \
            step = nesterov ? FMA_C((C)buf[k], cmom, (C)d) : (C)buf[k];                  \
        }                                                                                \
        p[k] = (T)FMA_C(step, clr, (C)p[k]);                                             \
    }                                                                                    \
}

#define TG_DEFINE_ADAM(T, SFX, SQRT)                                                     \
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

TG_DEFINE_SGD(float, float, float, f32, tg_fma_f32, tg_fma_f32)
TG_DEFINE_SGD(double, double, double, f64, tg_fma_f64, tg_fma_f64)
TG_DEFINE_SGD(float, double, double, f32_f64, tg_fma_f32, tg_fma_f64)
TG_DEFINE_SGD(double, float, double, f64_f32, tg_fma_f64, tg_fma_f64)
TG_DEFINE_ADAM(float, f32, sqrtf)
TG_DEFINE_ADAM(double, f64, sqrt)

void tg_sgd_update(int dtype, int buf_dtype, void *param, const void *grad,
                   void *momentum_buf, int64_t n, double lr, double momentum,
                   double dampening, double weight_decay, int nesterov, int first_step)
{
    if (momentum == 0.0 || momentum_buf == NULL) buf_dtype = dtype;   /* no buffer read */
    if (dtype == TG_F32 && buf_dtype == TG_F32)
        tg_sgd_f32(param, grad, momentum_buf, n, lr, momentum, dampening, weight_decay,
                   nesterov, first_step);
    else if (dtype == TG_F32)
        tg_sgd_f32_f64(param, grad, momentum_buf, n, lr, momentum, dampening, weight_decay,
                       nesterov, first_step);
    else if (buf_dtype == TG_F32)
        tg_sgd_f64_f32(param, grad, momentum_buf, n, lr, momentum, dampening, weight_decay,
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
