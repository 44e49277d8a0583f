/* Replay programs: copying a recorded graph off the live tape, and re-running
 * it. See tg_replay.h. */
#include "tg_replay.h"

#include <stdlib.h>
#include <string.h>
#if !defined(_WIN32)
#include <pthread.h>
#define TG_HAVE_PTHREADS 1
#endif

/* Mark every live slot the roots depend on (themselves included). Returns the
 * marks (live->leaf_cap + live->node_count bytes, caller frees) or NULL. */
static uint8_t *tg_mark_graph(const tg_tape *live, const tg_index *roots, tg_index nroots)
{
    tg_index total = live->leaf_cap + live->node_count, lo = total, hi = -1;
    uint8_t *mark = calloc((size_t)total + 1, 1);
    if (mark == NULL) return NULL;
    for (tg_index r = 0; r < nroots; r++) {
        tg_index i = roots[r];
        mark[i] = 1;
        if (i >= live->leaf_cap) {
            if (live->low[i] < lo) lo = live->low[i];
            if (i > hi) hi = i;
        }
    }
    for (tg_index i = hi; i >= lo && i >= live->leaf_cap; i--)
        if (mark[i]) tg_mark_parents(live, i, mark);
    return mark;
}

tg_index tg_program_scan(tg_tape *live, const tg_index *roots, tg_index nroots,
                         tg_index first_node, tg_index *leaves)
{
    uint8_t *mark = tg_mark_graph(live, roots, nroots);
    if (mark == NULL) return -1;
    for (tg_index i = live->leaf_cap; i < live->leaf_cap + first_node; i++) {
        if (mark[i]) {
            live->error_node = i;
            free(mark);
            return -2;
        }
    }
    tg_index n = 0;
    for (tg_index i = 0; i < live->leaf_top; i++)
        if (mark[i]) leaves[n++] = i;
    free(mark);
    return n;
}

/* A copy of a tensor record sharing its buffers (new references), without
 * gradients. */
static struct tg_tnode *tg_tnode_share(const struct tg_tnode *src)
{
    struct tg_tnode *n = tg_tnode_new();
    if (n == NULL) return NULL;
    *n = *src;
    n->grad = NULL;
    n->retained = NULL;
    n->retain_grad = 0;
    n->freed = 0;                      /* a replayed program keeps its graph */
    tg_buf_incref(n->out.buf);
    tg_buf_incref(n->in[0].buf);
    tg_buf_incref(n->in[1].buf);
    tg_buf_incref(n->aux);
    tg_buf_incref(n->running[0]);
    tg_buf_incref(n->running[1]);
    return n;
}

