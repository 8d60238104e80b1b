"""Sphinx configuration for skinfluence.

Build from the repository root: ``python -m sphinx -W -b html doc doc/_build/html``.
The build needs no network: formulas are rendered by a local MathJax copied
into the output, and cross-links to Python, numpy, scipy, matplotlib and
scikit-learn are added when their inventories can be fetched (an offline
build falls back to an empty inventory, with no warning).
"""

import inspect
import os
import re
import sys
import zlib

# the local package (the repository root), not an installed copy
sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))
sys.path.insert(
    0, os.path.abspath(os.path.join(os.path.dirname(__file__), "sphinxext"))
)
# matplotlib draws to files here, whatever the reader's default backend
os.environ.setdefault("MPLBACKEND", "Agg")

import skinfluence  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
GENERATED = os.path.join(HERE, "_generated")
os.makedirs(GENERATED, exist_ok=True)

project = "skinfluence"
author = "skinfluence developers"
copyright = "2026, skinfluence developers"
release = version = skinfluence.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "numpydoc",
    "sphinx.ext.mathjax",
    "sphinx_gallery.gen_gallery",
]

# -- math: MathJax 3 from the ``sphinx-mathjax-offline`` package, copied into
# _static/mathjax at the end of the build (the `doc` extra installs it) ---------
mathjax_path = "mathjax/tex-chtml.js"
mathjax3_config = {
    # \texttt{influence\_params\_}: text-mode macros inside \texttt
    "loader": {"load": ["[tex]/textmacros"]},
    "tex": {"packages": {"[+]": ["textmacros"]}},
    "options": {"enableMenu": False},
}


def _mathjax_dir():
    import importlib.util

    spec = importlib.util.find_spec("sphinx-mathjax-offline")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            "the docs render formulas with a local MathJax: "
            "pip install '.[doc]' (sphinx-mathjax-offline)"
        )
    return os.path.join(spec.submodule_search_locations[0], "static", "mathjax")


def _copy_mathjax(app, exc):
    """The TeX input, CommonHTML output and fonts (not the 40 MB of speech maps)."""
    if exc is not None or app.builder.format != "html":
        return
    import shutil

    source = _mathjax_dir()
    target = os.path.join(app.outdir, "_static", "mathjax")
    shutil.copytree(
        source,
        target,
        dirs_exist_ok=True,
        ignore=shutil.ignore_patterns("sre", "mml-*", "*-svg*", "*speech*"),
    )


# -- cross-links ------------------------------------------------------------------
def _empty_inventory(name):
    """A valid objects.inv without entries: intersphinx falls back to it (with
    an info message, not a warning) when the real inventory cannot be fetched."""
    path = os.path.join(GENERATED, f"{name}-empty.inv")
    header = (
        "# Sphinx inventory version 2\n"
        f"# Project: {name}\n# Version: 0\n"
        "# The remainder of this file is compressed using zlib.\n"
    )
    with open(path, "wb") as f:
        f.write(header.encode() + zlib.compress(b""))
    return path


_INVENTORIES = {
    "python": "https://docs.python.org/3/",
    "numpy": "https://numpy.org/doc/stable/",
    "scipy": "https://docs.scipy.org/doc/scipy/",
    "matplotlib": "https://matplotlib.org/stable/",
    "pandas": "https://pandas.pydata.org/docs/",
    "sklearn": "https://scikit-learn.org/stable/",
    "joblib": "https://joblib.readthedocs.io/en/stable/",
}
if os.environ.get("SKINFLUENCE_DOC_INTERSPHINX", "1") == "0":
    intersphinx_mapping = {}
else:
    intersphinx_mapping = {
        name: (url, (None, _empty_inventory(name)))
        for name, url in _INVENTORIES.items()
    }
intersphinx_timeout = 10

# -- API pages --------------------------------------------------------------------
templates_path = ["_templates"]
autosummary_generate = True
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
# class pages list their own members; an estimator's page shows a method
# summary instead (the methods are documented once, on InfluenceMixin's page)
autodoc_default_options = {"members": True}


def _mixin_members():
    """skinfluence's public methods and fitted attributes of every estimator."""
    methods, attributes = [], []
    for name in sorted(dir(skinfluence.InfluenceMixin)):
        if name.startswith("_"):
            continue
        obj = inspect.getattr_static(skinfluence.InfluenceMixin, name)
        func = getattr(obj, "fget", obj)
        if not (getattr(func, "__module__", "") or "").startswith("skinfluence"):
            continue
        (attributes if isinstance(obj, property) else methods).append(name)
    return methods, attributes


INFLUENCE_METHODS, INFLUENCE_ATTRIBUTES = _mixin_members()
autosummary_context = {
    "influence_methods": INFLUENCE_METHODS,
    "estimators": [
        name
        for name in skinfluence.__all__
        if name.startswith("Influence")
        and isinstance(getattr(skinfluence, name), type)
        and issubclass(getattr(skinfluence, name), skinfluence.InfluenceMixin)
        and getattr(skinfluence, name) is not skinfluence.InfluenceMixin
    ],
}

# -- gallery ----------------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    # the quick start first, then the rest by file name
    "within_subsection_order": "gallery_order.QuickStartFirst",
    "reset_modules": ("matplotlib",),
    "matplotlib_animations": False,
    # "Examples using X" on every API page
    "backreferences_dir": "_generated/backreferences",
    "doc_module": ("skinfluence",),
    "reference_url": {"skinfluence": None},
    "show_memory": False,
}

exclude_patterns = ["_build", "_generated", "Thumbs.db", ".DS_Store"]
source_suffix = {".rst": "restructuredtext"}
root_doc = "index"

