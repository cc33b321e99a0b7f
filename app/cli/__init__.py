"""The ``vbc`` command line: one module per domain (data, risk, contracts, finance, targeting, quality, bundles), each command only
arranging inputs and outputs around a package function."""

from __future__ import annotations

import typer

from app.cli import bundles, contracts, data, finance, quality, risk, targeting

app = typer.Typer(
    help="vbc-modeler: value-based care risk, contracts and cost of care.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
for part in (data, risk, contracts, finance, targeting, quality, bundles):
    app.registered_commands += part.app.registered_commands
    app.registered_groups += part.app.registered_groups

__all__ = ["app"]