int tg_program_build(tg_program *p, tg_tape *live, const tg_index *roots, tg_index nroots,
                     const tg_index *leaves, const uint8_t *leaf_needs_grad,
                     tg_index nleaves, tg_index *map)
{
    memset(p, 0, sizeof(*p));
    tg_index total = live->leaf_cap + live->node_count;
    uint8_t *mark = tg_mark_graph(live, roots, nroots);
    if (mark == NULL) return -1;
    tg_index nnodes = 0, nargs = 0;
    for (tg_index i = 0; i < total; i++) map[i] = -1;
    for (tg_index i = live->leaf_cap; i < total; i++) {
        if (!mark[i]) continue;
        nnodes++;
        if (tg_is_nary(live->op[i])) nargs += live->b[i];
    }
    uint8_t *needs = calloc((size_t)(nleaves + nnodes) + 2, 1);
    if (needs == NULL || tg_tape_init(&p->tape, nleaves, nnodes) != 0) goto fail;
    tg_tape *t = &p->tape;
    p->nleaves = nleaves;
    p->fwd = malloc((size_t)(2 * nnodes + 1) * sizeof(tg_index));
    if (p->fwd == NULL) goto fail;
    if (nargs > t->arg_cap) {
        tg_arg *args = realloc(t->args, (size_t)nargs * sizeof(tg_arg));
        if (args == NULL) goto fail;
        t->args = args;
        t->arg_cap = nargs;
    }

    for (tg_index k = 0; k < nleaves; k++) {
        tg_index s = leaves[k];
        map[s] = k;
        t->op[k] = live->op[s];
        t->a[k] = t->b[k] = -1;
        t->c[k] = 0.0;
        t->value[k] = live->value[s];
        t->grad[k] = 0.0;
        t->low[k] = TG_NO_LOW;
        t->owner[k] = NULL;
        t->reached[k] = 1;
        t->tn[k] = NULL;
        needs[k] = leaf_needs_grad[k];
        if (live->tn[s] != NULL) {
            if ((t->tn[k] = tg_tnode_share(live->tn[s])) == NULL) goto fail;
            t->tensor = &tg_tensor_tape_hooks;
        }
        t->leaf_top = t->leaf_live = k + 1;
    }

    tg_index base = t->leaf_cap;             /* == nleaves, or 1 when there are none */
    tg_index j = base, arg_j = 0;
    for (tg_index i = live->leaf_cap; i < total; i++) {
        if (!mark[i]) continue;
        map[i] = j;
        uint8_t op = live->op[i];
        tg_index low = j, m = j - base;
        t->op[j] = op;
        t->c[j] = live->c[i];
        t->value[j] = live->value[i];
        t->grad[j] = 0.0;
        t->owner[j] = NULL;
        t->tn[j] = NULL;
        p->fwd[2 * m] = p->fwd[2 * m + 1] = -1;
        if (tg_is_nary(op)) {
            const tg_arg *args = live->args + live->a[i];
            for (tg_index k = 0; k < live->b[i]; k++) {
                tg_arg arg = args[k];
                if (arg.index >= 0) {
                    arg.index = map[arg.index];
                    needs[j] |= needs[arg.index];
                    if (arg.index >= base && t->low[arg.index] < low) low = t->low[arg.index];
                }
                t->args[arg_j + k] = arg;
            }
            t->a[j] = arg_j;
            t->b[j] = live->b[i];
            arg_j += live->b[i];
        } else {
            tg_index pa = live->a[i] >= 0 ? map[live->a[i]] : -1;
            tg_index pb = live->b[i] >= 0 ? map[live->b[i]] : -1;
            p->fwd[2 * m] = pa;
            p->fwd[2 * m + 1] = pb;
            if (pa >= 0) needs[j] |= needs[pa];
            if (pb >= 0) needs[j] |= needs[pb];
            if (op >= TT_FIRST) {                  /* cut operands needing no gradient */
                if (pa >= 0 && !needs[pa]) pa = -1;
                if (pb >= 0 && !needs[pb]) pb = -1;
                if ((t->tn[j] = tg_tnode_share(live->tn[i])) == NULL) goto fail;
                t->tensor = &tg_tensor_tape_hooks;
            }
            t->a[j] = pa;
            t->b[j] = pb;
            if (pa >= base && t->low[pa] < low) low = t->low[pa];
            if (pb >= base && t->low[pb] < low) low = t->low[pb];
        }
        t->low[j] = low;
        t->node_count = ++j - base;
    }
    t->arg_count = arg_j;
    p->root = map[roots[0]];
    free(mark);
    free(needs);
    return 0;
fail:
    free(mark);
    free(needs);
    tg_program_free(p);
    return -1;
}

void tg_program_free(tg_program *p)
{
    tg_tape_free(&p->tape);
    free(p->fwd);
    free(p->guards);
    memset(p, 0, sizeof(*p));
}

int tg_program_add_guard(tg_program *p, uint8_t how, uint8_t expected, tg_index a,
                         tg_index b, double c)
{
    if (p->nguards == p->guard_cap) {
        tg_index cap = p->guard_cap ? 2 * p->guard_cap : 16;
        tg_guard *g = realloc(p->guards, (size_t)cap * sizeof(tg_guard));
        if (g == NULL) return -1;
        p->guards = g;
        p->guard_cap = cap;
    }
    tg_guard *g = &p->guards[p->nguards++];
    g->how = how;
    g->expected = expected;
    g->a = a;
    g->b = b;
    g->c = c;
    return 0;
}

static void tg_buf_swap(tg_buf **slot, tg_buf *buf)
{
    if (*slot == buf) return;
    tg_buf_incref(buf);
    tg_buf_decref(*slot);
    *slot = buf;
}

void tg_program_bind_tensor(tg_program *p, tg_index i, tg_buf *buf)
{
    struct tg_tnode *n = p->tape.tn[i];
    if (n->out.buf != buf) {
        tg_buf_swap(&n->out.buf, buf);
        p->stale = 1;
    }
}

