/* Indexing kernels (see tg_index.h). Every table entry and mask is checked
 * against its operand's bounds before anything is read or written. */
#include "tg_index.h"

#include <stdint.h>
#include <string.h>

int tg_index_op(uint8_t op) { return op == TT_INDEX || op == TT_WHERE; }

/* The sizes of out's outer dims, index block and inner dims. */
typedef struct {
    int p, q, nd;
    int64_t outer, block, inner;
} tg_index_plan;

static int tg_index_plan_of(const struct tg_tnode *n, tg_index_plan *pl)
{
    pl->p = (int)n->ip[1];
    pl->q = (int)n->ip[2];
    pl->nd = n->out.ndim;
    if (pl->p < 0 || pl->q < 0 || pl->p + pl->q > pl->nd) return -1;
    pl->outer = pl->block = pl->inner = 1;
    for (int d = 0; d < pl->nd; d++) {
        int64_t s = n->out.shape[d];
        if (d < pl->p) pl->outer *= s;
        else if (d < pl->p + pl->q) pl->block *= s;
        else pl->inner *= s;
    }
    return 0;
}

/* 1 when out's inner dims read in[0] contiguously (row-major strides): a row of
 * `inner` consecutive elements per block element. */
static int tg_inner_contiguous(const struct tg_tnode *n, const tg_index_plan *pl)
{
    int64_t s = 1;
    for (int d = pl->nd - 1; d >= pl->p + pl->q; d--) {
        if (n->out.shape[d] != 1 && n->ip[3 + d] != s) return 0;
        s *= n->out.shape[d];
    }
    return 1;
}

/* Advance the odometer idx over out dims [lo, hi), keeping *off (the offset its
 * position reads) in step with the strides ip[3 + d]. */
static inline void tg_odometer_next(const struct tg_tnode *n, int64_t *idx, int lo, int hi,
                                    int64_t *off)
{
    for (int d = hi - 1; d >= lo; d--) {
        *off += n->ip[3 + d];
        if (++idx[d] < n->out.shape[d]) return;
        *off -= n->ip[3 + d] * n->out.shape[d];
        idx[d] = 0;
    }
}

/* The offset a table entry e reads (see tg_index.h). */
static inline int64_t tg_entry(const struct tg_tnode *n, int64_t e)
{
    return (e < 0 ? e + n->ip[TG_IX_WRAP] : e) * n->ip[TG_IX_SCALE];
}

/* 1 when every read of a TT_INDEX node stays inside in[0] and the table is whole. */
static int tg_index_in_bounds(const struct tg_tnode *n, const tg_index_plan *pl)
{
    const tg_view *tab = &n->in[1];
    if (tab->dtype != TG_I64 || tab->buf == NULL || tab->numel != pl->block ||
        (uint64_t)tab->numel > tab->buf->nbytes / sizeof(int64_t)) return 0;
    if (n->out.numel == 0) return 1;
    const int64_t *t = tab->buf->data;
    int64_t lo = n->ip[0], hi = n->ip[0], wrap = n->ip[TG_IX_WRAP];
    if (n->ip[TG_IX_SCALE] < 0 || wrap < 0) return 0;
    for (int64_t a = 0; a < pl->block; a++)          /* (an entry below -wrap stays < 0) */
        if (t[a] < -wrap || (wrap > 0 && t[a] >= wrap)) return 0;
    int64_t tlo = tg_entry(n, t[0]), thi = tlo;
    for (int d = 0; d < pl->nd; d++) {
        if (d >= pl->p && d < pl->p + pl->q) continue;
        int64_t span = (n->out.shape[d] - 1) * n->ip[3 + d];
        if (span < 0) lo += span; else hi += span;
    }
    for (int64_t a = 1; a < pl->block; a++) {
        int64_t e = tg_entry(n, t[a]);
        if (e < tlo) tlo = e;
        if (e > thi) thi = e;
    }
    return lo + tlo >= 0 && hi + thi < n->in[0].numel;
}

