"""Import every command module so that each registers its commands on the app."""

from patchtool.cli import (  # noqa: F401
    apply_cmd,
    bisect_cmd,
    build_cmd,
    fetch_cmd,
    report_cmd,
)
