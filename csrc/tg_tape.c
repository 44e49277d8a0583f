/* The tape: growth, collection of unreachable nodes, and the reverse sweep.
 * See tg_tape.h for the layout. */
#include "tg_tape.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

volatile int tg_flush_denormal = 0;

#define TG_MAX_SLOTS ((tg_index)1 << 40)  /* far beyond memory; keeps size_t math exact */

/* ------------------------------------------------------------------------ */
/* Storage                                                                   */

/* Allocate fresh arrays for capacities (new_leaf_cap, new_node_cap) and move
 * the tape into them. Nodes shift by new_leaf_cap - leaf_cap; every node
 * index stored anywhere (parents, args, low, owners) is shifted with them.
 * On failure nothing changes and -1 is returned. */
static int tg_tape_resize(tg_tape *t, tg_index new_leaf_cap, tg_index new_node_cap)
{
    if (new_leaf_cap < t->leaf_top || new_node_cap < t->node_count ||
        new_leaf_cap > TG_MAX_SLOTS || new_node_cap > TG_MAX_SLOTS)
        return -1;
    size_t total = (size_t)(new_leaf_cap + new_node_cap);
    uint8_t *op = malloc(total);
    tg_index *a = malloc(total * sizeof(tg_index));
    tg_index *b = malloc(total * sizeof(tg_index));
    double *c = malloc(total * sizeof(double));
    double *value = malloc(total * sizeof(double));
    double *grad = malloc(total * sizeof(double));
    tg_index *low = malloc(total * sizeof(tg_index));
    tg_index **owner = malloc(total * sizeof(tg_index *));
    uint8_t *reached = calloc(total, 1);
    struct tg_tnode **tn = calloc(total, sizeof(struct tg_tnode *));
    if (!op || !a || !b || !c || !value || !grad || !low || !owner || !reached || !tn) {
        free(op); free(a); free(b); free(c); free(value); free(grad);
        free(low); free(owner); free(reached); free(tn);
        return -1;
    }

    tg_index old_base = t->leaf_cap, shift = new_leaf_cap - t->leaf_cap;
    size_t nl = (size_t)t->leaf_top, nn = (size_t)t->node_count;
    if (t->op != NULL) {
        /* leaves keep their indices */
        memcpy(op, t->op, nl);
        memcpy(a, t->a, nl * sizeof(tg_index));
        memcpy(b, t->b, nl * sizeof(tg_index));
        memcpy(c, t->c, nl * sizeof(double));
        memcpy(value, t->value, nl * sizeof(double));
        memcpy(grad, t->grad, nl * sizeof(double));
        memcpy(low, t->low, nl * sizeof(tg_index));
        memcpy(owner, t->owner, nl * sizeof(tg_index *));
        memcpy(tn, t->tn, nl * sizeof(struct tg_tnode *));
        /* nodes move up by `shift` */
        memcpy(op + new_leaf_cap, t->op + old_base, nn);
        memcpy(c + new_leaf_cap, t->c + old_base, nn * sizeof(double));
        memcpy(value + new_leaf_cap, t->value + old_base, nn * sizeof(double));
        memcpy(grad + new_leaf_cap, t->grad + old_base, nn * sizeof(double));
        memcpy(owner + new_leaf_cap, t->owner + old_base, nn * sizeof(tg_index *));
        memcpy(tn + new_leaf_cap, t->tn + old_base, nn * sizeof(struct tg_tnode *));
        for (size_t k = 0; k < nn; k++) {
            tg_index src = old_base + (tg_index)k, dst = new_leaf_cap + (tg_index)k;
            tg_index pa = t->a[src], pb = t->b[src];
            if (!tg_is_nary(op[dst])) {
                if (pa >= old_base) pa += shift;
                if (pb >= old_base) pb += shift;
            }
            a[dst] = pa;
            b[dst] = pb;
            low[dst] = t->low[src] + shift;
            if (owner[dst] != NULL) *owner[dst] = dst;
        }
        if (shift != 0) {
            for (tg_index k = 0; k < t->arg_count; k++)
                if (t->args[k].index >= old_base) t->args[k].index += shift;
        }
        free(t->op); free(t->a); free(t->b); free(t->c); free(t->value);
        free(t->grad); free(t->low); free(t->owner); free(t->reached); free(t->tn);
    }
    memset(reached, 1, nl);                 /* leaves count as reached in sweeps */
    t->op = op; t->a = a; t->b = b; t->c = c; t->value = value; t->grad = grad;
    t->low = low; t->owner = owner; t->reached = reached; t->tn = tn;
    if (shift != 0) t->epoch++;
    t->leaf_cap = new_leaf_cap;
    t->node_cap = new_node_cap;
    return 0;
}

