/* Optimizer updates over flat parameter buffers (tapegrad.optim's SGD, Adam/AdamW,
 * RMSprop and Adagrad steps, called through the engine's _*_update hooks). See
 * tg_optim.h. */
#include "tg_optim.h"
#include "tg_tensor.h"

#include <math.h>
#include <stdint.h>

/* ------------------------------------------------------------------------ */
/* torch.optim's single-tensor updates in the parameter's precision, op by op as
 * torch's CPU kernels round them (tapegrad._contract writes them out):
 *   add(x, alpha=a) and addcmul(s, x, y, value=c)  -> fma(a, x, s), fma(c * x, y, s)
 *   lerp(s, e, w)                                   -> fma(w, e - s, s) for |w| < 0.5,
 *                                                      fma(w - 1, e - s, e) otherwise
 *   addcdiv(s, x, y, value=c)                       -> s + (c * x) / y
 * with every Python-number coefficient rounded to the parameter's dtype first.
 * FMA: rounded once. float32 goes through double, where the product is exact (as the
 * reference engine does); float64 uses the C library's fma. */

static inline float tg_fma_f32(float a, float b, float c)
{
    return (float)((double)a * (double)b + (double)c);
}
static inline double tg_fma_f64(double a, double b, double c) { return fma(a, b, c); }

/* fma() is a library call unless the compiler may use the FMA instruction: on x86-64
 * with GCC or clang, a second copy of each float64 kernel is compiled for CPUs with
 * FMA (target attribute) and chosen at run time; the results are the same. */
#if defined(__GNUC__) && defined(__x86_64__) && !defined(TG_NO_FMA_CLONES)
#define TG_FMA_CLONES 1
#define TG_FMA_TARGET __attribute__((target("fma")))
TG_FMA_TARGET static inline double tg_fma_f64hw(double a, double b, double c)
{
    return fma(a, b, c);
}
static int tg_cpu_has_fma(void)
{
    static int has = -1;
    if (has < 0) {
        __builtin_cpu_init();
        has = __builtin_cpu_supports("fma") ? 1 : 0;
    }
    return has;
}
#else
#define TG_FMA_CLONES 0
#endif

/* SGD over a parameter of type T whose momentum buffer has type B, computing in C:
 * T when B is T, else double (torch's type promotion: a momentum buffer made before
 * module.double() or .float() stays in its dtype, and torch's in-place ops compute
 * in the promoted type and round to the buffer's / the parameter's type). */
#define TG_DEFINE_SGD(T, B, C, SFX, FMA_T, FMA_C, ATTR)                                  \
ATTR static void tg_sgd_##SFX(T *p, const T *g, B *buf, int64_t n, double lr, double mom,     \
                         double damp, double wd, int nesterov, int first, int maximize)  \
{                                                                                        \
    T twd = (T)wd;                                                                       \
    B bmom = (B)mom;                                                                     \
    C cmom = (C)mom, cdamp = (C)(1.0 - damp), clr = (C)(-lr);                            \
    for (int64_t k = 0; k < n; k++) {                                                    \
        T d = maximize ? -g[k] : g[k];                                                   \
        if (wd != 0.0) d = FMA_T(p[k], twd, d);                                          \
        C step = (C)d;                                                                   \
        if (mom != 0.0) {                                                                \
            buf[k] = first ? (B)d : (B)FMA_C((C)d, cdamp, (C)(buf[k] * bmom));           \
            step = nesterov ? FMA_C((C)buf[k], cmom, (C)d) : (C)buf[k];                  \
        }                                                                                \
        p[k] = (T)FMA_C(step, clr, (C)p[k]);                                             \
    }                                                                                    \
}

