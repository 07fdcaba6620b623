"""The Evaluation tab and the ensemble screen driven by Pilot: per-class table, heat-map matrix
whose cells list their samples, mistakes as half-block images paged worst first, predict on a
file, and marked runs ensembled from the browser."""

from __future__ import annotations

import numpy as np
import pytest
from insight_helpers import digits_labels, fake_run
from keraslab.tui.browse_app import BrowseApp
from keraslab.tui.screens.ensemble import EnsembleScreen
from keraslab.tui.screens.run_detail import RunDetailScreen
from keraslab.tui.screens.runs_browser import RunsBrowserScreen
from keraslab.tui.widgets.evaluation import PAGE, EvaluationPanel
from keraslab.tui.widgets.line_table import LineTable
from textual.app import App
from textual.widgets import DataTable, Input, Static, TabbedContent

SIZE = (140, 50)
LIMIT = 120


async def until(pilot, condition, tries: int = 300) -> None:
    for _ in range(tries):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError("condition not reached")


class DetailApp(App):
    def __init__(self, run_dir):
        super().__init__()
        self.run_dir = run_dir

    def on_mount(self) -> None:
        self.push_screen(RunDetailScreen(self.run_dir, follow=False))


@pytest.fixture
def run(logdir):
    """A digits run that gets every fourth test sample wrong (class + 1), confidence rising."""
    y = digits_labels(limit=LIMIT)
    pred = np.where(np.arange(LIMIT) % 4 == 0, (y + 1) % 10, y)
    probs = np.full((LIMIT, 10), 0.0, np.float32)
    conf = np.linspace(0.55, 0.99, LIMIT).astype(np.float32)
    probs[np.arange(LIMIT), pred] = conf
    probs[np.arange(LIMIT), (pred + 5) % 10] = 1 - conf
    return fake_run(logdir, "digits-mlp", y, probs, limit=LIMIT), y, pred, conf


def _captions(panel) -> list[int]:
    return [int(str(s.render()).split()[0][1:]) for s in panel.query(".sample-caption").results(Static)]


async def test_evaluation_tab_shows_classes_matrix_and_mistakes_as_images(run):
    run_dir, y, pred, conf = run
    app = DetailApp(run_dir)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, RunDetailScreen))
        panel = app.screen.query_one(EvaluationPanel)
        assert not panel.started  # nothing read before the tab is opened
        app.screen.query_one(TabbedContent).active = "tab-eval"
        await until(pilot, lambda: panel.evaluation is not None)
        wrong = np.flatnonzero(y != pred)
        assert f"accuracy {100 * (1 - len(wrong) / LIMIT):.2f}%" in str(panel.query_one("#eval-status").render())
        table = panel.query_one("#eval-matrix", DataTable)
        assert table.row_count == 10 and len(table.columns) == 10
        await until(pilot, lambda: len(panel.query(".halfblock-image")) == PAGE)
        worst = wrong[np.argsort(-conf[wrong], kind="stable")]
        assert _captions(panel) == worst[:PAGE].tolist()
        await pilot.pause(0.2)
        assert "▀" in app.export_screenshot()  # drawn with half blocks
        panel.focus()
        await pilot.press("right_square_bracket")
        await until(pilot, lambda: _captions(panel) == worst[PAGE : 2 * PAGE].tolist())
        assert "13-24 of 30" in str(panel.query_one("#eval-samples-title").render())

        # a cell of the matrix: true 3 predicted as 4
        table.focus()
        table.move_cursor(row=3, column=4)
        await pilot.press("enter")
        cell = np.flatnonzero((y == 3) & (pred == 4))
        expected = cell[np.argsort(-conf[cell], kind="stable")].tolist()
        await until(pilot, lambda: _captions(panel) == expected)
        assert "true 3, predicted 4" in str(panel.query_one("#eval-samples-title").render())
        assert int(str(table.get_cell_at((3, 4)))) == len(expected)


async def test_evaluation_predict_field_and_a_run_without_predictions(run, tmp_path):
    run_dir, *_ = run
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    app = DetailApp(run_dir)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, RunDetailScreen))
        app.screen.query_one(TabbedContent).active = "tab-eval"
        panel = app.screen.query_one(EvaluationPanel)
        await until(pilot, lambda: panel.evaluation is not None)
        field = panel.query_one("#eval-predict-path", Input)
        field.value = str(bad)
        field.focus()
        await pilot.press("enter")
        result = panel.query_one("#eval-predict-result", Static)
        await until(pilot, lambda: "error:" in str(result.render()))
        assert "no best_model.keras" in str(result.render())
    (run_dir / "test_predictions.npz").unlink()
    app = DetailApp(run_dir)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, RunDetailScreen))
        app.screen.query_one(TabbedContent).active = "tab-eval"
        panel = app.screen.query_one(EvaluationPanel)
        await until(pilot, lambda: "no test predictions and no checkpoint" in str(panel.query_one("#eval-status").render()))


