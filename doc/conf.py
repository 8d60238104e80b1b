"""Sphinx configuration for skinfluence.

Build from the repository root: ``python -m sphinx -W -b html doc doc/_build/html``.
"""

import os
import sys

# the local package (the repository root), not an installed copy
sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))

import skinfluence  # noqa: E402

project = "skinfluence"
author = "skinfluence developers"
copyright = "2026, skinfluence developers"
release = version = skinfluence.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "sphinx.ext.mathjax",
    "sphinx_gallery.gen_gallery",
]

# Cross-links to numpy/scikit-learn need their inventories from the network;
# offline builds (CI sandboxes) would fail under -W, so they are opt-in.
if os.environ.get("SKINFLUENCE_DOC_INTERSPHINX"):
    extensions.append("sphinx.ext.intersphinx")
    intersphinx_mapping = {
        "python": ("https://docs.python.org/3", None),
        "numpy": ("https://numpy.org/doc/stable/", None),
        "sklearn": ("https://scikit-learn.org/stable/", None),
    }

templates_path = ["_templates"]
autosummary_generate = True
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
# class pages list inherited members (the mixin's), minus scikit-learn's own
# (skipped in setup() below)
autodoc_default_options = {"members": True}

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "within_subsection_order": "FileNameSortKey",
    "reset_modules": ("matplotlib",),
    "matplotlib_animations": False,
}

exclude_patterns = ["_build", "_generated", "Thumbs.db", ".DS_Store"]
source_suffix = {".rst": "restructuredtext"}
root_doc = "index"

html_theme = "pydata_sphinx_theme"
html_title = f"skinfluence {release}"
html_static_path = ["_static"]
html_theme_options = {"navigation_with_keys": False}


def _skip_scikit_learn_members(app, what, name, obj, skip, options):
    """Document what skinfluence adds; scikit-learn documents its own members."""
    if what != "class":
        return None
    func = getattr(obj, "fget", obj)  # properties: the getter
    module = getattr(func, "__module__", None) or ""
    if module.startswith("sklearn") or (
        name.startswith("set_") and name.endswith("_request")
    ):
        return True
    return None


def _write_capability_table():
    """The user guide's capability table, measured by calling every method."""
    from skinfluence._capabilities import capability_table_rst

    out = os.path.join(os.path.dirname(__file__), "_generated")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "capabilities.rst"), "w", encoding="utf-8") as f:
        f.write(capability_table_rst())


def setup(app):
    _write_capability_table()
    app.connect("autodoc-skip-member", _skip_scikit_learn_members)
