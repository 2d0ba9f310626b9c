"""Reading a TorchScript model archive as data: its metadata entry and its weights, no code.

A model file is a zip archive written by ``torch.jit.save``: ``<root>/data.pkl`` (the module
tree, pickled), ``<root>/data/<key>`` (the raw bytes of each tensor storage), ``<root>/code/``
(the module's TorchScript code, never read here), ``<root>/extra/...`` (our metadata) and a few
small entries. :class:`ModelArchive` opens such a file with bounds checked before anything is
read (file size, number of entries, size of each entry), and :meth:`ModelArchive.tensors`
parses ``data.pkl`` with a restricted unpickler: only the few globals TorchScript writes for
tensors and modules are known, each replaced by a function of this module that checks its
arguments; every TorchScript module class becomes a :class:`_ModuleState` that only collects
its attributes. Nothing in the file is ever run: the caller builds its own network and loads
the tensors into it.
"""

from __future__ import annotations

import io
import os
import pickle
import stat
import struct
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Self

import torch

MAX_FILE_BYTES = 1024 * 1024 * 1024      # a model file (the bundled one is 9.6 MB)
MAX_ENTRIES = 4096                        # zip entries (the bundled model has 106)
MAX_DIRECTORY_BYTES = 4 * 1024 * 1024     # the zip's central directory, read before any entry
MAX_ENTRY_BYTES = 512 * 1024 * 1024       # one entry, as declared by the zip
MAX_TOTAL_BYTES = 1024 * 1024 * 1024      # all tensor storages together
MAX_PICKLE_BYTES = 4 * 1024 * 1024        # data.pkl (the bundled model's: 5.6 kB)
MAX_TENSOR_DIMS = 8
MAX_MODULE_DEPTH = 32

# storage type names TorchScript writes, as their dtypes
_STORAGE_DTYPES = {
    "FloatStorage": torch.float32, "DoubleStorage": torch.float64, "HalfStorage": torch.float16,
    "BFloat16Storage": torch.bfloat16, "LongStorage": torch.int64, "IntStorage": torch.int32,
    "ShortStorage": torch.int16, "CharStorage": torch.int8, "ByteStorage": torch.uint8,
    "BoolStorage": torch.bool,
}


class ArchiveError(Exception):
    """The file is not a model archive that can be read as data; the message says why."""


class _Frozen:
    """Base of the objects the unpickler makes: a pickle cannot change them (BUILD, SETITEMS)."""

    __slots__ = ()

    def __setstate__(self, state: object) -> None:
        raise ArchiveError("unexpected data in the weights")


class _StorageType(_Frozen):
    __slots__ = ("dtype",)

    def __init__(self, dtype: torch.dtype):
        self.dtype = dtype


class _Storage(_Frozen):
    __slots__ = ("flat",)

    def __init__(self, flat: torch.Tensor):
        self.flat = flat


class TensorData(_Frozen):
    """A tensor read from the archive (a plain holder, so a pickle cannot act on the tensor)."""

    __slots__ = ("tensor",)

    def __init__(self, tensor: torch.Tensor):
        self.tensor = tensor


class _ModuleState:
    """What a TorchScript module class becomes: its pickled attributes, nothing else."""

    def __init__(self, kind: str):
        self.kind = kind
        self.state: dict[str, object] = {}

    def __setstate__(self, state: object) -> None:
        if not isinstance(state, dict) or self.state:
            raise ArchiveError("unexpected data in the weights")
        self.state = state


def _module_class(kind: str) -> type:
    """A fresh placeholder class for one TorchScript class name (NEWOBJ calls ``cls.__new__``)."""

    class Module(_ModuleState):
        def __new__(cls, *args: object) -> _ModuleState:
            if args:
                raise ArchiveError("unexpected data in the weights")
            obj = object.__new__(cls)
            _ModuleState.__init__(obj, kind)
            return obj

        def __init__(self, *args: object) -> None:  # state arrives by BUILD
            pass

    return Module