/* torch.lerp(start, end, weight) with a number weight w (w1 = w - 1). */
#define TG_LERP(SFX, start, end, w, w1)                                                  \
    (fabs((double)(w)) < 0.5 ? tg_fma_##SFX(w, (end) - (start), start)                    \
                             : tg_fma_##SFX(w1, (end) - (start), end))

/* torch.maximum: NaN wins. */
#define TG_MAXIMUM(a, b) (isnan(a) ? (a) : isnan(b) ? (b) : (a) > (b) ? (a) : (b))

#define TG_DEFINE_ADAM(T, SFX, SQRT, ATTR)                                               \
ATTR static void tg_adam_##SFX(T *p, const T *g, T *m, T *v, T *vmax, int64_t n,              \
                          const tg_adam_opts *o)                                         \
{                                                                                        \
    double bc1 = 1.0 - pow(o->beta1, (double)o->step);                                   \
    double bc2 = 1.0 - pow(o->beta2, (double)o->step);                                   \
    T neg_step = (T)(-(o->lr / bc1)), bc2_sqrt = (T)pow(bc2, 0.5), teps = (T)o->eps;     \
    T w = (T)(1.0 - o->beta1), w1 = w - (T)1, tb2 = (T)o->beta2;                         \
    T tb2c = (T)(1.0 - o->beta2), twd = (T)o->weight_decay;                              \
    T decay = (T)(1.0 - o->lr * o->weight_decay);                                        \
    int l2 = o->weight_decay != 0.0 && !o->decoupled;                                    \
    int decoupled = o->weight_decay != 0.0 && o->decoupled;                              \
    for (int64_t k = 0; k < n; k++) {                                                    \
        T d = o->maximize ? -g[k] : g[k];                                                \
        if (decoupled) p[k] = p[k] * decay;                                              \
        if (l2) d = tg_fma_##SFX(p[k], twd, d);                                          \
        m[k] = TG_LERP(SFX, m[k], d, w, w1);                                             \
        v[k] = tg_fma_##SFX(d * tb2c, d, v[k] * tb2);                                    \
        T second = v[k];                                                                 \
        if (vmax != NULL) second = vmax[k] = TG_MAXIMUM(vmax[k], v[k]);                  \
        T denom = SQRT(second) / bc2_sqrt + teps;                                        \
        p[k] = p[k] + (neg_step * m[k]) / denom;                                         \
    }                                                                                    \
}

#define TG_DEFINE_RMSPROP(T, SFX, SQRT, ATTR)                                            \
ATTR static void tg_rmsprop_##SFX(T *p, const T *g, T *sq, T *ga, T *buf, int64_t n,          \
                             const tg_rmsprop_opts *o)                                   \
{                                                                                        \
    T ta = (T)o->alpha, tac = (T)(1.0 - o->alpha), tac1 = tac - (T)1;                    \
    T teps = (T)o->eps, twd = (T)o->weight_decay, tmom = (T)o->momentum;                 \
    T neg_lr = (T)(-o->lr);                                                              \
    for (int64_t k = 0; k < n; k++) {                                                    \
        T d = o->maximize ? -g[k] : g[k];                                                \
        if (o->weight_decay != 0.0) d = tg_fma_##SFX(p[k], twd, d);                      \
        sq[k] = tg_fma_##SFX(tac * d, d, sq[k] * ta);                                    \
        T avg;                                                                           \
        if (ga != NULL) {                                                                \
            ga[k] = TG_LERP(SFX, ga[k], d, tac, tac1);                                   \
            avg = SQRT(tg_fma_##SFX(-ga[k], ga[k], sq[k]));                              \
        } else {                                                                         \
            avg = SQRT(sq[k]);                                                           \
        }                                                                                \
        avg = avg + teps;                                                                \
        if (buf != NULL) {                                                               \
            buf[k] = buf[k] * tmom + d / avg;                                            \
            p[k] = tg_fma_##SFX(buf[k], neg_lr, p[k]);                                   \
        } else {                                                                         \
            p[k] = p[k] + (neg_lr * d) / avg;                                            \
        }                                                                                \
    }                                                                                    \
}

#define TG_DEFINE_ADAGRAD(T, SFX, SQRT, ATTR)                                            \
ATTR static void tg_adagrad_##SFX(T *p, const T *g, T *sum, int64_t n, double clr,            \
                             double eps, double wd, int maximize)                        \
{                                                                                        \
    T neg_clr = (T)(-clr), teps = (T)eps, twd = (T)wd;                                   \
    for (int64_t k = 0; k < n; k++) {                                                    \
        T d = maximize ? -g[k] : g[k];                                                   \
        if (wd != 0.0) d = tg_fma_##SFX(p[k], twd, d);                                   \
        sum[k] = tg_fma_##SFX(d, d, sum[k]);                                             \
        p[k] = p[k] + (neg_clr * d) / (SQRT(sum[k]) + teps);                             \
    }                                                                                    \
}