html_theme = "pydata_sphinx_theme"
html_title = f"skinfluence {release}"
html_static_path = ["_static"]
html_css_files = ["skinfluence.css"]
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
}


# -- the base estimator's Parameters and Attributes on each estimator's page ------
_ROLE = re.compile(r":(?:ref|term|doc|label):`([^`<]*?)\s*(?:<[^`>]*>)?`")
_CITATION = re.compile(r"\s*\[\w+\]_")


def _plain(text):
    """scikit-learn's own cross-references (user guide, glossary, citations)
    as plain text: they resolve only inside scikit-learn's documentation."""

    def plain(match):
        words = " ".join(match.group(1).split())
        return "a scikit-learn example" if words.startswith("sphx_glr") else words

    text = _ROLE.sub(plain, text)
    return _CITATION.sub("", text).splitlines()


def _sklearn_base(cls):
    for base in cls.__mro__[1:]:
        if base.__module__.startswith("sklearn."):
            return base
    return None


def _base_url(base):
    public = base.__module__.split("._")[0]
    return (
        "https://scikit-learn.org/stable/modules/generated/"
        f"{public}.{base.__name__}.html"
    )


def _first_paragraph(param):
    """A base parameter's first paragraph: the full text (notes, version
    changes, warnings) is one click away, in scikit-learn's documentation."""
    from numpydoc.docscrape import Parameter

    desc = []
    for line in param.desc:
        if not line.strip() or line.lstrip().startswith(".. "):
            break
        desc.append(line)
    if desc and desc[-1].rstrip().endswith("::"):  # its literal block is cut
        desc[-1] = desc[-1].rstrip()[:-1]
    return Parameter(param.name, param.type, desc)


def _own_attributes():
    from numpydoc.docscrape import NumpyDocString, Parameter

    out = []
    for name in INFLUENCE_ATTRIBUTES:
        doc = inspect.getdoc(getattr(skinfluence.InfluenceMixin, name)) or ""
        parsed = NumpyDocString(doc)
        kind = parsed["Returns"][0].type if parsed["Returns"] else ""
        summary = " ".join(parsed["Summary"]) or name
        text = (
            f"{summary} Computed on first access, not when the model is shown "
            f"(:attr:`InfluenceMixin.{name}`)."
        )
        # the escaped name keeps numpydoc from linking it to an ambiguous target
        out.append(Parameter(name[:-1] + "\\_", kind, [text]))
    return out


def _inherit_base_docs(app, what, name, obj, options, lines):
    """Merge the scikit-learn base class's Parameters and Attributes (linked)
    with skinfluence's own into an estimator's docstring, before numpydoc."""
    if what != "class" or not isinstance(obj, type):
        return
    if (
        not issubclass(obj, skinfluence.InfluenceMixin)
        or obj is skinfluence.InfluenceMixin
    ):
        return
    base = _sklearn_base(obj)
    if base is None:
        return
    from numpydoc.docscrape import NumpyDocString

    ours = NumpyDocString("\n".join(lines))
    theirs = NumpyDocString(inspect.getdoc(base) or "")
    mine = {p.name for p in ours["Parameters"]}
    ours["Parameters"] = ours["Parameters"] + [
        _first_paragraph(p) for p in theirs["Parameters"] if p.name not in mine
    ]
    ours["Attributes"] = _own_attributes() + [
        _first_paragraph(p) for p in theirs["Attributes"]
    ]
    link = (
        f"Parameters and fitted attributes are those of scikit-learn's "
        f"`{base.__name__} <{_base_url(base)}>`__ (summarized below; the full "
        "descriptions are on that page), plus "
        f"skinfluence's attributes ``{'``, ``'.join(INFLUENCE_ATTRIBUTES)}`` and "
        "the influence methods summarized under *Methods*."
    )
    ours["Extended Summary"] = [*ours["Extended Summary"], "", link]
    lines[:] = _plain(str(ours))


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

    with open(os.path.join(GENERATED, "capabilities.rst"), "w", encoding="utf-8") as f:
        f.write(capability_table_rst())


def _write_estimator_table():
    """The index's table of ready classes, from the registry (one row each)."""
    from skinfluence._adapters import REGISTRY

    rows = []
    for entry in REGISTRY:
        base = entry.estimator
        ready = getattr(skinfluence, entry.ready)
        doc = inspect.getdoc(ready) or ""
        paragraphs = [p for p in doc.split("\n\n") if p.strip()]
        text = paragraphs[1] if len(paragraphs) > 1 else ""
        text = "" if text.startswith(("Examples", "Parameters")) else text
        sentences = re.split(r"(?<=\.)\s", " ".join(text.split()))
        first = next((t for t in sentences if not t.startswith("Same ")), "")
        rows += [
            f"   * - :class:`{entry.ready}`",
            f"     - `{base.__name__} <{_base_url(base)}>`__",
            f"     - {first}",
        ]
    table = [
        ".. list-table::",
        "   :header-rows: 1",
        "   :widths: 28 22 50",
        "",
        "   * - skinfluence",
        "     - scikit-learn",
        "     - objective and options",
        *rows,
        "",
    ]
    with open(os.path.join(GENERATED, "estimators.rst"), "w", encoding="utf-8") as f:
        f.write("\n".join(table))


def setup(app):
    _mathjax_dir()  # fail early, with the install line, when it is missing
    _write_capability_table()
    _write_estimator_table()
    app.connect("autodoc-skip-member", _skip_scikit_learn_members)
    app.connect("autodoc-process-docstring", _inherit_base_docs, priority=400)
    app.connect("build-finished", _copy_mathjax)
