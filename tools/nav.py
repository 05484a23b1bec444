"""Write the navigation line (previous | contents | next) into every course notebook.

    python tools/nav.py           # rewrite the lines
    python tools/nav.py --check   # exit 1 if any line is missing or stale (a test runs this)

The line is the first and the last cell of each notebook, tagged "navigation".
It links only notebooks that exist, in file-name order, so adding a notebook
and re-running this script keeps the whole course linked. Never edit it by hand.
"""

import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
TAG = "navigation"


def course() -> list:
    return sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


def title(path: Path) -> str:
    """The notebook's first heading, without the leading '#'s and any subtitle."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "markdown" and TAG not in cell.metadata.get("tags", []):
            match = re.search(r"^#\s+(.+)$", cell.source, re.M)
            if match:
                return match.group(1).split(":")[0].strip()
    return path.stem


def line(paths, i) -> str:
    parts = []
    if i > 0:
        parts.append(f"[← {title(paths[i - 1])}]({paths[i - 1].name})")
    parts.append("[Contents](../README.md#course-map)")
    if i + 1 < len(paths):
        parts.append(f"[{title(paths[i + 1])} →]({paths[i + 1].name})")
    return " | ".join(parts)


def apply(path: Path, text: str, write: bool) -> bool:
    """Put the line first and last; return True if the notebook changed."""
    nb = nbformat.read(path, as_version=4)
    body = [c for c in nb.cells if TAG not in c.metadata.get("tags", [])]
    old = [c.source for c in nb.cells if TAG in c.metadata.get("tags", [])]
    first_ok = nb.cells and TAG in nb.cells[0].metadata.get("tags", [])
    last_ok = nb.cells and TAG in nb.cells[-1].metadata.get("tags", [])
    if old == [text, text] and first_ok and last_ok:
        return False
    if write:
        def make():
            cell = nbformat.v4.new_markdown_cell(text)
            cell.metadata["tags"] = [TAG]
            return cell

        nb.cells = [make()] + body + [make()]
        nbformat.write(nb, path)
    return True


def main(argv) -> int:
    check = "--check" in argv
    paths = course()
    stale = [p.name for i, p in enumerate(paths) if apply(p, line(paths, i), write=not check)]
    if check and stale:
        print(f"navigation is stale in {', '.join(stale)}: run python tools/nav.py")
        return 1
    if not check:
        print(f"navigation: {len(paths)} notebooks, {len(stale)} updated")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
