"""Print the pip version ansible-test bootstraps into its sanity venvs, for each Python it may use."""

import sys
import types

from ansible_test._internal import python_requirements

versions = set()
for minor in range(8, 15):
    python = types.SimpleNamespace(version=f"3.{minor}")
    versions.add(python_requirements.get_venv_packages(python)["pip"])
sys.stdout.write("\n".join(sorted(versions)) + "\n")
