"""Farm: chunked, resumable, distributed conform on Dask with lossless stitching.

A conform job becomes a :class:`FarmPlan` (plain JSON data, written to
``OUTDIR/<name>.farm.json``) of record-frame chunks. Any farm manager can run
it task by task::

    farm = hdrpipe.farm.plan_job(job, chunk=48)     # header checks, writes the plan
    for i in range(len(farm.chunks)):               # only if farm.measure_targets
        hdrpipe.farm.measure_chunk(farm, i)
    for i in range(len(farm.chunks)):               # any order, any machine
        hdrpipe.farm.run_chunk(farm, i)
    manifest = hdrpipe.farm.stitch(farm)            # lossless remux + manifest

or hand it to Dask in one call (a local cluster by default)::

    manifest = hdrpipe.farm.run(farm, scheduler="tcp://10.0.0.5:8786", resume=True)
    manifest = hdrpipe.farm.conform_distributed(job, chunk=48, workers=4)

See ``docs/farm.md`` for running on a real cluster.
"""

from __future__ import annotations

from .plan import DEFAULT_CHUNK, Chunk, FarmPlan, job_from_dict, job_to_dict, plan_job
from .scheduler import conform_distributed, local_cluster, run
from .state import clean_attempts, complete_record, reset_state
from .stitch import stitch
from .tasks import job_light_levels, measure_chunk, run_chunk

__all__ = [
    "DEFAULT_CHUNK",
    "Chunk",
    "FarmPlan",
    "plan_job",
    "plan",
    "measure_chunk",
    "run_chunk",
    "job_light_levels",
    "stitch",
    "run",
    "conform_distributed",
    "local_cluster",
    "complete_record",
    "clean_attempts",
    "reset_state",
    "job_to_dict",
    "job_from_dict",
]

#: The documented short name: ``hdrpipe.farm.plan(job, chunk=48)``.
plan = plan_job
