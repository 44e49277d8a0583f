/* The tape tested from C alone, without Python: build graphs, sweep,
 * collect, grow. tests/c/test_c_tape.py compiles and runs this file against
 * tg_tape.c alone (no tensor module); it also builds by hand:
 * cc -std=c99 -O1 -g -Icsrc csrc/test_tg_tape.c csrc/tg_tape.c -lm */
#include "tg_tape.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static int failures = 0;

#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, \
                    #cond);                                                  \
            failures++;                                                      \
        }                                                                    \
    } while (0)

#define CLOSE(x, y) CHECK(fabs((x) - (y)) <= 1e-12 * (1.0 + fabs(y)))

/* A handle is just the index field the tape rewrites when a node moves. */
typedef struct {
    tg_index index;                  /* the slot; the tape rewrites it when the node moves */
} handle;

static tg_index binary(tg_tape *t, uint8_t op, handle *x, handle *y, handle *out)
{
    if (tg_tape_reserve(t, 0) != 0) return -1;
    tg_index a = x->index, b = y->index;
    double v = tg_eval_binary(op, t->value[a], t->value[b]);
    return out->index = tg_tape_push(t, op, a, b, 0.0, v, &out->index);
}

static tg_index unary(tg_tape *t, uint8_t op, handle *x, double c, handle *out)
{
    if (tg_tape_reserve(t, 0) != 0) return -1;
    tg_index a = x->index;
    return out->index = tg_tape_push(t, op, a, -1, c, tg_eval_unary(op, t->value[a], c),
                                     &out->index);
}

static void test_small_graph(void)
{
    tg_tape t;
    CHECK(tg_tape_init(&t, 1, 1) == 0);
    handle x, y, p, s, f;
    x.index = tg_tape_new_leaf(&t, 3.0, &x.index);
    y.index = tg_tape_new_leaf(&t, -2.0, &y.index);
    binary(&t, TG_MUL, &x, &y, &p);          /* p = x*y  = -6 */
    unary(&t, TG_TANH, &p, 0.0, &s);         /* s = tanh(p) */
    binary(&t, TG_ADD, &s, &x, &f);          /* f = s + x */
    tg_tape_backward(&t, f.index);
    double ds = 1.0 - tanh(-6.0) * tanh(-6.0);
    CLOSE(t.value[f.index], tanh(-6.0) + 3.0);
    CLOSE(t.grad[x.index], ds * -2.0 + 1.0);
    CLOSE(t.grad[y.index], ds * 3.0);
    CLOSE(t.grad[p.index], ds);
    /* a second sweep adds to leaves, sets intermediates again */
    tg_tape_backward(&t, f.index);
    CLOSE(t.grad[x.index], 2.0 * (ds * -2.0 + 1.0));
    CLOSE(t.grad[p.index], ds);
    tg_tape_free(&t);
}

static void test_collection_keeps_owned_graphs(void)
{
    tg_tape t;
    CHECK(tg_tape_init(&t, 2, 4) == 0);
    handle w, keep, tmp;
    w.index = tg_tape_new_leaf(&t, 0.5, &w.index);
    unary(&t, TG_MUL_CONST, &w, 3.0, &keep);         /* keep = 3w, stays owned */
    for (int step = 0; step < 10000; step++) {
        handle a, b;
        binary(&t, TG_MUL, &keep, &w, &a);
        unary(&t, TG_EXP, &a, 0.0, &b);
        tg_tape_release(&t, a.index);                /* both handles die */
        tg_tape_release(&t, b.index);
    }
    CHECK(t.node_cap <= 64);                         /* garbage was reclaimed */
    CHECK(t.collections > 0);
    binary(&t, TG_MUL, &keep, &keep, &tmp);          /* 9 w^2 */
    t.grad[w.index] = 0.0;
    tg_tape_backward(&t, tmp.index);
    CLOSE(t.value[tmp.index], 9.0 * 0.25);
    CLOSE(t.grad[w.index], 18.0 * 0.5);
    tg_tape_free(&t);
}