void tg_program_replace_buffer(tg_program *p, tg_buf *old, tg_buf *buf)
{
    tg_tape *t = &p->tape;
    for (tg_index i = t->leaf_cap; i < t->leaf_cap + t->node_count; i++) {
        struct tg_tnode *n = t->tn[i];
        if (n == NULL) continue;
        for (int k = 0; k < 2; k++)
            if (n->in[k].buf == old) tg_buf_swap(&n->in[k].buf, buf);
    }
}

void tg_program_bind_grad(tg_program *p, tg_index i, tg_buf *grad)
{
    tg_buf_swap(&p->tape.tn[i]->grad, grad);
}

void tg_program_relink(tg_program *p)
{
    tg_tape *t = &p->tape;
    for (tg_index i = t->leaf_cap; i < t->leaf_cap + t->node_count; i++) {
        struct tg_tnode *n = t->tn[i];
        if (n == NULL) continue;
        const tg_index *fwd = p->fwd + 2 * (i - t->leaf_cap);
        for (int k = 0; k < 2; k++)
            if (fwd[k] >= 0) tg_buf_swap(&n->in[k].buf, t->tn[fwd[k]]->out.buf);
        if (t->op[i] == TT_VIEW) tg_buf_swap(&n->out.buf, n->in[0].buf);
    }
    p->stale = 0;
}

/* The class targets of a TT_PICK node lie in [0, columns); else *bad is the first
 * that does not (the one torch reports). */
static int tg_pick_targets_ok(const struct tg_tnode *n, int64_t *bad)
{
    const int64_t *target = n->in[1].buf->data;
    int64_t rows = n->in[0].shape[0], columns = n->in[0].shape[1];
    for (int64_t r = 0; r < rows; r++) {
        if (target[r] < 0 || target[r] >= columns) {
            *bad = target[r];
            return 0;
        }
    }
    return 1;
}

/* One case per scalar op, each calling the recording's own formula (tg_tape.h)
 * with a constant op, so the compiler resolves the inner switch. */
#define TG_FWD_BINARY(OP) case OP: value[i] = tg_eval_binary(OP, value[pa[i]], value[pb[i]]); break;
#define TG_FWD_UNARY(OP) case OP: value[i] = tg_eval_unary(OP, value[pa[i]], cst[i]); break;

static int tg_program_forward_nodes(tg_program *p)
{
    tg_tape *t = &p->tape;
    const uint8_t *ops = t->op;
    const tg_index *pa = t->a, *pb = t->b;
    const double *cst = t->c;
    double *value = t->value;
    tg_index end = t->leaf_cap + t->node_count;
    for (tg_index i = t->leaf_cap; i < end; i++) {
        uint8_t op = ops[i];
        switch (op) {
        TG_FWD_BINARY(TG_ADD) TG_FWD_BINARY(TG_SUB) TG_FWD_BINARY(TG_MUL)
        TG_FWD_BINARY(TG_DIV) TG_FWD_BINARY(TG_POW)
        TG_FWD_UNARY(TG_ADD_CONST) TG_FWD_UNARY(TG_MUL_CONST) TG_FWD_UNARY(TG_DIV_CONST)
        TG_FWD_UNARY(TG_RSUB_CONST) TG_FWD_UNARY(TG_RDIV_CONST) TG_FWD_UNARY(TG_POW_CONST)
        TG_FWD_UNARY(TG_RPOW_CONST) TG_FWD_UNARY(TG_NEG) TG_FWD_UNARY(TG_EXP)
        TG_FWD_UNARY(TG_LOG) TG_FWD_UNARY(TG_TANH) TG_FWD_UNARY(TG_RELU)
        TG_FWD_UNARY(TG_SIGMOID)
        case TG_SUM: case TG_DOT:
            value[i] = tg_eval_nary(op, t->args + pa[i], pb[i], value);
            break;
        default: {                      /* a tensor node */
            struct tg_tnode *n = t->tn[i];
            if (op == TT_PICK && !tg_pick_targets_ok(n, &p->bad_target))
                return TG_REPLAY_EBADTARGET;
            if (op != TT_VIEW && tg_tensor_forward(n, op, NULL) != 0) return TG_REPLAY_EKERNEL;
            for (int k = 0; k < 2; k++)      /* saved for backward as of now */
                n->in_version[k] = n->in[k].buf != NULL ? n->in[k].buf->version : 0;
            n->out_version = n->out.buf->version;
        }
        }
    }
    return 0;
}

