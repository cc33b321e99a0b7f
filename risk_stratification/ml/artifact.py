"""Model artifacts that cannot run code when they are loaded (hostile probe 2026-12-01, finding 8).

An artifact is a zip archive of plain data: ``artifact.json`` holds a tree of JSON values in which
each part that is not JSON is a reference to a member of its own, in one of four formats, each read
by a parser that builds data and nothing else:

- ``lightgbm``: a LightGBM booster as LightGBM's own model text (``model_to_string``);
- ``array``: a numpy array as ``.npy``, read with ``allow_pickle=False`` (object arrays are
  refused when writing);
- ``frame``: a polars DataFrame as Parquet;
- ``calibrator``: a calibrator as its parameters (JSON) and fitted arrays, rebuilt by the codec
  registered for its kind in ``CALIBRATOR_CODECS`` (isotonic regression today).

Dataclasses are written as the dict of their fields; the reader gets the tree back and the
owning code rebuilds its own classes (``RiskModels.from_tree``): no class is ever looked up by a
name found in the artifact, which is what makes a pickle executable. A new kind of model part
serializes by adding a codec here. Bytes that are not such an archive (an earlier version's
pickle, anything damaged) are a ``StoreError`` that says to retrain. The store checks the
artifact's SHA-256 before it is read (``modeling.store``).
"""

from __future__ import annotations

import dataclasses
import io
import json
import zipfile
from collections.abc import Callable, Mapping
from typing import Any

import lightgbm as lgb
import numpy as np
import polars as pl
from sklearn.isotonic import IsotonicRegression

from modeling.errors import StoreError

FORMAT = "vbc-model-artifact"
FORMAT_VERSION = 1
INDEX = "artifact.json"
REF = "$ref"  # the key that marks a reference to a member in the JSON tree
RETRAIN = (
    "Retrain to register a new version: `vbc train` (or Train on the Risk stratification page)."
)
PICKLE_MARK = b"\x80"


@dataclasses.dataclass(frozen=True)
class CalibratorCodec:
    """How one kind of calibrator becomes parameters (JSON) and arrays, and back."""

    kind: type
    encode: Callable[[Any], tuple[dict[str, Any], dict[str, np.ndarray]]]
    decode: Callable[[dict[str, Any], dict[str, np.ndarray]], Any]


def _isotonic_encode(iso: IsotonicRegression) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    params = {
        "out_of_bounds": iso.out_of_bounds,
        "y_min": iso.y_min,
        "y_max": iso.y_max,
        "increasing": bool(iso.increasing_),
    }
    return params, {"x": np.asarray(iso.X_thresholds_), "y": np.asarray(iso.y_thresholds_)}


def _isotonic_decode(params: dict[str, Any], arrays: dict[str, np.ndarray]) -> IsotonicRegression:
    """Refit on the fitted thresholds: they are strictly increasing in x and monotone in y, so
    the fit returns them unchanged and the interpolation between them is the original's."""
    iso = IsotonicRegression(
        out_of_bounds=params["out_of_bounds"],
        y_min=params["y_min"],
        y_max=params["y_max"],
        increasing=params["increasing"],
    )
    return iso.fit(arrays["x"], arrays["y"])


CALIBRATOR_CODECS: dict[str, CalibratorCodec] = {
    "isotonic": CalibratorCodec(IsotonicRegression, _isotonic_encode, _isotonic_decode),
}


def dump_artifact(tree: Mapping[str, Any]) -> bytes:
    """The archive of ``tree`` (JSON values, dataclasses, DataFrames, arrays, boosters and
    registered calibrators, nested in dicts and lists)."""
    writer = _Writer()
    document = {"format": FORMAT, "version": FORMAT_VERSION, "tree": writer.encode(tree, "root")}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        _write(archive, INDEX, json.dumps(document, allow_nan=True).encode())
        for name, data in writer.members.items():
            _write(archive, name, data)
    return buffer.getvalue()


def _write(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    """A member with a fixed time stamp, so the same models always make the same bytes (and the
    same checksum)."""
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, data)