static void test_nary_and_leaf_growth(void)
{
    tg_tape t;
    CHECK(tg_tape_init(&t, 1, 1) == 0);
    enum { N = 300 };
    handle leaves[N], d;
    for (int k = 0; k < N; k++)                      /* the leaf region grows, nodes shift */
        leaves[k].index = tg_tape_new_leaf(&t, (double)k, &leaves[k].index);
    CHECK(tg_tape_reserve(&t, 2 * N) == 0);
    double acc = 0.0;
    for (int k = 0; k < N; k++) {
        tg_tape_push_arg(&t, leaves[k].index, 0.0);
        tg_tape_push_arg(&t, -1, 2.0);               /* dot with constants 2 */
        acc += t.value[leaves[k].index] * 2.0;
    }
    d.index = tg_tape_push_nary(&t, TG_DOT, 2 * N, acc, &d.index);
    handle extra;
    extra.index = tg_tape_new_leaf(&t, 1.0, &extra.index);
    tg_tape_backward(&t, d.index);
    CLOSE(t.value[d.index], 2.0 * (N - 1) * N / 2.0);
    for (int k = 0; k < N; k++) CLOSE(t.grad[leaves[k].index], 2.0);
    tg_tape_clear(&t);
    CHECK(d.index == TG_FREED);
    CHECK(t.node_count == 0);
    tg_tape_free(&t);
}

/* A stand-in tensor module: its "tensor" nodes (op TG_TENSOR_OPS) hold one
 * double; the node's gradient is its c field, sent to parent a times 3. */
struct tg_tnode { int unused; };        /* the tape only stores and frees records */
static int fake_frees = 0, fake_drops = 0;

static int fake_backward(tg_tape *t, tg_index i)
{
    tg_index p = t->a[i];
    if (p >= 0) {                          /* the first contribution of a sweep replaces */
        if (!t->reached[p]) { t->grad[p] = 0.0; t->reached[p] = 1; }
        t->grad[p] += 3.0 * t->grad[i];
    }
    return t->c[i] < 0.0 ? -2 : 0;        /* a negative c plays "saved tensor modified" */
}
static void fake_drop(tg_tape *t, tg_index lo, tg_index hi)
{
    (void)t;
    fake_drops += (int)(hi - lo + 1);
}
static void fake_free(struct tg_tnode *n) { fake_frees++; free(n); }
static const tg_tensor_hooks fake_hooks = { fake_backward, fake_drop, fake_free };

static void test_tensor_hooks(void)
{
    tg_tape t;
    CHECK(tg_tape_init(&t, 2, 2) == 0);
    CHECK(t.tensor == NULL);                 /* a scalar tape has no tensor hooks */
    handle x, s, n;
    x.index = tg_tape_new_leaf(&t, 2.0, &x.index);
    unary(&t, TG_MUL_CONST, &x, 5.0, &s);    /* s = 5x */
    CHECK(tg_tape_reserve(&t, 0) == 0);
    t.tensor = &fake_hooks;
    n.index = tg_tape_append(&t, TG_TENSOR_OPS, s.index, -1, 1.0, 0.0, &n.index,
                             calloc(1, sizeof(struct tg_tnode)));
    CHECK(tg_tape_backward(&t, n.index) == 0);   /* d n/d x = 3 * 5 */
    CLOSE(t.grad[x.index], 15.0);
    CHECK(fake_drops == (int)(n.index - s.index + 1));
    t.c[n.index] = -1.0;
    CHECK(tg_tape_backward(&t, n.index) == -2);  /* the hook's error reaches the caller */
    tg_tape_release(&t, n.index);
    tg_tape_release(&t, s.index);
    CHECK(tg_tape_collect(&t) == 0);         /* the dead record is freed through the hook */
    CHECK(fake_frees == 1);
    CHECK(t.node_count == 0);
    tg_tape_free(&t);
}

int main(void)
{
    test_tensor_hooks();
    test_small_graph();
    test_collection_keeps_owned_graphs();
    test_nary_and_leaf_growth();
    if (failures) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("tg_tape: all checks passed\n");
    return 0;
}
