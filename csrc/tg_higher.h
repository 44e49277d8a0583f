/* Freeing a swept graph (torch's retain_graph=False): after a first-order sweep
 * without retain_graph, the tensor slots the sweep went through whose row holds
 * saved tensors (tg_holds_saved, generated from tools/ops.py) are marked freed;
 * a later sweep that reaches one fails with TG_EFREED (tg_tensor_backward), as
 * torch raises "Trying to backward through the graph a second time". Slots that
 * hold nothing (add, sum, views) stay usable, as in torch. Plain C, no Python.h. */
#ifndef TG_HIGHER_H
#define TG_HIGHER_H

#include "tg_tensor.h"

/* Mark the tensor slots `root` depends on (root included) that hold saved
 * tensors as freed. Uses t->reached as scratch (as the sweep does). */
void tg_tensor_free_graph(tg_tape *t, tg_index root);

#endif
