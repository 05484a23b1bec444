"""Build the labs from their otter-grader sources, check they are current, grade submissions.

    python tools/labs.py build [LAB ...]     regenerate the student and autograder files
    python tools/labs.py check               exit 1 if any generated file differs from its source
    python tools/labs.py grade LAB FOLDER [--out grades.csv] [--timeout 300]
                                             grade every submission in FOLDER, without Docker:
                                             notebooks (.ipynb) and the zips a lab's last cell
                                             writes (grader.export), one per learner
    python tools/labs.py zip LAB [--out DIR] the autograder zip, for otter grade or Gradescope
    python tools/labs.py classroom DEST      a student-only copy of the course, for nbgitpuller
    python tools/labs.py collect LAB DEST (--group GROUP | HOME ...)
                                             on a hub: each learner's newest hand-in of LAB from
                                             their home (the members of a Unix group, or the homes
                                             named), as DEST/LEARNER.zip (or .ipynb), for grade

Layout:
    labs/source/LAB.ipynb        the source: prompts, solutions, public and hidden tests (edit this)
    labs/LAB/                    what a learner opens: LAB.ipynb and tests/ (public tests only)
    labs/autograder/LAB/         for instructors: the solution notebook and every test

The autograder zip carries a copy of socklab (the checks live in
socklab/grading/), so it is built when needed, never committed: a change to
socklab needs no rebuild of the labs. ``otter assign`` writes a random id into
the cells it adds and a timestamp into the zip; both are made fixed here, so
building twice gives the same bytes and ``check`` can compare.
"""

from __future__ import annotations

import argparse
import csv
import filecmp
import fnmatch
import json
import shutil
import stat
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LABS = ROOT / "labs"
SOURCES = LABS / "source"
AUTOGRADER = LABS / "autograder"
# What otter writes next to a notebook when it runs, or when a lab's export cell
# runs (LAB_DATE.zip); never part of a lab. Shell-style patterns.
RUN_LITTER = (".OTTER_LOG", "results.json", ".ipynb_checkpoints", "*.zip")
# What ``grade`` reads from a folder: notebooks, and the zips grader.export writes.
SUBMISSIONS = ("*.ipynb", "*.zip")


def is_litter(name: str) -> bool:
    """A file a run or an export leaves in a lab folder, not part of the lab."""
    return any(fnmatch.fnmatch(name, pattern) for pattern in RUN_LITTER)
# What otter assign writes that is not committed: the zip (built on demand) and its inputs.
NOT_COMMITTED = ("autograder.zip", "socklab", "requirements.txt")


def lab_names() -> list:
    return sorted(p.stem for p in SOURCES.glob("lab*.ipynb"))