/* The forward under the flush-denormal mode (tg_fpmode.h), as an eager step runs:
 * the values are stored to the tape's arrays before the mode is left. */
int tg_program_forward(tg_program *p)
{
    unsigned saved = tg_fpmode_enter();
    int status = tg_program_forward_nodes(p);
    tg_fpmode_leave(saved);
    return status;
}

tg_index tg_program_failed_guard(const tg_program *p)
{
    const double *value = p->tape.value;
    for (tg_index k = 0; k < p->nguards; k++) {
        const tg_guard *g = &p->guards[k];
        double x = value[g->a], y = g->b >= 0 ? value[g->b] : g->c;
        int ok;
        switch (g->how) {
        case TG_GUARD_LT: ok = (x < y) == g->expected; break;
        case TG_GUARD_LE: ok = (x <= y) == g->expected; break;
        case TG_GUARD_GT: ok = (x > y) == g->expected; break;
        case TG_GUARD_GE: ok = (x >= y) == g->expected; break;
        default: ok = memcmp(&x, &g->c, sizeof(double)) == 0; break;   /* bit-identical */
        }
        if (!ok) return k;
    }
    return -1;
}

int tg_program_backward(tg_program *p)
{
    tg_tape *t = &p->tape;
    for (tg_index i = t->leaf_cap; i < t->leaf_cap + t->node_count; i++)
        if (t->op[i] == TT_PICK && !tg_pick_targets_ok(t->tn[i], &p->bad_target))
            return TG_REPLAY_EBADTARGET;
    struct tg_tnode *n = t->tn[p->root];
    if (n != NULL && p->root >= t->leaf_cap) {      /* seed d loss / d loss = 1 */
        tg_buf *g = tg_buf_new(n->out.buf->nbytes);
        if (g == NULL) return -1;
        for (int64_t k = 0; k < n->out.numel; k++) {
            if (n->out.dtype == TG_F32) ((float *)g->data)[k] = 1.0f;
            else ((double *)g->data)[k] = 1.0;
        }
        tg_buf_decref(n->grad);
        n->grad = g;
    }
    return tg_tape_backward(t, p->root);
}

tg_index tg_program_map(tg_program *p, const double *inputs, tg_index nrows, tg_index ninputs,
                        const tg_index *slots, int backward, double *losses,
                        double *input_grads)
{
    tg_tape *t = &p->tape;
    for (tg_index r = 0; r < nrows; r++) {
        const double *row = inputs + r * ninputs;
        for (tg_index k = 0; k < ninputs; k++)
            if (slots[k] >= 0) t->value[slots[k]] = row[k];
        if (tg_program_forward(p) != 0) return -1;
        if (tg_program_failed_guard(p) >= 0) return r;
        losses[r] = t->value[p->root];
        if (!backward) continue;
        for (tg_index k = 0; k < ninputs; k++)
            if (slots[k] >= 0) t->grad[slots[k]] = 0.0;
        if (tg_program_backward(p) != 0) return -1;
        double *grads = input_grads + r * ninputs;
        for (tg_index k = 0; k < ninputs; k++)
            grads[k] = slots[k] >= 0 ? t->grad[slots[k]] : 0.0;
    }
    return nrows;
}

/* ------------------------------------------------------------------------ */
/* Batched replay on several threads                                         */

/* One thread's copy of a scalar program. Every use, by a node the root depends
 * on, of a leaf that is not an input reads a private slot of its own instead (a
 * copy of the leaf placed after the nodes, where neither the forward loop nor the
 * sweep visits it). A sweep then leaves each use's contribution apart, in its
 * slot, and tg_program_map_threads adds them to the shared leaves in the order a
 * one-thread sweep sends them: the same additions, so the same bits. */
typedef struct {
    tg_program prog;                 /* own tape; guards borrowed from the original */
    tg_index nedges;                 /* private slots, in the order the sweep sends */
    tg_index *edge_slot;             /* the private slot of each use: the slots after
                                        the nodes, in order */
    tg_index *edge_leaf;             /* the leaf it stands for */
    tg_index *fold_edge;             /* the uses of the leaves this worker adds up */
    tg_index nfold;
    /* one run: rows [first, end), or (folding) the contributions of rows
       [block_first, end) to the leaves of fold_edge */
    int folding;
    double *leaf_grad;               /* the program's leaf gradients (folding) */
    const double *inputs;
    const tg_index *slots;
    tg_index ninputs, first, end, block_first;
    int backward;
    double *losses, *input_grads, *contrib;   /* contrib: per row, nedges contributions */
    tg_index stopped;                /* the row a guard failed on, or end; -1 out of memory */
    char pad[64];                    /* the next worker's fields on another cache line */
} tg_worker;

