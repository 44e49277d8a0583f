# The compiled engine's spec: the C tape (csrc/tg_tape.h) and the two
# extension types that sit on it. Every field is commented here; the .pyx
# only wraps these in Python's protocols.

cimport cython
from libc.stdint cimport int64_t, uint8_t, uint16_t

cdef extern from "tg_tape.h" nogil:
    ctypedef int64_t tg_index

    tg_index TG_FREED        # a handle whose node tg_tape_clear dropped
    tg_index TG_UNSET        # a handle never attached to a node


    ctypedef struct tg_arg:
        tg_index index           # parent index, or -1 for a constant
        double constant          # the constant when index == -1

    cdef struct tg_tnode

    ctypedef struct tg_tape:
        uint8_t *op              # op code per slot (tg_op)
        tg_index *a              # first parent; n-ary: offset into args; free leaf: next free
        tg_index *b              # second parent (-1 if none); n-ary: number of args
        double *c                # constant operand (x + c, x ** c, ...)
        double *value            # forward value
        double *grad             # gradient: accumulated on leaves, reset per sweep on nodes
        tg_index *low            # lowest node index the slot depends on
        tg_index **owner         # address of the owning handle's index field, or NULL
        uint8_t *reached         # scratch marks for sweeps and collections
        tg_index leaf_cap        # size of the leaf region [0, leaf_cap)
        tg_index leaf_top        # leaf slots ever used
        tg_index leaf_live       # leaf slots in use
        tg_index free_leaf       # head of the free leaf chain, -1 if none
        tg_index node_cap        # size of the node region
        tg_index node_count      # nodes in use: [leaf_cap, leaf_cap + node_count)
        tg_arg *args             # operands of n-ary nodes
        tg_index arg_count       # args in use
        tg_index arg_cap         # args allocated
        int64_t collections      # how many collections ran
        tg_tnode **tn            # tensor record of each slot, NULL for scalars
        int64_t tensor_bytes     # tensor output bytes recorded since the last collection
        tg_index error_node      # the node a failed sweep stopped at
        int64_t epoch            # bumped whenever node indices move or nodes go
        int no_collect           # a replay recording or a recording sweep runs: grow, never collect
        const void *tensor       # tensor hooks (tg_tensor_hooks), set by the first tensor
                                 # slot; NULL on a tape that never held one

    int tg_tape_init(tg_tape *t, tg_index leaf_cap, tg_index node_cap)
    void tg_tape_free(tg_tape *t)
    int tg_tape_reserve(tg_tape *t, tg_index nargs)
    tg_index tg_tape_push(tg_tape *t, uint8_t op, tg_index a, tg_index b, double c,
                          double value, tg_index *owner)
    tg_index tg_tape_push_nary(tg_tape *t, uint8_t op, tg_index nargs, double value,
                               tg_index *owner)
    void tg_tape_push_arg(tg_tape *t, tg_index index, double constant)
    tg_index tg_tape_new_leaf(tg_tape *t, double value, tg_index *owner)
    void tg_tape_release(tg_tape *t, tg_index i)
    int tg_tape_collect(tg_tape *t)
    void tg_tape_clear(tg_tape *t)
    int tg_tape_backward(tg_tape *t, tg_index root)
    double tg_eval_unary(uint8_t op, double x, double c)
    double tg_eval_binary(uint8_t op, double x, double y)
    double tg_eval_nary(uint8_t op, const tg_arg *args, tg_index nargs, const double *value)
    double tg_eval_unary_in_mode(uint8_t op, double x, double c)     # under the flush mode
    double tg_eval_binary_in_mode(uint8_t op, double x, double y)
    double tg_eval_nary_in_mode(uint8_t op, const tg_arg *args, tg_index nargs,
                                const double *value)

    # the flush-denormal mode (tg_fpmode.h): process-wide, applied by each entry point
    int tg_flush_denormal        # 1 while it is on
    int tg_set_flush_denormal(int on)    # 1, or 0 where the CPU has no such mode


