"""Sphinx hooks for the course's website (a local extension: site/_config.yml loads it).

1. Alt text. Every figure socklab draws is one output whose metadata gives its text
   alternative, {"image/png": {"alt": "..."}}. myst-nb copies only width and height
   from an output's metadata, so an <img> would get its file name as alt; here the
   image node takes the output's alt.
2. Optional sections. A "## Going deeper (optional): <topic>" section is saved folded
   in JupyterLab, and the notebooks tell readers to click the arrow beside its heading.
   On the site it is folded the same way: <details> with the heading as its <summary>,
   so the arrow is beside the heading, the section still has its anchor, the table of
   contents and the search index see it, and _static/site.js opens it when a link
   points inside.
"""

from docutils import nodes
from myst_nb.core.render import NbElementRenderer

OPTIONAL = "Going deeper (optional)"
_render_image = NbElementRenderer.render_image


def render_image(self, data):
    """myst-nb's render_image, with the output's metadata alt as the image's alt."""
    result = _render_image(self, data)
    alt = data.output_metadata.get(data.mime_type, {}).get("alt")
    if isinstance(alt, str) and alt.strip():
        for node in result:
            if isinstance(node, nodes.image):
                node["alt"] = " ".join(alt.split())
    return result


def fold_optional_sections(app, doctree, docname):
    for section in list(doctree.findall(nodes.section)):
        if not section.children or not isinstance(section[0], nodes.title):
            continue
        if not section[0].astext().startswith(OPTIONAL):
            continue
        section.insert(0, nodes.raw("", '<details class="optional-section"><summary>', format="html"))
        section.insert(2, nodes.raw("", "</summary>", format="html"))
        section.insert(3, nodes.raw("", '<p class="optional-note">Optional: nothing later in the '
                                        "course needs this section.</p>", format="html"))
        section.append(nodes.raw("", "</details>", format="html"))


def setup(app):
    NbElementRenderer.render_image = render_image
    app.connect("doctree-resolved", fold_optional_sections)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
