"""deepmath: a verl plug-in for math-reasoning RL with verifiable rewards."""

__version__ = "0.1.0"
