"""Stitch movie parts losslessly into the final deliverables; write the job manifest.

Packet-level remux with PyAV (no decode, no re-encode): the parts' packets are
copied in chunk order into one new movie whose timestamps continue from part to
part (each part's PTS/DTS shifted by the frames before it, in a time base of
one frame), with the ``tmcd`` start timecode of the job and the parts' sample
entry (``ap4x``/``apch``/``hvc1`` fourcc, ``hvcC`` parameter sets)
(:func:`hdrpipe.encode.container.remux_parts`). Then the container layer tags
and checks it as it does a single-process encode
(:func:`hdrpipe.encode.container.finish_movie`: ``colr``, ``pasp``, ``fiel``,
``mdcv`` (SMPTE ST 2086) and ``clli`` with MaxCLL/MaxFALL merged over all
chunks (CTA-861.3: maxima over all frames, so the merge of chunk maxima is
exact), the vendor), the file is verified like a normal encode (every copy of
the HDR metadata, HEVC SEI in band and in ``hvcC`` included) and renamed
atomically.

Why remuxing is valid:

* ProRes is intra-only: every frame is a keyframe.
* HEVC: each part was encoded on its own, so it starts with an IDR picture and
  (x265 ``no-open-gop``) holds only closed GOPs; no picture references across a
  part boundary. Parts are made with the same encoder settings, so their
  parameter sets are identical (checked: the ``hvcC`` of every part must equal
  the first one's). The HDR10 SEI in every part already carries the job-wide
  MaxCLL/MaxFALL (measured before encoding), so SEI and ``clli`` agree.

EXR deliverables need no stitch: chunks wrote their frames into a folder of the
state directory, which is moved into OUTDIR as a whole once every movie is
stitched and verified (a plate never appears frame by frame).
"""

from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path
from typing import Any

from ..color import LightLevelMeter, get_target, mastering_display_for
from ..encode.container import finish_movie, pixel_aspect_ratio, remux_parts
from ..encode.presets import DeliverySpec
from ..encode.quality import bitrate_floor_finding
from ..encode.video import default_mastering
from ..engine import JobPlan, Manifest, manifest_data, write_manifest
from ..engine.job import check_report
from ..errors import ConformError, EncodeError
from ..outputs import discard, publish, staging_dir
from ..timecode import Timecode
from ..types import ContentLightLevel, MasteringDisplay, Rate
from .plan import FarmPlan, patched_at_stitch, staged_exr
from .sources import MergedValidator, load_stats, stats_path
from .state import read_record, record_path, source_digest
from .tasks import chunk_done, job_light_levels, task_plan

__all__ = ["stitch"]

log = logging.getLogger(__name__)


def _mastering(spec: DeliverySpec, target: Any) -> MasteringDisplay:
    return mastering_display_for(target) or default_mastering(spec)


def _stitch_movie(
    farm: FarmPlan,
    spec: DeliverySpec,
    final: Path,
    chunk_records: list[dict[str, Any]],
    rate: Rate,
    start_timecode: Timecode,
    has_alpha: bool,
    level: ContentLightLevel | None,
    mastering: MasteringDisplay | None,
    pixel_aspect: float,
    *,
    patch_sei: bool = False,
) -> dict[str, Any]:
    """Remux the parts into ``final``, tag and verify it.

    ``patch_sei``: the parts carry the placeholder light level SEI (x265), and
    every copy in the stitched movie is patched to ``level``, merged over all
    chunks — what a single-process encode does at close.
    """
    parts = [Path(r["path"]) for r in chunk_records]
    frames = [c.frames for c in farm.chunks]
    final.parent.mkdir(parents=True, exist_ok=True)
    stage = staging_dir(
        final.parent, final.name
    )  # private: no planted name is followed
    tmp = stage / f"movie{final.suffix}"
    try:
        total = remux_parts(
            parts,
            tmp,
            container=spec.container,
            rate=rate,
            start_timecode=start_timecode,
            frames=frames,
        )
        if spec.hdr_metadata and (level is None or mastering is None):
            raise EncodeError(
                f"{final}: HDR preset {spec.name!r} without a light level"
            )
        info = finish_movie(
            tmp,
            spec,
            frames=farm.frames,
            rate=rate,
            start_timecode=start_timecode,
            mastering=mastering,
            light_level=level,
            has_alpha=has_alpha,
            pixel_aspect=pixel_aspect_ratio(pixel_aspect),
            patch_sei_light_level=patch_sei,
        )
        publish(tmp, final, overwrite=True)
    finally:
        discard(stage)
    info["path"] = str(final)
    log.info("%s: %d frames stitched from %d parts, verified", final, total, len(parts))
    return info


