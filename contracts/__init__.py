"""Value-based contracts: specs, the panel's history, benchmarks, settlement, projection,
Monte Carlo simulation and saved scenarios. Bundled payments will live in ``contracts/bundles/``."""
