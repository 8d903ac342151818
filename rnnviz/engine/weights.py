"""Weights in and out: new cells, cells from PyTorch state dicts, and ``.npz`` files read and written.

``cells.py`` holds the equations; this module holds everything that makes or moves parameters:

    init_cell(kind, D, H, seed)         a new cell, initialised as PyTorch does
    from_state_dict(kind, mapping)      a cell from PyTorch's keys (weight_ih_l0 ...; the _l0 is optional)
    infer_kind(mapping)                 rnn, lstm or gru from the shape of weight_hh
    load_npz(file)                      a cell from an .npz that may come from anyone (an upload)
    save_npz(cell, file)                the parameters under PyTorch's keys, for load_state_dict

Every size limit lives here. ``load_npz`` treats its file as hostile: it reads the zip's central directory
and each member's ``.npy`` header before it decompresses anything, checks every declared size against the
upload caps, and then decompresses with a bounded reader, so a member that lies about its size still
cannot expand past what it declared.
"""

from __future__ import annotations

import io
import os
import re
import struct
import warnings
import zlib
from dataclasses import dataclass

import numpy as np

from rnnviz.engine.cells import CELL_CLASSES, GATE_COUNT, KINDS, PARAM_NAMES, Cell

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


def _check_kind(kind) -> str:
    if not isinstance(kind, str) or kind.lower() not in KINDS:
        raise ValueError(f"unknown cell kind {_shown(kind)}; expected one of {', '.join(KINDS)}")
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
        if kind == "rnn":
            raise ValueError("forget_bias applies to the LSTM and GRU only")
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
    """rnn, lstm or gru from the shape of ``weight_hh`` (rows = G * columns)."""
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

_EOCD = struct.Struct("<4s4H2LH")  # end of central directory
_CENTRAL = struct.Struct("<4s6H3L5H2L")  # central directory entry
_LOCAL = struct.Struct("<4s5H3L2H")  # local file header
STORED, DEFLATED = 0, 8
_METHOD_NAMES = {1: "shrink", 6: "implode", 9: "deflate64", 12: "bzip2", 14: "lzma", 93: "zstandard", 95: "xz"}


@dataclass(frozen=True)
class _Member:
    name: str
    flags: int
    method: int
    crc: int
    compressed_size: int
    size: int  # uncompressed, as the central directory declares it
    offset: int  # of the local header


class _BoundedReader:
    """Reads one member, stored or deflated, and never produces more than its declared size: the
    decompressor is asked for at most the bytes still wanted (zlib's ``max_length``)."""

    CHUNK = 64 * 1024

    def __init__(self, raw: memoryview, member: _Member):
        self.name = member.name
        self.raw, self.left, self.pos = raw, member.size, 0
        self.crc, self.expected_crc = 0, member.crc
        self.inflate = zlib.decompressobj(-15) if member.method == DEFLATED else None
        self.tail = b""  # compressed input the decompressor has not consumed yet

    def read(self, n: int) -> bytes:
        n = min(n, self.left)
        if self.inflate is None:
            out = bytes(self.raw[self.pos : self.pos + n])
            self.pos += len(out)
        else:
            out = bytearray()
            try:
                while len(out) < n:
                    if not self.tail:
                        self.tail = bytes(self.raw[self.pos : self.pos + self.CHUNK])
                        self.pos += len(self.tail)
                        if not self.tail:
                            break
                    out += self.inflate.decompress(self.tail, n - len(out))
                    self.tail = self.inflate.unconsumed_tail
                    if self.inflate.eof:
                        break
            except zlib.error:
                raise ValueError(f"member {_shown(self.name)} has a corrupt deflate stream") from None
        if len(out) < n:
            raise ValueError(f"member {_shown(self.name)} ends before its declared size")
        self.left -= n
        self.crc = zlib.crc32(out, self.crc)
        return bytes(out)

    def finish(self) -> None:
        """After the last declared byte: the stream must end there (asked for one byte at a time, it may
        not give any), with the right checksum."""
        name = _shown(self.name)
        while self.inflate is not None and not self.inflate.eof:
            if not self.tail:
                self.tail = bytes(self.raw[self.pos : self.pos + self.CHUNK])
                self.pos += len(self.tail)
                if not self.tail:
                    raise ValueError(f"member {name} has a truncated deflate stream")
            try:
                extra = self.inflate.decompress(self.tail, 1)
            except zlib.error:
                raise ValueError(f"member {name} has a corrupt deflate stream") from None
            if extra:
                raise ValueError(f"member {name} expands beyond the size its header declares")
            self.tail = self.inflate.unconsumed_tail
        if self.crc != self.expected_crc:
            raise ValueError(f"member {name} fails its CRC-32 check (the file is damaged)")


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


