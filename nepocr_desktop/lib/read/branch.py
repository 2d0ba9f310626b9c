"""A model file's second set of weights for drawings (see :mod:`.modelio`).

What a person teaches the app with the pen applies to what they write with the pen: a model
fine-tuned only on drawings (the Write tab's writing, black-and-white scans) keeps the network it
started from for photos and carries the new weights as a *branch* that reads drawings. The branch
is stored in the model file as the extra file ``drawings.npz``: the tensors in which it differs
from the main network (the layers fine-tuning changed), as plain arrays. It is read with
``numpy.load(allow_pickle=False)`` and checked like the main weights (names, shapes, dtypes,
finite values); nothing in it is run.

A branch read only for the Write tab's writing (``drawings_scope`` "canvas" in the metadata,
:func:`canvas_only`) leaves black-and-white scans to the main network: a network trained for the
canvas's pen reads that pen better and scans no better. Fine-tuned branches read every drawing.
"""

from __future__ import annotations

import io
import zipfile

import numpy as np
import torch

BRANCH_NAME = "drawings.npz"
MAX_BRANCH_BYTES = 256 * 1024 * 1024
SCOPE_KEY, CANVAS = "drawings_scope", "canvas"
DELTA = "@half_delta"  # the name's suffix of a tensor stored as its half-precision change (pack)


def canvas_only(metadata: dict) -> bool:
    """Whether a model with ``metadata`` reads only writing handed over as drawings (the Write
    tab's) with its network for drawings, and images (scans among them) with its main network."""
    return metadata.get(SCOPE_KEY) == CANVAS


class BranchError(ValueError):
    """The branch's data is damaged or does not fit the network; the message names what."""


def pack(main: torch.nn.Module, drawings: torch.nn.Module, half_deltas: bool = False) -> bytes | None:
    """The tensors of ``drawings`` that differ from ``main``'s, as ``.npz`` bytes (None when
    the two networks are the same). ``half_deltas``: a float tensor is stored as its difference
    from ``main``'s in half precision (``NAME`` + :data:`DELTA`; about half the bytes, compressed,
    each weight within 1/2048 of its change), where that difference is finite in half precision."""
    base = main.state_dict()
    arrays: dict[str, np.ndarray] = {}
    for k, v in drawings.state_dict().items():
        v = v.detach().cpu()
        if k in base and torch.equal(v, base[k].detach().cpu()):
            continue
        if half_deltas and k in base and v.is_floating_point():
            delta = (v - base[k].detach().cpu()).half()
            if bool(torch.isfinite(delta).all()):
                arrays[k + DELTA] = delta.numpy()
                continue
        arrays[k] = v.numpy()
    if not arrays:
        return None
    buf = io.BytesIO()
    (np.savez_compressed if half_deltas else np.savez)(buf, **arrays)
    return buf.getvalue()


def unpack(data: bytes, expected: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The branch's tensors from ``pack``'s bytes, checked against the main network's
    ``expected`` state (each name known, same shape and dtype, finite values)."""
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, KeyError) as exc:
        raise BranchError(f"the weights for drawings cannot be read ({type(exc).__name__})") from None
    out: dict[str, torch.Tensor] = {}
    for name, arr in arrays.items():
        key = name.removesuffix(DELTA)
        want = expected.get(key)
        if want is None:
            raise BranchError(f"the weights for drawings do not match the network (unexpected {name})")
        got = torch.from_numpy(np.array(arr, order="C"))  # keeps 0-d arrays 0-d (a batch norm's count)
        if key != name:  # a change from the main network's weights, in half precision
            if got.dtype != torch.float16 or not want.is_floating_point() or got.shape != want.shape:
                raise BranchError(f"the weights for drawings do not match the network ({name} is "
                                  f"{tuple(got.shape)} {str(got.dtype).replace('torch.', '')})")
            got = want.detach().cpu() + got.to(want.dtype)
        if got.shape != want.shape or got.dtype != want.dtype:
            raise BranchError(f"the weights for drawings do not match the network ({key} is "
                              f"{tuple(got.shape)} {str(got.dtype).replace('torch.', '')})")
        if got.is_floating_point() and not bool(torch.isfinite(got).all()):
            raise BranchError(f"the weights for drawings hold values that are not finite numbers ({key})")
        if key in out:
            raise BranchError(f"the weights for drawings hold {key} twice")
        out[key] = got
    if not out:
        raise BranchError("the weights for drawings are empty")
    return out
