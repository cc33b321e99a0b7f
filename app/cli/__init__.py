"""The ``vbc`` command line: one module per layer (data, risk, contracts), each command only
arranging inputs and outputs around a package function."""

from __future__ import annotations

import typer

from app.cli import bundles, contracts, data, risk

app = typer.Typer(
    help="vbc-modeler: value-based care risk, contracts and cost of care.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
for part in (data, risk, contracts, bundles):
    app.registered_commands += part.app.registered_commands
    app.registered_groups += part.app.registered_groups

__all__ = ["app"]
