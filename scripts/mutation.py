"""Mutation testing of lightning_gan's core with mutmut: which planted bugs do the tests catch?

mutmut rewrites the code one small change at a time (an operator flipped, a constant moved, a call
dropped), runs the tests that call the changed function, and counts the change as killed when a
test fails. What the core is and which tests run come from ``[tool.mutmut]`` in pyproject.toml;
``--paths``/``--tests`` narrow both. The run happens in a scratch copy of the checkout (``--workdir``,
default ``.mutation/``, recreated each run) so the checkout stays clean; inspect a survivor there with
``cd .mutation && mutmut show NAME``. Torch runs one thread per process: mutmut forks a worker per
mutant, and a forked OpenMP pool can hang.

Survivors listed in ``scripts/equivalent_mutants.txt`` (one per line: the mutant's name, then why no
test can tell it from the original) are reported as equivalent; any other survivor is printed, and
the script exits 1 when one is left or the killed share is below ``--target``. The last line reads
``killed K of N``. A run over the whole core (no ``--paths``/``--tests``) writes its table into
docs/mutation.md. After adding tests, ``--survivors`` reruns only the mutants the last run left
alive (mutmut keeps every other result), against the checkout's tests as they are now.

    python scripts/mutation.py
    python scripts/mutation.py --paths lightning_gan/losses.py --tests tests/unit/test_losses.py
    python scripts/mutation.py --survivors
"""

import argparse
import datetime
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

try:
    import tomllib
except ImportError:  # Python 3.10
    sys.exit("scripts/mutation.py needs Python 3.11 or later (tomllib)")

REPO = Path(__file__).resolve().parents[1]
EQUIVALENT = REPO / "scripts" / "equivalent_mutants.txt"
DOCS = REPO / "docs" / "mutation.md"
MARKERS = ("<!-- mutation:latest -->", "<!-- /mutation:latest -->")
COPIED = ("lightning_gan", "tests", "configs", "scripts", "pyproject.toml")
DETECTED = {"killed", "timeout"}  # a timeout is a mutant that made the tests hang: caught


def equivalents(path: Path = EQUIVALENT) -> dict[str, str]:
    """The mutants known to be equivalent, name to reason (``#`` lines and blank lines skipped)."""
    listed = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, reason = line.partition(" ")
            listed[name] = reason.strip()
    return listed


def config_text(paths: list[str], tests: list[str]) -> str:
    """pyproject.toml with ``[tool.mutmut]``'s ``only_mutate`` and test selection replaced where given."""
    text = (REPO / "pyproject.toml").read_text()
    settings = tomllib.loads(text)["tool"]["mutmut"]
    for key, value in (("only_mutate", paths), ("pytest_add_cli_args_test_selection", tests)):
        if value:
            settings[key] = value
    head = text[: text.index("[tool.mutmut]")]
    body = "".join(f"{key} = {toml_value(value)}\n" for key, value in settings.items())
    return f"{head}[tool.mutmut]\n{body}"


