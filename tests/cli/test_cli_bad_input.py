"""Every bad input gives one line on standard error and exit 2, never a traceback or a runaway;
narrow terminals keep the columns that matter."""

from __future__ import annotations

from pathlib import Path

import pytest

from icpilot_cli.main import main

TRACE = str(Path(__file__).resolve().parents[2] / "traces" / "AzureLLMInferenceTrace_code.csv")


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["plan", "--offline", "--at", "9999-12-31T23:00:00+00:00"], "outside 2000..2199"),
        (["plan", "--offline", "--at", "0001-01-01T00:00:00+00:00"], "outside 2000..2199"),
        (["plan", "--offline", "--at", "tomorrow"], "is not an ISO-8601 time"),
        (["simulate", "--trace", TRACE, "--patience", "-5"], "-5 is outside 1..1440"),
        (["simulate", "--trace", TRACE, "--days", "100000"], "100000 is outside 1..92"),
        (["simulate", "--trace", TRACE, "--days", "2", "--score-from", "2"], "leaves nothing to score"),
        (["simulate", "--trace", TRACE, "--optimum-seconds", "0"], "--optimum-seconds 0.0 is outside"),
        (["report", "--day", "23.11.2026"], "--day takes a date"),
        (["uninstall"], "--plan shows what it will do"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    argv: list[str], says: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own refusal: its usage, then the one line
        code = int(exc.code or 0)
    assert code == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert says in err[-1] and not any("Traceback" in line for line in err)


def test_missing_credentials_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    assert main(["status"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no AWS credentials" in err[0]


def test_a_file_goes_into_a_directory_that_did_not_exist(tmp_path: Path) -> None:
    out = tmp_path / "new" / "deeper" / "policy.schema.json"
    assert main(["schema", "-o", str(out)]) == 0
    assert out.read_text().startswith("{")


def test_an_80_column_backtest_keeps_total_and_ratio(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from icpilot_cli.common import console

    monkeypatch.setattr(console, "width", 80)
    argv = ["simulate", "--trace", TRACE, "--map", f"{Path(TRACE).name}=flan-t5-xxl", "--optimum-seconds", "1"]
    assert main([*argv, "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "total_usd" in out and "ratio_to_bound" in out and "left out at this width" in out
    assert max(len(line) for line in out.splitlines()) <= 80
