"""CMS Claim and Claim Line Feed (CCLF) files: layouts, reading with claim-version resolution,
and writing a canonical dataset as CCLF deliveries."""

from modeling.cclf.ingest import CclfIngestReport, ingest_cclf
from modeling.cclf.writer import CclfWriteSummary, bill_as_medicare, write_cclf

__all__ = ["CclfIngestReport", "CclfWriteSummary", "bill_as_medicare", "ingest_cclf", "write_cclf"]
