/* Tensor nodes on the tape: buffers, shapes, and the typed kernels of every
 * tensor op, forward and backward (float32 and float64). Plain C, no Python.h.
 *
 * A tensor's value lives in a reference-counted buffer (tg_buf) shared by the
 * Python handles that view it and by the nodes that saved it for backward.
 * A tape slot of a tensor op points to a tg_tnode: its output, its gradient
 * buffer, and the operands as they were recorded. */
#ifndef TG_TENSOR_H
#define TG_TENSOR_H

#include "tg_tape.h"

#define TG_MAXDIM 8

/* Element types. Only TG_F32 and TG_F64 reach arithmetic kernels; the others are
 * read and written by the copying kernels (views, strided reads, index, where,
 * cat, ...) by element size, and converted by TT_CAST. */
typedef enum {
    TG_F32 = 0, TG_F64 = 1, TG_I64 = 2, TG_BOOL = 3,
    TG_I8 = 4, TG_I16 = 5, TG_I32 = 6, TG_U8 = 7,
    TG_NDTYPES = 8
} tg_dtype;

typedef struct tg_buf {
    int64_t refs;                    /* handles and nodes holding it */
    int64_t version;                 /* bumped by every in-place change */
    size_t nbytes;                   /* size of data */
    void *data;                      /* the elements (right after this header, or borrowed) */
    void (*release)(void *owner);    /* for borrowed memory: called with owner at the end */
    void *owner;                     /* what keeps borrowed memory alive (a numpy array) */
} tg_buf;

typedef struct {
    tg_buf *buf;                     /* the elements (one reference held), or NULL */
    int64_t numel;                   /* number of elements */
    int64_t shape[TG_MAXDIM];        /* sizes, row-major contiguous */
    uint8_t dtype;                   /* tg_dtype */
    uint8_t ndim;                    /* number of dimensions, 0 for a scalar */
} tg_view;

struct tg_tnode {
    tg_view out;                     /* the node's value */
    tg_buf *grad;                    /* its gradient (out's shape and dtype), or NULL */
    tg_view in[2];                   /* operands as recorded: shapes and saved buffers */
    int64_t in_version[2];           /* versions of in[k].buf when recorded */
    int64_t out_version;             /* version of out.buf when recorded */
    int64_t ip[2 * TG_MAXDIM + 4];   /* integer parameters (dims, strides, sizes) */
    uint16_t grad_fn;                /* which PyTorch grad_fn name to show: 0 the op's own
                                        (_TORCH_NAMES), else an index into _NAME_OVERRIDES
                                        (src/tapegrad/_grad_fn.pxi) */
    double dp[2];                    /* float parameters (constants, clamp bounds) */
    uint8_t retain_grad;             /* a non-leaf whose .grad is kept (retain_grad()) */
    uint8_t hooked;                  /* register_hook() hooks: the sweep calls them (tg_pyfunc.h) */
    tg_buf *retained;                /* its .grad: accumulated across sweeps, or NULL */
    tg_buf *aux;                     /* a third operand without gradient (TT_WHERE's mask) */
    uint8_t freed;                   /* a sweep without retain_graph went through it and its
                                        row holds saved tensors (tg_higher.h) */
    struct tg_pyfunc *pyfunc;        /* a custom Function call's record (tg_pyfunc.h), or NULL */
    tg_buf *running[2];              /* TT_BATCH_NORM: running mean and variance its forward
                                        updates (momentum dp[1]), or NULL (tg_norm.h) */
};

/* Tensor op codes (TT_*) continue the scalar ones: csrc/tg_ops.h, generated. */

/* Buffers */
tg_buf *tg_buf_new(size_t nbytes);            /* uninitialised; NULL when out of memory */
tg_buf *tg_buf_zeros(size_t nbytes);
/* A buffer over memory someone else owns; release(owner) runs when it dies
 * (with the GIL held: buffers holding values die only in collections). */
tg_buf *tg_buf_borrow(void *data, size_t nbytes, void (*release)(void *), void *owner);
static inline void tg_buf_incref(tg_buf *b) { if (b) b->refs++; }
void tg_buf_decref(tg_buf *b);
size_t tg_dtype_size(int dtype);

/* Node records */
struct tg_tnode *tg_tnode_new(void);          /* zeroed; NULL when out of memory */
void tg_tnode_free(struct tg_tnode *n);       /* drops every buffer reference */

/* Broadcast shapes; 0, or -1 if they cannot be broadcast. */
int tg_broadcast_shape(const tg_view *a, const tg_view *b, int64_t *shape, int *ndim);

/* The tape's tensor hooks (tg_tape.h): tensor slots install them on their tape. */
extern const tg_tensor_hooks tg_tensor_tape_hooks;

/* Append a tensor node (room must be reserved): parents a, b are slot
 * indices or -1 for operands that need no gradient. The tape owns `tnode`
 * and gets the tensor hooks. */
tg_index tg_tape_push_tensor(tg_tape *t, uint8_t op, tg_index a, tg_index b,
                             struct tg_tnode *tnode, tg_index *owner);

/* A tensor leaf that requires grad; the tape owns `tnode`. -1 when out of memory. */
tg_index tg_tape_new_tensor_leaf(tg_tape *t, struct tg_tnode *tnode, tg_index *owner);

/* Forward kernels: fill out (already shaped and allocated) from the node's inputs.
 * Return 0, -1 on a bad argument (a buffer smaller than its view, a strided read
 * outside its input; the caller checks shapes before), or TG_EDTYPE when an operand
 * has a dtype op's kernel was not written for. Nothing is read before the checks.
 * Runs under the flush-denormal mode (tg_fpmode.h). */
#define TG_EDTYPE (-3)
int tg_tensor_forward(struct tg_tnode *n, uint8_t op, double *scratch);

/* Backward of tensor node i: add its gradient's contribution to its parents'
 * gradients (allocating them on first touch). 0, -1 out of memory, -2 a saved
 * tensor was modified in place, TG_EGRAD a parent's value no longer has the shape
 * and dtype the node recorded for it (`.data =` since; nothing is written). For
 * -2, TG_EGRAD and TG_EFREED, t->error_node names the node. */
#define TG_EGRAD (-4)
#define TG_EFREED (-5)   /* the node's saved tensors were freed (tg_higher.h) */
int tg_tensor_backward(tg_tape *t, tg_index i);

/* The sum of x[0..n) in torch's summation order (what reductions compute). */
float tg_sum_f32(const float *x, int64_t n);
double tg_sum_f64(const double *x, int64_t n);

/* Free the gradients of non-retained intermediates in [lo, hi] after a sweep. */
void tg_tensor_drop_grads(tg_tape *t, tg_index lo, tg_index hi);

/* BLAS, Fortran interface, set by the extension at import (from SciPy's BLAS). */
typedef void (*tg_sgemm_fn)(char *, char *, int *, int *, int *, float *, float *, int *,
                            float *, int *, float *, float *, int *);
typedef void (*tg_dgemm_fn)(char *, char *, int *, int *, int *, double *, double *, int *,
                            double *, int *, double *, double *, int *);
extern tg_sgemm_fn tg_sgemm;
extern tg_dgemm_fn tg_dgemm;

#endif