/* BODY once per out element k, with src its element of in[0]: the outer and inner
 * basic dims by odometers, the block through the table, a contiguous inner row
 * without one. */
#define TG_INDEX_LOOP(BODY)                                                       \
    do {                                                                          \
        const int64_t *tab_ = n->in[1].buf->data;                                 \
        int64_t oidx_[TG_MAXDIM] = {0}, iidx_[TG_MAXDIM] = {0};                   \
        int64_t ooff_ = n->ip[0], k = 0;                                          \
        int contig_ = tg_inner_contiguous(n, &pl), lo_ = pl.p + pl.q;             \
        for (int64_t o_ = 0; o_ < pl.outer; o_++) {                               \
            for (int64_t a_ = 0; a_ < pl.block; a_++) {                           \
                int64_t base_ = ooff_ + tg_entry(n, tab_[a_]);                    \
                if (contig_) {                                                    \
                    for (int64_t i_ = 0; i_ < pl.inner; i_++, k++) {              \
                        int64_t src = base_ + i_;                                 \
                        BODY;                                                     \
                    }                                                             \
                } else {                                                          \
                    int64_t ioff_ = 0;                                            \
                    for (int64_t i_ = 0; i_ < pl.inner; i_++, k++) {              \
                        int64_t src = base_ + ioff_;                              \
                        BODY;                                                     \
                        tg_odometer_next(n, iidx_, lo_, pl.nd, &ioff_);           \
                    }                                                             \
                }                                                                 \
            }                                                                     \
            tg_odometer_next(n, oidx_, 0, pl.p, &ooff_);                          \
        }                                                                         \
    } while (0)

#define TG_INDEX_FWD(T)                                                           \
    do {                                                                          \
        const T *x = n->in[0].buf->data;                                          \
        T *o = n->out.buf->data;                                                  \
        TG_INDEX_LOOP(o[k] = x[src]);                                             \
    } while (0)

/* The element strides of v broadcast to out's shape (0 along broadcast dims). */
static void tg_where_strides(const tg_view *v, const tg_view *out, int64_t *strides)
{
    int nd = out->ndim;
    int64_t s = 1;
    for (int d = nd - 1; d >= 0; d--) {
        int dv = d - (nd - v->ndim);
        int64_t size = dv >= 0 ? v->shape[dv] : 1;
        strides[d] = (dv < 0 || (size == 1 && out->shape[d] != 1)) ? 0 : s;
        if (dv >= 0) s *= size;
    }
}

/* 1 when in[0], in[1] broadcast to out and the mask covers out. */
static int tg_where_ok(const struct tg_tnode *n)
{
    const tg_view *out = &n->out;
    if (n->aux == NULL || n->aux->nbytes < (size_t)out->numel) return 0;
    for (int k = 0; k < 2; k++) {
        const tg_view *v = &n->in[k];
        if (v->ndim > out->ndim || v->buf == NULL) return 0;
        int64_t numel = 1;
        for (int d = 0; d < v->ndim; d++) {
            int64_t s = v->shape[d], os = out->shape[d + out->ndim - v->ndim];
            if (s != os && s != 1) return 0;
            numel *= s;
        }
        if (numel != v->numel || (uint64_t)numel > v->buf->nbytes / tg_dtype_size(v->dtype))
            return 0;
    }
    return 1;
}

/* BODY per out element k with ka, kb its elements of in[0], in[1] and m its mask. */
#define TG_WHERE_LOOP(BODY)                                                       \
    do {                                                                          \
        int64_t sa_[TG_MAXDIM], sb_[TG_MAXDIM], idx_[TG_MAXDIM] = {0};            \
        int nd_ = n->out.ndim;                                                    \
        tg_where_strides(&n->in[0], &n->out, sa_);                                \
        tg_where_strides(&n->in[1], &n->out, sb_);                                \
        const uint8_t *mask_ = n->aux->data;                                      \
        int64_t ka = 0, kb = 0;                                                   \
        for (int64_t k = 0; k < n->out.numel; k++) {                              \
            int m = mask_[k] != 0;                                                \
            BODY;                                                                 \
            for (int d_ = nd_ - 1; d_ >= 0; d_--) {                               \
                ka += sa_[d_]; kb += sb_[d_];                                     \
                if (++idx_[d_] < n->out.shape[d_]) break;                         \
                ka -= sa_[d_] * n->out.shape[d_]; kb -= sb_[d_] * n->out.shape[d_]; \
                idx_[d_] = 0;                                                     \
            }                                                                     \
        }                                                                         \
    } while (0)

