"""Hydra training recipes for verl 0.9.1, shipped as package data so `pkg://deepmath_ext.recipes` resolves."""