/* Grow the node region in place: realloc each array (large blocks are
 * remapped, not copied). Nodes keep their indices. A failure part-way leaves
 * some arrays larger than needed, which is harmless: caps change only at the end. */
static int tg_tape_grow_nodes(tg_tape *t, tg_index new_node_cap)
{
    if (new_node_cap > TG_MAX_SLOTS) return -1;
    size_t total = (size_t)(t->leaf_cap + new_node_cap);
#define TG_REALLOC(field, size)                                  \
    do {                                                         \
        void *p_ = realloc(t->field, total * (size));            \
        if (p_ == NULL) return -1;                               \
        t->field = p_;                                           \
    } while (0)
    TG_REALLOC(op, 1);
    TG_REALLOC(a, sizeof(tg_index));
    TG_REALLOC(b, sizeof(tg_index));
    TG_REALLOC(c, sizeof(double));
    TG_REALLOC(value, sizeof(double));
    TG_REALLOC(grad, sizeof(double));
    TG_REALLOC(low, sizeof(tg_index));
    TG_REALLOC(owner, sizeof(tg_index *));
    TG_REALLOC(reached, 1);
    TG_REALLOC(tn, sizeof(struct tg_tnode *));
#undef TG_REALLOC
    t->node_cap = new_node_cap;
    return 0;
}

static int tg_tape_grow_args(tg_tape *t, tg_index need)
{
    tg_index cap = t->arg_cap > 0 ? t->arg_cap : 64;
    while (cap < need) {
        if (cap > TG_MAX_SLOTS) return -1;
        cap *= 2;
    }
    if (cap == t->arg_cap) return 0;
    tg_arg *args = realloc(t->args, (size_t)cap * sizeof(tg_arg));
    if (args == NULL) return -1;
    t->args = args;
    t->arg_cap = cap;
    return 0;
}

int tg_tape_init(tg_tape *t, tg_index leaf_cap, tg_index node_cap)
{
    memset(t, 0, sizeof(*t));
    t->free_leaf = -1;
    if (leaf_cap < 1) leaf_cap = 1;
    if (node_cap < 1) node_cap = 1;
    if (tg_tape_resize(t, leaf_cap, node_cap) != 0) return -1;
    if (tg_tape_grow_args(t, 64) != 0) { tg_tape_free(t); return -1; }
    return 0;
}

/* Release the tensor record of slot i, if any. */
static inline void tg_tape_drop_tensor(tg_tape *t, tg_index i)
{
    if (t->tn[i] != NULL) {             /* only a tape with tensor hooks has records */
        t->tensor->free_node(t->tn[i]);
        t->tn[i] = NULL;
    }
}

void tg_tape_free(tg_tape *t)
{
    if (t->tn != NULL) {
        for (tg_index i = 0; i < t->leaf_top; i++) tg_tape_drop_tensor(t, i);
        for (tg_index i = t->leaf_cap; i < t->leaf_cap + t->node_count; i++)
            tg_tape_drop_tensor(t, i);
    }
    free(t->tn);
    free(t->op); free(t->a); free(t->b); free(t->c); free(t->value);
    free(t->grad); free(t->low); free(t->owner); free(t->reached); free(t->args);
    memset(t, 0, sizeof(*t));
    t->free_leaf = -1;
}

