"""What a study notebook records and shows, and how a run becomes a funder report.

Names load on first use (see ``evaltools._lazy``): the runner imports
``evaltools.report.record`` without paying for babel, scipy or matplotlib.
Figures live in ``evaltools.report.figures`` (seaborn is slow to import).
"""
from evaltools._lazy import install

_EXPORTS = {
    "record": ["output_dir", "record", "recorded"],
    # funder-facing layer: disclosure control, two languages, tables, headline card (issue 6)
    "disclosure": ["Dominance", "Link", "ProtectedTable", "ProtectedValue", "assert_safe", "protect",
                   "protect_linked", "protect_value", "safe_count", "same"],
    "deviations": ["design_change"],
    "i18n": ["get_language", "set_language", "t"],
    "tables": ["balance_table", "did_table", "model_table", "publish_table"],
    "comparison": ["ModelComparison", "compare_models"],  # models side by side: HTML, LaTeX, Markdown, Word
    "headline": ["headline_card"],
    "flow": ["sample_flow"],
}

# record is both a module and a function (legacy, see evaltools._lazy): the name is the function
install(__name__, {name: module for module, names in _EXPORTS.items() for name in names},
        shadowed=("record",))