static void tg_worker_free(tg_worker *w)
{
    w->prog.guards = NULL;           /* borrowed */
    tg_program_free(&w->prog);
    free(w->edge_slot);
    free(w->edge_leaf);
    free(w->fold_edge);
}

/* Redirect operand *slot to a new private copy when it is a split leaf. */
static void tg_worker_split(tg_worker *w, const uint8_t *split, tg_index *slot)
{
    tg_tape *t = &w->prog.tape;
    tg_index leaf = *slot;
    if (leaf < 0 || leaf >= w->prog.nleaves || !split[leaf]) return;
    tg_index s = t->leaf_cap + t->node_count + w->nedges;
    t->op[s] = TG_LEAF;
    t->a[s] = t->b[s] = -1;
    t->c[s] = 0.0;
    t->value[s] = t->value[leaf];
    t->grad[s] = -0.0;
    t->low[s] = TG_NO_LOW;
    t->reached[s] = 1;
    w->edge_slot[w->nedges] = s;
    w->edge_leaf[w->nedges] = leaf;
    w->nedges++;
    *slot = s;
}

/* Make w a split copy of scalar program p (inputs at slots[0..ninputs), -1 for
 * none). 0, or -1 when out of memory (w is then safe to free). */
static int tg_worker_init(tg_worker *w, const tg_program *p, const tg_index *slots,
                          tg_index ninputs)
{
    const tg_tape *src = &p->tape;
    tg_index base = src->leaf_cap, end = base + src->node_count, uses = 0;
    memset(w, 0, sizeof(*w));
    uint8_t *split = calloc((size_t)end + 1, 1), *ancestor = calloc((size_t)end + 1, 1);
    if (split == NULL || ancestor == NULL) goto fail;
    for (tg_index k = 0; k < p->nleaves; k++) split[k] = 1;
    for (tg_index k = 0; k < ninputs; k++)
        if (slots[k] >= 0) split[slots[k]] = 0;
    ancestor[p->root] = 1;
    for (tg_index i = p->root; i >= base; i--) {
        if (!ancestor[i]) continue;
        tg_mark_parents(src, i, ancestor);
        uses += tg_is_nary(src->op[i]) ? src->b[i] : 2;
    }
    if (tg_tape_init(&w->prog.tape, base, src->node_count + uses) != 0) goto fail;
    tg_tape *t = &w->prog.tape;
    w->edge_slot = malloc((size_t)(uses + 1) * sizeof(tg_index));
    w->edge_leaf = malloc((size_t)(uses + 1) * sizeof(tg_index));
    if (w->edge_slot == NULL || w->edge_leaf == NULL) goto fail;
    if (src->arg_count > t->arg_cap) {
        tg_arg *args = realloc(t->args, (size_t)src->arg_count * sizeof(tg_arg));
        if (args == NULL) goto fail;
        t->args = args;
        t->arg_cap = src->arg_count;
    }
    size_t n = (size_t)end;
    memcpy(t->op, src->op, n);
    memcpy(t->a, src->a, n * sizeof(tg_index));
    memcpy(t->b, src->b, n * sizeof(tg_index));
    memcpy(t->c, src->c, n * sizeof(double));
    memcpy(t->value, src->value, n * sizeof(double));
    memcpy(t->grad, src->grad, n * sizeof(double));
    memcpy(t->low, src->low, n * sizeof(tg_index));
    memcpy(t->reached, src->reached, n);
    memcpy(t->args, src->args, (size_t)src->arg_count * sizeof(tg_arg));
    t->arg_count = src->arg_count;
    t->node_count = src->node_count;
    t->leaf_top = t->leaf_live = src->leaf_top;
    w->prog.nleaves = p->nleaves;
    w->prog.root = p->root;
    w->prog.guards = p->guards;
    w->prog.nguards = p->nguards;
    /* private slots in the sweep's order: nodes from the root down, operands in order */
    for (tg_index i = p->root; i >= base; i--) {
        if (!ancestor[i]) continue;
        if (tg_is_nary(t->op[i])) {
            for (tg_index k = 0; k < t->b[i]; k++)
                tg_worker_split(w, split, &t->args[t->a[i] + k].index);
        } else {
            tg_worker_split(w, split, &t->a[i]);
            tg_worker_split(w, split, &t->b[i]);
        }
    }
    free(split);
    free(ancestor);
    return 0;
fail:
    free(split);
    free(ancestor);
    tg_worker_free(w);
    return -1;
}

