/* Optimizer updates: torch.optim's SGD, Adam/AdamW, RMSprop and Adagrad formulas
 * (their single-tensor paths) applied in place to flat buffers of n elements, in the
 * parameter's precision (dtype TG_F32 or TG_F64 of tg_tensor.h). Plain C, no
 * Python.h; tapegrad._contract specifies the formulas and the reference engine's
 * _optim hooks match them. The caller has checked that every buffer holds n
 * elements of the dtype the kernel reads. */
#ifndef TG_OPTIM_H
#define TG_OPTIM_H

#include <stdint.h>

/* param -= lr * d, with d the (negated when maximize) gradient plus weight decay and
 * (Nesterov) momentum; momentum_buf (n elements of buf_dtype, which may differ from
 * the parameter's after module.double(): torch's promotion then) is written on the
 * first step and updated after. */
void tg_sgd_update(int dtype, int buf_dtype, void *param, const void *grad,
                   void *momentum_buf, int64_t n, double lr, double momentum,
                   double dampening, double weight_decay, int nesterov, int first_step,
                   int maximize);

/* Adam and AdamW (decoupled weight decay) at step number `step` (1 on the first). */
typedef struct {
    double lr, beta1, beta2, eps, weight_decay;
    int64_t step;
    int maximize, decoupled;
} tg_adam_opts;

/* One Adam step, updating exp_avg and exp_avg_sq (and max_exp_avg_sq when not NULL:
 * amsgrad) in place. */
void tg_adam_update(int dtype, void *param, const void *grad, void *exp_avg,
                    void *exp_avg_sq, void *max_exp_avg_sq, int64_t n,
                    const tg_adam_opts *opts);

typedef struct {
    double lr, alpha, eps, weight_decay, momentum;
    int maximize;
} tg_rmsprop_opts;

/* One RMSprop step; grad_avg (centered) and momentum_buf (momentum > 0) may be NULL. */
void tg_rmsprop_update(int dtype, void *param, const void *grad, void *square_avg,
                       void *grad_avg, void *momentum_buf, int64_t n,
                       const tg_rmsprop_opts *opts);

/* One Adagrad step with the decayed rate clr = lr / (1 + (step - 1) * lr_decay). */
void tg_adagrad_update(int dtype, void *param, const void *grad, void *state_sum,
                       int64_t n, double clr, double eps, double weight_decay, int maximize);

#endif
