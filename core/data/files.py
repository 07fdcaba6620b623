"""Readers for dataset files on disk: IDX (MNIST family), .npz archives and CIFAR batches."""

from __future__ import annotations

import gzip
import pickle
import struct
import tarfile
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import DatasetError

if TYPE_CHECKING:  # numpy loads on first use: the launch screen never needs it
    import numpy as np

IDX_DTYPES = {0x08: "u1", 0x09: "i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")


def read_idx(path: Path) -> np.ndarray:
    """Read one IDX file (optionally gzip-compressed) into an array."""
    import numpy as np
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError) as exc:
        raise DatasetError(f"{path}: cannot read IDX file ({exc})") from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in IDX_DTYPES:
        raise DatasetError(f"{path}: not an IDX file (bad magic number)")
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DatasetError(f"{path}: truncated IDX header")
    shape = struct.unpack(f">{ndim}I", data[4:header])
    dtype = np.dtype(IDX_DTYPES[data[2]])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(data) - header != expected:
        raise DatasetError(
            f"{path}: IDX size mismatch (header says {shape}, file holds "
            f"{len(data) - header} data bytes, expected {expected})"
        )
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)


def read_npz(path: Path) -> dict[str, np.ndarray]:
    """Read an .npz archive holding x_train, y_train, x_test, y_test (and optionally class_names)."""
    import numpy as np
    try:
        with np.load(path, allow_pickle=False) as archive:
            keys = set(archive.files)
            missing = [k for k in NPZ_KEYS if k not in keys]
            if missing:
                raise DatasetError(
                    f"{path}: missing array(s) {', '.join(missing)}; an .npz dataset needs "
                    f"{', '.join(NPZ_KEYS)} (optionally class_names)"
                )
            arrays = {k: archive[k] for k in NPZ_KEYS}
            if "class_names" in keys:
                arrays["class_names"] = archive["class_names"]
    except DatasetError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise DatasetError(f"{path}: not a readable .npz file ({exc})") from None
    return arrays


def _latin1_bytes(text: str, codec: str = "latin1") -> bytes:
    """``_codecs.encode`` as Python 3 pickles ``bytes`` at protocol 2, for latin-1 only."""
    if codec not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError(f"codec {codec!r} is not allowed")
    return text.encode("latin1")


def _plain_dtype(*args):
    import numpy as np

    dtype = np.dtype(*args)
    if dtype.hasobject:
        raise pickle.UnpicklingError("object arrays are not allowed")
    return dtype


def _cifar_globals() -> dict[tuple[str, str], object]:
    import numpy as np

    reconstruct = np.ndarray.__reduce__(np.zeros(0))[0]  # numpy's own _reconstruct
    frombuffer = np.zeros(0).__reduce_ex__(5)[0]  # and _frombuffer (protocol 5)
    allowed: dict[tuple[str, str], object] = {
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): _plain_dtype,
        ("_codecs", "encode"): _latin1_bytes,
    }
    for module in ("numpy.core", "numpy._core"):
        allowed[(f"{module}.multiarray", "_reconstruct")] = reconstruct
        allowed[(f"{module}.numeric", "_frombuffer")] = frombuffer
    return allowed


class _CifarUnpickler(pickle.Unpickler):
    """Unpickles only what a CIFAR batch holds: dicts, lists, bytes, numbers and numpy arrays
    of plain dtypes. Any other global (a function to call, a class to build) is refused, so a
    crafted batch file cannot run code."""

    def __init__(self, file) -> None:
        super().__init__(file, encoding="bytes")
        self._allowed = _cifar_globals()

    def find_class(self, module: str, name: str):
        try:
            return self._allowed[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"{module!r}.{name!r} is not allowed in a CIFAR batch") from None


def _unpickle(raw: bytes, where: str) -> dict:
    import io

    try:
        batch = _CifarUnpickler(io.BytesIO(raw)).load()
    except Exception as exc:  # noqa: BLE001 - any unpickling failure is a bad file
        raise DatasetError(f"{where}: not a CIFAR batch file ({exc})") from None
    if not isinstance(batch, dict):
        raise DatasetError(f"{where}: not a CIFAR batch file (holds {type(batch).__name__})")
    return batch


def _cifar_batch(batch: dict, label_key: bytes, where: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        return _cifar_arrays(batch, label_key, where)
    except DatasetError:
        raise
    except (TypeError, ValueError, OverflowError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{where}: not a CIFAR batch ({type(exc).__name__}: {exc})") from None


def _cifar_arrays(batch: dict, label_key: bytes, where: str) -> tuple[np.ndarray, np.ndarray]:
    import numpy as np
    batch = {k.decode() if isinstance(k, bytes) else k: v for k, v in batch.items()}
    key = label_key.decode()
    if "data" not in batch or key not in batch:
        raise DatasetError(f"{where}: CIFAR batch lacks 'data' or '{key}'")
    data = np.asarray(batch["data"], dtype=np.uint8)
    if data.ndim != 2 or data.shape[1] != 3072:
        raise DatasetError(f"{where}: CIFAR data has shape {data.shape}, expected (N, 3072)")
    x = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    y = np.asarray(batch[key], dtype=np.int64)
    return x, y


def read_cifar(source: Path, kind: str) -> dict[str, np.ndarray]:
    """Read CIFAR-10 or CIFAR-100 ('cifar10'/'cifar100') from its python-pickle folder or tarball."""
    import numpy as np
    if kind == "cifar10":
        folder, label_key = "cifar-10-batches-py", b"labels"
        train_files = [f"data_batch_{i}" for i in range(1, 6)]
        test_file = "test_batch"
    else:
        folder, label_key = "cifar-100-python", b"fine_labels"
        train_files, test_file = ["train"], "test"

    def load_members(read) -> dict[str, np.ndarray]:
        xs, ys = [], []
        for name in train_files:
            x, y = _cifar_batch(_unpickle(read(name), name), label_key, f"{source}:{name}")
            xs.append(x)
            ys.append(y)
        x_test, y_test = _cifar_batch(
            _unpickle(read(test_file), test_file), label_key, f"{source}:{test_file}"
        )
        return {
            "x_train": np.concatenate(xs),
            "y_train": np.concatenate(ys),
            "x_test": x_test,
            "y_test": y_test,
        }

    if source.is_dir():

        def read_file(name: str) -> bytes:
            path = source / name
            if not path.is_file():
                raise DatasetError(f"{source}: missing {name}")
            return path.read_bytes()

        return load_members(read_file)
    try:
        with tarfile.open(source, "r:*") as tar:

            def read_member(name: str) -> bytes:
                try:
                    member = tar.extractfile(f"{folder}/{name}")
                except KeyError:
                    member = None
                if member is None:
                    raise DatasetError(f"{source}: archive lacks {folder}/{name}")
                return member.read()

            return load_members(read_member)
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise DatasetError(f"{source}: not a readable CIFAR archive ({exc})") from None
