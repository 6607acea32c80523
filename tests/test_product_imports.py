"""Product packages carry no test scaffolding: the benchmarks and their harness, which drive the
engine with Django's test tools and mocks, live in the repository's ``benchmarks/`` package."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = ("tasksync", "accounts", "salesforce_emulator")
FORBIDDEN = ("unittest", "django.test")


def _imports(path: Path):
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield node.module
            if node.module == "django":
                yield from (f"django.{alias.name}" for alias in node.names)


def _forbidden(name: str) -> bool:
    return any(name == bad or name.startswith(f"{bad}.") for bad in FORBIDDEN)


@pytest.mark.parametrize("package", PRODUCT)
def test_it_finds_no_test_tool_imported_by_product_code(package):
    found = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in sorted((ROOT / package).rglob("*.py"))
        for name in _imports(path)
        if _forbidden(name)
    ]
    assert found == []


def test_it_recognises_each_way_of_importing_a_test_tool(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import unittest.mock\nfrom unittest import mock\nfrom django.test import Client\n"
        "from django import test\nfrom django.test.utils import override_settings\nimport os\n"
    )
    assert [name for name in _imports(sample) if _forbidden(name)] == [
        "unittest.mock",
        "unittest",
        "django.test",
        "django.test",
        "django.test.utils",
    ]


def test_it_keeps_the_benchmark_command_runnable_from_the_repository():
    # `make bench` runs `python -m benchmarks`, from the repository and not from the package.
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "usage: python -m benchmarks" in done.stdout
    assert "--latency-ms" in done.stdout