/* Add rows' contributions to this worker's leaves, row by row, in the sweep's
 * order (under the flush-denormal mode, as the sweep adds them). Each leaf is
 * one worker's, so the workers fold at once. */
static void tg_worker_fold(tg_worker *w)
{
    unsigned saved = tg_fpmode_enter();
    tg_index rows = w->end - w->block_first, nedges = w->nedges;
    for (tg_index k = 0; k < w->nfold;) {      /* one leaf at a time: its uses in order */
        tg_index leaf = w->edge_leaf[w->fold_edge[k]], group = k;
        while (group < w->nfold && w->edge_leaf[w->fold_edge[group]] == leaf) group++;
        double acc = w->leaf_grad[leaf];
        const double *row = w->contrib;
        for (tg_index r = 0; r < rows; r++, row += nedges)
            for (tg_index j = k; j < group; j++) acc += row[w->fold_edge[j]];
        w->leaf_grad[leaf] = acc;
        k = group;
    }
    tg_fpmode_leave(saved);
}

/* The rows of one worker: tg_program_map's loop, each row's contributions to
 * the split leaves kept apart in contrib (and the private slots reset to -0.0,
 * to which a contribution adds exactly). */
static void *tg_worker_run(void *arg)
{
    tg_worker *w = arg;
    tg_tape *t = &w->prog.tape;
    if (w->folding) {
        tg_worker_fold(w);
        return NULL;
    }
    w->stopped = w->end;
    for (tg_index r = w->first; r < w->end; r++) {
        const double *row = w->inputs + r * w->ninputs;
        for (tg_index k = 0; k < w->ninputs; k++)
            if (w->slots[k] >= 0) t->value[w->slots[k]] = row[k];
        if (tg_program_forward(&w->prog) != 0) { w->stopped = -1; break; }
        if (tg_program_failed_guard(&w->prog) >= 0) { w->stopped = r; break; }
        w->losses[r] = t->value[w->prog.root];
        if (!w->backward) continue;
        for (tg_index k = 0; k < w->ninputs; k++)
            if (w->slots[k] >= 0) t->grad[w->slots[k]] = 0.0;
        if (tg_program_backward(&w->prog) != 0) { w->stopped = -1; break; }
        double *grads = w->input_grads + r * w->ninputs;
        for (tg_index k = 0; k < w->ninputs; k++)
            grads[k] = w->slots[k] >= 0 ? t->grad[w->slots[k]] : 0.0;
        double *contrib = w->contrib + (r - w->block_first) * w->nedges;
        double *own = t->grad + t->leaf_cap + t->node_count;   /* the private slots, in order */
        memcpy(contrib, own, (size_t)w->nedges * sizeof(double));
        for (tg_index e = 0; e < w->nedges; e++) own[e] = -0.0;
    }
    return NULL;
}

/* Run workers w[0..n) at once: w[0] on this thread, the others on new ones (one
 * after the other where there are no POSIX threads). 0, or -1 when a thread
 * cannot start (those started are joined first). */
static int tg_run_parallel(tg_worker *w, int n)
{
#ifdef TG_HAVE_PTHREADS
    pthread_t *ids = malloc((size_t)n * sizeof(pthread_t));
    int started = 1, status = 0;
    if (ids == NULL) return -1;
    for (; started < n; started++)
        if (pthread_create(&ids[started], NULL, tg_worker_run, &w[started]) != 0) {
            status = -1;
            break;
        }
    tg_worker_run(&w[0]);
    for (int k = 1; k < started; k++) pthread_join(ids[k], NULL);
    free(ids);
    return status;
#else
    for (int k = 0; k < n; k++) tg_worker_run(&w[k]);
    return 0;
#endif
}

/* Give each worker the uses of a contiguous range of leaves to fold, grouped by
 * leaf, each leaf's in the sweep's order. 0, or -1 when out of memory. */
