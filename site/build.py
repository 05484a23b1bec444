"""Build the course's website from the SAVED notebooks (nothing is executed).

    make site                                # build/site/html/index.html
    python site/build.py --out DIR           # (in the site's venv) build elsewhere
    python site/build.py --root DIR          # a course folder other than this repository's

Runs in the site's own venv (build/site-venv, from site/requirements.txt; `make site`
makes it), never in the course's .venv. Jupyter Book 1.x (Sphinx, myst-nb) builds
offline; the built site loads nothing from the network.

What the build does to its copy of the course (the repository is never changed):
- the ten notebooks in notebooks/ in course order, the labs' student copies
  (labs/labNN_*/labNN_*.ipynb, with labs/README.md as the labs' first page), a
  landing page (site/index.md, with the course map copied from README.md) and a
  glossary page gathered from every notebook's "### Glossary" table;
- widgets: an output that is a widget keeps only its static fallbacks (text/html,
  text/plain, which socklab's widgets give), and the notebook's saved widget state
  is dropped, so the page shows the quiz, the explorer's last run, an experiment's
  last output, not an empty box waiting for JavaScript from a CDN;
- a link to README.md's course map points to the landing page's copy of it;
- the previous | contents | next line (cells tagged "navigation", written by
  tools/nav.py for JupyterLab) is left out: the site has its own navigation;
- a code cell saved folded in JupyterLab (jupyter.source_hidden) is folded on the
  site too (myst-nb's hide-input);
- "Going deeper (optional)" sections are folded under their heading, and the
  figures get their text alternatives as alt: see site/_ext/site_ext.py.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
NAVIGATION = "navigation"


def course(root: Path) -> list[Path]:
    return sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def labs(root: Path) -> list[Path]:
    return sorted(p for p in (root / "labs").glob("lab[0-9][0-9]_*/lab[0-9][0-9]_*.ipynb")
                  if p.stem == p.parent.name)


def title(nb) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown" and NAVIGATION not in cell.metadata.get("tags", []):
            match = re.search(r"^#\s+(.+)$", cell.source, re.M)
            if match:
                return match.group(1).strip()
    return ""


def for_the_site(nb):
    """The notebook as the site shows it (see the module's docstring)."""
    cells = []
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        if NAVIGATION in tags:
            continue
        hidden = cell.metadata.get("jupyter", {})
        if cell.cell_type == "code" and hidden.get("source_hidden") and "hide-input" not in tags:
            cell.metadata["tags"] = tags = [*tags, "hide-input"]
        if cell.cell_type == "code" and hidden.get("outputs_hidden") and "hide-output" not in tags:
            cell.metadata["tags"] = [*tags, "hide-output"]
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if WIDGET_VIEW in data and len(data) > 1:
                del data[WIDGET_VIEW]
        if cell.cell_type == "markdown":
            # the course map is README.md's on GitHub and in JupyterLab, the landing page's here
            cell.source = cell.source.replace("](../README.md#course-map)", "](../index.md#course-map)")
        cells.append(cell)
    nb.cells = cells
    nb.metadata.pop("widgets", None)
    return nb


def glossary(notebooks: list[tuple[str, str, object]]) -> str:
    """One page with every notebook's "### Glossary" section, in course order."""
    parts = ["# Glossary\n",
             "Every notebook ends with a glossary of its terms. They are gathered here, in course "
             "order. The Chinese column is for readers comparing the course with the 2017 Chinese "
             "blog post it started from (*Python 8 - Socket编程进阶*); where the post has no term, "
             "it gives the usual one.\n"]
    for path, name, nb in notebooks:
        for cell in nb.cells:
            if cell.cell_type != "markdown" or "### Glossary" not in cell.source:
                continue
            text = cell.source.split("### Glossary", 1)[1]
            text = re.split(r"^#{1,3} ", text, maxsplit=1, flags=re.M)[0].strip()
            table = "\n".join(line for line in text.splitlines() if line.startswith("|"))
            parts.append(f"## {name}\n\nFrom [{name}]({path}). \n\n{table}\n")
    return "\n".join(parts)


def course_map(root: Path) -> str:
    """README.md's "## Course map" section (its table is checked against the notebooks)."""
    readme = (root / "README.md").read_text(encoding="utf-8")
    match = re.search(r"^## Course map\n(.*?)(?=^## )", readme + "\n## end", re.S | re.M)
    if not match:
        sys.exit(f"{root / 'README.md'} has no '## Course map' section: the landing page copies it")
    return "## Course map\n" + match.group(1).rstrip() + "\n"


def stage(root: Path, src: Path, repository: str | None) -> None:
    if src.exists():
        shutil.rmtree(src)
    shutil.copytree(HERE, src, ignore=shutil.ignore_patterns("build.py", "requirements.txt",
                                                             "index.md", "__pycache__"))
    notebooks = []
    for path in course(root):
        nb = for_the_site(nbformat.read(path, as_version=4))
        rel = f"notebooks/{path.name}"
        (src / "notebooks").mkdir(exist_ok=True)
        nbformat.write(nb, src / rel)
        notebooks.append((rel, title(nb).split(":")[0].strip() or path.stem, nb))
    if not notebooks:
        sys.exit(f"no notebooks in {root / 'notebooks'}")
    lab_pages = []
    for path in labs(root):
        rel = path.relative_to(root).as_posix()
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(for_the_site(nbformat.read(path, as_version=4)), src / rel)
        lab_pages.append(rel)
    labs_readme = root / "labs" / "README.md"
    if lab_pages and labs_readme.exists():
        shutil.copy(labs_readme, src / "labs" / "README.md")

    binder = ""
    if repository:
        slug = re.sub(r"^https://github\.com/", "", repository).rstrip("/")
        binder = (f"[Open the course on Binder](https://mybinder.org/v2/gh/{slug}/HEAD?"
                  "urlpath=lab/tree/notebooks/00_start_here.ipynb): a JupyterLab in your browser, "
                  "built from the repository; every notebook page here also has a launch button "
                  "(the rocket, top right). The first start takes minutes while Binder builds it.")
    else:
        binder = ("Binder builds the repository into a JupyterLab in your browser: open "
                  "`https://mybinder.org/v2/gh/OWNER/REPO/HEAD?urlpath=lab/tree/notebooks/00_start_here.ipynb` "
                  "with the course's repository (or your fork) as `OWNER/REPO`.")
    index = (HERE / "index.md").read_text(encoding="utf-8")
    labs_text = ""
    if lab_pages and (src / "labs" / "README.md").exists():
        labs_text = (f"The {len(lab_pages)} [labs](labs/README.md) are autograded exercises: open them in "
                     "JupyterLab, locally or on Binder, to have your answers checked. ")
    index = index.replace("{{ binder }}", binder).replace("{{ course_map }}", course_map(root))
    index = index.replace("{{ labs }}", labs_text)
    assert "{{" not in index, f"site/index.md has a placeholder build.py does not fill: {index[index.index('{{'):][:40]}"
    (src / "index.md").write_text(index, encoding="utf-8")
    (src / "glossary.md").write_text(glossary(notebooks), encoding="utf-8")

    toc = ["format: jb-book", "root: index", "parts:", "  - caption: Notebooks", "    chapters:"]
    toc += [f"      - file: {rel[:-len('.ipynb')]}" for rel, _, _ in notebooks]
    if lab_pages:
        toc += ["  - caption: Labs", "    chapters:"]
        if (src / "labs" / "README.md").exists():
            toc += ["      - file: labs/README", "        sections:"]
            toc += [f"          - file: {rel[:-len('.ipynb')]}" for rel in lab_pages]
        else:
            toc += [f"      - file: {rel[:-len('.ipynb')]}" for rel in lab_pages]
    toc += ["  - caption: Reference", "    chapters:", "      - file: glossary"]
    (src / "_toc.yml").write_text("\n".join(toc) + "\n", encoding="utf-8")

    if repository:
        config = yaml.safe_load((src / "_config.yml").read_text(encoding="utf-8"))
        config["repository"] = {"url": repository, "branch": "main"}
        config["launch_buttons"] = {"binderhub_url": "https://mybinder.org", "notebook_interface": "jupyterlab"}
        config["html"]["use_repository_button"] = True
        (src / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=REPO, help="the course folder (default: this repository)")
    parser.add_argument("--out", type=Path, default=REPO / "build" / "site",
                        help="where to build: OUT/src (the staged book) and OUT/html (the site)")
    parser.add_argument("--repository", default=None,
                        help="the course's GitHub URL, for Binder links (https://github.com/OWNER/REPO)")
    args = parser.parse_args(argv)
    root, out = args.root.resolve(), args.out.resolve()
    if args.repository and not re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+/?", args.repository):
        parser.error(f"--repository takes https://github.com/OWNER/REPO, not {args.repository!r}")
    started = time.monotonic()
    src = out / "src"
    stage(root, src, args.repository)
    html = out / "html"
    if html.exists():
        shutil.rmtree(html)
    book = Path(sys.executable).with_name("jupyter-book")
    # -W: a warning (a broken cross-reference, a missing file) fails the build.
    cmd = [str(book), "build", str(src), "--path-output", str(out / "book"), "-W", "-n", "--keep-going", "-q"]
    result = subprocess.run(cmd, cwd=out, timeout=1200)
    if result.returncode:
        print(f"the site did not build: {' '.join(cmd)} exited {result.returncode}", file=sys.stderr)
        return 1
    shutil.move(out / "book" / "_build" / "html", html)
    shutil.rmtree(out / "book")
    print(f"site: {html / 'index.html'} ({time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
