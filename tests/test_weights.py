"""Weights in and out: initialisation, PyTorch's keys and layout, the torch reference (tests/data, made by
scripts/make_torch_reference.py; no torch needed here), hostile .npz files, and engine misuse."""

import bz2
import io
import pickle
import struct
import tracemalloc
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

import rnnviz
from rnnviz.engine import weights
from rnnviz.engine.cells import GATE_COUNT
from tests.helpers import rel_err

REFERENCE = Path(__file__).parent / "data" / "torch_reference.npz"
TORCH_KEYS = ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]  # torch.nn.{RNN,LSTM,GRU}, one layer


def random_state_dict(kind, D=3, H=4, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    G = GATE_COUNT[kind]
    return {
        "weight_ih_l0": rng.normal(0, 0.6, (G * H, D)).astype(dtype),
        "weight_hh_l0": rng.normal(0, 0.6, (G * H, H)).astype(dtype),
        "bias_ih_l0": rng.normal(0, 0.6, G * H).astype(dtype),
        "bias_hh_l0": rng.normal(0, 0.6, G * H).astype(dtype),
    }


def npz_bytes(arrays, compressed=False) -> bytes:
    buffer = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buffer, **arrays)
    return buffer.getvalue()


# --------------------------------------------------------------------------------------------------
# Initialisation


def test_init_matches_pytorch_scale_and_options():
    cell = rnnviz.init_cell("lstm", 2, 16, seed=3)
    bound = 1 / np.sqrt(16)
    for value in cell.params.values():
        assert np.all(np.abs(value) <= bound)
    assert np.array_equal(cell.params["weight_hh"], rnnviz.init_cell("lstm", 2, 16, seed=3).params["weight_hh"])
    assert not np.array_equal(cell.params["weight_hh"], rnnviz.init_cell("lstm", 2, 16, seed=4).params["weight_hh"])
    biased = rnnviz.init_cell("lstm", 2, 16, seed=3, forget_bias=2.5)
    total = biased.params["bias_ih"] + biased.params["bias_hh"]
    np.testing.assert_allclose(total[16:32], 2.5)
    np.testing.assert_array_equal(total[:16], cell.params["bias_ih"][:16] + cell.params["bias_hh"][:16])
    rnn = rnnviz.init_cell("rnn", 2, 16, seed=3, spectral_radius=1.3)
    assert np.max(np.abs(np.linalg.eigvals(rnn.params["weight_hh"]))) == pytest.approx(1.3, rel=1e-12)
    assert rnnviz.init_cell("rnn", 1, 2, seed=np.int64(5), forget_bias=None, spectral_radius=np.float32(1)).kind


# --------------------------------------------------------------------------------------------------
# PyTorch's keys and layout


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_exported_keys_and_shapes_are_pytorchs(kind, tmp_path):
    """torch.nn.RNN/LSTM/GRU(D, H).state_dict(): these four keys, in this order, with G = 1, 4, 3 gates."""
    D, H = 3, 5
    G = {"rnn": 1, "lstm": 4, "gru": 3}[kind]
    expected = {"weight_ih_l0": (G * H, D), "weight_hh_l0": (G * H, H), "bias_ih_l0": (G * H,), "bias_hh_l0": (G * H,)}
    cell = rnnviz.init_cell(kind, D, H, seed=1)
    sd = cell.state_dict()
    assert list(sd) == TORCH_KEYS
    assert {k: v.shape for k, v in sd.items()} == expected
    path = tmp_path / "model.npz"
    rnnviz.save_npz(cell, path)
    with zipfile.ZipFile(path) as archive:
        assert archive.namelist() == [k + ".npy" for k in TORCH_KEYS]
    with np.load(path, allow_pickle=False) as data:
        assert {k: data[k].shape for k in data.files} == expected
        for k in TORCH_KEYS:
            np.testing.assert_array_equal(data[k], sd[k])


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_state_dict_round_trips(kind, tmp_path):
    cell = rnnviz.from_state_dict(kind, random_state_dict(kind, seed=5))
    again = rnnviz.from_state_dict(kind, cell.state_dict())
    for name, value in cell.state_dict().items():
        np.testing.assert_array_equal(again.state_dict()[name], value)
    bare = rnnviz.from_state_dict(kind, cell.params)  # the suffix is optional: params are un-suffixed
    np.testing.assert_array_equal(bare.params["weight_hh"], cell.params["weight_hh"])
    path = tmp_path / "model.npz"
    rnnviz.save_npz(cell, path)
    x = np.random.default_rng(0).normal(size=(4, cell.input_size))
    for source in (path, str(path), io.BytesIO(path.read_bytes()), path.read_bytes()):
        loaded = rnnviz.load_npz(source)
        assert loaded.kind == kind
        np.testing.assert_array_equal(loaded.forward(x).h, cell.forward(x).h)
    for compressed in (False, True):
        data = npz_bytes(cell.params, compressed)  # keys without _l0, deflated or stored
        np.testing.assert_array_equal(rnnviz.load_npz(data).params["bias_hh"], cell.params["bias_hh"])


def test_load_npz_keeps_float32_and_reads_fortran_order_and_big_endian():
    sd = random_state_dict("gru", dtype=np.float32)
    data = npz_bytes({k: np.asfortranarray(v) for k, v in sd.items()})
    cell = rnnviz.load_npz(data)
    assert cell.dtype == np.float32
    np.testing.assert_array_equal(cell.params["weight_ih"], sd["weight_ih_l0"])
    swapped = npz_bytes({k: v.astype(">f8") for k, v in sd.items()}, compressed=True)
    np.testing.assert_array_equal(rnnviz.load_npz(swapped).params["weight_hh"], sd["weight_hh_l0"])


def test_state_dict_is_a_copy():
    cell = rnnviz.from_state_dict("gru", random_state_dict("gru"))
    sd = cell.state_dict()
    sd["weight_hh_l0"][:] = 0
    assert np.any(cell.params["weight_hh"] != 0)
    source = random_state_dict("gru")
    loaded = rnnviz.from_state_dict("gru", source)
    source["bias_ih_l0"][:] = 99
    assert not np.any(loaded.params["bias_ih"] == 99)


def test_with_params_and_training_keys_still_work():
    cell = rnnviz.init_cell("rnn", 2, 3, nonlinearity="relu")
    other = cell.with_params({k: v * 2 for k, v in cell.params.items()})
    assert other.nonlinearity == "relu"
    np.testing.assert_array_equal(other.params["weight_ih"], 2 * cell.params["weight_ih"])
    grads = cell.backward(cell.forward(np.ones((3, 2))), np.ones((3, 3)))
    assert set(grads.params) == set(cell.params) == {"weight_ih", "weight_hh", "bias_ih", "bias_hh"}


# --------------------------------------------------------------------------------------------------
# The torch reference: same forward and backward as torch.nn, to 1e-12, without torch


@pytest.mark.parametrize("name", ["rnn_tanh", "rnn_relu", "lstm", "gru"])
def test_agrees_with_torch_reference(name):
    with np.load(REFERENCE, allow_pickle=False) as data:
        ref = {k.split("/", 1)[1]: data[k] for k in data.files if k.startswith(name + "/")}
    kind, nonlinearity = (name.split("_") + ["tanh"])[:2]
    state = {k: ref[k] for k in TORCH_KEYS}
    cell = rnnviz.from_state_dict(kind, state, nonlinearity=nonlinearity)
    loaded = rnnviz.load_npz(npz_bytes(state), nonlinearity=nonlinearity)  # the way an upload comes in
    assert loaded.kind == kind
    for key in TORCH_KEYS:
        np.testing.assert_array_equal(loaded.state_dict()[key], state[key])
    lstm = kind == "lstm"
    trace = cell.forward(ref["x"], ref["h0"], ref["c0"] if lstm else None)
    assert rel_err(trace.h, ref["out"]) < 1e-12
    assert rel_err(trace.h[-1], ref["h_n"]) < 1e-12
    d_h = ref["w_out"].copy()
    d_h[-1] += ref["w_hn"]
    d_c = None
    if lstm:
        assert rel_err(trace.c[-1], ref["c_n"]) < 1e-12
        d_c = np.zeros_like(d_h)
        d_c[-1] = ref["w_cn"]
    grads = cell.backward(trace, d_h, d_c)
    for key in TORCH_KEYS:
        assert rel_err(grads.params[key[:-3]], ref["grad." + key]) < 1e-12, key
    assert rel_err(grads.x, ref["grad.x"]) < 1e-12
    assert rel_err(grads.h0, ref["grad.h0"]) < 1e-12
    if lstm:
        assert rel_err(grads.c0, ref["grad.c0"]) < 1e-12


def test_reference_file_is_small():
    assert REFERENCE.stat().st_size < 100_000


# --------------------------------------------------------------------------------------------------
# Hostile files: each built here, each refused with a ValueError, in bounded memory


@dataclass
class Member:
    """One zip member, written by hand so that every field can lie."""

    name: str
    payload: bytes = b""  # uncompressed
    method: int = 0  # 0 stored, 8 deflate, 12 bzip2, 14 lzma, anything else
    flags: int = 0
    compressed: bytes | None = None  # None: made from the payload by the method
    declared_size: int | None = None  # None: len(payload)
    crc: int | None = None


def zip_of(members) -> bytes:
    body, directory = bytearray(), bytearray()
    for m in members:
        data = m.compressed
        if data is None:
            if m.method == 8:
                packer = zlib.compressobj(9, zlib.DEFLATED, -15)
                data = packer.compress(m.payload) + packer.flush()
            elif m.method == 12:
                data = bz2.compress(m.payload)
            else:
                data = m.payload
        size = len(m.payload) if m.declared_size is None else m.declared_size
        crc = zlib.crc32(m.payload) if m.crc is None else m.crc
        name = m.name.encode()
        offset = len(body)
        body += struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, m.flags, m.method, 0, 0, crc, len(data), size, len(name), 0)
        body += name + data
        fixed = (20, 20, m.flags, m.method, 0, 0, crc, len(data), size, len(name), 0, 0, 0, 0, 0, offset)
        directory += struct.pack("<4s6H3L5H2L", b"PK\x01\x02", *fixed) + name
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(members), len(members), len(directory), len(body), 0)
    return bytes(body + directory + end)


def npy(array) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def npy_header(shape, descr="<f8", fortran=False) -> bytes:
    """A version 1.0 .npy header (the array data not included), padded as numpy pads it."""
    text = repr({"descr": descr, "fortran_order": fortran, "shape": tuple(shape)}).encode()
    text += b" " * (-(len(text) + 11) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text


def valid_members(kind="lstm", H=3, D=2, dtype=np.float64):
    return [Member(k + ".npy", npy(v)) for k, v in random_state_dict(kind, D, H, dtype=dtype).items()]


def deflated_zeros(n_mib, prefix=b"") -> bytes:
    """A raw deflate stream of ``prefix`` then ``n_mib`` MiB of zeros, made without ever holding them: after a
    full flush deflate forgets its history, so one compressed MiB can be repeated."""
    packer = zlib.compressobj(6, zlib.DEFLATED, -15)
    head = packer.compress(prefix) + packer.flush(zlib.Z_FULL_FLUSH)
    mib = packer.compress(bytes(2**20)) + packer.flush(zlib.Z_FULL_FLUSH)
    return head + mib * n_mib + packer.flush()


def zeros_member(name, n_mib, prefix=b"", method=8, declared_size=None) -> Member:
    """A member of ``prefix`` and ``n_mib`` MiB of zeros, deflated or bzip2 (concatenated streams)."""
    data = bz2.compress(prefix + bytes(2**20)) * n_mib if method == 12 else deflated_zeros(n_mib, prefix)
    size = len(prefix) + n_mib * 2**20 if declared_size is None else declared_size
    return Member(name, method=method, compressed=data, declared_size=size, crc=0)


def corrupt_deflate_member():
    m = valid_members()[1]
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    data = bytearray(packer.compress(m.payload) + packer.flush())
    data[0] = 0xFF  # block type 3: reserved, an invalid stream
    return Member(m.name, m.payload, method=8, compressed=bytes(data))


def with_flags(flags):
    members = valid_members()
    members[0].flags = flags
    return members


def with_method(method):
    members = valid_members()
    members[2].method = method
    return members


LIE_MIB = 64  # a bomb's real expansion, 16 times the cap: small enough to build in CI


def replaced(index, member, kind="lstm"):
    members = valid_members(kind)
    members[index] = member
    return members


def hostile_files():
    """(label, a function that builds the file, part of the expected message)."""
    model = valid_members()
    H5000 = 4 * 5000  # rows of a 5000-unit LSTM

    def made_by_zipfile(compression):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression) as archive:
            archive.writestr("weight_hh_l0.npy", bytes(2**20))
        return buffer.getvalue()

    def lying_bomb():
        header = npy_header((12,))  # declares 12 float64 numbers, then streams 64 MiB
        return zip_of([*model[:3], zeros_member("bias_hh_l0.npy", LIE_MIB, header, declared_size=len(header) + 96)])

    def h5000_lstm():
        return zip_of(
            [
                zeros_member("weight_ih_l0.npy", 1, npy_header((H5000, 1), "<f4"), declared_size=128 + 4 * H5000),
                zeros_member(
                    "weight_hh_l0.npy", 382, npy_header((H5000, 5000), "<f4"), declared_size=128 + 4 * H5000 * 5000
                ),
                zeros_member("bias_ih_l0.npy", 1, npy_header((H5000,), "<f4"), declared_size=128 + 4 * H5000),
                zeros_member("bias_hh_l0.npy", 1, npy_header((H5000,), "<f4"), declared_size=128 + 4 * H5000),
            ]
        )

    def empty_entries(n, declared):
        """A zip directory of ``n`` entries without data whose end record declares ``declared`` members."""
        entry = struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0) + b"a"
        end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, declared, declared, n * len(entry), 0, 0)
        return entry * n + end

    huge = npy_header((2**40,))
    big = npy_header((2**28,))  # 2 GiB of float64, declared honestly
    nan = np.full((12, 2), np.nan)
    return [
        ("text renamed .npz", lambda: b"just some text, renamed to model.npz\n" * 20, "not a readable .npz"),
        ("empty file", lambda: b"", "not a readable .npz"),
        ("single .npy", lambda: npy(np.zeros((12, 3))), "single .npy"),
        ("pickle", lambda: pickle.dumps({"weight_hh_l0": [[0.0] * 3] * 12}), "not a readable .npz"),
        ("bzip2 bomb", lambda: zip_of([zeros_member("weight_hh_l0.npy", LIE_MIB, method=12)]), "bzip2"),
        ("bzip2 member (zipfile)", lambda: made_by_zipfile(zipfile.ZIP_BZIP2), "bzip2"),
        ("lzma member (zipfile)", lambda: made_by_zipfile(zipfile.ZIP_LZMA), "lzma"),
        ("encryption flag", lambda: zip_of(with_flags(0x1)), "encrypted"),
        ("strong encryption flag", lambda: zip_of(with_flags(0x40)), "encrypted"),
        ("unknown method", lambda: zip_of(with_method(99)), "method 99"),
        ("deflate64", lambda: zip_of(with_method(9)), "deflate64"),
        ("corrupt deflate", lambda: zip_of(replaced(1, corrupt_deflate_member())), "corrupt deflate"),
        (
            "npy header claims (2**40,)",
            lambda: zip_of(replaced(0, Member("weight_ih_l0.npy", huge + bytes(96)))),
            "shape",
        ),
        (
            "npy header claims 2 GiB, zip agrees",
            lambda: zip_of(replaced(0, Member("weight_ih_l0.npy", big, method=8, declared_size=len(big) + 8 * 2**28))),
            "expand",
        ),
        ("zip64 sizes", lambda: zip_of(replaced(0, Member("weight_ih_l0.npy", big, declared_size=2**32 - 1))), "zip64"),
        ("deflate bomb beside a valid model", lambda: zip_of([*model, zeros_member("junk.bin", LIE_MIB)]), "expand"),
        ("deflate bomb declaring a small size", lying_bomb, "CRC"),  # read up to its declared size only
        ("H = 5000 zeros LSTM", h5000_lstm, "expand"),
        ("H = 300 RNN, a small file", lambda: zip_of(valid_members("rnn", H=300, D=1, dtype=np.float32)), "H = 300"),
        ("D = 200,000 RNN", lambda: zip_of(valid_members("rnn", H=1, D=200_000, dtype=np.float32)), "D = 200000"),
        ("object array", lambda: zip_of(replaced(1, Member("weight_hh_l0.npy", npy(np.array([{}] * 3))))), "object"),
        (
            "structured dtype",
            lambda: zip_of(replaced(1, Member("weight_hh_l0.npy", npy(np.zeros(3, "f8,i4"))))),
            "plain",
        ),
        (
            "complex weights",
            lambda: zip_of(replaced(0, Member("weight_ih_l0.npy", npy(np.zeros((12, 2), complex))))),
            "real",
        ),
        ("strings", lambda: zip_of(replaced(0, Member("weight_ih_l0.npy", npy(np.array(["a"] * 12))))), "real"),
        (
            "not .npy content",
            lambda: zip_of(replaced(0, Member("weight_ih_l0.npy", b"hello world, no array"))),
            "not a .npy",
        ),
        ("bad CRC", lambda: zip_of(replaced(0, Member(model[0].name, model[0].payload, crc=1234))), "CRC"),
        (
            "stored sizes disagree",
            lambda: zip_of(replaced(0, Member(model[0].name, model[0].payload, declared_size=5))),
            "sizes",
        ),
        ("no arrays", lambda: zip_of([Member("readme.txt", b"hello")]), "no arrays"),
        ("empty archive", lambda: npz_bytes({}), "no arrays"),
        ("odd weight_hh", lambda: zip_of(replaced(1, Member("weight_hh_l0.npy", npy(np.zeros((10, 4)))))), "weight_hh"),
        ("two layers", lambda: zip_of([*model, Member("weight_ih_l1.npy", npy(np.zeros((12, 3))))]), "single-layer"),
        (
            "bidirectional",
            lambda: zip_of([*model, Member("weight_ih_l0_reverse.npy", npy(np.zeros(2)))]),
            "bidirectional",
        ),
        ("proj_size", lambda: zip_of([*model, Member("weight_hr_l0.npy", npy(np.zeros((2, 3))))]), "proj_size"),
        ("prefixed keys", lambda: zip_of([Member("lstm." + m.name, m.payload) for m in model]), "prefix"),
        ("duplicate member", lambda: zip_of([*model, model[0]]), "two members"),
        ("too many members", lambda: zip_of([*model] + [Member(f"x{i}.txt") for i in range(100)]), "members"),
        ("truncated archive", lambda: zip_of(model)[:-30], "not a readable .npz"),
        ("60,000 directory entries", lambda: empty_entries(60_000, 60_000), "members"),
        ("60,000 entries, 4 declared", lambda: empty_entries(60_000, 4), "directory takes"),
        ("NaN weights", lambda: zip_of(replaced(0, Member("weight_ih_l0.npy", npy(nan)))), "NaN"),
        ("markup in a name", lambda: zip_of([Member("[c](//x.invalid).npy", npy(np.zeros(2)))]), "missing"),
        ("file over the size cap", lambda: bytes(weights.UPLOAD_MAX_FILE_BYTES + 10), "larger than"),
    ]