async def test_marked_runs_are_ensembled_from_the_browser(logdir):
    y = digits_labels(limit=40)
    eye = np.eye(10, dtype=np.float32)
    a = 0.6 * eye[y] + 0.4 * eye[(y + 1) % 10]  # right everywhere, unsure
    b = 0.1 * eye[y] + 0.9 * eye[(y + 1) % 10]  # wrong everywhere, sure
    b[:10] = eye[y[:10]]  # ... but for the first ten
    fake_run(logdir, "a", y, a, limit=40)
    fake_run(logdir, "b", y, b, limit=40)
    app = BrowseApp([logdir], follow=False)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, RunsBrowserScreen))
        table = app.screen.query_one(LineTable)
        await until(pilot, lambda: table.row_count == 2)
        table.focus()
        await pilot.press("E")  # nothing marked yet: a warning, no screen
        await pilot.pause()
        assert isinstance(app.screen, RunsBrowserScreen)
        table.move_cursor(row=0)
        await pilot.press("space", "space", "E")
        await until(pilot, lambda: isinstance(app.screen, EnsembleScreen) and app.screen.result is not None)
        await pilot.pause(0.2)
        text = app.export_screenshot()
        # mean probabilities: 0.35 vs 0.65 wrong where b is wrong, right on the first ten
        assert "100.00%" in text and "25.00%" in text and "ensemble" in text
        assert app.screen.result.evaluation.accuracy == pytest.approx(0.25)
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, RunsBrowserScreen))


def test_graphics_are_asked_for_only_where_a_terminal_draws_them():
    from keraslab.tui.images import wants_graphics

    assert wants_graphics({"TERM": "xterm-kitty"})
    assert not wants_graphics({"TERM": "xterm-kitty", "TMUX": "/tmp/tmux-0/default,1,0"})
    assert not wants_graphics({"TERM": "xterm-256color"})
    assert wants_graphics({"TERM": "screen", "KERASLAB_IMAGES": "graphics"})
    assert not wants_graphics({"TERM_PROGRAM": "WezTerm", "KERASLAB_IMAGES": "halfblocks"})


def test_half_blocks_draw_two_pixel_rows_a_line():
    from keraslab.tui.insight_render import halfblock_image

    image = np.array([[[255], [0]], [[0], [128]]], np.uint8)  # 2x2 greyscale
    text = halfblock_image(image, scale=1)
    assert text.plain == "▀▀"
    styles = [str(span.style) for span in text.spans]
    assert styles == ["rgb(255,255,255) on rgb(0,0,0)", "rgb(0,0,0) on rgb(128,128,128)"]


def test_colour_samples_stay_in_colour(logdir, tmp_path):
    from keraslab.core import load_predictions, sample_images
    from keraslab.tui.insight_render import halfblock_image

    rng = np.random.default_rng(0)
    data = tmp_path / "tiny_rgb.npz"
    x_test = rng.integers(0, 256, (6, 4, 4, 3), dtype=np.uint8)
    x_test[0] = [255, 0, 0]  # a red square
    np.savez(data, x_train=rng.integers(0, 256, (20, 4, 4, 3), dtype=np.uint8), y_train=np.arange(20) % 3,
             x_test=x_test, y_test=np.arange(6) % 3, class_names=np.array(["r", "g", "b"]))
    run = fake_run(logdir, "rgb", np.arange(6) % 3, y_pred=[1, 1, 2, 0, 1, 2], dataset=str(data),
                   class_names=["r", "g", "b"])
    (image,) = sample_images(load_predictions(run), [0])
    assert image.shape == (4, 4, 3) and image[0, 0].tolist() == [255, 0, 0]
    assert str(halfblock_image(image, scale=1).spans[0].style) == "rgb(255,0,0) on rgb(255,0,0)"


def test_class_names_from_a_run_are_shown_literally(logdir):
    from conftest import run_cli

    names = ["[bold red]cat[/]", "dog\x1b[2J", "eel"]
    fake_run(logdir, "odd", [0, 1, 2, 0], y_pred=[1, 1, 2, 0], dataset="x.npz", class_names=names)
    r = run_cli("evaluate", "odd", "--logdir", str(logdir), "--color", "always")
    assert r.returncode == 0, r.stderr
    # each name four times: its row of the class table and of the matrix, twice in the pair line
    assert r.stdout.count("[bold red]cat[/]") == 4 and r.stdout.count("dog\\x1b[2J") == 4
    assert "\x1b[2J" not in r.stdout
