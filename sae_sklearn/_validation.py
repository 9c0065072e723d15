"""Parameter checks that ``_parameter_constraints`` cannot express."""

from numbers import Integral

__all__ = ["check_layer_sizes"]


def check_layer_sizes(sizes, name: str, allow_empty: bool = False) -> tuple[int, ...]:
    """Return ``sizes`` as a tuple of positive ints, or raise a ``ValueError``."""
    if isinstance(sizes, Integral) and not isinstance(sizes, bool):
        sizes = (sizes,)
    try:
        sizes = tuple(sizes)
    except TypeError:
        raise ValueError(
            f"{name} must be a sequence of positive integers; got {sizes!r}."
        ) from None
    if not sizes and not allow_empty:
        raise ValueError(f"{name} must name at least one layer size; got ().")
    bad = [size for size in sizes if not isinstance(size, Integral) or size < 1]
    if bad or any(isinstance(size, bool) for size in sizes):
        raise ValueError(f"{name} must contain positive integers only; got {sizes!r}.")
    return tuple(int(size) for size in sizes)
