"""Read and check the job manifest (schema ``hdrpipe.manifest/1``) the engine writes.

The handoff stage consumes the manifest as plain JSON data so it never imports the
engine. :func:`load_manifest` reads a file, :func:`check_manifest` validates a
mapping; both return a new ``dict`` and raise :class:`~hdrpipe.errors.HandoffError`
naming the offending key path when the document is malformed.
"""

from __future__ import annotations

import copy
import json
import os
import re
from collections.abc import Mapping
from fractions import Fraction
from pathlib import Path
from typing import Any

from ..errors import HandoffError, InputError
from ..types import Rate

__all__ = [
    "SCHEMA",
    "ManifestNotFoundError",
    "load_manifest",
    "check_manifest",
    "as_manifest",
    "parse_rate",
    "timecode_to_frames",
    "look_cdl",
    "look_spec",
    "LOOK_KINDS",
]

SCHEMA = "hdrpipe.manifest/1"


class ManifestNotFoundError(HandoffError, InputError):
    """The manifest file does not exist or cannot be read (a usage error, exit 2)."""

    exit_code = 2


_TC = re.compile(r"^(\d{2}):(\d{2}):(\d{2})([:;])(\d{2,3})$")


def parse_rate(text: object, where: str = "rate") -> Fraction:
    """Parse a manifest rate (``"24000/1001"``, ``"24/1"``, ``"25"``) exactly."""
    try:
        rate = Fraction(str(text))
    except (ValueError, ZeroDivisionError) as err:
        raise HandoffError(f"manifest {where}: not a rate: {text!r}") from err
    if rate <= 0:
        raise HandoffError(f"manifest {where}: rate must be positive, got {text!r}")
    return rate


def timecode_to_frames(tc: str, rate: Fraction, drop_frame: bool = False) -> int:
    """Return the frame count of SMPTE ST 12-1 timecode ``HH:MM:SS:FF`` at ``rate``.

    Drop-frame counting applies when ``drop_frame`` is set or the separator is
    ``;``; the arithmetic is the conform stage's (OpenTimelineIO's opentime).
    """
    if not isinstance(tc, str) or not _TC.match(tc):
        raise HandoffError(f"manifest timecode {tc!r}: expected HH:MM:SS:FF")
    # Imported here, not at the top: the Nuke hook imports this module in
    # Nuke's own Python, which lacks the conform stage's dependencies.
    from ..conform.timecode import Timecode

    try:
        label_rate = Rate(rate, drop_frame=drop_frame or ";" in tc)
        return Timecode.parse(tc, label_rate).frames
    except InputError as err:
        raise HandoffError(f"manifest timecode out of range or invalid: {err}") from err


def _need(
    obj: Mapping[str, Any], key: str, types: type | tuple[type, ...], where: str
) -> Any:
    if key not in obj:
        raise HandoffError(f"manifest {where}: missing key {key!r}")
    value = obj[key]
    tys = types if isinstance(types, tuple) else (types,)
    if not isinstance(value, tys) or (isinstance(value, bool) and bool not in tys):
        names = "/".join(t.__name__ for t in tys)
        raise HandoffError(
            f"manifest {where}.{key}: expected {names}, got {type(value).__name__}"
        )
    return value


def _check_cdl(cdl: object, where: str) -> None:
    if not isinstance(cdl, dict):
        raise HandoffError(f"manifest {where}: expected an object or null")
    for key in ("slope", "offset", "power"):
        v = _need(cdl, key, list, where)
        if len(v) != 3 or not all(
            isinstance(x, (int, float)) and not isinstance(x, bool) for x in v
        ):
            raise HandoffError(f"manifest {where}.{key}: expected 3 numbers")
    if not isinstance(cdl.get("saturation", 1.0), (int, float)):
        raise HandoffError(f"manifest {where}.saturation: expected a number")


