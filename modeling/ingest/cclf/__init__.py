"""The CMS Claim and Claim Line Feed (CCLF) connector, in the order of its steps: layouts and
files, staging, MBI crosswalk, claim versions, claims, beneficiaries and the reconciliation of
every line read; ``ingest`` runs them."""

from modeling.ingest.cclf.ingest import ingest_cclf
from modeling.ingest.cclf.reconciliation import CclfIngestReport, FileReconciliation

__all__ = ["CclfIngestReport", "FileReconciliation", "ingest_cclf"]
