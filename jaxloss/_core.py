"""The shared core: dtype policy, the one reduction path, labels, pytrees.

Every loss ends in :func:`reduce`, so ``weights``, ``where``, ``ignore_index``
and the "nothing valid gives 0 with zero gradients" rule behave identically
across the library.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
from collections.abc import Callable, Iterator
from typing import Any, Literal

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import checkify

Reduction = Literal["mean", "sum", "none"]
REDUCTIONS = ("mean", "sum", "none")

_FUNCTION: contextvars.ContextVar[str] = contextvars.ContextVar("jaxloss_function", default="")
_CHECKING: contextvars.ContextVar[bool] = contextvars.ContextVar("jaxloss_checking", default=False)


# --------------------------------------------------------------------------- naming


def function_name() -> str:
    """Name of the public loss being called (set by the registry), for error messages."""
    return _FUNCTION.get() or "jaxloss"


@contextlib.contextmanager
def calling(name: str) -> Iterator[None]:
    """Marks ``name`` as the public function being called; the outermost call wins."""
    if _FUNCTION.get():
        yield
        return
    token = _FUNCTION.set(name)
    try:
        yield
    finally:
        _FUNCTION.reset(token)


@contextlib.contextmanager
def checking() -> Iterator[None]:
    """Within this context, value checks are emitted as ``checkify.check``."""
    token = _CHECKING.set(True)
    try:
        yield
    finally:
        _CHECKING.reset(token)


def is_traced(x: Any) -> bool:
    return isinstance(x, jax.core.Tracer)


# --------------------------------------------------------------------------- dtypes


def _is_array(x: Any) -> bool:
    return hasattr(x, "dtype") and hasattr(x, "shape")


def compute_dtype(*arrays: Any) -> jnp.dtype:
    """The dtype arithmetic is done in: the widest floating input, at least float32.

    Integer arrays and Python scalars do not widen it (they are cast to it).
    """
    widest = 4
    for a in arrays:
        if _is_array(a) and jnp.issubdtype(a.dtype, jnp.floating):
            widest = max(widest, np.dtype(a.dtype).itemsize)
    return jax.dtypes.canonicalize_dtype(jnp.float64 if widest > 4 else jnp.float32)


def upcast(*arrays: Any, dtype: Any = None) -> tuple[jax.Array, ...]:
    """Converts ``arrays`` to the compute dtype (``None`` entries pass through)."""
    dtype = compute_dtype(*arrays) if dtype is None else dtype
    return tuple(None if a is None else jnp.asarray(a, dtype=dtype) for a in arrays)


def param(value: Any, dtype: Any) -> jax.Array:
    """A numeric hyper-parameter (Python number or traced array) in the compute dtype."""
    return jnp.asarray(value, dtype=dtype)


# --------------------------------------------------------------------------- masks


def broadcast(x: Any, shape: tuple[int, ...], what: str, dtype: Any = None) -> jax.Array:
    """``x`` broadcast to ``shape`` (NumPy rules), or a ``ValueError`` naming ``what``."""
    x = jnp.asarray(x) if dtype is None else jnp.asarray(x, dtype=dtype)
    try:
        target = np.broadcast_shapes(x.shape, shape)
    except ValueError:
        target = None
    if target != tuple(shape):
        raise ValueError(
            f"{function_name()}: {what} has shape {tuple(x.shape)}, which does not broadcast "
            f"to the unreduced loss shape {tuple(shape)}"
        )
    return jnp.broadcast_to(x, shape)


def combine_masks(shape: tuple[int, ...], *masks: Any) -> jax.Array | None:
    """Logical AND of the non-``None`` masks, broadcast to ``shape``."""
    out = None
    for m in masks:
        if m is None:
            continue
        m = broadcast(m, shape, "where", dtype=bool)
        out = m if out is None else out & m
    return out


def sanitize(x: jax.Array, mask: jax.Array | None, fill: float = 0.0) -> jax.Array:
    """Replaces masked-out entries by ``fill`` before the formula runs.

    This is the first half of the double-``where``: it keeps NaN/inf (or a
    singular point of the formula) at masked entries out of the gradient.
    """
    if mask is None:
        return x
    return jnp.where(broadcast(mask, x.shape, "where", dtype=bool), x, jnp.asarray(fill, x.dtype))


# --------------------------------------------------------------------------- reduction


def check_reduction(reduction: str) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(
            f"{function_name()}: reduction must be one of {REDUCTIONS}, got {reduction!r}"
        )


def _leaf_terms(loss, weights, where, valid, normalizer):
    loss = jnp.asarray(loss)
    shape = loss.shape
    mask = combine_masks(shape, where, valid)
    value = loss
    scale = None
    if weights is not None:
        scale = broadcast(weights, shape, "weights", dtype=loss.dtype)
        value = value * scale
    if normalizer is not None:
        n = broadcast(normalizer, shape, "normalizer", dtype=loss.dtype)
        scale = n if scale is None else scale * n
    if mask is not None:
        value = jnp.where(mask, value, jnp.zeros((), loss.dtype))
        scale = mask.astype(loss.dtype) if scale is None else jnp.where(mask, scale, 0)
    denominator = jnp.asarray(loss.size, loss.dtype) if scale is None else jnp.sum(scale)
    return value, denominator


def _leaves(tree: Any, like: Any, what: str) -> list:
    """Leaves of ``tree`` aligned with the leaves of ``like`` (``None`` -> all ``None``)."""
    n = len(jax.tree.leaves(like))
    if tree is None:
        return [None] * n
    if _is_array(tree) or np.isscalar(tree):
        if n == 1:
            return [tree]
        raise ValueError(
            f"{function_name()}: {what} must be a pytree matching the loss pytree "
            f"({n} leaves), got a single array"
        )
    leaves = jax.tree.leaves(tree)
    if jax.tree.structure(tree) != jax.tree.structure(like):
        raise ValueError(
            f"{function_name()}: {what} has pytree structure {jax.tree.structure(tree)} but "
            f"the loss has structure {jax.tree.structure(like)}"
        )
    return leaves


def reduce(
    loss: Any,
    reduction: str = "mean",
    *,
    weights: Any = None,
    where: Any = None,
    valid: Any = None,
    normalizer: Any = None,
) -> Any:
    """The one reduction path of the library.

    Args:
      loss: unreduced loss, an array or a pytree of arrays.
      reduction: ``"mean"``: ``sum(w * l * m) / sum(w * n * m)``; ``"sum"``:
        ``sum(w * l * m)``; ``"none"``: ``w * l`` with masked entries set to 0.
      weights: user weights broadcastable to ``loss`` (a matching pytree for a
        pytree loss).
      where: user mask broadcastable to ``loss``.
      valid: the loss's own validity mask (``ignore_index``, mining validity).
      normalizer: per-entry weights that enter only the denominator of the mean
        (PyTorch's class weights ``w[y_i]``); the loss already carries them.

    When nothing is valid, ``"mean"`` returns ``0`` with zero gradients.
    """
    check_reduction(reduction)
    leaves, treedef = jax.tree.flatten(loss)
    w_leaves = _leaves(weights, loss, "weights")
    m_leaves = _leaves(where, loss, "where")
    v_leaves = _leaves(valid, loss, "valid")
    n_leaves = _leaves(normalizer, loss, "normalizer")
    terms = [
        _leaf_terms(*args) for args in zip(leaves, w_leaves, m_leaves, v_leaves, n_leaves)
    ]
    if reduction == "none":
        values = [v for v, _ in terms]
        return values[0] if treedef.num_leaves == 1 and _is_array(loss) else treedef.unflatten(values)
    dtype = compute_dtype(*(v for v, _ in terms))
    total = sum((jnp.sum(v).astype(dtype) for v, _ in terms), jnp.zeros((), dtype))
    if reduction == "sum":
        return total
    denominator = sum((d.astype(dtype) for _, d in terms), jnp.zeros((), dtype))
    # Double where: the untaken 0/0 branch must not leak NaN into the gradient.
    empty = denominator == 0
    return jnp.where(empty, jnp.zeros((), dtype), total / jnp.where(empty, 1, denominator))


# --------------------------------------------------------------------------- elementwise / pytrees


def elementwise(
    formula: Callable[..., jax.Array],
    *data: Any,
    weights: Any = None,
    where: Any = None,
    reduction: str = "mean",
    names: tuple[str, ...] = ("predictions", "targets"),
    **params: Any,
) -> Any:
    """Applies ``formula(*leaves, **params)`` leaf by leaf and reduces.

    ``data`` are matching pytrees of same-shape arrays; each leaf tuple is
    upcast to its compute dtype, masked entries are sanitised to 0 (so NaN/inf
    there reach neither value nor gradient) and ``params`` are cast to the
    compute dtype. ``"mean"`` over a pytree is the mean over all elements of all
    leaves.
    """
    from . import _contracts

    check_reduction(reduction)
    structure = jax.tree.structure(data[0])
    for name, tree in zip(names[1:], data[1:]):
        if jax.tree.structure(tree) != structure:
            raise ValueError(
                f"{function_name()}: {name} has pytree structure {jax.tree.structure(tree)} "
                f"but {names[0]} has structure {structure}"
            )
    columns = [jax.tree.leaves(tree) for tree in data]
    masks = _leaves(where, data[0], "where")
    out = []
    for leaf_args, mask in zip(zip(*columns), masks):
        _contracts.floating(**{names[0]: leaf_args[0]})
        _contracts.same_shape(**dict(zip(names, leaf_args)))
        arrays = upcast(*leaf_args)
        if mask is not None:
            mask = broadcast(mask, arrays[0].shape, "where", dtype=bool)
            arrays = tuple(sanitize(a, mask) for a in arrays)
        dtype = arrays[0].dtype
        cast = {k: (v if v is None or isinstance(v, bool) else param(v, dtype)) for k, v in params.items()}
        out.append(formula(*arrays, **cast))
    loss = structure.unflatten(out)
    return reduce(loss, reduction, weights=weights, where=where)


# --------------------------------------------------------------------------- labels


def class_labels(
    labels: Any,
    num_classes: int,
    *,
    ignore_index: int | None = None,
    what: str = "labels",
    like: dict[str, Any] | None = None,
) -> tuple[jax.Array, jax.Array | None, jax.Array]:
    """Validates integer class labels.

    Returns ``(safe, valid, bad)``: ``safe`` has every invalid entry replaced by
    0 so it can index; ``valid`` is ``labels != ignore_index`` (``None`` without
    ``ignore_index``); ``bad`` marks out-of-range labels that are not ignored.
    Concrete bad labels raise ``ValueError``; traced ones must be turned into
    NaN by the caller with :func:`poison` (never a finite wrong loss). ``like``
    names the arguments ``num_classes`` comes from; the message shows their shapes.
    """
    labels = jnp.asarray(labels)
    valid = None if ignore_index is None else labels != ignore_index
    in_range = (labels >= 0) & (labels < num_classes)
    bad = ~in_range if valid is None else (~in_range & valid)
    if not is_traced(bad):
        found = np.asarray(labels)[np.asarray(bad)]
        if found.size:
            hint = "" if ignore_index is None else f" and not ignore_index={ignore_index}"
            source = "".join(f"; {k} has shape {tuple(np.shape(v))}" for k, v in (like or {}).items())
            raise ValueError(
                f"{function_name()}: {what} must lie in [0, {num_classes}){hint}; "
                f"found {found.size} entries outside, e.g. {found[:5].tolist()}{source}"
            )
    elif _CHECKING.get():
        checkify.check(
            ~jnp.any(bad),
            f"{function_name()}: {what} has entries outside [0, {num_classes}) "
            "that are not ignore_index",
        )
    safe = jnp.where(in_range, labels, 0).astype(jnp.int32)
    return safe, valid, bad


def poison(loss: jax.Array, bad: jax.Array | None) -> jax.Array:
    """NaN where ``bad`` (out-of-range labels under ``jit``), ``loss`` elsewhere."""
    if bad is None:
        return loss
    return jnp.where(bad, jnp.asarray(jnp.nan, loss.dtype), loss)


def checked(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Wraps a loss so that value errors (out-of-range labels) raise under ``jit``.

    The wrapped function is compiled with :func:`jax.experimental.checkify.checkify`
    (keyword options are static) and raises :class:`ValueError`
    (``checkify.JaxRuntimeError``) when a check fails.

    Args:
      fn: a jaxloss loss (or any function using its label checks).

    Returns:
      A function with the same signature that raises on invalid values.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> ce = jaxloss.checked(jaxloss.softmax_cross_entropy)
      >>> ce(jnp.zeros((2, 3)), jnp.array([0, 7]))
      Traceback (most recent call last):
      ...
      jax._src.checkify.JaxRuntimeError: softmax_cross_entropy: labels has entries outside [0, 3) ...
    """
    import functools

    @functools.lru_cache(maxsize=64)
    def compiled(static: tuple) -> Callable[..., Any]:
        kwargs = dict(static)
        return jax.jit(checkify.checkify(lambda *args: fn(*args, **kwargs)))

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with checking():
            try:
                run = compiled(tuple(sorted(kwargs.items())))
            except TypeError:  # unhashable keyword values: trace without caching
                run = checkify.checkify(lambda *a: fn(*a, **kwargs))
            err, out = run(*args)
        err.throw()
        return out

    return wrapper


# --------------------------------------------------------------------------- vectors


def mul0(a: jax.Array, b: jax.Array) -> jax.Array:
    """``a * b`` with ``0 * inf = 0`` (as in ``xlogy``); elsewhere exactly ``a * b`` and its gradients.

    For a weight ``a`` of a term ``b`` that is infinite only where it has no weight: a
    label-0 class at a ``-inf`` (masked) logit, the wrong class of a saturated sigmoid.
    """
    skip = (a == 0) & jnp.isinf(b)
    # Double where: the unweighted inf must not reach either gradient (0 * inf = NaN).
    return jnp.where(skip, jnp.zeros((), b.dtype), a * jnp.where(skip, jnp.zeros((), b.dtype), b))


def abs0(x: jax.Array) -> jax.Array:
    """``|x|`` whose derivative at 0 is 0 (``jnp.abs`` gives 1 there), as in PyTorch."""
    return x * jnp.sign(x)


def rows(x: jax.Array) -> jax.Array:
    """``x`` as ``[x.shape[0], -1]``; also for an empty batch, where ``reshape(0, -1)`` fails."""
    return jnp.reshape(x, (x.shape[0], math.prod(x.shape[1:])))


def safe_norm(x: jax.Array, axis: Any = -1, keepdims: bool = False, eps: float = 0.0) -> jax.Array:
    """Euclidean norm with a finite (zero) gradient at ``x = 0``.

    Returns ``sqrt(max(sum x^2, eps^2))``-style values: exactly the norm when
    ``eps = 0``.
    """
    sq = jnp.sum(jnp.square(x), axis=axis, keepdims=keepdims)
    return safe_sqrt(sq, floor=eps)


def safe_root(x: jax.Array, p: Any) -> jax.Array:
    """``x ** (1 / p)`` for ``x > 0``, 0 below, with a finite (zero) gradient at 0; NaN stays NaN."""
    # ~(x <= 0) keeps NaN on the root branch; the double where keeps the infinite slope at 0 out.
    positive = ~(x <= 0)
    return jnp.where(positive, jnp.where(positive, x, 1) ** (1.0 / p), jnp.zeros((), x.dtype))


def safe_sqrt(x: jax.Array, floor: float = 0.0) -> jax.Array:
    """``sqrt(x)`` for ``x > floor**2``, ``floor`` below, with a finite gradient at the kink.

    A NaN in ``x`` stays NaN (it is never replaced by ``floor``).
    """
    # ~(x <= f^2) keeps NaN on the sqrt branch; the double where keeps sqrt'(0) = inf out of the gradient.
    positive = ~(x <= floor**2)
    return jnp.where(positive, jnp.sqrt(jnp.where(positive, x, 1)), jnp.asarray(floor, x.dtype))


def l2_normalize(x: jax.Array, axis: int = -1, eps: float = 1e-12) -> jax.Array:
    """``x / max(||x||, eps)`` (torch ``F.normalize``); zero vectors stay zero, finite gradient."""
    return x / safe_norm(x, axis=axis, keepdims=True, eps=eps)
