"""Spec and assumption files that are not readable specs (hostile probe 2026-12-01, finding 24's
file cases and finding 34's BOM): a message, never a traceback."""

from __future__ import annotations

import pytest

from contracts.specs import load_spec, read_settings_file
from modeling.errors import ParameterError


@pytest.mark.parametrize(
    ("name", "content", "match"),
    [
        ("adir.toml", None, "is a folder"),
        ("binary.toml", b"\x9a\x00\xff" * 10, "not UTF-8"),
        ("latin1.toml", 'name = "Médicare"\n'.encode("latin-1"), "not UTF-8"),
        ("deep.json", b"[" * 100_000 + b"]" * 100_000, "nested too deeply|not valid JSON"),
        ("list.json", b"[1, 2]", "top level"),
    ],
)
def test_f24_unreadable_spec_files_are_clear_errors(tmp_path, name, content, match):
    path = tmp_path / name
    if content is None:
        path.mkdir()
    else:
        path.write_bytes(content)
    with pytest.raises(ParameterError, match=match):
        load_spec(path)


def test_f34_a_bom_in_toml_is_read():
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "bom.toml")
        path.write_bytes(b"\xef\xbb\xbf" + b'family = "shared_savings"\n')
        assert read_settings_file(path) == {"family": "shared_savings"}
