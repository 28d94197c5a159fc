"""``python -m digest.cli``: the same as the installed ``digest`` command."""

from digest.cli import main

main()