def _int(value: object, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ArchiveError("a tensor in the weights has invalid dimensions")
    return value


def _rebuild_tensor(storage: object, offset: object, size: object, stride: object,
                    requires_grad: object = False, hooks: object = None, metadata: object = None) -> TensorData:
    """``torch._utils._rebuild_tensor_v2`` with every argument checked against its storage."""
    if not isinstance(storage, _Storage) or not isinstance(size, tuple) or not isinstance(stride, tuple):
        raise ArchiveError("a tensor in the weights is malformed")
    if len(size) != len(stride) or len(size) > MAX_TENSOR_DIMS or (hooks is not None and hooks != {}):
        raise ArchiveError("a tensor in the weights is malformed")
    n = storage.flat.numel()
    offset = _int(offset, 0, max(n, 0))
    size = tuple(_int(s, 0, n) for s in size)
    stride = tuple(_int(s, 0, n) for s in stride)
    if all(size):  # the last element it addresses must lie inside the storage
        last = offset + sum((s - 1) * st for s, st in zip(size, stride))
        if last >= n:
            raise ArchiveError("a tensor in the weights reaches past its data")
    return TensorData(storage.flat.as_strided(size, stride, offset))


def _ordered_dict(*args: object) -> dict:
    if args:
        raise ArchiveError("unexpected data in the weights")
    return {}


def _same_list(value: object, *rest: object) -> list:
    if not isinstance(value, list):
        raise ArchiveError("unexpected data in the weights")
    return value


def _restore_type_tag(value: object, _tag: object = None) -> object:
    return value


_GLOBALS: dict[tuple[str, str], Callable[..., object]] = {
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("collections", "OrderedDict"): _ordered_dict,
    ("torch.jit._pickle", "build_intlist"): _same_list,
    ("torch.jit._pickle", "build_tensorlist"): _same_list,
    ("torch.jit._pickle", "build_doublelist"): _same_list,
    ("torch.jit._pickle", "build_boollist"): _same_list,
    ("torch.jit._pickle", "restore_type_tag"): _restore_type_tag,
}


class _DataUnpickler(pickle.Unpickler):
    def __init__(self, data: bytes, read_storage: Callable[[str, torch.dtype, int], torch.Tensor]):
        super().__init__(io.BytesIO(data))
        self._read_storage = read_storage
        self._storages: dict[str, _Storage] = {}
        self._classes: dict[str, type] = {}

    def find_class(self, module: str, name: str) -> object:
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(_STORAGE_DTYPES[name])
        if module == "__torch__" or module.startswith("__torch__."):
            key = f"{module}.{name}"
            if key not in self._classes:
                self._classes[key] = _module_class(key)
            return self._classes[key]
        func = _GLOBALS.get((module, name))
        if func is None:
            raise ArchiveError(f"the weights refer to {module}.{name}"[:120])
        return func

    def persistent_load(self, pid: object) -> _Storage:
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"):
            raise ArchiveError("a tensor in the weights is malformed")
        _, kind, key, _location, numel = pid
        if not isinstance(kind, _StorageType) or not isinstance(key, str) or not key.isdigit():
            raise ArchiveError("a tensor in the weights is malformed")
        numel = _int(numel, 0, MAX_ENTRY_BYTES)
        got = self._storages.get(key)
        if got is None:
            got = self._storages[key] = _Storage(self._read_storage(key, kind.dtype, numel))
        elif got.flat.dtype != kind.dtype or got.flat.numel() != numel:
            raise ArchiveError("a tensor in the weights is malformed")
        return got


def _check_directory(path: Path, size: int) -> None:
    """Bound the zip's central directory (entry count and size) from its end records, before
    :class:`zipfile.ZipFile` reads it whole."""
    with open(path, "rb") as f:
        tail_len = min(size, 65_557)
        f.seek(size - tail_len)
        tail = f.read(tail_len)
        i = tail.rfind(b"PK\x05\x06")
        if i < 0 or i + 22 > len(tail):
            raise ArchiveError("not a model file, or it is truncated")
        entries, dir_size = struct.unpack("<xxxxxxxxxxHI", tail[i:i + 16])
        loc = tail.rfind(b"PK\x06\x07", 0, i)
        if loc >= 0 and loc + 20 <= i:  # a zip64 end record may declare other numbers
            offset = struct.unpack("<Q", tail[loc + 8:loc + 16])[0]
            if offset + 56 <= size:
                f.seek(offset)
                rec = f.read(56)
                if rec[:4] == b"PK\x06\x06":
                    e64, d64 = struct.unpack("<QQ", rec[32:48])
                    entries, dir_size = max(entries, e64), max(dir_size, d64)
    if entries > MAX_ENTRIES or dir_size > MAX_DIRECTORY_BYTES:
        raise ArchiveError(f"the archive has too many entries ({entries}; a model has at most {MAX_ENTRIES})")


class ModelArchive:
    """A model file opened as a bounded zip archive (a context manager)."""

    def __init__(self, path: str | os.PathLike, meta_name: str):
        self.path = Path(path)
        try:
            st = os.stat(self.path)
        except OSError as exc:
            raise ArchiveError(f"cannot be opened ({exc.strerror or exc})") from None
        if not stat.S_ISREG(st.st_mode):
            raise ArchiveError("not a regular file")
        if st.st_size > MAX_FILE_BYTES:
            raise ArchiveError(f"the file is too large for a model ({st.st_size // 2**20} MB)")
        try:
            _check_directory(self.path, st.st_size)
            self._zip = zipfile.ZipFile(self.path)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, struct.error, ValueError):
            raise ArchiveError("not a model file, or it is truncated") from None
        except OSError as exc:
            raise ArchiveError(f"cannot be read ({exc.strerror or exc})") from None
        try:
            self._check_entries(meta_name)
        except BaseException:
            self._zip.close()
            raise

    def _check_entries(self, meta_name: str) -> None:
        infos = self._zip.infolist()
        if len(infos) > MAX_ENTRIES:
            raise ArchiveError(f"the archive has too many entries ({len(infos)})")
        names = [i.filename for i in infos]
        if len(set(names)) != len(names):
            raise ArchiveError("the archive holds two entries of the same name")
        big = next((i for i in infos if i.file_size > MAX_ENTRY_BYTES), None)
        if big is not None:
            raise ArchiveError(f"an entry of the archive is too large ({big.file_size // 2**20} MB)")
        self._infos = {i.filename: i for i in infos}
        metas = [n for n in names if n.endswith("/extra/" + meta_name) and n.count("/") == 2]
        if len(metas) != 1:
            raise ArchiveError("not a nepocr model (no metadata)")
        self.root = metas[0].split("/", 1)[0]
        self.meta_entry = metas[0]

    def names(self) -> set[str]:
        return set(self._infos)

    def read(self, name: str, limit: int) -> bytes:
        """An entry's bytes; refused (before reading) if it declares more than ``limit``."""
        info = self._infos.get(name)
        if info is None:
            raise KeyError(name)
        if info.file_size > limit:
            raise ArchiveError(f"{name.split('/', 1)[-1]} is too large ({info.file_size:,} bytes; "
                               f"at most {limit:,})")
        try:
            with self._zip.open(info) as f:
                data = f.read(limit + 1)
        except (zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError, RuntimeError) as exc:
            raise ArchiveError(f"the archive is damaged ({str(exc).splitlines()[0] if str(exc) else 'bad data'})") \
                from None
        if len(data) != info.file_size:
            raise ArchiveError("the archive is damaged (an entry has the wrong size)")
        return data

    def tensors(self) -> dict[str, torch.Tensor]:
        """The module tree's tensors by dotted name (``cnn.0.weight``), read as data."""
        pkl = f"{self.root}/data.pkl"
        if pkl not in self._infos:
            raise ArchiveError("the file holds no weights (not a TorchScript model)")
        order = f"{self.root}/byteorder"
        if order in self._infos and self.read(order, 16).strip() not in (b"little", b""):
            raise ArchiveError("the weights are stored big-endian")
        total = [0]

        def read_storage(key: str, dtype: torch.dtype, numel: int) -> torch.Tensor:
            nbytes = numel * torch.empty((), dtype=dtype).element_size()
            total[0] += nbytes
            if total[0] > MAX_TOTAL_BYTES:
                raise ArchiveError("the weights are too large")
            name = f"{self.root}/data/{key}"
            if name not in self._infos:
                raise ArchiveError("the weights refer to data missing from the archive")
            data = self.read(name, MAX_ENTRY_BYTES)
            if len(data) < nbytes:
                raise ArchiveError("the weights' data is truncated")
            return torch.frombuffer(bytearray(data[:nbytes]), dtype=torch.uint8).view(dtype) if nbytes else \
                torch.empty(0, dtype=dtype)

        data = self.read(pkl, MAX_PICKLE_BYTES)
        try:
            root = _DataUnpickler(data, read_storage).load()
        except ArchiveError:
            raise
        except MemoryError:
            raise ArchiveError("the weights are too large") from None
        except Exception as exc:  # noqa: BLE001 - any malformed pickle: the file is refused
            raise ArchiveError(f"the weights cannot be read ({type(exc).__name__})") from None
        if not isinstance(root, _ModuleState):
            raise ArchiveError("the file holds no network")
        out: dict[str, torch.Tensor] = {}
        _collect(root, "", out, set(), 0)
        return out

    def close(self) -> None:
        self._zip.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _collect(module: _ModuleState, prefix: str, out: dict[str, torch.Tensor], seen: set[int], depth: int) -> None:
    """Tensors held directly by each module (not those in lists: TorchScript's LSTM keeps a
    second list of its weights), under dotted names as ``state_dict`` gives them."""
    if depth > MAX_MODULE_DEPTH or id(module) in seen:
        raise ArchiveError("the network in the file is malformed (nested too deeply)")
    seen.add(id(module))
    for key, value in module.state.items():
        if not isinstance(key, str):
            raise ArchiveError("the network in the file is malformed")
        if isinstance(value, TensorData):
            out[prefix + key] = value.tensor
        elif isinstance(value, _ModuleState):
            _collect(value, f"{prefix}{key}.", out, seen, depth + 1)
