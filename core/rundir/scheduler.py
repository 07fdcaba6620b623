"""The batch scheduler a run was started under (SLURM job, array task, node, partition, GPUs), as config.json records it."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

# config.json key -> SLURM environment variable
SLURM_FIELDS = {
    "job_id": "SLURM_JOB_ID",
    "array_job_id": "SLURM_ARRAY_JOB_ID",
    "array_task_id": "SLURM_ARRAY_TASK_ID",
    "nodelist": "SLURM_JOB_NODELIST",
    "partition": "SLURM_JOB_PARTITION",
    "gpus": "SLURM_JOB_GPUS",
    "restart_count": "SLURM_RESTART_COUNT",
    "cluster": "SLURM_CLUSTER_NAME",
}


def slurm_job(environ: Mapping[str, str] | None = None) -> dict[str, Any] | None:
    """The SLURM job this process runs in (None outside SLURM): the variables of
    :data:`SLURM_FIELDS` that are set; ``gpus`` falls back to CUDA_VISIBLE_DEVICES, which
    SLURM sets for a job with ``--gres=gpu``."""
    env = os.environ if environ is None else environ
    if not env.get("SLURM_JOB_ID"):
        return None
    record = {key: env[var] for key, var in SLURM_FIELDS.items() if env.get(var)}
    if "gpus" not in record and env.get("SLURM_GPUS_ON_NODE") and env.get("CUDA_VISIBLE_DEVICES"):
        record["gpus"] = env["CUDA_VISIBLE_DEVICES"]
    return record
