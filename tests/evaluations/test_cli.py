"""`callhistory criteria import|list`, against each store."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from callhistory.cli import app
from callhistory.config import get_settings

runner = CliRunner()


@pytest.fixture
def tenant(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("CALLHISTORY_DATABASE_URL", database_url)
    get_settings.cache_clear()
    name = f"qa-{secrets.token_hex(4)}"
    made = runner.invoke(app, ["tenant", "create", name])
    assert made.exit_code == 0, made.output
    yield name
    get_settings.cache_clear()


def _csv(tmp_path: Path, text: str) -> Path:
    path = tmp_path / f"{secrets.token_hex(4)}.csv"
    path.write_text(text, encoding="utf-8")
    return path


def _listed(tenant: str, *flags: str) -> list[list[str]]:
    result = runner.invoke(app, ["criteria", "list", "--tenant", tenant, *flags])
    assert result.exit_code == 0, result.output
    return [line.split("\t") for line in result.stdout.splitlines() if line]


def test_import_then_list_then_import_again(tenant: str, tmp_path: Path) -> None:
    first = _csv(
        tmp_path,
        "\ufeffName,max_score,weight,description\n"
        "Chào khách,5,1,Chào theo kịch bản\n"
        "\n"
        '"Xác minh, danh tính",10,2.5,\n',
    )
    result = runner.invoke(app, ["criteria", "import", str(first), "--tenant", tenant])
    assert result.exit_code == 0, result.output
    assert "created 2, updated 0, unchanged 0" in result.stdout
    rows = _listed(tenant)
    assert rows[0] == ["id", "name", "max_score", "weight", "active", "description"]
    assert [r[1:] for r in rows[1:]] == [
        ["Chào khách", "5", "1", "true", "Chào theo kịch bản"],
        ["Xác minh, danh tính", "10", "2.5", "true", ""],
    ]
    # matched by folded name: updated, unchanged, or added last
    second = _csv(tmp_path, "name,max_score\nCHAO KHACH,5\nXác minh, danh tính,8\nKết thúc,3\n")
    result = runner.invoke(app, ["criteria", "import", str(second), "--tenant", tenant])
    assert result.exit_code == 1  # "Xác minh, danh tính" unquoted: a cell too many
    assert "line 3: more cells than columns" in result.output
    second.write_text(
        'name,max_score\nCHAO KHACH,5\n"Xác minh, danh tính",8\nKết thúc,3\n', encoding="utf-8"
    )
    result = runner.invoke(app, ["criteria", "import", str(second), "--tenant", tenant])
    assert result.exit_code == 0, result.output
    assert "created 1, updated 2, unchanged 0" in result.stdout
    names = [(r[1], r[2], r[5]) for r in _listed(tenant)[1:]]
    assert names == [
        ("CHAO KHACH", "5", ""),
        ("Xác minh, danh tính", "8", ""),
        ("Kết thúc", "3", ""),
    ]
    result = runner.invoke(app, ["criteria", "import", str(second), "--tenant", tenant])
    assert "created 0, updated 0, unchanged 3" in result.stdout
    assert len(_listed(tenant, "--all")) == 4


def test_a_bad_file_imports_nothing(tenant: str, tmp_path: Path) -> None:
    bad = _csv(
        tmp_path,
        "name,max_score,weight\nTốt,5,1\n,5,1\nQuá,0,1\nNặng,5,x\ntốt,3,1\n",
    )
    result = runner.invoke(app, ["criteria", "import", str(bad), "--tenant", tenant])
    assert result.exit_code == 1
    for expected in (
        "line 3: name required",
        "line 4: max_score out_of_range",
        "line 5: weight must_be_a_number",
        "line 6: name repeats line 2",
    ):
        assert expected in result.output
    assert _listed(tenant) == [["id", "name", "max_score", "weight", "active", "description"]]


@pytest.mark.parametrize(
    "text",
    ["", "name\nA\n", "name,max_score,colour\nA,5,red\n"],
)
def test_a_bad_header_is_refused(tenant: str, tmp_path: Path, text: str) -> None:
    result = runner.invoke(
        app, ["criteria", "import", str(_csv(tmp_path, text)), "--tenant", tenant]
    )
    assert result.exit_code == 1 and "header" in result.output


def test_unknown_tenant(tenant: str, tmp_path: Path) -> None:
    path = _csv(tmp_path, "name,max_score\nA,5\n")
    for args in (
        ["criteria", "import", str(path), "--tenant", "nobody-here"],
        ["criteria", "list", "--tenant", "nobody-here"],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 1 and "no tenant" in result.output
