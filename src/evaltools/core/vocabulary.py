"""The API vocabulary's two helpers (``docs/api.md``).

- :func:`choice`: a ``Literal`` option accepted in any case (``"ATT"``, ``"att"``),
  returned in its documented spelling, or one clear error listing the choices;
- :func:`renamed`: a decorator that keeps the old names of renamed keywords, and the
  old positions of options that became keyword-only, working for one release with a
  :class:`DeprecationWarning` pointing at the caller's line.
"""
from __future__ import annotations

import functools
import inspect
import warnings
from typing import Any, Callable, Iterable, TypeVar

from evaltools.core.errors import InputError, InputTypeError

F = TypeVar("F", bound=Callable[..., Any])


def choice(value: Any, allowed: Iterable[str], name: str, *, where: str = "", hint: str = "",
           error: type[Exception] = InputError) -> str:
    """``value`` matched to one of ``allowed`` ignoring case; the allowed spelling is returned.
    Otherwise ``error`` (an :class:`InputError` by default; a module's own subclass keeps
    its ``except`` clauses working) names the parameter and the choices, then ``hint``.

    >>> choice("att", ("ATT", "ATE"), "estimand")
    'ATT'
    """
    options = tuple(allowed)
    if isinstance(value, str):
        folded = value.strip().casefold()
        for option in options:
            if option.casefold() == folded:
                return option
    prefix = f"{where}: " if where else ""
    raise error(f"{prefix}{name} must be one of {', '.join(repr(o) for o in options)} "
                     f"(any case); got {value!r}." + (f" {hint}" if hint else ""))


def renamed(*, positional: tuple[str, ...] = (), **renames: str) -> Callable[[F], F]:
    """Keep old call forms working for one release, with a ``DeprecationWarning``.

    ``renames``: ``old_keyword="new_keyword"``. ``positional``: the options, in their old
    order, that a caller could pass by position after the parameters still positional
    (they are keyword-only now). ``inspect.signature`` of the result shows the new
    signature; the old names are in ``func.__renamed__``.
    """

    def decorate(func: F) -> F:
        params = inspect.signature(func).parameters
        n_positional = sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params.values())
        for new in (*renames.values(), *positional):
            if new not in params:
                raise TypeError(f"{func.__name__} has no parameter {new!r}")
        name = func.__name__

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if positional and len(args) > n_positional:
                extra = args[n_positional:]
                if len(extra) > len(positional):
                    raise InputTypeError(f"{name}() takes at most {n_positional + len(positional)} "
                                         f"positional arguments; pass the options by keyword (docs/api.md).")
                names = positional[: len(extra)]
                for key, value in zip(names, extra):
                    if key in kwargs:
                        raise InputTypeError(f"{name}() got {key!r} both by position and by keyword.")
                    kwargs[key] = value
                args = args[:n_positional]
                warnings.warn(f"{name}(): pass {', '.join(names)} by keyword ({names[0]}=...); options "
                              f"given by position stop working in the next release (docs/api.md).",
                              DeprecationWarning, stacklevel=2)
            for old, new in renames.items():
                if old in kwargs:
                    if new in kwargs:
                        raise InputTypeError(f"{name}() got {old}= (the old name) and {new}=; pass {new}= only.")
                    kwargs[new] = kwargs.pop(old)
                    warnings.warn(f"{name}(): {old}= is now {new}= (docs/api.md); the old name stops "
                                  f"working in the next release.", DeprecationWarning, stacklevel=2)
            return func(*args, **kwargs)

        wrapper.__renamed__ = dict(renames)  # type: ignore[attr-defined]
        wrapper.__positional_until__ = tuple(positional)  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate
