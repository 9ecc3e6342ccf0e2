"""patchtool: take a mailing-list patch series from where it was posted to a verdict."""

__version__ = "0.1.0"
