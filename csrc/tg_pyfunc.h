/* Custom autograd.Function calls on the tape. Plain C, no Python.h.
 *
 * A call is one TT_PYFUNC slot, n-ary over its inputs (tape args: the parent
 * slot of each forward argument, -1 where none), whose record holds the Python
 * ctx object, plus one TT_PYFUNC_OUT slot per differentiable output (parent a:
 * the call; ip[0]: which output). In the reverse sweep each output slot hands
 * its gradient to the call (pure C); the call's backward is the one step that
 * calls Python: the extension's hook takes the GIL, runs ctx's backward and sends
 * the gradients it returns to the parents (tg_pyfunc_send). Every other node of
 * the sweep stays in C, without the GIL. */
#ifndef TG_PYFUNC_H
#define TG_PYFUNC_H

#include "tg_tensor.h"

typedef struct tg_pyfunc {
    void *ctx;                       /* the Python ctx (the grad_fn object), one reference */
    int64_t n_out;                   /* outputs recorded as TT_PYFUNC_OUT slots */
    tg_buf **out_grads;              /* each output's gradient in this sweep, or NULL */
} tg_pyfunc;

/* A Python exception was raised by the call's backward (the extension keeps it). */
#define TG_EPYFUNC (-6)

/* Set by the extension at import. backward: the Python step of call slot i (takes
 * the GIL): 0, -1 out of memory, TG_EGRAD, TG_EPYFUNC. release: drop ctx's
 * reference (takes the GIL). */
extern int (*tg_pyfunc_backward_hook)(tg_tape *t, tg_index i);
extern void (*tg_pyfunc_release_hook)(void *ctx);

/* Tensor.register_hook on a non-leaf (tg_tnode.hooked): the sweep calls grad_hook
 * (the extension's, which takes the GIL) before the node's backward; unhook runs
 * when a hooked record is freed. */
extern void (*tg_unhook_hook)(struct tg_tnode *n);
int tg_grad_hook(tg_tape *t, tg_index i);
extern int (*tg_grad_hook_fn)(tg_tape *t, tg_index i);

/* A record for a call with n_out outputs (takes over one reference to ctx); NULL
 * when out of memory. */
tg_pyfunc *tg_pyfunc_new(void *ctx, int64_t n_out);
void tg_pyfunc_free(tg_pyfunc *f);

/* Append the call slot over the last nargs args pushed (room reserved); the tape
 * owns tnode, whose pyfunc is set. */
tg_index tg_tape_push_pyfunc(tg_tape *t, tg_index nargs, struct tg_tnode *tnode);

/* The sweep's step for a TT_PYFUNC or TT_PYFUNC_OUT slot. */
int tg_pyfunc_backward(tg_tape *t, tg_index i);

/* Add a gradient (contiguous, parent p's shape and dtype) into p's gradient of
 * this sweep: the first contribution replaces a non-leaf's old one. 0, or -1. */
int tg_pyfunc_send(tg_tape *t, tg_index p, const void *g);

/* Release the out_grads of a call after its backward. */
void tg_pyfunc_drop_out_grads(tg_pyfunc *f);

#endif
