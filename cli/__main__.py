"""``python -m cli`` is the same as the ``wehostvoip`` command."""

from cli.main import main

main()
