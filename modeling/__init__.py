"""vbc-modeler's data foundation: the canonical data model, ingest and validation, derived
tables (member months, service categories, inpatient stays, PMPM), the synthetic population
and the workspace store."""

__version__ = "0.1.0"
