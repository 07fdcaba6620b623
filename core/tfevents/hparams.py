"""TensorBoard HParams session summaries (start: the values; end: the status), built from the plugin's own protos without TensorFlow.

Only session data is written, no experiment summary: TensorBoard then builds its HParams
table from every run's session in the log directory (keraslab's and other writers' alike),
with each run's scalars as its metrics (``train/epoch_loss``, ``validation/epoch_accuracy``...).
"""

from __future__ import annotations

import functools
import time
from typing import Any

from .decode import DT_FLOAT, HPARAMS, protos

SESSION_START_TAG = "_hparams_/session_start_info"
SESSION_END_TAG = "_hparams_/session_end_info"
# a run's end as HParams' Status: keraslab's statuses to api_pb2.Status values
STATUSES = {"completed": "STATUS_SUCCESS", "failed": "STATUS_FAILURE", "running": "STATUS_RUNNING"}


@functools.cache
def _pb():
    from tensorboard.plugins.hparams import api_pb2, plugin_data_pb2

    return api_pb2, plugin_data_pb2


def _summary(tag: str, data) -> Any:
    """A Summary holding HParamsPluginData ``data`` as TensorBoard's own ``hparams`` summaries do
    (the content in the metadata, an empty float vector as the value)."""
    _, summary_pb2, tensor_pb2, tensor_shape_pb2 = protos()
    data.version = 0
    null = tensor_pb2.TensorProto(
        dtype=DT_FLOAT, tensor_shape=tensor_shape_pb2.TensorShapeProto(dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=0)])
    )
    value = summary_pb2.Summary.Value(tag=tag, tensor=null)
    value.metadata.plugin_data.plugin_name = HPARAMS
    value.metadata.plugin_data.content = data.SerializeToString()
    return summary_pb2.Summary(value=[value])


def session_start(hparams: dict[str, Any], start_time: float | None = None, group: str = "") -> Any:
    """The session-start Summary of ``hparams`` (bool, number or text values; None skipped, others as text)."""
    _, plugin_data_pb2 = _pb()
    info = plugin_data_pb2.SessionStartInfo(start_time_secs=time.time() if start_time is None else start_time,
                                            group_name=group)  # fmt: skip
    for name, value in hparams.items():
        if value is None:
            continue
        if isinstance(value, bool):
            info.hparams[name].bool_value = value
        elif isinstance(value, (int, float)):
            info.hparams[name].number_value = value
        else:
            info.hparams[name].string_value = str(value)
    return _summary(SESSION_START_TAG, plugin_data_pb2.HParamsPluginData(session_start_info=info))


def session_end(status: str, end_time: float | None = None) -> Any:
    """The session-end Summary for a run that ended ``status`` (keraslab's word)."""
    api_pb2, plugin_data_pb2 = _pb()
    info = plugin_data_pb2.SessionEndInfo(
        status=api_pb2.Status.Value(STATUSES.get(status, "STATUS_UNKNOWN")),
        end_time_secs=time.time() if end_time is None else end_time,
    )
    return _summary(SESSION_END_TAG, plugin_data_pb2.HParamsPluginData(session_end_info=info))
