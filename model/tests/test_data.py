"""model/data.py: IDX round trip, file discovery, corrupt files, the embedded split."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest

from model.data import (
    FASHION_CLASSES,
    DataError,
    load_dataset,
    read_idx,
    stratified_split,
    write_idx,
)

TRAIN_N, TEST_N = 200, 20


def _images(n: int, seed: int, size=(28, 28)) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, size=(n, *size), dtype=np.uint8)
    y = (np.arange(n) % 10).astype(np.uint8)
    return x, y


def write_set(folder, gz: bool = False, prefix: str = "", test_word: str = "t10k", size=(28, 28)):
    """The four MNIST-format files in `folder`; returns the arrays written."""
    ext = ".gz" if gz else ""
    tx, ty = _images(TRAIN_N, 1, size)
    ex, ey = _images(TEST_N, 2, size)
    write_idx(folder / f"{prefix}train-images-idx3-ubyte{ext}", tx)
    write_idx(folder / f"{prefix}train-labels-idx1-ubyte{ext}", ty)
    write_idx(folder / f"{prefix}{test_word}-images-idx3-ubyte{ext}", ex)
    write_idx(folder / f"{prefix}{test_word}-labels-idx1-ubyte{ext}", ey)
    return tx, ty, ex, ey


def _check(ds, tx, ty, ex, ey):
    assert ds.test_x.dtype == np.uint8 and ds.test_y.dtype == np.int64
    np.testing.assert_array_equal(ds.test_x, ex)
    np.testing.assert_array_equal(ds.test_y, ey)
    assert len(ds.train_y) + len(ds.val_y) == TRAIN_N
    # train + val is exactly the train file, each image once
    got = np.concatenate([ds.train_x, ds.val_x]).reshape(TRAIN_N, -1)
    want = tx.reshape(TRAIN_N, -1)
    assert sorted(map(bytes, got)) == sorted(map(bytes, want))


# ---------------------------------------------------------------------------------------------
# IDX round trip and discovery


@pytest.mark.parametrize("name", ["a-idx3-ubyte", "a-idx3-ubyte.gz"])
@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
def test_idx_round_trip(tmp_path, name, dtype):
    arr = (np.arange(2 * 3 * 5) - 7).astype(dtype).reshape(2, 3, 5)
    if dtype == np.uint8:
        arr = np.arange(30, dtype=np.uint8).reshape(2, 3, 5)
    p = write_idx(tmp_path / name, arr)
    if name.endswith(".gz"):
        assert p.read_bytes()[:2] == b"\x1f\x8b"
    back = read_idx(p)
    assert back.dtype == np.dtype(dtype) and back.shape == arr.shape
    np.testing.assert_array_equal(back, arr)


def test_idx_header_is_mnist_format(tmp_path):
    p = write_idx(tmp_path / "x", np.zeros((3, 28, 28), np.uint8))
    data = p.read_bytes()
    assert struct.unpack(">IIII", data[:16]) == (0x803, 3, 28, 28) and len(data) == 16 + 3 * 784


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("sub", ["", "raw"])
def test_load_dir(tmp_path, gz, sub):
    folder = tmp_path / sub if sub else tmp_path
    arrays = write_set(folder, gz=gz)
    ds = load_dataset(tmp_path)
    _check(ds, *arrays)
    assert ds.class_names == tuple("0123456789")
    assert ds.files["train_images"].endswith("train-images-idx3-ubyte" + (".gz" if gz else ""))


def test_load_dir_split_is_stratified_and_deterministic(tmp_path):
    write_set(tmp_path)
    a, b = load_dataset(tmp_path), load_dataset(tmp_path)
    np.testing.assert_array_equal(a.val_x, b.val_x)
    np.testing.assert_array_equal(a.train_y, b.train_y)
    assert len(a.val_y) == TRAIN_N // 10
    assert np.bincount(a.val_y, minlength=10).tolist() == [TRAIN_N // 100] * 10


def test_prefixed_names_and_classes_txt(tmp_path):
    arrays = write_set(tmp_path, gz=True, prefix="emnist-digits-", test_word="test")
    (tmp_path / "classes.txt").write_text("\n".join(f"c{i}" for i in range(10)) + "\n")
    ds = load_dataset(tmp_path)
    _check(ds, *arrays)
    assert ds.name == "emnist-digits"
    assert ds.class_names == tuple(f"c{i}" for i in range(10))


def test_two_prefixed_sets_are_ambiguous(tmp_path):
    write_set(tmp_path, prefix="emnist-digits-", test_word="test")
    write_set(tmp_path, prefix="emnist-mnist-", test_word="test")
    with pytest.raises(DataError, match="several"):
        load_dataset(tmp_path)


def test_fashion_names(tmp_path):
    folder = tmp_path / "FashionMNIST"
    write_set(folder / "raw", gz=True)
    ds = load_dataset(folder)
    assert ds.class_names == FASHION_CLASSES and ds.name == "FashionMNIST"


def test_bad_classes_txt(tmp_path):
    write_set(tmp_path)
    (tmp_path / "classes.txt").write_text("a\nb\n")
    with pytest.raises(DataError, match="classes.txt"):
        load_dataset(tmp_path)


# ---------------------------------------------------------------------------------------------
# Bad data: DataError naming the file


def test_missing_dir(tmp_path):
    with pytest.raises(DataError, match="does not exist") as e:
        load_dataset(tmp_path / "nope")
    assert "nope" in str(e.value)


def test_missing_fashion_names_the_package(tmp_path, capsys):
    """A Fashion-MNIST path that is missing (or incomplete) says where the data comes from,
    through the library and the command line alike; other paths do not."""
    from model.__main__ import main

    for d in (tmp_path / "fashion-mnist", tmp_path / "Fashion"):
        if d.name == "Fashion":
            d.mkdir()  # present but empty
        with pytest.raises(DataError, match="apt-get install -y dataset-fashion-mnist"):
            load_dataset(d)
    argv = ["train", "--net", "tiny", "--data-dir", str(tmp_path / "fashion-mnist"), "--epochs", "1"]
    assert main(argv) == 2
    assert "apt-get install -y dataset-fashion-mnist" in capsys.readouterr().err
    with pytest.raises(DataError) as e:
        load_dataset(tmp_path / "mnist")
    assert "apt-get" not in str(e.value)


def test_missing_file_lists_every_path(tmp_path):
    write_set(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(DataError) as e:
        load_dataset(tmp_path)
    msg = str(e.value)
    assert "test labels" in msg and "train images" not in msg
    for name in ("t10k-labels-idx1-ubyte", "t10k-labels-idx1-ubyte.gz", "test-labels-idx1-ubyte"):
        assert str(tmp_path / name) in msg and str(tmp_path / "raw" / name) in msg


def test_empty_dir(tmp_path):
    with pytest.raises(DataError) as e:
        load_dataset(tmp_path)
    for role in ("train images", "train labels", "test images", "test labels"):
        assert role in str(e.value)


def _corrupt(path, data: bytes):
    if path.suffix == ".gz":
        data = gzip.compress(data)
    path.write_bytes(data)


@pytest.mark.parametrize("gz", [False, True])
def test_bad_magic(tmp_path, gz):
    write_set(tmp_path, gz=gz)
    f = tmp_path / ("train-images-idx3-ubyte" + (".gz" if gz else ""))
    # a labels file where the images belong
    write_idx(f, np.zeros(TRAIN_N, np.uint8))
    with pytest.raises(DataError, match="magic") as e:
        load_dataset(tmp_path)
    assert str(f) in str(e.value) and "0x00000801" in str(e.value)


def test_not_idx_at_all(tmp_path):
    write_set(tmp_path)
    f = tmp_path / "t10k-images-idx3-ubyte"
    f.write_bytes(b"P5\n28 28\n255\n" + bytes(784))
    with pytest.raises(DataError, match="magic") as e:
        load_dataset(tmp_path)
    assert str(f) in str(e.value)


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("cut", [3, 10, 100])
def test_truncated(tmp_path, gz, cut):
    write_set(tmp_path, gz=gz)
    f = tmp_path / ("train-labels-idx1-ubyte" + (".gz" if gz else ""))
    raw = gzip.decompress(f.read_bytes()) if gz else f.read_bytes()
    _corrupt(f, raw[: min(cut, len(raw) - 1)])
    with pytest.raises(DataError, match="truncated") as e:
        load_dataset(tmp_path)
    assert str(f) in str(e.value)


def test_truncated_gzip_stream(tmp_path):
    write_set(tmp_path, gz=True)
    f = tmp_path / "t10k-images-idx3-ubyte.gz"
    f.write_bytes(f.read_bytes()[:-20])
    with pytest.raises(DataError, match="gzip") as e:
        load_dataset(tmp_path)
    assert str(f) in str(e.value)


def test_trailing_bytes(tmp_path):
    write_set(tmp_path)
    f = tmp_path / "train-images-idx3-ubyte"
    f.write_bytes(f.read_bytes() + b"\0\0")
    with pytest.raises(DataError, match="unexpected bytes") as e:
        load_dataset(tmp_path)
    assert str(f) in str(e.value)


def test_count_mismatch(tmp_path):
    write_set(tmp_path)
    f = tmp_path / "t10k-labels-idx1-ubyte"
    write_idx(f, np.zeros(TEST_N - 1, np.uint8))
    with pytest.raises(DataError, match="labels") as e:
        load_dataset(tmp_path)
    msg = str(e.value)
    assert str(f) in msg and str(tmp_path / "t10k-images-idx3-ubyte") in msg
    assert f"{TEST_N - 1} labels" in msg and f"{TEST_N} images" in msg


def test_wrong_image_size(tmp_path):
    write_set(tmp_path, size=(32, 32))
    with pytest.raises(DataError, match="32x32, expected 28x28") as e:
        load_dataset(tmp_path)
    assert "train-images-idx3-ubyte" in str(e.value)
    # ...which is what a 32x32 network would want
    ds = load_dataset(tmp_path, image_shape=(32, 32))
    assert ds.test_x.shape == (TEST_N, 32, 32)


def test_labels_out_of_range(tmp_path):
    write_set(tmp_path)
    f = tmp_path / "train-labels-idx1-ubyte"
    y = (np.arange(TRAIN_N) % 10).astype(np.uint8)
    y[5] = 12
    write_idx(f, y)
    with pytest.raises(DataError, match="out of range") as e:
        load_dataset(tmp_path)
    assert str(f) in str(e.value) and "12" in str(e.value)


def test_data_error_is_value_error():
    assert issubclass(DataError, ValueError)


# ---------------------------------------------------------------------------------------------
# The embedded set


@pytest.fixture(scope="module")
def embedded():
    return load_dataset(None)


def test_embedded_sizes_and_types(embedded):
    ds = embedded
    assert ds.train_x.shape == (3500, 28, 28) and ds.val_x.shape == (500, 28, 28)
    assert ds.test_x.shape == (1000, 28, 28)
    for x, y in ((ds.train_x, ds.train_y), (ds.val_x, ds.val_y), (ds.test_x, ds.test_y)):
        assert x.dtype == np.uint8 and y.dtype == np.int64 and len(x) == len(y)
    assert ds.train_x.max() == 255 and ds.test_x.min() == 0


def test_embedded_stratified(embedded):
    assert np.bincount(embedded.train_y).tolist() == [350] * 10
    assert np.bincount(embedded.val_y).tolist() == [50] * 10
    assert np.bincount(embedded.test_y).tolist() == [100] * 10
    # the held-out order mixes classes (make sim streams a prefix of it)
    assert len(set(embedded.test_y[:30].tolist())) >= 8


def test_embedded_disjoint(embedded):
    from model.data import _mnist5k

    x, _ = _mnist5k()  # the cached source arrays
    key = {bytes(r.reshape(-1)): i for i, r in enumerate(x)}
    assert len(key) == 5000  # no duplicate images in the source

    def ids(a):
        return {key[bytes(r.reshape(-1))] for r in a}

    tr, va, te = ids(embedded.train_x), ids(embedded.val_x), ids(embedded.test_x)
    assert len(tr) == 3500 and len(va) == 500 and len(te) == 1000
    assert not (tr & va) and not (tr & te) and not (va & te)


def test_embedded_deterministic(embedded):
    again = load_dataset(None)
    for name in ("train_x", "train_y", "val_x", "val_y", "test_x", "test_y"):
        np.testing.assert_array_equal(getattr(embedded, name), getattr(again, name))
    # independent of the global numpy seed
    np.random.seed(123)
    third = load_dataset(None)
    np.testing.assert_array_equal(third.test_y, embedded.test_y)


def test_stratified_split_uneven():
    y = np.array([0] * 7 + [1] * 3 + [2] * 1)
    rest, take = stratified_split(y, 5, np.random.default_rng(0))
    assert len(take) == 5 and len(rest) == 6
    assert sorted(np.concatenate([rest, take]).tolist()) == list(range(11))
    counts = np.bincount(y[take], minlength=3)
    assert counts[0] == 3 and counts[1] in (1, 2) and counts.sum() == 5
