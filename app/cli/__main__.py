"""``python -m app.cli``: the same commands as ``vbc``."""

from app.cli import app

app()
