"""The README's Python examples run and print what they say."""
import doctest
import io
import os
import re
from contextlib import redirect_stdout

import pytest

import strided

README = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "README.md")
BLOCKS = re.findall(r"```python\n(.*?)```", open(README, encoding="utf-8").read(), re.S)


def test_readme_has_examples():
    assert len(BLOCKS) >= 3


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_block(index):
    block = BLOCKS[index]
    strided.manual_seed(0)
    if ">>>" in block:
        test = doctest.DocTestParser().get_doctest(block, {"strided": strided}, f"README[{index}]", README, 0)
        runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
        out = io.StringIO()
        runner.run(test, out=out.write)
        assert runner.failures == 0, out.getvalue()
    else:
        out = io.StringIO()
        with redirect_stdout(out):
            exec(compile(block, f"README[{index}]", "exec"), {})
        if "cross_entropy" in block:        # the SGD quick start learns XOR of the signs
            loss, accuracy = map(float, out.getvalue().split())
            assert loss < 0.2 and accuracy > 0.95, out.getvalue()
