"""Value-based contracts: specs, benchmarks, settlement, bundles and Monte Carlo simulation."""
