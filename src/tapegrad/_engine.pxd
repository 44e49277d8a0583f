# The compiled engine's spec: the C tape (csrc/tg_tape.h) and the two
# extension types that sit on it. Every field is commented here; the .pyx
# only wraps these in Python's protocols.

from libc.stdint cimport int64_t, uint8_t

cdef extern from "tg_tape.h" nogil:
    ctypedef int64_t tg_index

    tg_index TG_FREED        # a handle whose node tg_tape_clear dropped
    tg_index TG_UNSET        # a handle never attached to a node

    ctypedef enum tg_op:
        TG_LEAF, TG_ADD, TG_SUB, TG_MUL, TG_DIV, TG_POW,
        TG_ADD_CONST, TG_MUL_CONST, TG_DIV_CONST, TG_RSUB_CONST, TG_RDIV_CONST,
        TG_POW_CONST, TG_RPOW_CONST,
        TG_NEG, TG_EXP, TG_LOG, TG_TANH, TG_RELU, TG_SIGMOID,
        TG_SUM, TG_DOT, TG_NUM_OPS

    ctypedef struct tg_arg:
        tg_index index           # parent index, or -1 for a constant
        double constant          # the constant when index == -1

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
    void tg_tape_backward(tg_tape *t, tg_index root)
    double tg_eval_unary(uint8_t op, double x, double c)
    double tg_eval_binary(uint8_t op, double x, double y)


cdef class _Tape:
    """One thread's tape; Values keep their tape alive."""
    cdef tg_tape t               # the C tape itself
    cdef bint busy               # a GIL-free sweep is running: no recording now


cdef class Value:
    """A scalar on a tape: a handle to one slot."""
    cdef _Tape tape              # the tape holding the slot (None until attached); keeps it alive
    cdef tg_tape *t              # &tape.t, for the hot paths and tp_dealloc
    cdef tg_index index          # slot index; TG_FREED / TG_UNSET when there is none