static int tg_assign_folds(tg_worker *w, int n, tg_index nleaves)
{
    tg_index nedges = w[0].nedges, *first = calloc((size_t)nleaves + 1, sizeof(tg_index));
    if (first == NULL) return -1;
    for (tg_index e = 0; e < nedges; e++) first[w[0].edge_leaf[e] + 1]++;
    for (tg_index l = 0; l < nleaves; l++) first[l + 1] += first[l];
    for (int k = 0; k < n; k++) {
        w[k].fold_edge = malloc((size_t)(nedges + 1) * sizeof(tg_index));
        if (w[k].fold_edge == NULL) { free(first); return -1; }
        w[k].nfold = 0;
    }
    tg_index *next = malloc((size_t)nleaves * sizeof(tg_index) + 1);
    if (next == NULL) { free(first); return -1; }
    memcpy(next, first, (size_t)nleaves * sizeof(tg_index));
    tg_index *sorted = malloc((size_t)(nedges + 1) * sizeof(tg_index));
    if (sorted == NULL) { free(first); free(next); return -1; }
    for (tg_index e = 0; e < nedges; e++) sorted[next[w[0].edge_leaf[e]]++] = e;
    for (tg_index j = 0; j < nedges; j++) {
        int k = (int)(w[0].edge_leaf[sorted[j]] * n / nleaves);
        w[k].fold_edge[w[k].nfold++] = sorted[j];
    }
    free(sorted);
    free(next);
    free(first);
    return 0;
}

/* Contributions held at once (1 MB): written by the rows, read back by the fold
 * while still in cache. */
#define TG_MAP_BLOCK_DOUBLES ((tg_index)1 << 17)

tg_index tg_program_map_threads(tg_program *p, const double *inputs, tg_index nrows,
                                tg_index ninputs, const tg_index *slots, int backward,
                                double *losses, double *input_grads, int nthreads)
{
    if (nthreads > nrows) nthreads = (int)nrows;
    /* (a leaf root's gradient comes from no use: only tg_program_map adds it) */
    if (nthreads <= 1 || p->tape.tensor != NULL || p->root < p->tape.leaf_cap)
        return tg_program_map(p, inputs, nrows, ninputs, slots, backward, losses,
                              input_grads);
    tg_index result = -1;
    tg_worker *w = calloc((size_t)nthreads, sizeof(tg_worker));
    double *contrib = NULL;
    int made = 0;
    if (w == NULL) return -1;
    for (; made < nthreads; made++)
        if (tg_worker_init(&w[made], p, slots, ninputs) != 0) goto done;
    tg_index nedges = w[0].nedges;
    if (tg_assign_folds(w, nthreads, p->nleaves) != 0) goto done;
    tg_index block = TG_MAP_BLOCK_DOUBLES / (nedges > 0 ? nedges : 1);
    if (block < nthreads) block = nthreads;
    if (block > nrows) block = nrows;
    contrib = malloc((size_t)(block * nedges + 1) * sizeof(double));
    if (contrib == NULL) goto done;
    for (tg_index first = 0; first < nrows; first += block) {
        tg_index end = first + block < nrows ? first + block : nrows, stop = end;
        tg_index per = (end - first + nthreads - 1) / nthreads;
        for (int k = 0; k < nthreads; k++) {
            tg_worker *x = &w[k];
            x->inputs = inputs; x->slots = slots; x->ninputs = ninputs;
            x->backward = backward; x->losses = losses; x->input_grads = input_grads;
            x->contrib = contrib; x->block_first = first;
            x->first = first + k * per < end ? first + k * per : end;
            x->end = x->first + per < end ? x->first + per : end;
        }
        if (tg_run_parallel(w, nthreads) != 0) goto done;
        for (int k = 0; k < nthreads; k++) {           /* the first row that failed */
            if (w[k].stopped < 0) goto done;
            if (w[k].stopped < w[k].end) { stop = w[k].stopped; break; }
        }
        if (backward) {
            for (int k = 0; k < nthreads; k++) {
                w[k].folding = 1;
                w[k].leaf_grad = p->tape.grad;
                w[k].block_first = first;
                w[k].end = stop;
            }
            if (tg_run_parallel(w, nthreads) != 0) goto done;
            for (int k = 0; k < nthreads; k++) w[k].folding = 0;
        }
        if (stop < end) { result = stop; goto done; }
    }
    result = nrows;
done:
    for (int k = 0; k < made; k++) tg_worker_free(&w[k]);
    free(w);
    free(contrib);
    return result;
}
