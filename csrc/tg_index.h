/* Indexing kernels: reads through an index table (TT_INDEX: x[idx], index_select,
 * gather, masked_select, ...) and elementwise selection by a mask (TT_WHERE:
 * where, masked_fill), forward for every dtype, backward (a scatter-add) for
 * float32 and float64. Plain C, no Python.h.
 *
 * TT_INDEX: out's dims are [outer basic dims][the index block][inner basic dims].
 *   ip[0] base offset into in[0], ip[1] p: first dim of the index block, ip[2] q: its
 *   number of dims, ip[3 + d] the element stride of out dim d in in[0] (basic dims).
 *   in[1]: int64 table, one entry per element of the index block, in its row-major
 *   order; entry e reads offset e' * ip[TG_IX_SCALE], e' = e + ip[TG_IX_WRAP] when e < 0
 *   (negative indices), else e. out[o, a, i] = in0[ip[0] + outer(o) + e'(a) * scale +
 *   inner(i)]. Backward skips the entries with e' == ip[TG_IX_SKIP] when
 *   ip[TG_IX_HAS_SKIP] (an embedding's padding_idx).
 * TT_WHERE: out = mask ? in[0] : in[1], in[0] and in[1] broadcast to out's shape,
 *   the mask (bool, out's shape, contiguous) in n->aux. */
#ifndef TG_INDEX_H
#define TG_INDEX_H

#include "tg_tensor.h"

enum { TG_IX_HAS_SKIP = 3 + TG_MAXDIM, TG_IX_SKIP, TG_IX_SCALE, TG_IX_WRAP };

/* 1 when op is one of this file's kernels. */
int tg_index_op(uint8_t op);

/* Forward: fill n->out (shaped and allocated). 0, -1 a table entry or the mask
 * outside its bounds (nothing is written), or TG_EDTYPE. */
int tg_index_forward(struct tg_tnode *n, uint8_t op);

/* Backward: add g's contribution to ga (in[0]'s gradient) and gb (in[1]'s), either
 * NULL when not wanted. Repeated table entries accumulate. Floats only (the
 * forward checked dtypes). */
void tg_index_backward(struct tg_tnode *n, uint8_t op, const void *g, void *ga, void *gb);

#endif
