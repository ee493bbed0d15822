"""``python -m swisbayes`` runs the command line."""

from .cli import main

main()
