"""Fuzz the readers a user can feed (issue 17, item 4): data YAMLs, label files, space files, budgets,
candidate YAMLs, ``--set`` values and checkpoints.

A seeded generator (``random.Random(SEED)``) mutates valid seeds: structurally (a value replaced by a value of
the wrong type, a key dropped or renamed, a mapping wrapped in a list) and textually (truncated, garbage or
binary bytes spliced in, lines duplicated), plus fixed hostile inputs (empty, invalid UTF-8, a 5 MB line, YAML
nested deeper than the parser recurses). Each reader must either accept the input or raise a
:class:`~paretodet.errors.ParetodetError` (which the CLI prints as one ``error:`` line, exit 2), and must write
nothing into the input's folder or the working directory. A smaller CLI set checks that end to end.

The whole module runs in well under a minute; ``CASES`` counts what ran (the last test asserts the totals).
"""

from __future__ import annotations

import io
import math
import os
import pickle
import random
import subprocess
import sys
import traceback
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from paretodet.data import SynthSpec, synthesize
from paretodet.data._layout import load_data_yaml, read_labels
from paretodet.errors import ParetodetError
from paretodet.reports import Budget, parse_budgets
from paretodet.search.artifacts._apply import load_candidate_file
from paretodet.spaces import Candidate, load_space, space_to_dict

SEED = 17
N_PER_READER = 150  # generated mutants per YAML reader (plus the fixed hostile inputs)
CASES: Counter[str] = Counter()  # cases run, by reader ("cli" for subprocess cases)
MIN_LIBRARY_CASES = 900
MIN_CLI_CASES = 20
ROOT = Path(__file__).resolve().parents[2]

# values of the wrong type, or of the right type but hostile
WEIRD: tuple[Any, ...] = (
    None,
    True,
    False,
    0,
    -1,
    10**400,
    -(10**400),
    1e308,
    -1e308,
    float("nan"),
    float("inf"),
    -float("inf"),
    3.5,
    "",
    " ",
    "☃ ünïcödé ✓",
    "\x00\x01",
    "a" * 5000,
    "../../../../etc",
    "~/nowhere",
    "/nonexistent/abs/path",
    "images/val",
    "1e999",
    "nan",
    "-0",
    [],
    {},
    [1, "two", None],
    {"a": {"b": [1]}},
    {0: "x", 2: "y"},
    ["x", ["y"]],
)
GARBAGE: tuple[bytes, ...] = (
    b"\x00",
    b"\xff\xfe\xfd",
    b"\x80abc",
    b"\xef\xbb\xbf",  # a BOM
    b": : :",
    b"- - -",
    b"{",
    b"]",
    b"&a [*a]",
    b"*undefined",
    b"!!python/object/apply:os.system ['true']",
    b"!!binary aGVsbG8=",
    b"!!set {a, b}",
    b"2001-12-14t21:59:43.10-05:00",
    b"\t",
    b"%YAML 9.9\n---\n",
    b"---\n...\n---\n",
    b"? [complex, key]\n: value\n",
    b"<<: {a: 1}",
    "ünï ☃".encode(),
)
HOSTILE: tuple[tuple[str, bytes], ...] = (
    ("empty", b""),
    ("whitespace", b"  \n\n\t\n"),
    ("null", b"null\n"),
    ("number", b"42\n"),
    ("string", b"just a string\n"),
    ("list", b"- a\n- b\n"),
    ("bool", b"true\n"),
    ("invalid utf-8", b"val: \xff\xfe\xc3\x28\n"),
    ("utf-16", "val: images/val\n".encode("utf-16")),
    ("nul bytes", b"\x00" * 64),
    ("deep flow list", b"[" * 2000 + b"]" * 2000),
    ("deep flow map", b"{a: " * 2000 + b"1" + b"}" * 2000),
    ("deep block map", "".join(f"{' ' * i}k{i}:\n" for i in range(600)).encode() + b" " * 600 + b"x: 1\n"),
    ("5 MB line", b"val: " + b"x" * (5 << 20) + b"\n"),
    ("python tag", b"!!python/object/apply:os.system ['echo pwned > pwned.txt']\n"),
    ("many documents", b"a: 1\n---\nb: 2\n"),
)


