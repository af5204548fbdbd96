"""Importers and exporters for zoo formats that exist in the field; one thin file per format."""