#define TG_NO_ATTR
TG_DEFINE_SGD(float, float, float, f32, tg_fma_f32, tg_fma_f32, TG_NO_ATTR)
TG_DEFINE_SGD(double, double, double, f64, tg_fma_f64, tg_fma_f64, TG_NO_ATTR)
TG_DEFINE_SGD(float, double, double, f32_f64, tg_fma_f32, tg_fma_f64, TG_NO_ATTR)
TG_DEFINE_SGD(double, float, double, f64_f32, tg_fma_f64, tg_fma_f64, TG_NO_ATTR)
TG_DEFINE_ADAM(float, f32, sqrtf, TG_NO_ATTR)
TG_DEFINE_ADAM(double, f64, sqrt, TG_NO_ATTR)
TG_DEFINE_RMSPROP(float, f32, sqrtf, TG_NO_ATTR)
TG_DEFINE_RMSPROP(double, f64, sqrt, TG_NO_ATTR)
TG_DEFINE_ADAGRAD(float, f32, sqrtf, TG_NO_ATTR)
TG_DEFINE_ADAGRAD(double, f64, sqrt, TG_NO_ATTR)
#if TG_FMA_CLONES
TG_DEFINE_SGD(double, double, double, f64hw, tg_fma_f64hw, tg_fma_f64hw, TG_FMA_TARGET)
TG_DEFINE_ADAM(double, f64hw, sqrt, TG_FMA_TARGET)
TG_DEFINE_RMSPROP(double, f64hw, sqrt, TG_FMA_TARGET)
TG_DEFINE_ADAGRAD(double, f64hw, sqrt, TG_FMA_TARGET)
/* the float64 kernel: the FMA copy when the CPU has the instruction */
#define TG_F64(name) (tg_cpu_has_fma() ? name##_f64hw : name##_f64)
#else
#define TG_F64(name) name##_f64
#endif

/* The updates run under the flush-denormal mode (tg_fpmode.h), as torch's kernels do
 * after torch.set_flush_denormal(True); every result is stored before it is left. */
void tg_sgd_update(int dtype, int buf_dtype, void *param, const void *grad,
                   void *momentum_buf, int64_t n, double lr, double momentum,
                   double dampening, double weight_decay, int nesterov, int first_step,
                   int maximize)
{
    unsigned saved = tg_fpmode_enter();
    if (momentum == 0.0 || momentum_buf == NULL) buf_dtype = dtype;   /* no buffer read */
    if (dtype == TG_F32 && buf_dtype == TG_F32)
        tg_sgd_f32(param, grad, momentum_buf, n, lr, momentum, dampening, weight_decay,
                   nesterov, first_step, maximize);
    else if (dtype == TG_F32)
        tg_sgd_f32_f64(param, grad, momentum_buf, n, lr, momentum, dampening, weight_decay,
                       nesterov, first_step, maximize);
    else if (buf_dtype == TG_F32)
        tg_sgd_f64_f32(param, grad, momentum_buf, n, lr, momentum, dampening, weight_decay,
                       nesterov, first_step, maximize);
    else
        TG_F64(tg_sgd)(param, grad, momentum_buf, n, lr, momentum, dampening, weight_decay,
                       nesterov, first_step, maximize);
    tg_fpmode_leave(saved);
}

void tg_adam_update(int dtype, void *param, const void *grad, void *exp_avg,
                    void *exp_avg_sq, void *max_exp_avg_sq, int64_t n,
                    const tg_adam_opts *opts)
{
    unsigned saved = tg_fpmode_enter();
    if (dtype == TG_F32)
        tg_adam_f32(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, n, opts);
    else
        TG_F64(tg_adam)(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, n, opts);
    tg_fpmode_leave(saved);
}

void tg_rmsprop_update(int dtype, void *param, const void *grad, void *square_avg,
                       void *grad_avg, void *momentum_buf, int64_t n,
                       const tg_rmsprop_opts *opts)
{
    unsigned saved = tg_fpmode_enter();
    if (dtype == TG_F32)
        tg_rmsprop_f32(param, grad, square_avg, grad_avg, momentum_buf, n, opts);
    else
        TG_F64(tg_rmsprop)(param, grad, square_avg, grad_avg, momentum_buf, n, opts);
    tg_fpmode_leave(saved);
}

void tg_adagrad_update(int dtype, void *param, const void *grad, void *state_sum,
                       int64_t n, double clr, double eps, double weight_decay, int maximize)
{
    unsigned saved = tg_fpmode_enter();
    if (dtype == TG_F32)
        tg_adagrad_f32(param, grad, state_sum, n, clr, eps, weight_decay, maximize);
    else
        TG_F64(tg_adagrad)(param, grad, state_sum, n, clr, eps, weight_decay, maximize);
    tg_fpmode_leave(saved);
}