def toml_value(value: object) -> str:
    """A string or a list of strings as TOML."""
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def statuses(workdir: Path, env: dict[str, str]) -> dict[str, str]:
    """Every mutant's status (``killed``, ``survived``, ``timeout``, ``no tests``, ...) after a run."""
    listing = subprocess.run(
        [sys.executable, "-m", "mutmut", "results", "--all", "true"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return dict(re.findall(r"^\s*(\S+): (.+)$", listing, re.M))


def prepare(workdir: Path, paths: list[str], tests: list[str]) -> None:
    """A fresh scratch copy of the checkout in ``workdir``, its ``[tool.mutmut]`` narrowed as asked."""
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    for name in COPIED:
        source, target = REPO / name, workdir / name
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target)
    (workdir / "pyproject.toml").write_text(config_text(paths, tests))
    (workdir / "scope.txt").write_text("whole core\n" if not paths and not tests else "narrowed\n")


def run_mutmut(workdir: Path, env: dict[str, str], children: int, names: list[str]) -> bool:
    """``mutmut run`` in ``workdir`` (only ``names`` if given); False, with its output, if it failed."""
    run = subprocess.run(
        [sys.executable, "-m", "mutmut", "run", "--max-children", str(children), *names],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
    )
    if run.returncode != 0:
        print(run.stdout[-3000:], run.stderr[-3000:], sep="\n", file=sys.stderr)
        print(f"mutation.py: mutmut run failed with exit code {run.returncode}", file=sys.stderr)
    return run.returncode == 0


def report(found: dict[str, str], whole_core: bool, target: float, command: str) -> int:
    """Print the table per module, write it to the docs for the whole core; 1 if short of the target."""
    known = equivalents()
    killed = sum(status in DETECTED for status in found.values())
    equivalent = sorted(name for name, status in found.items() if status not in DETECTED and name in known)
    unexplained = sorted(
        name for name, status in found.items() if status not in DETECTED and name not in known
    )
    by_file: dict[str, list[int]] = {}
    for name, status in found.items():
        counts = by_file.setdefault(name.split(".x")[0], [0, 0])
        counts[0] += status in DETECTED
        counts[1] += 1
    table = [f"{'module':<45} {'killed':>7} {'of':>5}"]
    table += [f"{module:<45} {k:>7} {n:>5}" for module, (k, n) in sorted(by_file.items())]
    table.append(f"{'all':<45} {killed:>7} {len(found):>5}")
    table.append(
        f"equivalent (scripts/equivalent_mutants.txt): {len(equivalent)}; neither: {len(unexplained)}"
    )
    print("\n".join(table))
    if whole_core:
        write_table(table, command)
    for name in unexplained:
        print(f"not killed, not listed as equivalent: {name} ({found[name]})")
    share = killed / len(found) if found else 0.0
    print(f"killed {killed} of {len(found)}")
    return 0 if not unexplained and share >= target else 1


def main() -> int:
    """Run mutmut over the core in a scratch copy and report; 1 if a survivor is unexplained."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", nargs="+", default=[], help="files to mutate (default: pyproject's)")
    parser.add_argument("--tests", nargs="+", default=[], help="test files or folders to run")
    parser.add_argument("--workdir", type=Path, default=REPO / ".mutation")
    parser.add_argument("--children", type=int, default=os.cpu_count() or 1, help="mutants run at once")
    parser.add_argument("--target", type=float, default=0.9, help="least killed share")
    parser.add_argument(
        "--survivors",
        action="store_true",
        help="rerun only what the last run in --workdir left alive, against the checkout's tests now",
    )
    args = parser.parse_args()
    env = os.environ | {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "WANDB_MODE": "offline"}
    names: list[str] = []
    if args.survivors:
        if not (args.workdir / "scope.txt").is_file():
            print(f"mutation.py: --survivors needs a previous run in {args.workdir}", file=sys.stderr)
            return 1
        names = sorted(name for name, status in statuses(args.workdir, env).items() if status not in DETECTED)
        for folder in ("tests", "scripts"):  # the tests as they are now (the scripts' own test included)
            shutil.rmtree(args.workdir / folder)
            shutil.copytree(
                REPO / folder, args.workdir / folder, ignore=shutil.ignore_patterns("__pycache__")
            )
    else:
        prepare(args.workdir, args.paths, args.tests)
    if (not args.survivors or names) and not run_mutmut(args.workdir, env, args.children, names):
        return 1
    whole_core = (args.workdir / "scope.txt").read_text().startswith("whole")
    command = "`python scripts/mutation.py`" + (
        ", then `--survivors` after new tests" if args.survivors else ""
    )
    return report(statuses(args.workdir, env), whole_core, args.target, command)


def write_table(table: list[str], command: str, path: Path = DOCS) -> None:
    """Replace the table between :data:`MARKERS` in docs/mutation.md with ``table``, how and when."""
    text = path.read_text()
    start, end = (text.index(marker) for marker in MARKERS)
    body = [
        MARKERS[0],
        f"{command}, {datetime.date.today().isoformat()}:",
        "",
        "```",
        *table,
    ]
    text = text[:start] + "\n".join([*body, "```", ""]) + text[end:]
    path.write_text(text)


if __name__ == "__main__":
    sys.exit(main())
