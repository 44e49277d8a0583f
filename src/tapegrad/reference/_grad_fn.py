"""grad_fn objects of the reference engine: ``Node`` (a recorded op as torch shows it,
with torch's class name from the op table) and ``AccumulateGrad`` (a leaf)."""

from ._rules import RULES

_new = object.__new__


# ----------------------------------------------------------------------------
# grad_fn objects: views of a tensor's node, with torch's class names

class Node:
    """A recorded operation as torch shows it (``tensor.grad_fn``)."""

    __slots__ = ("_t",)

    def name(self):
        return type(self).__name__

    @property
    def next_functions(self):
        return tuple((_node_of(p), 0) for p in self._t._parents)

    def _output(self):
        """The tensor this node computed (for ``tapegrad.draw`` / ``explain``)."""
        return self._t

    def __eq__(self, other):
        return type(other) is type(self) and other._t is self._t

    def __hash__(self):
        return id(self._t)

    def __repr__(self):
        return f"<{type(self).__name__} object at {id(self):#x}>"


class AccumulateGrad(Node):
    """The node that adds a gradient into a leaf's ``.grad``."""

    __slots__ = ()

    @property
    def variable(self):
        return self._t

    @property
    def next_functions(self):
        return ()


_NODE_TYPES: dict = {}    # torch name -> Node subclass of that name


def _node_of(t):
    """The grad_fn of t (AccumulateGrad for a leaf that requires grad), or None."""
    if t is None:
        return None
    if t._op is None:
        if not t._requires_grad:
            return None
        n = _new(AccumulateGrad)
    elif t._op in ("_function", "_function_output"):     # a custom Function: its ctx
        return t._ctx if t._op == "_function" else t._ctx[0]
    else:
        name = RULES[t._op].torch_name
        cls = _NODE_TYPES.get(name)
        if cls is None:
            cls = _NODE_TYPES[name] = type(name, (Node,), {"__slots__": ()})
        n = _new(cls)
    n._t = t
    return n
