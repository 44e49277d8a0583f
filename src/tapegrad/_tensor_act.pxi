# The compiled engine's activation, loss and pad primitives (issue 12; kernels in
# csrc/tg_activation.c). Argument checks, dtype promotion and broadcasting are done
# once for both engines by tapegrad.nn.functional, which calls these hooks with
# tensors of one floating dtype and (for the losses) one shape.

cdef tuple _ACT_REDUCTIONS = ("sum", "mean", "none")     # ip[0] of the loss nodes
cdef dict _ACT_UNARY = {"erf": TT_ERF, "gelu": TT_GELU, "silu": TT_SILU,
                        "leaky_relu": TT_LEAKY_RELU, "elu": TT_ELU, "softplus": TT_SOFTPLUS}


def _activation(Tensor input, str name, double a=0.0, double b=0.0, int flag=0):
    """One elementwise node of tg_activation.c: a, b its float parameters (dp), flag
    gelu's approximate='tanh'. Integers meet it in float32 (erf)."""
    return _unary(_ACT_UNARY[name], input, name, a, b, flag, 0)


def erf(input):
    """The error function elementwise (ErfBackward0)."""
    return _activation(_tensor_arg(input, "erf"), "erf")


cdef tg_tnode *_loss_node(Tensor input, Tensor target, str reduction) except NULL:
    _check_live(input)
    _check_live(target)
    cdef tg_tnode *n = _node(input, target)
    try:
        if reduction == "none":
            _set_shape(&n.out, _shape_of(&input.v), input.v.dtype)
        else:
            _set_shape(&n.out, (), input.v.dtype)
    except BaseException:
        tg_tnode_free(n)
        raise
    n.ip[0] = _ACT_REDUCTIONS.index(reduction)
    return n


def _pointwise_loss(Tensor input, Tensor target, str name, str reduction, double param):
    """smooth_l1_loss (param beta) or huber_loss (param delta) as one node; input and
    target of one shape and floating dtype."""
    cdef tg_tnode *n = _loss_node(input, target, reduction)
    n.ip[1] = name == "huber_loss"
    n.dp[0] = param
    n.grad_fn = NAME_HUBER_LOSS if name == "huber_loss" else 0
    return _run(TT_SMOOTH_L1, n, input, target)


def _bce_with_logits(Tensor input, Tensor target, weight, pos_weight, str reduction):
    """binary_cross_entropy_with_logits as one node; weight and pos_weight (numpy
    arrays broadcast to input's shape, or None) ride along as constants (aux)."""
    consts = [a for a in (weight, pos_weight) if a is not None]
    cdef Tensor packed
    cdef tg_tnode *n = _loss_node(input, target, reduction)
    n.ip[1] = weight is not None
    n.ip[2] = pos_weight is not None
    if consts:
        try:
            packed = _from_numpy(np.concatenate([np.ravel(a) for a in consts]), input.v.dtype)
        except BaseException:
            tg_tnode_free(n)
            raise
        n.aux = packed.v.buf
        tg_buf_incref(packed.v.buf)
    return _run(TT_BCE_LOGITS, n, input, target)


def _constant_pad(Tensor input, tuple pad, list before, list out_shape, double value):
    """torch's constant_pad_nd: out coordinate c reads input coordinate c - before[d]
    (the value elsewhere); pad is torch's tuple, checked by the caller."""
    _check_live(input)
    cdef tg_tnode *n = _node(input, None)
    try:
        _set_shape(&n.out, out_shape, input.v.dtype)
    except BaseException:
        tg_tnode_free(n)
        raise
    for d in range(len(before)):
        n.ip[d] = before[d]
    n.dp[0] = value
    return _run(TT_PAD, n, input, None)


cdef object _act_row_of(const tg_tnode *n, uint8_t op):
    """(row, ctx) of a tg_activation.c slot for create_graph=True (_higher.pxi), or None."""
    if op == TT_ERF or op == TT_SILU:
        return ("erf" if op == TT_ERF else "silu"), None
    if op == TT_GELU:
        return "gelu", ("tanh" if n.ip[0] else "none")
    if op == TT_LEAKY_RELU or op == TT_ELU:
        return ("leaky_relu" if op == TT_LEAKY_RELU else "elu"), n.dp[0]
    if op == TT_SOFTPLUS:
        return "softplus", (n.dp[0], n.dp[1])
    if op == TT_SMOOTH_L1:
        return ("huber_loss" if n.ip[1] else "smooth_l1_loss"), (_ACT_REDUCTIONS[n.ip[0]], n.dp[0])
    cdef int64_t numel = n.in_[0].numel
    if op == TT_BCE_LOGITS:
        shape = _shape_of(&n.in_[0])
        flat = None
        if n.aux != NULL:
            dt = _NP_DTYPES[n.out.dtype]
            flat = np.frombuffer((<char *>n.aux.data)[:n.aux.nbytes], dtype=dt)
        w = flat[:numel].reshape(shape) if n.ip[1] else None
        pw = flat[numel if n.ip[1] else 0:][:numel].reshape(shape) if n.ip[2] else None
        return "binary_cross_entropy_with_logits", (w, pw, _ACT_REDUCTIONS[n.ip[0]])
    if op == TT_PAD:
        pad = []
        for d in range(n.out.ndim - 1, -1, -1):
            pad += [n.ip[d], n.out.shape[d] - n.in_[0].shape[d] - n.ip[d]]
        return "constant_pad_nd", tuple(pad)
    return None
