"""What a study notebook records and shows, and how a run becomes a funder report."""
from evaltools.report.record import output_dir, record, recorded

__all__ = ["output_dir", "record", "recorded"]