HOSTILE = hostile_files()


@pytest.mark.parametrize("label,build,message", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_files_raise_value_error_in_bounded_memory(label, build, message):
    data = build()
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=message) as caught:
            rnnviz.load_npz(io.BytesIO(data))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 50 * 2**20, f"{label}: peak {peak / 2**20:.1f} MB"
    text = str(caught.value)
    assert "allow_pickle" not in text and "unsafe" not in text.lower() and "pickle" not in text.lower()
    assert "](" not in text and "<" not in text  # nothing from the file comes back as markup or a tag


def test_a_stream_past_its_declared_size_is_read_only_up_to_it():
    """A deflate stream whose first bytes are a valid parameter (the CRC-32 agrees) and which then runs on for
    64 MiB: the loader takes the declared bytes and never decompresses the rest."""
    model = valid_members()
    header = npy_header((12,))
    bomb = zeros_member("bias_hh_l0.npy", LIE_MIB, header, declared_size=len(header) + 96)
    bomb.crc = zlib.crc32(header + bytes(96))
    tracemalloc.start()
    try:
        cell = rnnviz.load_npz(zip_of([*model[:3], bomb]))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 50 * 2**20, f"peak {peak / 2**20:.1f} MB"
    np.testing.assert_array_equal(cell.params["bias_hh"], np.zeros(12))


