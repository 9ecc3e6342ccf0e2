"""`python -m patchtool` runs the command line."""

from patchtool.cli import main

main()