/* ------------------------------------------------------------------------ */
/* Collection                                                                */

/* Move the nodes [from, end) down to `to`, shifting every node index stored
 * in them (parents, args, low, owners) by to - from. Used when everything
 * below `from` is garbage. */
static void tg_tape_drop_prefix(tg_tape *t, tg_index from)
{
    tg_index base = t->leaf_cap, end = base + t->node_count, n = end - from;
    tg_index shift = from - base;
    if (shift == 0) return;
    if (t->tensor != NULL)              /* (a tape without hooks holds no tensor records) */
        for (tg_index i = base; i < from; i++) tg_tape_drop_tensor(t, i);
    /* Args are stored in node order: those of the first surviving n-ary node
     * start where the survivors' args begin. */
    tg_index first_arg = t->arg_count;
    for (tg_index i = from; i < end; i++)
        if (tg_is_nary(t->op[i])) { first_arg = t->a[i]; break; }
    memmove(t->op + base, t->op + from, (size_t)n);
    memmove(t->c + base, t->c + from, (size_t)n * sizeof(double));
    memmove(t->value + base, t->value + from, (size_t)n * sizeof(double));
    memmove(t->grad + base, t->grad + from, (size_t)n * sizeof(double));
    memmove(t->owner + base, t->owner + from, (size_t)n * sizeof(tg_index *));
    memmove(t->tn + base, t->tn + from, (size_t)n * sizeof(struct tg_tnode *));
    for (tg_index k = 0; k < n; k++) {
        tg_index dst = base + k, src = from + k;
        tg_index pa = t->a[src], pb = t->b[src];
        if (tg_is_nary(t->op[dst])) {
            pa -= first_arg;
        } else {
            if (pa >= base) pa -= shift;
            if (pb >= base) pb -= shift;
        }
        t->a[dst] = pa;
        t->b[dst] = pb;
        t->low[dst] = t->low[src] - shift;
        if (t->owner[dst] != NULL) *t->owner[dst] = dst;
    }
    t->arg_count -= first_arg;
    memmove(t->args, t->args + first_arg, (size_t)t->arg_count * sizeof(tg_arg));
    for (tg_index k = 0; k < t->arg_count; k++)
        if (t->args[k].index >= base) t->args[k].index -= shift;
    t->node_count = n;
}

/* Mark everything an owner reaches, then compact the node region in place
 * (keeping order) and free the leaves nothing reaches. */
