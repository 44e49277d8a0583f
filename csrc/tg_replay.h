/* Replay: a recorded graph copied off the live tape into a program that can be
 * re-run, forward then backward, on new leaf values without Python.
 *
 * A program is itself a tg_tape (so the reverse sweep is tg_tape_backward):
 *
 *   [0, nleaves)            the leaves the graph read: inputs, parameters and
 *                           constants, rebound by the caller before each run
 *   [leaf_cap, leaf_cap + N) the recorded nodes, in recording order (leaf_cap is
 *                           nleaves, or 1 when there are none)
 *
 * Tensor nodes keep the buffers they were recorded with; before each run the
 * forward pass re-points every operand at its parent's current output, so a
 * parameter whose buffer was replaced, or an input bound to a new buffer, is
 * read where it is now. Plain C, no Python.h. */
#ifndef TG_REPLAY_H
#define TG_REPLAY_H

#include "tg_tape.h"
#include "tg_tensor.h"

/* What a scalar guard checks after the forward pass. */
enum {
    TG_GUARD_LT = 0, TG_GUARD_LE = 1, TG_GUARD_GT = 2, TG_GUARD_GE = 3,  /* a <op> b */
    TG_GUARD_READ = 4                /* a's value, read out to Python, is bit-identical to c */
};

typedef struct {
    uint8_t how;                     /* TG_GUARD_* */
    uint8_t expected;                /* the comparison's outcome when recorded */
    tg_index a;                      /* program slot of the left side */
    tg_index b;                      /* program slot of the right side, or -1: compare with c */
    double c;                        /* the constant right side, or the value read */
} tg_guard;

typedef struct {
    tg_tape tape;                    /* the program (owner fields all NULL: never collected) */
    tg_index nleaves;                /* leaf slots [0, nleaves) */
    tg_index root;                   /* slot of the loss */
    tg_index *fwd;                   /* 2 per node (index - leaf_cap): forward operands,
                                        program slots or -1; tensor nodes' tape parents a, b
                                        are -1 where no gradient is needed */
    int stale;                       /* a binding changed: tg_program_relink before forward */
    tg_guard *guards;                /* scalar guards, checked after every forward pass */
    tg_index nguards;                /* guards in use */
    tg_index guard_cap;              /* guards allocated */
    int64_t bad_target;              /* after TG_REPLAY_EBADTARGET: the class target at fault */
} tg_program;

/* Error codes of tg_program_forward (and of tg_program_backward, beside
 * tg_tape_backward's -1 and -2). */
enum {
    TG_REPLAY_EKERNEL = -1,          /* a tensor kernel failed (out of memory, dtype) */
    TG_REPLAY_EBADTARGET = -3        /* a class target (cross entropy's) is out of range */
};

/* The leaves that the graph of `roots` reads, in index order, into `leaves`
 * (room for live->leaf_top entries). Returns how many, -1 when out of memory,
 * or -2 when it needs a node below `first_node` (an intermediate recorded
 * before the recording began; live->error_node names it). */
tg_index tg_program_scan(tg_tape *live, const tg_index *roots, tg_index nroots,
                         tg_index first_node, tg_index *leaves);

/* Copy the graph of `roots` (scanned as above) into p. leaf_needs_grad[k]
 * says whether leaves[k] wants a gradient; tensor nodes that need none are cut
 * from the sweep. map (live->leaf_cap + live->node_count entries) receives each
 * copied live slot's program slot, -1 elsewhere. p->root is set to roots[0]'s
 * slot. 0, or -1 when out of memory (p is then empty, safe to free). */
int tg_program_build(tg_program *p, tg_tape *live, const tg_index *roots, tg_index nroots,
                     const tg_index *leaves, const uint8_t *leaf_needs_grad,
                     tg_index nleaves, tg_index *map);

void tg_program_free(tg_program *p);

/* Add a scalar guard. 0, or -1 when out of memory. */
int tg_program_add_guard(tg_program *p, uint8_t how, uint8_t expected, tg_index a,
                         tg_index b, double c);

/* Recompute every node from the leaves' current values. 0, or TG_REPLAY_E*: class
 * targets, which a replay rebinds to new int64 arguments, are checked before they
 * index (as eager code checks them before recording). No Python: callers may
 * release the GIL. */
int tg_program_forward(tg_program *p);

/* The first scalar guard whose outcome differs from the recording, or -1. */
tg_index tg_program_failed_guard(const tg_program *p);

/* Reverse sweep from the root (a tensor root is seeded with ones): the same
 * sweep and return codes as tg_tape_backward, or TG_REPLAY_EBADTARGET when class
 * targets changed (in memory shared with numpy) since the forward pass. */
int tg_program_backward(tg_program *p);

/* Replay a scalar program over rows: row r binds inputs[r * ninputs + k] to
 * leaf slots[k] (skipped where slots[k] < 0), runs forward, checks the guards
 * and stores the loss in losses[r]; with `backward`, sweeps too (leaves other
 * than the inputs accumulate across rows; inputs' gradients go to
 * input_grads[r * ninputs + k]). Returns nrows, or the first row whose guards
 * failed (nothing of it stored), or -1 when out of memory. No Python. */
tg_index tg_program_map(tg_program *p, const double *inputs, tg_index nrows, tg_index ninputs,
                        const tg_index *slots, int backward, double *losses,
                        double *input_grads);

/* tg_program_map on nthreads threads, each replaying a share of the rows on its
 * own copy of the program: the same losses, input gradients and return value,
 * and the same parameter gradients bit for bit (each use's contribution is kept
 * apart, then added in the one-thread order: row by row, in sweep order).
 * Programs with tensor nodes or a leaf for root, and nthreads <= 1, run
 * tg_program_map itself.
 * Rows after a failing guard's may have been computed (their losses and input
 * gradients written); only the rows before it reach the parameters. No Python:
 * callers release the GIL. */
tg_index tg_program_map_threads(tg_program *p, const double *inputs, tg_index nrows,
                                tg_index ninputs, const tg_index *slots, int backward,
                                double *losses, double *input_grads, int nthreads);

/* Point tensor leaf i at buffer `buf` as its value (a reference is taken). */
void tg_program_bind_tensor(tg_program *p, tg_index i, tg_buf *buf);

/* After bindings changed: point every tensor operand at its parent's current
 * output (views at their input's). Drops buffer references, which may run a
 * borrowed buffer's release callback: call with the GIL held. */
void tg_program_relink(tg_program *p);

/* Make every operand that reads buffer `old` read `buf` instead (a tensor
 * argument that is no leaf, such as int64 class targets). With the GIL held. */
void tg_program_replace_buffer(tg_program *p, tg_buf *old, tg_buf *buf);

/* Share buffer `grad` (may be NULL) as tensor leaf i's gradient. */
void tg_program_bind_grad(tg_program *p, tg_index i, tg_buf *grad);

#endif
