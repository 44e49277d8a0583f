/* Optimizer updates: torch.optim's SGD and Adam formulas applied in place to
 * flat buffers of n elements, in the parameter's precision (dtype TG_F32 or
 * TG_F64 of tg_tensor.h). Plain C, no Python.h; src/tapegrad/_optim.py
 * specifies the formulas and the reference engine's _optim hooks match them. */
#ifndef TG_OPTIM_H
#define TG_OPTIM_H

#include <stdint.h>

/* param -= lr * d, with d the gradient plus weight decay and (Nesterov) momentum;
 * momentum_buf (n elements of buf_dtype, which may differ from the parameter's after
 * module.double(): torch's promotion then) is written on the first step and updated
 * after. The caller has checked that every buffer holds n elements. */
void tg_sgd_update(int dtype, int buf_dtype, void *param, const void *grad,
                   void *momentum_buf, int64_t n, double lr, double momentum,
                   double dampening, double weight_decay, int nesterov, int first_step);

/* One Adam step at step number `step` (1 on the first), updating the moment
 * buffers exp_avg and exp_avg_sq (n elements each, of the parameter's dtype: the
 * caller has checked) in place. */
void tg_adam_update(int dtype, void *param, const void *grad, void *exp_avg, void *exp_avg_sq,
                    int64_t n, double lr, double beta1, double beta2, double eps,
                    double weight_decay, int64_t step);

#endif
