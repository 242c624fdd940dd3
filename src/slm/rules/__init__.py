"""Prometheus rules from SLOs, following Sloth's conventions (``slm rules generate``).

``pipeline.build_rules`` loads specs and returns the rule text; ``target`` picks the SLOs
with Prometheus sources, ``generate`` makes the rule groups, ``render`` writes the YAML.
This layer imports ``domain`` and ``spec`` only.
"""
