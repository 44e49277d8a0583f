/* More tensor kernels (issue 11 item 5): elementwise functions, maximum/minimum,
 * reductions along one dim, and the shape kernels cat, take-along-dim, roll and
 * repeat. Dispatched from tg_tensor.c's forward/backward for the codes
 * tg_math_owns() claims; plain C, no Python.h.
 *
 * "Along one dim" kernels see in[0] as (outer, n, inner): ip[0] outer, ip[1] n,
 * ip[2] inner; their reduced output is (outer, inner), contiguous. */
#ifndef TG_MATH_H
#define TG_MATH_H

#include "tg_tensor.h"

/* 1 when op's kernel lives in tg_math.c. */
int tg_math_owns(uint8_t op);
/* 1 when n's operands have the dtypes op's kernel was written for. */
int tg_math_dtypes_ok(const struct tg_tnode *n, uint8_t op);
/* 1 when op's backward reads its saved operands or output (version checks). */
int tg_math_reads_inputs(uint8_t op);
/* Forward: 0, or -1 when the parameters do not fit the operands (nothing written). */
int tg_math_forward(struct tg_tnode *n, uint8_t op);
/* Backward: add op's gradient contributions to ga / gb (NULL: not needed). */
void tg_math_backward(struct tg_tnode *n, uint8_t op, const void *g, void *ga, void *gb);

#endif
