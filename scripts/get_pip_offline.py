"""Stand-in for the get-pip.py that ansible-test downloads: bootstrap pip from ensurepip, then let
pip install what ansible-test asked for from the configured package index. Called as
``python get_pip.py [pip options] pip==X [--no-setuptools] [--no-wheel]``."""

import subprocess
import sys

args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"])
subprocess.check_call([sys.executable, "-m", "pip", "install", *args])
