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
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from ..errors import HandoffError, InputError
from ..timecode import Timecode
from ..timecode import parse_rate as base_parse_rate
from ..types import Rate

__all__ = [
    "SCHEMA",
    "ManifestNotFoundError",
    "HandoffInputError",
    "load_manifest",
    "check_manifest",
    "as_manifest",
    "parse_rate",
    "start_timecode",
    "look_cdl",
    "look_spec",
    "LOOK_KINDS",
    "Retarget",
    "output_retarget",
]

SCHEMA = "hdrpipe.manifest/1"


class ManifestNotFoundError(HandoffError, InputError):
    """The manifest file does not exist or cannot be read (a usage error, exit 2)."""

    exit_code = 2


class HandoffInputError(HandoffError, InputError):
    """The job's own names or paths cannot be expressed in a hand-off format
    (e.g. a literal ``#`` in a file Nuke must read): a usage problem, exit 2."""

    exit_code = 2


_TC = re.compile(r"^(\d{2}):(\d{2}):(\d{2})([:;])(\d{2,3})$")


def parse_rate(text: object, where: str = "rate") -> Fraction:
    """Parse a manifest rate (``"24000/1001"``, ``"24/1"``, ``"25"``) exactly.

    The rate parser is :func:`hdrpipe.timecode.parse_rate`; its errors become
    :class:`HandoffError` naming the key.
    """
    if isinstance(text, bool) or not isinstance(text, (str, int)):
        raise HandoffError(f"manifest {where}: not a rate: {text!r}")
    try:
        return base_parse_rate(str(text)).fps
    except InputError as err:
        raise HandoffError(f"manifest {where}: not a rate: {err}") from err


def start_timecode(doc: Mapping[str, Any]) -> Timecode:
    """Return the manifest's ``start_timecode`` as a :class:`Timecode` at its rate.

    The label is read in the manifest's counting: drop frame when
    ``drop_frame`` is set or the separator is ``;`` (which a non-drop rate
    refuses). The hand-off writers take every record timecode from this value.
    """
    tc = doc.get("start_timecode")
    if not isinstance(tc, str) or not _TC.match(tc):
        raise HandoffError(f"manifest timecode {tc!r}: expected HH:MM:SS:FF")
    rate = parse_rate(doc.get("rate"))
    drop = bool(doc.get("drop_frame", False)) or ";" in tc
    try:
        return Timecode.parse(tc, Rate(rate, drop_frame=drop))
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
    parse_rate(_need(doc, "rate", str, ""))
    _need(doc, "start_timecode", str, "")
    start_timecode(doc)
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


@dataclass(frozen=True, slots=True)
class Retarget:
    """A deliverable's BT.2390 retargeting after its output transform.

    The engine renders the ``from`` peak's ACES output (the display/view the
    manifest names) and maps the PQ signal to the ``to`` peak with the ITU-R
    BT.2390 EETF applied to max(R', G', B') (``hdrpipe.color.tonemap.retarget_pq``).
    """

    target: str
    source_peak: float
    target_peak: float

    def describe(self) -> str:
        return (
            f"then ITU-R BT.2390 EETF on the PQ signal (maxRGB), "
            f"{self.source_peak:g} -> {self.target_peak:g} cd/m2 "
            f"(hdrpipe target {self.target})"
        )


def output_retarget(
    manifest: Mapping[str, Any], output: Mapping[str, Any]
) -> Retarget | None:
    """The retargeting of ``output`` (a manifest ``outputs`` entry), or None.

    Read from the job's recorded transforms (``color.transforms[].target``:
    ``retarget_from`` and ``peak_luminance``); a manifest without them falls
    back to hdrpipe's built-in target of that name.
    """
    name = str(output.get("target") or "")
    for transform in manifest.get("color", {}).get("transforms") or []:
        target = transform.get("target") if isinstance(transform, Mapping) else None
        if not isinstance(target, Mapping) or target.get("name") != name:
            continue
        start = target.get("retarget_from")
        if start is None:
            return None
        peak = target.get("peak_luminance") or start
        return Retarget(name, float(start), float(peak))
    # An older manifest without the record: the registered target decides
    # (imported here so the Nuke hook's import stays light).
    try:
        from ..color_targets import target_specs
    except ImportError:  # the Nuke hook without numpy: the record decides
        return None

    spec = target_specs().get(name)
    if spec is None or spec.retarget_from is None:
        return None
    return Retarget(name, spec.retarget_from, spec.peak_luminance or spec.retarget_from)
