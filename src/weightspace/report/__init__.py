"""Plots and reports; sits on top of every area."""
