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


NOT_NAMES = {"Tensor", "None", "keepdim", "out"}     # words of the table that aren't APIs


def _whats_there_names():
    text = open(README, encoding="utf-8").read()
    table = text.split("## What's there", 1)[1].split("\n## ", 1)[0]
    names = set()
    for row in table.splitlines()[3:]:
        cells = row.split("|")
        if len(cells) < 3:
            continue
        for chunk in re.findall(r"`([^`]*)`", cells[2]):
            for word in chunk.replace(",", " ").split():
                word = word.lstrip(".").rstrip("_").removeprefix("strided.")
                m = re.fullmatch(r"(\w+?)(\d)d/(\d)d", word)      # MaxPool1d/2d
                if m:
                    names.update({f"{m[1]}{m[2]}d", f"{m[1]}{m[3]}d"})
                elif re.fullmatch(r"[A-Za-z_][\w.]*", word) and word not in NOT_NAMES:
                    names.add(word)
    return sorted(names)


@pytest.mark.parametrize("name", _whats_there_names())
def test_readme_lists_only_existing_names(name):
    import strided.nn.functional as F
    from strided.optim import lr_scheduler
    import strided.linalg
    spaces = [strided, strided.nn, F, strided.optim, lr_scheduler, strided.data,
              strided.autograd, strided.Tensor, strided.linalg]
    obj = None
    for space in spaces:
        obj = space
        for part in name.split("."):
            obj = getattr(obj, part, None)
            if obj is None:
                break
        if obj is not None:
            return
    pytest.fail(f"README's 'What's there' names {name!r}, which strided does not have")