def test_bombs_are_far_over_the_caps():
    """The bombs really expand to what they declare (64 MiB, 16 times the cap) from a file of ~70 kB."""
    assert LIE_MIB * 2**20 >= 16 * weights.UPLOAD_MAX_UNCOMPRESSED_BYTES
    stream = deflated_zeros(LIE_MIB, b"head")
    assert len(stream) < 100_000
    inflate = zlib.decompressobj(-15)
    total = len(inflate.decompress(stream, 2**20))
    while inflate.unconsumed_tail:
        total += len(inflate.decompress(inflate.unconsumed_tail, 2**20))
    assert inflate.eof and total == 4 + LIE_MIB * 2**20
    assert len(bz2.decompress(zeros_member("x", 2, method=12).compressed)) == 2 * 2**20


def test_small_extra_members_are_skipped_unread():
    """A member that is not a parameter is never decompressed: a corrupt stream there does no harm."""
    junk = Member("notes.txt", b"hello" * 100, method=8, compressed=b"\xff\xff\xff not deflate")
    cell = rnnviz.load_npz(zip_of([*valid_members(), junk, Member("readout.weight.npy", npy(np.ones((1, 3))))]))
    assert cell.kind == "lstm" and cell.hidden_size == 3


def test_load_npz_reads_a_model_at_the_caps():
    H, D = weights.UPLOAD_MAX_HIDDEN_SIZE, weights.UPLOAD_MAX_INPUT_SIZE
    data = zip_of(valid_members("lstm", H=H, D=D, dtype=np.float64))
    assert weights.UPLOAD_MAX_PARAMETERS == 4 * H * (D + H + 2)
    cell = rnnviz.load_npz(data)
    assert (cell.hidden_size, cell.input_size) == (H, D)
    with pytest.raises(ValueError, match="H = 257"):
        rnnviz.load_npz(zip_of(valid_members("rnn", H=H + 1, D=1)))
    with pytest.raises(ValueError, match="D = 65"):
        rnnviz.load_npz(zip_of(valid_members("rnn", H=2, D=D + 1)))


def test_from_state_dict_is_capped_like_init_cell():
    H = weights.MAX_HIDDEN_SIZE + 1
    with pytest.raises(ValueError, match="hidden size"):
        rnnviz.from_state_dict(
            "rnn",
            {
                "weight_ih": np.zeros((H, 1)),
                "weight_hh": np.zeros((H, H)),
                "bias_ih": np.zeros(H),
                "bias_hh": np.zeros(H),
            },
        )
    with pytest.raises(ValueError, match="hidden_size"):
        rnnviz.init_cell("rnn", 1, H)
    with pytest.raises(ValueError, match="input size"):
        rnnviz.from_state_dict(
            "rnn",
            {
                "weight_ih": np.zeros((1, 2000)),
                "weight_hh": np.zeros((1, 1)),
                "bias_ih": np.zeros(1),
                "bias_hh": np.zeros(1),
            },
        )


# --------------------------------------------------------------------------------------------------
# Misuse of the engine: every case a ValueError (never TypeError, AttributeError, UFuncTypeError)


def good_sd(kind="lstm", **change):
    sd = random_state_dict(kind, D=2, H=3)
    sd.update(change)
    return {k: v for k, v in sd.items() if v is not None}


LSTM = rnnviz.init_cell("lstm", 2, 3)
RNN = rnnviz.init_cell("rnn", 2, 3)
X = np.ones((4, 2))
TRACE = LSTM.forward(X)
RNN_TRACE = RNN.forward(X)
OTHER_H = rnnviz.init_cell("lstm", 2, 5).forward(X)


