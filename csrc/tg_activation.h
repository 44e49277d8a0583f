/* Activation, loss and pad kernels (issue 12): erf, gelu, silu, leaky_relu, elu,
 * softplus; smooth_l1_loss / huber_loss, binary_cross_entropy_with_logits; constant
 * pad. Dispatched from tg_tensor.c's forward/backward for the codes tg_act_owns()
 * claims; plain C, no Python.h. Formulas are torch's CPU kernels', in the tensor's
 * own precision. */
#ifndef TG_ACTIVATION_H
#define TG_ACTIVATION_H

#include "tg_tensor.h"

/* 1 when op's kernel lives in tg_activation.c. */
int tg_act_owns(uint8_t op);
/* 1 when n's operands have the dtypes op's kernel was written for. */
int tg_act_dtypes_ok(const struct tg_tnode *n, uint8_t op);
/* 1 when op's backward reads its saved operands (version checks). */
int tg_act_reads_inputs(uint8_t op);
/* Forward: 0, or -1 when the parameters do not fit the operands (nothing written). */
int tg_act_forward(struct tg_tnode *n, uint8_t op);
/* Backward: add op's gradient contributions to ga / gb (NULL: not needed). */
void tg_act_backward(struct tg_tnode *n, uint8_t op, const void *g, void *ga, void *gb);

#endif
