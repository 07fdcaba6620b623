"""Event files written by the real writers of each scalar encoding, and damaged copies of
them, for the reader's tests.

Run as a script (``python writers_corpus.py OUT``) in a process where TensorFlow cannot
be imported: TensorBoard's writers then use their TensorFlow stub, as a TF-free user's do.
"""

from __future__ import annotations

import importlib.abc
import math
import random
import sys
from pathlib import Path

WRITERS = ("tensorboardX", "tb_writer", "scalar_pb", "double_val", "keraslab", "mixed")
TAGS = ("Loss/train", "Accuracy/val", "train_loss", "epoch", "ünïcode/" + "y" * 150)
STEPS = [*range(200), 2**21, 2**35, 2**62]
ODD_VALUES = (math.nan, math.inf, -math.inf, 0.0, -0.0, 1e-45, 3.4e38)


class _NoTF(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "tensorflow" or name.startswith("tensorflow."):
            raise ImportError("tensorflow is blocked here")
        return None


def _points(seed: int):
    """``(tag, value, step, wall_time)`` in writing order, odd values among them."""
    rng = random.Random(seed)
    for i, step in enumerate(STEPS):
        for tag in TAGS:
            x = ODD_VALUES[i % len(ODD_VALUES)] if i % 29 == 3 else rng.uniform(-5, 5)
            yield tag, x, step, 1.7e9 + i * 0.25


def _summary(kind: str, tag: str, x: float):
    """A Summary of one scalar in ``kind``'s encoding, made with TensorBoard's protos."""
    from tensorboard.compat.proto import summary_pb2, tensor_pb2, tensor_shape_pb2
    from tensorboard.plugins.scalar import summary_v2

    if kind == "simple_value":
        return summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=tag, simple_value=x)])
    if kind == "float_val":
        return summary_v2.scalar_pb(tag, x)
    if kind == "double_val":
        tensor = tensor_pb2.TensorProto(
            dtype=2, double_val=[x], tensor_shape=tensor_shape_pb2.TensorShapeProto()
        )
    else:  # tensor_content of a float64
        import struct

        tensor = tensor_pb2.TensorProto(
            dtype=2,
            tensor_content=struct.pack("<d", x),
            tensor_shape=tensor_shape_pb2.TensorShapeProto(),
        )
    meta = summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars")
    )
    return summary_pb2.Summary(
        value=[summary_pb2.Summary.Value(tag=tag, tensor=tensor, metadata=meta)]
    )


def write(writer: str, out: Path, seed: int = 0) -> None:
    """One run directory ``out`` written by ``writer`` (one of WRITERS)."""
    out.mkdir(parents=True, exist_ok=True)
    if writer == "tensorboardX":
        from tensorboardX import SummaryWriter

        w = SummaryWriter(str(out), flush_secs=3600)
        for i, (tag, x, step, wall) in enumerate(_points(seed)):
            w.add_scalar(tag, x, step, walltime=wall)
            if i % 97 == 0:
                w.add_text("note", f"at {step}", step)
        w.close()
    elif writer == "tb_writer":
        from tensorboard.summary import Writer

        w = Writer(str(out))
        for tag, x, step, wall in _points(seed):
            w.add_scalar(tag, x, step, wall_time=wall)
        w.close()
    elif writer == "keraslab":
        from keraslab.core.tfevents import EventWriter

        with EventWriter(out) as w:
            for i, (tag, x, step, wall) in enumerate(_points(seed)):
                w.add_scalar(tag, x, step, wall_time=wall)
                if i % 97 == 0:
                    w.add_text("note", f"at {step}", step)
    else:
        from tensorboard.compat.proto import event_pb2
        from tensorboard.summary.writer.event_file_writer import EventFileWriter

        kinds = {"scalar_pb": ["float_val"], "double_val": ["double_val"]}.get(
            writer, ["simple_value", "float_val", "double_val", "f64_content"]
        )
        w = EventFileWriter(str(out), flush_secs=3600)
        for i, (tag, x, step, wall) in enumerate(_points(seed)):
            kind = kinds[(i // 50) % len(kinds)]  # (mixed: one tag in each layout, in turn)
            w.add_event(event_pb2.Event(wall_time=wall, step=step, summary=_summary(kind, tag, x)))
        w.close()


def damaged_copies(data: bytes, rng: random.Random, flips: int, cuts: int):
    """``(what, copy)``: ``data`` with one bit flipped (``flips`` times) or cut short
    (``cuts`` times), ``what`` naming the damage for a failing assertion."""
    for i in range(flips + cuts):
        at = rng.randrange(len(data))
        copy = bytearray(data)
        if i < flips:
            bit = 1 << rng.randrange(8)
            copy[at] ^= bit
            yield ("flip", at, bit), bytes(copy)
        else:
            yield ("cut", at), bytes(copy[:at])


if __name__ == "__main__":
    sys.meta_path.insert(0, _NoTF())
    root = Path(sys.argv[1])
    for name in WRITERS:
        write(name, root / name)