def _central_directory(raw: bytes) -> tuple[list[_Member], int]:
    """The members as the zip directory lists them, and where that directory starts; every check that
    needs no decompression happens here."""
    if raw[:6] == b"\x93NUMPY":
        raise ValueError("expected an .npz archive of named arrays (np.savez), got a single .npy array")
    end = raw.rfind(b"PK\x05\x06", max(0, len(raw) - _EOCD.size - 0xFFFF))
    if end < 0 or end + _EOCD.size > len(raw):
        raise ValueError("not a readable .npz file (no zip directory found); save the state dict with np.savez")
    _, disk, cd_disk, count_here, count, cd_size, cd_offset, _ = _EOCD.unpack_from(raw, end)
    if count == 0xFFFF or cd_offset == 0xFFFFFFFF or cd_size == 0xFFFFFFFF:
        raise ValueError("zip64 archives are not supported: an uploaded model is small enough for a plain zip")
    if disk or cd_disk or count_here != count:
        raise ValueError("multi-part zip archives are not supported")
    if count > UPLOAD_MAX_MEMBERS:
        raise ValueError(f"the archive has {count} members; a model needs 4 (at most {UPLOAD_MAX_MEMBERS} allowed)")
    if cd_offset + cd_size != end:
        raise ValueError("the zip directory is not where the archive says it is (the file is damaged)")
    members, pos = [], cd_offset
    for _ in range(count):
        if pos + _CENTRAL.size > end:
            raise ValueError("the zip directory is truncated (the file is damaged)")
        fields = _CENTRAL.unpack_from(raw, pos)
        sig, _, _, flags, method, _, _, crc, csize, usize, name_len, extra_len, comment_len, *_rest, offset = fields
        if sig != b"PK\x01\x02":
            raise ValueError("the zip directory is damaged")
        name_bytes = raw[pos + _CENTRAL.size : pos + _CENTRAL.size + name_len]
        name = name_bytes.decode("utf-8" if flags & 0x800 else "cp437", errors="replace")
        pos += _CENTRAL.size + name_len + extra_len + comment_len
        if pos > end:
            raise ValueError("the zip directory is truncated (the file is damaged)")
        if 0xFFFFFFFF in (csize, usize, offset):
            raise ValueError(f"member {_shown(name)} uses zip64 sizes: far too large for a model")
        if flags & 0x41 or flags & 0x2000:  # bit 0: encrypted; 6: strong encryption; 13: encrypted directory
            raise ValueError(f"member {_shown(name)} is encrypted: save the state dict with plain np.savez")
        if method not in (STORED, DEFLATED):
            label = _METHOD_NAMES.get(method, f"method {method}")
            raise ValueError(
                f"member {_shown(name)} is compressed with {label}: only stored or deflate members "
                "(np.savez, np.savez_compressed) are accepted"
            )
        if method == STORED and csize != usize:
            raise ValueError(f"member {_shown(name)} is stored but its two sizes differ (the file is damaged)")
        members.append(_Member(name, flags, method, crc, csize, usize, offset))
    total = sum(m.size for m in members)
    if total > UPLOAD_MAX_UNCOMPRESSED_BYTES:
        raise ValueError(
            f"the archive would expand to {total:,} bytes; at most {UPLOAD_MAX_UNCOMPRESSED_BYTES:,} are "
            "accepted (an educational model is far smaller)"
        )
    return members, cd_offset


def _member_data(raw: bytes, member: _Member, directory_start: int) -> memoryview:
    """The member's compressed bytes, located through its local header."""
    pos = member.offset
    if pos + _LOCAL.size > directory_start:
        raise ValueError(f"member {_shown(member.name)} points outside the archive (the file is damaged)")
    sig, *_fields, name_len, extra_len = _LOCAL.unpack_from(raw, pos)
    if sig != b"PK\x03\x04":
        raise ValueError(f"member {_shown(member.name)} has no local header (the file is damaged)")
    start = pos + _LOCAL.size + name_len + extra_len
    if start + member.compressed_size > directory_start:
        raise ValueError(f"member {_shown(member.name)} runs past the end of the data (the file is damaged)")
    return memoryview(raw)[start : start + member.compressed_size]


