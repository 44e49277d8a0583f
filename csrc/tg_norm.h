/* Normalisation kernels (issue 12 item 4): batch norm and layer norm, the
 * normalised input times an optional weight. Dispatched from tg_tensor.c for
 * the codes tg_norm_owns() claims; plain C, no Python.h.
 *
 * TT_BATCH_NORM sees in[0] as (ip[0] N, ip[1] C, ip[2] L): a group per channel
 * c over its N * L elements, weight in[1] of C elements. TT_LAYER_NORM sees it as
 * (ip[0] rows, ip[1] D): a group per row, weight of D elements. n->aux holds each
 * group's mean, then its invstd = 1 / sqrt(var + dp[0]), then its biased variance
 * (3 * groups doubles): computed by the forward from the batch unless TT_BATCH_NORM's
 * ip[3] is 0, when mean and invstd are given (eval: the running statistics); on the
 * batch's statistics, a forward also updates n->running[0] / [1] (the running mean and
 * variance, momentum dp[1]; tg_norm_update_running; ip[4] 1 skips it: a replay's
 * recording run, whose program's forward updates them), so a replay does too. in[1].buf NULL:
 * no weight. Statistics accumulate in double; the output is in the input's dtype. */
#ifndef TG_NORM_H
#define TG_NORM_H

#include "tg_tensor.h"

int tg_norm_owns(uint8_t op);
int tg_norm_dtypes_ok(const struct tg_tnode *n);
/* Forward: 0, or -1 when the parameters do not fit the operands (nothing written). */
int tg_norm_forward(struct tg_tnode *n, uint8_t op);
/* Backward: add the input's (ga) and the weight's (gb) gradients (NULL: not needed).
 * 0, or -1 when out of memory. */
int tg_norm_backward(struct tg_tnode *n, uint8_t op, const void *g, void *ga, void *gb);

/* After a TT_BATCH_NORM forward on the batch's statistics (aux: its 3 * groups doubles,
 * count elements per group): the running buffers (NULL: none; dtype F32 or F64, groups
 * elements) become momentum * batch + (1 - momentum) * running, the variance unbiased
 * (count / (count - 1)), as torch; their versions bump. 0, or -1 when the buffers do
 * not fit (nothing written). */
int tg_norm_update_running(const tg_buf *aux, int64_t groups, double count, tg_buf *mean,
                           tg_buf *var, int dtype, double momentum);

#endif
