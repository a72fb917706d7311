"""docs/configuration.md documents every key agorad accepts."""
import os
import re

from conftest import ROOT


def test_every_config_key_is_documented():
    src = open(os.path.join(ROOT, "src/lib/config.c")).read()
    keys = re.findall(r'^\t\{ "([a-z_-]+)", K_', src, re.M)
    assert len(keys) > 10
    doc = open(os.path.join(ROOT, "docs/configuration.md")).read()
    missing = [k for k in keys if f"`{k}`" not in doc]
    assert not missing, f"keys missing from docs/configuration.md: {missing}"