@dataclass(frozen=True)
class _Header:
    shape: tuple
    dtype: np.dtype
    fortran: bool


def _npy_header(reader: _BoundedReader, size: int) -> _Header:
    """Parse a member's .npy header (numpy's own parser, literal values only) and check that it
    describes a plain array of numbers that fills exactly the member's declared size."""
    name = _shown(reader.name)
    if size < 10 or reader.read(6) != b"\x93NUMPY":
        raise ValueError(f"member {name} is not a .npy array")
    version = tuple(reader.read(2))
    if version not in ((1, 0), (2, 0)):
        raise ValueError(f"member {name} is a .npy of version {version}, which is not supported")
    length_size = 2 if version == (1, 0) else 4
    header_len = int.from_bytes(reader.read(length_size), "little")
    if header_len > 4096 or 8 + length_size + header_len > size:
        raise ValueError(f"member {name} has a .npy header of {header_len} bytes, which is not plausible")
    text = reader.read(header_len)
    magic = b"\x93NUMPY" + bytes(version) + (header_len).to_bytes(length_size, "little")
    try:
        buffer = io.BytesIO(magic[8:] + text)
        read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, fortran, dtype = read(buffer)
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
    if count > UPLOAD_MAX_PARAMETERS or 8 + length_size + header_len + count * dtype.itemsize != size:
        raise ValueError(f"member {name} claims shape {shape}, which does not match its size or is over the caps")
    return _Header(tuple(shape), dtype, bool(fortran))


def load_npz(path_or_file, kind: str | None = None, *, nonlinearity: str = "tanh") -> Cell:
    """A cell from an ``.npz`` of a one-layer PyTorch state dict (``np.savez(f, **sd)``), read safely.

    ``path_or_file`` is a path, a binary file object or bytes. The kind is inferred from the shapes unless
    given. Sizes are checked from the zip directory and the ``.npy`` headers before anything is
    decompressed; members other than the four parameters are never decompressed. Any problem is a
    ``ValueError``: files over ``UPLOAD_MAX_FILE_BYTES``; archives declaring more than
    ``UPLOAD_MAX_UNCOMPRESSED_BYTES``; encrypted members, compression other than stored or deflate,
    corrupt or overlong deflate streams, bad checksums; members for the parameters that are not plain
    numeric ``.npy`` arrays (no objects, no pickles); models with H over ``UPLOAD_MAX_HIDDEN_SIZE`` or D
    over ``UPLOAD_MAX_INPUT_SIZE``.
    """
    if kind is not None:
        kind = _check_kind(kind)
    raw = _read_all(path_or_file)
    members, directory_start = _central_directory(raw)
    by_key = {}
    for m in members:
        if m.name.endswith(".npy"):
            if m.name[:-4] in by_key:
                raise ValueError(f"the archive has two members named {_shown(m.name)}")
            by_key[m.name[:-4]] = m
    if not by_key:
        raise ValueError("the .npz file holds no arrays")
    keys = _param_keys(by_key)  # refuses layered, bidirectional, projected or prefixed models by name
    readers, headers = {}, {}
    for name, key in keys.items():
        member = by_key[key]
        readers[name] = _BoundedReader(_member_data(raw, member, directory_start), member)
        headers[name] = _npy_header(readers[name], member.size)
    shape_hh, shape_ih = headers["weight_hh"].shape, headers["weight_ih"].shape
    kind = _kind_of_shape(shape_hh) if kind is None else kind
    H = shape_hh[1] if len(shape_hh) == 2 else 0
    D = shape_ih[1] if len(shape_ih) == 2 else 0
    if H > UPLOAD_MAX_HIDDEN_SIZE:
        raise ValueError(f"the model has H = {H} hidden units; the cap for uploads is {UPLOAD_MAX_HIDDEN_SIZE}")
    if D > UPLOAD_MAX_INPUT_SIZE:
        raise ValueError(f"the model has D = {D} inputs; the cap for uploads is {UPLOAD_MAX_INPUT_SIZE}")
    arrays = {}
    for name, header in headers.items():
        reader = readers[name]
        count = int(np.prod(header.shape, dtype=np.int64))
        data = reader.read(count * header.dtype.itemsize)
        reader.finish()
        arrays[keys[name]] = np.frombuffer(data, header.dtype, count).reshape(
            header.shape, order="F" if header.fortran else "C"
        )
    return from_state_dict(kind, arrays, nonlinearity=nonlinearity)
