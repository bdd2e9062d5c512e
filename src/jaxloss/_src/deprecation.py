"""Renamed keywords: the old name keeps working for one release, with a ``DeprecationWarning``."""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


def renamed(**old_to_new: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Accepts each old keyword ``old=`` as ``new=`` and warns that it is deprecated.

    Apply it under ``@register`` so the warning names the public function::

        @register("embedding", reference="...")
        @renamed(class_weights="centers")
        def arcface_loss(embeddings, labels, centers, *, ...): ...

    Passing both the old and the new name raises ``TypeError``.
    """

    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            for old, new in old_to_new.items():
                if old in kwargs:
                    if new in kwargs:
                        raise TypeError(f"{fn.__name__}: got both {new}= and its deprecated name {old}=")
                    warnings.warn(
                        f"{fn.__name__}: the keyword {old}= is deprecated; use {new}= instead",
                        DeprecationWarning,
                        stacklevel=3,
                    )
                    kwargs[new] = kwargs.pop(old)
            return fn(*args, **kwargs)

        wrapper.__renamed__ = dict(old_to_new)  # pyright: ignore[reportAttributeAccessIssue]  # read by the registry
        return wrapper

    return decorate
