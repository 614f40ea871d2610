"""Allow `python -m readypolicy` as an alias of the console script."""

from readypolicy.cli.main import main

main()
