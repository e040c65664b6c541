"""LightLevelMeter keeps each frame's MaxRGB and frame average (for the QC report)."""

from __future__ import annotations

from hdrpipe.color import FrameLight, LightLevelMeter, get_target


def test_per_frame_in_order_merge_and_round_trip() -> None:
    target = get_target("hdr-pq-1000-rec2020")
    a, b = LightLevelMeter(target), LightLevelMeter(target)
    a.add_light(FrameLight(100.0, 50.0, 10))  # average 5
    a.add_light(FrameLight(900.0, 300.0, 10))  # average 30
    b.add_light(FrameLight(400.0, 70.0, 10))  # average 7
    merged = a.merge(b)
    assert merged.per_frame == [(100.0, 5.0), (900.0, 30.0), (400.0, 7.0)]
    doc = merged.to_dict()
    assert doc["per_frame"] == {
        "max_rgb": [100.0, 900.0, 400.0],
        "frame_average": [5.0, 30.0, 7.0],
    }
    # The per-frame maxima are the CTA-861.3 values.
    assert (doc["max_cll"], doc["max_fall"]) == (900, 30)
    again = LightLevelMeter.from_dict(doc)
    assert again.per_frame == merged.per_frame
