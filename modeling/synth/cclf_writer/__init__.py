"""Write a canonical dataset as CMS CCLF deliveries (monthly files plus a run-out), for testing
the reader on realistic input and for users who want CCLF-shaped synthetic data.

What the writer does, so that a round trip (dataset -> CCLF -> ingest) is exact and the files
still exercise everything the reader must handle:

- One monthly delivery per calendar month of the data, named as CMS does
  (``P.A9999.ACO.ZC1Y24.D240131.T1200000``), dated the month's last day: its CCLF8 lists the
  beneficiaries enrolled that month with that month's dual and Medicare status; its claim files
  hold the claim versions that took effect that month (a version's effective date is the claim's
  paid date, later for adjustments). Versions effective after the last month go to a run-out
  delivery (``ZCnR``). Each delivery has a CCLF0 with its record counts and the full CCLF9.
- Institutional claims are billed as Medicare bills them: one Part A claim per billing provider,
  person and from/thru dates (the CCLF natural key), so source claims sharing that key are merged
  into one (``bill_as_medicare``; the inpatient or emergency claim leads, lines are renumbered,
  diagnoses and procedures are unioned in order). Professional lines go to CCLF5, DMEPOS lines
  (the durable-medical-equipment category) to CCLF6, fills to CCLF7.
- A share of claims is adjusted (an original with other amounts, its cancellation, then the
  adjustment with the true amounts); a share of phantom claims is billed and then cancelled (they
  must vanish); a share of fills is re-adjudicated or deleted; a share of beneficiaries changed
  MBI, with their earlier records under the previous MBI and the change in CCLF9.

What CCLF cannot carry is not written: Part D plan paid amounts (CCLF7 has only the
beneficiary's payment, written as allowed minus paid), DME diagnoses (CCLF6 has none), names and
addresses (the synthetic population has none).
"""

from modeling.synth.cclf_writer.billing import bill_as_medicare
from modeling.synth.cclf_writer.records import format_records
from modeling.synth.cclf_writer.writer import CclfWriteSummary, write_cclf

__all__ = ["CclfWriteSummary", "bill_as_medicare", "format_records", "write_cclf"]
