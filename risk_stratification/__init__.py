"""Risk stratification: CMS-HCC risk scores, machine-learned risk, tiers, recapture gaps and
care-management targeting. Built on the canonical tables in ``modeling``."""
