/* tapegrad's tape: a flat, struct-of-arrays record of scalar operations.
 *
 * Plain C, no Python.h. One index space holds two regions:
 *
 *   [0, leaf_cap)                     leaves: user-created values; they survive
 *                                     any number of training steps. Free slots
 *                                     are chained through `a`.
 *   [leaf_cap, leaf_cap + node_count) intermediate nodes, append-only, each
 *                                     after its parents; reclaimed by
 *                                     tg_tape_collect when no handle reaches them.
 *
 * Parents are recorded as indices (never pointers: the arrays move when they
 * grow). Each node may have one owner handle: the address of the int64 index
 * field inside the Python object that refers to it. Collection and growth
 * rewrite that field when the node moves, and clearing sets it to TG_FREED.
 * The derivative rules are those of src/tapegrad/_ops.py (the op table).
 */
#ifndef TG_TAPE_H
#define TG_TAPE_H

#include <stddef.h>
#include <math.h>
#include <stdint.h>

typedef int64_t tg_index;

/* Handle index values that are not node indices. */
#define TG_FREED ((tg_index)-1)      /* node dropped by tg_tape_clear */
#define TG_UNSET ((tg_index)-2)      /* handle never attached to a node */
#define TG_NO_LOW INT64_MAX          /* `low` of a leaf: depends on no node */

/* Op codes (tg_op, TG_*; tensor kernels TT_*): generated from tools/ops.py. */
#include "tg_ops.h"
/* The flush-denormal mode its entry points apply. */
#include "tg_fpmode.h"

/* One operand of an n-ary node (sum, dot). */
typedef struct {
    tg_index index;                  /* parent index, or -1 for a constant */
    double constant;                 /* the constant's value when index == -1 */
} tg_arg;

struct tg_tnode;                     /* a tensor slot's record: tg_tensor.h */

/* Op codes from here on are tensor nodes (TT_FIRST in tg_tensor.h): the sweep
 * hands them to the tape's tensor hooks instead of its scalar formulas. */
#define TG_TENSOR_OPS 64

struct tg_tape;

/* What the tape needs from a tensor module, which installs it on the tape
 * when it adds the first tensor slot (tg_tensor.c: tg_tensor_tape_hooks). The
 * tape itself knows nothing of tensors, so it compiles and is tested alone. */
typedef struct tg_tensor_hooks {
    int (*backward)(struct tg_tape *t, tg_index i);   /* one tensor node's backward:
                                                        0, -1 out of memory, -2 a saved
                                                        tensor was modified in place,
                                                        -4 a parent's shape or dtype
                                                        changed (tg_tensor.h) */
    void (*drop_grads)(struct tg_tape *t, tg_index lo, tg_index hi);
                                                     /* after a sweep over [lo, hi]: free
                                                        the intermediates' gradients */
    void (*free_node)(struct tg_tnode *n);           /* release a slot's tensor record */
} tg_tensor_hooks;

typedef struct tg_tape {
    /* node arrays, each of length leaf_cap + node_cap */
    uint8_t *op;                     /* tg_op code */
    tg_index *a;                     /* first parent; n-ary: offset into args; free leaf: next free */
    tg_index *b;                     /* second parent; n-ary: number of args */
    double *c;                       /* constant operand (x + c, x ** c, ...) */
    double *value;                   /* forward value */
    double *grad;                    /* gradient: accumulated on leaves, reset per sweep on nodes */
    tg_index *low;                   /* lowest node index this node depends on (itself at least) */
    tg_index **owner;                /* address of the owning handle's index field, or NULL */
    uint8_t *reached;                /* a sweep has sent this node a gradient (always 1 on leaves);
                                        also the collector's scratch marks */
    struct tg_tnode **tn;            /* tensor record of the slot; NULL for scalars */

    tg_index leaf_cap;               /* size of the leaf region */
    tg_index leaf_top;               /* leaf slots ever used: [0, leaf_top) */
    tg_index leaf_live;              /* leaf slots in use (not free) */
    tg_index free_leaf;              /* head of the free-slot chain, -1 if empty */
    tg_index node_cap;               /* size of the node region */
    tg_index node_count;             /* nodes in use: [leaf_cap, leaf_cap + node_count) */

    tg_arg *args;                    /* operands of n-ary nodes, in node order */
    tg_index arg_count;              /* args in use */
    tg_index arg_cap;                /* args allocated */

    int64_t collections;             /* how many times unreachable nodes were reclaimed */
    int skipped_full;                /* the last growth skipped the full mark */
    int last_full_kept_most;         /* the last full mark found most nodes live */
    int64_t tensor_bytes;            /* bytes of tensor outputs recorded since the last collection */
    tg_index error_node;             /* the node a failed sweep stopped at */
    int64_t epoch;                   /* bumped whenever node indices move or nodes go */
    int no_collect;                  /* a replay recording is running: grow, never collect */
    const tg_tensor_hooks *tensor;   /* set when a tensor slot is first added (the sweep
                                        calls it for tensor nodes); NULL on scalar tapes */
} tg_tape;

