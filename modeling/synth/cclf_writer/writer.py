"""``write_cclf``: a canonical dataset written as CCLF deliveries, file family by file family."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from modeling.core.service_categories import with_service_category
from modeling.dataset import Dataset
from modeling.ingest.cclf.layouts import DEFAULT_VERSION, load_layouts
from modeling.progress import Progress, reporter
from modeling.synth.cclf_writer.beneficiaries import read_population, write_beneficiaries
from modeling.synth.cclf_writer.billing import bill_as_medicare
from modeling.synth.cclf_writer.deliveries import Deliveries
from modeling.synth.cclf_writer.delivery_files import cross_reference, write_delivery_files
from modeling.synth.cclf_writer.part_a import write_part_a
from modeling.synth.cclf_writer.part_b import write_part_b
from modeling.synth.cclf_writer.part_d import write_part_d


@dataclass(frozen=True)
class CclfWriteSummary:
    """What was written: files, lines, and the versions and merges the reader must undo."""

    out: Path
    files: int
    lines: int
    merged_claims: int
    adjusted_claims: int
    cancelled_claims: int
    adjusted_fills: int
    deleted_fills: int
    mbi_changes: int


def write_cclf(
    dataset: Dataset | str | Path,
    out: str | Path,
    *,
    seed: int = 0,
    entity: str = "A9999",
    adjust_share: float = 0.03,
    cancel_share: float = 0.005,
    mbi_change_share: float = 0.01,
    layout_version: str = DEFAULT_VERSION,
    progress: Progress | None = None,
) -> CclfWriteSummary:
    """Write ``dataset`` as CCLF deliveries into ``out`` (see the package docstring for what and why)."""
    dataset = dataset if isinstance(dataset, Dataset) else Dataset(dataset)
    say = reporter(progress)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    layouts = load_layouts(layout_version)
    rng = np.random.default_rng(seed)

    say("reading the dataset")
    population = read_population(dataset, rng, seed=seed, mbi_change_share=mbi_change_share)
    mbi = population.mbi_history()
    deliveries = Deliveries(layouts, population.first_month, population.last_month)

    say("beneficiaries (CCLF8)")
    write_beneficiaries(population, mbi, deliveries)

    say("Part A claims (CCLF1-4)")
    medical, merged = bill_as_medicare(dataset.read("medical_claim"))
    medical = with_service_category(medical.lazy()).collect()
    part_a = write_part_a(
        medical, rng, mbi, deliveries, adjust_share=adjust_share, cancel_share=cancel_share
    )

    say("Part B and DME claims (CCLF5, CCLF6)")
    part_b = write_part_b(
        medical,
        rng,
        mbi,
        deliveries,
        adjust_share=adjust_share,
        cancel_share=cancel_share,
        next_id=part_a.next_id,
    )

    say("Part D events (CCLF7)")
    fills = write_part_d(
        dataset.scan("pharmacy_claim"),
        rng,
        mbi,
        deliveries,
        adjust_share=adjust_share,
        cancel_share=cancel_share,
        next_id=part_b.next_id,
    )

    say("writing delivery files")
    written = write_delivery_files(
        deliveries, cross_reference(population), out, entity=entity, layouts=layouts
    )
    return CclfWriteSummary(
        out,
        written.files,
        written.lines,
        merged,
        part_a.adjusted + part_b.adjusted,
        part_a.cancelled + part_b.cancelled,
        fills.adjusted,
        fills.deleted,
        population.changes.height,
    )