def _judge_sources(farm: FarmPlan, planned: JobPlan) -> list[dict[str, Any]]:
    """Merge the chunks' source statistics, read the frames no chunk read, judge.

    Raises
    ------
    ValidationError
        A source fails the job's profile and ``force`` is off.
    """
    job = planned.job
    merged = [
        MergedValidator(
            shot.sequence,
            job.profile,
            max_memory=job.max_memory,
            source_space=job.source_colorspace,
        )
        for shot in planned.shots
    ]
    for validator in merged:
        validator.check_headers()
    for chunk in farm.chunks:
        per_shot = load_stats(stats_path(farm.state, chunk.index))
        for validator, frames in zip(merged, per_shot, strict=True):
            validator.add_frames(frames)
    reports = []
    for shot, validator in zip(planned.shots, merged, strict=True):
        report = validator.report()
        check_report(job, shot.sequence, report)
        reports.append(report.to_dict())
    return reports


def _place_exr(staged: Path, final: Path, *, overwrite: bool) -> None:
    """Move a staged plate folder to its final place (replacing it if ``overwrite``)."""
    source, target = staged.parent, final.parent
    if not source.is_dir():
        if target.is_dir():
            return  # moved by an earlier stitch of this plan (the records agree)
        raise ConformError(f"{source}: the staged EXR frames are missing")
    if target.exists():
        if _same_frames(source, target):
            shutil.rmtree(source)  # an earlier stitch of this plan placed them
            return
        if not overwrite:
            raise ConformError(f"{target}: appeared while the job ran; not replaced")
    # As a whole: an existing plate is moved aside, then deleted once this one
    # is in place (hdrpipe.outputs.publish).
    publish(source, target, overwrite=overwrite)
    log.info("%s: EXR frames moved into place", target)


def _same_frames(source: Path, target: Path) -> bool:
    """True when both folders hold the same file names with the same bytes."""
    names = sorted(p.name for p in source.iterdir())
    if names != sorted(p.name for p in target.iterdir()):
        return False
    return all((source / n).read_bytes() == (target / n).read_bytes() for n in names)


def _merged_meter(records: list[dict[str, Any]], target: Any) -> LightLevelMeter | None:
    merged: LightLevelMeter | None = None
    for record in records:
        data = record.get("light_level_meter")
        if data is None:
            return None
        meter = LightLevelMeter.from_dict(data, target)
        merged = meter if merged is None else merged.merge(meter)
    return merged


