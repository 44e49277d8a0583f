/* Freeing a swept graph: see tg_higher.h. */
#include <string.h>

#include "tg_higher.h"

void tg_tensor_free_graph(tg_tape *t, tg_index root)
{
    if (root < t->leaf_cap) return;    /* a leaf holds nothing */
    tg_index lo = t->low[root];
    uint8_t *reached = t->reached;
    memset(reached + lo, 0, (size_t)(root - lo + 1));
    reached[root] = 1;
    for (tg_index i = root; i >= lo; i--) {
        if (!reached[i] || t->op[i] < TG_TENSOR_OPS) continue;    /* (Values hold no saves) */
        tg_index a = t->a[i], b = t->b[i];
        if (a >= t->leaf_cap) reached[a] = 1;
        if (b >= t->leaf_cap) reached[b] = 1;
        struct tg_tnode *n = t->tn[i];
        if (n != NULL && t->op[i] != TT_LEAF && tg_holds_saved(t->op[i], n->grad_fn))
            n->freed = 1;
    }
}