def _normalise(dist: Path, name: str) -> None:
    for notebook in dist.glob("*/*.ipynb"):
        nb = json.loads(notebook.read_text())
        for i, cell in enumerate(nb["cells"]):
            if "id" in cell:
                cell["id"] = f"cell-{i:03d}"
        notebook.write_text(json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    zips = list((dist / "autograder").glob("*-autograder_*.zip"))
    if len(zips) != 1:
        raise SystemExit(f"{name}: expected one autograder zip from otter assign, found {zips}")
    with zipfile.ZipFile(zips[0]) as zin:
        members = {info.filename: (zin.read(info), info.external_attr) for info in zin.infolist()}
    with zipfile.ZipFile(dist / "autograder" / "autograder.zip", "w", zipfile.ZIP_DEFLATED) as zout:
        for filename in sorted(members):
            data, attributes = members[filename]
            info = zipfile.ZipInfo(filename, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = attributes
            zout.writestr(info, data)
    zips[0].unlink()


def assign(name: str, out: Path, run_tests: bool = False) -> Path:
    """Run ``otter assign`` for one lab into ``out``; return the dist folder."""
    source = SOURCES / f"{name}.ipynb"
    dist = out / name
    command = [sys.executable, "-m", "otter", "assign", str(source), str(dist)]
    if not run_tests:
        command.insert(4, "--no-run-tests")
    done = subprocess.run(command, capture_output=True, text=True, cwd=SOURCES)
    if done.returncode != 0:
        raise SystemExit(f"otter assign failed for {name}:\n{done.stdout}\n{done.stderr}")
    _normalise(dist, name)
    return dist


def build(names, run_tests=True) -> None:
    for name in names:
        with tempfile.TemporaryDirectory() as tmp:
            dist = assign(name, Path(tmp), run_tests=run_tests)
            for part, target in (("student", LABS / name), ("autograder", AUTOGRADER / name)):
                shutil.rmtree(target, ignore_errors=True)
                shutil.copytree(dist / part, target, ignore=shutil.ignore_patterns(*NOT_COMMITTED))
        print(f"built {name}: labs/{name}/ and labs/autograder/{name}/")


def _differences(left: Path, right: Path, prefix="") -> list:
    ignore = list(NOT_COMMITTED) + [p.name for p in (*left.iterdir(), *right.iterdir()) if is_litter(p.name)]
    compared = filecmp.dircmp(left, right, ignore=ignore)
    found = [f"{prefix}{n} (only in the new build)" for n in compared.left_only]
    found += [f"{prefix}{n} (not built from the source)" for n in compared.right_only]
    found += [f"{prefix}{n} (differs)" for n in compared.diff_files]
    _, mismatch, errors = filecmp.cmpfiles(left, right, compared.common_files, shallow=False)
    found += [f"{prefix}{n} (differs)" for n in mismatch + errors if f"{prefix}{n} (differs)" not in found]
    for sub in compared.common_dirs:
        found += _differences(left / sub, right / sub, f"{prefix}{sub}/")
    return found


def stale() -> list:
    """Every generated file that does not match what its source builds now."""
    problems = []
    names = lab_names()
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            dist = assign(name, Path(tmp))
            for part, committed in (("student", LABS / name), ("autograder", AUTOGRADER / name)):
                if not committed.is_dir():
                    problems.append(f"{committed.relative_to(ROOT)} is missing")
                    continue
                problems += [f"{committed.relative_to(ROOT)}/{d}" for d in _differences(dist / part, committed)]
    built = {p.name for p in LABS.glob("lab*") if p.is_dir()} | {p.name for p in AUTOGRADER.glob("lab*")}
    problems += [f"labs/{n} has no source labs/source/{n}.ipynb" for n in sorted(built - set(names))]
    return problems


def autograder_zip(name: str, dest: Path) -> Path:
    """Build the lab's autograder zip (tests, hidden ones included, and socklab) into ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        dist = assign(name, Path(tmp))
        target = dest / f"{name}-autograder.zip"
        shutil.copy(dist / "autograder" / "autograder.zip", target)
    return target


def grade(name: str, folder: Path, out: Path, timeout: float, *, archive: Path = None, quiet: bool = False) -> list:
    """``otter run`` each submission in ``folder``, each bounded by ``timeout``; write a CSV; return its rows.

    A submission is a notebook, or a zip as the lab's export cell writes it
    (the notebook inside; ``otter run`` takes either). ``archive``: the lab's
    autograder zip if already built (``autograder_zip``; the benchmark builds
    it outside the time it measures), else it is built here. ``quiet``: print
    no line per submission.
    """
    if archive is None:
        with tempfile.TemporaryDirectory() as tmp:
            return grade(name, folder, out, timeout, archive=autograder_zip(name, Path(tmp)), quiet=quiet)
    rows, questions = [], []
    submissions = sorted({path for pattern in SUBMISSIONS for path in folder.glob(pattern)})
    if not submissions:
        raise SystemExit(f"{folder} holds no submissions: no .ipynb and no .zip files")
    for submission in submissions:
        row = {"submission": submission.name}
        with tempfile.TemporaryDirectory() as tmp:
            try:
                subprocess.run([sys.executable, "-m", "otter", "run", "--no-logo", "-a", str(archive), "-o", tmp,
                                str(submission)], capture_output=True, check=True, timeout=timeout)
                tests = json.loads((Path(tmp) / "results.json").read_text())["tests"]
                scored = [t for t in tests if "max_score" in t]
                for test in scored:
                    row[test["name"]] = test["score"]
                    if test["name"] not in questions:
                        questions.append(test["name"])
                row["total"] = sum(t["score"] for t in scored)
                row["possible"] = sum(t["max_score"] for t in scored)
                row["error"] = ""
            except subprocess.TimeoutExpired:
                row.update(total=0, error=f"stopped after {timeout:g} s: the notebook did not finish")
            except subprocess.CalledProcessError as exc:
                row.update(total=0, error=(exc.stderr or b"").decode(errors="replace").strip()[-300:])
        rows.append(row)
        if not quiet:
            print(f"{row['submission']}: {row['total']}" + (f"  ({row['error']})" if row["error"] else ""), flush=True)
    with open(out, "w", newline="") as handle:
        writer = csv.DictWriter(handle, ["submission", *questions, "total", "possible", "error"], restval="")
        writer.writeheader()
        writer.writerows(rows)
    return rows


# What learners get: the course and what runs it (make lab needs tools/lab.py; Binder and a
# hub's image built by repo2docker read binder/, whose postBuild copies jupyter/'s settings;
# a one-machine hub runs from this copy, which holds no solutions: classroom/), with its
# licences and citation.
CLASSROOM = ("README.md", "Makefile", "requirements.txt", "requirements.lock", "environment.yml", "pyproject.toml",
             "LICENSE", "LICENSE-CC-BY-4.0.txt", "CITATION.cff", "socklab", "notebooks", "binder", "jupyter",
             "tools/lab.py", "classroom")


def classroom(dest: Path) -> None:
    """The course without solutions or hidden tests: what learners should pull in a graded class."""
    if dest.exists() and any(dest.iterdir()):
        raise SystemExit(f"{dest} is not empty: choose a new folder")
    dest.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "node_modules", *RUN_LITTER)
    for item in CLASSROOM:
        source = ROOT / item
        if source.is_dir():
            shutil.copytree(source, dest / item, ignore=ignore)
        elif source.exists():
            (dest / item).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / item)
    for name in lab_names():
        shutil.copytree(LABS / name, dest / "labs" / name, ignore=ignore)
    print(f"wrote {dest}: notebooks, socklab and the student labs; no labs/source, no labs/autograder")


def group_homes(group: str) -> list:
    """The home folders of a Unix group's members (listed in it, or with it as their own group)."""
    import grp
    import pwd

    try:
        entry = grp.getgrnam(group)
    except KeyError:
        raise SystemExit(f"no Unix group {group!r}: name the class's group (the hub's allowed_groups)")
    members = set(entry.gr_mem) | {user.pw_name for user in pwd.getpwall() if user.pw_gid == entry.gr_gid}
    return sorted(Path(pwd.getpwnam(name).pw_dir) for name in members)


# A hand-in is a notebook or the zip of one: larger is not a learner's work.
MAX_HAND_IN = 50 * 2**20


def _learners_own(home: Path, path: Path) -> str:
    """Why ``path`` is not a hand-in to copy as root ('' if it is): ``collect`` runs with
    sudo, so a link (to another learner's zip, to /dev/zero) or a file that is not the
    learner's own must not be followed."""
    step = home
    for part in path.relative_to(home).parts:
        step = step / part
        if step.is_symlink():
            return "a symbolic link"
    info = path.lstat()
    if not stat.S_ISREG(info.st_mode):
        return "not a regular file"
    if info.st_uid != home.lstat().st_uid:
        return "not owned by the home's owner"
    if info.st_size > MAX_HAND_IN:
        return f"larger than {MAX_HAND_IN // 2**20} MB"
    return ""


def collect(name: str, dest: Path, homes: list) -> dict:
    """Each home's newest hand-in of lab ``name``, copied to ``dest/LEARNER.zip`` (or ``.ipynb``).

    On a hub whose homes the instructor can read: a learner's course is wherever
    nbgitpuller put it (``HOME/FOLDER/labs/LAB/``, any FOLDER, or ``HOME/labs/LAB/``).
    The newest zip the export cell wrote wins; without one, the notebook as last
    saved. Only regular files the home's owner owns, reached without a symbolic link,
    count (see ``_learners_own``). LEARNER is the home folder's name. Returns
    {learner: the file taken}.
    """
    if dest.exists() and any(dest.iterdir()):
        raise SystemExit(f"{dest} is not empty: collect into a new folder")
    taken = {}
    for home in map(Path, homes):
        folders = [*home.glob(f"*/labs/{name}"), *home.glob(f"labs/{name}")]
        found = {"zip": [], "ipynb": []}
        for path in [z for f in folders for z in f.glob(f"{name}_*.zip")] + [n for f in folders for n in f.glob(f"{name}.ipynb")]:
            refused = _learners_own(home, path)
            if refused:
                print(f"{home.name}: skipped {path}: {refused}")
            else:
                found[path.suffix[1:]].append(path)
        newest = max(found["zip"] or found["ipynb"], key=lambda path: path.lstat().st_mtime, default=None)
        if newest is None:
            print(f"{home.name}: nothing to collect (no labs/{name} under {home})")
            continue
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copy2(newest, dest / f"{home.name}{newest.suffix}", follow_symlinks=False)
        taken[home.name] = newest
        print(f"{home.name}: {newest}")
    return taken


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    b = commands.add_parser("build", help="regenerate student and autograder files")
    b.add_argument("labs", nargs="*")
    b.add_argument("--no-run-tests", action="store_true", help="skip otter's own run of the solutions")
    commands.add_parser("check", help="exit 1 if a generated file is stale")
    g = commands.add_parser("grade", help="grade a folder of submissions without Docker")
    g.add_argument("lab")
    g.add_argument("folder", type=Path)
    g.add_argument("--out", type=Path, default=Path("grades.csv"))
    g.add_argument("--timeout", type=float, default=300)
    z = commands.add_parser("zip", help="the autograder zip, for otter grade (Docker) or Gradescope")
    z.add_argument("lab")
    z.add_argument("--out", type=Path, default=ROOT / "build" / "autograder")
    c = commands.add_parser("classroom", help="a student-only copy of the course")
    c.add_argument("dest", type=Path)
    k = commands.add_parser("collect", help="each learner's newest hand-in from their home, for grade")
    k.add_argument("lab")
    k.add_argument("dest", type=Path)
    k.add_argument("homes", nargs="*", type=Path, help="learners' home folders (or --group)")
    k.add_argument("--group", help="the class's Unix group: its members' homes")
    args = parser.parse_args(argv)
    if args.command == "build":
        unknown = sorted(set(args.labs) - set(lab_names()))
        if unknown:
            parser.error(f"no source for {unknown}; the labs are {', '.join(lab_names())}")
        build(args.labs or lab_names(), run_tests=not args.no_run_tests)
    elif args.command == "check":
        problems = stale()
        if problems:
            print("Generated lab files differ from their sources; run `make labs`:\n  " + "\n  ".join(problems))
            return 1
        print(f"{len(lab_names())} labs are current")
    elif args.command == "grade":
        if args.lab not in lab_names():
            parser.error(f"no lab {args.lab!r}; the labs are {', '.join(lab_names())}")
        if not args.folder.is_dir():
            parser.error(f"{args.folder} is not a folder of submissions (notebooks, or the zips the labs export)")
        grade(args.lab, args.folder, args.out, args.timeout)
        print(f"wrote {args.out}")
    elif args.command == "zip":
        if args.lab not in lab_names():
            parser.error(f"no lab {args.lab!r}; the labs are {', '.join(lab_names())}")
        print(f"wrote {autograder_zip(args.lab, args.out)}")
    elif args.command == "collect":
        if args.lab not in lab_names():
            parser.error(f"no lab {args.lab!r}; the labs are {', '.join(lab_names())}")
        if bool(args.group) == bool(args.homes):
            parser.error("name the learners' homes, or their group with --group, not both")
        homes = args.homes or group_homes(args.group)
        taken = collect(args.lab, args.dest, homes)
        print(f"collected {len(taken)} of {len(homes)} homes into {args.dest}")
    else:
        classroom(args.dest)
    return 0


if __name__ == "__main__":
    sys.exit(main())
