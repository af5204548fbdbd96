"""Net2Net (Chen, Goodfellow & Shlens 2015): grow a trained network wider or deeper without changing its function."""

from weightspace.grow.deeper import IDEMPOTENT, deeper
from weightspace.grow.graph_deeper import deeper_graph
from weightspace.grow.graph_wider import wider_graph
from weightspace.grow.interface import output_gap
from weightspace.grow.wider import widen_all, wider

__all__ = ["IDEMPOTENT", "deeper", "deeper_graph", "output_gap", "widen_all", "wider", "wider_graph"]