class NoArray:
    def __array__(self, *args, **kwargs):
        raise RuntimeError("Can't call numpy() on Tensor that requires grad")


MISUSE = {
    # init_cell
    "kind not a string": (lambda: rnnviz.init_cell(None, 1, 4), "kind"),
    "unknown kind": (lambda: rnnviz.init_cell("transformer", 1, 4), "unknown cell kind"),
    "input_size zero": (lambda: rnnviz.init_cell("lstm", 0, 4), "input_size"),
    "hidden_size float": (lambda: rnnviz.init_cell("lstm", 1, 2.5), "hidden_size"),
    "hidden_size bool": (lambda: rnnviz.init_cell("lstm", 1, True), "hidden_size"),
    "hidden_size str": (lambda: rnnviz.init_cell("lstm", 1, "8"), "hidden_size"),
    "hidden_size None": (lambda: rnnviz.init_cell("lstm", 1, None), "hidden_size"),
    "input_size over cap": (lambda: rnnviz.init_cell("lstm", 10**6, 4), "input_size"),
    "seed str": (lambda: rnnviz.init_cell("lstm", 1, 4, seed="abc"), "seed"),
    "seed float": (lambda: rnnviz.init_cell("lstm", 1, 4, seed=1.5), "seed"),
    "seed negative": (lambda: rnnviz.init_cell("lstm", 1, 4, seed=-1), "seed"),
    "seed bool": (lambda: rnnviz.init_cell("lstm", 1, 4, seed=True), "seed"),
    "seed None": (lambda: rnnviz.init_cell("lstm", 1, 4, seed=None), "seed"),
    "dtype junk": (lambda: rnnviz.init_cell("lstm", 1, 4, dtype="junk"), "dtype"),
    "dtype int": (lambda: rnnviz.init_cell("lstm", 1, 4, dtype=np.int32), "dtype"),
    "dtype deprecated alias": (lambda: rnnviz.init_cell("lstm", 1, 4, dtype="a"), "dtype"),
    "dtype None": (lambda: rnnviz.init_cell("lstm", 1, 4, dtype=None), "dtype"),
    "dtype complex": (lambda: rnnviz.init_cell("lstm", 1, 4, dtype=complex), "dtype"),
    "forget_bias str": (lambda: rnnviz.init_cell("lstm", 1, 4, forget_bias="3"), "forget_bias"),
    "forget_bias NaN": (lambda: rnnviz.init_cell("lstm", 1, 4, forget_bias=float("nan")), "forget_bias"),
    "forget_bias inf": (lambda: rnnviz.init_cell("gru", 1, 4, forget_bias=np.inf), "forget_bias"),
    "forget_bias bool": (lambda: rnnviz.init_cell("lstm", 1, 4, forget_bias=True), "forget_bias"),
    "forget_bias complex": (lambda: rnnviz.init_cell("lstm", 1, 4, forget_bias=1j), "forget_bias"),
    "forget_bias beyond any float": (lambda: rnnviz.init_cell("lstm", 1, 4, forget_bias=10**400), "forget_bias"),
    "forget_bias for an RNN": (lambda: rnnviz.init_cell("rnn", 1, 4, forget_bias=1.0), "forget_bias"),
    "spectral_radius str": (lambda: rnnviz.init_cell("rnn", 1, 4, spectral_radius="big"), "spectral_radius"),
    "spectral_radius NaN": (lambda: rnnviz.init_cell("rnn", 1, 4, spectral_radius=np.nan), "spectral_radius"),
    "spectral_radius inf": (lambda: rnnviz.init_cell("rnn", 1, 4, spectral_radius=float("inf")), "spectral_radius"),
    "spectral_radius negative": (lambda: rnnviz.init_cell("rnn", 1, 4, spectral_radius=-1.0), "spectral_radius"),
    "spectral_radius list": (lambda: rnnviz.init_cell("rnn", 1, 4, spectral_radius=[1.0]), "spectral_radius"),
    "relu for an LSTM": (lambda: rnnviz.init_cell("lstm", 1, 4, nonlinearity="relu"), "plain RNN only"),
    "relu for a GRU": (lambda: rnnviz.from_state_dict("gru", good_sd("gru"), nonlinearity="relu"), "plain RNN only"),
    "relu for an uploaded LSTM": (lambda: rnnviz.load_npz(npz_bytes(good_sd()), nonlinearity="relu"), "RNN only"),
    "unknown nonlinearity": (lambda: rnnviz.init_cell("rnn", 1, 4, nonlinearity="sigmoid"), "nonlinearity"),
    "nonlinearity None": (lambda: rnnviz.init_cell("rnn", 1, 4, nonlinearity=None), "nonlinearity"),
    # from_state_dict and infer_kind
    "state dict None": (lambda: rnnviz.from_state_dict("lstm", None), "mapping"),
    "state dict a list": (lambda: rnnviz.from_state_dict("lstm", [1, 2]), "mapping"),
    "missing key": (lambda: rnnviz.from_state_dict("lstm", good_sd(bias_hh_l0=None)), "missing bias_hh"),
    "both suffixed and bare": (lambda: rnnviz.from_state_dict("lstm", {**good_sd(), "bias_hh": np.ones(12)}), "both"),
    "non-string key": (lambda: rnnviz.from_state_dict("lstm", {**good_sd(), 3: np.ones(2)}), "strings"),
    "wrong weight_hh": (lambda: rnnviz.from_state_dict("lstm", good_sd(weight_hh_l0=np.ones((12, 4)))), "weight_hh"),
    "wrong weight_ih": (lambda: rnnviz.from_state_dict("lstm", good_sd(weight_ih_l0=np.ones((8, 2)))), "weight_ih"),
    "wrong bias": (lambda: rnnviz.from_state_dict("lstm", good_sd(bias_ih_l0=np.ones(11))), "bias_ih"),
    "weight_ih D = 0": (lambda: rnnviz.from_state_dict("lstm", good_sd(weight_ih_l0=np.ones((12, 0)))), "weight_ih"),
    "second layer": (lambda: rnnviz.from_state_dict("lstm", good_sd(weight_ih_l1=np.ones((12, 3)))), "single-layer"),
    "reverse direction": (
        lambda: rnnviz.from_state_dict("lstm", good_sd(weight_ih_l0_reverse=np.ones((12, 2)))),
        "bidirectional",
    ),
    "proj_size key": (lambda: rnnviz.from_state_dict("lstm", good_sd(weight_hr_l0=np.ones((2, 3)))), "proj_size"),
    "prefixed lstm. keys": (
        lambda: rnnviz.from_state_dict("lstm", {"lstm." + k: v for k, v in good_sd().items()}),
        "prefix",
    ),
    "prefixed module. keys": (
        lambda: rnnviz.from_state_dict("lstm", {"module." + k: v for k, v in good_sd().items()}),
        "prefix",
    ),
    "infer_kind with prefixed keys": (
        lambda: rnnviz.infer_kind({"rnn.weight_hh_l0": np.ones((4, 4)), "rnn.weight_ih_l0": np.ones((4, 1))}),
        "prefix",
    ),
    "infer_kind of odd shape": (lambda: rnnviz.infer_kind({"weight_hh_l0": np.ones((10, 4))}), "weight_hh"),
    "infer_kind of a list": (lambda: rnnviz.infer_kind([1]), "mapping"),
    "NaN parameter": (lambda: rnnviz.from_state_dict("lstm", good_sd(bias_ih_l0=np.full(12, np.nan))), "NaN"),
    "string parameter": (lambda: rnnviz.from_state_dict("lstm", good_sd(bias_ih_l0=np.array(["a"] * 12))), "real"),
    "complex parameter": (lambda: rnnviz.from_state_dict("lstm", good_sd(bias_ih_l0=np.ones(12) * 1j)), "real"),
    "bool parameter": (lambda: rnnviz.from_state_dict("lstm", good_sd(bias_ih_l0=np.ones(12, bool))), "real"),
    "None parameter": (lambda: rnnviz.from_state_dict("lstm", {**good_sd(), "bias_ih_l0": None}), "real"),
    "ragged parameter": (lambda: rnnviz.from_state_dict("lstm", good_sd(bias_ih_l0=[[1.0], [1.0, 2.0]])), "array"),
    "tensor that requires grad": (lambda: rnnviz.from_state_dict("lstm", good_sd(bias_ih_l0=NoArray())), "array"),
    "wrong kind for shapes": (lambda: rnnviz.from_state_dict("gru", good_sd("lstm")), "look like a lstm"),
    # load_npz and save_npz arguments
    "load_npz of None": (lambda: rnnviz.load_npz(None), "path"),
    "load_npz of a number": (lambda: rnnviz.load_npz(3), "path"),
    "load_npz of a missing path": (lambda: rnnviz.load_npz("/nonexistent/model.npz"), "could not read"),
    "load_npz with a bad kind": (lambda: rnnviz.load_npz(npz_bytes(good_sd()), kind="cnn"), "kind"),
    "load_npz with the wrong kind": (lambda: rnnviz.load_npz(npz_bytes(good_sd()), kind="gru"), "look like a lstm"),
    "load_npz of a text-mode file": (lambda: rnnviz.load_npz(io.StringIO("abc")), "binary"),
    "save_npz of a dict": (lambda: rnnviz.save_npz(good_sd(), io.BytesIO()), "cell"),
    # forward
    "complex x": (lambda: LSTM.forward(X * 1j), "real"),
    "string x": (lambda: LSTM.forward(np.array([["a", "b"]])), "numeric"),
    "None x": (lambda: LSTM.forward(None), "numeric"),
    "ragged x": (lambda: LSTM.forward([[1.0, 2.0], [1.0]]), "array"),
    "x of wrong rank": (lambda: LSTM.forward(np.ones(4)), "shape"),
    "x of wrong width": (lambda: LSTM.forward(np.ones((4, 3))), "features"),
    "empty x": (lambda: LSTM.forward(np.ones((0, 2))), "empty"),
    "empty batch": (lambda: LSTM.forward(np.ones((4, 0, 2))), "empty"),
    "NaN x": (lambda: LSTM.forward(np.full((4, 2), np.nan)), "NaN"),
    "complex h0": (lambda: LSTM.forward(X, h0=np.ones(3) * 1j), "real"),
    "complex c0": (lambda: LSTM.forward(X, c0=np.ones(3) + 1j), "real"),
    "string h0": (lambda: LSTM.forward(X, h0="abc"), "numeric"),
    "object h0": (lambda: LSTM.forward(X, h0=[{}, {}, {}]), "numeric"),
    "h0 of wrong shape": (lambda: LSTM.forward(X, h0=np.ones(4)), "h0"),
    "NaN c0": (lambda: LSTM.forward(X, c0=np.full(3, np.nan)), "c0"),
    "c0 for a plain RNN": (lambda: RNN.forward(X, c0=np.ones(3)), "only for the LSTM"),
    "complex x for step": (lambda: LSTM.step(np.ones(2) * 1j), "real"),
    # backward
    "complex d_h": (lambda: LSTM.backward(TRACE, np.ones((4, 3)) * 1j), "real"),
    "complex d_c": (lambda: LSTM.backward(TRACE, np.ones((4, 3)), np.ones((4, 3)) * 1j), "real"),
    "string d_h": (lambda: LSTM.backward(TRACE, np.array([["a"] * 3] * 4)), "numeric"),
    "None d_h": (lambda: LSTM.backward(TRACE, None), "numeric"),
    "bool d_h": (lambda: LSTM.backward(TRACE, np.ones((4, 3), bool)), "numeric"),
    "d_h of wrong shape": (lambda: LSTM.backward(TRACE, np.ones((4, 2))), "d_h must have shape"),
    "d_h unbatched for a batch": (lambda: LSTM.backward(LSTM.forward(np.ones((4, 1, 2))), np.ones((4, 3))), "d_h"),
    "d_c of wrong shape": (lambda: LSTM.backward(TRACE, np.ones((4, 3)), np.ones((3, 3))), "d_c"),
    "d_c for a plain RNN": (lambda: RNN.backward(RNN_TRACE, np.ones((4, 3)), np.ones((4, 3))), "only for the LSTM"),
    "trace of another kind": (lambda: LSTM.backward(RNN_TRACE, np.ones((4, 3))), "trace is from a rnn"),
    "trace of another size": (lambda: LSTM.backward(OTHER_H, np.ones((4, 5))), "hidden units"),
}


