"""``python -m swisbayes`` runs the command line."""

from swisbayes.cli import main

main()