cdef extern from "tg_tensor.h" nogil:
    enum: TG_MAXDIM
    enum: TG_F32, TG_F64, TG_I64, TG_BOOL, TG_I8, TG_I16, TG_I32, TG_U8, TG_NDTYPES

    ctypedef struct tg_buf:
        int64_t refs             # handles and nodes holding it
        int64_t version          # bumped by every in-place change
        size_t nbytes            # size of data
        void *data               # the elements
        void (*release)(void *owner)  # for borrowed memory, called when the buffer dies
        void *owner              # what keeps borrowed memory alive

    ctypedef struct tg_view:
        tg_buf *buf              # the elements (one reference held), or NULL
        int64_t numel            # number of elements
        int64_t shape[8]         # sizes, row-major contiguous
        uint8_t dtype            # TG_F32, TG_F64, TG_I64, ... (tg_dtype)
        uint8_t ndim             # number of dimensions, 0 for a scalar

    cdef struct tg_tnode:
        tg_view out              # the node's value
        tg_buf *grad             # its gradient, or NULL
        tg_view in_ "in"[2]      # operands as recorded (saved buffers)
        int64_t in_version[2]    # their versions when recorded
        int64_t out_version      # version of out.buf when recorded
        int64_t ip[20]           # integer parameters (dims, strides, sizes)
        uint16_t grad_fn         # PyTorch name to show: 0 the op's, else _NAME_OVERRIDES[k]
        double dp[2]             # float parameters
        uint8_t retain_grad      # a non-leaf that keeps .grad
        uint8_t hooked           # register_hook() hooks (src/tapegrad/_function.pxi)
        tg_buf *retained         # that .grad, accumulated across sweeps
        tg_buf *aux              # a third operand without gradient (TT_WHERE mask)
        uint8_t freed            # swept without retain_graph, holds saves (tg_higher.h)
        void *pyfunc             # a custom Function call's record (tg_pyfunc.h), or NULL
        tg_buf *running[2]       # TT_BATCH_NORM's running mean and variance, or NULL


    tg_buf *tg_buf_new(size_t nbytes)
    tg_buf *tg_buf_zeros(size_t nbytes)
    tg_buf *tg_buf_borrow(void *data, size_t nbytes, void (*release)(void *), void *owner)
    void tg_buf_incref(tg_buf *b)
    void tg_buf_decref(tg_buf *b)
    size_t tg_dtype_size(int dtype)
    tg_tnode *tg_tnode_new()
    void tg_tnode_free(tg_tnode *n)
    int tg_broadcast_shape(const tg_view *a, const tg_view *b, int64_t *shape, int *ndim)
    int tg_tensor_forward(tg_tnode *n, uint8_t op, double *scratch)
    enum: TG_EDTYPE
    enum: TG_EGRAD
    enum: TG_EFREED
    tg_index tg_tape_push_tensor(tg_tape *t, uint8_t op, tg_index a, tg_index b,
                                 tg_tnode *tnode, tg_index *owner)
    tg_index tg_tape_new_tensor_leaf(tg_tape *t, tg_tnode *tnode, tg_index *owner)

    ctypedef void (*tg_sgemm_fn)(char *, char *, int *, int *, int *, float *, float *, int *,
                                 float *, int *, float *, float *, int *)
    ctypedef void (*tg_dgemm_fn)(char *, char *, int *, int *, int *, double *, double *, int *,
                                 double *, int *, double *, double *, int *)
    tg_sgemm_fn tg_sgemm
    tg_dgemm_fn tg_dgemm


cdef extern from "tg_higher.h" nogil:
    void tg_tensor_free_graph(tg_tape *t, tg_index root)

cdef extern from "tg_optim.h" nogil:
    ctypedef struct tg_adam_opts:
        double lr, beta1, beta2, eps, weight_decay
        int64_t step
        int maximize, decoupled
    ctypedef struct tg_rmsprop_opts:
        double lr, alpha, eps, weight_decay, momentum
        int maximize
    void tg_sgd_update(int dtype, int buf_dtype, void *param, const void *grad,
                       void *momentum_buf, int64_t n, double lr, double momentum,
                       double dampening, double weight_decay, int nesterov, int first_step,
                       int maximize)
    void tg_adam_update(int dtype, void *param, const void *grad, void *exp_avg,
                        void *exp_avg_sq, void *max_exp_avg_sq, int64_t n,
                        const tg_adam_opts *opts)
    void tg_rmsprop_update(int dtype, void *param, const void *grad, void *square_avg,
                           void *grad_avg, void *momentum_buf, int64_t n,
                           const tg_rmsprop_opts *opts)
    void tg_adagrad_update(int dtype, void *param, const void *grad, void *state_sum,
                           int64_t n, double clr, double eps, double weight_decay,
                           int maximize)


cdef class _Tape:
    """One thread's tape; Values keep their tape alive."""
    cdef tg_tape t               # the C tape itself
    cdef bint busy               # a GIL-free sweep is running: no recording now
    cdef object sweep_lock       # threading.Lock held by that sweep (while busy): a change
                                 # to a buffer it reads or writes waits on it
    cdef object recorder         # the _Recording noting guards while replay records fn, or None


cdef class Value:
    """A scalar on a tape: a handle to one slot."""
    cdef _Tape tape              # the tape holding the slot (None until attached); keeps it alive
    cdef tg_tape *t              # &tape.t, for the hot paths and tp_dealloc
    cdef tg_index index          # slot index; TG_FREED / TG_UNSET when there is none


@cython.no_gc
cdef class Tensor:
    """An n-d array that records the operations applied to it (PyTorch's API)."""
    cdef tg_view v               # the value: shape, dtype, buffer (one reference)
    cdef _Tape tape              # the tape of the slot (None when not recorded)
    cdef tg_tape *tp             # &tape.t
    cdef tg_index index          # slot index when it requires grad; TG_UNSET otherwise
    cdef object __weakref__
