"""Code sets that several layers read, declared once.

Medicare dual status codes (CMS MMA file / Tuva ``dual_status_code``): 02, 04 and 08 are full
benefit duals (QMB+, SLMB+, other full); 01, 03, 05 and 06 are partial benefit duals (QMB only,
SLMB only, QDWI, QI). Medicare status codes (``medicare_status_code``): 10 aged, 11 aged with
ESRD, 20 disabled, 21 disabled with ESRD, 31 ESRD only.
"""

from __future__ import annotations

FULL_DUAL = ("02", "04", "08")
PARTIAL_DUAL = ("01", "03", "05", "06")
FULL_OR_PARTIAL_DUAL = tuple(sorted(FULL_DUAL + PARTIAL_DUAL))
ESRD_MEDICARE_STATUSES = ("11", "21", "31")
DISABLED_MEDICARE_STATUS = "20"
# revenue centers 0450-0459 (emergency room) and 0981 (professional fees, emergency room);
# matched as a set of codes, which costs less per line than a pattern
ED_REVENUE = (*(f"045{digit}" for digit in range(10)), "0981")
