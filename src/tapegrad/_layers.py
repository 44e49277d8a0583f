"""The engine-agnostic layers (nn, optim, autograd) are built once per engine
and re-exported by small modules: ``tapegrad.nn`` for the active engine,
``tapegrad.reference.nn`` for the reference, and so on."""

import functools


def built_once(build):
    """Decorator: ``build(engine)`` runs once per engine module."""
    cache = {}

    @functools.wraps(build)
    def wrapper(engine):
        key = engine.__name__
        if key not in cache:
            cache[key] = build(engine)
        return cache[key]
    return wrapper


def export(module_globals, namespace, skip=()):
    """Copy a built namespace's public names into a module, with ``__all__``."""
    names = [k for k in vars(namespace) if not k.startswith("_") and k not in skip]
    module_globals.update({k: getattr(namespace, k) for k in names})
    module_globals["__all__"] = names + list(skip)   # skipped names are submodules
