"""Preset registry, user presets (TOML/JSON) and the ``hdrpipe presets`` command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import hdrpipe.cli.encode  # noqa: F401  (registers the commands)
from hdrpipe.cli._app import app
from hdrpipe.encode import PRESETS, get_preset, load_presets
from hdrpipe.errors import InputError

# docs/design-notes.md "Delivery presets" table: id → (codec, chroma, bit depth,
# primaries, transfer, matrix)
DESIGN_TABLE = {
    "prores4444xq-pq1000": ("prores", "444", 10, "bt2020", "smpte2084", "bt2020nc"),
    "prores422hq-pq1000": ("prores", "422", 10, "bt2020", "smpte2084", "bt2020nc"),
    "hevc-hdr10": ("libx265", "420", 10, "bt2020", "smpte2084", "bt2020nc"),
    "hevc-hlg": ("libx265", "420", 10, "bt2020", "arib-std-b67", "bt2020nc"),
    "h264-sdr-review": ("libx264", "420", 8, "bt709", "bt709", "bt709"),
}


@pytest.mark.parametrize("name", list(DESIGN_TABLE))
def test_video_presets_match_design(name: str) -> None:
    spec = PRESETS[name]
    codec, chroma, bits, prim, trc, mtx = DESIGN_TABLE[name]
    assert spec.kind == "video" and spec.codec and spec.codec.startswith(codec)
    assert (
        spec.chroma,
        spec.bit_depth,
        spec.primaries,
        spec.transfer,
        spec.matrix,
    ) == (chroma, bits, prim, trc, mtx)
    assert spec.color_range == "tv"
    assert spec.hdr_metadata == (trc in ("smpte2084", "arib-std-b67"))
    # only the PQ HEVC bakes MaxCLL into its SEI, so only it needs it at open
    assert spec.needs_light_level_at_open == (name == "hevc-hdr10")


def test_exr_presets() -> None:
    assert PRESETS["exr-acescg"].target == "acescg" and PRESETS[
        "exr-acescg"
    ].exr_compression in ("piz", "zip")
    aces = PRESETS["exr-aces"]
    assert (aces.target, aces.exr_pixel_type, aces.exr_compression) == (
        "aces2065-1",
        "half",
        "none",
    )


def test_unknown_preset_lists_names() -> None:
    with pytest.raises(InputError) as err:
        get_preset("prores-nope")
    assert "hevc-hdr10" in str(err.value) and "exr-aces" in str(err.value)


def test_load_presets_toml_base_and_override(tmp_path: Path) -> None:
    f = tmp_path / "p.toml"
    f.write_text(
        '[presets.hevc-hdr10-fast]\nbase = "hevc-hdr10"\ndescription = "fast"\n'
        'options = { preset = "veryfast", crf = "22" }\n'
        '[presets.derived-again]\nbase = "hevc-hdr10-fast"\n'
        'container = "mov"\nextension = ".mov"\n'
    )
    got = load_presets(f)
    fast = got["hevc-hdr10-fast"]
    assert fast.codec == "libx265" and fast.transfer == "smpte2084"
    assert fast.options["preset"] == "veryfast" and fast.options["crf"] == "22"
    assert "x265-params" in fast.options  # merged onto the base's options
    assert (
        got["derived-again"].container == "mov"
        and got["derived-again"].options["crf"] == "22"
    )
    assert get_preset("derived-again", extra=got).name == "derived-again"


def test_load_presets_json_and_errors(tmp_path: Path) -> None:
    f = tmp_path / "p.json"
    f.write_text(
        json.dumps({"my-exr": {"base": "exr-acescg", "exr_compression": "zip"}})
    )
    assert load_presets(f)["my-exr"].exr_compression == "zip"
    f.write_text(json.dumps({"bad": {"base": "exr-acescg", "colour": "red"}}))
    with pytest.raises(InputError, match="unknown field"):
        load_presets(f)
    f.write_text(json.dumps({"bad": {"base": "nope"}}))
    with pytest.raises(InputError, match="unknown delivery preset"):
        load_presets(f)
    f.write_text(json.dumps({"bad": {"base": "hevc-hdr10", "container": "avi"}}))
    with pytest.raises(InputError, match="container"):
        load_presets(f)
    with pytest.raises(InputError):
        load_presets(tmp_path / "missing.toml")


def test_cli_presets_json(tmp_path: Path) -> None:
    f = tmp_path / "u.toml"
    f.write_text('[mine]\nbase = "h264-sdr-review"\ndescription = "mine"\n')
    r = CliRunner().invoke(app, ["presets", "--json", "--file", str(f)])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    names = [p["name"] for p in doc["presets"]]
    assert set(PRESETS) <= set(names) and "mine" in names
    r = CliRunner().invoke(app, ["presets"])
    assert r.exit_code == 0 and "prores4444xq-pq1000" in r.stdout
