"""Clinical quality measures over the core: AHRQ PQIs, hospital outcomes and transitions,
screening, medication adherence; results by panel or provider with benchmarks, and care gaps."""

from modeling.marts.quality.definitions import MEASURE_IDS, measure, measures
from modeling.marts.quality.engine import (
    PROCESS_MEASURES,
    RESULT_COLUMNS,
    care_gaps,
    measure_rows,
    quality_results,
)

__all__ = [
    "MEASURE_IDS",
    "PROCESS_MEASURES",
    "RESULT_COLUMNS",
    "care_gaps",
    "measure",
    "measure_rows",
    "measures",
    "quality_results",
]
