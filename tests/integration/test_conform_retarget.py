"""A deliverable on the BT.2390 retargeting target: 600-nit metadata everywhere.

MaxCLL and the ST 2086 peak are read back from the file by MediaInfo (pymediainfo),
independently of hdrpipe's probe.
"""

from __future__ import annotations

from pathlib import Path

from pymediainfo import MediaInfo

from fixtures.generate import make_plate
from hdrpipe.engine import ConformJob, conform


def test_prores_on_the_600_nit_target(tmp_path: Path) -> None:
    plate = make_plate(tmp_path / "src", width=128, height=72, frames=3, seed=1)
    presets = tmp_path / "p.toml"
    presets.write_text(
        "[presets.prores4444xq-pq600]\n"
        'base = "prores4444xq-pq1000"\n'
        'target = "hdr-pq-600-rec2020"\n'
        "mastering_max_luminance = 600.0\n"
    )
    job = ConformJob(
        inputs=(str(plate),),
        deliver=("prores4444xq-pq600",),
        outdir=tmp_path / "out",
        presets_file=presets,
        color_path="exact",
    )
    (out,) = conform(job).outputs
    assert out["hdr"]["mastering_display"].endswith("L(6000000,1)")
    assert 0 < out["hdr"]["max_cll"] <= 600
    (video,) = MediaInfo.parse(out["path"]).video_tracks
    assert video.mastering_display_luminance.startswith("min: 0.0001 cd/m2, max: 600")
    assert video.maximum_content_light_level == f"{out['hdr']['max_cll']} cd/m2"
