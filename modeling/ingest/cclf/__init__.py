"""The CMS Claim and Claim Line Feed (CCLF) connector: layouts, staging, MBI crosswalk, claim
versions, claims, beneficiaries and the reconciliation of every line read."""

from modeling.ingest.cclf.ingest import CclfIngestReport, ingest_cclf

__all__ = ["CclfIngestReport", "ingest_cclf"]
