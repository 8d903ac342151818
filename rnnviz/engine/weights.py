"""Weights in and out: new cells, cells from PyTorch state dicts, and ``.npz`` files read and written.

``cells.py`` holds the equations and each cell checks its own parameters; this module holds everything
that makes or moves them (PyTorch's key names, the size caps, file I/O):

    init_cell(kind, D, H, seed)         a new cell, initialised as PyTorch does
    from_state_dict(kind, mapping)      a cell from PyTorch's keys (weight_ih_l0 ...; the _l0 is optional)
    infer_kind(mapping)                 rnn, lstm or gru from the shape of weight_hh
    load_npz(file)                      a cell from an .npz that may come from anyone (an upload)
    save_npz(cell, file)                the parameters under PyTorch's keys, for load_state_dict

Every size limit lives here. ``load_npz`` treats its file as hostile. It reads the archive with the
standard library's ``zipfile`` and each member's ``.npy`` header with ``numpy.lib.format``, and checks every
declared size against the upload caps before any data is decompressed; zipfile decompresses in bounded
steps and never past a member's declared size, so a member that lies about its size cannot expand past
it. Two numbers of the zip's end record are read by hand first (``_declared_directory``: measured, zipfile
would otherwise build an object for every entry of a 4 MB directory). On the 43 hostile files of
tests/test_weights.py the peak traced memory is what the earlier hand-written zip parser used: at most
0.2 MB, except 4.0 MB for the file over the size cap, which is read up to the cap to tell.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import struct
import warnings
import zipfile
import zlib
from dataclasses import dataclass

import numpy as np

from rnnviz.engine.cells import ALL_KINDS, CELL_CLASSES, GATE_COUNT, PARAM_NAMES, Cell

# --------------------------------------------------------------------------------------------------
# Caps: the one place that says how large a cell may be

MAX_HIDDEN_SIZE = 1024  # any cell the engine builds (init_cell) or takes from a dict (from_state_dict)
MAX_INPUT_SIZE = 1024

UPLOAD_MAX_HIDDEN_SIZE = 256  # a file from outside (load_npz): an educational model whose pages stay fast
UPLOAD_MAX_INPUT_SIZE = 64  # the stepper draws one input trace per feature
UPLOAD_MAX_PARAMETERS = 4 * UPLOAD_MAX_HIDDEN_SIZE * (UPLOAD_MAX_INPUT_SIZE + UPLOAD_MAX_HIDDEN_SIZE + 2)  # 329,728
UPLOAD_MAX_FILE_BYTES = 4 * 2**20  # the archive as it arrives
UPLOAD_MAX_UNCOMPRESSED_BYTES = 4 * 2**20  # all members together, as their headers declare them
UPLOAD_MAX_MEMBERS = 64
UPLOAD_MAX_DIRECTORY_BYTES = 64 * 1024  # the zip's list of members (np.savez writes ~70 bytes a member)


def _check_kind(kind) -> str:
    if not isinstance(kind, str) or kind.lower() not in ALL_KINDS:
        raise ValueError(f"unknown cell kind {_shown(kind)}; expected one of {', '.join(ALL_KINDS)}")
    return kind.lower()


def _check_size(name, value, high) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be a whole number, got {_shown(value)}")
    if not 1 <= value <= high:
        raise ValueError(f"{name} must be between 1 and {high}, got {value}")
    return int(value)


def _check_real(name, value, *, low=None) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name} must be a number, got {_shown(value)}")
    try:
        number = float(value)
    except OverflowError:  # an integer beyond any float
        number = float("inf")
    if not np.isfinite(number) or (low is not None and number < low):
        bound = f" >= {low}" if low is not None else ""
        raise ValueError(f"{name} must be a finite number{bound}, got {_shown(value)}")
    return number


def _check_nonlinearity(kind: str, nonlinearity) -> str:
    if kind == "rnn":
        if not isinstance(nonlinearity, str) or nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"nonlinearity must be 'tanh' or 'relu', got {_shown(nonlinearity)}")
    elif not isinstance(nonlinearity, str) or nonlinearity != "tanh":
        raise ValueError(
            f"nonlinearity={_shown(nonlinearity)} applies to the plain RNN only: the {kind}'s activations "
            "are fixed (sigmoid gates, tanh)"
        )
    return nonlinearity


def _shown(value, limit: int = 60) -> str:
    """A name or value for a message: its repr when it is plain (letters, digits, ``_.-``), otherwise a
    description, so a message never carries markup that came from a file or a caller."""
    if isinstance(value, (str, int, float, np.integer, np.floating)) and not isinstance(value, bool):
        text = repr(value) if isinstance(value, str) else str(value)
        if len(text) <= limit and re.fullmatch(r"'?[A-Za-z0-9_.+\-]*'?", text):
            return text
        return f"a value ({type(value).__name__}, {len(str(value))} characters)"
    return f"a value of type {type(value).__name__}"


# --------------------------------------------------------------------------------------------------
# New cells


def init_cell(
    kind: str,
    input_size: int,
    hidden_size: int,
    seed: int = 0,
    *,
    dtype=np.float64,
    forget_bias: float | None = None,
    spectral_radius: float | None = None,
    nonlinearity: str = "tanh",
) -> Cell:
    """A new cell initialised as PyTorch does: every parameter uniform in ±1/sqrt(H), seeded.

    ``forget_bias`` (LSTM: the forget gate; GRU: the update gate, which plays the same "keep" role) sets
    that gate's total bias (``bias_ih + bias_hh``) to the value. ``spectral_radius`` rescales each
    ``H x H`` block of ``weight_hh`` so that its largest eigenvalue modulus is the value.
    """
    kind = _check_kind(kind)
    D = _check_size("input_size", input_size, MAX_INPUT_SIZE)
    H = _check_size("hidden_size", hidden_size, MAX_HIDDEN_SIZE)
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a whole number >= 0, got {_shown(seed)}")
    dtype = _check_dtype(dtype)
    nonlinearity = _check_nonlinearity(kind, nonlinearity)
    if forget_bias is not None:
        if kind in ("rnn", "lstm1997"):
            raise ValueError("forget_bias applies to the LSTM and GRU only (the 1997 LSTM has no forget gate)")
        forget_bias = _check_real("forget_bias", forget_bias)
    if spectral_radius is not None:
        spectral_radius = _check_real("spectral_radius", spectral_radius, low=0)
    G = GATE_COUNT[kind]
    rng = np.random.default_rng(int(seed))
    k = 1.0 / np.sqrt(H)
    params = {
        "weight_ih": rng.uniform(-k, k, (G * H, D)),
        "weight_hh": rng.uniform(-k, k, (G * H, H)),
        "bias_ih": rng.uniform(-k, k, G * H),
        "bias_hh": rng.uniform(-k, k, G * H),
    }
    if spectral_radius is not None:
        for gate in range(G):
            block = params["weight_hh"][gate * H : (gate + 1) * H]
            radius = np.max(np.abs(np.linalg.eigvals(block)))
            if radius > 0:
                block *= spectral_radius / radius
    if forget_bias is not None:
        keep = slice(H, 2 * H)  # LSTM forget gate and GRU update gate are both the second block
        params["bias_ih"][keep] = forget_bias
        params["bias_hh"][keep] = 0.0
    params = {name: v.astype(dtype) for name, v in params.items()}
    return from_state_dict(kind, params, nonlinearity=nonlinearity)


def _check_dtype(dtype) -> np.dtype:
    if dtype is None or isinstance(dtype, bool):
        raise ValueError(f"dtype must be float32 or float64, got {_shown(dtype)}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a deprecated alias ('a') is junk here too
            dtype = np.dtype(dtype)
    except (TypeError, ValueError, Warning):
        raise ValueError(f"dtype must be float32 or float64, got {_shown(dtype)}") from None
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64, got {dtype}")
    return dtype


# --------------------------------------------------------------------------------------------------
# State dicts: PyTorch's keys in, PyTorch's keys out

_TORCH_KEY = re.compile(r"(weight|bias)_(ih|hh|hr)_l(\d+)(_reverse)?")


def _param_keys(keys) -> dict[str, str]:
    """Which key holds each parameter. Keys of models the engine cannot run (more layers, both
    directions, a projection, a parent module's prefix) raise; other extra keys are ignored."""
    found, shown = {}, []
    for key in keys:
        if not isinstance(key, str):
            raise ValueError(f"state dict keys must be strings, got {_shown(key)}")
        shown.append(_shown(key))
        name = key[:-3] if key.endswith("_l0") else key
        if name in PARAM_NAMES:
            if name in found:
                raise ValueError(f"state dict has both {name} and {name}_l0")
            found[name] = key
            continue
        match = _TORCH_KEY.fullmatch(key)
        if match:
            if match.group(4):
                raise ValueError("bidirectional models are not supported: use a one-direction model")
            if match.group(2) == "hr":
                raise ValueError("LSTMs with proj_size (weight_hr_l0) are not supported: use proj_size=0")
            raise ValueError(f"only single-layer models are supported; found keys for more layers: {_shown(key)}")
        prefix, dot, last = key.rpartition(".")
        if dot and (last in PARAM_NAMES or _TORCH_KEY.fullmatch(last)):
            raise ValueError(
                f"the keys carry a prefix ({_shown(prefix + '.')}, as in a whole model's state dict): pass "
                "the recurrent layer's own state dict (for example model.lstm.state_dict()) or strip the prefix"
            )
    for name in PARAM_NAMES:
        if name not in found:
            listed = ", ".join(shown[:8]) + (f" and {len(shown) - 8} more" if len(shown) > 8 else "")
            raise ValueError(f"state dict is missing {name}_l0 (or {name}); it has: {listed or 'nothing'}")
    return found


def from_state_dict(kind: str, mapping, *, nonlinearity: str = "tanh") -> Cell:
    """A cell from a PyTorch-style state dict (``weight_ih_l0`` ... ; the ``_l0`` suffix is optional).

    Values may be NumPy arrays, nested lists or CPU tensors. Here the keys are mapped and H and D capped by
    ``MAX_HIDDEN_SIZE`` and ``MAX_INPUT_SIZE``; the cell checks shapes, dtypes and values and copies the
    arrays (float32 stays float32, anything else real becomes float64).
    """
    kind = _check_kind(kind)
    nonlinearity = _check_nonlinearity(kind, nonlinearity)
    if not hasattr(mapping, "keys") or not hasattr(mapping, "__getitem__"):
        raise ValueError(f"state dict must be a mapping of names to arrays, got {_shown(mapping)}")
    keys = _param_keys(list(mapping.keys()))
    values = {}
    for name, key in keys.items():
        try:
            value = np.asarray(mapping[key])
        except Exception as err:  # a tensor that requires grad, a ragged list, ...: not an array of numbers
            raise ValueError(f"{key} is not an array of numbers ({type(err).__name__})") from None
        if value.dtype.kind not in "iuf":
            raise ValueError(f"{key} must hold real numbers, got dtype {value.dtype.name}")
        values[name] = value
    caps = (("weight_hh", MAX_HIDDEN_SIZE, "hidden size H"), ("weight_ih", MAX_INPUT_SIZE, "input size D"))
    for name, cap, label in caps:
        size = values[name].shape[1] if values[name].ndim == 2 else 0
        if size > cap:  # before the cell copies them; the cell checks every shape
            raise ValueError(f"{label} must be between 1 and {cap}, got {size}")
    options = {"nonlinearity": nonlinearity} if kind == "rnn" else {}
    return CELL_CLASSES[kind](values, **options)


def _kind_of_shape(shape) -> str:
    if len(shape) != 2 or shape[1] == 0 or shape[0] % shape[1]:
        raise ValueError(f"cannot tell the cell kind from weight_hh of shape {tuple(shape)}")
    kind = {1: "rnn", 4: "lstm", 3: "gru"}.get(shape[0] // shape[1])
    if kind is None:
        raise ValueError(f"weight_hh of shape {tuple(shape)} is not an RNN (H, H), GRU (3H, H) or LSTM (4H, H)")
    return kind


def infer_kind(mapping) -> str:
    """rnn, lstm or gru from the shape of ``weight_hh`` (rows = G * columns). Three blocks read as the GRU:
    the 1997 LSTM (``lstm1997``, rows i, g, o) has three blocks too and is never inferred; load it by
    naming its kind (``from_state_dict("lstm1997", ...)``, ``load_npz(..., kind="lstm1997")``)."""
    if not hasattr(mapping, "keys"):
        raise ValueError(f"state dict must be a mapping of names to arrays, got {_shown(mapping)}")
    key = _param_keys(list(mapping.keys()))["weight_hh"]
    return _kind_of_shape(np.shape(mapping[key]))


def save_npz(cell: Cell, path_or_file) -> None:
    """Save the parameters with PyTorch's keys (``weight_ih_l0`` ...), ready for ``load_state_dict``."""
    if not isinstance(cell, Cell):
        raise ValueError(f"save_npz saves a cell, got {_shown(cell)}")
    np.savez(path_or_file, **cell.state_dict())


# --------------------------------------------------------------------------------------------------
# Loading an .npz that may come from anyone

_END_RECORD = b"PK\x05\x06"  # the zip's end of central directory record: 22 bytes and a comment
_METHOD_NAMES = {1: "shrink", 6: "implode", 9: "deflate64", 12: "bzip2", 14: "lzma", 93: "zstandard", 95: "xz"}
_NPY_HEADER_MAX = 4096  # bytes; numpy's own writer makes 128 for these arrays


def _read_all(path_or_file) -> bytes:
    """At most ``UPLOAD_MAX_FILE_BYTES`` + 1 bytes of the file: enough to tell that it is too large."""
    limit = UPLOAD_MAX_FILE_BYTES
    try:
        if isinstance(path_or_file, (str, os.PathLike)):
            with open(path_or_file, "rb") as f:
                data = f.read(limit + 1)
        elif hasattr(path_or_file, "read"):
            data = path_or_file.read(limit + 1)
        elif isinstance(path_or_file, (bytes, bytearray, memoryview)):
            data = bytes(path_or_file[: limit + 1])
        else:
            raise ValueError(f"load_npz needs a path, a file or bytes, got {_shown(path_or_file)}")
    except OSError as err:
        raise ValueError(f"could not read the file ({type(err).__name__}: {err.strerror or 'read error'})") from None
    if not isinstance(data, (bytes, bytearray)):
        raise ValueError("the file object did not return bytes (open it in binary mode)")
    if len(data) > limit:
        raise ValueError(f"the file is larger than {limit // 2**20} MB: an uploaded model must be small")
    return bytes(data)


def _declared_directory(raw: bytes) -> tuple[int, int]:
    """The member count and the directory size in bytes that the zip's end record declares, read before
    ``zipfile`` builds one object per directory entry. zipfile reads entries for as many bytes as the
    directory has, whatever the count says, at about 350 bytes of memory per entry of at least 46 bytes in
    the file: a 2.8 MB directory of 60,000 empty entries took it 21 MB (tracemalloc), where these two
    numbers refuse the file at once."""
    end = raw.rfind(_END_RECORD, max(0, len(raw) - 22 - 0xFFFF))
    if not 0 <= end <= len(raw) - 22:
        return 0, 0  # zipfile says what is wrong
    return int.from_bytes(raw[end + 10 : end + 12], "little"), int.from_bytes(raw[end + 12 : end + 16], "little")


def _open_archive(raw: bytes) -> zipfile.ZipFile:
    """The archive, after every check that needs no decompression."""
    if raw[:6] == b"\x93NUMPY":
        raise ValueError("expected an .npz archive of named arrays (np.savez), got a single .npy array")
    count, directory_size = _declared_directory(raw)
    if count > UPLOAD_MAX_MEMBERS:
        raise ValueError(f"the archive has {count} members; a model needs 4 (at most {UPLOAD_MAX_MEMBERS} allowed)")
    if directory_size > UPLOAD_MAX_DIRECTORY_BYTES:
        raise ValueError(
            f"the zip directory takes {directory_size:,} bytes; at most {UPLOAD_MAX_DIRECTORY_BYTES:,} are accepted "
            "(a model's takes a few hundred)"
        )
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
    except zipfile.BadZipFile as err:
        if "multiple disks" in str(err):
            raise ValueError("multi-part zip archives are not supported") from None
        message = "not a readable .npz file (no zip directory found); save the state dict with np.savez"
        raise ValueError(message) from None
    except (OSError, ValueError, EOFError, struct.error, NotImplementedError):  # offsets, counts, versions
        raise ValueError("not a readable .npz file (its zip directory is damaged)") from None
    members = archive.infolist()
    if len(members) > UPLOAD_MAX_MEMBERS:  # a zip64 end record may declare its count elsewhere
        raise ValueError(
            f"the archive has {len(members)} members; a model needs 4 (at most {UPLOAD_MAX_MEMBERS} allowed)"
        )
    for m in members:
        name = _shown(m.filename)
        if 0xFFFFFFFF in (m.compress_size, m.file_size, m.header_offset):
            raise ValueError(f"member {name} uses zip64 sizes: far too large for a model")
        if m.flag_bits & 0x41 or m.flag_bits & 0x2000:  # bit 0: encrypted; 6: strong encryption; 13: directory
            raise ValueError(f"member {name} is encrypted: save the state dict with plain np.savez")
        if m.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            label = _METHOD_NAMES.get(m.compress_type, f"method {m.compress_type}")
            raise ValueError(
                f"member {name} is compressed with {label}: only stored or deflate members "
                "(np.savez, np.savez_compressed) are accepted"
            )
        if m.compress_type == zipfile.ZIP_STORED and m.compress_size != m.file_size:
            raise ValueError(f"member {name} is stored but its two sizes differ (the file is damaged)")
    total = sum(m.file_size for m in members)
    if total > UPLOAD_MAX_UNCOMPRESSED_BYTES:
        raise ValueError(
            f"the archive would expand to {total:,} bytes; at most {UPLOAD_MAX_UNCOMPRESSED_BYTES:,} are "
            "accepted (an educational model is far smaller)"
        )
    return archive


@dataclass(frozen=True)
class _Header:
    shape: tuple
    dtype: np.dtype
    fortran: bool


@contextlib.contextmanager
def _opened(archive: zipfile.ZipFile, member: zipfile.ZipInfo):
    """The member as a file, with zipfile's and zlib's errors turned into messages for the user. zipfile
    decompresses in bounded steps, never past the declared size, and checks the CRC-32 when it reaches it."""
    name = _shown(member.filename)
    try:
        with archive.open(member) as f:
            yield f
    except zipfile.BadZipFile as err:
        if "CRC" in str(err):
            raise ValueError(f"member {name} fails its CRC-32 check (the file is damaged)") from None
        raise ValueError(f"member {name} has a local header that does not match the directory (damaged)") from None
    except zlib.error:
        raise ValueError(f"member {name} has a corrupt deflate stream") from None
    except EOFError:
        raise ValueError(f"member {name} ends before its declared size") from None
    except NotImplementedError:  # flag bits zipfile will not read (patched data, strong encryption)
        raise ValueError(f"member {name} uses zip features an .npz never has") from None


def _read_member(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> np.ndarray:
    """One member as an array: its .npy header checked before any data is read, then exactly its bytes."""
    name = _shown(member.filename)
    with _opened(archive, member) as f:
        header = _npy_header(f, name, member.file_size)
        count = int(np.prod(header.shape, dtype=np.int64))
        data = f.read(count * header.dtype.itemsize)
    if len(data) < count * header.dtype.itemsize:
        raise ValueError(f"member {name} ends before its declared size")
    return np.frombuffer(data, header.dtype, count).reshape(header.shape, order="F" if header.fortran else "C")


def _npy_header(f, name: str, size: int) -> _Header:
    """Parse a member's .npy header with numpy (literal values only) and check that it describes a plain
    array of numbers that fills exactly the member's declared size."""
    try:
        version = np.lib.format.read_magic(f)
    except ValueError:
        raise ValueError(f"member {name} is not a .npy array") from None
    if version not in ((1, 0), (2, 0)):
        raise ValueError(f"member {name} is a .npy of version {version}, which is not supported")
    read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    try:
        shape, fortran, dtype = read(f, max_header_size=_NPY_HEADER_MAX)
    except (zipfile.BadZipFile, zlib.error, EOFError):
        raise
    except Exception:  # numpy's parser raises several kinds; none of them is the user's business
        raise ValueError(f"member {name} has an unreadable .npy header") from None
    if dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None:
        raise ValueError(f"member {name} holds {dtype.name} values, not plain numbers")
    if dtype.kind not in "iuf":
        raise ValueError(f"member {name} must hold real numbers, got dtype {dtype.name}")
    if len(shape) > 2 or any(not isinstance(n, int) or n < 0 for n in shape):
        raise ValueError(f"member {name} has shape {shape}; parameters are 1-D or 2-D")
    count = 1
    for n in shape:
        count *= n  # Python integers: a claimed shape of (2**40,) stays a number, never an allocation
    if count > UPLOAD_MAX_PARAMETERS or f.tell() + count * dtype.itemsize != size:
        raise ValueError(f"member {name} claims shape {shape}, which does not match its size or is over the caps")
    return _Header(tuple(shape), dtype, bool(fortran))


def load_npz(path_or_file, kind: str | None = None, *, nonlinearity: str = "tanh") -> Cell:
    """A cell from an ``.npz`` of a one-layer PyTorch state dict (``np.savez(f, **sd)``), read safely.

    ``path_or_file`` is a path, a binary file object or bytes. The kind is inferred from the shapes unless
    given. Sizes are checked from the zip directory and the ``.npy`` headers before any data is
    decompressed; members other than the four parameters are never decompressed. Any problem is a
    ``ValueError``: files over ``UPLOAD_MAX_FILE_BYTES``; archives declaring more than
    ``UPLOAD_MAX_UNCOMPRESSED_BYTES``; encrypted members, compression other than stored or deflate,
    corrupt deflate streams, bad checksums; members for the parameters that are not plain numeric ``.npy``
    arrays (no objects, no pickles); models with H over ``UPLOAD_MAX_HIDDEN_SIZE`` or D over
    ``UPLOAD_MAX_INPUT_SIZE``. A deflate stream that runs on past its declared size is read up to that
    size and no further (zipfile stops there; the CRC-32 then decides).
    """
    if kind is not None:
        kind = _check_kind(kind)
    raw = _read_all(path_or_file)
    with _open_archive(raw) as archive:
        by_key = {}
        for m in archive.infolist():
            if m.filename.endswith(".npy"):
                if m.filename[:-4] in by_key:
                    raise ValueError(f"the archive has two members named {_shown(m.filename)}")
                by_key[m.filename[:-4]] = m
        if not by_key:
            raise ValueError("the .npz file holds no arrays")
        keys = _param_keys(by_key)  # refuses layered, bidirectional, projected or prefixed models by name
        # Every header before any data: the caps on H and D hold before a parameter is read.
        shapes = {}
        for name in ("weight_hh", "weight_ih"):
            member = by_key[keys[name]]
            with _opened(archive, member) as f:
                shapes[name] = _npy_header(f, _shown(member.filename), member.file_size).shape
        kind = _kind_of_shape(shapes["weight_hh"]) if kind is None else kind
        H = shapes["weight_hh"][1] if len(shapes["weight_hh"]) == 2 else 0
        D = shapes["weight_ih"][1] if len(shapes["weight_ih"]) == 2 else 0
        if H > UPLOAD_MAX_HIDDEN_SIZE:
            raise ValueError(f"the model has H = {H} hidden units; the cap for uploads is {UPLOAD_MAX_HIDDEN_SIZE}")
        if D > UPLOAD_MAX_INPUT_SIZE:
            raise ValueError(f"the model has D = {D} inputs; the cap for uploads is {UPLOAD_MAX_INPUT_SIZE}")
        arrays = {key: _read_member(archive, by_key[key]) for key in keys.values()}
    return from_state_dict(kind, arrays, nonlinearity=nonlinearity)
