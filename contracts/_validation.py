"""The base of the contracts package's pydantic models: a bad value is a ``ParameterError``.

Pydantic raises its own ``ValidationError`` when a model is built with a value its fields do not
allow. A user who types ``Uncertainty(trend_sd=-1)`` (or whose settings file says so) caused that
error, so, like every error a user can cause, it is a ``modeling.errors`` error: ``VbcModel``
turns it into a ``ParameterError`` whose message names the model, each field, the value given
and the rule it breaks.

Only building a model directly (``Model(...)``, ``Model.model_validate(...)``,
``Model.model_validate_json(...)``) is converted. A model validated as part of another (a field
of a spec, a member of a union through a ``TypeAdapter``) still reports pydantic's
``ValidationError`` to the outer validation, which keeps the location of every error in the
whole input; ``contracts.specs.parse_spec`` phrases those itself.
"""

from __future__ import annotations

import reprlib
import typing
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator
from pydantic.config import ExtraValues

from modeling.errors import ParameterError

SHORT_REPR = reprlib.Repr()
SHORT_REPR.maxstring, SHORT_REPR.maxother, SHORT_REPR.maxdict, SHORT_REPR.maxlist = 60, 60, 4, 6


def invalid_model_message(model: str, exc: ValidationError) -> str:
    """One readable sentence per problem: "field = value: rule", or the rule alone when it is
    about the model as a whole (a validator across fields)."""
    problems = []
    for error in exc.errors():
        field = ".".join(str(part) for part in error["loc"])
        rule = error["msg"].removeprefix("Value error, ")
        rule = rule[:1].lower() + rule[1:]
        if not field:
            problems.append(rule)
        elif error["type"] == "missing":
            problems.append(f"{field} is required")
        else:
            problems.append(f"{field} = {SHORT_REPR.repr(error['input'])}: {rule}")
    return f"Invalid {model}: {'; '.join(problems)}."


def _is_number(annotation: Any) -> bool:
    """Whether a field's type is a number (``float``/``int``, optional or not), not ``bool``."""
    args = typing.get_args(annotation) or (annotation,)
    return any(a in (float, int) for a in args) and bool not in args


class VbcModel(BaseModel):
    """A pydantic model whose direct construction raises ``ParameterError`` instead of
    pydantic's ``ValidationError`` (the message names the field, the value and the rule).
    Numbers must be finite: NaN and infinities (TOML ``inf``, JSON ``Infinity``) are refused."""

    model_config = ConfigDict(allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _no_true_false_for_numbers(cls, data: Any) -> Any:
        """``true``/``false`` given for a number field is refused (pydantic would read 1.0/0.0)."""
        if isinstance(data, dict):
            for name, info in cls.model_fields.items():
                key = info.alias if info.alias in data else name
                if isinstance(data.get(key), bool) and _is_number(info.annotation):
                    raise ValueError(f"{key} = {data[key]}: expected a number, not true/false")
        return data

    def __init__(self, /, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise ParameterError(invalid_model_message(type(self).__name__, exc)) from None

    # Tell pydantic this __init__ validates exactly as BaseModel's does: a model nested in
    # another (or in a TypeAdapter's union) is then validated directly, and its errors reach the
    # outer validation as errors with locations rather than as a ParameterError.
    setattr(__init__, "__pydantic_base_init__", True)  # noqa: B010

    @classmethod
    def model_validate(
        cls,
        obj: Any,
        *,
        strict: bool | None = None,
        extra: ExtraValues | None = None,
        from_attributes: bool | None = None,
        context: Any | None = None,
        by_alias: bool | None = None,
        by_name: bool | None = None,
    ) -> Self:
        try:
            return super().model_validate(
                obj,
                strict=strict,
                extra=extra,
                from_attributes=from_attributes,
                context=context,
                by_alias=by_alias,
                by_name=by_name,
            )
        except ValidationError as exc:
            raise ParameterError(invalid_model_message(cls.__name__, exc)) from None

    @classmethod
    def model_validate_json(
        cls,
        json_data: str | bytes | bytearray,
        *,
        strict: bool | None = None,
        extra: ExtraValues | None = None,
        context: Any | None = None,
        by_alias: bool | None = None,
        by_name: bool | None = None,
    ) -> Self:
        try:
            return super().model_validate_json(
                json_data,
                strict=strict,
                extra=extra,
                context=context,
                by_alias=by_alias,
                by_name=by_name,
            )
        except ValidationError as exc:
            raise ParameterError(invalid_model_message(cls.__name__, exc)) from None