/* Lifecycle. init returns 0, or -1 when out of memory (the tape is then empty
 * but safe to free). free releases everything and is idempotent. */
int tg_tape_init(tg_tape *t, tg_index leaf_cap, tg_index node_cap);
void tg_tape_free(tg_tape *t);

/* Room for one more node and `nargs` more n-ary operands: may collect
 * unreachable nodes or grow (both rewrite owners' indices). 0, or -1 on
 * allocation failure or size overflow. Call before reading parents' indices. */
int tg_tape_reserve(tg_tape *t, tg_index nargs);

/* Append an n-ary node over the last `nargs` args pushed by tg_tape_push_arg. */
tg_index tg_tape_push_nary(tg_tape *t, uint8_t op, tg_index nargs, double value,
                           tg_index *owner);

/* A new leaf holding `value` with gradient 0. Returns its index, or -1 on
 * allocation failure. May grow the leaf region (rewrites owners' indices). */
tg_index tg_tape_new_leaf(tg_tape *t, double value, tg_index *owner);

/* Forget the owner of node i (its handle died); the node stays while needed. */
static inline void tg_tape_release(tg_tape *t, tg_index i) { t->owner[i] = NULL; }

/* Reclaim every node and leaf no owner can reach; compacts the node region. */
int tg_tape_collect(tg_tape *t);

/* Drop every node now; their owners' indices become TG_FREED. Leaves stay. */
void tg_tape_clear(tg_tape *t);

/* Reverse sweep from `root`: seed d root/d root = 1 (for a tensor root, the
 * caller has stored the seed gradient in its record), set the gradient of
 * every intermediate in root's graph and accumulate into leaves; other
 * intermediates keep theirs. Touches no Python state, so callers run it
 * without the GIL. Returns 0, -1 when out of memory, -2 when a tensor saved
 * for backward was modified in place since, -4 when a parent's shape or dtype
 * changed since (t->error_node says which). Runs
 * under the flush-denormal mode (tg_fpmode.h). */
int tg_tape_backward(tg_tape *t, tg_index root);

static inline int tg_is_leaf(const tg_tape *t, tg_index i) { return i < t->leaf_cap; }

/* ------------------------------------------------------------------------ */
/* Hot path, inline: recording one node, and the forward formulas of
 * src/tapegrad/_ops.py. */

static inline tg_index tg_min(tg_index x, tg_index y) { return x < y ? x : y; }

/* Append a node (room must be reserved): parents a, b are slot indices, or -1
 * for none (a missing second operand, or a tensor operand needing no
 * gradient); `tnode` is a tensor node's record (the tape owns it) or NULL.
 * Returns its index. */
static inline tg_index tg_tape_append(tg_tape *t, uint8_t op, tg_index a, tg_index b,
                                      double c, double value, tg_index *owner,
                                      struct tg_tnode *tnode)
{
    tg_index i = t->leaf_cap + t->node_count++;
    tg_index low = i;
    if (a >= 0) low = tg_min(low, t->low[a]);
    if (b >= 0) low = tg_min(low, t->low[b]);
    t->op[i] = op;
    t->a[i] = a;
    t->b[i] = b;
    t->c[i] = c;
    t->value[i] = value;
    t->grad[i] = 0.0;
    t->low[i] = low;
    t->owner[i] = owner;
    t->tn[i] = tnode;
    return i;
}

/* A scalar node. */
static inline tg_index tg_tape_push(tg_tape *t, uint8_t op, tg_index a, tg_index b, double c,
                                    double value, tg_index *owner)
{
    return tg_tape_append(t, op, a, b, c, value, owner, NULL);
}

/* Append one operand of an n-ary node (room must be reserved). */
static inline void tg_tape_push_arg(tg_tape *t, tg_index index, double constant)
{
    tg_arg *arg = &t->args[t->arg_count++];
    arg->index = index;
    arg->constant = constant;
}

