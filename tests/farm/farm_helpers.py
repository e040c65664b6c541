"""Farm test helpers: job factory, decoded planes, packet times, MediaInfo, EXR.

References are independent of ``hdrpipe.farm``: the engine's single-process
``conform`` of the same job, PyAV-decoded planes, MediaInfo tags and EXR pixels
read with OpenImageIO.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import av
import numpy as np
import OpenImageIO as oiio
from pymediainfo import MediaInfo

from hdrpipe.engine import ConformJob

W, H, N = 128, 72, 16
FPS = "23.976"
START_TC = "10:00:00:00"
DELIVER = ("prores4444xq-pq1000", "hevc-hdr10", "exr-acescg")
VENV_BIN = Path(sys.executable).parent


def make_job(plate: Path, outdir: Path, **fields: Any) -> ConformJob:
    base: dict[str, Any] = {
        "inputs": (str(plate),),
        "deliver": DELIVER,
        "outdir": outdir,
        "fps": FPS,
        "start_tc": START_TC,
    }
    base.update(fields)
    return ConformJob(**base)


def output_path(manifest: dict[str, Any], preset: str) -> Path:
    return Path(next(o["path"] for o in manifest["outputs"] if o["preset"] == preset))


def decoded_planes(path: Path) -> list[list[np.ndarray]]:
    """Every decoded frame of a movie as its raw planes (uint16 samples), via PyAV."""
    frames = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            planes = []
            for plane in frame.planes:
                row = plane.line_size // 2
                data = np.frombuffer(memoryview(plane), dtype=np.uint16).reshape(
                    -1, row
                )
                planes.append(data[: plane.height, : plane.width].copy())
            frames.append(planes)
    return frames


def packet_times(path: Path) -> tuple[list[int], list[int], Any]:
    """(pts, durations) of every video packet, in frames, and the stream rate (PyAV)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        rate = stream.average_rate
        tick = stream.time_base * rate
        pts, durations = [], []
        for packet in container.demux(stream):
            if packet.pts is None:
                continue
            pts.append(packet.pts * tick)
            durations.append(packet.duration * tick)
    return pts, durations, rate


def mediainfo(path: Path) -> tuple[dict[str, Any], str | None]:
    """(video track, time code of first frame) as MediaInfo reads them."""
    info = MediaInfo.parse(str(path))
    video = next(t for t in info.tracks if t.track_type == "Video").to_data()
    other = [t.to_data() for t in info.tracks if t.track_type == "Other"]
    tc = next(
        (
            t["time_code_of_first_frame"]
            for t in other
            if "time_code_of_first_frame" in t
        ),
        None,
    )
    return video, tc


def exr_pixels(folder: Path) -> dict[str, np.ndarray]:
    out = {}
    for path in sorted(folder.glob("*.exr")):
        buf = oiio.ImageBuf(str(path))
        out[path.name] = buf.get_pixels(oiio.HALF)
    return out
