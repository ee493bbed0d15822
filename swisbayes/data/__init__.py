"""Trial data: schema, validation, loaders and the bundled synthetic dataset."""

from .io import SchoolData, frame_sha256, load_example, read_school_data, read_table, validate
from .schema import OUTCOMES, OutcomeSchema, outcome_schema
from .validate import Issue, ValidationReport, validate_frame

__all__ = [
    "OUTCOMES",
    "Issue",
    "OutcomeSchema",
    "SchoolData",
    "ValidationReport",
    "frame_sha256",
    "load_example",
    "outcome_schema",
    "read_school_data",
    "read_table",
    "validate",
    "validate_frame",
]
