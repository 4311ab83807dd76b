"""`python -m jeju_play`: the same command line as `jeju-play` (serve starts its runs this way)."""

from jeju_play.cli import main

main()