# ---------------------------------------------------------------- the generator


def _mutate_tree(rng: random.Random, obj: Any, depth: int = 0) -> Any:
    """A copy of a parsed YAML tree with a few nodes replaced, dropped, renamed or wrapped."""
    if isinstance(obj, dict) and obj:
        out = dict(obj)
        key = rng.choice(list(out))
        move = rng.random()
        if move < 0.45:
            out[key] = _mutate_tree(rng, out[key], depth + 1) if rng.random() < 0.5 else rng.choice(WEIRD)
        elif move < 0.6:
            del out[key]
        elif move < 0.75:
            out[rng.choice((*WEIRD[:13], "unknown_key", key.upper() if isinstance(key, str) else key))] = out.pop(key)
        elif move < 0.85:
            out[f"{key}.extra" if isinstance(key, str) else 99] = rng.choice(WEIRD)
        else:
            return [out] if depth == 0 else {key: out}
        if rng.random() < 0.3:  # sometimes mutate twice
            return _mutate_tree(rng, out, depth)
        return out
    if isinstance(obj, list) and obj:
        out_list = list(obj)
        i = rng.randrange(len(out_list))
        move = rng.random()
        if move < 0.5:
            out_list[i] = rng.choice(WEIRD)
        elif move < 0.7:
            del out_list[i]
        elif move < 0.85:
            out_list.append(rng.choice(WEIRD))
        else:
            return {"list": out_list}
        return out_list
    return rng.choice(WEIRD)


def _dump(obj: Any) -> bytes:
    return yaml.safe_dump(obj, sort_keys=False, allow_unicode=True, width=4096).encode()


def _mutate_text(rng: random.Random, data: bytes) -> bytes:
    """Textual damage: truncation, spliced garbage, deleted/duplicated spans, flipped bytes."""
    move = rng.random()
    cut = rng.randrange(len(data) + 1)
    if move < 0.25:
        return data[:cut]
    if move < 0.5:
        return data[:cut] + rng.choice(GARBAGE) + data[cut:]
    if move < 0.65:
        end = min(len(data), cut + rng.randrange(1, 40))
        return data[:cut] + data[end:]
    if move < 0.8:
        lines = data.splitlines(keepends=True) or [b""]
        i = rng.randrange(len(lines))
        return b"".join(lines[: i + 1] + lines[i:])
    flipped = bytearray(data)
    for _ in range(rng.randrange(1, 6)):
        if flipped:
            flipped[rng.randrange(len(flipped))] = rng.randrange(256)
    return bytes(flipped)


def yaml_mutants(rng: random.Random, seed: Any, n: int) -> Iterator[tuple[str, bytes]]:
    """``n`` mutants of the YAML tree ``seed`` (half structural, half textual), then the fixed hostile ones."""
    text = _dump(seed)
    for i in range(n):
        if i % 2 == 0:
            yield f"tree#{i}", _dump(_mutate_tree(rng, seed))
        else:
            yield f"text#{i}", _mutate_text(rng, text)
    yield from HOSTILE


# ---------------------------------------------------------------- checks


def _snapshot(*folders: Path) -> set[Path]:
    return {p for folder in folders for p in folder.rglob("*")}


def _expect_clean(call: Callable[[], Any], *, case: str, watch: tuple[Path, ...], problems: list[str]) -> None:
    """``call`` returns or raises a ParetodetError with a one-line message, and writes nothing under ``watch``;
    anything else is appended to ``problems`` (a test collects them all, then fails listing each kind once)."""
    before = _snapshot(*watch)
    try:
        call()
    except ParetodetError as exc:
        message = str(exc).strip()
        if not message or "\n" in message or len(message) > 5000:
            problems.append(f"bad message {message[:200]!r} <- {case}")
    except Exception as exc:  # the point of the test: anything else is a bug
        where = traceback.extract_tb(exc.__traceback__)[-1]
        kind = f"{type(exc).__name__} at {Path(where.filename).name}:{where.lineno}"
        problems.append(f"{kind}: {str(exc)[:200]} <- {case}")
    new = _snapshot(*watch) - before
    if new:
        problems.append(f"wrote {sorted(map(str, new))[:3]} <- {case}")


