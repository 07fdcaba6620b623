"""keraslab.core.tfevents: TensorBoard event files written and read in pure Python, without TensorFlow.

Other packages import from here, not from the modules: ``framing`` (TFRecord), ``crc``,
``decode`` (protobuf path) and ``fastpath`` (TF2 scalars by their bytes), ``writer``,
``reader`` (one file), ``runs`` (run directories), ``bulk`` (numpy decoding of many
records at once), ``periodic`` (records repeating period after period, decoded as rows),
``series`` (ScalarSeries: numpy columns until lists are asked for), ``kerasgraph``, ``modeljson`` (a Keras graph's JSON) and ``hparams`` (HParams session
summaries). Importing the package loads neither numpy, crc32c
nor protobuf: they load when an event file is first read or written.
"""

from .decode import ScalarSeries
from .framing import HEAD_BYTES, encode_record, is_event_file
from .hparams import session_end as hparams_session_end
from .hparams import session_start as hparams_session_start
from .modeljson import read_keras_model_json
from .reader import EventFileReader, read_together
from .runs import RunEventReader, RunScalars, merge_order, read_run_scalars, read_runs_scalars
from .writer import EventWriter

__all__ = [
    "HEAD_BYTES",
    "EventFileReader",
    "EventWriter",
    "RunEventReader",
    "RunScalars",
    "ScalarSeries",
    "encode_record",
    "hparams_session_end",
    "hparams_session_start",
    "is_event_file",
    "merge_order",
    "read_keras_model_json",
    "read_run_scalars",
    "read_runs_scalars",
    "read_together",
]
