"""Build strided's extension modules in place, from a fresh environment.

    python tools/build_inplace.py          # then: python -c "import strided"

Installs the build requirements that pyproject.toml lists ([build-system] requires, the one
list of them) into the running Python, then runs `setup.py build_ext --inplace`; arguments
are passed on to build_ext.  STRIDED_DEBUG=1 and STRIDED_NATIVE=1 work as for setup.py.
Only the standard library is needed to run it.
"""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def build_requires():
    """pyproject.toml's [build-system] requires."""
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        text = f.read().decode()
    try:
        import tomllib
    except ImportError:                 # Python 3.10: the one array this needs, by pattern
        section = text.split("[build-system]", 1)[1].split("\n[", 1)[0]
        array = re.search(r"requires\s*=\s*\[(.*?)\]", section, re.S).group(1)
        return re.findall(r"""["']([^"']+)["']""", array)
    return tomllib.loads(text)["build-system"]["requires"]


def main(argv):
    subprocess.run([sys.executable, "-m", "pip", "install", *build_requires()], check=True)
    subprocess.run([sys.executable, "setup.py", "build_ext", "--inplace", *argv], cwd=ROOT,
                   check=True)


if __name__ == "__main__":
    main(sys.argv[1:])
