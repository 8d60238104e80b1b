"""Progress bars for long operations: ``tqdm.auto`` (a widget in notebooks, text
in terminals), following ``set_config(progress_bar=...)``; silent when tqdm is
not installed (``pip install "skinfluence[progress]"``)."""

from ._config import get_config

#: with ``progress_bar="auto"``, a bar appears only after this many seconds
AUTO_DELAY = 2.0


class _Silent:
    """The part of tqdm's interface used here, doing nothing."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def update(self, n=1):
        pass

    def set_postfix_str(self, s=""):
        pass

    def close(self):
        pass


def progress(total, desc, unit="it"):
    """A progress bar (a context manager with ``update(n)``) for ``total``
    steps, or a silent stand-in when bars are off, tqdm is missing, or (with
    ``"auto"``) the output is not interactive."""
    setting = get_config()["progress_bar"]
    if setting is False:
        return _Silent()
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return _Silent()
    auto = setting == "auto"
    return tqdm(
        total=total,
        desc=desc,
        unit=unit,
        # None: tqdm hides text bars on output that is not a terminal (log
        # files, CI, tests); a notebook shows its widget
        disable=None if auto else False,
        delay=AUTO_DELAY if auto else 0.0,
        leave=False,
    )
