"""docs/detection.md stays true: its Python examples run as written, and every deliberate difference from the
reference that the tests list is named there."""

from __future__ import annotations

import doctest
import re

from tests.pattern.test_parser import DIFFERENCES
from tests.support import ROOT

TEXT = (ROOT / "docs" / "detection.md").read_text(encoding="utf-8")


def test_the_python_examples_run_as_written() -> None:
    blocks = re.findall(r"```python\n(.*?)```", TEXT, flags=re.S)
    assert blocks
    for block in blocks:
        test = doctest.DocTestParser().get_doctest(block, {}, "detection.md", None, 0)
        runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
        runner.run(test)
        assert runner.failures == 0, block


def test_every_deliberate_parsing_difference_is_documented() -> None:
    for difference in DIFFERENCES:
        assert f"`{difference.name}`" in TEXT, difference.name