def stitch(
    farm: FarmPlan,
    *,
    elapsed: float | None = None,
    farm_info: dict[str, Any] | None = None,
    keep_parts: bool = False,
) -> Manifest:
    """Finish a job whose chunks are all complete: stitch movies, write the manifest.

    ``elapsed`` (seconds) defaults to the time since the first chunk started;
    ``farm_info`` (workers, scheduler…) is added to the manifest's ``farm`` entry.
    Once the manifest is written the movie parts are deleted (they are as big
    as the deliverables) unless ``keep_parts``; the chunk records stay.

    Raises
    ------
    ConformError
        A chunk is not complete, or chunk meters disagree with the measured level.
    EncodeError
        Remux, box patch or verification of a stitched movie failed.
    """
    records = []
    missing = []
    for chunk in farm.chunks:
        record = chunk_done(farm, chunk.index)
        if record is None:
            missing.append(chunk.index)
        else:
            records.append(record)
    if missing:
        raise ConformError(
            f"{farm.plan_path}: chunk(s) {missing} not complete; "
            "run them (`hdrpipe farm run-chunk PLAN N`) before stitching"
        )
    planned = task_plan(farm)
    # Judged before anything is published: an unforced job that fails its
    # profile leaves no deliverable.
    validation = (
        _judge_sources(farm, planned)
        if farm.validate_in_chunks
        else list(farm.validation)
    )
    measured = job_light_levels(farm)
    outputs: list[dict[str, Any]] = []
    for out in planned.outputs:
        spec = out.spec
        per_chunk = []
        for record in records:
            found = [o for o in record["outputs"] if o["preset"] == spec.name]
            if not found:
                raise ConformError(
                    f"chunk {record['index']} made no {spec.name!r} output; "
                    "plan it again"
                )
            per_chunk.append(found[0])
        target = get_target(spec.target, config=planned.job.config)
        meter = _merged_meter(per_chunk, target)
        level = meter.result() if meter is not None else None
        if (
            spec.target in measured
            and level is not None
            and level != measured[spec.target]
        ):
            raise ConformError(
                f"{spec.name}: light level measured before encoding "
                f"({measured[spec.target]}) differs from the chunks' ({level})"
            )
        mastering = _mastering(spec, target) if spec.hdr_metadata else None
        record = dict(per_chunk[0])
        record["path"] = str(out.path)
        record["frames"] = sum(r["frames"] for r in per_chunk)
        held = {
            (h["input"], h["frame"]): h
            for r in per_chunk
            for h in r.get("held_frames", [])
        }
        record["held_frames"] = [held[k] for k in sorted(held)]
        record["light_level_meter"] = meter.to_dict() if meter is not None else None
        record["hdr"] = (
            None
            if mastering is None or level is None
            else {
                "max_cll": level.max_cll,
                "max_fall": level.max_fall,
                "mastering_display": mastering.x265(),
            }
        )
        if spec.kind == "exr":
            probe = dict(per_chunk[0].get("probe") or {})
            probe.update(
                pattern=str(out.path),
                frames=record["frames"],
                last_frame=probe.get("first_frame", 0) + record["frames"] - 1,
                start_timecode=str(planned.start_timecode),
            )
            probe["path"] = str(
                out.path.with_name(Path(str(probe.get("path", ""))).name)
            )
            record["probe"] = probe
        else:
            record["probe"] = _stitch_movie(
                farm,
                spec,
                out.path,
                per_chunk,
                planned.rate,
                planned.start_timecode,
                out.has_alpha,
                level,
                mastering,
                planned.pixel_aspect,
                patch_sei=patched_at_stitch(spec, farm),
            )
        # Each part judged its own bitrate: judge the stitched movie instead.
        record["findings"] = [
            f
            for f in record.get("findings", [])
            if f.get("id") != "bitrate_below_floor"
        ]
        floor = bitrate_floor_finding(
            spec,
            out.path,
            frames=record["frames"],
            width=planned.width,
            height=planned.height,
            fps=planned.rate.fps,
        )
        if floor is not None:
            log.warning("%s", floor["message"])
            record["findings"].append(floor)
        record["chunks"] = len(per_chunk)
        outputs.append(record)

    if elapsed is None:
        elapsed = time.time() - min(r.get("started", time.time()) for r in records)
    # The sources were just checked against the chunks' records (digests
    # remembered in this process): the manifest lists them without reading
    # every frame once more.
    digests = {
        shot.sequence.pattern: {
            shot.sequence.path(f).name: source_digest(shot.sequence.path(f))
            for f in shot.sequence.frames
        }
        for shot in planned.shots
    }
    data = manifest_data(planned, outputs, elapsed, digests=digests)
    for entry, report in zip(data["inputs"], validation, strict=False):
        entry["validation"] = report
    data["validation_forced"] = bool(farm.job.get("force")) and any(
        (r or {}).get("status") == "fail" for r in validation
    )
    workers = sorted({f"{r['worker']['host']}:{r['worker']['pid']}" for r in records})
    measures = {
        i: read_record(record_path(farm, "measure", i))
        for i in range(len(farm.chunks))
        if farm.measure_targets
    }
    data["farm"] = {
        "plan": farm.plan_path,
        "chunk_size": farm.chunk_size,
        "chunks": [
            {
                "index": r["index"],
                "record_range": r["record_range"],
                "worker": f"{r['worker']['host']}:{r['worker']['pid']}",
                "elapsed_seconds": r.get("elapsed"),
                # CPU of the worker process while the task ran (all its threads).
                "cpu_seconds": r.get("cpu"),
                "measure_cpu_seconds": (measures.get(r["index"]) or {}).get("cpu"),
            }
            for r in records
        ],
        "worker_processes": workers,
        "measured_light_levels": {
            t: {"max_cll": v.max_cll, "max_fall": v.max_fall}
            for t, v in measured.items()
        },
        **(farm_info or {}),
    }
    for out in planned.outputs:
        if out.spec.kind == "exr":
            staged = staged_exr(farm, {"path": str(out.path)})
            _place_exr(staged, out.path, overwrite=bool(farm.job.get("overwrite")))
    path = write_manifest(Path(farm.outdir) / f"{farm.name}.manifest.json", data)
    if not keep_parts:
        parts = farm.state / "parts"
        if parts.is_dir():
            shutil.rmtree(parts)
            log.info("%s: movie parts removed after stitching", parts)
    return Manifest(path=path, data=data)
