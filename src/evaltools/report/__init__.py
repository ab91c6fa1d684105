"""What a study notebook records and shows, and how a run becomes a funder report."""
from evaltools.report.record import output_dir, record, recorded

__all__ = ["output_dir", "record", "recorded"]

# Funder-facing layer: disclosure control, two languages, tables, headline card, sections
# (issue 6). Figures live in evaltools.report.figures (not imported here: seaborn is slow).
from evaltools.report.disclosure import ProtectedTable, assert_safe, protect, safe_count  # noqa: E402
from evaltools.report.i18n import get_language, set_language, t  # noqa: E402
from evaltools.report.tables import balance_table, did_table, model_table, publish_table  # noqa: E402
from evaltools.report.headline import headline_card  # noqa: E402

__all__ += ["ProtectedTable", "assert_safe", "protect", "safe_count", "get_language", "set_language",
            "t", "balance_table", "did_table", "model_table", "publish_table", "headline_card"]