@pytest.mark.parametrize("case", list(MISUSE), ids=list(MISUSE))
def test_engine_misuse_raises_value_error(case):
    action, message = MISUSE[case]
    with pytest.raises(ValueError, match=message):
        action()


def test_an_infinite_gradient_is_not_misuse_but_overflow():
    """Training in the exploding regime can hand backward an infinite d_h: it is flagged, not refused."""
    grads = LSTM.backward(TRACE, np.full((4, 3), np.inf))
    assert grads.overflowed


def test_misuse_table_is_large():
    assert len(MISUSE) >= 40


@pytest.mark.parametrize("trace", [None, "trace", 3, {"kind": "lstm"}])
def test_backward_refuses_what_is_not_a_trace(trace):
    cell = rnnviz.init_cell("lstm", 2, 3)
    with pytest.raises(ValueError, match="Trace that forward returned"):
        cell.backward(trace, np.zeros((4, 3)))


def test_backward_refuses_a_trace_of_another_input_size():
    wide, narrow = rnnviz.init_cell("gru", 3, 4), rnnviz.init_cell("gru", 2, 4)
    trace = wide.forward(np.ones((5, 3)))
    with pytest.raises(ValueError, match="input features"):
        narrow.backward(trace, np.zeros((5, 4)))


@pytest.mark.parametrize("compressed", [False, True], ids=["stored", "deflated"])
def test_damaged_files_raise_only_value_errors(compressed):
    """A valid .npz with a few random bytes changed, or cut short: refused with a ValueError (zipfile's own
    errors, BadZipFile, NotImplementedError for an unknown zip version, ..., never reach the caller) or loaded."""
    good = npz_bytes(random_state_dict("lstm"), compressed=compressed)
    rng = np.random.default_rng(0)
    outcomes = set()
    for _ in range(1500):
        data = bytearray(good)
        for pos in rng.integers(0, len(data), rng.integers(1, 4)):
            data[pos] = rng.integers(0, 256)
        if rng.random() < 0.2:
            data = data[: rng.integers(0, len(data))]
        try:
            rnnviz.load_npz(bytes(data))
            outcomes.add("loaded")
        except ValueError as err:
            assert "](" not in str(err) and "<" not in str(err)
            outcomes.add("refused")
    assert outcomes == {"loaded", "refused"}
