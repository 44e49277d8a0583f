/* The scalar Value handle's hot path, in C: its layout, a freelist, and the
 * recording of one node into a new handle. Included by _engine.pyx only.
 *
 * The Python-side arithmetic (Value.__add__ and friends, _engine.pyx) checks its
 * operands, reserves room and computes the value; what is left per op is
 * allocating the handle, attaching it to the new node and, when the handle dies,
 * releasing the node. Cython's generic object creation and destruction cost more
 * than that work (an argument tuple for __cinit__, zeroing the object, setting
 * `tape` to None and back), so both happen here, and _engine.pyx installs
 * tg_value_dealloc as the type's tp_dealloc. The layout below must match the
 * Cython struct of `Value` (_engine.pxd); tg_value_install checks it at import. */
#ifndef TG_VALUE_H
#define TG_VALUE_H

#include <Python.h>
#include <stddef.h>
#include "tg_tape.h"

typedef struct {
    PyObject_HEAD
    PyObject *tape;          /* the _Tape holding the slot (None until attached) */
    tg_tape *t;              /* its C tape */
    tg_index index;          /* slot index; TG_FREED / TG_UNSET when there is none */
} tg_value;

/* Dead handles kept for reuse (the most recent on top: still in cache). The
 * GIL guards it; a free-threaded build allocates every handle anew. */
#ifdef Py_GIL_DISABLED
#define TG_VALUE_FREELIST 0
#else
#define TG_VALUE_FREELIST 1024
#endif
static tg_value *tg_value_freelist[TG_VALUE_FREELIST + 1];
static int tg_value_free_count = 0;
static PyTypeObject *tg_value_type = NULL;     /* set by tg_value_install */

/* A Value handle of node `index` of tape (which it keeps alive), or NULL with
 * MemoryError set. The node's owner becomes the handle's index field. */
static inline PyObject *tg_value_attach(PyObject *tape, tg_tape *t, tg_index index)
{
    tg_value *v;
    if (tg_value_free_count > 0) {
        v = tg_value_freelist[--tg_value_free_count];
#if defined(Py_REF_DEBUG) || defined(Py_TRACE_REFS)
        (void)PyObject_Init((PyObject *)v, tg_value_type);
#else
        Py_SET_REFCNT(v, 1);                 /* its type stays; nothing else to reset */
#endif
    } else {
        v = (tg_value *)tg_value_type->tp_alloc(tg_value_type, 0);
        if (v == NULL) return NULL;
    }
    Py_INCREF(tape);
    v->tape = tape;
    v->t = t;
    v->index = index;
    t->owner[index] = &v->index;
    return (PyObject *)v;
}

/* Record a scalar node (room reserved by the caller) and return its handle,
 * or NULL with MemoryError set (then nothing was recorded). */
static inline PyObject *tg_value_push(PyObject *tape, tg_tape *t, uint8_t op, tg_index a,
                                      tg_index b, double c, double value)
{
    tg_index i = tg_tape_push(t, op, a, b, c, value, NULL);
    PyObject *v = tg_value_attach(tape, t, i);
    if (v == NULL) t->node_count--;          /* the node was the last one: take it back */
    return v;
}

/* tp_dealloc: release the slot (the node stays while other nodes need it), then
 * the tape reference (which may free the tape: the slot goes first), then the
 * object itself, to the freelist when there is room. */
static void tg_value_dealloc(PyObject *o)
{
    tg_value *v = (tg_value *)o;
    if (v->index >= 0) tg_tape_release(v->t, v->index);
    Py_CLEAR(v->tape);
    if (tg_value_free_count < TG_VALUE_FREELIST && Py_TYPE(o) == tg_value_type) {
        tg_value_freelist[tg_value_free_count++] = v;
        return;
    }
    Py_TYPE(o)->tp_free(o);
}

/* The Value whose index field is at `field` (a borrowed reference). */
static inline PyObject *tg_value_of_index(tg_index *field)
{
    return (PyObject *)((char *)field - offsetof(tg_value, index));
}

/* ------------------------------------------------------------------------ */
/* The arithmetic slots' fast path: a Value and a Value on the same tape, or a
 * Value and an exact float or int, with room on the tape and a live handle.
 * Anything else (a stale handle, a full tape, mixed tapes, other types, a huge
 * int) goes to the slots Cython generated from Value.__add__ and friends, which
 * record the same node or raise; both compute the value with the same
 * tg_eval_*_in_mode call. */

static PyNumberMethods tg_value_general;       /* Cython's slots, saved by tg_value_install */

#if defined(_MSC_VER)
#define TG_ALWAYS_INLINE __forceinline
#elif defined(__GNUC__) || defined(__clang__)
#define TG_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define TG_ALWAYS_INLINE inline
#endif

/* o (a Value) is a live handle with room for one more node on its tape. */
static inline int tg_value_ready(PyObject *o)
{
    tg_value *v = (tg_value *)o;
    return v->index >= 0 && v->t->node_count < v->t->node_cap;
}

/* o as a double when it is an exact float or int (int converted as float(o)). */
static inline int tg_value_constant(PyObject *o, double *out)
{
    if (PyFloat_CheckExact(o)) {
        *out = PyFloat_AS_DOUBLE(o);
        return 1;
    }
    if (PyLong_CheckExact(o)) {
        double d = PyLong_AsDouble(o);
        if (d == -1.0 && PyErr_Occurred()) {      /* too large: the general path raises */
            PyErr_Clear();
            return 0;
        }
        *out = d;
        return 1;
    }
    return 0;
}

