"""One year's medical services for a chunk of members, one module per service line.

``base`` holds the shared ``ServiceContext`` and its helpers; ``ambulatory`` office visits, the
service catalog, ED visits, ambulance and observation; ``inpatient`` admissions, readmissions and
catastrophic stays; ``post_acute`` joint replacements, SNF and home health;
``hospice_dialysis`` hospice and dialysis.
"""

from __future__ import annotations

from modeling.synth.services.ambulatory import (
    catalog_services,
    ed_visits,
    observation_stays,
    office_visits,
)
from modeling.synth.services.base import ServiceContext
from modeling.synth.services.hospice_dialysis import dialysis, hospice
from modeling.synth.services.inpatient import catastrophic_stays, inpatient
from modeling.synth.services.post_acute import joint_replacements, post_acute

__all__ = ["ServiceContext", "generate_services"]

# Every line draws from the chunk's one generator, so this order is part of the output (same seed,
# same bytes); lines later in it also read what earlier ones left in the context (discharges
# for post-acute care, terminal stays and discharges to hospice for hospice).
SERVICE_LINES = (
    office_visits,
    catalog_services,
    ed_visits,
    observation_stays,
    inpatient,
    catastrophic_stays,
    joint_replacements,
    post_acute,
    hospice,
    dialysis,
)


def generate_services(ctx: ServiceContext) -> None:
    """Every service line for the context's year, in ``SERVICE_LINES`` order, into its book."""
    for line in SERVICE_LINES:
        line(ctx)
