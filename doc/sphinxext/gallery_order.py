"""Gallery order: the quick start first, then the other examples by file name."""

from sphinx_gallery.sorting import FileNameSortKey

FIRST = ("plot_quickstart.py",)


class QuickStartFirst(FileNameSortKey):
    def __call__(self, filename):
        return (filename not in FIRST, filename)
