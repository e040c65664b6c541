"""Class 12 (and the preset half of class 1): a presets file is untrusted input.

Ids and extensions cannot leave OUTDIR, encoder options cannot name files,
shipped ids are replaced only with ``override = true``, every field is type-
and range-checked, and encoder logs never reach stderr.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import av
import av.logging
import pytest

from hdrpipe.cli import main
from hdrpipe.encode.presets import PRESETS, load_presets
from hdrpipe.errors import InputError


def _presets(tmp_path: Path, entries: dict[str, object]) -> Path:
    path = tmp_path / "presets.json"
    path.write_text(json.dumps({"presets": entries}), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"../../../x": {"base": "h264-sdr-review"}}, "'/'"),
        (
            {"ok": {"base": "h264-sdr-review", "extension": "./../../x.mp4"}},
            "extension",
        ),
        ({"ok": {"base": "h264-sdr-review", "extension": ".mp4/x"}}, "extension"),
        (
            {
                "ok": {
                    "base": "hevc-hdr10",
                    "options": {"x265-params": "csv=/tmp/x.csv"},
                }
            },
            "csv",
        ),
        (
            {
                "ok": {
                    "base": "hevc-hdr10",
                    "options": {"x265-params": "a=1:analysis-save=/x"},
                }
            },
            "analysis-save",
        ),
        ({"ok": {"base": "h264-sdr-review", "options": {"stats": "/tmp/s"}}}, "stats"),
        (
            {
                "ok": {
                    "base": "h264-sdr-review",
                    "options": {"x264-params": "dump-yuv=/x"},
                }
            },
            "dump-yuv",
        ),
    ],
    ids=[
        "id",
        "extension-dotdot",
        "extension-slash",
        "x265-csv",
        "x265-analysis",
        "stats",
        "x264-dump",
    ],
)
def test_presets_that_would_write_elsewhere_are_refused(
    tmp_path: Path, entry: dict[str, object], message: str
) -> None:
    path = tmp_path / "presets.json"
    path.write_text(json.dumps(entry), encoding="utf-8")
    with pytest.raises(InputError, match=message):
        load_presets(path)


def test_a_shipped_id_is_replaced_only_with_override(tmp_path: Path) -> None:
    entry = {"base": "h264-sdr-review", "description": "really H.264"}
    with pytest.raises(InputError, match="shipped preset.*override"):
        load_presets(_presets(tmp_path, {"hevc-hdr10": entry}))
    got = load_presets(_presets(tmp_path, {"hevc-hdr10": {**entry, "override": True}}))
    assert got["hevc-hdr10"].codec == "libx264"
    assert PRESETS["hevc-hdr10"].codec == "libx265"  # the registry is untouched
    with pytest.raises(InputError, match="override must be true or false"):
        load_presets(_presets(tmp_path, {"hevc-hdr10": {**entry, "override": "yes"}}))


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("mastering_max_luminance", -1, "outside"),
        ("mastering_max_luminance", 0, "outside"),
        ("mastering_max_luminance", 20000, "outside"),
        ("mastering_max_luminance", "1000", "must be a number"),
        ("mastering_max_luminance", True, "must be a number"),
        ("mastering_min_luminance", -0.5, "must be >= 0"),
        ("mastering_min_luminance", 2000, "below mastering_max_luminance"),
        ("bit_depth", "10", "integer"),
        ("hdr_metadata", "yes", "true or false"),
        ("codec", 5, "must be a string"),
        ("options", "crf=18", "table"),
        ("options", ["crf", "18"], "table"),
        ("options", {"crf": {"x": 1}}, "string or a number"),
        ("options", {"crf": None}, "string or a number"),
    ],
)
def test_every_field_is_type_and_range_checked(
    tmp_path: Path, field: str, value: object, message: str
) -> None:
    path = _presets(tmp_path, {"mine": {"base": "hevc-hdr10", field: value}})
    with pytest.raises(InputError, match=message):
        load_presets(path)


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_luminance_is_refused(tmp_path: Path, value: str) -> None:
    path = tmp_path / "p.json"
    text = '{"mine": {"base": "hevc-hdr10", "mastering_max_luminance": VALUE}}'
    path.write_text(text.replace("VALUE", value), encoding="utf-8")
    with pytest.raises(InputError, match="finite"):
        load_presets(path)


def test_cli_bad_preset_options_exit_2(
    plate: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _presets(tmp_path, {"mine": {"base": "hevc-hdr10", "options": [1, 2]}})
    out = tmp_path / "out"
    args = ["conform", str(plate), "-d", "mine", "-o", str(out)]
    assert main([*args, "--presets-file", str(path)]) == 2
    err = capsys.readouterr().err
    assert "options" in err and "internal error" not in err
    assert not out.exists()


def test_encoder_logs_never_reach_stderr(
    plate: Path,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    from hdrpipe.engine import ConformJob, conform

    chatty = {
        "base": "hevc-hdr10",
        "options": {"x265-params": "log-level=full"},
    }
    path = _presets(tmp_path, {"hevc-chatty": chatty})
    capfd.readouterr()
    with caplog.at_level(logging.DEBUG):
        conform(
            ConformJob(
                inputs=(str(plate),),
                deliver=("hevc-chatty",),
                outdir=tmp_path / "out",
                presets_file=path,
            )
        )
    captured = capfd.readouterr()  # file-descriptor level: what C code printed
    assert "x265 [" not in captured.err and "x265 [" not in captured.out
    assert (tmp_path / "out" / "plate_hevc-chatty.mp4").is_file()
    # FFmpeg's log was never routed into Python: that callback takes the GIL
    # from codec threads and deadlocks against a codec freed with it held.
    assert av.logging.get_level() is None
