"""evaltools.core: the bottom layer every other package builds on.

- :mod:`evaltools.core.result`: the result protocol (:class:`Result`,
  :class:`ResultMixin`: ``.to_frame()``, ``.to_dict()``, ``.summary()``, text ``repr``,
  ``_repr_html_``) and :class:`Estimate`, one estimated quantity;
- :mod:`evaltools.core.errors`: one error hierarchy under :class:`EvaltoolsError`
  (input, data, params, disclosure, privacy);
- :mod:`evaltools.core.inputs`: the input checks (``require_columns``, ``as_list``,
  ``finite``, ``proportion``, ...), one message per mistake.

Core imports nothing else from evaltools (see ``docs/architecture.md``, "Layers").
Names load on first use (see ``evaltools._lazy``): the errors cost nothing to import.
"""
from evaltools._lazy import install

_EXPORTS = {
    "errors": ["EvaltoolsError", "InputError", "InputTypeError", "ColumnNotFoundError", "DataError",
               "ParamsError", "DisclosureError", "PrivacyError", "EvaltoolsWarning"],
    "result": ["Estimate", "Result", "ResultMixin", "SummaryText", "few_clusters_note", "record_dict"],
    "inputs": ["as_list", "show", "require_frame", "require_columns"],
}

install(__name__, {name: module for module, names in _EXPORTS.items() for name in names})