/* Value of an op applied to x (and y, or the constant c), as recorded. */
static inline double tg_relu(double x) { return x < 0.0 ? 0.0 : x; }
static inline double tg_sigmoid(double x) { return 1.0 / (1.0 + exp(-x)); }

static inline double tg_eval_unary(uint8_t op, double x, double c)
{
    switch (op) {
    case TG_ADD_CONST: return x + c;
    case TG_MUL_CONST: return x * c;
    case TG_DIV_CONST: return x / c;
    case TG_RSUB_CONST: return c - x;
    case TG_RDIV_CONST: return c / x;
    case TG_POW_CONST: return c == 2.0 ? x * x : pow(x, c);
    case TG_RPOW_CONST: return pow(c, x);
    case TG_NEG: return -x;
    case TG_EXP: return exp(x);
    case TG_LOG: return log(x);
    case TG_TANH: return tanh(x);
    case TG_RELU: return tg_relu(x);
    case TG_SIGMOID: return tg_sigmoid(x);
    default: return NAN;
    }
}

static inline int tg_is_nary(uint8_t op)
{
    return op == TG_SUM || op == TG_DOT || op == TT_PYFUNC;   /* (a custom Function call) */
}

/* Value of an n-ary node over its nargs operands, in their order (the same
 * additions, in the same order, when recording and when replaying). */
static inline double tg_eval_nary(uint8_t op, const tg_arg *args, tg_index nargs,
                                  const double *value)
{
    double acc = 0.0;
    if (op == TG_SUM) {
        for (tg_index k = 0; k < nargs; k++)
            acc += args[k].index >= 0 ? value[args[k].index] : args[k].constant;
    } else {
        for (tg_index k = 0; k + 1 < nargs; k += 2) {
            double x = args[k].index >= 0 ? value[args[k].index] : args[k].constant;
            double w = args[k + 1].index >= 0 ? value[args[k + 1].index] : args[k + 1].constant;
            acc += x * w;
        }
    }
    return acc;
}

/* Mark the parents of node i (n-ary operands included). */
static inline void tg_mark_parents(const tg_tape *t, tg_index i, uint8_t *mark)
{
    if (tg_is_nary(t->op[i])) {
        const tg_arg *args = t->args + t->a[i];
        for (tg_index k = 0; k < t->b[i]; k++)
            if (args[k].index >= 0) mark[args[k].index] = 1;
    } else {
        if (t->a[i] >= 0) mark[t->a[i]] = 1;
        if (t->b[i] >= 0) mark[t->b[i]] = 1;
    }
}

static inline double tg_eval_binary(uint8_t op, double x, double y)
{
    switch (op) {
    case TG_ADD: return x + y;
    case TG_SUB: return x - y;
    case TG_MUL: return x * y;
    case TG_DIV: return x / y;
    case TG_POW: return pow(x, y);
    default: return NAN;
    }
}

/* The evaluations above, under the flush-denormal mode when it is on (recording
 * a Value): the operands pass through pins, so the arithmetic sits between
 * enter and leave. */
static inline double tg_eval_unary_in_mode(uint8_t op, double x, double c)
{
    if (!tg_flush_denormal) return tg_eval_unary(op, x, c);
    unsigned saved = tg_fpmode_enter();
    double r = tg_fpmode_pin(tg_eval_unary(op, tg_fpmode_pin(x), tg_fpmode_pin(c)));
    tg_fpmode_leave(saved);
    return r;
}

static inline double tg_eval_binary_in_mode(uint8_t op, double x, double y)
{
    if (!tg_flush_denormal) return tg_eval_binary(op, x, y);
    unsigned saved = tg_fpmode_enter();
    double r = tg_fpmode_pin(tg_eval_binary(op, tg_fpmode_pin(x), tg_fpmode_pin(y)));
    tg_fpmode_leave(saved);
    return r;
}

static inline double tg_eval_nary_in_mode(uint8_t op, const tg_arg *args, tg_index nargs,
                                          const double *value)
{
    if (!tg_flush_denormal) return tg_eval_nary(op, args, nargs, value);
    unsigned saved = tg_fpmode_enter();            /* (the operands are read after it) */
    double r = tg_fpmode_pin(tg_eval_nary(op, args, nargs, value));
    tg_fpmode_leave(saved);
    return r;
}

#endif