def _assert_no_problems(problems: list[str]) -> None:
    """Fail listing each kind of problem once (with its first input), and how often it happened."""
    kinds = Counter(p.split(": ")[0][:120] for p in problems)
    first: dict[str, str] = {}
    for p in problems:
        first.setdefault(p.split(": ")[0][:120], p)
    assert not problems, "\n".join(f"[{n}x] {first[k]}" for k, n in kinds.items())


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small valid dataset (data.yaml + images + labels) that mutants are written next to."""
    return synthesize(tmp_path_factory.mktemp("fuzz_data"), SynthSpec(images=2, seed=5))


@pytest.fixture()
def empty_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    return cwd


def _fuzz_file_reader(
    reader: Callable[[Path], Any], seed: Any, *, folder: Path, cwd: Path, name: str, n: int = N_PER_READER
) -> None:
    rng = random.Random(f"{SEED}:{name}")
    target = folder / f"fuzz-{name}.yaml"
    problems: list[str] = []
    try:
        for label, data in yaml_mutants(rng, seed, n):
            target.write_bytes(data)
            case = f"{name} {label} {data[:120]!r}"
            _expect_clean(lambda: reader(target), case=case, watch=(folder, cwd), problems=problems)
            CASES[name] += 1
    finally:
        target.unlink(missing_ok=True)
    _assert_no_problems(problems)


# ---------------------------------------------------------------- library level


def test_data_yaml(dataset: Path, empty_cwd: Path) -> None:
    seed = yaml.safe_load(dataset.read_text())
    seed["path"] = str(dataset.parent)  # gives the mutator a 'path:' to damage too
    _fuzz_file_reader(load_data_yaml, seed, folder=dataset.parent, cwd=empty_cwd, name="data_yaml")


def test_space_file(tmp_path: Path, empty_cwd: Path) -> None:
    seed = space_to_dict(load_space("quick"))
    seed["base"] = {"imgsz": 256, "quant.precision": "fp16"}
    _fuzz_file_reader(load_space, seed, folder=tmp_path, cwd=empty_cwd, name="space_file")


def _candidate_from_file(path: Path) -> Candidate:
    """What ``apply --config`` does with the file before any model is loaded."""
    return Candidate.from_dict(load_candidate_file(path))


def test_candidate_yaml(tmp_path: Path, empty_cwd: Path) -> None:
    seed = {
        "imgsz": 256,
        "runtime": "onnxruntime",
        "quant": {"precision": "int8", "calibration": "entropy", "per_channel": True},
        "prune.method": "l2",
        "prune.ratio": 0.3,
        "distill": {"alpha": 0.5, "temperature": 4.0},
    }
    _fuzz_file_reader(_candidate_from_file, seed, folder=tmp_path, cwd=empty_cwd, name="candidate_yaml")


def test_label_files(dataset: Path, empty_cwd: Path) -> None:
    rng = random.Random(f"{SEED}:labels")
    labels = sorted((dataset.parent / "labels" / "val").glob("*.txt"))
    seed = b"".join(p.read_bytes() for p in labels) or b"0 0.5 0.5 0.2 0.2\n"
    target = dataset.parent / "labels" / "val" / "fuzz-label.txt"
    tokens = ("nan", "inf", "-inf", "-1", "1e999", "0x1", "1.0", "٣", "☃", "", "0 0 0 0 0 0", "\x00", "1_0", "+.5")
    cases: list[tuple[str, bytes]] = list(HOSTILE[:10])
    cases.append(("50k lines", b"0 0.5 0.5 0.1 0.1\n" * 50_000 + b"9 0.5 0.5 0.1 0.1\n"))
    for i in range(N_PER_READER * 2):
        if i % 2:
            cases.append((f"text#{i}", _mutate_text(rng, seed)))
        else:
            lines = seed.decode().splitlines() or ["0 0.5 0.5 0.2 0.2"]
            fields = rng.choice(lines).split()
            fields[rng.randrange(len(fields))] = rng.choice(tokens)
            cases.append((f"field#{i}", "\n".join([*lines, " ".join(fields)]).encode()))
    problems: list[str] = []
    try:
        for label, data in cases:
            target.write_bytes(data)
            for nc in (1, 3):
                _expect_clean(
                    lambda nc=nc: read_labels(target, nc=nc),
                    case=f"labels {label} {data[:120]!r}",
                    watch=(target.parent, empty_cwd),
                    problems=problems,
                )
                CASES["labels"] += 1
    finally:
        target.unlink(missing_ok=True)
    _assert_no_problems(problems)


def _budget_texts(rng: random.Random, n: int) -> Iterator[str]:
    valid = ["size_mb<=4", "fps>=30", "latency_ms < 20.5", "map50_95>0.3", "params<=1e6", "gflops <= .5"]
    pieces = ["<=", ">=", "<", ">", "==", "=<", "=", " ", "", "-", "+", "e", "E", ".", "1e999", "nan", "inf", "٣"]
    pieces += ["☃", "\x00", "\n", "size_mb", "SIZE_MB", "fps", "4", "-1e-3", "0x10", "1_000", "''", "\t", "\u00a0"]
    yield from ("", " ", "<=", "size_mb", "size_mb<=", "<=4", "size_mb<=4<=5", "size_mb<=4 fps>=3", "9" * 5000)
    yield "size_mb<=" + "9" * 400
    yield "size_mb<=1" + "0" * 400 + ".5"
    yield "size_mb<=" + "1" * 100_000
    for _ in range(n):
        text = rng.choice(valid)
        for _ in range(rng.randrange(1, 4)):
            cut = rng.randrange(len(text) + 1)
            move = rng.random()
            if move < 0.4:
                text = text[:cut] + rng.choice(pieces) + text[cut:]
            elif move < 0.7:
                text = text[:cut] + text[cut + rng.randrange(1, 4) :]
            else:
                text = text[:cut]
        yield text


def test_budgets(empty_cwd: Path) -> None:
    rng = random.Random(f"{SEED}:budgets")
    problems: list[str] = []
    for text in _budget_texts(rng, N_PER_READER * 2):

        def check(text: str = text) -> None:
            budget = Budget.parse(text)
            assert math.isfinite(budget.bound), f"budget {text!r} parsed to a non-finite bound {budget.bound}"
            assert Budget.parse(str(budget)) == budget  # what reports print parses back to the same budget

        _expect_clean(check, case=f"budget {text[:120]!r}", watch=(empty_cwd,), problems=problems)
        CASES["budgets"] += 1
    # budgets stored in a work dir's manifest are read back by `report`: wrong types there too
    for value in WEIRD:
        case = f"stored budget {value!r:.80}"
        _expect_clean(lambda value=value: parse_budgets([value]), case=case, watch=(empty_cwd,), problems=problems)
        CASES["budgets"] += 1
    _assert_no_problems(problems)


def test_set_values(empty_cwd: Path) -> None:
    """``--set KEY=VALUE``: every value arrives as a string; each knob gets hostile strings."""
    rng = random.Random(f"{SEED}:set")
    names = list(Candidate().to_dict())
    strings = [str(v) for v in WEIRD if not isinstance(v, list | dict)]
    strings += ["9" * 5000, "1" + "0" * 400, "1e-400", "0.1.2", "٣٢", "Yes", "TRUE", "l2 ", "\x00l2", "32.0", "3e1"]
    strings += ["int8\n", "-", "+", ".", "0b101", "0o17", "1_024", "∞"]
    cases = [(name, value) for name in names for value in rng.sample(strings, 14)]
    cases += [
        (rng.choice(["", " ", "imgsz.", ".imgsz", "quant", "quant.", "Imgsz", "☃", "\x00"]), "1") for _ in range(9)
    ]
    problems: list[str] = []
    for key, value in cases:
        _expect_clean(
            lambda key=key, value=value: Candidate.from_dict({key: value}),
            case=f"--set {key}={value[:80]!r}",
            watch=(empty_cwd,),
            problems=problems,
        )
        CASES["set_values"] += 1
    _assert_no_problems(problems)


# ---------------------------------------------------------------- checkpoints (paretodet.models)


def _checkpoint_cases(tmp: Path) -> list[tuple[str, bytes]]:
    import torch

    def saved(obj: Any) -> bytes:
        buf = io.BytesIO()
        torch.save(obj, buf)
        return buf.getvalue()

    rng = random.Random(f"{SEED}:checkpoints")
    valid = saved({"model": None, "epoch": 3, "train_args": {}})  # a torch zip archive, the shape of a .pt
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as zf:
        zf.writestr("archive/data.pkl", bytes(rng.randrange(256) for _ in range(200)))
        zf.writestr("archive/version", b"3\n")
    return [
        ("empty", b""),
        ("one byte", b"\x80"),
        ("random bytes", bytes(rng.randrange(256) for _ in range(4096))),
        ("text", b"not a checkpoint\n"),
        ("truncated zip", valid[: len(valid) // 2]),
        ("zip head only", valid[:30]),
        ("zip with garbage pickle", zipped.getvalue()),
        ("pickle of an int", pickle.dumps(3)),
        ("pickle of a list", pickle.dumps([1, 2, 3])),
        ("truncated pickle", pickle.dumps({"model": [1] * 100})[:40]),
        ("torch.save of None", saved(None)),
        ("torch.save of a list", saved([1, 2])),
        ("torch.save of a str", saved("model")),
        ("model is an int", saved({"model": 3})),
        ("model is a dict", saved({"model": {"a": torch.zeros(2)}})),
        ("ema only, None", saved({"ema": None})),
        ("state dict", saved({"conv.weight": torch.zeros(1, 1, 1, 1)})),
        ("a tensor", saved(torch.zeros(3))),
    ]


def test_checkpoints(tmp_path: Path, empty_cwd: Path) -> None:
    """Damaged ``.pt`` files must fail with a ModelError (the loader lives in paretodet.models)."""
    pytest.importorskip("torch")
    from paretodet.models import load_detector

    folder = tmp_path / "ckpt"
    folder.mkdir()
    problems: list[str] = []
    for label, data in _checkpoint_cases(tmp_path):
        path = folder / "model.pt"
        path.write_bytes(data)
        case = f"checkpoint {label}"
        _expect_clean(lambda path=path: load_detector(path), case=case, watch=(folder, empty_cwd), problems=problems)
        CASES["checkpoints"] += 1
        path.unlink()
    _assert_no_problems(problems)


# ---------------------------------------------------------------- CLI level


def _cli(args: list[str], *, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1", "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "paretodet.cli", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


def _cli_cases(folder: Path, dataset: Path) -> list[tuple[str, list[str]]]:
    """Commands that fail on a bad input before any model is loaded (each subprocess costs about a second)."""

    def write(name: str, data: bytes) -> str:
        path = folder / name
        path.write_bytes(data)
        return str(path)

    rng = random.Random(f"{SEED}:cli")
    space = _dump(space_to_dict(load_space("quick")))
    candidate = _dump({"imgsz": 256, "quant": {"precision": "fp16"}})
    apply = ["apply", str(folder / "model.pt"), "--data", str(dataset), "--out", str(folder / "out")]
    return [
        ("space: deep nesting", ["spaces", "--space", write("deep.yaml", b"[" * 3000)]),
        ("space: invalid utf-8", ["spaces", "--space", write("binary.yaml", b"knobs: {\xff\xfe: 1}\n")]),
        ("space: truncated", ["spaces", "--space", write("cut.yaml", space[: len(space) // 3] + b"[")]),
        ("space: wrong types", ["spaces", "--space", write("types.yaml", b"knobs: {imgsz: {low: .nan, high: 1}}\n")]),
        (
            "space: huge int",
            ["spaces", "--space", write("int.yaml", b"knobs: {prune.ratio: {low: 1" + b"0" * 400 + b", high: 2}}\n")],
        ),
        ("space: a list", ["spaces", "--space", write("list.yaml", b"- knobs\n")]),
        ("space: mutated", ["spaces", "--space", write("mut.yaml", _mutate_text(rng, space) + b"\n\t: [")]),
        ("budget: malformed", ["select", str(folder), "--budget", "size_mb<=4<=5"]),
        ("budget: unicode", ["select", str(folder), "--budget", "size_mb≤4"]),
        ("budget: infinite", ["select", str(folder), "--budget", "size_mb<=1e999"]),
        ("apply --config: invalid utf-8", [*apply, "--config", write("c1.yaml", candidate[:-3] + b"\xff\xfe\n")]),
        ("apply --config: deep nesting", [*apply, "--config", write("c2.yaml", b"{a: " * 1500)]),
        ("apply --config: wrong types", [*apply, "--config", write("c3.yaml", b"quant: [1, 2]\nimgsz: .inf\n")]),
        ("apply --config: huge int", [*apply, "--config", write("c4.yaml", b"prune.ratio: 1" + b"0" * 400 + b"\n")]),
        ("apply --set: nan", [*apply, "--set", "prune.ratio=nan"]),
        ("apply --set: no =", [*apply, "--set", "imgsz"]),
        # these import torch (about 3 s each): a damaged data YAML, then checkpoints paretodet.models must refuse
        ("evaluate --data: nested", ["evaluate", write("m0.pt", b""), "--data", write("d.yaml", b"{a: " * 1500)]),
        ("evaluate: empty .pt", ["evaluate", write("m1.pt", b""), "--data", str(dataset)]),
        ("evaluate: random .pt", ["evaluate", write("m2.pt", rng.randbytes(2048)), "--data", str(dataset)]),
    ]


def _cli_checkpoint_cases(folder: Path, dataset: Path) -> list[tuple[str, list[str]]]:
    """A checkpoint that is a pickle of the wrong type (torch's weights-only hints must not reach stderr)."""
    path = folder / "m3.pt"
    path.write_bytes(pickle.dumps(3))
    return [("evaluate: pickled int", ["evaluate", str(path), "--data", str(dataset)])]


def _run_cli_cases(
    tmp_path: Path, dataset: Path, make: Callable[[Path, Path], list[tuple[str, list[str]]]]
) -> list[str]:
    """Run each command from an empty working directory; return what went wrong (rc, stderr, files written)."""
    folder = tmp_path / "inputs"
    folder.mkdir()
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    cases = make(folder, dataset)
    before = _snapshot(folder, cwd, dataset.parent)
    problems = []
    for label, args in cases:
        result = _cli(args, cwd=cwd)
        lines = result.stderr.strip().splitlines()
        one_line = len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in result.stderr
        if result.returncode != 2 or not one_line:
            problems.append(f"{label}: rc={result.returncode} stderr={result.stderr[-400:]!r}")
        after = _snapshot(folder, cwd, dataset.parent)
        if after != before:
            problems.append(f"{label}: wrote {sorted(map(str, after - before))[:3]}")
        CASES["cli"] += 1
    return problems


def test_cli_one_error_line(tmp_path: Path, dataset: Path) -> None:
    problems = _run_cli_cases(tmp_path, dataset, _cli_cases)
    assert not problems, "\n".join(problems)


def test_cli_checkpoints_one_error_line(tmp_path: Path, dataset: Path) -> None:
    problems = _run_cli_cases(tmp_path, dataset, _cli_checkpoint_cases)
    assert not problems, "\n".join(problems)


def test_case_count() -> None:
    """Runs last (file order): every fuzz test ran its cases. Quote these numbers in the closing note."""
    library = sum(v for k, v in CASES.items() if k != "cli")
    print(f"fuzz cases: library {library} ({dict(CASES)}), CLI {CASES['cli']}")
    if len(CASES) < 8:  # a -k selection ran only some of the tests
        pytest.skip("run the whole module to count its cases")
    assert library >= MIN_LIBRARY_CASES
    assert CASES["cli"] >= MIN_CLI_CASES