#define TG_WHERE_FWD(T)                                                           \
    do {                                                                          \
        const T *a = n->in[0].buf->data, *b = n->in[1].buf->data;                \
        T *o = n->out.buf->data;                                                  \
        TG_WHERE_LOOP(o[k] = m ? a[ka] : b[kb]);                                  \
    } while (0)

int tg_index_forward(struct tg_tnode *n, uint8_t op)
{
    int dt = n->out.dtype;
    if (dt < 0 || dt >= TG_NDTYPES || n->in[0].dtype != dt) return TG_EDTYPE;
    if (n->out.buf == NULL || n->in[0].buf == NULL ||
        (uint64_t)n->out.numel > n->out.buf->nbytes / tg_dtype_size(dt) ||
        (uint64_t)n->in[0].numel > n->in[0].buf->nbytes / tg_dtype_size(dt)) return -1;
    size_t size = tg_dtype_size(dt);
    if (op == TT_INDEX) {
        tg_index_plan pl;
        if (n->in[1].dtype != TG_I64) return TG_EDTYPE;
        if (tg_index_plan_of(n, &pl) != 0 || !tg_index_in_bounds(n, &pl)) return -1;
        if (size == 1) TG_INDEX_FWD(uint8_t);
        else if (size == 2) TG_INDEX_FWD(uint16_t);
        else if (size == 4) TG_INDEX_FWD(uint32_t);
        else TG_INDEX_FWD(uint64_t);
        return 0;
    }
    if (op == TT_WHERE) {
        if (n->in[1].dtype != dt) return TG_EDTYPE;
        if (!tg_where_ok(n)) return -1;
        if (size == 1) TG_WHERE_FWD(uint8_t);
        else if (size == 2) TG_WHERE_FWD(uint16_t);
        else if (size == 4) TG_WHERE_FWD(uint32_t);
        else TG_WHERE_FWD(uint64_t);
        return 0;
    }
    return -1;
}

#define TG_INDEX_BWD(T)                                                           \
    do {                                                                          \
        const T *gg = g;                                                          \
        T *gx = ga;                                                               \
        int64_t skip_ = n->ip[TG_IX_HAS_SKIP] ? n->ip[TG_IX_SKIP] : INT64_MIN;    \
        int64_t wrap_ = n->ip[TG_IX_WRAP];                                        \
        TG_INDEX_LOOP(if ((tab_[a_] < 0 ? tab_[a_] + wrap_ : tab_[a_]) != skip_)  \
                          gx[src] += gg[k]);                                      \
    } while (0)

#define TG_WHERE_BWD(T)                                                           \
    do {                                                                          \
        const T *gg = g;                                                          \
        T *gx = ga, *gy = gb;                                                     \
        TG_WHERE_LOOP(if (m) { if (gx) gx[ka] += gg[k]; }                         \
                      else if (gy) gy[kb] += gg[k]);                              \
    } while (0)

void tg_index_backward(struct tg_tnode *n, uint8_t op, const void *g, void *ga, void *gb)
{
    int f32 = n->out.dtype == TG_F32;
    if (op == TT_INDEX) {
        tg_index_plan pl;
        if (ga == NULL || tg_index_plan_of(n, &pl) != 0) return;
        if (f32) TG_INDEX_BWD(float); else TG_INDEX_BWD(double);
    } else if (op == TT_WHERE) {
        if (ga == NULL && gb == NULL) return;
        if (f32) TG_WHERE_BWD(float); else TG_WHERE_BWD(double);
    }
}