static int tg_tape_collect_full(tg_tape *t)
{
    tg_index base = t->leaf_cap, end = base + t->node_count;
    uint8_t *mark = t->reached;

    memset(mark, 0, (size_t)end);
    /* Parents precede children, so one reverse pass marks all ancestors. */
    for (tg_index i = end - 1; i >= base; i--) {
        if (!(mark[i] |= (t->owner[i] != NULL))) continue;
        tg_mark_parents(t, i, mark);
    }

    /* Nodes before the first dead one stay where they are. */
    tg_index first_dead = base;
    while (first_dead < end && mark[first_dead]) first_dead++;
    if (first_dead < end) {
        tg_index *remap = malloc((size_t)(end - first_dead) * sizeof(tg_index));
        if (remap == NULL) return -1;
#define TG_REMAP(p) ((p) >= first_dead ? remap[(p) - first_dead] : (p))
        tg_index j = first_dead, arg_j = 0;
        for (tg_index i = base; i < first_dead; i++)
            if (tg_is_nary(t->op[i])) arg_j = t->a[i] + t->b[i];
        for (tg_index i = first_dead; i < end; i++) {
            if (!mark[i]) {
                tg_tape_drop_tensor(t, i);
                continue;
            }
            remap[i - first_dead] = j;
            uint8_t op = t->op[i];
            t->op[j] = op;
            t->c[j] = t->c[i];
            t->value[j] = t->value[i];
            t->grad[j] = t->grad[i];
            t->low[j] = TG_REMAP(t->low[i]);   /* an ancestor, hence kept */
            t->owner[j] = t->owner[i];
            if (t->owner[j] != NULL) *t->owner[j] = j;
            t->tn[j] = t->tn[i];
            if (j != i) t->tn[i] = NULL;
            if (tg_is_nary(op)) {
                tg_index first = t->a[i], n = t->b[i];
                for (tg_index k = 0; k < n; k++) {
                    tg_arg arg = t->args[first + k];
                    if (arg.index >= 0) arg.index = TG_REMAP(arg.index);
                    t->args[arg_j + k] = arg;
                }
                t->a[j] = arg_j;
                t->b[j] = n;
                arg_j += n;
            } else {
                t->a[j] = t->a[i] >= 0 ? TG_REMAP(t->a[i]) : -1;
                t->b[j] = t->b[i] >= 0 ? TG_REMAP(t->b[i]) : -1;
            }
            j++;
        }
#undef TG_REMAP
        free(remap);
        t->node_count = j - base;
        t->arg_count = arg_j;
    }

    /* Free the leaves nothing reaches any more. */
    for (tg_index i = 0; i < t->leaf_top; i++) {
        if (t->op[i] == TG_FREE_LEAF || mark[i] || t->owner[i] != NULL) continue;
        tg_tape_drop_tensor(t, i);
        t->op[i] = TG_FREE_LEAF;
        t->a[i] = t->free_leaf;
        t->free_leaf = i;
        t->leaf_live--;
    }
    memset(t->reached, 1, (size_t)t->leaf_top);   /* leaves count as reached in sweeps */
    t->collections++;
    t->epoch++;
    t->tensor_bytes = 0;
    return 0;
}

int tg_tape_collect(tg_tape *t)
{
    if (t->no_collect) return 0;     /* a recording's first_node must keep its meaning */
    return tg_tape_collect_full(t);
}

/* Make room in the node region. A live node depends only on nodes at or
 * above its `low`, so everything below the smallest `low` of an owned node
 * is garbage: a training loop, where each step's graph is dead by the next,
 * is reclaimed by one scan and a memmove. Otherwise a full mark runs; when
 * the last one found most nodes live (a deep chain being built), every other
 * growth skips it, so such a graph is not re-marked at every doubling. */
static int tg_tape_make_room(tg_tape *t)
{
    tg_index base = t->leaf_cap, end = base + t->node_count, min_low = end;
    if (t->no_collect) return 0;
    for (tg_index i = base; i < end; i++)
        if (t->owner[i] != NULL && t->low[i] < min_low) min_low = t->low[i];
    if (2 * (min_low - base) >= t->node_count) {
        tg_tape_drop_prefix(t, min_low);
        t->collections++;
        t->epoch++;
        t->tensor_bytes = 0;
        return 0;
    }
    if (t->last_full_kept_most && !t->skipped_full) {
        t->skipped_full = 1;             /* grow without marking, this once */
        return 0;
    }
    t->skipped_full = 0;
    tg_index before = t->node_count;
    if (tg_tape_collect_full(t) != 0) return -1;
    t->last_full_kept_most = 2 * t->node_count > before;
    return 0;
}

void tg_tape_clear(tg_tape *t)
{
    tg_index base = t->leaf_cap, end = base + t->node_count;
    for (tg_index i = base; i < end; i++) {
        if (t->owner[i] != NULL) {
            *t->owner[i] = TG_FREED;
            t->owner[i] = NULL;
        }
        tg_tape_drop_tensor(t, i);
    }
    t->node_count = 0;
    t->arg_count = 0;
    t->epoch++;
}

/* ------------------------------------------------------------------------ */
/* Recording                                                                 */

