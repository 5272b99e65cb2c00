"""The shared config infrastructure: YAML loading, overrides, pydantic errors, file hashes."""

from __future__ import annotations

import hashlib
import json
from typing import Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field, model_validator

from cadmus.configio import (
    FieldError,
    apply_overrides,
    load_model,
    loose_list,
    parse_overrides,
    read_value,
    read_yaml,
    validate,
)
from cadmus.errors import CadmusError
from cadmus.files import sha256_file, write_json


class Boom(CadmusError):
    """The error class a caller passes in."""


class Inner(BaseModel):
    model_config = ConfigDict(extra="forbid")
    size: int = Field(1, gt=0)
    kind: Literal["a", "b"] = "a"


class Outer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    inner: Inner = Field(default_factory=Inner)
    items: list[Inner] = Field(default_factory=list)
    low: int = 0
    high: int = 10

    @model_validator(mode="after")
    def _ordered(self) -> Outer:
        if self.low > self.high:
            raise FieldError("high", f"high ({self.high}) is less than low ({self.low})")
        return self


# ---- override values: YAML's reading -----------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("", None),  # `k=` is YAML's empty value: null
        ("null", None),
        ("~", None),
        ("5", 5),
        ("-3", -3),
        ("2.5", 2.5),
        ("true", True),
        ("off", False),
        ("abc", "abc"),
        ("'5'", "5"),
        ("cuda:0", "cuda:0"),
        ("[1, 2]", [1, 2]),
        ("{n_statements: [1, 3]}", {"n_statements": [1, 3]}),
        # not one YAML flow value: the text as written
        ("[+, -, *]", "[+, -, *]"),
        ("*", "*"),
        ("-", "-"),  # YAML's block list [null]: not override syntax
        ("a: b", "a: b"),
    ],
)
def test_override_values_follow_yaml(text: str, value: object) -> None:
    assert read_value(text) == value
    assert parse_overrides([f"k={text}"]) == {"k": value}


def test_parse_overrides_keys_and_errors() -> None:
    assert parse_overrides([" a.b = 1", "c=x=y", "a.b=2"]) == {"a.b": 2, "c": "x=y"}  # later wins
    for bad in ("novalue", "=5"):
        with pytest.raises(Boom, match="expected key=value"):
            parse_overrides([bad], Boom)


def test_loose_list_reads_unquoted_lists() -> None:
    assert loose_list("+,-,*") == ["+", "-", "*"]
    assert loose_list("[+, -, *]") == ["+", "-", "*"]
    assert loose_list("[1, 2,]") == [1, 2]
    assert loose_list("['<', \"-\"]") == ["<", "-"]
    assert loose_list("[]") == []


def test_apply_overrides_sets_dotted_keys_on_a_copy() -> None:
    data = {"name": "x", "items": [{"size": 1}], "inner": None}
    out = apply_overrides(data, {"inner.size": 3, "items.0.kind": "b", "low": 2}, Boom)
    assert out == {"name": "x", "items": [{"size": 1, "kind": "b"}], "inner": {"size": 3}, "low": 2}
    assert data == {"name": "x", "items": [{"size": 1}], "inner": None}
    with pytest.raises(Boom) as info:
        apply_overrides(data, {"items.5.size": 1}, Boom)
    assert info.value.key == "items.5"
    with pytest.raises(Boom) as info:
        apply_overrides(data, {"name.size": 1}, Boom)
    assert "name is not a mapping" in info.value.message


# ---- validation errors: one line, the dotted key ---------------------------------


def error_of(data: object, **kw: str) -> Boom:
    with pytest.raises(Boom) as info:
        validate(Outer, data, Boom, file="c.yaml", **kw)
    return info.value


def test_validation_errors_name_the_key() -> None:
    err = error_of({"name": "x", "inner": {"size": 0}})
    assert (err.key, err.message) == ("inner.size", "must be > 0")
    assert str(err) == "c.yaml: key 'inner.size': must be > 0"
    assert error_of({"name": "x", "colour": 1}).message == "unknown key"
    assert error_of({}).key == "name" and error_of({}).message == "required key is missing"
    assert error_of({"name": "x", "items": [{}, {"kind": "z"}]}).key == "items.1.kind"


def test_field_error_blames_its_key_and_extra_errors_are_counted() -> None:
    err = error_of({"name": "x", "low": 5, "high": 1})
    assert (err.key, err.message) == ("high", "high (1) is less than low (5)")
    err = error_of({"name": "x", "low": 5, "high": 1}, key_prefix="cfg", message_prefix="thing: ")
    assert (err.key, err.message) == ("cfg.high", "thing: high (1) is less than low (5)")
    err = error_of({"inner": {"size": -1}, "bogus": 1})
    assert err.message.endswith("(and 2 more errors)")


def test_validate_wants_a_mapping() -> None:
    err = error_of([1, 2], what="a test config")
    assert err.message == "a test config must be a mapping" and err.file == "c.yaml"


# ---- YAML files ----------------------------------------------------------------------


def test_load_model_reads_validates_and_overrides(tmp_path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("name: x\ninner:\n  size: 2\n")
    model = load_model(path, Outer, Boom, overrides=parse_overrides(["inner.kind=b", "low=1"]))
    assert (model.name, model.inner.size, model.inner.kind, model.low) == ("x", 2, "b", 1)
    path.write_text("")  # an empty file is an empty mapping: the missing key is named
    with pytest.raises(Boom) as info:
        load_model(path, Outer, Boom)
    assert info.value.key == "name" and info.value.file == str(path)
    path.write_text("- 1\n- 2\n")
    with pytest.raises(Boom, match="must be a mapping"):
        load_model(path, Outer, Boom, what="a test config")


def test_read_yaml_errors_carry_file_and_position(tmp_path) -> None:
    with pytest.raises(Boom) as info:
        read_yaml(tmp_path / "missing.yaml", Boom)
    assert info.value.file == str(tmp_path / "missing.yaml") and "cannot read config" in info.value.message
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ninner: [1, 2\n")
    with pytest.raises(Boom) as info:
        read_yaml(bad, Boom)
    err = info.value
    assert err.file == str(bad) and err.line == 3 and err.col == 1
    assert str(err).startswith(f"{bad}:3:1: invalid YAML")


# ---- files -----------------------------------------------------------------------------


def test_sha256_file_and_atomic_json(tmp_path) -> None:
    path = tmp_path / "blob.bin"
    data = bytes(range(256)) * 5000  # more than one read block
    path.write_bytes(data)
    assert sha256_file(path) == hashlib.sha256(data).hexdigest()
    out = write_json(tmp_path / "x.json", {"b": 1, "a": [1, 2]})
    assert out.read_text() == json.dumps({"a": [1, 2], "b": 1}, indent=2) + "\n"
    write_json(out, {"b": 1, "a": 2}, sort_keys=False)
    assert list(json.loads(out.read_text())) == ["b", "a"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blob.bin", "x.json"]  # no temporary left
