"""Trial data: schema, validation, pupil-level reduction, loaders and the bundled dataset."""

from swisbayes.data.checks import Issue, ValidationReport
from swisbayes.data.io import (
    SchoolData,
    frame_sha256,
    load_example,
    read_school_data,
    read_table,
    validate,
)
from swisbayes.data.pupils import (
    SufficientStatistics,
    normalise_pupil_frame,
    sufficient_statistics,
    validate_pupil_frame,
)
from swisbayes.data.schema import OUTCOMES, OutcomeSchema, outcome_schema
from swisbayes.data.schools import validate_frame

__all__ = [
    "OUTCOMES", "Issue", "OutcomeSchema", "SchoolData", "SufficientStatistics", "ValidationReport",
    "frame_sha256", "load_example", "normalise_pupil_frame", "outcome_schema", "read_school_data",
    "read_table", "sufficient_statistics", "validate", "validate_frame", "validate_pupil_frame"
]
