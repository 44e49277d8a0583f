/* Custom autograd.Function calls on the tape: see tg_pyfunc.h. */
#include "tg_pyfunc.h"

#include <stdlib.h>
#include <string.h>

int (*tg_pyfunc_backward_hook)(tg_tape *t, tg_index i) = NULL;
void (*tg_pyfunc_release_hook)(void *ctx) = NULL;
void (*tg_unhook_hook)(struct tg_tnode *n) = NULL;
int (*tg_grad_hook_fn)(tg_tape *t, tg_index i) = NULL;

int tg_grad_hook(tg_tape *t, tg_index i)
{
    return tg_grad_hook_fn != NULL ? tg_grad_hook_fn(t, i) : 0;
}

/* (tg_tensor.c) a retain_grad() output's .grad accumulates like any node's */
int tg_retain_grad(struct tg_tnode *n);

tg_pyfunc *tg_pyfunc_new(void *ctx, int64_t n_out)
{
    tg_pyfunc *f = calloc(1, sizeof(tg_pyfunc));
    if (f == NULL) return NULL;
    f->out_grads = calloc((size_t)(n_out > 0 ? n_out : 1), sizeof(tg_buf *));
    if (f->out_grads == NULL) { free(f); return NULL; }
    f->ctx = ctx;
    f->n_out = n_out;
    return f;
}

void tg_pyfunc_drop_out_grads(tg_pyfunc *f)
{
    for (int64_t k = 0; k < f->n_out; k++) {
        tg_buf_decref(f->out_grads[k]);
        f->out_grads[k] = NULL;
    }
}

void tg_pyfunc_free(tg_pyfunc *f)
{
    if (f == NULL) return;
    tg_pyfunc_drop_out_grads(f);
    free(f->out_grads);
    if (f->ctx != NULL && tg_pyfunc_release_hook != NULL) tg_pyfunc_release_hook(f->ctx);
    free(f);
}

tg_index tg_tape_push_pyfunc(tg_tape *t, tg_index nargs, struct tg_tnode *tnode)
{
    tg_index i = tg_tape_push_nary(t, TT_PYFUNC, nargs, 0.0, NULL);
    t->tn[i] = tnode;
    t->tensor = &tg_tensor_tape_hooks;
    return i;
}

/* An output's gradient goes to its call's slot k; the call is reached. */
static int tg_pyfunc_out_backward(tg_tape *t, tg_index i)
{
    struct tg_tnode *n = t->tn[i];
    if (n == NULL || n->grad == NULL) return 0;
    if (n->retain_grad && tg_retain_grad(n) != 0) return -1;
    tg_index call = t->a[i];
    tg_pyfunc *f = t->tn[call]->pyfunc;
    if (!t->reached[call]) {             /* first output of this sweep: forget the last's */
        tg_pyfunc_drop_out_grads(f);
        t->reached[call] = 1;
    }
    int64_t k = n->ip[0];
    tg_buf_decref(f->out_grads[k]);
    tg_buf_incref(n->grad);
    f->out_grads[k] = n->grad;
    return 0;
}

int tg_pyfunc_backward(tg_tape *t, tg_index i)
{
    if (t->op[i] == TT_PYFUNC_OUT) return tg_pyfunc_out_backward(t, i);
    if (tg_pyfunc_backward_hook == NULL) return -1;
    return tg_pyfunc_backward_hook(t, i);
}

int tg_pyfunc_send(tg_tape *t, tg_index p, const void *g)
{
    struct tg_tnode *pn = t->tn[p];
    int64_t numel = pn->out.numel;
    size_t nbytes = (size_t)numel * tg_dtype_size(pn->out.dtype);
    if (pn->grad == NULL) {
        if ((pn->grad = tg_buf_new(nbytes > 0 ? nbytes : 1)) == NULL) return -1;
        memcpy(pn->grad->data, g, nbytes);
    } else if (!t->reached[p]) {
        memcpy(pn->grad->data, g, nbytes);
    } else if (pn->out.dtype == TG_F32) {
        float *x = pn->grad->data; const float *y = g;
        for (int64_t k = 0; k < numel; k++) x[k] += y[k];
    } else {
        double *x = pn->grad->data; const double *y = g;
        for (int64_t k = 0; k < numel; k++) x[k] += y[k];
    }
    t->reached[p] = 1;
    return 0;
}
