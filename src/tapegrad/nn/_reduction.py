"""torch's ``reduction=`` handling, shared by the losses and the engines' loss hooks."""

from typing import Any, Optional


def reduce_loss(loss: Any, reduction: str) -> Any:
    """A loss per element reduced as torch's ``reduction=`` says (engines' loss hooks
    use it too)."""
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"{reduction} is not a valid value for reduction")


def legacy_reduction(size_average: Optional[bool], reduce: Optional[bool],
                     reduction: str) -> str:
    """torch's deprecated size_average / reduce arguments folded into ``reduction``."""
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    return ("mean" if size_average else "sum") if reduce else "none"