/* Record op on Value o (ready: a live handle, room on its tape) with constant c.
 * Always inlined, so that the slots' op cases are picked at compile time. */
static TG_ALWAYS_INLINE PyObject *tg_value_unary(uint8_t op, PyObject *o, double c)
{
    tg_value *x = (tg_value *)o;
    tg_tape *t = x->t;
    return tg_value_push(x->tape, t, op, x->index, -1, c,
                         tg_eval_unary_in_mode(op, t->value[x->index], c));
}

/* x OP y: op_vv for two Values, op_vc for Value OP c (OP -c when negate_c), op_cv
 * for c OP Value; or NULL (no error set) for the general path. */
static inline PyObject *tg_value_binary_fast(PyObject *x, PyObject *y, uint8_t op_vv,
                                             uint8_t op_vc, int negate_c, uint8_t op_cv)
{
    double c;
    if (Py_TYPE(x) == tg_value_type) {
        if (!tg_value_ready(x)) return NULL;
        if (Py_TYPE(y) == tg_value_type) {
            tg_value *a = (tg_value *)x, *b = (tg_value *)y;
            tg_tape *t = a->t;
            if (b->index < 0 || b->t != t) return NULL;
            return tg_value_push(a->tape, t, op_vv, a->index, b->index, 0.0,
                                 tg_eval_binary_in_mode(op_vv, t->value[a->index],
                                                        t->value[b->index]));
        }
        if (!tg_value_constant(y, &c)) return NULL;
        return tg_value_unary(op_vc, x, negate_c ? -c : c);
    }
    if (Py_TYPE(y) == tg_value_type && tg_value_ready(y) && tg_value_constant(x, &c))
        return tg_value_unary(op_cv, y, c);
    return NULL;
}

#define TG_VALUE_SLOT(slot, op_vv, op_vc, negate_c, op_cv)                        \
    static PyObject *tg_value_##slot(PyObject *x, PyObject *y)                    \
    {                                                                             \
        PyObject *r = tg_value_binary_fast(x, y, op_vv, op_vc, negate_c, op_cv);  \
        if (r != NULL || PyErr_Occurred()) return r;                              \
        return tg_value_general.slot(x, y);                                       \
    }
TG_VALUE_SLOT(nb_add, TG_ADD, TG_ADD_CONST, 0, TG_ADD_CONST)
TG_VALUE_SLOT(nb_subtract, TG_SUB, TG_ADD_CONST, 1, TG_RSUB_CONST)
TG_VALUE_SLOT(nb_multiply, TG_MUL, TG_MUL_CONST, 0, TG_MUL_CONST)
TG_VALUE_SLOT(nb_true_divide, TG_DIV, TG_DIV_CONST, 0, TG_RDIV_CONST)
#undef TG_VALUE_SLOT

static PyObject *tg_value_nb_power(PyObject *x, PyObject *y, PyObject *mod)
{
    if (mod == Py_None) {
        PyObject *r = tg_value_binary_fast(x, y, TG_POW, TG_POW_CONST, 0, TG_RPOW_CONST);
        if (r != NULL || PyErr_Occurred()) return r;
    }
    return tg_value_general.nb_power(x, y, mod);
}

static PyObject *tg_value_nb_negative(PyObject *x)
{
    if (Py_TYPE(x) == tg_value_type && tg_value_ready(x)) return tg_value_unary(TG_NEG, x, 0.0);
    return tg_value_general.nb_negative(x);
}

/* Take over the handle's destruction and the arithmetic slots' fast paths, given
 * a fresh handle made by Cython's tp_new (`tape` None): 0, or -1 with
 * ImportError set when the Cython struct's layout is not tg_value's. */
static int tg_value_install(PyTypeObject *type, PyObject *probe, Py_ssize_t t_offset,
                            Py_ssize_t index_offset)
{
    PyNumberMethods *nb = type->tp_as_number;
    if (type->tp_basicsize != (Py_ssize_t)sizeof(tg_value) ||
        t_offset != (Py_ssize_t)offsetof(tg_value, t) ||
        index_offset != (Py_ssize_t)offsetof(tg_value, index) ||
        ((tg_value *)probe)->tape != Py_None || nb == NULL || nb->nb_add == NULL ||
        nb->nb_subtract == NULL || nb->nb_multiply == NULL || nb->nb_true_divide == NULL ||
        nb->nb_power == NULL || nb->nb_negative == NULL) {
        PyErr_SetString(PyExc_ImportError,
                        "tapegrad: Value's layout differs from csrc/tg_value.h; rebuild");
        return -1;
    }
    if (tg_value_type != NULL) return 0;          /* installed already */
    tg_value_type = type;
    type->tp_dealloc = tg_value_dealloc;
    tg_value_general = *nb;
    nb->nb_add = tg_value_nb_add;
    nb->nb_subtract = tg_value_nb_subtract;
    nb->nb_multiply = tg_value_nb_multiply;
    nb->nb_true_divide = tg_value_nb_true_divide;
    nb->nb_power = tg_value_nb_power;
    nb->nb_negative = tg_value_nb_negative;
    return 0;
}

#endif
