"""A lesson (docs/NN_<slug>.md) as the markdown cells of its notebook, figures embedded.

The sections that speak of the kit's command line (how to run the check, drawing a graph, the
demo) are left out: in a notebook the cells under *Check your work* do that job.
"""

import base64
import re

from kit import ROOT
from kit.exercises import doc_path

SECTION = re.compile(r"^## (?P<title>.+)$")
KIT_ONLY = ("Check your work", "Draw your own graph", "The finale")  # sections about the kit's commands
# ![alt](figures/name.png); the alt text may hold brackets of its own ("on [-5, 5]").
FIGURE = re.compile(r"!\[(?P<alt>(?:[^\[\]]|\[[^\[\]]*\])*)\]\((?P<path>[^)\s]+)\)")
KIT_PATH = re.compile(r"`exercises/(?=[^`])")  # `exercises/train.py` is the cell headed `# train.py`
# Where a lesson sends the learner to the kit's folder, the notebook has its own cells.
IN_THE_KIT = {"in `python` started from the `exercises/` folder": "in a new cell, once the save cells have run"}
MIME = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".svg": "image/svg+xml"}


def sections(ex):
    """(title, text) of each `## ` section of the lesson, the text before the first section with the title ''."""
    parts, fence = [("", [])], False
    for line in (ROOT / doc_path(ex)).read_text(encoding="utf-8").splitlines():
        fence ^= line.startswith("```")
        m = SECTION.match(line)
        if m and not fence:
            parts.append((m["title"].strip(), []))
        parts[-1][1].append(line)
    return [(title, "\n".join(lines).strip()) for title, lines in parts if lines]


def lesson_cells(ex, nbf):
    """The lesson as markdown cells, one per section, without the kit-only sections."""
    return [markdown_with_figures(text, nbf) for title, text in sections(ex) if not kit_only(title)]


def kit_only(title):
    return title in KIT_ONLY or "`kit explain" in title  # explain runs in the kit's folder only


def markdown_with_figures(text, nbf):
    """A markdown cell with every figure of `text` attached, so the notebook stands alone."""
    attachments = {}

    def attach(m):
        path = (ROOT / "docs" / m["path"]).resolve()
        if not (path.is_file() and path.suffix in MIME and path.is_relative_to(ROOT / "docs")):
            raise ValueError(f"a lesson's figure {m['path']!r} is not an image of docs/figures/")
        attachments[path.name] = {MIME[path.suffix]: base64.b64encode(path.read_bytes()).decode()}
        return f"![{m['alt']}](attachment:{path.name})"

    for kit, notebook in IN_THE_KIT.items():
        text = text.replace(kit, notebook)
    cell = nbf.v4.new_markdown_cell(KIT_PATH.sub("`", FIGURE.sub(attach, text)))
    if attachments:
        cell.attachments = attachments
    return cell