def check_manifest(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """Validate a manifest mapping and return a deep copy as a plain ``dict``.

    Checked: schema id, rate, start timecode, raster, colour config, every input,
    output and shot with the keys the handoff writers read; shot references and
    record ranges (record_out is exclusive, shots concatenate in order).
    """
    if not isinstance(manifest, Mapping):
        raise HandoffError(
            f"manifest: expected a JSON object, got {type(manifest).__name__}"
        )
    doc: dict[str, Any] = copy.deepcopy(dict(manifest))
    schema = doc.get("schema")
    if schema != SCHEMA:
        raise HandoffError(f"manifest: schema {schema!r} is not {SCHEMA!r}")
    name = _need(doc, "name", str, "")
    if not name:
        raise HandoffError("manifest name: empty")
    rate = parse_rate(_need(doc, "rate", str, ""))
    drop = bool(doc.get("drop_frame", False))
    timecode_to_frames(_need(doc, "start_timecode", str, ""), rate, drop)
    _need(doc, "frames", int, "")
    raster = _need(doc, "raster", dict, "")
    for key in ("width", "height"):
        if _need(raster, key, int, "raster") <= 0:
            raise HandoffError(f"manifest raster.{key}: must be positive")
    pa = raster.get("pixel_aspect", 1.0)
    if not isinstance(pa, (int, float)) or pa <= 0:
        raise HandoffError(
            f"manifest raster.pixel_aspect: must be a positive number, got {pa!r}"
        )
    active = raster.get("active")
    if active is not None and (
        not isinstance(active, list)
        or len(active) != 4
        or not all(isinstance(v, int) for v in active)
    ):
        raise HandoffError(
            f"manifest raster.active: expected 4 integers, got {active!r}"
        )
    color = _need(doc, "color", dict, "")
    _need(color, "config", dict, "color")
    _need(color, "source_colorspace", str, "color")
    cdl = color.get("look_cdl")
    if cdl is not None:
        _check_cdl(cdl, "color.look_cdl")
    look = color.get("look")
    if look is not None and not isinstance(look, (str, dict)):
        raise HandoffError("manifest color.look: expected an object, a string or null")
    if isinstance(look, dict):
        if look.get("kind") not in LOOK_KINDS:
            raise HandoffError(
                f"manifest color.look.kind: {look.get('kind')!r} is not one of "
                f"{', '.join(LOOK_KINDS)}"
            )
        for key in ("name", "file", "cccid", "process_space", "aces_transform_id"):
            if not isinstance(look.get(key), (str, type(None))):
                raise HandoffError(f"manifest color.look.{key}: expected text or null")
        if look["kind"] == "config-look" and not look.get("name"):
            raise HandoffError("manifest color.look: a config look needs a name")
        if look["kind"] != "config-look" and not look.get("file"):
            raise HandoffError(f"manifest color.look: a {look['kind']} needs a file")
        if look.get("cdl") is not None:
            _check_cdl(look["cdl"], "color.look.cdl")
    inputs = _need(doc, "inputs", list, "")
    if not inputs:
        raise HandoffError("manifest inputs: empty")
    for i, item in enumerate(inputs):
        where = f"inputs[{i}]"
        if not isinstance(item, dict):
            raise HandoffError(f"manifest {where}: expected an object")
        _need(item, "path", str, where)
        first = _need(item, "first", int, where)
        last = _need(item, "last", int, where)
        if last < first:
            raise HandoffError(f"manifest {where}: last {last} < first {first}")
        parse_rate(item.get("rate", doc["rate"]), f"{where}.rate")
    outputs = _need(doc, "outputs", list, "")
    for i, item in enumerate(outputs):
        where = f"outputs[{i}]"
        if not isinstance(item, dict):
            raise HandoffError(f"manifest {where}: expected an object")
        _need(item, "preset", str, where)
        kind = _need(item, "kind", str, where)
        _need(item, "path", str, where)
        _need(item, "frames", int, where)
        if kind == "exr":
            _need(item, "first_frame", int, where)
        if (item.get("display") is None) != (item.get("view") is None):
            raise HandoffError(f"manifest {where}: display and view go together")
    shots = _need(doc, "shots", list, "")
    if not shots:
        raise HandoffError("manifest shots: empty")
    expected_first = 0
    for i, shot in enumerate(shots):
        where = f"shots[{i}]"
        if not isinstance(shot, dict):
            raise HandoffError(f"manifest {where}: expected an object")
        _need(shot, "name", str, where)
        idx = _need(shot, "input", int, where)
        if not 0 <= idx < len(inputs):
            raise HandoffError(f"manifest {where}.input: {idx} is not an input index")
        sf = _need(shot, "source_first", int, where)
        sl = _need(shot, "source_last", int, where)
        if sl < sf:
            raise HandoffError(
                f"manifest {where}: source_last {sl} < source_first {sf}"
            )
        if not isinstance(shot.get("retime", ""), str):
            raise HandoffError(f"manifest {where}.retime: expected a method name")
        rf = _need(shot, "record_first", int, where)
        rn = _need(shot, "record_frames", int, where)
        if rn <= 0:
            raise HandoffError(f"manifest {where}.record_frames: must be positive")
        if rf != expected_first:
            raise HandoffError(
                f"manifest {where}.record_first: {rf}, expected {expected_first} "
                "(shots are concatenated in order)"
            )
        expected_first = rf + rn
    if expected_first != doc["frames"]:
        raise HandoffError(
            f"manifest: shots cover {expected_first} record frames, "
            f"frames is {doc['frames']}"
        )
    return doc


def load_manifest(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a manifest JSON file and return it checked (see :func:`check_manifest`)."""
    p = Path(path)
    try:
        if p.exists() and not p.is_file():  # a FIFO or /dev/zero never ends
            raise HandoffError(f"{p}: manifest is not a regular file")
        raw = p.read_bytes()
    except OSError as err:
        raise ManifestNotFoundError(f"{p}: cannot read manifest: {err}") from err
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as err:
        raise HandoffError(f"{p}: not a manifest (not UTF-8 text): {err}") from err
    except json.JSONDecodeError as err:
        raise HandoffError(f"{p}: not JSON: {err}") from err
    except RecursionError as err:  # a hostile file nesting arrays thousands deep
        raise HandoffError(f"{p}: not a manifest (JSON nested too deeply)") from err
    try:
        return check_manifest(data)
    except HandoffError as err:
        raise HandoffError(f"{p}: {err}") from err


def as_manifest(manifest: object) -> dict[str, Any]:
    """Accept a manifest mapping, a path to one, or an object with ``to_dict()``."""
    if isinstance(manifest, (str, os.PathLike)):
        return load_manifest(manifest)
    if isinstance(manifest, Mapping):
        return check_manifest(manifest)
    to_dict = getattr(manifest, "to_dict", None)
    if callable(to_dict):
        return check_manifest(to_dict())
    raise HandoffError(
        f"manifest: expected a mapping, a path or an object with to_dict(), "
        f"got {type(manifest).__name__}"
    )


_CDL_SUFFIXES = (".cdl", ".cc", ".ccc")
# LUT/LMT formats OCIO 2 reads (FileTransform.getFormats()).
_LUT_SUFFIXES = frozenset(
    ".clf .ctf .cube .spi1d .spi3d .spimtx .3dl .csp .cub .lut .hdl .icc .icm "
    ".mga .m3d .vf .look".split()
)
#: ``color.look.kind`` values (``hdrpipe.color.looks.LOOK_KINDS``, repeated here
#: so the Nuke hook reads manifests without OpenColorIO).
LOOK_KINDS = ("config-look", "cdl", "cc", "ccc", "lut")


def look_spec(color: Mapping[str, Any]) -> dict[str, Any] | None:
    """The job's look as a record: kind, name, file, cccid, cdl, process_space…

    ``color["look"]`` is the record the engine writes (see
    ``hdrpipe.color.looks.look_record``). Older manifests hold a path or name
    string (and maybe ``look_cdl`` values): a string naming an ASC CDL file
    (``.cdl``/``.cc``/``.ccc``, ``grade.ccc#id`` for one correction of a
    collection) is read from the file, other files are LUT/CLF looks, anything
    else is a look of the config. Returns None when the job had no look.

    Raises
    ------
    HandoffError
        A CDL file that cannot be read, or a correction that is not in it.
    """
    look = color.get("look")
    legacy: dict[str, Any] = dict(color.get("look_cdl") or {})
    if isinstance(look, Mapping):
        spec = dict(look)
        if spec.get("cdl") is None and legacy:
            spec["cdl"] = dict(legacy)
        return spec
    if look is None and not legacy:
        return None
    if look is None:
        return {
            "kind": "cdl",
            "name": None,
            "file": legacy.get("path"),
            "cccid": legacy.get("id"),
            "process_space": legacy.get("working_space"),
            "cdl": dict(legacy),
            "aces_transform_id": None,
        }
    text = str(look)
    path, cccid = text, None
    if not Path(text).is_file() and "#" in text:
        head, tail = text.rsplit("#", 1)
        if head.lower().endswith(_CDL_SUFFIXES):
            path, cccid = head, tail
    suffix = Path(path).suffix.lower()
    spec = {
        "kind": "lut",
        "name": None,
        "file": path,
        "cccid": cccid,
        "process_space": None,
        "cdl": dict(legacy) if legacy else None,
        "aces_transform_id": None,
    }
    if suffix in _CDL_SUFFIXES:
        spec["kind"] = suffix[1:]
        if spec["cdl"] is None:
            spec["cdl"] = _read_cdl(Path(path), cccid)
    elif not Path(path).is_file() and "/" not in text and suffix not in _LUT_SUFFIXES:
        spec.update(kind="config-look", name=text, file=None)
    return spec


def look_cdl(color: Mapping[str, Any]) -> dict[str, Any] | None:
    """The job's ASC CDL values (slope, offset, power, saturation, id) or None."""
    spec = look_spec(color)
    cdl = spec.get("cdl") if spec else None
    return dict(cdl) if cdl else None


def _read_cdl(path: Path, cccid: str | None) -> dict[str, Any]:
    """The ``ColorCorrection`` ``cccid`` (else the first) of an ASC CDL v1.01 file.

    Read by the colour stage's parser (:func:`hdrpipe.color.looks.read_cdl`, the
    one the job applied), its errors reported as hand-off errors.
    """
    from ..color.looks import read_cdl
    from ..errors import ColorError

    try:
        values = read_cdl(path, cccid)
    except ColorError as err:
        raise HandoffError(f"look: {err}") from err
    if values is None:
        raise HandoffError(
            f"{path}: the correction only references another file "
            "(ColorCorrectionRef); a hand-off needs its values"
        )
    return {**values, "path": str(path)}
