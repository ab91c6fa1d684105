"""One error hierarchy for evaltools: catch :class:`EvaltoolsError` to catch them all.

::

    EvaltoolsError                 anything evaltools refuses, with a message saying what,
    │                              where (file, column, row, parameter) and how to fix it
    ├── InputError                 bad arguments to a function (a ValueError)
    │   ├── InputTypeError         an argument of the wrong type (also a TypeError)
    │   └── ColumnNotFoundError    a column named in the call is not in the data (also a KeyError)
    ├── DataError                  the data cannot support what was asked (a ValueError)
    ├── ParamsError                a params file, parameter, mapping, policy or catalogue is wrong
    ├── DisclosureError            a published number would break disclosure control
    └── PrivacyError               a file or page would reveal a person or leak a reader

Each category is also a ``ValueError`` (what a bad value has always raised here), and a
module's own error class keeps its historical builtin base beside its category, e.g.
``class DisclosureInputError(InputError, ValueError)``, so existing ``except ValueError``
or ``except KeyError`` code keeps working. Warnings share :class:`EvaltoolsWarning`.

No message ever quotes a value of an identifier column (see ``docs/privacy.md``).
"""
from __future__ import annotations


class EvaltoolsError(Exception):
    """Base of every error evaltools raises on purpose."""


class InputError(EvaltoolsError, ValueError):
    """An argument of a function is invalid: the message names the parameter and the fix."""


class InputTypeError(InputError, TypeError):
    """An argument has the wrong type (e.g. ``data`` is not a pandas DataFrame)."""


class ColumnNotFoundError(InputError, KeyError):
    """A column named in the call (or its options) is not in the data."""

    def __str__(self) -> str:  # KeyError quotes its message; show it as a sentence
        return str(self.args[0]) if self.args else ""


class DataError(EvaltoolsError, ValueError):
    """The data cannot be read or cannot support the computation asked for."""


class ParamsError(EvaltoolsError, ValueError):
    """A params file, a notebook parameter, a column mapping, ``disclosure.yaml`` or another
    configuration file (a study's message catalogue) is wrong."""


class DisclosureError(EvaltoolsError, ValueError):
    """A published table or value would show a count that disclosure control must hide."""


class PrivacyError(EvaltoolsError, ValueError):
    """A published file or page would reveal a person, or leak who reads it."""


class EvaltoolsWarning(UserWarning):
    """Base of every warning evaltools issues (filter them all with this class)."""


__all__ = [
    "EvaltoolsError", "InputError", "InputTypeError", "ColumnNotFoundError", "DataError",
    "ParamsError", "DisclosureError", "PrivacyError", "EvaltoolsWarning",
]
