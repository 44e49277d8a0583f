# cython: language_level=3
"""The compiled loops of tapegrad._random (csrc/tg_random.c): thin wrappers over
contiguous numpy buffers; _random.py checks dtypes and sizes before calling."""

from libc.stdint cimport int64_t, uint64_t

cdef extern from "tg_random.h":
    int tg_random_vector_loops
    void tg_box_muller_avx2_f32(float *data, int64_t nblocks, float mean, float std)
    void tg_box_muller_libm_f32(float *data, int64_t nblocks, float mean, float std)
    void tg_box_muller_f64(double *data, int64_t nblocks, double mean, double std)
    void tg_uniform24(const uint64_t *raw, float *out, int64_t n)
    void tg_uniform53(const uint64_t *raw, double *out, int64_t n)
    void tg_fma_f32(const float *a, float b, float c, float *out, int64_t n)
    void tg_fma_f64(const double *a, double b, double c, double *out, int64_t n)
    void tg_log_f64(const double *x, double *out, int64_t n)
    void tg_log1p_neg_f64(const double *x, double *out, int64_t n)
    void tg_randperm_swaps(const uint64_t *r, int64_t n, int64_t *perm)
    void tg_randperm_inside_out(const uint64_t *r, int64_t n, int64_t *perm)


def box_muller_f32(float[::1] data, float mean, float std, bint avx2):
    if data.shape[0] % 16:
        raise ValueError("box_muller_f32: a whole number of 16-value blocks")
    if data.shape[0]:
        if avx2:
            tg_box_muller_avx2_f32(&data[0], data.shape[0] // 16, mean, std)
        else:
            tg_box_muller_libm_f32(&data[0], data.shape[0] // 16, mean, std)


def box_muller_f64(double[::1] data, double mean, double std):
    if data.shape[0] % 16:
        raise ValueError("box_muller_f64: a whole number of 16-value blocks")
    if data.shape[0]:
        tg_box_muller_f64(&data[0], data.shape[0] // 16, mean, std)


def uniform24(const uint64_t[::1] raw, float[::1] out):
    if raw.shape[0] != out.shape[0]:
        raise ValueError("uniform24: one draw per value")
    if out.shape[0]:
        tg_uniform24(&raw[0], &out[0], out.shape[0])


def uniform53(const uint64_t[::1] raw, double[::1] out):
    if raw.shape[0] != 2 * out.shape[0]:
        raise ValueError("uniform53: two draws per value")
    if out.shape[0]:
        tg_uniform53(&raw[0], &out[0], out.shape[0])


def fma_f32(const float[::1] a, float b, float c, float[::1] out):
    if out.shape[0] != a.shape[0]:
        raise ValueError("fma_f32: out and a differ in length")
    if a.shape[0]:
        tg_fma_f32(&a[0], b, c, &out[0], a.shape[0])


def fma_f64(const double[::1] a, double b, double c, double[::1] out):
    if out.shape[0] != a.shape[0]:
        raise ValueError("fma_f64: out and a differ in length")
    if a.shape[0]:
        tg_fma_f64(&a[0], b, c, &out[0], a.shape[0])


def log_f64(const double[::1] x, double[::1] out, bint log1p_neg):
    if out.shape[0] != x.shape[0]:
        raise ValueError("log_f64: out and x differ in length")
    if x.shape[0]:
        if log1p_neg:
            tg_log1p_neg_f64(&x[0], &out[0], x.shape[0])
        else:
            tg_log_f64(&x[0], &out[0], x.shape[0])


def randperm(const uint64_t[::1] r, int64_t[::1] perm, bint inside_out):
    cdef int64_t n = perm.shape[0]
    if r.shape[0] < (n if inside_out else n - 1):
        raise ValueError("randperm: too few draws")
    if n == 1:
        perm[0] = 0
    elif n > 1:
        if inside_out:
            tg_randperm_inside_out(&r[0], n, &perm[0])
        else:
            tg_randperm_swaps(&r[0], n, &perm[0])


def set_vector_loops(bint on):
    """Whether the float32 Box-Muller may use AVX2 (tests switch it off to check the
    lane-by-lane loop); returns the previous setting."""
    global tg_random_vector_loops
    cdef bint previous = tg_random_vector_loops
    tg_random_vector_loops = on
    return previous