int tg_tape_reserve(tg_tape *t, tg_index nargs)
{
    if (t->node_count < t->node_cap && t->arg_count + nargs <= t->arg_cap)
        return 0;
    if (nargs < 0 || nargs > TG_MAX_SLOTS) return -1;
    if (tg_tape_make_room(t) != 0) return -1;
    /* Grow when more than half is still live, so collections stay amortised O(1). */
    tg_index need = t->node_count + 1, cap = t->node_cap;
    while (2 * need > cap) cap *= 2;
    if (cap != t->node_cap && tg_tape_grow_nodes(t, cap) != 0) return -1;
    if (2 * (t->arg_count + nargs) > t->arg_cap &&
        tg_tape_grow_args(t, 2 * (t->arg_count + nargs)) != 0)
        return -1;
    return 0;
}

tg_index tg_tape_push_nary(tg_tape *t, uint8_t op, tg_index nargs, double value,
                           tg_index *owner)
{
    tg_index i = t->leaf_cap + t->node_count++;
    tg_index first = t->arg_count - nargs, low = i;
    for (tg_index k = first; k < t->arg_count; k++)
        if (t->args[k].index >= 0) low = tg_min(low, t->low[t->args[k].index]);
    t->op[i] = op;
    t->a[i] = first;
    t->b[i] = nargs;
    t->c[i] = 0.0;
    t->value[i] = value;
    t->grad[i] = 0.0;
    t->low[i] = low;
    t->owner[i] = owner;
    t->tn[i] = NULL;
    return i;
}

tg_index tg_tape_new_leaf(tg_tape *t, double value, tg_index *owner)
{
    if (t->free_leaf < 0 && t->leaf_top == t->leaf_cap) {
        if (!t->no_collect && tg_tape_collect(t) != 0) return -1;
        if (t->free_leaf < 0 || 2 * (t->leaf_live + 1) > t->leaf_cap) {
            tg_index cap = t->leaf_cap;
            while (2 * (t->leaf_live + 1) > cap || cap <= t->leaf_top) cap *= 2;
            if (tg_tape_resize(t, cap, t->node_cap) != 0) return -1;
        }
    }
    tg_index i;
    if (t->free_leaf >= 0) {
        i = t->free_leaf;
        t->free_leaf = t->a[i];
    } else {
        i = t->leaf_top++;
    }
    t->leaf_live++;
    t->op[i] = TG_LEAF;
    t->a[i] = -1;
    t->b[i] = -1;
    t->c[i] = 0.0;
    t->value[i] = value;
    t->grad[i] = 0.0;
    t->low[i] = TG_NO_LOW;
    t->owner[i] = owner;
    t->reached[i] = 1;
    t->tn[i] = NULL;
    return i;
}

/* ------------------------------------------------------------------------ */
/* The reverse sweep                                                         */

/* Send a gradient contribution to parent p. The first one a node receives in
 * this sweep replaces its old gradient; leaves are always marked reached, so
 * they accumulate across sweeps. */
#define TG_SEND(p, dg)                                           \
    do {                                                         \
        tg_index p_ = (p);                                       \
        double dg_ = (dg);                                       \
        if (reached[p_]) grad[p_] += dg_;                        \
        else { grad[p_] = dg_; reached[p_] = 1; }                \
    } while (0)

