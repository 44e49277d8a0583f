"""torch's retain_graph=False, shared by both engines: a first-order sweep without
retain_graph frees the saved tensors of the nodes it went through (the rows of
``_grad_fn_names.HOLDS_SAVED``); a later sweep reaching one of them raises this.
Nodes that save nothing (add, sum, views) stay usable, as in torch. Scalar
``Value`` graphs keep micrograd's retained semantics (a second backward adds the
same gradient again) and replayed programs keep their graph."""

FREED_MESSAGE = (
    "Trying to backward through the graph a second time (or directly access saved tensors "
    "after they have already been freed). Saved intermediate values of the graph are freed "
    "when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to "
    "backward through the graph a second time or if you need to access saved tensors after "
    "calling backward.")


def raise_freed() -> None:
    raise RuntimeError(FREED_MESSAGE)


class FreedSaved(tuple):
    """The reference engine's saved values once freed (kept, so that tapegrad's own
    inspection, ``explain`` and ``draw``, can still sweep the graph: ``thawed``)."""


class thawed:
    """``with thawed(root):`` the graph of root may be swept again although a sweep
    without retain_graph freed it (tapegrad's inspection of a graph after
    ``backward()``; torch keeps no such graph to inspect)."""

    def __init__(self, root: object) -> None:
        from . import _backend
        self.eng = _backend.engine_of(root)
        self.root = root
        self.token: object = None

    def __enter__(self) -> "thawed":
        if self.eng is not None and hasattr(self.eng, "_thaw_graph"):
            self.token = self.eng._thaw_graph([self.root])
        return self

    def __exit__(self, *exc: object) -> None:
        if self.token is not None:
            self.eng._refreeze_graph(self.token)
