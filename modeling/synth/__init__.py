"""The synthetic Medicare fee-for-service population and its calibration report."""

from modeling.synth.generator import SynthSpec, generate

__all__ = ["SynthSpec", "generate"]
