"""`keraslab report`: Markdown with PNG curves beside it, self-contained HTML, comparison of several runs."""

from __future__ import annotations

import base64
import re

import pytest
from browse_helpers import keraslab_run
from conftest import run_cli
from test_diagnose_cli import tensorboardx_run

PNG = b"\x89PNG\r\n\x1a\n"


def test_markdown_report_of_a_keraslab_run_with_curve_pngs(tmp_path):
    logdir = tmp_path / "runs"
    keraslab_run(logdir, "digits-cnn", epochs=6)
    out = tmp_path / "out" / "report.md"
    out.parent.mkdir()
    res = run_cli("report", "digits-cnn", "--logdir", str(logdir), "-o", str(out))
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == f"wrote {out} and 2 figure(s)"
    text = out.read_text()
    assert text.startswith("# Run digits-cnn-1\n")
    for heading in ("## Config", "## Test metrics", "## Metrics", "## Curves", "## Diagnosis"):
        assert heading in text
    assert "No findings: the curves look healthy." in text
    images = re.findall(r"!\[(\w+)\]\(([^)]+)\)", text)
    assert [name for name, _ in images] == ["loss", "accuracy"]
    for _, rel in images:
        assert (out.parent / rel).read_bytes().startswith(PNG)


def test_html_comparison_report_is_self_contained_and_escapes_names(tmp_path):
    logdir = tmp_path / "runs"
    keraslab_run(logdir, "digits-cnn", epochs=5)
    n = 12
    tensorboardx_run(logdir / "tb<script>x", [1 / (i + 1) for i in range(n)],
                     [0.5] * 4 + [0.5 + 0.05 * i for i in range(n - 4)])
    out = tmp_path / "cmp.html"
    res = run_cli("report", "digits-cnn", str(logdir / "tb<script>x"), "--logdir", str(logdir), "-o", str(out), "--html")
    assert res.returncode == 0, res.stderr
    page = out.read_text()
    assert "<h1>Comparison of 2 runs</h1>" in page
    assert "tb&lt;script&gt;x" in page and "<script>" not in page
    srcs = re.findall(r"src='([^']+)'", page)
    assert len(srcs) == 1 + 2 + 1   # the comparison chart, the keraslab run's two, the TB run's loss
    for src in srcs:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1]).startswith(PNG)
    assert "overfitting" in page


def test_report_errors_are_one_line(tmp_path):
    (tmp_path / "runs").mkdir()
    res = run_cli("report", "nope", "--logdir", str(tmp_path / "runs"), "-o", str(tmp_path / "r.md"))
    assert res.returncode == 1 and res.stderr.count("\n") == 1
    keraslab_run(tmp_path / "runs", "digits-cnn")
    res = run_cli("report", "digits-cnn", "--logdir", str(tmp_path / "runs"), "-o", str(tmp_path), "--html")
    assert res.returncode == 1 and "cannot write" in res.stderr and res.stderr.count("\n") == 1
    res = run_cli("report", "digits-cnn", "--logdir", str(tmp_path / "runs"), "-o", str(tmp_path / "new" / "r.md"))
    assert res.returncode == 0 and (tmp_path / "new" / "r_files" / "digits-cnn-1-loss.png").is_file()


@pytest.mark.slow
def test_report_of_a_real_run_has_its_sketch_layer_table_and_test_metrics(tmp_path):
    res = run_cli("train", "--dataset", "digits", "--model", "avgpool", "--epochs", "2", "--logdir", str(tmp_path))
    assert res.returncode == 0, res.stderr
    out = tmp_path / "r.md"
    res = run_cli("report", "digits-avgpool", "--logdir", str(tmp_path), "-o", str(out))
    assert res.returncode == 0, res.stderr
    text = out.read_text()
    assert "keraslab train --dataset digits --model avgpool --epochs 2" in text
    assert "┌─ stage 1" in text and "total params:" in text and "| accuracy |" in text
    # the test-set evaluation from the run's saved predictions: per-class table, matrix, mistakes
    assert "## Evaluation" in text and "| class | precision | recall | F1 |" in text
    images = dict(re.findall(r"!\[([\w ]+)\]\(([^)]+)\)", text))
    assert set(images) >= {"loss", "accuracy", "confusion matrix", "misclassified"}
    for rel in images.values():
        assert (tmp_path / rel).read_bytes().startswith(PNG)
    assert re.search(r"The \d+ most confident mistakes", text)


async def test_run_detail_P_writes_the_report_to_the_current_folder(tmp_path, monkeypatch):
    from keraslab.tui.browse_app import BrowseApp
    from test_sketch import open_detail

    run = keraslab_run(tmp_path / "runs", "digits-cnn", epochs=4)
    monkeypatch.chdir(tmp_path)
    app = BrowseApp([tmp_path / "runs"], interval=0.1)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_detail(app, pilot, run)
        await pilot.press("P")
        report = tmp_path / "report-digits-cnn-1.md"
        for _ in range(400):
            if report.is_file() and (tmp_path / "report-digits-cnn-1_files").is_dir():
                break
            await pilot.pause(0.05)
        assert report.read_text().startswith("# Run digits-cnn-1")
