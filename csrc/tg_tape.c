/* The tape: growth, collection of unreachable nodes, and the reverse sweep.
 * See tg_tape.h for the layout. */
#include "tg_tape.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

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
    if (!op || !a || !b || !c || !value || !grad || !low || !owner || !reached) {
        free(op); free(a); free(b); free(c); free(value); free(grad);
        free(low); free(owner); free(reached);
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
        /* nodes move up by `shift` */
        memcpy(op + new_leaf_cap, t->op + old_base, nn);
        memcpy(c + new_leaf_cap, t->c + old_base, nn * sizeof(double));
        memcpy(value + new_leaf_cap, t->value + old_base, nn * sizeof(double));
        memcpy(grad + new_leaf_cap, t->grad + old_base, nn * sizeof(double));
        memcpy(owner + new_leaf_cap, t->owner + old_base, nn * sizeof(tg_index *));
        for (size_t k = 0; k < nn; k++) {
            tg_index src = old_base + (tg_index)k, dst = new_leaf_cap + (tg_index)k;
            tg_index pa = t->a[src], pb = t->b[src];
            if (op[dst] != TG_SUM && op[dst] != TG_DOT) {
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
        free(t->grad); free(t->low); free(t->owner); free(t->reached);
    }
    t->op = op; t->a = a; t->b = b; t->c = c; t->value = value; t->grad = grad;
    t->low = low; t->owner = owner; t->reached = reached;
    t->leaf_cap = new_leaf_cap;
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

void tg_tape_free(tg_tape *t)
{
    free(t->op); free(t->a); free(t->b); free(t->c); free(t->value);
    free(t->grad); free(t->low); free(t->owner); free(t->reached); free(t->args);
    memset(t, 0, sizeof(*t));
    t->free_leaf = -1;
}

/* ------------------------------------------------------------------------ */
/* Collection                                                                */

static inline int tg_is_nary(uint8_t op) { return op == TG_SUM || op == TG_DOT; }

int tg_tape_collect(tg_tape *t)
{
    tg_index base = t->leaf_cap, end = base + t->node_count;
    uint8_t *mark = t->reached;

    /* Roots: everything a handle owns. */
    for (tg_index i = 0; i < t->leaf_top; i++) mark[i] = t->owner[i] != NULL;
    for (tg_index i = base; i < end; i++) mark[i] = t->owner[i] != NULL;
    /* Parents precede children, so one reverse pass marks all ancestors. */
    for (tg_index i = end - 1; i >= base; i--) {
        if (!mark[i]) continue;
        if (tg_is_nary(t->op[i])) {
            const tg_arg *args = t->args + t->a[i];
            for (tg_index k = 0; k < t->b[i]; k++)
                if (args[k].index >= 0) mark[args[k].index] = 1;
        } else {
            mark[t->a[i]] = 1;
            if (t->b[i] >= 0) mark[t->b[i]] = 1;
        }
    }

    /* Compact the node region in place, keeping order. */
    tg_index *remap = NULL;
    if (t->node_count > 0) {
        remap = malloc((size_t)t->node_count * sizeof(tg_index));
        if (remap == NULL) return -1;
    }
    tg_index j = base, arg_j = 0;
#define TG_REMAP(p) ((p) >= base ? remap[(p) - base] : (p))
    for (tg_index i = base; i < end; i++) {
        if (!mark[i]) continue;
        remap[i - base] = j;
        uint8_t op = t->op[i];
        t->op[j] = op;
        t->c[j] = t->c[i];
        t->value[j] = t->value[i];
        t->grad[j] = t->grad[i];
        t->low[j] = remap[t->low[i] - base];   /* an ancestor, hence kept */
        t->owner[j] = t->owner[i];
        if (t->owner[j] != NULL) *t->owner[j] = j;
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
            t->a[j] = TG_REMAP(t->a[i]);
            t->b[j] = t->b[i] >= 0 ? TG_REMAP(t->b[i]) : -1;
        }
        j++;
    }
#undef TG_REMAP
    free(remap);
    t->node_count = j - base;
    t->arg_count = arg_j;

    /* Free the leaves nothing reaches any more. */
    for (tg_index i = 0; i < t->leaf_top; i++) {
        if (t->op[i] == TG_FREE_LEAF || mark[i]) continue;
        t->op[i] = TG_FREE_LEAF;
        t->a[i] = t->free_leaf;
        t->free_leaf = i;
        t->leaf_live--;
    }
    t->collections++;
    return 0;
}

void tg_tape_clear(tg_tape *t)
{
    tg_index base = t->leaf_cap, end = base + t->node_count;
    for (tg_index i = base; i < end; i++)
        if (t->owner[i] != NULL) {
            *t->owner[i] = TG_FREED;
            t->owner[i] = NULL;
        }
    t->node_count = 0;
    t->arg_count = 0;
}

/* ------------------------------------------------------------------------ */
/* Recording                                                                 */

int tg_tape_reserve(tg_tape *t, tg_index nargs)
{
    if (t->node_count < t->node_cap && t->arg_count + nargs <= t->arg_cap)
        return 0;
    if (nargs < 0 || nargs > TG_MAX_SLOTS) return -1;
    if (tg_tape_collect(t) != 0) return -1;
    /* Grow when more than half is still live, so collections stay amortised O(1). */
    tg_index need = t->node_count + 1, cap = t->node_cap;
    while (2 * need > cap) cap *= 2;
    if (cap != t->node_cap && tg_tape_resize(t, t->leaf_cap, cap) != 0) return -1;
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
    return i;
}

tg_index tg_tape_new_leaf(tg_tape *t, double value, tg_index *owner)
{
    if (t->free_leaf < 0 && t->leaf_top == t->leaf_cap) {
        if (tg_tape_collect(t) != 0) return -1;
        if (2 * (t->leaf_live + 1) > t->leaf_cap) {
            tg_index cap = t->leaf_cap;
            while (2 * (t->leaf_live + 1) > cap) cap *= 2;
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
    return i;
}

/* ------------------------------------------------------------------------ */
/* The reverse sweep                                                         */

#define TG_SEND(p, dg) do { tg_index p_ = (p); grad[p_] += (dg); reached[p_] = 1; } while (0)

void tg_tape_backward(tg_tape *t, tg_index root)
{
    if (root < t->leaf_cap) {          /* a leaf: d leaf/d leaf = 1, accumulated */
        t->grad[root] += 1.0;
        return;
    }
    const uint8_t *op = t->op;
    const tg_index *pa = t->a, *pb = t->b;
    const double *cst = t->c, *value = t->value;
    const tg_arg *args = t->args;
    double *grad = t->grad;
    uint8_t *reached = t->reached;
    tg_index lo = t->low[root];

    memset(grad + lo, 0, (size_t)(root - lo + 1) * sizeof(double));
    memset(reached + lo, 0, (size_t)(root - lo + 1));
    grad[root] = 1.0;
    reached[root] = 1;

    for (tg_index i = root; i >= lo; i--) {
        if (!reached[i]) continue;     /* not an ancestor of root */
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
        case TG_POW_CONST:
            TG_SEND(a, c == 0.0 ? 0.0 : g * c * pow(value[a], c - 1.0));
            break;
        case TG_RPOW_CONST:
            TG_SEND(a, (c == 0.0 && value[a] >= 0.0) ? 0.0 : g * (out * log(c)));
            break;
        case TG_NEG: TG_SEND(a, -g); break;
        case TG_EXP: TG_SEND(a, g * out); break;
        case TG_LOG: TG_SEND(a, g / value[a]); break;
        case TG_TANH: TG_SEND(a, g * (1.0 - out * out)); break;
        case TG_RELU: TG_SEND(a, out > 0.0 ? g : 0.0); break;
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
}
