"""The README stays true to the code: exit codes, flags, and the CI command."""

from __future__ import annotations

from pathlib import Path

from bark_cli.errors import EXIT_CODES

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_exit_code_table_matches_errors_module():
    """The README's table is the errors module's, row for row, and every error class's code is in it."""
    from bark_cli.errors import BarkError

    table = "| code | meaning |\n| --- | --- |\n" + "".join(f"| {code} | {meaning} |\n" for code, meaning in EXIT_CODES)
    assert table in README
    classes, todo = [], [BarkError]
    while todo:
        classes.append(todo.pop())
        todo += classes[-1].__subclasses__()
    assert len(classes) > 10 and {cls.exit_code for cls in classes} <= {code for code, _ in EXIT_CODES}
    assert len({code for code, _ in EXIT_CODES}) == len(EXIT_CODES)


def test_every_say_flag_is_documented():
    import typer.main

    from bark_cli.cli.app import app

    command = typer.main.get_command(app).commands["say"]
    for param in command.params:
        if param.param_type_name == "option":
            flag = max(param.opts, key=len)
            assert f"`{flag}" in README or f", {flag}" in README, f"{flag} missing from README usage"


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    command = "pip install -e '.[test]' && python -m pytest"
    assert command in README and command in ci


def test_readme_lists_the_config_keys():
    from bark_cli.cli.settings import config_options

    listed = README.split("Any of these keys can be given a default: `")[1].split("`")[0].split()
    assert listed == list(config_options())


def test_every_reliability_promise_is_backed_by_named_tests():
    """Each promise of the README's "Reliability" section has its section in docs/RELIABILITY.md, and
    every test named there exists."""
    import re

    reliability = (ROOT / "docs" / "RELIABILITY.md").read_text(encoding="utf-8")
    sections = dict(re.findall(r"^## (.+?)\n(.*?)(?=^## |\Z)", reliability, re.M | re.S))
    readme = README.split("### Reliability\n")[1].split("\n## ")[0]
    promises = re.findall(r"^- \*\*(.+?)\*\*", readme, re.M)
    assert len(promises) >= 10 and set(promises) == set(sections) - {"Not promised"}
    for promise in promises:
        tests = re.findall(r"`(tests/test_\w+\.py)::(test_\w+)`", sections[promise])
        assert tests, promise
        for path, name in tests:
            assert re.search(rf"^def {name}\(", (ROOT / path).read_text(encoding="utf-8"), re.M), f"{path}::{name}"
