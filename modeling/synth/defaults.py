"""The default synthetic panel: what the app generates on first launch."""

from __future__ import annotations

from modeling.synth.generator import SynthSpec

DEFAULT_PANEL = SynthSpec(members=20_000, start_year=2023, years=3, seed=20240601)
