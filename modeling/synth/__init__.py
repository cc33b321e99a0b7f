"""The synthetic Medicare fee-for-service population and its calibration report."""

from modeling.synth.generator import generate
from modeling.synth.spec import SynthSpec

__all__ = ["SynthSpec", "generate"]