def load_artifact(data: bytes) -> Any:
    """The tree written by ``dump_artifact``; a ``StoreError`` for anything else."""
    if data.startswith(PICKLE_MARK):
        raise StoreError(
            "This model artifact is a Python pickle, stored by an earlier version of "
            f"vbc-modeler; it is refused because loading a pickle can run any code. {RETRAIN}"
        )
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        document = json.loads(archive.read(INDEX))
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise StoreError(f"This model artifact is damaged or not one ({exc}). {RETRAIN}") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise StoreError(f"This model artifact is not a {FORMAT} archive. {RETRAIN}")
    if document.get("version") != FORMAT_VERSION:
        raise StoreError(
            f"This model artifact is format version {document.get('version')!r}; this version of "
            f"vbc-modeler reads version {FORMAT_VERSION}. {RETRAIN}"
        )
    with archive:
        try:
            return _Reader(archive).decode(document.get("tree"))
        except StoreError:
            raise
        except (lgb.basic.LightGBMError, pl.exceptions.PolarsError, zipfile.BadZipFile) as exc:
            raise StoreError(f"This model artifact is damaged ({exc}). {RETRAIN}") from None
        except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
            raise StoreError(f"This model artifact is damaged ({exc!r}). {RETRAIN}") from None


class _Writer:
    def __init__(self) -> None:
        self.members: dict[str, bytes] = {}

    def _member(self, path: str, suffix: str, data: bytes) -> str:
        name = f"{path}{suffix}"
        if name in self.members:
            raise ValueError(f"artifact member {name} written twice")
        self.members[name] = data
        return name

    def encode(self, value: Any, path: str) -> Any:
        if value is None or isinstance(value, bool | int | float | str):
            return value
        if isinstance(value, np.generic):
            return value.item()
        if isinstance(value, Mapping):
            if REF in value:
                raise ValueError(f"{path}: the key {REF!r} is reserved in artifacts")
            return {str(k): self.encode(v, f"{path}.{k}") for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.encode(v, f"{path}.{i}") for i, v in enumerate(value)]
        if isinstance(value, lgb.Booster):
            name = self._member(path, ".lightgbm.txt", value.model_to_string().encode())
            return {REF: "lightgbm", "member": name}
        if isinstance(value, np.ndarray):
            return {REF: "array", "member": self._member(path, ".npy", _npy(value, path))}
        if isinstance(value, pl.DataFrame):
            buffer = io.BytesIO()
            value.write_parquet(buffer)
            return {REF: "frame", "member": self._member(path, ".parquet", buffer.getvalue())}
        for kind, codec in CALIBRATOR_CODECS.items():
            if type(value) is codec.kind:
                params, arrays = codec.encode(value)
                members = {
                    key: self._member(f"{path}.{key}", ".npy", _npy(array, f"{path}.{key}"))
                    for key, array in arrays.items()
                }
                return {REF: "calibrator", "kind": kind, "params": params, "arrays": members}
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return {
                f.name: self.encode(getattr(value, f.name), f"{path}.{f.name}")
                for f in dataclasses.fields(value)
            }
        raise TypeError(
            f"{path}: a {type(value).__name__} has no artifact format; give it a codec in "
            "risk_stratification.ml.artifact (never a pickle)"
        )


def _npy(array: np.ndarray, path: str) -> bytes:
    if array.dtype.hasobject:
        raise TypeError(f"{path}: an object array cannot be stored without pickling")
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


class _Reader:
    def __init__(self, archive: zipfile.ZipFile) -> None:
        self.archive = archive

    def _bytes(self, name: Any) -> bytes:
        try:
            return self.archive.read(str(name))
        except KeyError:
            raise StoreError(f"This model artifact lacks its member {name}. {RETRAIN}") from None

    def _array(self, name: Any) -> np.ndarray:
        try:
            return np.load(io.BytesIO(self._bytes(name)), allow_pickle=False)
        except ValueError as exc:
            raise StoreError(
                f"Model artifact member {name} is not a plain array ({exc})."
            ) from None

    def decode(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.decode(v) for v in value]
        if not isinstance(value, dict):
            return value
        if REF not in value:
            return {k: self.decode(v) for k, v in value.items()}
        kind = value[REF]
        if kind == "lightgbm":
            return lgb.Booster(model_str=self._bytes(value["member"]).decode())
        if kind == "array":
            return self._array(value["member"])
        if kind == "frame":
            return pl.read_parquet(io.BytesIO(self._bytes(value["member"])))
        if kind == "calibrator" and value.get("kind") in CALIBRATOR_CODECS:
            arrays = {key: self._array(name) for key, name in value["arrays"].items()}
            return CALIBRATOR_CODECS[value["kind"]].decode(value["params"], arrays)
        raise StoreError(f"This model artifact holds a part of unknown kind {kind!r}. {RETRAIN}")