static int tg_tape_sweep(tg_tape *t, tg_index root)
{
    if (root < t->leaf_cap) {          /* a leaf: d leaf/d leaf = 1, accumulated */
        t->grad[root] += 1.0;
        return 0;
    }
    const uint8_t *op = t->op;
    const tg_index *pa = t->a, *pb = t->b;
    const double *cst = t->c, *value = t->value;
    const tg_arg *args = t->args;
    double *grad = t->grad;
    uint8_t *reached = t->reached;
    tg_index lo = t->low[root];

    memset(reached + lo, 0, (size_t)(root - lo + 1));
    grad[root] = 1.0;
    reached[root] = 1;

    int status = 0;
    for (tg_index i = root; i >= lo; i--) {
        if (!reached[i]) continue;     /* not an ancestor of root */
        if (op[i] >= TG_TENSOR_OPS) {
            if ((status = t->tensor->backward(t, i)) != 0) break;
            continue;
        }
        double g = grad[i], out = value[i], c = cst[i];
        tg_index a = pa[i], b = pb[i];
        switch (op[i]) {
        case TG_ADD: TG_SEND(a, g); TG_SEND(b, g); break;
        case TG_SUB: TG_SEND(a, g); TG_SEND(b, -g); break;
        case TG_MUL: {
            double x = value[a], y = value[b];
            TG_SEND(a, g * y); TG_SEND(b, g * x);
            break;
        }
        case TG_DIV: {
            double x = value[a], y = value[b];
            TG_SEND(a, g / y); TG_SEND(b, (-g * x) / (y * y));
            break;
        }
        case TG_POW: {
            double x = value[a], y = value[b];
            double gx = y == 0.0 ? 0.0 : g * y * pow(x, y - 1.0);
            double gy = (x == 0.0 && y >= 0.0) ? 0.0 : g * (out * log(x));
            TG_SEND(a, gx); TG_SEND(b, gy);
            break;
        }
        case TG_ADD_CONST: TG_SEND(a, g); break;
        case TG_MUL_CONST: TG_SEND(a, g * c); break;
        case TG_DIV_CONST: TG_SEND(a, g / c); break;
        case TG_RSUB_CONST: TG_SEND(a, -g); break;
        case TG_RDIV_CONST: {
            double x = value[a];
            TG_SEND(a, (-g * c) / (x * x));
            break;
        }
        case TG_POW_CONST: {
            double x = value[a];   /* pow(x, 1) is exactly x: skip the libm call for squares */
            TG_SEND(a, c == 0.0 ? 0.0 : g * c * (c == 2.0 ? x : pow(x, c - 1.0)));
            break;
        }
        case TG_RPOW_CONST:
            TG_SEND(a, (c == 0.0 && value[a] >= 0.0) ? 0.0 : g * (out * log(c)));
            break;
        case TG_NEG: TG_SEND(a, -g); break;
        case TG_EXP: TG_SEND(a, g * out); break;
        case TG_LOG: TG_SEND(a, g / value[a]); break;
        case TG_TANH: TG_SEND(a, g * (1.0 - out * out)); break;
        case TG_RELU: TG_SEND(a, out <= 0.0 ? 0.0 : g); break;  /* torch: nan passes g */
        case TG_SIGMOID: TG_SEND(a, g * out * (1.0 - out)); break;
        case TG_SUM: {
            const tg_arg *arg = args + a;
            for (tg_index k = 0; k < b; k++)
                if (arg[k].index >= 0) TG_SEND(arg[k].index, g);
            break;
        }
        case TG_DOT: {
            const tg_arg *arg = args + a;
            for (tg_index k = 0; k + 1 < b; k += 2) {
                tg_index xi = arg[k].index, wi = arg[k + 1].index;
                double x = xi >= 0 ? value[xi] : arg[k].constant;
                double w = wi >= 0 ? value[wi] : arg[k + 1].constant;
                if (xi >= 0) TG_SEND(xi, g * w);
                if (wi >= 0) TG_SEND(wi, g * x);
            }
            break;
        }
        default: break;
        }
    }
    if (t->tensor != NULL) t->tensor->drop_grads(t, lo, root);
    return status;
}

/* The sweep under the flush-denormal mode (tg_fpmode.h). */
int tg_tape_backward(tg_tape *t, tg_index root)
{
    unsigned saved = tg_fpmode_enter();
    int status = tg_tape_sweep(t, root);
    tg_fpmode_leave(saved);
    return status;
}
