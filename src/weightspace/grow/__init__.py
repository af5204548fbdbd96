"""Net2Net (Chen, Goodfellow & Shlens 2015): grow a trained network wider or deeper without changing its function,
on chains and graphs alike."""

from weightspace.grow.deeper import IDEMPOTENT, deeper
from weightspace.grow.graph_wider import widenable
from weightspace.grow.interface import output_gap, probe_inputs
from weightspace.grow.wider import widen_all, wider

__all__ = ["IDEMPOTENT", "deeper", "output_gap", "probe_inputs", "widen_all", "widenable", "wider"]
