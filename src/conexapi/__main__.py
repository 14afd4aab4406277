"""`python -m conexapi …` is the `conexapi` command."""

from conexapi.cli import main

main()
